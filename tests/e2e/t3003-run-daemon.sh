#!/usr/bin/env bash
# A daemonized grandchild (fork, setsid, fork, stdio on /dev/null) is found
# through the subreaper: outcome leak, and the diagnosis names it.
. "$(dirname "$0")/lib.sh"

expect_rc 122 $OUTER $FT run --no-record --json --settle 0.3 -- $H/sc_daemon >j 2>err
daemon=$(sed -n 's/.*daemon \([0-9]*\) started.*/\1/p' err)
[ -n "$daemon" ] || fail "no daemon pid in the output"
[ "$(jget j 'd["outcome"]')" = leak ] || fail "outcome"
[ "$(jget j 'd["diagnosis"]["culprit"]["pid"]')" = "$daemon" ] || fail "culprit is not $daemon"
[ "$(jget j 'd["diagnosis"]["culprit"]["comm"]')" = sc_daemon ] || fail "culprit command"
[ "$(jget j '[p["in_session"] for p in d["diagnosis"]["processes"] if p["pid"] == '$daemon']')" = "[False]" ] ||
    fail "the daemon has its own session"
file_contains err "likely culprit: pid $daemon (sc_daemon): still running after the command exited"
file_contains err "called setsid"
assert_gone "$daemon"

assert_no_survivors
t_done
