/*
 * sc_nodump: sc_pipe_holder's leak by a process that is not dumpable
 * (PR_SET_DUMPABLE 0, as a setuid or credential-holding daemon makes itself).
 * Without CAP_SYS_PTRACE, nobody may read its descriptors or attach to it: the
 * runner must say so, and still find it and end it.
 */
#include "sc_common.h"

#include <sys/prctl.h>
#include <sys/types.h>

int main(void)
{
    sc_arm();
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return 1;
    pid_t pid = fork(); /* the child inherits "not dumpable" */
    if (pid < 0)
        return 1;
    if (pid == 0) {
        sc_arm();
        sc_forever();
    }
    SC_SAY("parent %d done; child %d keeps stdout, not dumpable\n", (int)getpid(), (int)pid);
    return 0;
}
