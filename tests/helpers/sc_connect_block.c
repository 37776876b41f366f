/*
 * sc_connect_block unix PATH | tcp: a process blocked in connect() to a server that listens
 * but never accepts (a stuck daemon whose backlog is full). A child listens with a backlog of
 * 0 and takes one connection into its queue; the parent's second, blocking connect then waits:
 * for a unix socket until the queue drains, for TCP while its SYNs are dropped. The diagnosis
 * must name the address the connect is for and the process listening there.
 */
#include "sc_common.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>

int main(int argc, char **argv)
{
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    struct sockaddr_in in = {.sin_family = AF_INET};
    struct sockaddr *sa;
    socklen_t len;
    int unix_mode = argc == 3 && strcmp(argv[1], "unix") == 0;
    if (!unix_mode && !(argc == 2 && strcmp(argv[1], "tcp") == 0)) {
        fprintf(stderr, "usage: sc_connect_block unix PATH | tcp\n");
        return 2;
    }
    sc_arm();
    int l = socket(unix_mode ? AF_UNIX : AF_INET, SOCK_STREAM, 0);
    if (unix_mode) {
        snprintf(un.sun_path, sizeof(un.sun_path), "%s", argv[2]);
        sa = (struct sockaddr *)&un;
        len = sizeof(un);
    } else {
        in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        sa = (struct sockaddr *)&in;
        len = sizeof(in);
    }
    if (l < 0 || bind(l, sa, len) != 0 || listen(l, 0) != 0 || getsockname(l, sa, &len) != 0) {
        perror("sc_connect_block: listen");
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        sc_arm();
        sc_forever(); /* listens, never accepts */
    }
    close(l);
    int first = socket(unix_mode ? AF_UNIX : AF_INET, SOCK_STREAM, 0);
    if (first < 0 || connect(first, sa, len) != 0) {
        perror("sc_connect_block: first connect");
        return 1;
    }
    if (!unix_mode) { /* the first completes once the listener's kernel has queued it */
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    int s = socket(unix_mode ? AF_UNIX : AF_INET, SOCK_STREAM, 0);
    SC_SAY("connector %d connects to %s %d; listener %d\n", (int)getpid(),
           unix_mode ? un.sun_path : "127.0.0.1", unix_mode ? 0 : ntohs(in.sin_port), (int)pid);
    return s < 0 || connect(s, sa, len) != 0;
}
