/*
 * sc_ignore_term: ignores SIGTERM (and SIGINT) and sleeps, so only SIGKILL
 * ends it.
 */
#include "sc_common.h"

#include <signal.h>

int main(void)
{
    sc_arm();
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    SC_SAY("stubborn %d ignores SIGTERM\n", (int)getpid());
    sc_forever();
}
