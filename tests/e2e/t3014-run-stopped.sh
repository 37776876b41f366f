#!/usr/bin/env bash
# A child stopped by SIGSTOP (a job suspended with Ctrl-Z) hangs its parent: the diagnosis
# names it as stopped, and the run ends it within the grace period's first moments (SIGCONT
# goes with SIGTERM, or the stopped child would keep SIGTERM pending until SIGKILL).
. "$(dirname "$0")/lib.sh"

t0=$(date +%s%N)
expect_rc 124 $OUTER $FT run --no-record --json --no-stacks --timeout 0.5 --grace 30 -- $H/sc_stopped >j 2>err
ms=$((($(date +%s%N) - t0) / 1000000))
child=$(sed -n 's/.*stopped child \([0-9]*\).*/\1/p' err)
[ -n "$child" ] || fail "no child pid"
equals "$(jget j 'd["diagnosis"]["culprit"]["pid"]')" "$child" "the culprit"
jget j 'd["diagnosis"]["culprit"]["why"]' | has "stopped by a signal (SIGSTOP or SIGTSTP)"
equals "$(jget j 'd["diagnosis"]["culprit"]["cause"]')" stopped "the culprit's cause"
equals "$(jget j '[p["cause"] for p in d["diagnosis"]["processes"]]')" "['waiting_for_child', 'stopped']" "the causes"
equals "$(jget j '[p["stopped"] for p in d["diagnosis"]["processes"] if p["pid"] == '"$child"'][0]')" \
    signal "the child's stopped field"
equals "$(jget j 'd["diagnosis"]["end"]["killed"]')" "[]" "processes SIGKILLed"
equals "$(jget j 'd["diagnosis"]["end"]["survivors"]')" "[]" "survivors"
# 0.5 s timeout + the snapshot + a moment of the 30 s grace period
[ $ms -lt 25000 ] || fail "took $ms ms: the stopped child sat out the 30 s grace period"
assert_gone "$child"
assert_no_survivors
t_done
