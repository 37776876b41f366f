#!/usr/bin/env bash
# A process blocked reading a TCP socket whose peer never answers: outcome
# hang, and the diagnosis names the reader, the socket (addresses, state
# ESTABLISHED) and the process holding the other end.
. "$(dirname "$0")/lib.sh"

expect_rc 124 $OUTER $FT run --no-record --json --timeout 1 -- $H/sc_tcp_block >j 2>err
client=$(sed -n 's/.*client \([0-9]*\) reads.*/\1/p' err)
port=$(sed -n 's/.*reads from 127.0.0.1:\([0-9]*\) .*/\1/p' err)
listener=$(sed -n 's/.*served by listener \([0-9]*\).*/\1/p' err)
[ -n "$client" ] && [ -n "$port" ] && [ -n "$listener" ] || fail "the helper did not say its pids"
[ "$(jget j 'd["outcome"]')" = hang ] || fail "outcome"
[ "$(jget j 'd["diagnosis"]["culprit"]["pid"]')" = "$client" ] || fail "culprit pid"
why=$(jget j 'd["diagnosis"]["culprit"]["why"]')
for want in "blocked in read on fd" "-> 127.0.0.1:$port ESTABLISHED" \
    "peer held by pid $listener (sc_tcp_block)"; do
    case "$why" in *"$want"*) ;; *) fail "culprit lacks '$want': $why" ;; esac
done
[ "$(jget j '[(f["remote"], f["state"], f["peer"]["pid"]) for p in d["diagnosis"]["processes"] if p["pid"] == '$client' for f in p["fds"] if f["type"] == "tcp"]')" = "[('127.0.0.1:$port', 'ESTABLISHED', $listener)]" ] ||
    fail "client socket in the snapshot"
[ "$(jget j '[f["state"] for p in d["diagnosis"]["processes"] if p["pid"] == '$listener' for f in p["fds"] if f["type"] == "tcp" and f["local"] == "127.0.0.1:'$port'"]')" = "['LISTEN', 'ESTABLISHED']" ] ||
    fail "listener sockets in the snapshot"
file_contains err "likely culprit: pid $client (sc_tcp_block): thread $client (sc_tcp_block) blocked in read"
assert_gone "$client"
assert_gone "$listener"

assert_no_survivors
t_done
