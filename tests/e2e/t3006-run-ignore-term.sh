#!/usr/bin/env bash
# A process that ignores SIGTERM gets SIGKILL after the grace period, and the
# run does not wait past timeout + grace + a small bound.
. "$(dirname "$0")/lib.sh"

t0=$(date +%s%N)
expect_rc 124 $OUTER $FT run --no-record --json --timeout 0.5 --grace 0.5 -- $H/sc_ignore_term >j 2>err
ms=$((($(date +%s%N) - t0) / 1000000))
pid=$(sed -n 's/.*stubborn \([0-9]*\) ignores.*/\1/p' err)
[ -n "$pid" ] || fail "no pid"
[ "$(jget j 'd["diagnosis"]["end"]["signal"]')" = SIGTERM ] || fail "first signal"
[ "$(jget j "$pid in d['diagnosis']['end']['killed']")" = True ] || fail "not SIGKILLed"
[ "$(jget j 'd["diagnosis"]["end"]["survivors"]')" = "[]" ] || fail "survivors"
file_contains err "SIGKILL to $pid"
file_contains err "flowtrack: ending the run (hang): SIGTERM now, SIGKILL after 500ms"
# 0.5 s timeout + 0.5 s grace + stacks (2 s budget) + kill verification (1 s) + slack
[ $ms -lt 5500 ] || fail "took $ms ms"
[ $ms -ge 1000 ] || fail "took only $ms ms: the grace period was not given"
assert_gone "$pid"

# -s and -k as timeout(1) spells them
expect_rc 124 $OUTER $FT run --no-record --no-stacks --timeout 0.3 -s INT -k 0.2 -- $H/sc_ignore_term >out 2>err
file_contains err "ended: SIGINT to group"
file_contains err "SIGKILL to $(sed -n 's/.*stubborn \([0-9]*\) ignores.*/\1/p' out)"

# --signal KILL ends it without waiting for the grace period
t0=$(date +%s%N)
expect_rc 124 $OUTER $FT run --no-record --no-stacks --timeout 0.3 --grace 30 --signal KILL -- $H/sc_ignore_term >out 2>err
ms=$((($(date +%s%N) - t0) / 1000000))
[ $ms -lt 3000 ] || fail "--signal KILL took $ms ms"
file_contains err "ended: SIGKILL to group"

# Ctrl-C during a hang's grace period: SIGKILL at once, and the outcome stays hang
t0=$(date +%s%N)
rm -f out err # a fresh file: the wait below must see this run's output
$FT run --no-record --no-stacks --timeout 0.3 --grace 30 -- $H/sc_ignore_term >out 2>err &
ft=$!
sleep 1.5 # past the timeout and the snapshot: in the grace period
kill -INT $ft
rc=0
wait $ft || rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[ $rc = 124 ] || fail "Ctrl-C during the grace period: exit status $rc"
[ $ms -lt 5000 ] || fail "Ctrl-C during the grace period did not end it at once: $ms ms"
file_contains err "SIGKILL to $(sed -n 's/.*stubborn \([0-9]*\) ignores.*/\1/p' out)"

assert_no_survivors
t_done
