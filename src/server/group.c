/*
 * group.c: `flowtrack serve --loops N`, N worker processes on one port, and the supervisor
 * that starts, watches and stops them (server.h, ft_server_group).
 *
 * Each worker is the whole one-loop server of server.c, with its own listening socket: every
 * socket of the group sets SO_REUSEPORT before binding the same address, so the kernel
 * spreads new connections over the workers' accept queues. A worker owns its connections and
 * streams from accept to close; it reads the store's log and encodes each event once for all
 * of its streams. What the workers share is in one mapping (shared.h): their figures, summed
 * by any worker's /metrics, the stream count --max-streams bounds, and the MCP sessions'
 * registry. The store keeps its own writes correct across processes (its locks), as it does
 * for several servers or the command line beside a server.
 *
 * The supervisor holds no connection and no store. It:
 *   - resolves --listen once (port 0: a port the kernel picks, probed without SO_REUSEPORT so
 *     that a port another server already holds is refused, not shared), and makes each
 *     worker's listening socket before forking it, so a bind error is its own, said once;
 *   - forks the workers (each dies with it: PR_SET_PDEATHSIG) and waits until every one says
 *     it listens, then writes the ready file, the "listening" line and systemd's READY=1;
 *   - forwards SIGTERM, SIGINT and SIGHUP; at a stop, waits for every worker (a second signal
 *     is forwarded too: the workers stop waiting for slow streams), at most --grace + 5 s
 *     before SIGKILL; exits 0 when every worker did;
 *   - starts again a worker that ended unasked (a crash), at once or, when it lived less than
 *     a second, after a back-off doubling up to 5 s;
 *   - pings systemd's watchdog only while every worker's loop ticks (its slot's heartbeat).
 * Signals are taken synchronously (signalfd); the supervisor runs no event loop.
 */
#include "internal.h"

#include "../util/ft_err.h"
#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../util/banned.h"

#define MAX_LOOPS     64 /* the registry's busy bits (shared.h) */
#define BACKOFF_MAX   5000
#define STOP_EXTRA_MS 5000

struct worker {
    pid_t pid;        /* 0: not running */
    int ready_fd;     /* the read end of its "listening" pipe until it said so; -1 after */
    int64_t start_ms; /* when it was forked */
    int64_t again_at; /* when to start it again (0: not waiting) */
    int64_t backoff;  /* the next wait when it dies young */
};

struct group {
    const struct ft_server_opts *o;
    int n, listening, announced, stopping, killed, failed;
    pid_t self;
    struct worker *w;
    struct ft_shared *sh;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int sfd;      /* signalfd of TERM, INT, HUP, CHLD */
    sigset_t old; /* the mask to give back to the workers */
    int64_t kill_at, ping_at;
    struct ft_server log; /* only the log and systemd's parts: srv_log(), notify.c */
};

int ft_server_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* A listening socket on the group's address, in the SO_REUSEPORT group of that port. */
static int make_listener(struct group *g, struct ft_err *err)
{
    int one = 1;
    int fd = socket(g->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&g->addr, g->addrlen) != 0 || listen(fd, 4096) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return ft_err_set(err, FT_EIO, "cannot listen on '%s': %s", g->o->listen, strerror(e));
    }
    return fd;
}

/* Resolve --listen: its port (one the kernel picks for port 0), free of any other socket. */
static int resolve(struct group *g, struct ft_err *err)
{
    int sslen, one = 1, rc = srv_parse_listen(g->o, &g->addr, &sslen, err);
    if (rc)
        return rc;
    g->addrlen = (socklen_t)sslen;
    int fd = socket(g->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&g->addr, g->addrlen) != 0 ||
        getsockname(fd, (struct sockaddr *)&g->addr, &g->addrlen) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return ft_err_set(err, FT_EIO, "cannot listen on '%s': %s", g->o->listen, strerror(e));
    }
    close(fd);
    srv_url_of(&g->addr, g->log.url, sizeof(g->log.url));
    return 0;
}

static void send_all(struct group *g, int sig)
{
    for (int k = 0; k < g->n; k++)
        if (g->w[k].pid > 0)
            kill(g->w[k].pid, sig);
}

static int running(const struct group *g)
{
    int n = 0;
    for (int k = 0; k < g->n; k++)
        n += g->w[k].pid > 0;
    return n;
}

/* The worker's "listening" pipe, done with (it said so, it ended, or the group ends). */
static void ready_close(struct worker *w)
{
    if (w->ready_fd >= 0)
        close(w->ready_fd);
    w->ready_fd = -1;
}

/* The supervisor's memory, in a worker (or at the end). */
static void group_free(struct group *g, int in_worker)
{
    for (int k = 0; k < g->n; k++)
        ready_close(&g->w[k]);
    if (g->sfd >= 0)
        close(g->sfd);
    if (!in_worker) {
        srv_notify_stop(&g->log);
        srv_log_stop(&g->log);
        ft_shared_free(g->sh);
    } else {
        srv_notify_stop(&g->log);        /* frees; says nothing */
        ft_buf_release(&g->log.log.out); /* the worker opens its own log */
        if (g->log.log.owned)
            close(g->log.log.fd);
    }
    free(g->w);
    free(g);
}

/*
 * Fork worker k. In the supervisor: 0, or an ft_code (the socket could not be made; the
 * fork failed). In the worker: 1, with *wo filled and the supervisor's memory released.
 */
static int spawn(struct group *g, int k, struct ft_server_opts *wo, struct ft_err *err)
{
    int p[2], lfd = make_listener(g, err);
    if (lfd < 0)
        return err->code;
    if (pipe2(p, O_CLOEXEC) != 0) {
        close(lfd);
        return ft_err_set(err, FT_EIO, "cannot start a worker: %s", strerror(errno));
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(lfd);
        close(p[0]);
        close(p[1]);
        return ft_err_set(err, FT_EIO, "cannot start a worker: %s", strerror(e));
    }
    if (pid == 0) {
        /* the worker ends with its supervisor, however that one ends */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != g->self)
            _exit(1);
        close(p[0]);
        sigprocmask(SIG_SETMASK, &g->old, NULL);
        unsetenv("NOTIFY_SOCKET"); /* systemd hears the supervisor only */
        *wo = *g->o;
        wo->shared = g->sh;
        wo->worker = k;
        wo->listen_fd = lfd;
        wo->ready_fd = p[1];
        wo->ready_file = NULL;
        if (g->o->max_connections > 0) /* the server's budget, shared out */
            wo->max_connections = (g->o->max_connections + g->n - 1) / g->n;
        group_free(g, 1);
        return 1;
    }
    close(lfd); /* the worker's alone: closed when it stops listening */
    close(p[1]);
    struct worker *w = &g->w[k];
    w->pid = pid;
    w->ready_fd = p[0];
    w->start_ms = ft_mono_ms();
    w->again_at = 0;
    ft_shared_slot(g->sh, k)->starts++;
    return 0;
}

/* Every worker listens: say so, once. */
static int announce(struct group *g, struct ft_err *err)
{
    fprintf(stderr, "flowtrack: listening on %s\n", g->log.url);
    if (g->o->ready_file && srv_write_ready_file(g->o->ready_file, g->log.url, err))
        return err->code;
    srv_log(&g->log, "info", "group", "workers=%d url=%s pid=%ld", g->n, g->log.url, (long)g->self);
    srv_notify_ready(&g->log);
    int64_t every = srv_notify_ping_ms(&g->log);
    g->ping_at = every > 0 ? ft_mono_ms() + every : 0;
    g->announced = 1;
    return 0;
}

static void begin_stop(struct group *g, const char *why)
{
    int64_t now = ft_mono_ms();
    if (!g->stopping) {
        g->stopping = 1;
        g->kill_at = now + g->o->grace_ms + STOP_EXTRA_MS;
        srv_log(&g->log, "info", "group_stop", "reason=%s workers=%d", why, running(g));
        srv_notify_stopping(&g->log);
        for (int k = 0; k < g->n; k++)
            g->w[k].again_at = 0;
    }
}

/* A worker ended: free its slot's gauges; start it again later when it was not asked. */
static void reaped(struct group *g, int k, int status)
{
    struct worker *w = &g->w[k];
    struct ft_slot *slot = ft_shared_slot(g->sh, k);
    int64_t now = ft_mono_ms();
    int clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    w->pid = 0;
    ready_close(w);
    slot->pid = 0; /* its counters stay: a worker started in the slot goes on counting */
    memset(&((struct srv_figures *)slot->data)->g, 0, sizeof(struct ft_gauges));
    char how[64];
    if (WIFSIGNALED(status))
        snprintf(how, sizeof(how), "signal=%d", WTERMSIG(status));
    else
        snprintf(how, sizeof(how), "status=%d", WEXITSTATUS(status));
    if (g->stopping) {
        if (!clean && !g->killed)
            g->failed = 1;
        srv_log(&g->log, clean ? "info" : "warn", "worker_exit", "worker=%d %s", k, how);
        return;
    }
    if (!g->announced) { /* it said why on stderr; the others stop */
        srv_log(&g->log, "error", "worker_exit", "worker=%d %s msg=\"before listening\"", k, how);
        g->failed = 1;
        begin_stop(g, "worker_failed");
        send_all(g, SIGTERM);
        return;
    }
    w->backoff = now - w->start_ms < 1000 ? (w->backoff ? w->backoff * 2 : 100) : 0;
    if (w->backoff > BACKOFF_MAX)
        w->backoff = BACKOFF_MAX;
    w->again_at = now + w->backoff;
    ft_shared_lock(g->sh);
    g->sh->worker_restarts++;
    ft_shared_unlock(g->sh);
    srv_log(&g->log, "error", "worker_exit",
            "worker=%d %s msg=\"ended unasked: starting again\" "
            "in_ms=%lld",
            k, how, (long long)w->backoff);
}

static void reap_all(struct group *g)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        for (int k = 0; k < g->n; k++)
            if (g->w[k].pid == pid)
                reaped(g, k, status);
}

/* Take the signals that came. 1: a worker is to start again at once (then see spawn). */
static void on_signals(struct group *g)
{
    struct signalfd_siginfo si;
    while (read(g->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        int sig = (int)si.ssi_signo;
        if (sig == SIGCHLD) {
            reap_all(g);
        } else if (sig == SIGHUP) {
            srv_log_reopen(&g->log);
            send_all(g, SIGHUP);
        } else { /* TERM, INT: the first one stops; another is passed on (stop waiting) */
            begin_stop(g, sig == SIGTERM ? "TERM" : "INT");
            /* one from the terminal (Ctrl-C) went to the whole process group: the workers
             * have it already, and a second would cut their wait for the streams' ends */
            if (si.ssi_code != SI_KERNEL)
                send_all(g, sig);
        }
    }
}

/* A worker's "listening" pipe is readable: it listens (its URL), or it ended (EOF). */
static void on_ready(struct group *g, int k)
{
    struct worker *w = &g->w[k];
    char buf[160];
    ssize_t r = read(w->ready_fd, buf, sizeof(buf));
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (r > 0)
        g->listening++;
    ready_close(w); /* it listens, or it ended (SIGCHLD says how) */
}

/* Ping systemd's watchdog only while every worker's loop turns. */
static void watchdog(struct group *g, int64_t now)
{
    int64_t every = srv_notify_ping_ms(&g->log);
    if (!g->ping_at || now < g->ping_at)
        return;
    g->ping_at = now + every;
    for (int k = 0; k < g->n; k++) {
        const struct ft_slot *slot = ft_shared_slot(g->sh, k);
        if (!g->w[k].pid || now - slot->beat_ms > 2 * every + 1000)
            return;
    }
    srv_notify_ping(&g->log);
}

static int64_t next_wake(const struct group *g, int64_t now)
{
    int64_t at = INT64_MAX;
    if (g->stopping && !g->killed)
        at = g->kill_at;
    if (g->ping_at && g->ping_at < at)
        at = g->ping_at;
    for (int k = 0; k < g->n; k++)
        if (g->w[k].again_at && g->w[k].again_at < at)
            at = g->w[k].again_at;
    return at == INT64_MAX ? -1 : at > now ? at - now : 0;
}

/* The supervisor's life. -1: this is now worker *k (wo filled); else the result. */
static int supervise(struct group *g, struct ft_server_opts *wo, int *k_out, struct ft_err *err)
{
    for (int k = 0; k < g->n; k++) {
        int rc = spawn(g, k, wo, err);
        if (rc == 1) {
            *k_out = k;
            return -1;
        }
        if (rc) {
            begin_stop(g, "spawn_failed");
            send_all(g, SIGTERM);
            g->failed = 1;
            break;
        }
    }
    while (!(g->stopping && running(g) == 0)) {
        struct pollfd pf[MAX_LOOPS + 1];
        int idx[MAX_LOOPS + 1], n = 0;
        pf[n] = (struct pollfd){.fd = g->sfd, .events = POLLIN};
        idx[n++] = -1;
        for (int k = 0; k < g->n; k++)
            if (g->w[k].ready_fd >= 0) {
                pf[n] = (struct pollfd){.fd = g->w[k].ready_fd, .events = POLLIN};
                idx[n++] = k;
            }
        int64_t wait = next_wake(g, ft_mono_ms());
        int r = poll(pf, (nfds_t)n, wait < 0 ? -1 : wait > 60000 ? 60000 : (int)wait);
        if (r < 0 && errno != EINTR)
            return ft_err_set(err, FT_EIO, "poll: %s", strerror(errno));
        for (int i = 1; r > 0 && i < n; i++)
            if (pf[i].revents)
                on_ready(g, idx[i]);
        if (r > 0 && pf[0].revents)
            on_signals(g);
        int64_t now = ft_mono_ms();
        if (!g->announced && !g->stopping && g->listening == g->n && announce(g, err)) {
            begin_stop(g, "ready_file");
            send_all(g, SIGTERM);
            g->failed = 1;
        }
        if (g->stopping && !g->killed && now >= g->kill_at && running(g)) {
            srv_log(&g->log, "error", "group_stop",
                    "msg=\"workers still running after the "
                    "grace: killed\" workers=%d",
                    running(g));
            send_all(g, SIGKILL);
            g->killed = 1;
            g->failed = 1;
        }
        for (int k = 0; k < g->n && !g->stopping; k++)
            if (g->w[k].again_at && now >= g->w[k].again_at) {
                int rc = spawn(g, k, wo, err);
                if (rc == 1) {
                    *k_out = k;
                    return -1;
                }
                if (rc) { /* tried again at the next back-off */
                    srv_log(&g->log, "error", "worker_start", "worker=%d error=\"%s\"", k,
                            err->msg);
                    g->w[k].again_at = now + BACKOFF_MAX;
                }
            }
        watchdog(g, now);
    }
    srv_log(&g->log, g->failed ? "error" : "info", "stop", "workers=%d clean=%d", g->n, !g->failed);
    if (g->failed && !err->msg[0])
        ft_err_set(err, FT_EIO, "a worker failed (see the log)");
    return g->failed ? (err->code ? err->code : FT_EIO) : 0;
}

int ft_server_group(const struct ft_server_opts *o, struct ft_server_opts *wo, int *worker,
                    struct ft_err *err)
{
    struct group *g = ft_xcalloc(1, sizeof(*g));
    sigset_t set;
    int rc;
    *worker = -1;
    err->code = 0;
    err->msg[0] = '\0';
    g->o = o;
    g->n = o->loops > MAX_LOOPS ? MAX_LOOPS : o->loops;
    g->self = getpid();
    g->sfd = -1;
    g->w = ft_xcalloc((size_t)g->n, sizeof(*g->w));
    for (int k = 0; k < g->n; k++)
        g->w[k].ready_fd = -1;
    g->log.o = o;
    if ((rc = srv_log_start(&g->log, err)) || (rc = resolve(g, err))) {
        group_free(g, 0);
        return rc;
    }
    g->sh = ft_shared_new(g->n, o->mcp_max_sessions, sizeof(struct srv_figures));
    if (!g->sh) {
        rc = ft_err_set(err, FT_EIO, "cannot map the workers' shared memory: %s", strerror(errno));
        group_free(g, 0);
        return rc;
    }
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, &g->old);
    g->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (g->sfd < 0) {
        rc = ft_err_set(err, FT_EIO, "signalfd: %s", strerror(errno));
        sigprocmask(SIG_SETMASK, &g->old, NULL);
        group_free(g, 0);
        return rc;
    }
    int k = -1;
    rc = supervise(g, wo, &k, err);
    if (rc == -1) { /* in a worker: g is gone */
        *worker = k;
        return 0;
    }
    sigprocmask(SIG_SETMASK, &g->old, NULL);
    group_free(g, 0);
    return rc;
}

void ft_server_group_end(struct ft_server_opts *wo)
{
    if (wo->ready_fd >= 0)
        close(wo->ready_fd);
    wo->ready_fd = -1;
    ft_shared_free(wo->shared);
    wo->shared = NULL;
}
