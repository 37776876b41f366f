/*
 * The runner (see run.h). One struct runner owns everything a run acquires:
 * the two output pipes, the signalfd, the saved signal mask and dispositions
 * and the output tail; runner_release() is the only place they are given
 * back, on every path. The child processes are the run's too: whatever path
 * ends the run goes through end_run(), which leaves none behind.
 *
 * The loop is one poll(2) on the signalfd and the pipes, with the timeout or
 * the settle deadline as its bound. The fast path (a command that exits and
 * leaves nothing) needs no /proc scan: the main exit arrives as SIGCHLD, both
 * pipes reach EOF and waitpid(-1) reports no child left, which as a subreaper
 * means no descendant left.
 */
#include "run.h"

#include "../core/model.h"
#include "../util/ft_err.h"
#include "../util/ft_text.h"
#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"
#include "diag.h"
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../util/banned.h"

extern char **environ;

/* Signals the runner takes over while the command runs. */
static const int caught[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define NCAUGHT (sizeof(caught) / sizeof(caught[0]))

/* How long the kill verification may take after SIGKILL. */
#define KILL_WAIT_MS 1000

void ft_run_opts_init(struct ft_run_opts *o)
{
    *o = (struct ft_run_opts){.timeout_ms = FT_RUN_DEFAULT_TIMEOUT_MS,
                              .grace_ms = FT_RUN_DEFAULT_GRACE_MS,
                              .settle_ms = FT_RUN_DEFAULT_SETTLE_MS,
                              .signal = SIGTERM,
                              .out_fd = STDOUT_FILENO,
                              .err_fd = STDERR_FILENO,
                              .log_max = FT_RUN_DEFAULT_LOG_MAX,
                              .stacks = 1,
                              .stacks_budget_ms = FT_RUN_STACKS_BUDGET_MS};
}

/* ---- pure parts ---------------------------------------------------------------------- */

int ft_run_classify(int interrupted, int timed_out, int leaked, int status, int exec_errno)
{
    if (interrupted)
        return FT_OUT_INTERRUPTED;
    if (timed_out)
        return FT_OUT_HANG;
    if (leaked)
        return FT_OUT_LEAK;
    if (exec_errno)
        return FT_OUT_FAIL;
    if (WIFSIGNALED(status))
        return FT_OUT_CRASH;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return FT_OUT_PASS;
    return FT_OUT_FAIL;
}

int ft_run_exit_status(const struct ft_run_result *res, int allow_leak)
{
    int own = res->exit_code >= 0 ? res->exit_code : res->signal ? 128 + res->signal : 1;
    switch (res->outcome) {
    case FT_OUT_PASS:
        return 0;
    case FT_OUT_FAIL:
        if (res->exec_errno)
            return res->exec_errno == ENOENT ? 127 : 126;
        return own;
    case FT_OUT_CRASH:
        return 128 + res->signal;
    case FT_OUT_HANG:
        return 124;
    case FT_OUT_INTERRUPTED:
        return 128 + res->interrupt;
    case FT_OUT_LEAK:
        return allow_leak ? own : FT_RUN_EXIT_LEAK;
    default:
        return 125;
    }
}

void ft_utf8_sanitize(const char *s, size_t n, struct ft_buf *out)
{
    size_t i = 0;
    while (i < n) {
        size_t bad;
        if (ft_utf8_valid(s + i, n - i, &bad)) {
            ft_buf_add(out, s + i, n - i);
            return;
        }
        ft_buf_add(out, s + i, bad);
        ft_buf_adds(out, "\xef\xbf\xbd");
        i += bad + 1;
    }
}

void ft_tail_init(struct ft_tail *t, size_t cap)
{
    memset(t, 0, sizeof(*t));
    t->cap = cap ? cap : 1;
    t->buf = ft_xmalloc(t->cap);
}

void ft_tail_add(struct ft_tail *t, const char *p, size_t n)
{
    t->total += n;
    if (n >= t->cap) {
        memcpy(t->buf, p + n - t->cap, t->cap);
        t->head = 0;
        t->len = t->cap;
        return;
    }
    size_t first = t->cap - t->head < n ? t->cap - t->head : n;
    memcpy(t->buf + t->head, p, first);
    memcpy(t->buf, p + first, n - first);
    t->head = (t->head + n) % t->cap;
    t->len = t->len + n > t->cap ? t->cap : t->len + n;
}

char *ft_tail_text(const struct ft_tail *t, int *truncated)
{
    char *lin = ft_xmalloc(t->len + 1);
    size_t start = (t->head + t->cap - t->len) % t->cap;
    size_t first = t->cap - start < t->len ? t->cap - start : t->len;
    memcpy(lin, t->buf + start, first);
    memcpy(lin + first, t->buf, t->len - first);
    size_t skip = 0;
    *truncated = t->total > t->len;
    if (*truncated) {
        /* Start at the next line when one begins soon, else at a character start. */
        const char *nl = memchr(lin, '\n', t->len < 4096 ? t->len : 4096);
        if (nl)
            skip = (size_t)(nl - lin) + 1;
        else
            while (skip < t->len && skip < 3 && ((unsigned char)lin[skip] & 0xc0) == 0x80)
                skip++;
    }
    struct ft_buf b;
    ft_buf_init(&b, 0);
    ft_utf8_sanitize(lin + skip, t->len - skip, &b);
    free(lin);
    return ft_buf_detach(&b, NULL);
}

void ft_tail_release(struct ft_tail *t)
{
    if (!t)
        return;
    free(t->buf);
    memset(t, 0, sizeof(*t));
}

const char *ft_signal_name(int sig, char *buf, size_t n)
{
    const char *abbrev = sigabbrev_np(sig);
    if (abbrev)
        snprintf(buf, n, "SIG%s", abbrev);
    else
        snprintf(buf, n, "SIG%d", sig);
    return buf;
}

int ft_signal_parse(const char *s)
{
    if (!*s)
        return -1;
    if (strspn(s, "0123456789") == strlen(s)) {
        long v = strtol(s, NULL, 10);
        return v > 0 && v < NSIG ? (int)v : -1;
    }
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (int i = 1; i < NSIG; i++) {
        const char *a = sigabbrev_np(i);
        if (a && strcasecmp(a, s) == 0)
            return i;
    }
    return -1;
}

/* ---- the runner ---------------------------------------------------------------------- */

struct runner {
    const struct ft_run_opts *o;
    pid_t pid;             /* main process, 0 when it never started */
    int alive;             /* main process not reaped yet */
    int status;            /* its wait status once reaped */
    int pipes[2];          /* read ends of stdout and stderr, -1 once at EOF */
    int echo[2];           /* where each is echoed, -1 = not, or no longer (write failed) */
    int echo_may_block[2]; /* echo[i] is a pipe, socket or terminal, not a file */
    int echo_stalled;      /* echoing stopped at a deadline: flowtrack's reader is too slow */
    uint64_t inode[2];     /* the pipes' inodes, to find their holders */
    int sfd;               /* signalfd */
    int mask_saved;
    sigset_t oldmask;
    struct sigaction oldact[NCAUGHT], oldpipe;
    struct ft_tail tail;
    int interrupt; /* first signal received */
    int escalate;  /* a signal while ending: go straight to SIGKILL */
    int ending;    /* end_run() has started */
};

static void runner_release(struct runner *r)
{
    for (int i = 0; i < 2; i++)
        if (r->pipes[i] >= 0) {
            close(r->pipes[i]);
            r->pipes[i] = -1;
        }
    if (r->sfd >= 0) {
        close(r->sfd);
        r->sfd = -1;
    }
    if (r->mask_saved) {
        for (size_t i = 0; i < NCAUGHT; i++)
            sigaction(caught[i], &r->oldact[i], NULL);
        sigaction(SIGPIPE, &r->oldpipe, NULL);
        /* Drop what is pending for signals we take over, then restore the mask. */
        sigset_t set;
        struct timespec zero = {0, 0};
        sigemptyset(&set);
        sigaddset(&set, SIGCHLD);
        while (sigtimedwait(&set, NULL, &zero) > 0)
            ;
        sigprocmask(SIG_SETMASK, &r->oldmask, NULL);
        r->mask_saved = 0;
    }
    ft_tail_release(&r->tail);
}

static int runner_setup(struct runner *r, struct ft_err *err)
{
    int p[2][2] = {{-1, -1}, {-1, -1}};
    for (int i = 0; i < 2; i++) {
        if (pipe2(p[i], O_CLOEXEC) != 0) {
            int e = errno;
            /* The read ends already belong to r (runner_release); the write ends to us. */
            for (int k = 0; k < i; k++)
                close(p[k][1]);
            return ft_err_set(err, FT_EIO, "cannot create a pipe: %s", strerror(e));
        }
        struct stat sb;
        r->inode[i] = fstat(p[i][0], &sb) == 0 ? (uint64_t)sb.st_ino : 0;
        r->pipes[i] = p[i][0];
    }
    r->echo[0] = r->o->out_fd;
    r->echo[1] = r->o->err_fd;
    for (int i = 0; i < 2; i++) {
        struct stat sb;
        r->echo_may_block[i] = !(r->echo[i] >= 0 && fstat(r->echo[i], &sb) == 0 &&
                                 (S_ISREG(sb.st_mode) || S_ISBLK(sb.st_mode)));
    }

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    for (size_t i = 0; i < NCAUGHT; i++)
        sigaddset(&set, caught[i]);
    sigprocmask(SIG_BLOCK, &set, &r->oldmask);
    r->mask_saved = 1;
    struct sigaction dfl, ign;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    memset(&ign, 0, sizeof(ign));
    ign.sa_handler = SIG_IGN;
    /* Blocked signals with the default action are queued for the signalfd even when the
     * shell started us with SIGINT ignored (a background job). */
    for (size_t i = 0; i < NCAUGHT; i++)
        sigaction(caught[i], &dfl, &r->oldact[i]);
    sigaction(SIGPIPE, &ign, &r->oldpipe);
    r->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (r->sfd < 0) {
        int e = errno;
        close(p[0][1]);
        close(p[1][1]);
        return ft_err_set(err, FT_EIO, "signalfd: %s", strerror(e));
    }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
        int e = errno;
        close(p[0][1]);
        close(p[1][1]);
        return ft_err_set(err, FT_EIO, "cannot become a child subreaper: %s", strerror(e));
    }
    /* Spawn with the write ends, then close them here so EOF means "no writer left". */
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    if (r->o->no_stdin)
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, p[0][1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, p[1][1], STDERR_FILENO);
    sigset_t none, def;
    sigemptyset(&none);
    sigemptyset(&def);
    for (size_t i = 0; i < NCAUGHT; i++)
        sigaddset(&def, caught[i]);
    sigaddset(&def, SIGPIPE);
    sigaddset(&def, SIGCHLD);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &def);
    posix_spawnattr_setflags(&at,
                             POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int rc = posix_spawnp(&pid, r->o->argv[0], &fa, &at, r->o->argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(p[0][1]);
    close(p[1][1]);
    if (rc != 0)
        return rc; /* a positive errno: the command could not be executed */
    r->pid = pid;
    r->alive = 1;
    return 0;
}

/* Reap every child that has exited. Returns 1 when the runner has no child left at all. */
static int reap(struct runner *r)
{
    for (;;) {
        int st;
        pid_t p = waitpid(-1, &st, WNOHANG);
        if (p > 0) {
            if (p == r->pid && r->alive) {
                r->alive = 0;
                r->status = st;
            }
            continue;
        }
        if (p < 0 && errno == EINTR)
            continue;
        return p < 0 && errno == ECHILD;
    }
}

static void write_all(int *fd, const char *p, size_t n)
{
    while (n && *fd >= 0) {
        ssize_t w = write(*fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            *fd = -1; /* a closed terminal or pipe: stop echoing, keep capturing */
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

static int interrupt_pending(void)
{
    sigset_t pend;
    sigpending(&pend);
    for (size_t i = 0; i < NCAUGHT; i++)
        if (sigismember(&pend, caught[i]))
            return 1;
    return 0;
}

/*
 * Echo a chunk of output without letting a slow reader of flowtrack's own output
 * (`flowtrack run ... | less`) hold the run past a deadline: on a pipe or a terminal,
 * wait for room (POLLOUT) until `until` and write at most PIPE_BUF at a time, which
 * then does not block. At the deadline echoing stops (the log keeps everything); a
 * pending Ctrl-C drops the rest of this chunk's echo so it is handled at once.
 */
static void echo(struct runner *r, int i, const char *p, size_t n, int64_t until)
{
    if (!r->echo_may_block[i]) {
        write_all(&r->echo[i], p, n);
        return;
    }
    while (n && r->echo[i] >= 0) {
        struct pollfd pf = {r->echo[i], POLLOUT, 0};
        int64_t now = ft_mono_ms();
        int64_t left = until == INT64_MAX ? 200 : until - now;
        int pr = poll(&pf, 1, left <= 0 ? 0 : left > 200 ? 200 : (int)left);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0) {
            if (until != INT64_MAX && ft_mono_ms() >= until) {
                r->echo[i] = -1;
                r->echo_stalled = 1;
                return;
            }
            if (interrupt_pending())
                return;
            continue;
        }
        size_t k = n < PIPE_BUF ? n : PIPE_BUF;
        int before = r->echo[i];
        write_all(&r->echo[i], p, k);
        if (r->echo[i] != before)
            return;
        p += k;
        n -= k;
    }
}

static void drain(struct runner *r, int i, int64_t until)
{
    char buf[65536];
    ssize_t n = read(r->pipes[i], buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        close(r->pipes[i]);
        r->pipes[i] = -1;
        return;
    }
    ft_tail_add(&r->tail, buf, (size_t)n);
    echo(r, i, buf, (size_t)n, until);
}

/* One wait for output, signals or the deadline (monotonic ms, INT64_MAX = none). */
static void pump(struct runner *r, int64_t until)
{
    struct pollfd fds[3];
    int nfds = 0, idx[3];
    fds[nfds].fd = r->sfd;
    fds[nfds].events = POLLIN;
    idx[nfds++] = -1;
    for (int i = 0; i < 2; i++)
        if (r->pipes[i] >= 0) {
            fds[nfds].fd = r->pipes[i];
            fds[nfds].events = POLLIN;
            idx[nfds++] = i;
        }
    int64_t now = ft_mono_ms();
    int wait = until == INT64_MAX ? -1
               : until <= now     ? 0
                                  : (int)(until - now > 60000 ? 60000 : until - now);
    int n = poll(fds, (nfds_t)nfds, wait);
    if (n <= 0)
        return;
    for (int k = 1; k < nfds; k++)
        if (fds[k].revents)
            drain(r, idx[k], until);
    if (fds[0].revents & POLLIN) {
        struct signalfd_siginfo si;
        while (read(r->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
            if (si.ssi_signo == SIGCHLD)
                continue; /* reaped below */
            /* The first one interrupts the run; one while it is being ended (a second
             * Ctrl-C, or one during a hang's grace period) means "kill it now". */
            if (!r->interrupt && !r->ending)
                r->interrupt = (int)si.ssi_signo;
            else
                r->escalate = 1;
        }
        reap(r);
    }
}

/*
 * Signal the run: the processes found now, then the group, then each of them
 * (those in another group or session need their own). Every pid found goes to
 * `record`. Returns how many were found.
 */
static size_t signal_members(const struct ft_snap_opts *so, pid_t pgid, int sig, json_t *record)
{
    struct ft_member *m;
    size_t n = ft_proc_members(so, &m);
    kill(-pgid, sig);
    for (size_t i = 0; i < n; i++) {
        ft_proc_signal(&m[i], sig);
        json_array_append_new(record, json_integer(m[i].pid));
    }
    /* A stopped process (SIGSTOP, SIGTSTP) keeps any other signal pending until it is
     * continued: without SIGCONT it would sit out the whole grace period. */
    if (sig != SIGKILL && sig != SIGCONT) {
        kill(-pgid, SIGCONT);
        for (size_t i = 0; i < n; i++)
            ft_proc_signal(&m[i], SIGCONT);
    }
    free(m);
    return n;
}

/* How many processes of the run are alive; their pids go to `record` (may be NULL). */
static size_t count_members(const struct ft_snap_opts *so, json_t *record)
{
    struct ft_member *m;
    size_t n = ft_proc_members(so, &m);
    for (size_t i = 0; record && i < n; i++)
        json_array_append_new(record, json_integer(m[i].pid));
    free(m);
    return n;
}

/*
 * End the run: sig to the group and to every process of the run, the grace
 * period, SIGKILL to what is left, then a last scan. Records it all in `end`.
 * The group is signalled by its id, which the kernel does not hand out again
 * while any member lives; single processes through ft_proc_signal.
 */
static void end_run(struct runner *r, int sig, json_t *end)
{
    struct ft_snap_opts so = {getpid(), r->pid, r->pid, {r->inode[0], r->inode[1]}, NULL, 0};
    char name[32];
    int64_t t0 = ft_mono_ms();

    r->ending = 1;
    json_object_set_new(end, "signal", json_string(ft_signal_name(sig, name, sizeof(name))));
    json_t *sent = json_array();
    signal_members(&so, r->pid, sig, sent);
    json_object_set_new(end, "signalled", sent);

    /* Grace: keep draining the output and reaping until the run is gone. */
    int64_t grace_end = t0 + r->o->grace_ms;
    int gone = 0;
    while (!r->escalate) {
        if (reap(r) && count_members(&so, NULL) == 0) {
            gone = 1;
            break;
        }
        if (ft_mono_ms() >= grace_end)
            break;
        int64_t step = ft_mono_ms() + 50;
        pump(r, step < grace_end ? step : grace_end);
    }
    json_t *killed = json_array();
    /* Several rounds: a process may fork between the scan and the kill. */
    for (int round = 0; !gone && round < 5; round++) {
        if (signal_members(&so, r->pid, SIGKILL, killed) == 0)
            break;
        int64_t until = ft_mono_ms() + KILL_WAIT_MS / 5;
        while (!reap(r) && ft_mono_ms() < until)
            pump(r, ft_mono_ms() + 20 < until ? ft_mono_ms() + 20 : until);
    }
    json_object_set_new(end, "killed", killed);
    reap(r);
    json_t *surv = json_array();
    count_members(&so, surv);
    json_object_set_new(end, "survivors", surv);
    json_object_set_new(end, "ms", json_integer(ft_mono_ms() - t0));
}

static json_t *main_json(const struct runner *r)
{
    json_t *m = json_object();
    json_object_set_new(m, "pid", json_integer(r->pid));
    json_object_set_new(m, "running", json_boolean(r->alive));
    if (!r->alive && WIFEXITED(r->status))
        json_object_set_new(m, "exit_code", json_integer(WEXITSTATUS(r->status)));
    if (!r->alive && WIFSIGNALED(r->status)) {
        char name[32];
        json_object_set_new(m, "signal",
                            json_string(ft_signal_name(WTERMSIG(r->status), name, sizeof(name))));
        json_object_set_new(m, "core_dumped", json_boolean(WCOREDUMP(r->status)));
    }
    return m;
}

/*
 * The diagnosis of a hang, leak or interruption: the snapshot (and stacks)
 * first, then the end of the run, recorded in it. Returns a new object.
 */
static json_t *diagnose_and_end(struct runner *r, int timed_out, int leaked)
{
    char d[32];
    json_t *diag = json_object();
    int outcome = ft_run_classify(r->interrupt, timed_out, leaked, r->status, 0);
    json_object_set_new(diag, "outcome", json_string(ft_outcome_name(outcome)));
    if (timed_out) {
        ft_duration_fmt(r->o->timeout_ms, d, sizeof(d));
        json_object_set_new(diag, "reason", json_sprintf("still running at the timeout (%s)", d));
    } else if (leaked) {
        ft_duration_fmt(r->o->settle_ms, d, sizeof(d));
        json_object_set_new(diag, "reason",
                            json_sprintf("the command exited, and %s later processes of it "
                                         "(or holders of its output) were still there",
                                         d));
    } else {
        char name[32];
        json_object_set_new(diag, "reason",
                            json_sprintf("flowtrack received %s and forwarded it",
                                         ft_signal_name(r->interrupt, name, sizeof(name))));
    }
    json_object_set_new(diag, "main", main_json(r));
    json_object_set_new(diag, "timeout_ms", json_integer(r->o->timeout_ms));
    json_object_set_new(diag, "grace_ms", json_integer(r->o->grace_ms));
    json_object_set_new(diag, "settle_ms", json_integer(r->o->settle_ms));
    json_object_set_new(diag, "output_pipes",
                        json_pack("{s:I, s:I}", "stdout", (json_int_t)r->inode[0], "stderr",
                                  (json_int_t)r->inode[1]));
    if (r->echo_stalled)
        json_object_set_new(diag, "note",
                            json_string("flowtrack's own output was not read fast enough, so "
                                        "it stopped echoing the command's output (the log has "
                                        "it all); a command blocked writing its output may be "
                                        "waiting for that reader"));
    /* The snapshot, before anything is signalled. */
    struct ft_snap_opts so = {getpid(), r->pid, r->pid, {r->inode[0], r->inode[1]}, NULL, 0};
    int64_t s0 = ft_mono_ms();
    json_object_set_new(diag, "processes", ft_proc_snapshot(&so));
    json_object_set_new(diag, "snapshot_ms", json_integer(ft_mono_ms() - s0));
    /* Ctrl-C should act at once: no stacks then. */
    if (r->o->stacks && !r->interrupt)
        ft_diag_stacks(diag, r->o->stacks_budget_ms);
    else
        json_object_set_new(
            diag, "stacks",
            json_pack("{s:s}", "error",
                      r->interrupt ? "not taken (interrupted)" : "not taken (disabled)"));
    int sig = r->interrupt ? r->interrupt : r->o->signal;
    if (r->o->notify) {
        char line[256], name[32], g[32];
        ft_duration_fmt(r->o->grace_ms, g, sizeof(g));
        snprintf(line, sizeof(line), "flowtrack: ending the run (%s): %s now, SIGKILL after %s",
                 ft_outcome_name(outcome), ft_signal_name(sig, name, sizeof(name)), g);
        r->o->notify(r->o->notify_u, line);
    }
    json_t *end = json_object();
    end_run(r, sig, end);
    json_object_set_new(diag, "end", end);
    json_object_set_new(diag, "main_end", main_json(r));
    return diag;
}

int ft_run_exec(const struct ft_run_opts *o, struct ft_run_result *res, struct ft_err *err)
{
    struct runner r;
    memset(&r, 0, sizeof(r));
    memset(res, 0, sizeof(*res));
    r.o = o;
    r.pipes[0] = r.pipes[1] = r.sfd = -1;
    ft_tail_init(&r.tail, o->log_max);
    res->exit_code = -1;
    res->started_at = ft_now_ms();
    int64_t t0 = ft_mono_ms();

    int rc = runner_setup(&r, err);
    if (rc < 0) {
        runner_release(&r);
        return rc;
    }
    if (rc > 0) {
        /* Could not execute: say so the way a shell does, as output of the run. */
        char msg[512];
        int len = snprintf(msg, sizeof(msg), "flowtrack: %s: %s\n", o->argv[0], strerror(rc));
        int efd = o->err_fd;
        write_all(&efd, msg, (size_t)len);
        ft_tail_add(&r.tail, msg, (size_t)len);
        res->exec_errno = rc;
        res->exit_code = rc == ENOENT ? 127 : 126;
        res->outcome = ft_run_classify(0, 0, 0, 0, rc);
        res->log = ft_tail_text(&r.tail, &res->log_truncated);
        res->duration_ms = ft_mono_ms() - t0;
        runner_release(&r);
        return 0;
    }

    int64_t deadline = o->timeout_ms > 0 ? t0 + o->timeout_ms : INT64_MAX;
    int64_t settle_end = INT64_MAX;
    int timed_out = 0, leaked = 0;
    for (;;) {
        int64_t now = ft_mono_ms();
        if (r.interrupt)
            break;
        if (r.alive && now >= deadline) {
            timed_out = 1;
            break;
        }
        if (!r.alive) {
            if (settle_end == INT64_MAX)
                settle_end = now + o->settle_ms < deadline ? now + o->settle_ms : deadline;
            if (r.pipes[0] < 0 && r.pipes[1] < 0 && reap(&r))
                break; /* nothing left: the common, fast end */
            if (now >= settle_end) {
                /* Take what is already there (last output, EOF, SIGCHLD) before calling it a
                 * leak: with a short settle time the EOF may simply not be read yet. */
                for (int k = 0; k < 64 && (r.pipes[0] >= 0 || r.pipes[1] >= 0); k++)
                    pump(&r, now);
                if (r.pipes[0] < 0 && r.pipes[1] < 0 && reap(&r))
                    break;
                leaked = 1;
                break;
            }
        }
        pump(&r, r.alive ? deadline : settle_end);
    }

    json_t *diag = NULL;
    if (timed_out || leaked || r.interrupt)
        diag = diagnose_and_end(&r, timed_out, leaked);
    /* Whatever is left in the pipes after the end (a writer that was just killed), for at most
     * a second: a holder out of reach (another user's process) must not keep the run going. */
    int64_t drain_end = ft_mono_ms() + 1000;
    while ((r.pipes[0] >= 0 || r.pipes[1] >= 0) && ft_mono_ms() < drain_end) {
        int64_t until = ft_mono_ms() + 100;
        int before = (r.pipes[0] >= 0) + (r.pipes[1] >= 0);
        pump(&r, until < drain_end ? until : drain_end);
        if ((r.pipes[0] >= 0) + (r.pipes[1] >= 0) == before && ft_mono_ms() >= until)
            break; /* no EOF in 100 ms: a holder outside our reach keeps it open */
    }

    res->interrupt = r.interrupt;
    if (!r.alive) {
        if (WIFEXITED(r.status))
            res->exit_code = WEXITSTATUS(r.status);
        if (WIFSIGNALED(r.status))
            res->signal = WTERMSIG(r.status);
    }
    /* A main process that died of our own signal during the end is not a crash. */
    int status = r.alive ? 0 : r.status;
    res->outcome = ft_run_classify(r.interrupt, timed_out, leaked, status, 0);
    if (res->outcome == FT_OUT_HANG || res->outcome == FT_OUT_INTERRUPTED) {
        /* The exit code of a process we stopped says nothing about the command. */
        if (res->signal)
            res->exit_code = -1;
    }
    if (res->outcome == FT_OUT_CRASH) {
        char name[32];
        diag = json_object();
        json_object_set_new(diag, "outcome", json_string("crash"));
        json_object_set_new(diag, "reason",
                            json_sprintf("the command was killed by %s%s",
                                         ft_signal_name(res->signal, name, sizeof(name)),
                                         WCOREDUMP(r.status) ? " (core dumped)" : ""));
        json_object_set_new(diag, "main", main_json(&r));
        json_object_set_new(diag, "processes", json_array());
    }
    if (diag)
        ft_diag_analyse(diag);
    res->diag = diag;
    res->log = ft_tail_text(&r.tail, &res->log_truncated);
    res->duration_ms = ft_mono_ms() - t0;
    runner_release(&r);
    return 0;
}

void ft_run_result_release(struct ft_run_result *res)
{
    if (!res)
        return;
    free(res->log);
    res->log = NULL;
    json_decref(res->diag);
    res->diag = NULL;
}
