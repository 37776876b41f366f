/*
 * Diagnosis (see diag.h): native stacks, the likely culprit, the human text.
 *
 * The culprit is chosen by a score per process, highest first:
 *   leak: a process holding the write end of the command's output (it is why
 *         the output never reached EOF), then any process left, deeper first;
 *   hang: a cycle of threads each waiting for a mutex the next one owns, then
 *         a thread blocked on a socket, then one blocked on any descriptor,
 *         then any other leaf; a process waiting for its children (wait4,
 *         waitid) is never preferred, since one of those children is the cause.
 * These are heuristics: the whole snapshot is printed after the culprit.
 */
#include "diag.h"

#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"
#include "node.h"
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../util/banned.h"

extern char **environ;

#define STACK_PROCS_MAX  16
#define STACK_FRAMES_MAX 32
#define STACK_OUT_MAX    (1024 * 1024)
#define TEXT_FDS_MAX     24
#define TEXT_FRAMES_MAX  10
#define TEXT_PROCS_MAX   12

/* ---- native stacks ------------------------------------------------------------------- */

/* Full path of an executable found in PATH, or 0. */
static int find_in_path(const char *name, char *out, size_t n)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t len = strcspn(path, ":");
        snprintf(out, n, "%.*s/%s", (int)len, path, name);
        if (len && access(out, X_OK) == 0)
            return 1;
        path += len;
        if (*path == ':')
            path++;
    }
    return 0;
}

/*
 * Run argv with stdout and stderr into *out until it exits or `until`
 * (monotonic ms); killed at the deadline. Returns its wait status, or -1 when
 * it could not start or had to be killed.
 */
static int run_capture(char *const *argv, int64_t until, struct ft_buf *out)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, p[1], STDERR_FILENO);
    sigset_t none, def;
    sigemptyset(&none);
    sigfillset(&def);
    sigdelset(&def, SIGKILL);
    sigdelset(&def, SIGSTOP);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &def);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(p[1]);
    if (rc != 0) {
        close(p[0]);
        return -1;
    }
    int killed = 0;
    for (;;) {
        int64_t now = ft_mono_ms();
        if (now >= until) {
            kill(pid, SIGKILL);
            killed = 1;
            break;
        }
        struct pollfd pf = {p[0], POLLIN, 0};
        int n = poll(&pf, 1, (int)(until - now));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            continue;
        char buf[8192];
        ssize_t r = read(p[0], buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (out->len + (size_t)r <= STACK_OUT_MAX)
            ft_buf_add(out, buf, (size_t)r);
    }
    close(p[0]);
    int st = 0;
    /* After EOF (or SIGKILL) the tool ends at once; do not wait for it forever anyway. */
    int64_t reap_until = ft_mono_ms() + 500;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (ft_mono_ms() >= reap_until) {
            kill(pid, SIGKILL);
            killed = 1;
            if (ft_mono_ms() >= reap_until + 500)
                return -1; /* left for the runner's reaping */
        }
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return killed ? -1 : st;
}

json_t *ft_diag_parse_stacks(const char *text)
{
    json_t *m = json_object();
    char tid[32] = "?";
    const char *line = text;
    while (*line) {
        size_t len = strcspn(line, "\n");
        char buf[512];
        size_t n = len < sizeof(buf) - 1 ? len : sizeof(buf) - 1;
        memcpy(buf, line, n);
        buf[n] = '\0';
        line += len + (line[len] == '\n');
        int v;
        const char *lwp;
        if (sscanf(buf, "TID %d:", &v) == 1) {
            snprintf(tid, sizeof(tid), "%d", v); /* eu-stack */
            continue;
        }
        if (strncmp(buf, "Thread ", 7) == 0 && (lwp = strstr(buf, "(LWP ")) &&
            sscanf(lwp, "(LWP %d)", &v) == 1) {
            snprintf(tid, sizeof(tid), "%d", v); /* gdb */
            continue;
        }
        if (buf[0] != '#')
            continue;
        /* "#3  0x00007f... func" (eu-stack) or "#3  0x00007f... in func (...) at f.c:9" (gdb) */
        char *p = buf + 1;
        while (*p >= '0' && *p <= '9')
            p++;
        while (*p == ' ')
            p++;
        if (p[0] == '0' && p[1] == 'x') {
            char *addr = p;
            p += strspn(p + 2, "0123456789abcdefABCDEF") + 2;
            if (*p == '\0') {
                p = addr; /* no symbol: keep the address */
            } else {
                *p++ = '\0';
                while (*p == ' ')
                    p++;
                if (strncmp(p, "in ", 3) == 0)
                    p += 3;
                if (*p == '\0')
                    p = addr;
            }
        }
        json_t *a = json_object_get(m, tid);
        if (!a) {
            a = json_array();
            json_object_set_new(m, tid, a);
        }
        if (json_array_size(a) < STACK_FRAMES_MAX) {
            struct ft_buf b;
            ft_buf_init(&b, 0);
            ft_utf8_sanitize(p, strlen(p), &b);
            json_array_append_new(a, json_string(b.buf));
            ft_buf_release(&b);
        }
    }
    return m;
}

void ft_diag_stacks(json_t *diag, int64_t budget_ms)
{
    char tool[PATH_MAX];
    const char *name;
    int gdb = 0;
    json_t *info = json_object();
    json_object_set_new(diag, "stacks", info);
    if (find_in_path("eu-stack", tool, sizeof(tool))) {
        name = "eu-stack";
    } else if (find_in_path("gdb", tool, sizeof(tool))) {
        name = "gdb";
        gdb = 1;
    } else {
        json_object_set_new(
            info, "error",
            json_string("no eu-stack (elfutils) or gdb installed: no native stacks"));
        return;
    }
    json_object_set_new(info, "tool", json_string(name));
    int64_t t0 = ft_mono_ms(), until = t0 + budget_ms;
    size_t i, done = 0;
    json_t *p;
    json_t *errors = json_array();
    json_array_foreach(json_object_get(diag, "processes"), i, p)
    {
        const char *state = json_string_value(json_object_get(p, "state"));
        if (state && (*state == 'Z' || *state == 'X'))
            continue;
        if (done >= STACK_PROCS_MAX || ft_mono_ms() >= until) {
            json_array_append_new(errors, json_string("time or process budget used up: later "
                                                      "processes have no stacks"));
            break;
        }
        char pid[32];
        snprintf(pid, sizeof(pid), "%d", (int)json_integer_value(json_object_get(p, "pid")));
        char a_p[] = "-p", a_nx[] = "-nx", a_batch[] = "-batch", a_ex[] = "-ex";
        char a_bt[] = "thread apply all bt";
        char *const eu_argv[] = {tool, a_p, pid, NULL};
        char *const gdb_argv[] = {tool, a_nx, a_batch, a_p, pid, a_ex, a_bt, NULL};
        struct ft_buf out;
        ft_buf_init(&out, 0);
        int st = run_capture(gdb ? gdb_argv : eu_argv, until, &out);
        done++;
        json_t *m = ft_diag_parse_stacks(out.buf);
        if (json_object_size(m) == 0) {
            char msg[300];
            if (strstr(out.buf, "Operation not permitted") || strstr(out.buf, "EPERM"))
                snprintf(msg, sizeof(msg),
                         "pid %s: ptrace refused (needs the same user and "
                         "kernel.yama.ptrace_scope 0, or CAP_SYS_PTRACE)",
                         pid);
            else if (st < 0)
                snprintf(msg, sizeof(msg), "pid %s: %s did not finish in time", pid, name);
            else
                snprintf(msg, sizeof(msg), "pid %s: %s gave no stack: %.200s", pid, name, out.buf);
            json_array_append_new(errors, json_string(msg));
        }
        size_t k;
        json_t *th;
        json_array_foreach(json_object_get(p, "threads"), k, th)
        {
            char tid[32];
            snprintf(tid, sizeof(tid), "%d", (int)json_integer_value(json_object_get(th, "tid")));
            json_t *frames = json_object_get(m, tid);
            if (frames)
                json_object_set(th, "stack", frames);
        }
        json_decref(m);
        ft_buf_release(&out);
    }
    ft_node_stacks(diag); /* JavaScript frames, when a Node.js process wrote a perf map */
    json_object_set_new(info, "ms", json_integer(ft_mono_ms() - t0));
    json_object_set_new(info, "processes", json_integer((json_int_t)done));
    if (json_array_size(errors))
        json_object_set_new(info, "error",
                            json_string(json_string_value(json_array_get(errors, 0))));
    json_object_set_new(info, "errors", errors);
}

/* ---- the culprit --------------------------------------------------------------------- */

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static int jint(const json_t *o, const char *key)
{
    return (int)json_integer_value(json_object_get(o, key));
}

static int waits_for_children(const json_t *th)
{
    const char *sc = jstr(th, "syscall");
    return strcmp(sc, "wait4") == 0 || strcmp(sc, "waitid") == 0;
}

static const json_t *thread_by_tid(const json_t *p, int tid)
{
    size_t i;
    json_t *th;
    json_array_foreach(json_object_get(p, "threads"), i, th) if (jint(th, "tid") == tid) return th;
    return NULL;
}

/* A cycle of mutex waits starting at thread th, described into why. 1 when found. */
static int mutex_cycle(const json_t *p, const json_t *th, struct ft_buf *why)
{
    const json_t *cur = th;
    int start = jint(th, "tid");
    for (int steps = 0; steps < 16 && cur; steps++) {
        int owner = jint(cur, "mutex_owner");
        if (!owner)
            return 0;
        if (owner == start) {
            /* Found: describe it from the start. */
            ft_buf_adds(why, "deadlock: ");
            cur = th;
            for (int k = 0; k <= steps; k++) {
                int o = jint(cur, "mutex_owner");
                const json_t *next = thread_by_tid(p, o);
                ft_buf_addf(why, "%sthread %d (%s) waits for mutex %s held by thread %d (%s)",
                            k ? "; " : "", jint(cur, "tid"), jstr(cur, "name"), jstr(cur, "futex"),
                            o, next ? jstr(next, "name") : "?");
                cur = next;
            }
            return 1;
        }
        cur = thread_by_tid(p, owner);
    }
    return 0;
}

static int is_socket_desc(const char *d)
{
    return strncmp(d, "connect to ", 11) == 0 || strncmp(d, "tcp", 3) == 0 ||
           strncmp(d, "udp", 3) == 0 || strncmp(d, "unix", 4) == 0;
}

/* "thread T (name) blocked in SYSCALL on fd N: what" (no fd for poll: its list says). */
static void blocked_in(struct ft_buf *b, const json_t *th, const char *sc, const char *on)
{
    ft_buf_addf(b, "thread %d (%s) blocked in %s", jint(th, "tid"), jstr(th, "name"), sc);
    if (json_object_get(th, "fd"))
        ft_buf_addf(b, " on fd %d", jint(th, "fd"));
    ft_buf_addf(b, ": %s", on);
}

/*
 * The closed list of causes a process or thread is given (docs/runner.md, "cause"): what it
 * is doing, as a word a program can act on, with the evidence beside it.
 */
static void set_cause(json_t *o, const char *cause, const char *evidence)
{
    json_object_set_new(o, "cause", json_string(cause));
    json_object_set_new(o, "evidence", json_string(evidence));
}

/* A thread's cause from what it waits in (see the scoring below for the same tests). */
static const char *thread_cause(const json_t *th)
{
    const char *sc = jstr(th, "syscall"), *st = jstr(th, "state");
    if (*st == 'R')
        return "spinning";
    if (*st == 'D')
        return "uninterruptible_io";
    if (strcmp(sc, "nanosleep") == 0 || strcmp(sc, "clock_nanosleep") == 0 ||
        strcmp(sc, "pause") == 0 || strcmp(sc, "rt_sigsuspend") == 0 ||
        strcmp(sc, "rt_sigtimedwait") == 0)
        return "sleeping";
    return "waiting";
}

/* Score a process as the culprit and say why; sets the cause of it and of its threads. */
static int score(json_t *p, const char *outcome, struct ft_buf *why)
{
    int best = 0;
    const char *pcause = NULL;
    struct ft_buf tmp;
    ft_buf_init(&tmp, 0);
    const char *state = jstr(p, "state");
    int depth = jint(p, "depth") > 0 ? jint(p, "depth") : 1;
    if (*state == 'Z') {
        ft_buf_reset(why);
        ft_buf_adds(why, "a zombie its parent has not reaped");
        set_cause(p, "zombie", why->buf);
        ft_buf_release(&tmp);
        return 1;
    }
    if (*state == 'T' || *state == 't') { /* nothing it could wait on matters while stopped */
        ft_buf_reset(why);
        if (jint(p, "tracer") > 0)
            ft_buf_addf(why,
                        "is stopped by its tracer (pid %d): it runs again when the tracer "
                        "lets it go",
                        jint(p, "tracer"));
        else
            ft_buf_adds(why, "is stopped by a signal (SIGSTOP or SIGTSTP): it does nothing until "
                             "it gets SIGCONT");
        set_cause(p, jint(p, "tracer") > 0 ? "traced" : "stopped", why->buf);
        ft_buf_release(&tmp);
        return 950 + depth;
    }
    if (strcmp(outcome, "leak") == 0) {
        json_t *holds = json_object_get(p, "holds_output");
        if (json_array_size(holds)) {
            size_t i;
            json_t *f;
            ft_buf_adds(why, "keeps the command's output open after it exited:");
            json_array_foreach(json_object_get(p, "fds"), i, f)
            {
                if (*jstr(f, "output") && strcmp(jstr(f, "end"), "read") != 0)
                    ft_buf_addf(why, " fd %d = %s (%s)", jint(f, "fd"), jstr(f, "output"),
                                jstr(f, "target"));
            }
            best = 1000 + depth;
            pcause = "holding_output";
        } else {
            ft_buf_addf(why, "still running after the command exited (parent %d, session %d%s)",
                        jint(p, "ppid"), jint(p, "sid"),
                        json_is_true(json_object_get(p, "in_session"))
                            ? ""
                            : ", its own: it called setsid, daemonized");
            best = 500 + depth;
            pcause = "left_running";
        }
    }
    size_t i;
    json_t *th;
    int tscore = 0;
    json_array_foreach(json_object_get(p, "threads"), i, th)
    {
        int s;
        const char *cause;
        ft_buf_reset(&tmp);
        const char *sc = jstr(th, "syscall");
        const char *on = jstr(th, "waits_on");
        if (mutex_cycle(p, th, &tmp)) {
            s = 900;
            cause = "deadlock";
        } else if (json_object_get(th, "lock_holder")) {
            blocked_in(&tmp, th, sc, on);
            s = 650;
            cause = "blocked_on_lock";
        } else if ((cause = ft_node_thread_cause(p, th, &tmp, &s))) {
            /* a Node.js loop: what keeps it alive, or Node's own idle thread */
        } else if (*jstr(th, "path")) {
            ft_buf_addf(&tmp, "thread %d (%s) blocked in %s of %s%s%s", jint(th, "tid"),
                        jstr(th, "name"), sc, jstr(th, "path"), *on ? ": " : "", on);
            s = *on ? 700 : 400;
            cause = *on ? "waiting_for_peer" : "waiting_for_file";
        } else if (*on && is_socket_desc(on)) {
            blocked_in(&tmp, th, sc, on);
            s = 800;
            cause = "waiting_for_peer";
        } else if (*on) {
            blocked_in(&tmp, th, sc, on);
            s = 600;
            cause = "waiting_for_peer";
        } else if (jint(th, "mutex_owner")) {
            ft_buf_addf(&tmp, "thread %d (%s) waits for mutex %s held by thread %d",
                        jint(th, "tid"), jstr(th, "name"), jstr(th, "futex"),
                        jint(th, "mutex_owner"));
            s = 550;
            cause = "blocked_on_lock";
        } else if (waits_for_children(th)) {
            ft_buf_addf(&tmp, "waits for its children (%s)", sc);
            s = 10;
            cause = "waiting_for_child";
        } else if (strcmp(jstr(th, "state"), "R") == 0) {
            ft_buf_addf(&tmp, "thread %d (%s) is running on a CPU (busy loop?)", jint(th, "tid"),
                        jstr(th, "name"));
            s = 300;
            cause = "spinning";
        } else {
            cause = thread_cause(th);
            ft_buf_addf(&tmp, "thread %d (%s) state %s%s%s%s%s", jint(th, "tid"), jstr(th, "name"),
                        jstr(th, "state"), *sc ? " in " : "", sc,
                        *jstr(th, "wchan") ? ", wchan " : "", jstr(th, "wchan"));
            s = 200;
        }
        set_cause(th, cause, tmp.buf);
        if (s > tscore) {
            tscore = s;
            if (!pcause || best < 500)
                json_object_set_new(p, "cause", json_string(cause));
            if (best < 500) { /* not leak-ranked: the thread is the reason */
                ft_buf_reset(why);
                ft_buf_add(why, tmp.buf, tmp.len);
            } else if (s >= 200) {
                /* leak-ranked: say what it is doing too (once, the best thread) */
                size_t cut = strcspn(why->buf, "|");
                why->len = cut;
                why->buf[cut] = '\0';
                ft_buf_addf(why, "|; %s", tmp.buf);
            }
        }
    }
    ft_buf_release(&tmp);
    /* The '|' above marks where the thread detail starts; drop the marker. */
    char *bar = strchr(why->buf, '|');
    if (bar)
        memmove(bar, bar + 1, strlen(bar));
    if (bar)
        why->len--;
    if (pcause)
        json_object_set_new(p, "cause", json_string(pcause));
    else if (!json_object_get(p, "cause"))
        json_object_set_new(p, "cause", json_string("unknown"));
    json_object_set_new(p, "evidence", json_string(why->buf));
    return best ? best : tscore + depth;
}

static const json_t *proc_by_pid(const json_t *procs, int pid)
{
    size_t i;
    json_t *p;
    json_array_foreach(procs, i, p) if (jint(p, "pid") == pid) return p;
    return NULL;
}

/* pid is an ancestor of p in the snapshot. */
static int is_ancestor(const json_t *procs, const json_t *p, int pid)
{
    for (int steps = 0; p && steps < 64; steps++) {
        if (jint(p, "ppid") == pid)
            return 1;
        p = proc_by_pid(procs, jint(p, "ppid"));
    }
    return 0;
}

/*
 * The other side of what thread th of process p waits on: the holder of the file lock, the
 * processes holding the other end of the pipe, the socket's peer. Up to max pids into out.
 */
static size_t other_side(const json_t *p, const json_t *th, int *out, size_t max)
{
    size_t n = 0;
    const json_t *lh = json_object_get(th, "lock_holder");
    if (lh && jint(lh, "pid") > 0) {
        out[n++] = jint(lh, "pid");
        return n;
    }
    if (!json_object_get(th, "fd"))
        return 0;
    size_t i, k;
    json_t *f, *o;
    json_array_foreach(json_object_get(p, "fds"), i, f)
    {
        if (jint(f, "fd") != jint(th, "fd"))
            continue;
        if (strcmp(jstr(f, "type"), "pipe") == 0) {
            const char *end = jstr(f, "end");
            json_array_foreach(json_object_get(f, "others"), k, o)
            {
                if (n < max && jint(o, "pid") != jint(p, "pid") && strcmp(jstr(o, "end"), end) != 0)
                    out[n++] = jint(o, "pid");
            }
        } else if (json_object_get(f, "peer") && n < max) {
            out[n++] = jint(json_object_get(f, "peer"), "pid");
        }
        break;
    }
    return n;
}

/*
 * A wait across processes that cannot end: the culprit thread waits on a pipe, a socket or a
 * file lock whose every other side is an ancestor waiting for its children (wait4, waitid)
 * instead of acting, so each waits for the other. The classic: a parent that reads a child's
 * output only after waiting for it, while the child blocks writing to the full pipe.
 * Appends the explanation to why and returns 1 when found.
 */
static int wait_cycle(const json_t *procs, const json_t *p, const json_t *th, struct ft_buf *why)
{
    int pids[8];
    size_t n = other_side(p, th, pids, 8);
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *q = proc_by_pid(procs, pids[i]);
        const json_t *qt = q ? json_array_get(json_object_get(q, "threads"), 0) : NULL;
        if (!qt || !waits_for_children(qt) || !is_ancestor(procs, p, pids[i]))
            return 0;
    }
    const json_t *q = proc_by_pid(procs, pids[0]);
    ft_buf_addf(why,
                "; the other side, pid %d (%s)%s, is waiting for its children (%s) instead: each "
                "waits for the other",
                pids[0], jstr(q, "comm"), n > 1 ? " and others" : "",
                jstr(json_array_get(json_object_get(q, "threads"), 0), "syscall"));
    return 1;
}

void ft_diag_analyse(json_t *diag)
{
    const char *outcome = jstr(diag, "outcome");
    json_t *procs = json_object_get(diag, "processes");
    size_t i;
    json_t *p, *best = NULL;
    int top = -1;
    struct ft_buf why, bwhy;
    ft_buf_init(&why, 0);
    ft_buf_init(&bwhy, 0);
    json_array_foreach(procs, i, p)
    {
        /* In a leak, the main process is gone; if it is listed it is a zombie. */
        ft_buf_reset(&why);
        int s = score(p, outcome, &why);
        if (s > top) {
            top = s;
            best = p;
            ft_buf_reset(&bwhy);
            ft_buf_add(&bwhy, why.buf, why.len);
        }
    }
    if (best && strcmp(outcome, "leak") != 0) {
        size_t k;
        json_t *th;
        json_array_foreach(json_object_get(best, "threads"), k, th)
        {
            if (strcmp(jstr(th, "evidence"), bwhy.buf) != 0)
                continue;
            if (wait_cycle(procs, best, th, &bwhy)) {
                set_cause(th, "wait_cycle", bwhy.buf);
                set_cause(best, "wait_cycle", bwhy.buf);
            }
            break;
        }
    }
    struct ft_buf sum;
    ft_buf_init(&sum, 4096);
    if (best) {
        json_object_set_new(diag, "culprit",
                            json_pack("{s:i, s:s, s:s, s:s, s:s}", "pid", jint(best, "pid"), "comm",
                                      jstr(best, "comm"), "cmdline", jstr(best, "cmdline"), "why",
                                      bwhy.buf, "cause", jstr(best, "cause")));
        ft_buf_addf(&sum, "pid %d (%s) %s", jint(best, "pid"), jstr(best, "comm"), bwhy.buf);
        size_t n = json_array_size(procs);
        if (n > 1)
            ft_buf_addf(&sum, " [%zu processes left]", n);
    } else {
        ft_buf_addf(&sum, "%s", jstr(diag, "reason"));
    }
    if (sum.len == 0) /* over the cap: keep a prefix */
        ft_buf_addf(&sum, "%.200s", bwhy.buf);
    json_object_set_new(diag, "summary", json_string(sum.buf));
    ft_buf_release(&sum);
    ft_buf_release(&why);
    ft_buf_release(&bwhy);
}

/* ---- the human text ------------------------------------------------------------------ */

static void pid_list(struct ft_buf *out, const json_t *a)
{
    size_t i;
    json_t *v;
    if (!json_array_size(a)) {
        ft_buf_adds(out, "none");
        return;
    }
    json_array_foreach(a, i, v) ft_buf_addf(out, "%s%d", i ? " " : "", (int)json_integer_value(v));
}

static void render_main(struct ft_buf *out, const json_t *m)
{
    if (!m)
        return;
    ft_buf_addf(out, "  main process: pid %d ", jint(m, "pid"));
    if (json_is_true(json_object_get(m, "running")))
        ft_buf_adds(out, "still running\n");
    else if (json_object_get(m, "exit_code"))
        ft_buf_addf(out, "exited %d\n", jint(m, "exit_code"));
    else
        ft_buf_addf(out, "killed by %s%s\n", jstr(m, "signal"),
                    json_is_true(json_object_get(m, "core_dumped")) ? " (core dumped)" : "");
}

static void render_proc(struct ft_buf *out, const json_t *p)
{
    ft_buf_addf(out, "  pid %d ppid %d pgid %d sid %d state %s%s%s: %s\n", jint(p, "pid"),
                jint(p, "ppid"), jint(p, "pgid"), jint(p, "sid"), jstr(p, "state"),
                json_is_true(json_object_get(p, "main")) ? " [main]" : "",
                json_is_false(json_object_get(p, "in_session")) ? " [other session]" : "",
                *jstr(p, "cmdline") ? jstr(p, "cmdline") : jstr(p, "comm"));
    ft_node_render(p, out);
    size_t k;
    json_t *th;
    json_array_foreach(json_object_get(p, "threads"), k, th)
    {
        ft_buf_addf(out, "    thread %d (%s) state %s", jint(th, "tid"), jstr(th, "name"),
                    jstr(th, "state"));
        if (*jstr(th, "syscall")) {
            ft_buf_addf(out, " in %s", jstr(th, "syscall"));
            if (json_object_get(th, "fd"))
                ft_buf_addf(out, "(fd %d)", jint(th, "fd"));
            if (*jstr(th, "futex"))
                ft_buf_addf(out, "(%s)", jstr(th, "futex"));
            if (*jstr(th, "path"))
                ft_buf_addf(out, "(%s)", jstr(th, "path"));
            if (*jstr(th, "connect_to"))
                ft_buf_addf(out, " to %s", jstr(th, "connect_to"));
        }
        if (*jstr(th, "wchan"))
            ft_buf_addf(out, " wchan %s", jstr(th, "wchan"));
        if (jint(th, "mutex_owner"))
            ft_buf_addf(out, " mutex held by thread %d", jint(th, "mutex_owner"));
        ft_buf_adds(out, "\n");
        size_t f;
        json_t *fr;
        json_array_foreach(json_object_get(th, "stack"), f, fr)
        {
            if (f >= TEXT_FRAMES_MAX) {
                ft_buf_addf(out, "      ... %zu more frames\n",
                            json_array_size(json_object_get(th, "stack")) - f);
                break;
            }
            ft_buf_addf(out, "      #%zu %s\n", f, json_string_value(fr));
        }
    }
    if (*jstr(p, "fds_error"))
        ft_buf_addf(out, "    descriptors: %s\n", jstr(p, "fds_error"));
    json_t *fd;
    json_array_foreach(json_object_get(p, "fds"), k, fd)
    {
        if (k >= TEXT_FDS_MAX) {
            ft_buf_addf(out, "    ... %zu more descriptors (see --json)\n",
                        json_array_size(json_object_get(p, "fds")) - k);
            break;
        }
        ft_buf_addf(out, "    fd %d: %s\n", jint(fd, "fd"), jstr(fd, "desc"));
    }
}

void ft_diag_render(const json_t *diag, struct ft_buf *out)
{
    const json_t *c = json_object_get(diag, "culprit");
    const json_t *procs = json_object_get(diag, "processes");
    ft_buf_addf(out, "flowtrack: %s: %s\n", jstr(diag, "outcome"), jstr(diag, "reason"));
    render_main(out, json_object_get(diag, "main"));
    if (c)
        ft_buf_addf(out, "  likely culprit: pid %d (%s): %s\n", jint(c, "pid"), jstr(c, "comm"),
                    jstr(c, "why"));
    if (*jstr(diag, "note"))
        ft_buf_addf(out, "  note: %s\n", jstr(diag, "note"));
    if (json_object_get(diag, "snapshot_ms"))
        ft_buf_addf(out, "  %zu process%s left (snapshot before any signal, %d ms):\n",
                    json_array_size(procs), json_array_size(procs) == 1 ? "" : "es",
                    jint(diag, "snapshot_ms"));
    /* Every process up to TEXT_PROCS_MAX, then only the culprit (the JSON has all). */
    size_t i, shown = 0;
    json_t *p;
    json_array_foreach(procs, i, p)
    {
        if (shown < TEXT_PROCS_MAX || (c && jint(p, "pid") == jint(c, "pid"))) {
            render_proc(out, p);
            shown++;
        }
    }
    if (shown < json_array_size(procs))
        ft_buf_addf(out,
                    "  ... %zu more processes (see --json or 'flowtrack runs show N --json')\n",
                    json_array_size(procs) - shown);
    const json_t *st = json_object_get(diag, "stacks");
    if (st && *jstr(st, "tool"))
        ft_buf_addf(out, "  stacks: %s, %d ms%s%s\n", jstr(st, "tool"), jint(st, "ms"),
                    *jstr(st, "error") ? "; " : "", jstr(st, "error"));
    else if (st && *jstr(st, "error"))
        ft_buf_addf(out, "  stacks: %s\n", jstr(st, "error"));
    const json_t *e = json_object_get(diag, "end");
    if (e) {
        if (json_object_get(diag, "main"))
            ft_buf_addf(out, "  ended: %s to group %d and pids ", jstr(e, "signal"),
                        jint(json_object_get(diag, "main"), "pid"));
        else
            ft_buf_addf(out, "  ended: %s and SIGCONT to pids ", jstr(e, "signal"));
        pid_list(out, json_object_get(e, "signalled"));
        ft_buf_adds(out, "; SIGKILL to ");
        pid_list(out, json_object_get(e, "killed"));
        ft_buf_adds(out, "; survivors: ");
        pid_list(out, json_object_get(e, "survivors"));
        ft_buf_addf(out, " (%d ms)\n", jint(e, "ms"));
    }
}
