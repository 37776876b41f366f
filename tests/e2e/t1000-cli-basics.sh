#!/usr/bin/env bash
# The everyday commands: every write prints its id, --json on reads and writes,
# the default tracker, history with actors, --help everywhere.
. "$(dirname "$0")/lib.sh"

expect_code 0 "$FT" init
contains "$OUT" "initialised store"
expect_code 0 "$FT" create --slug sse --owner 'Server team' --objective 'Streams end cleanly' 'SSE release'
contains "$OUT" "created tracker sse (1)"
# the only tracker is the default
expect_code 0 "$FT" item add 'Write the reproducer'
equals "$OUT" "added item 1"
expect_code 0 "$FT" --json item add 'Map ownership'
equals "$(echo "$OUT" | json 'd["num"], d["entry"]["state"], d["ok"]')" "2 pending True"
expect_code 0 "$FT" item start 1
equals "$OUT" "item 1: doing"
expect_code 0 "$FT" item done 1 2
expect_code 0 "$FT" item drop 2 --actor alice
expect_code 0 "$FT" item reopen 2
expect_code 0 "$FT" rule add 'Rerun the reproducer after every change'
expect_code 0 "$FT" step add 'Reproduce: run it under a timeout'
expect_code 0 "$FT" step list
equals "$OUT" "[1] Reproduce: run it under a timeout"
expect_code 0 "$FT" symptom add 'gauge stays above zero'
expect_code 0 "$FT" symptom note 'seen after client aborts'
expect_code 0 "$FT" hyp add 'timer outlives the stream'
expect_code 0 "$FT" hyp rule-out 1 --evidence 'valgrind clean'
equals "$OUT" "hyp 1: ruled-out"
expect_code 0 "$FT" result add --outcome pass --notes '0 leaked' --date 2026-11-04 'free in one place'
expect_code 0 "$FT" followup add 'valgrind in CI'
expect_code 0 "$FT" note add 'see the server log'
expect_code 0 "$FT" repro --command 'ctest -R sse' --timeout 2m --expect leak
contains "$OUT" "timeout:  2m"
expect_code 0 "$FT" fix --summary 'one free function' --why 'every end goes through it' --evidence 'abort loop: 0 open'
expect_code 0 "$FT" check
contains "$OUT" "all checks pass"

# edits, moves and removals keep numbers stable
expect_code 0 "$FT" rule add 'Second rule'
expect_code 0 "$FT" rule move 2 1
expect_code 0 "$FT" rule list
equals "$OUT" "[2] Second rule
[1] Rerun the reproducer after every change"
expect_code 0 "$FT" rule edit 2 'Second rule, edited'
expect_code 0 "$FT" rule rm 1
expect_code 0 "$FT" rule list
equals "$OUT" "[2] Second rule, edited"

# the text layout holds all of it
expect_code 0 "$FT" show --format text
contains "$OUT" "  • Reproduction command: \`ctest -R sse\`"
contains "$OUT" "    • 2026-11-04: free in one place → pass + 0 leaked"
contains "$OUT" "    • Ruled out: timer outlives the stream"
contains "$OUT" "  • Follow-up: valgrind in CI"
expect_code 0 "$FT" show
contains "$OUT" "  • [1] Write the reproducer"
expect_code 0 "$FT" --json show
equals "$(echo "$OUT" | json 'd["progress"]["done"], d["progress"]["pending"], d["owner"]')" "1 1 Server team"

# every change is in the history, with its actor
expect_code 0 "$FT" history --json
n=$(echo "$OUT" | wc -l)
[ "$n" -ge 20 ] || fail "history has only $n events"
contains "$OUT" '"actor":"alice"'
contains "$OUT" '"kind":"item.update"'
expect_code 0 "$FT" history --kind hyp
contains "$OUT" "hyp.update"
expect_code 0 "$FT" history --limit 1
equals "$(echo "$OUT" | wc -l)" "1"

# a second tracker: no default any more until 'use'
expect_code 0 "$FT" create 'Second tracker'
expect_code 2 "$FT" item add x
contains "$ERR" "no default"
expect_code 0 "$FT" use sse
expect_code 0 "$FT" -t second-tracker item add 'in the second'
expect_code 0 "$FT" list
contains "$OUT" "* "
contains "$OUT" "second-tracker"

# help for every command, and the version
for c in init create import list show use edit delete item rule step symptom hyp result followup note repro fix history check help version; do
    expect_code 0 "$FT" "$c" --help
    contains "$OUT" "flowtrack $c" "$c --help"
done
expect_code 0 "$FT" --version
contains "$OUT" "flowtrack "
expect_code 0 "$FT" delete second-tracker
t_done
