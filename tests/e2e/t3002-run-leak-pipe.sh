#!/usr/bin/env bash
# A child keeps the output pipe open after its parent exits 0: outcome leak,
# exit 122, and the diagnosis names the child (pid, command) and the pipe.
. "$(dirname "$0")/lib.sh"

expect_rc 122 $OUTER $FT run --no-record --json --settle 0.3 -- $H/sc_pipe_holder >j 2>err
file_contains err "keeps stdout"
child=$(sed -n 's/.*; child \([0-9]*\) keeps stdout.*/\1/p' err)
[ -n "$child" ] || fail "no child pid in the output"
[ "$(jget j 'd["outcome"]')" = leak ] || fail "outcome"
[ "$(jget j 'd["exit_code"]')" = 0 ] || fail "the main process exited 0"
[ "$(jget j 'd["diagnosis"]["culprit"]["pid"]')" = "$child" ] || fail "culprit is not $child"
[ "$(jget j 'd["diagnosis"]["culprit"]["comm"]')" = sc_pipe_holder ] || fail "culprit command"
[ "$(jget j '"stdout" in d["diagnosis"]["culprit"]["why"]')" = True ] || fail "culprit why"
equals "$(jget j 'd["diagnosis"]["culprit"]["cause"]')" holding_output "the culprit's cause"
# the snapshot: the child holds the write end of the stdout pipe, whose inode is the runner's
[ "$(jget j '[f["output"] for p in d["diagnosis"]["processes"] if p["pid"] == '$child' for f in p["fds"] if f.get("output") and f["end"] == "write" and f["inode"] == d["diagnosis"]["output_pipes"][f["output"]]]')" = "['stdout', 'stderr']" ] ||
    fail "snapshot of the pipe holder"
[ "$(jget j 'd["diagnosis"]["end"]["survivors"]')" = "[]" ] || fail "survivors"
[ "$(jget j "$child in d['diagnosis']['end']['signalled']")" = True ] || fail "child not signalled"
file_contains err "likely culprit: pid $child (sc_pipe_holder): keeps the command's output open"
file_contains err "fd 1: pipe:["
file_contains err "the command's stdout, read by flowtrack"
assert_gone "$child"

# --allow-leak: the command's own status, still recorded as a leak and cleaned up
expect_rc 0 $OUTER $FT run --no-record --allow-leak --settle 0.2 -- $H/sc_pipe_holder >out 2>err
file_contains err "flowtrack: leak:"
child=$(sed -n 's/.*; child \([0-9]*\) keeps stdout.*/\1/p' out)
assert_gone "$child"

assert_no_survivors
t_done
