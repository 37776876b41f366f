/*
 * diagnose.c: `flowtrack diagnose`. The processes are the ones named (pids, a session, a
 * command-line match) and their descendants, found as the runner finds a run's (proc.c);
 * the diagnosis is the runner's (diag.c). Nothing is signalled unless end is set.
 */
#include "diagnose.h"

#include "diag.h"
#include "proc.h"

#include "../util/ft_err.h"
#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"
#include "run.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/banned.h"

/* pid is this process or one of its ancestors (never diagnosed by --match). */
static int is_self(pid_t pid)
{
    struct ft_pstat ps;
    for (pid_t p = getpid(); p > 1; p = ps.ppid) {
        if (p == pid)
            return 1;
        if (ft_proc_stat_read(p, 0, &ps) != 0)
            return 0;
    }
    return 0;
}

/* Append the pids whose command line contains pattern (not this process or its ancestors). */
static void add_matches(const char *pattern, pid_t **roots, size_t *n, size_t *cap)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    char cmd[4096];
    if (!d)
        return;
    while ((de = readdir(d))) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        pid_t pid = (pid_t)strtol(de->d_name, NULL, 10);
        ft_proc_cmdline(pid, cmd, sizeof(cmd));
        if (!cmd[0] || !strstr(cmd, pattern) || is_self(pid))
            continue;
        ft_xgrow((void **)roots, cap, *n + 1, sizeof(**roots));
        (*roots)[(*n)++] = pid;
    }
    closedir(d);
}

static json_t *pid_array(const struct ft_member *m, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_integer(m[i].pid));
    return a;
}

/* sig and SIGCONT to every member; the grace period; SIGKILL rounds; the survivors. */
static json_t *end_them(const struct ft_snap_opts *so, int sig, int64_t grace_ms)
{
    char name[32];
    int64_t t0 = ft_mono_ms();
    struct ft_member *m;
    size_t n = ft_proc_members(so, &m);
    json_t *end = json_object();
    json_object_set_new(end, "signal", json_string(ft_signal_name(sig, name, sizeof(name))));
    json_object_set_new(end, "signalled", pid_array(m, n));
    for (size_t i = 0; i < n; i++) {
        ft_proc_signal(&m[i], sig);
        if (sig != SIGKILL)
            ft_proc_signal(&m[i], SIGCONT); /* a stopped process acts on it only then */
    }
    free(m);
    while (ft_mono_ms() - t0 < grace_ms) {
        size_t left = ft_proc_members(so, &m);
        free(m);
        if (left == 0)
            break;
        usleep(20 * 1000);
    }
    json_t *killed = json_array();
    for (int round = 0; round < 5; round++) {
        n = ft_proc_members(so, &m);
        for (size_t i = 0; i < n; i++)
            if (ft_proc_signal(&m[i], SIGKILL) == 0)
                json_array_append_new(killed, json_integer(m[i].pid));
        free(m);
        if (n == 0)
            break;
        usleep(50 * 1000);
    }
    json_object_set_new(end, "killed", killed);
    n = ft_proc_members(so, &m);
    json_object_set_new(end, "survivors", pid_array(m, n));
    free(m);
    json_object_set_new(end, "ms", json_integer(ft_mono_ms() - t0));
    return end;
}

int ft_diagnose(const struct ft_diagnose_opts *o, json_t **out, struct ft_err *err)
{
    pid_t *roots = NULL;
    size_t n = 0, cap = 0;
    *out = NULL;
    if (!o->npids && !o->sid && !(o->match && *o->match))
        return ft_err_set(err, FT_EINVAL,
                          "name the processes: PID..., --session SID or --match PATTERN");
    for (size_t i = 0; i < o->npids; i++) {
        if (o->pids[i] <= 1 || (kill(o->pids[i], 0) != 0 && errno == ESRCH)) {
            free(roots);
            return ft_err_set(err, FT_ENOTFOUND, "no process %d", (int)o->pids[i]);
        }
        ft_xgrow((void **)&roots, &cap, n + 1, sizeof(*roots));
        roots[n++] = o->pids[i];
    }
    if (o->match && *o->match)
        add_matches(o->match, &roots, &n, &cap);
    struct ft_snap_opts so = {getpid(), o->sid, n ? roots[0] : 0, {0, 0}, roots, n};
    int64_t s0 = ft_mono_ms();
    json_t *procs = ft_proc_snapshot(&so);
    if (json_array_size(procs) == 0) {
        json_decref(procs);
        free(roots);
        return ft_err_set(err, FT_ENOTFOUND, "no process to diagnose%s%s%s",
                          o->match && *o->match ? ": nothing matches '" : "",
                          o->match && *o->match ? o->match : "", o->match && *o->match ? "'" : "");
    }
    json_t *diag = json_object();
    json_object_set_new(diag, "outcome", json_string("diagnose"));
    json_object_set_new(diag, "reason",
                        json_sprintf("%zu process%s diagnosed on request (flowtrack did not "
                                     "start %s)",
                                     json_array_size(procs),
                                     json_array_size(procs) == 1 ? "" : "es",
                                     json_array_size(procs) == 1 ? "it" : "them"));
    json_object_set_new(diag, "processes", procs);
    json_object_set_new(diag, "snapshot_ms", json_integer(ft_mono_ms() - s0));
    if (o->stacks)
        ft_diag_stacks(diag, o->stacks_budget_ms);
    else
        json_object_set_new(diag, "stacks", json_pack("{s:s}", "error", "not taken (disabled)"));
    ft_diag_analyse(diag);
    if (o->end)
        json_object_set_new(diag, "end", end_them(&so, o->signal, o->grace_ms));
    free(roots);
    *out = diag;
    return 0;
}
