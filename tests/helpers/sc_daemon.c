/*
 * sc_daemon: daemonizes a grandchild the classic way (fork, setsid, fork),
 * with its stdio on /dev/null so it holds nothing of the runner's output: the
 * runner finds it only because it is a child subreaper. The parent waits for
 * its child and exits 0.
 */
#include "sc_common.h"

#include <fcntl.h>
#include <sys/types.h>
#include <sys/wait.h>

int main(void)
{
    sc_arm();
    int p[2];
    if (pipe(p) != 0)
        return 1;
    pid_t child = fork();
    if (child < 0)
        return 1;
    if (child == 0) {
        setsid();
        pid_t gc = fork();
        if (gc < 0)
            _exit(1);
        if (gc == 0) {
            sc_arm();
            int null = open("/dev/null", O_RDWR);
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
            close(null);
            close(p[0]);
            pid_t me = getpid();
            if (write(p[1], &me, sizeof(me)) != (ssize_t)sizeof(me))
                _exit(1);
            close(p[1]);
            if (chdir("/") != 0)
                _exit(1);
            sc_forever();
        }
        _exit(0);
    }
    close(p[1]);
    pid_t gc = 0;
    if (read(p[0], &gc, sizeof(gc)) != (ssize_t)sizeof(gc))
        return 1;
    waitpid(child, NULL, 0);
    SC_SAY("daemon %d started by %d; parent exits 0\n", (int)gc, (int)child);
    return 0;
}
