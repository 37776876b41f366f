/*
 * server.c: the loop and the lifecycle of `flowtrack serve`.
 *
 * Everything runs on one libevent loop in one thread: requests (http.c), the channels'
 * tick (heartbeats, stalls, idle ends), the store's change watch (feed.c), SIGTERM /
 * SIGINT, and SIGHUP (the --log-file opened again). Under systemd, notify.c reports
 * readiness, the shutdown and watchdog pings. Shutdown order: stop accepting, end every channel
 * with a final frame, wait for their last bytes (bounded by --grace), free the HTTP side, then our
 * events, then the base.
 *
 * Process-wide settings are the caller's (src/cli/cmd_serve.c): ignoring SIGPIPE, the
 * descriptor limit, libevent's global state. While ft_server_run() runs, SIGTERM and SIGINT
 * are libevent signal events of its loop, gone when it returns.
 *
 * ft_server_run() is ft_server_new() (the server without a listener, signals or change
 * watch: what an in-process driver such as the fuzz target uses), then those, the loop and
 * ft_server_free().
 */
#include "internal.h"

#include "../util/ft_err.h"
#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/banned.h"

void ft_server_opts_init(struct ft_server_opts *o)
{
    static const struct ft_server_opts defaults = {
        .listen = FT_SERVE_DEFAULT_LISTEN,
        .heartbeat_ms = FT_SERVE_DEFAULT_HEARTBEAT_MS,
        .max_streams = FT_SERVE_DEFAULT_MAX_STREAMS,
        .stream_buffer = FT_SERVE_DEFAULT_STREAM_BUFFER,
        .write_timeout_ms = FT_SERVE_DEFAULT_WRITE_TIMEOUT,
        .idle_timeout_ms = FT_SERVE_DEFAULT_IDLE_TIMEOUT,
        .grace_ms = FT_SERVE_DEFAULT_GRACE_MS,
        .request_timeout_s = FT_SERVE_DEFAULT_REQ_TIMEOUT,
        .busy_ms = FT_SERVE_DEFAULT_BUSY_MS,
        .mcp_max_sessions = FT_SERVE_DEFAULT_MCP_SESSIONS,
        .mcp_idle_ms = FT_SERVE_DEFAULT_MCP_IDLE_MS,
        .header_timeout_ms = FT_SERVE_DEFAULT_HEADER_MS,
        .body_timeout_ms = FT_SERVE_DEFAULT_BODY_MS,
        .keepalive_timeout_ms = FT_SERVE_DEFAULT_KEEPALIVE_MS,
        .listen_fd = -1,
        .ready_fd = -1,
    };
    *o = defaults;
}

static void maybe_finish(struct ft_server *srv)
{
    if (srv->shutting_down && srv->streams_open == 0 && srv->flushing == 0)
        event_base_loopbreak(srv->base);
}

static void on_reap(evutil_socket_t fd, short what, void *arg)
{
    struct ft_server *srv = arg;
    (void)fd;
    (void)what;
    ft_channel_reap(srv);
    maybe_finish(srv);
}

void srv_flush_closed(struct ft_server *srv)
{
    srv->flushing--;
    srv_publish(srv, 0);
    maybe_finish(srv);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct ft_server *srv = arg;
    (void)fd;
    (void)what;
    int64_t now = ft_mono_ms();
    srv_conns_tick(srv, now);
    ft_channel_tick(srv, now);
    mcp_http_tick(srv, now);
    srv_publish(srv, 1);
    srv->slot->beat_ms = now;
}

static void on_grace(evutil_socket_t fd, short what, void *arg)
{
    struct ft_server *srv = arg;
    (void)fd;
    (void)what;
    srv_log(srv, "warn", "shutdown", "msg=\"grace period over\" streams_open=%d flushing=%d",
            srv->streams_open, srv->flushing);
    event_base_loopbreak(srv->base);
}

/* The end of every stream: the events committed so far reach them, then their last frame. */
static void streams_end(struct ft_server *srv)
{
    feed_fanout_flush(srv);
    ft_channel_shutdown_all(srv);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct ft_server *srv = arg;
    (void)what;
    if (srv->shutting_down) { /* a second signal: stop waiting */
        event_base_loopbreak(srv->base);
        return;
    }
    srv->shutting_down = 1;
    srv_log(srv, "info", "shutdown", "signal=%s streams_open=%d", sig == SIGTERM ? "TERM" : "INT",
            srv->streams_open);
    srv_notify_stopping(srv);
    srv_unlisten(srv);
    mcp_http_stop(srv); /* sessions end first: their streams are among the channels */
    streams_end(srv);
    struct timeval tv = {(time_t)(srv->o->grace_ms / 1000),
                         (suseconds_t)(srv->o->grace_ms % 1000) * 1000};
    evtimer_add(srv->ev_grace, &tv);
    maybe_finish(srv);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
    struct ft_server *srv = arg;
    (void)sig, (void)what;
    srv_log_reopen(srv);
}

int srv_write_ready_file(const char *path, const char *url, struct ft_err *err)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "we");
    if (!f)
        return ft_err_set(err, FT_EIO, "cannot write '%s': %s", tmp, strerror(errno));
    int bad = fprintf(f, "%s\n", url) < 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return ft_err_set(err, FT_EIO, "cannot write '%s': %s", path, strerror(e));
    }
    return 0;
}

/* The tick drives heartbeats, write stalls, idle timeouts and the connections' deadlines: a
 * fifth of the shortest. */
static int64_t tick_ms(const struct ft_server_opts *o)
{
    int64_t tick = 1000;
    const int64_t periods[] = {o->heartbeat_ms,      o->write_timeout_ms, o->idle_timeout_ms,
                               o->header_timeout_ms, o->body_timeout_ms,  o->keepalive_timeout_ms};
    for (size_t i = 0; i < sizeof(periods) / sizeof(periods[0]); i++)
        if (periods[i] > 0 && periods[i] / 5 < tick)
            tick = periods[i] / 5;
    return tick < 10 ? 10 : tick;
}

/* Release everything srv made, in the shutdown order; log_stop: write the "stop" line. */
static void server_free(struct ft_server *srv, int log_stop)
{
    mcp_http_stop(srv);
    srv_unlisten(srv); /* before evhttp_free: closing connections must not resume it */
    if (srv->http)
        evhttp_free(srv->http); /* closes every connection left */
    srv_conns_stop(srv);
    ft_channel_reap(srv);
    feed_fanout_free(srv);
    feed_watch_stop(srv);
    srv_notify_stop(srv);
    struct event **evs[] = {&srv->ev_term, &srv->ev_int,  &srv->ev_hup,
                            &srv->ev_tick, &srv->ev_reap, &srv->ev_grace};
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        if (*evs[i]) {
            event_free(*evs[i]);
            *evs[i] = NULL;
        }
    if (srv->scratch)
        evbuffer_free(srv->scratch);
    ft_cache_release(&srv->cache);
    ft_versions_release(&srv->versions);
    if (log_stop)
        srv_log(srv, "info", "stop", "streams_open=%d flushing=%d", srv->streams_open,
                srv->flushing);
    srv_log_stop(srv);
    if (srv->base)
        event_base_free(srv->base);
    ft_ops_free(srv->ops);
    free(srv->cookie);
    if (srv->sh_owned)
        ft_shared_free(srv->sh);
    free(srv);
}

void ft_server_free(struct ft_server *srv)
{
    if (srv)
        server_free(srv, 0);
}

int ft_server_new(const struct ft_server_opts *o, struct ft_store *st, struct ft_server **out,
                  struct ft_err *err)
{
    struct ft_server *srv = ft_xcalloc(1, sizeof(*srv));
    int rc;
    *out = NULL;
    srv->o = o;
    srv->st = st;
    srv->ops = ft_ops_local_new(st, o->actor);
    srv->watch_fd = -1;
    srv->cookie = o->token ? srv_cookie_value(o->token) : NULL;
    ft_store_set_busy_timeout(st, (int)o->busy_ms);

    /* epoll changes are gathered over a loop iteration and applied once before it waits:
     * evhttp turns a connection's read interest off and on again around every request, and
     * a reply adds then drops write interest; merged, a kept-alive reply costs two
     * epoll_ctl calls instead of four. (The known pitfall of the change list, descriptors
     * shared through dup(), does not arise: the server never duplicates a descriptor it
     * waits on.) */
    struct event_config *cfg = event_config_new();
    if (cfg) {
        event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
        srv->base = event_base_new_with_config(cfg);
        event_config_free(cfg);
    }
    if (!srv->base)
        srv->base = event_base_new();
    if ((rc = srv_log_start(srv, err))) {
        server_free(srv, 0);
        return rc;
    }
    /* this worker's slot of what the workers share (a lone server maps its own) */
    srv->sh = o->shared;
    srv->worker = o->shared ? o->worker : 0;
    if (!srv->sh) {
        srv->sh = ft_shared_new(1, o->mcp_max_sessions, sizeof(struct srv_figures));
        srv->sh_owned = 1;
    }
    if (!srv->sh) {
        rc = ft_err_set(err, FT_EIO, "cannot map the server's shared memory: %s", strerror(errno));
        server_free(srv, 0);
        return rc;
    }
    srv->slot = ft_shared_slot(srv->sh, srv->worker);
    srv->m = &((struct srv_figures *)srv->slot->data)->m;
    srv->g = &((struct srv_figures *)srv->slot->data)->g;
    srv->slot->pid = srv->g->pid = getpid();
    srv->slot->beat_ms = ft_mono_ms();
    srv->http = srv->base ? evhttp_new(srv->base) : NULL;
    if (!srv->http) {
        rc = ft_err_set(err, FT_EIO, "cannot start the event loop");
        server_free(srv, 0);
        return rc;
    }
    evhttp_set_max_body_size(srv->http, FT_SERVE_MAX_BODY);
    evhttp_set_max_headers_size(srv->http, FT_SERVE_MAX_HEADERS);
    evhttp_set_timeout(srv->http, o->request_timeout_s);
    evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                              EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH |
                                              EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS);
    srv->scratch = evbuffer_new();
    srv_conns_start(srv);
    ft_cache_init(&srv->cache, FT_SERVE_CACHE_BYTES);
    ft_versions_init(&srv->versions);
    srv->ev_reap = event_new(srv->base, -1, 0, on_reap, srv);
    feed_fanout_init(srv);
    srv->ev_tick = event_new(srv->base, -1, EV_PERSIST, on_tick, srv);
    srv->ev_grace = evtimer_new(srv->base, on_grace, srv);
    srv->tick_ms = tick_ms(o);
    struct timeval tv = {(time_t)(srv->tick_ms / 1000), (suseconds_t)(srv->tick_ms % 1000) * 1000};
    event_add(srv->ev_tick, &tv);
    mcp_http_start(srv);
    if ((rc = ft_store_last_seq(st, &srv->head, err))) {
        server_free(srv, 0);
        return rc;
    }
    *out = srv;
    return 0;
}

int ft_server_run(const struct ft_server_opts *o, struct ft_store *st, struct ft_err *err)
{
    struct ft_server *srv;
    int rc = ft_server_new(o, st, &srv, err);
    if (rc)
        return rc;
    srv->ev_term = evsignal_new(srv->base, SIGTERM, on_signal, srv);
    srv->ev_int = evsignal_new(srv->base, SIGINT, on_signal, srv);
    srv->ev_hup = evsignal_new(srv->base, SIGHUP, on_hup, srv);
    event_add(srv->ev_term, NULL);
    event_add(srv->ev_int, NULL);
    event_add(srv->ev_hup, NULL);

    if ((rc = o->listen_fd >= 0 ? srv_listen_fd(srv, o->listen_fd, err) : srv_listen(srv, err)))
        goto out;
    feed_watch_start(srv);
    srv_publish(srv, 1);
    if (o->ready_fd >= 0) { /* a worker: the group's supervisor says it once all listen */
        ssize_t w = write(o->ready_fd, srv->url, strlen(srv->url));
        (void)w; /* a supervisor that is gone will not read it */
    } else {
        fprintf(stderr, "flowtrack: listening on %s\n", srv->url);
        if (o->ready_file && (rc = srv_write_ready_file(o->ready_file, srv->url, err)))
            goto out;
    }
    char shown[1024];
    ft_store_path_shown(ft_store_path(st), shown, sizeof(shown));
    srv_log(srv, "info", "start",
            "worker=%d url=%s store=%s heartbeat_ms=%lld max_streams=%d stream_buffer=%zu "
            "max_connections=%d header_timeout_ms=%lld body_timeout_ms=%lld "
            "keepalive_timeout_ms=%lld",
            srv->worker, srv->url, shown, (long long)o->heartbeat_ms, o->max_streams,
            o->stream_buffer, srv->conns.max, (long long)o->header_timeout_ms,
            (long long)o->body_timeout_ms, (long long)o->keepalive_timeout_ms);
    srv_notify_ready(srv);

    event_base_dispatch(srv->base);

    mcp_http_stop(srv);
    if (srv->live) /* not reached after a signal; kept for loop errors */
        streams_end(srv);
    ft_channel_reap(srv);
out:
    server_free(srv, !rc);
    return rc;
}
