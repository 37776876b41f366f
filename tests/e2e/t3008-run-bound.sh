#!/usr/bin/env bash
# Whatever the command does, a run ends by timeout + grace + a small bound and
# leaves no process behind: stubborn, forking, deadlocked, leaking commands.
. "$(dirname "$0")/lib.sh"

# timeout 1 s + grace 1 s; the small bound is the stacks budget (2 s) plus the kill
# verification (1 s); 1.5 s more of slack for a loaded machine or the sanitizer build.
limit=6500
check() {
    local what=$1 t0 ms rc
    shift
    t0=$(date +%s%N)
    rc=0
    $OUTER $FT run --no-record --timeout 1 --grace 1 --settle 0.3 -- "$@" >out 2>err || rc=$?
    ms=$((($(date +%s%N) - t0) / 1000000))
    [ $ms -lt $limit ] || fail "$what: took $ms ms"
    [ $rc = 124 ] || [ $rc = 122 ] || fail "$what: exit status $rc"
    assert_no_survivors
    echo "$what: $ms ms, exit $rc"
}
check "ignores SIGTERM" $H/sc_ignore_term
check "deadlock" $H/sc_deadlock
check "tcp read" $H/sc_tcp_block
check "pipe holder" $H/sc_pipe_holder
check "daemon" $H/sc_daemon
check "fan-out" $H/sc_fanout 30
check "keeps forking, ignores SIGTERM" sh -c 'trap "" TERM; while :; do sh -c "trap \"\" TERM; sleep 30" & sleep 0.05; done'
check "setsid children ignoring SIGTERM" sh -c 'for i in 1 2 3; do setsid sh -c "trap \"\" TERM; sleep 30" & done; trap "" TERM; sleep 30'
t_done
