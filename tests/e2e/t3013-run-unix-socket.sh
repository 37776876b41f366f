#!/usr/bin/env bash
# A process blocked reading a unix stream socket whose peer never writes: outcome
# hang, and the diagnosis names the reader, the unix socket (CONNECTED) and the
# process holding the other end (found through sock_diag's UNIX_DIAG_PEER).
. "$(dirname "$0")/lib.sh"

expect_rc 124 $OUTER $FT run --no-record --json --timeout 1 -- $H/sc_unix_block >j 2>err
reader=$(sed -n 's/.*reader \([0-9]*\) waits.*/\1/p' err)
child=$(sed -n 's/.*peer held by \([0-9]*\)$/\1/p' err | sed -n 1p)
[ -n "$reader" ] && [ -n "$child" ] || fail "the helper did not say its pids"
[ "$(jget j 'd["outcome"]')" = hang ] || fail "outcome"
[ "$(jget j 'd["diagnosis"]["culprit"]["pid"]')" = "$reader" ] || fail "culprit pid"
[ "$(jget j '[(f["state"], f["peer"]["pid"], f["peer"]["comm"]) for p in d["diagnosis"]["processes"] if p["pid"] == '$reader' for f in p["fds"] if f["type"] == "unix"]')" = "[('CONNECTED', $child, 'sc_unix_block')]" ] ||
    fail "reader's unix socket in the snapshot: $(jget j '[f for p in d["diagnosis"]["processes"] for f in p["fds"] if f["type"] == "unix"]')"
[ "$(jget j '[f["peer"]["pid"] for p in d["diagnosis"]["processes"] if p["pid"] == '$child' for f in p["fds"] if f["type"] == "unix"]')" = "[$reader]" ] ||
    fail "the child's end does not name the reader"
why=$(jget j 'd["diagnosis"]["culprit"]["why"]')
for want in "blocked in read on fd" "unix stream socket CONNECTED" \
    "peer held by pid $child (sc_unix_block)"; do
    case "$why" in *"$want"*) ;; *) fail "culprit lacks '$want': $why" ;; esac
done
assert_gone "$reader"
assert_gone "$child"

assert_no_survivors
t_done
