/*
 * diagnose: the runner's snapshot, cycle detection and diagnosis for processes flowtrack did
 * not start (`flowtrack diagnose PID...`): a stuck CI job found with ps, a test suite that
 * hangs under another runner. Read-only unless asked to end them.
 */
#ifndef FT_DIAGNOSE_H
#define FT_DIAGNOSE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ft_err;

struct ft_diagnose_opts {
    const pid_t *pids; /* these processes and their descendants */
    size_t npids;
    pid_t sid;         /* and every process of this session (0: none) */
    const char *match; /* and every process whose command line contains this (NULL: none) */
    int stacks;        /* take native stacks (gdb or eu-stack) */
    int64_t stacks_budget_ms;
    int end; /* then end them: signal (with SIGCONT), grace, SIGKILL */
    int signal;
    int64_t grace_ms;
};

/*
 * Take the snapshot and diagnose it; *out is the diagnosis (the runner's JSON shape, outcome
 * "diagnose"; with end, its "end" too). FT_ENOTFOUND when a pid names no process or nothing
 * matched, FT_EINVAL when nothing was named.
 */
int ft_diagnose(const struct ft_diagnose_opts *o, json_t **out, struct ft_err *err);

#endif
