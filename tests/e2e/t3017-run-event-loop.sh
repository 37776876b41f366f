#!/usr/bin/env bash
# An event loop that waits forever: the diagnosis resolves what it waits on. In epoll_wait,
# the epoll set's descriptors, each as what it is: a timerfd with its clock and period, a
# signalfd with its signals, an inotify descriptor with the watched directory, a pipe; the
# eventfd outside the set with its count. In poll, the polled descriptors.
. "$(dirname "$0")/lib.sh"

mkdir "$T_DIR/watched"
expect_rc 124 $OUTER $FT run --no-record --json --no-stacks --timeout 0.5 -- $H/sc_event_wait epoll "$T_DIR/watched" >j 2>err
why=$(jget j 'd["diagnosis"]["culprit"]["why"]')
for want in "blocked in epoll_wait on fd" "epoll set of 4:" "anon_inode:inotify watching $T_DIR/watched" \
    "anon_inode:[signalfd] (SIGUSR1)" "anon_inode:[timerfd] (clock monotonic, next in" "every 60000 ms)" \
    "(read end)"; do
    contains "$why" "$want" "the culprit"
done
equals "$(jget j 'd["diagnosis"]["culprit"]["cause"]')" waiting_for_peer "the cause"
fds=$(jget j 'd["diagnosis"]["processes"][0]["fds"]')
contains "$fds" "'eventfd_count': 3" "the eventfd"
contains "$fds" "'signals': 'SIGUSR1'" "the signalfd"
contains "$fds" "'path': '$T_DIR/watched'" "the inotify watch"
file_contains err "anon_inode:[eventfd] (count 3)"

expect_rc 124 $OUTER $FT run --no-record --json --no-stacks --timeout 0.5 -- $H/sc_event_wait poll "$T_DIR/watched" >j 2>err
why=$(jget j 'd["diagnosis"]["culprit"]["why"]')
contains "$why" "blocked in poll: poll on 2: fd" "the culprit"
contains "$why" "anon_inode:[signalfd] (SIGUSR1)" "the culprit"
equals "$(jget j 'len(d["diagnosis"]["processes"][0]["threads"][0]["poll_fds"])')" 2 "the polled descriptors"
assert_no_survivors
t_done
