#!/usr/bin/env bash
# A process blocked in connect() to a server that listens but never accepts: the diagnosis
# names the address the connect is for (read from the call's sockaddr in the process's
# memory: a connecting unix socket has no address in any table) and the process listening
# there, for a unix socket and for TCP (SYN_SENT while the listener's queue is full).
. "$(dirname "$0")/lib.sh"

pids() { # connector and listener, as the helper said them
    conn=$(sed -n 's/^connector \([0-9]*\) .*/\1/p' err)
    lst=$(sed -n 's/.*; listener \([0-9]*\)$/\1/p' err)
    [ -n "$conn" ] && [ -n "$lst" ] || fail "the helper did not say its pids: $(cat err)"
    th='[t for p in d["diagnosis"]["processes"] if p["pid"] == '$conn' for t in p["threads"]][0]'
}

sock=$T_DIR/stuck.sock
expect_rc 124 $OUTER $FT run --no-record --json --no-stacks --timeout 0.5 -- $H/sc_connect_block unix "$sock" >j 2>err
pids
equals "$(jget j 'd["diagnosis"]["culprit"]["pid"]')" "$conn" "the culprit"
equals "$(jget j 'd["diagnosis"]["culprit"]["cause"]')" waiting_for_peer "the culprit's cause"
equals "$(jget j "$th[\"syscall\"]")" connect "the connector's syscall"
equals "$(jget j "$th[\"connect_to\"]")" "$sock" "the address of the connect"
equals "$(jget j "$th[\"peer_listener\"][\"pid\"]")" "$lst" "the listener"
why=$(jget j 'd["diagnosis"]["culprit"]["why"]')
fd=$(jget j "$th[\"fd\"]")
contains "$why" "blocked in connect on fd $fd: connect to unix socket $sock: its listener, pid $lst (sc_connect_bloc) fd "
contains "$why" ", does not accept (backlog full)"
file_contains err "state S in connect(fd $fd) to $sock"
assert_gone "$conn"
assert_gone "$lst"

expect_rc 124 $OUTER $FT run --no-record --json --no-stacks --timeout 0.5 -- $H/sc_connect_block tcp >j 2>err
pids
port=$(sed -n 's/^connector [0-9]* connects to 127.0.0.1 \([0-9]*\);.*/\1/p' err)
equals "$(jget j 'd["diagnosis"]["culprit"]["pid"]')" "$conn" "the culprit"
equals "$(jget j "$th[\"connect_to\"]")" "127.0.0.1:$port" "the address of the connect"
why=$(jget j 'd["diagnosis"]["culprit"]["why"]')
fd=$(jget j "$th[\"fd\"]")
contains "$why" "blocked in connect on fd $fd: connect to 127.0.0.1:$port: tcp 127.0.0.1:"
contains "$why" "-> 127.0.0.1:$port SYN_SENT; peer not accepted yet by pid $lst (sc_connect_bloc) listening on 127.0.0.1:$port"
assert_no_survivors
t_done
