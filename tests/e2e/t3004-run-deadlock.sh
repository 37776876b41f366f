#!/usr/bin/env bash
# Two threads deadlocked on two mutexes: outcome hang, exit 124, and the
# diagnosis names both threads and both mutexes (and the stacks when eu-stack
# or gdb is installed).
. "$(dirname "$0")/lib.sh"

expect_rc 124 $OUTER $FT run --no-record --json --timeout 1 -- $H/sc_deadlock >j 2>err
main=$(sed -n 's/.*main thread \([0-9]*\) holds lock_a \(0x[0-9a-f]*\).*/\1/p' err)
lock_a=$(sed -n 's/.*main thread [0-9]* holds lock_a \(0x[0-9a-f]*\).*/\1/p' err)
worker=$(sed -n 's/.*worker thread \([0-9]*\) holds lock_b \(0x[0-9a-f]*\).*/\1/p' err)
lock_b=$(sed -n 's/.*worker thread [0-9]* holds lock_b \(0x[0-9a-f]*\).*/\1/p' err)
[ -n "$main" ] && [ -n "$worker" ] || fail "the helper did not say its threads"
[ "$(jget j 'd["outcome"]')" = hang ] || fail "outcome"
[ "$(jget j 'd["diagnosis"]["culprit"]["pid"]')" = "$main" ] || fail "culprit pid"
equals "$(jget j 'd["diagnosis"]["culprit"]["cause"]')" deadlock "the culprit's cause"
equals "$(jget j '[t["cause"] for p in d["diagnosis"]["processes"] for t in p["threads"]]')" "['deadlock', 'deadlock']" "the threads' causes"
why=$(jget j 'd["diagnosis"]["culprit"]["why"]')
for want in deadlock "thread $main (sc_deadlock) waits for mutex $lock_b held by thread $worker" \
    "thread $worker (sc_deadlock) waits for mutex $lock_a held by thread $main"; do
    case "$why" in *"$want"*) ;; *) fail "culprit lacks '$want': $why" ;; esac
done
file_contains err "likely culprit: pid $main (sc_deadlock): deadlock"
if command -v eu-stack >/dev/null || command -v gdb >/dev/null; then
    [ "$(jget j 'sum(1 for p in d["diagnosis"]["processes"] for t in p["threads"] if any("mutex_lock" in f for f in t.get("stack", [])))')" = 2 ] ||
        fail "stacks: $(jget j 'd["diagnosis"]["stacks"]')"
fi
assert_gone "$main"

assert_no_survivors
t_done
