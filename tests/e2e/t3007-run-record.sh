#!/usr/bin/env bash
# Recorded runs: the run and its results-log entry in one event, the stored
# reproduction command, `flowtrack runs` list / show / log, an interrupted
# run still recorded.
. "$(dirname "$0")/lib.sh"

$FT create --slug rt 'Runner test' >/dev/null || fail "create"

expect_rc 0 $OUTER $FT run --label 'first try' -- $H/sc_basic exit 0 >out 2>err
file_contains err "recorded run 1 (pass), result 1"
expect_rc 124 $OUTER $FT run --timeout 0.5 -- $H/sc_basic sleep 60 >out 2>err
file_contains err "recorded run 2 (hang), result 2"

# one run.record event per run, carrying the results entry
[ "$($FT history --kind run.record --json | wc -l)" = 2 ] || fail "run.record events"
[ "$($FT history --kind result --json | wc -l)" = 0 ] || fail "a separate result event"

$FT show --json >s || fail "show"
[ "$(jget s '[(r["num"], r["outcome"], r["label"]) for r in d["runs"]]')" = "[(1, 'pass', 'first try'), (2, 'hang', '')]" ] ||
    fail "runs in show: $(jget s 'd["runs"]')"
[ "$(jget s '[(e["attempt"], e["outcome"], e["run"], e["date"] is not None) for e in d["results"]]')" = "[('first try', 'pass', 1, True), ('$H/sc_basic sleep 60', 'hang', 2, True)]" ] ||
    fail "results: $(jget s 'd["results"]')"
[ "$(jget s 'd["results"][1]["notes"].startswith("pid ")')" = True ] || fail "result notes"
$FT result list >res || fail "result list"
file_contains res "first try"
file_contains res "hang"
$FT show >view || fail "show view"
file_contains view "Runs"

$FT runs >list || fail "runs list"
file_contains list "pass"
file_contains list "hang"
$FT runs show 2 >show2 || fail "runs show"
file_contains show2 "run 2: hang"
file_contains show2 "likely culprit: pid"
file_contains show2 "(sc_basic)"
$FT runs log 1 >log1 || fail "runs log"
file_contains log1 "sc_basic stdout line"
file_contains log1 "sc_basic stderr line"
$FT runs show 2 --json >j2 || fail "runs show --json"
[ "$(jget j2 'd["diagnosis"]["outcome"]')" = hang ] || fail "stored diagnosis"
[ "$(jget j2 'd["cwd"]')" = "$T_DIR" ] || fail "cwd recorded"
expect_rc 3 $FT runs show 9 2>err

# the stored reproduction command, through sh -c, with its stored timeout
$FT repro --command "$H/sc_basic exit 4" --timeout 0.4 --expect fail >/dev/null || fail "repro"
expect_rc 4 $OUTER $FT run >out 2>err
file_contains err "recorded run 3 (fail)"
[ "$($FT runs show 3 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["command"])')" = "$H/sc_basic exit 4" ] ||
    fail "stored command recorded"
$FT repro --command "$H/sc_basic sleep 60" >/dev/null || fail "repro"
t0=$(date +%s%N)
expect_rc 124 $OUTER $FT run --no-stacks >out 2>err
ms=$((($(date +%s%N) - t0) / 1000000))
[ $ms -lt 4000 ] || fail "the stored timeout (0.4s) was not used: $ms ms"

# an interrupted run is still recorded
rm -f out err # a fresh file: the wait below must see this run's output
$FT run --label interrupted-one -- $H/sc_basic sleep 60 >out 2>err &
ft=$!
for _ in $(seq 100); do grep -q sleeping out && break; sleep 0.05; done
kill -TERM $ft
rc=0
wait $ft || rc=$?
[ $rc = 143 ] || fail "interrupted by SIGTERM: exit status $rc"
file_contains err "recorded run 5 (interrupted)"
$FT runs show 5 >show5
file_contains show5 "run 5: interrupted"

# --no-record touches nothing
expect_rc 0 $OUTER $FT run --no-record -- true
[ "$($FT runs --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 5 ] ||
    fail "--no-record recorded"

assert_no_survivors
t_done
