/*
 * sc_stopped: a parent waits for a child that stopped itself (SIGSTOP), as a job
 * suspended with Ctrl-Z would: the parent hangs in waitpid, the child in state T. Only
 * SIGCONT lets the child act on another signal.
 */
#include "sc_common.h"

#include <signal.h>
#include <sys/wait.h>

int main(void)
{
    sc_arm();
    pid_t child = fork();
    if (child == 0) {
        sc_arm();
        SC_SAY("stopped child %d\n", (int)getpid());
        raise(SIGSTOP);
        sc_forever();
    }
    SC_SAY("parent %d waits for %d\n", (int)getpid(), (int)child);
    waitpid(child, NULL, 0);
    return 0;
}
