/*
 * job.c: the run tool. A run is a child `flowtrack run --json` on the same
 * store (the runner must own its process: it becomes a subreaper, blocks
 * signals and reaps every child, see src/run/run.h), so the session's loop
 * stays free to answer other requests, send progress and take a cancel.
 *
 * A job is owned by the loop's struct ft_mcp_runs, not by the session that
 * started it: the session may end (or cancel the call) while the runner is
 * still ending the command (SIGTERM, its grace period, SIGKILL); the job then
 * answers nobody but is still reaped. One function frees a job: job_free().
 *
 * The child's exit is seen through a pidfd; its stdout (the run's JSON) and
 * stderr (the command's output and the diagnosis: only the tail is kept for
 * errors) are read as they come. The answer goes out once the child has
 * exited and both pipes are at their end.
 */
#include "internal.h"

#include "../run/diag.h"
#include "../util/ft_buf.h"
#include "../util/ft_err.h"
#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../util/banned.h"

extern char **environ;

#define OUT_MAX       (8u << 20) /* the run's JSON (its log is at most 256 KiB) */
#define ERR_KEEP      4096       /* the stderr tail kept for an error message */
#define LOG_SHOWN     4096       /* bytes of the run's log in the answer */
#define PROGRESS_MS   1000
#define EXIT_RUN_FAIL 125 /* `flowtrack run` could not run or record */

struct mcp_job {
    struct mcp_job *next;
    struct ft_mcp_runs *runs;
    struct ft_mcp *m; /* the session to answer; NULL once detached or cancelled */
    json_t *id, *progress;
    void *req;
    pid_t pid;
    int pidfd, out_fd, err_fd;
    int exited, status;
    struct ft_buf out;
    char err_tail[ERR_KEEP];
    size_t err_len;
    struct event *ev_pid, *ev_out, *ev_err, *ev_tick;
    int64_t started, timeout_ms;
    int progress_n;
};

struct ft_mcp_runs {
    struct event_base *base;
    struct mcp_job *jobs;
    int count;
};

struct ft_mcp_runs *ft_mcp_runs_new(struct event_base *base)
{
    struct ft_mcp_runs *r = ft_xcalloc(1, sizeof(*r));
    r->base = base;
    return r;
}

int ft_mcp_runs_count(const struct ft_mcp_runs *r)
{
    return r ? r->count : 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* The one place a job ends: unlinked, its events, descriptors and memory freed. */
static void job_free(struct mcp_job *j)
{
    struct mcp_job **p = &j->runs->jobs;
    while (*p && *p != j)
        p = &(*p)->next;
    if (*p)
        *p = j->next;
    j->runs->count--;
    if (j->ev_pid)
        event_free(j->ev_pid);
    if (j->ev_out)
        event_free(j->ev_out);
    if (j->ev_err)
        event_free(j->ev_err);
    if (j->ev_tick)
        event_free(j->ev_tick);
    close_fd(&j->pidfd);
    close_fd(&j->out_fd);
    close_fd(&j->err_fd);
    json_decref(j->id);
    json_decref(j->progress);
    ft_buf_release(&j->out);
    free(j);
}

/* Interrupt the runner (it records the run as interrupted) and answer nobody. */
static void job_detach(struct mcp_job *j)
{
    j->m = NULL;
    if (!j->exited)
        kill(j->pid, SIGTERM);
}

static void send_to_session(struct mcp_job *j, json_t *msg)
{
    j->m->host.send(j->m->host.u, msg, j->req);
}

/* The tool's result from the runner's JSON (or its failure). */
static json_t *job_result(struct mcp_job *j)
{
    json_t *run = j->out.len ? json_loadb(j->out.buf, j->out.len, 0, NULL) : NULL;
    char tail[ERR_KEEP + 1];
    memcpy(tail, j->err_tail, j->err_len);
    tail[j->err_len] = '\0';
    if (!json_is_object(run)) {
        json_decref(run);
        /* the runner's own last words: its last line on stderr */
        char *last = tail + j->err_len;
        while (last > tail && last[-1] == '\n')
            *--last = '\0';
        while (last > tail && last[-1] != '\n')
            last--;
        char text[ERR_KEEP + 64];
        snprintf(text, sizeof(text), "error: the run failed: %s",
                 *last ? last : "flowtrack run gave no result");
        return mcp_result(text,
                          json_pack("{s:{s:s, s:s}}", "error", "reason", "run", "message",
                                    *last ? last : "no result"),
                          1);
    }
    struct ft_buf b;
    ft_buf_init(&b, 0);
    const char *outcome = json_string_value(json_object_get(run, "outcome"));
    json_t *num = json_object_get(run, "num"), *code = json_object_get(run, "exit_code");
    ft_buf_addf(&b, "run %s: %s", json_is_integer(num) ? "" : "(not recorded)",
                outcome ? outcome : "?");
    if (json_is_integer(num)) {
        b.len = 0;
        ft_buf_addf(&b, "run %lld: %s", (long long)json_integer_value(num), outcome);
    }
    if (json_is_integer(code))
        ft_buf_addf(&b, ", exit %lld", (long long)json_integer_value(code));
    ft_buf_addf(&b, ", %lld ms: %s\n",
                (long long)json_integer_value(json_object_get(run, "duration_ms")),
                json_string_value(json_object_get(run, "command")));
    json_t *diag = json_object_get(run, "diagnosis");
    if (json_is_object(diag))
        ft_diag_render(diag, &b);
    /* the log's tail, here and in the structure: the whole log is `runs log N` */
    const char *log = json_string_value(json_object_get(run, "log"));
    size_t len = log ? strlen(log) : 0;
    if (len > LOG_SHOWN) {
        size_t cut = len - LOG_SHOWN;
        while (cut < len && ((unsigned char)log[cut] & 0xc0) == 0x80)
            cut++;
        json_object_set_new(run, "log", json_string(log + cut));
        json_object_set_new(run, "log_truncated", json_true());
        log = json_string_value(json_object_get(run, "log"));
    }
    if (log && *log)
        ft_buf_addf(&b, "output (last lines):\n%s%s", log,
                    log[strlen(log) - 1] == '\n' ? "" : "\n");
    json_t *r = mcp_result(b.buf, run, 0);
    ft_buf_release(&b);
    return r;
}

static void job_maybe_done(struct mcp_job *j)
{
    if (!j->exited || j->out_fd >= 0 || j->err_fd >= 0)
        return;
    if (j->m)
        send_to_session(j, json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", j->id, "result",
                                     job_result(j)));
    job_free(j);
}

static void on_pid(evutil_socket_t fd, short what, void *u)
{
    struct mcp_job *j = u;
    (void)fd, (void)what;
    if (waitpid(j->pid, &j->status, WNOHANG) != j->pid)
        return;
    j->exited = 1;
    if (j->ev_pid)
        event_del(j->ev_pid);
    event_del(j->ev_tick);
    job_maybe_done(j); /* may free j */
}

static void on_out(evutil_socket_t fd, short what, void *u)
{
    struct mcp_job *j = u;
    char buf[16384];
    (void)what;
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n > 0) {
        if (fd == j->out_fd) {
            if (ft_buf_add(&j->out, buf, (size_t)n))
                j->out.len = 0; /* over the bound: not a result we can use */
        } else {
            /* keep the tail */
            size_t k = (size_t)n;
            if (k >= ERR_KEEP) {
                memcpy(j->err_tail, buf + k - ERR_KEEP, ERR_KEEP);
                j->err_len = ERR_KEEP;
            } else {
                size_t keep = j->err_len + k > ERR_KEEP ? ERR_KEEP - k : j->err_len;
                memmove(j->err_tail, j->err_tail + j->err_len - keep, keep);
                memcpy(j->err_tail + keep, buf, k);
                j->err_len = keep + k;
            }
        }
        return;
    }
    /* end (or an error) of this pipe */
    if (fd == j->out_fd) {
        event_del(j->ev_out);
        close_fd(&j->out_fd);
    } else {
        event_del(j->ev_err);
        close_fd(&j->err_fd);
    }
    job_maybe_done(j);
}

static void on_tick(evutil_socket_t fd, short what, void *u)
{
    struct mcp_job *j = u;
    (void)fd, (void)what;
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    if (!j->exited && j->pidfd < 0 &&
        waitid(P_PID, (id_t)j->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid) {
        on_pid(-1, 0, j); /* no pidfd here (valgrind): look every tick; j may be gone now */
        return;
    }
    if (j->exited || !j->m || !j->progress)
        return;
    int64_t s = (ft_now_ms() - j->started) / 1000;
    char msg[96];
    if (j->timeout_ms)
        snprintf(msg, sizeof(msg), "running for %llds of at most %llds", (long long)s,
                 (long long)(j->timeout_ms / 1000));
    else
        snprintf(msg, sizeof(msg), "running for %llds", (long long)s);
    json_t *p = json_pack("{s:O, s:i, s:s}", "progressToken", j->progress, "progress",
                          ++j->progress_n, "message", msg);
    if (j->timeout_ms)
        json_object_set_new(p, "total", json_integer(j->timeout_ms / PROGRESS_MS + 1));
    send_to_session(j, json_pack("{s:s, s:s, s:o}", "jsonrpc", "2.0", "method",
                                 "notifications/progress", "params", p));
}

/* The `flowtrack run` command line of a run tool call. */
static char **run_argv(struct ft_mcp *m, json_t *a, int64_t timeout_ms)
{
    size_t n = 0, cap = 24;
    for (char **p = m->access; *p; p++)
        cap++;
    char **v = ft_xcalloc(cap, sizeof(*v));
    char buf[32];
    v[n++] = ft_xstrdup(m->self_exe);
    for (char **p = m->access; *p; p++)
        v[n++] = ft_xstrdup(*p);
    v[n++] = ft_xstrdup("--actor");
    v[n++] = ft_xstrdup(mcp_actor(m));
    const char *t = json_string_value(json_object_get(a, "tracker"));
    if (t) {
        v[n++] = ft_xstrdup("--tracker");
        v[n++] = ft_xstrdup(t);
    }
    v[n++] = ft_xstrdup("run");
    v[n++] = ft_xstrdup("--json");
    v[n++] = ft_xstrdup("--no-stdin");
    if (timeout_ms) {
        snprintf(buf, sizeof(buf), "%llds", (long long)(timeout_ms / 1000));
        v[n++] = ft_xstrdup("--timeout");
        v[n++] = ft_xstrdup(buf);
    }
    const char *label = json_string_value(json_object_get(a, "label"));
    if (label) {
        v[n++] = ft_xstrdup("--label");
        v[n++] = ft_xstrdup(label);
    }
    const char *cmd = json_string_value(json_object_get(a, "command"));
    if (cmd) {
        v[n++] = ft_xstrdup("--");
        v[n++] = ft_xstrdup("sh");
        v[n++] = ft_xstrdup("-c");
        v[n++] = ft_xstrdup(cmd);
    }
    return v;
}

static void free_argv(char **v)
{
    for (char **p = v; p && *p; p++)
        free(*p);
    free(v);
}

int mcp_job_start(struct ft_mcp *m, json_t *id, void *req, json_t *progress_token, json_t *args,
                  struct ft_err *err)
{
    struct ft_mcp_runs *runs = m->runs;
    json_t *to = json_object_get(args, "timeout_s");
    int64_t timeout_ms = to ? json_integer_value(to) * 1000 : 0;
    int out[2] = {-1, -1}, errp[2] = {-1, -1};
    if (!runs)
        return ft_err_set(err, FT_EINVAL, "runs are not available here");
    if (pipe2(out, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
        int e = errno;
        close_fd(&out[0]), close_fd(&out[1]), close_fd(&errp[0]), close_fd(&errp[1]);
        errno = e;
        return ft_err_set(err, FT_EIO, "cannot start the run: %s", strerror(e));
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t def, none;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3); /* the server's sockets stay its own */
    posix_spawnattr_init(&at);
    sigfillset(&def);
    /* SIGPIPE stays as the caller has it (ignored, by flowtrack mcp and serve): a runner whose
     * session went away meanwhile must still record its run, writing into a closed pipe */
    sigdelset(&def, SIGPIPE);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&at, &def);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setpgroup(&at, 0); /* not in the session's group: a ^C of it is not ours */
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETPGROUP);
    char **argv = run_argv(m, args, timeout_ms);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, &at, argv, environ);
    free_argv(argv);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close_fd(&out[1]);
    close_fd(&errp[1]);
    if (rc) {
        close_fd(&out[0]);
        close_fd(&errp[0]);
        return ft_err_set(err, FT_EIO, "cannot start the run: %s", strerror(rc));
    }

    struct mcp_job *j = ft_xcalloc(1, sizeof(*j));
    j->runs = runs;
    j->m = m;
    j->id = json_incref(id);
    j->progress = json_incref(progress_token);
    j->req = req;
    j->pid = pid;
    j->out_fd = out[0];
    j->err_fd = errp[0];
    j->started = ft_now_ms();
    j->timeout_ms = timeout_ms;
    ft_buf_init(&j->out, OUT_MAX);
    evutil_make_socket_nonblocking(j->out_fd);
    evutil_make_socket_nonblocking(j->err_fd);
    j->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    j->next = runs->jobs;
    runs->jobs = j;
    runs->count++;
    j->ev_out = event_new(runs->base, j->out_fd, EV_READ | EV_PERSIST, on_out, j);
    j->ev_err = event_new(runs->base, j->err_fd, EV_READ | EV_PERSIST, on_out, j);
    j->ev_tick = event_new(runs->base, -1, EV_PERSIST, on_tick, j);
    struct timeval tv = {PROGRESS_MS / 1000, (PROGRESS_MS % 1000) * 1000};
    event_add(j->ev_out, NULL);
    event_add(j->ev_err, NULL);
    event_add(j->ev_tick, &tv);
    if (j->pidfd >= 0) {
        j->ev_pid = event_new(runs->base, j->pidfd, EV_READ | EV_PERSIST, on_pid, j);
        event_add(j->ev_pid, NULL);
    }
    return 0;
}

void mcp_job_cancel_id(struct ft_mcp *m, json_t *id)
{
    for (struct mcp_job *j = m->runs ? m->runs->jobs : NULL; j && id; j = j->next)
        if (j->m == m && json_equal(j->id, id))
            job_detach(j);
}

void mcp_job_cancel_req(struct ft_mcp *m, void *req)
{
    for (struct mcp_job *j = m->runs ? m->runs->jobs : NULL; j; j = j->next)
        if (j->m == m && j->req == req)
            job_detach(j);
}

int mcp_job_count(const struct ft_mcp *m)
{
    int n = 0;
    for (struct mcp_job *j = m->runs ? m->runs->jobs : NULL; j; j = j->next)
        n += j->m == m;
    return n;
}

void mcp_job_detach_all(struct ft_mcp *m)
{
    for (struct mcp_job *j = m->runs ? m->runs->jobs : NULL; j; j = j->next)
        if (j->m == m)
            job_detach(j);
}

void ft_mcp_runs_free(struct ft_mcp_runs *r)
{
    if (!r)
        return;
    while (r->jobs) {
        struct mcp_job *j = r->jobs;
        job_detach(j);
        job_free(j); /* an unreaped runner goes on alone and is reaped by init once we exit */
    }
    free(r);
}
