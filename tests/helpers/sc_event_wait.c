/*
 * sc_event_wait: an event loop that waits forever. It holds an eventfd (count 3), a timerfd
 * (first expiry in an hour, then every minute), a signalfd for SIGUSR1, an inotify watch on
 * the directory given (argv[2]) and the read end of a pipe nobody writes, then blocks in
 * epoll_wait on all of them (argv[1] "epoll") or in poll on the pipe and the eventfd
 * ("poll").
 */
#include "sc_common.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>

int main(int argc, char **argv)
{
    sc_arm();
    if (argc < 3)
        return 2;
    int efd = eventfd(3, 0);
    int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec its = {{60, 0}, {3600, 0}};
    timerfd_settime(tfd, 0, &its, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sfd = signalfd(-1, &set, 0);
    int ifd = inotify_init();
    int dirfd = open(argv[2], O_RDONLY | O_DIRECTORY); /* held: the watch's path can be named */
    inotify_add_watch(ifd, argv[2], IN_CREATE);
    int p[2];
    if (pipe(p) != 0 || efd < 0 || tfd < 0 || sfd < 0 || ifd < 0 || dirfd < 0)
        return 1;
    SC_SAY("waiting in %s: eventfd %d timerfd %d signalfd %d inotify %d pipe %d\n", argv[1], efd,
           tfd, sfd, ifd, p[0]);
    if (strcmp(argv[1], "poll") == 0) {
        struct pollfd pf[2] = {{p[0], POLLIN, 0}, {sfd, POLLIN, 0}};
        for (;;)
            poll(pf, 2, -1);
    }
    int ep = epoll_create1(0);
    int watch[] = {efd, tfd, sfd, ifd, p[0]};
    for (size_t i = 0; i < sizeof(watch) / sizeof(watch[0]); i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = watch[i]};
        if (watch[i] != efd) /* an eventfd with a count is always readable: not watched */
            epoll_ctl(ep, EPOLL_CTL_ADD, watch[i], &ev);
    }
    struct epoll_event out[4];
    for (;;)
        epoll_wait(ep, out, 4, -1);
}
