/*
 * sc_fanout N: forks N children that sleep, then waits for them (a session of
 * N+1 processes, for the snapshot's cost).
 */
#include "sc_common.h"

#include <sys/types.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
    sc_arm();
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 50;
    for (long i = 0; i < n; i++) {
        pid_t p = fork();
        if (p < 0)
            return 1;
        if (p == 0) {
            sc_arm();
            sc_forever();
        }
    }
    SC_SAY("fanout %d forked %ld children\n", (int)getpid(), n);
    while (wait(NULL) > 0)
        ;
    return 0;
}
