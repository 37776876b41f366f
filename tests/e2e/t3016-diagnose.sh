#!/usr/bin/env bash
# flowtrack diagnose on processes it did not start: a deadlocked program started by the test,
# found by pid and by --match, is diagnosed (the cycle named) and left exactly as it was;
# a stopped child is named as stopped; --symptom and --result record the summary; --end ends
# the tree; a pid that names nothing exits 3, no process named exits 2.
. "$(dirname "$0")/lib.sh"

"$FT" create "Diagnose" --slug d >/dev/null

# A copy of its own, so that --match below finds this test's process and not those of
# another test running sc_deadlock at the same time.
cp "$H/sc_deadlock" "$T_DIR/sc_deadlock"
"$T_DIR/sc_deadlock" >"$T_DIR/dl.out" 2>&1 &
dl=$!
t_track $dl
for _ in $(seq 1 200); do
    grep -q "worker thread" "$T_DIR/dl.out" && grep -q "main thread" "$T_DIR/dl.out" && break
    sleep 0.02
done
sleep 0.2 # both threads now wait for the other's mutex
before=$(awk '{print $3, $14, $15}' "/proc/$dl/stat")

expect_rc 0 $OUTER $FT diagnose --no-stacks --json "$dl" >j 2>err
equals "$(jget j 'd["outcome"]')" diagnose "the outcome"
equals "$(jget j 'd["culprit"]["pid"]')" "$dl" "the culprit"
jget j 'd["culprit"]["why"]' | has "deadlock"
equals "$(jget j '"end" in d')" False "an end without --end"
kill -0 "$dl" || fail "diagnose ended the process"
# read-only: same state, and it used no CPU of its own to notice (utime, stime unchanged)
equals "$(awk '{print $3, $14, $15}' "/proc/$dl/stat")" "$before" "the process's state and times"

# the human form, found by its command line
expect_rc 0 $OUTER $FT diagnose --no-stacks --match "$T_DIR/sc_deadlock" >out 2>err
file_contains out "likely culprit: pid $dl (sc_deadlock): deadlock"
equals "$(grep -c '^  pid ' out)" 1 "processes matched"

# recorded in the tracker
expect_rc 0 $OUTER $FT diagnose --no-stacks --symptom "$dl" >out 2>err
ft symptom list -t d | has "diagnose: pid $dl (sc_deadlock) deadlock"
expect_rc 0 $OUTER $FT diagnose --no-stacks --result "$dl" >out 2>err
ft show -t d --json | json 'd["results"][0]["outcome"], d["results"][0]["attempt"]' |
    has "hang flowtrack diagnose $dl"

# a stopped child, under a parent waiting for it
$H/sc_stopped >"$T_DIR/st.out" 2>&1 &
st=$!
t_track $st
for _ in $(seq 1 200); do
    grep -q "stopped child" "$T_DIR/st.out" && break
    sleep 0.02
done
child=$(sed -n 's/.*stopped child \([0-9]*\).*/\1/p' "$T_DIR/st.out")
for _ in $(seq 1 200); do
    [ "$(awk '{print $3}' "/proc/$child/stat")" = T ] && break
    sleep 0.02
done
expect_rc 0 $OUTER $FT diagnose --no-stacks --json "$st" >j 2>err
equals "$(jget j 'd["culprit"]["pid"]')" "$child" "the stopped child as the culprit"
jget j 'd["culprit"]["why"]' | has "stopped by a signal"

# --end: both trees ended (the stopped child too: SIGCONT goes with SIGTERM)
expect_rc 0 $OUTER $FT diagnose --no-stacks --end --grace 5s --json "$dl" "$st" >j 2>err
equals "$(jget j 'd["end"]["survivors"]')" "[]" "survivors"
equals "$(jget j 'd["end"]["killed"]')" "[]" "SIGKILLed (SIGTERM was enough)"
wait "$dl" 2>/dev/null || true
wait "$st" 2>/dev/null || true
assert_gone "$dl"
assert_gone "$child"

# errors
expect_rc 3 $FT diagnose 4194304 >out 2>err
file_contains err "no process 4194304"
expect_rc 2 $FT diagnose >out 2>err
expect_rc 3 $FT diagnose --match "no-such-command-$$-$RANDOM" >out 2>err
assert_no_survivors
t_done
