/*
 * run: execute a command the way timeout(1) does, and tell how it ended.
 *
 * ft_run_exec() starts the command in its own session and process group
 * (posix_spawn with POSIX_SPAWN_SETSID), after making the calling process a
 * child subreaper (PR_SET_CHILD_SUBREAPER), so every descendant that
 * double-forks or calls setsid is reparented to the caller and stays
 * findable. stdout and stderr go through two pipes: each chunk is echoed to
 * the caller's descriptors as it comes and kept in a bounded tail (the newest
 * log_max bytes). stdin is inherited unless no_stdin.
 *
 * One outcome per run (enum ft_outcome):
 *   pass         exited 0, and nothing of it left after the settle time
 *   fail         exited non-zero (or could not be executed), nothing left
 *   crash        the main process died of a signal flowtrack did not send
 *   hang         still running at the timeout
 *   leak         the main process exited, but processes of the run (its
 *                descendants, its session, other holders of its output
 *                pipes) were still there after the settle time
 *   interrupted  flowtrack got SIGINT, SIGTERM, SIGHUP or SIGQUIT; the signal
 *                was forwarded to the command's group
 * For hang, leak and interrupted, the processes left are snapshot (proc.h;
 * with native stacks unless disabled) BEFORE anything is killed; then the
 * group and every process found get opts->signal, then the grace period,
 * then SIGKILL, and a last scan checks that nothing survived.
 *
 * Bounds: the call returns by timeout + grace + a small bound, whatever the
 * command does: the snapshot, stacks (stacks_budget_ms), the SIGKILL rounds
 * (1 s at most) and the last output (1 s at most). A slow reader of out_fd or
 * err_fd cannot stretch it: echoing stops at a deadline.
 *
 * Process-wide effects while it runs: SIGCHLD, SIGINT, SIGTERM, SIGHUP and
 * SIGQUIT are blocked and read from a signalfd; SIGPIPE is ignored; the
 * subreaper flag stays set. It must be called from a single-threaded process
 * with no other children it cares about (it reaps every child).
 *
 * Errors: ft_run_exec returns 0 when the command ran or could not be executed
 * (res says which); a negative enum ft_code when flowtrack itself failed
 * (pipes, signalfd), with err filled.
 */
#ifndef FT_RUN_H
#define FT_RUN_H

#include "../util/ft_buf.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct ft_err;

#define FT_RUN_DEFAULT_TIMEOUT_MS (10 * 60 * 1000)
#define FT_RUN_DEFAULT_GRACE_MS   2000
#define FT_RUN_DEFAULT_SETTLE_MS  500
#define FT_RUN_DEFAULT_LOG_MAX    (256 * 1024)
#define FT_RUN_STACKS_BUDGET_MS   2000
/* Exit status of a run that leaked (see ft_run_exit_status). */
#define FT_RUN_EXIT_LEAK 122

struct ft_run_opts {
    char *const *argv;        /* the command; argv[0] is searched in PATH */
    int64_t timeout_ms;       /* 0 = no timeout */
    int64_t grace_ms;         /* between opts->signal and SIGKILL */
    int64_t settle_ms;        /* how long leftovers may take to go after the main exit */
    int signal;               /* sent first when ending the run (SIGTERM) */
    int no_stdin;             /* stdin from /dev/null instead of inherited */
    int out_fd, err_fd;       /* where stdout / stderr are echoed; -1 = not echoed */
    size_t log_max;           /* bytes of output kept (the tail) */
    int stacks;               /* add native stacks to the snapshot (eu-stack or gdb) */
    int64_t stacks_budget_ms; /* for all stacks of one snapshot */
    /* Called (when not NULL) with one line, no newline, when a run is about to be ended
     * (after the snapshot, before the first signal), so a long grace period is explained
     * while it runs. */
    void (*notify)(void *u, const char *line);
    void *notify_u;
};

/* Fill o with the defaults above (echo to 1 and 2, stacks on). */
void ft_run_opts_init(struct ft_run_opts *o);

struct ft_run_result {
    int outcome;         /* enum ft_outcome */
    int exit_code;       /* the main process's exit status, -1 when it did not exit */
    int signal;          /* the signal that ended the main process, 0 = none */
    int exec_errno;      /* the command could not be executed: errno, else 0 */
    int interrupt;       /* the signal flowtrack received and forwarded, 0 = none */
    int64_t started_at;  /* Unix ms */
    int64_t duration_ms; /* from start to the end of the kill sequence */
    char *log;           /* the output's tail, valid UTF-8, never NULL after a run */
    int log_truncated;   /* older output was dropped */
    json_t *diag;        /* diagnosis (diag.h), NULL for pass and fail */
};

int ft_run_exec(const struct ft_run_opts *o, struct ft_run_result *res, struct ft_err *err);
/* Release what a result owns. NULL is allowed. */
void ft_run_result_release(struct ft_run_result *res);

/*
 * The outcome from what happened (pure): interrupted wins, then hang, then
 * leak, then how the main process ended (status as waitpid returned it,
 * exec_errno when it never started).
 */
int ft_run_classify(int interrupted, int timed_out, int leaked, int status, int exec_errno);
/*
 * The exit status of `flowtrack run` (timeout(1) conventions): 0 pass; the
 * command's status for fail; 124 hang; 126 cannot execute, 127 not found;
 * 128+N crash by signal N and interrupted by signal N; FT_RUN_EXIT_LEAK for a
 * leak, or with allow_leak the command's own status.
 */
int ft_run_exit_status(const struct ft_run_result *res, int allow_leak);

/* A bounded tail of a byte stream: keeps the newest cap bytes. */
struct ft_tail {
    char *buf;
    size_t cap, head, len; /* ring: len bytes ending before head */
    uint64_t total;        /* bytes ever added */
};
void ft_tail_init(struct ft_tail *t, size_t cap);
void ft_tail_add(struct ft_tail *t, const char *p, size_t n);
/*
 * The kept bytes as valid UTF-8 text (caller frees). When older bytes were
 * dropped, *truncated is 1 and the text starts at a line start (or a
 * character start) so no half line or half character is shown.
 */
char *ft_tail_text(const struct ft_tail *t, int *truncated);
void ft_tail_release(struct ft_tail *t);

/*
 * Append s[0..n) to out as valid UTF-8: every byte that is not part of a valid
 * sequence, and NUL, becomes U+FFFD. Pure.
 */
void ft_utf8_sanitize(const char *s, size_t n, struct ft_buf *out);

/* "SIGTERM" or "SIG42". */
const char *ft_signal_name(int sig, char *buf, size_t n);
/* Parse "TERM", "SIGTERM", "term" or "15". -1 when unknown. */
int ft_signal_parse(const char *s);

#endif
