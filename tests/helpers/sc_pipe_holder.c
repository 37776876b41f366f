/*
 * sc_pipe_holder: the parent exits 0 at once, but a child it forked keeps the
 * inherited stdout (the runner's output pipe) open and sleeps. The classic
 * "the test passed but CI never finishes" leak.
 */
#include "sc_common.h"

#include <sys/types.h>

int main(void)
{
    sc_arm();
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        sc_arm();
        sc_forever();
    }
    SC_SAY("parent %d done; child %d keeps stdout\n", (int)getpid(), (int)pid);
    return 0;
}
