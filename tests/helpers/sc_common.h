/*
 * Shared by the scenario programs the runner's tests run. Every process they
 * create arms a 120 s alarm, so even a broken runner cannot leave one behind
 * for long; the tests themselves check that none survives a run.
 */
#ifndef SC_COMMON_H
#define SC_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define SC_LIFETIME 120

/* Say something on stdout at once (the runner reads it through a pipe). */
#define SC_SAY(...)                                                                                \
    do {                                                                                           \
        printf(__VA_ARGS__);                                                                       \
        fflush(stdout);                                                                            \
    } while (0)

static inline void sc_arm(void)
{
    alarm(SC_LIFETIME);
}

/* Sleep without returning (until a signal ends the process). */
static inline void sc_forever(void)
{
    for (;;)
        pause();
}

#endif
