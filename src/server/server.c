/*
 * server.c: the loop, the listener, signals, the store watch, security
 * checks, metrics and logging of `flowtrack serve`.
 *
 * Everything runs on one libevent loop in one thread: requests (evhttp),
 * the heartbeat tick, the store's change watch, SIGTERM and
 * SIGINT. The fixes to evhttp's pitfalls listed in
 * reference/http-library-choice.md are applied here and in stream.c:
 * a large listen backlog through evconnlistener + evhttp_bind_listener,
 * per-stream output bounds, close callbacks cleared before ending a stream,
 * detached requests released with evhttp_send_reply_end, and the shutdown
 * order ending in libevent_global_shutdown().
 */
#include "internal.h"

#include "../core/render.h"
#include "../util/ft_err.h"
#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../util/banned.h"

const char *const ft_route_label[R__COUNT] = {
    [R_HEALTHZ] = "/healthz",
    [R_METRICS] = "/metrics",
    [R_TRACKERS] = "/api/trackers",
    [R_TRACKER] = "/api/trackers/{id}",
    [R_ENTRIES] = "/api/trackers/{id}/{kind}",
    [R_ENTRY] = "/api/trackers/{id}/{kind}/{num}",
    [R_HISTORY] = "/api/history",
    [R_RUNS] = "/api/trackers/{id}/runs",
    [R_RUN] = "/api/trackers/{id}/runs/{num}",
    [R_CHECK] = "/api/trackers/{id}/check",
    [R_EVENTS] = "/api/events",
    [R_DEFAULT] = "/api/default",
    [R_OTHER] = "other",
};

const int ft_codes[FT_NCODES] = {200, 201, 204, 304, 400, 401, 403, 404, 405,
                                 409, 411, 413, 415, 500, 501, 503, 0};

const double ft_buckets[FT_NBUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                        0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

static const char *const end_names[FT_END__COUNT] = {
    [FT_END_COMPLETE] = "complete",
    [FT_END_CLIENT_CLOSED] = "client_closed",
    [FT_END_ERROR] = "error",
    [FT_END_IDLE_TIMEOUT] = "idle_timeout",
    [FT_END_SLOW_READER] = "slow_reader",
    [FT_END_SHUTDOWN] = "shutdown",
};

const char *ft_end_name(enum ft_end why)
{
    return (unsigned)why < FT_END__COUNT ? end_names[why] : "unknown";
}

int64_t srv_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void ft_server_opts_init(struct ft_server_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->listen = FT_SERVE_DEFAULT_LISTEN;
    o->heartbeat_ms = FT_SERVE_DEFAULT_HEARTBEAT_MS;
    o->max_streams = FT_SERVE_DEFAULT_MAX_STREAMS;
    o->stream_buffer = FT_SERVE_DEFAULT_STREAM_BUFFER;
    o->write_timeout_ms = FT_SERVE_DEFAULT_WRITE_TIMEOUT;
    o->idle_timeout_ms = FT_SERVE_DEFAULT_IDLE_TIMEOUT;
    o->grace_ms = FT_SERVE_DEFAULT_GRACE_MS;
    o->request_timeout_s = FT_SERVE_DEFAULT_REQ_TIMEOUT;
    o->busy_ms = FT_SERVE_DEFAULT_BUSY_MS;
}

/* ---- small helpers ------------------------------------------------------------------- */

int ft_ct_streq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t n = la > lb ? la : lb;
    unsigned char d = (unsigned char)(la != lb);
    for (size_t i = 0; i < n; i++) {
        unsigned char x = i < la ? (unsigned char)a[i] : 0;
        unsigned char y = i < lb ? (unsigned char)b[i] : 0;
        d |= (unsigned char)(x ^ y);
    }
    return d == 0;
}

int ft_host_is_loopback(const char *host)
{
    if (strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 || strcmp(host, "[::1]") == 0)
        return 1;
    struct in_addr a;
    if (inet_pton(AF_INET, host, &a) == 1)
        return (ntohl(a.s_addr) >> 24) == 127;
    return 0;
}

/* ---- logging ------------------------------------------------------------------------- */

void srv_logfmt_value(struct ft_buf *b, const char *v)
{
    int quote = *v == '\0';
    for (const char *p = v; *p && !quote; p++)
        if (*p == ' ' || *p == '"' || *p == '=' || (unsigned char)*p < 0x20 || *p == '\\')
            quote = 1;
    if (!quote) {
        ft_buf_adds(b, v);
        return;
    }
    ft_buf_addc(b, '"');
    for (const char *p = v; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\')
            ft_buf_addf(b, "\\%c", c);
        else if (c == '\n')
            ft_buf_adds(b, "\\n");
        else if (c < 0x20)
            ft_buf_addf(b, "\\x%02x", c);
        else
            ft_buf_addc(b, (char)c);
    }
    ft_buf_addc(b, '"');
}

/*
 * Log lines are buffered and written once per turn of the loop (a request's
 * line and its stream's lines cost one write(2) together, not one each): the
 * first line of a turn activates log_flush, which runs after the turn's other
 * callbacks. Without a loop (before it starts, after it ends) lines go out at
 * once. The timestamp is formatted once per millisecond.
 */
static struct event *log_flush;
static struct ft_buf log_out; /* lines of this turn, not yet written */

/* Write the buffered lines to stderr (a log that cannot be written is dropped). */
static void log_write_out(void)
{
    size_t off = 0;
    if (log_out.len == 0)
        return;
    while (off < log_out.len) {
        ssize_t n = write(STDERR_FILENO, log_out.buf + off, log_out.len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    ft_buf_reset(&log_out);
}

static void on_log_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    log_write_out();
}

/* With a base, start buffering lines per loop turn; with NULL, write what is left and stop. */
static void log_buffering(struct event_base *base)
{
    if (base) {
        log_flush = event_new(base, -1, 0, on_log_flush, NULL);
        return;
    }
    log_write_out();
    ft_buf_release(&log_out);
    if (log_flush)
        event_free(log_flush);
    log_flush = NULL;
}

void srv_log(const char *level, const char *event, const char *fmt, ...)
{
    static int64_t ts_ms = -1;
    static char ts[40];
    va_list ap;
    int64_t now = ft_now_ms();
    if (now != ts_ms) {
        ft_time_iso(now, ts, sizeof(ts));
        ts_ms = now;
    }
    int first = log_out.len == 0;
    ft_buf_addf(&log_out, "ts=%s level=%s event=%s ", ts, level, event);
    va_start(ap, fmt);
    ft_buf_vaddf(&log_out, fmt, ap);
    va_end(ap);
    ft_buf_addc(&log_out, '\n');
    if (!log_flush || log_out.len >= (64u << 10))
        log_write_out();
    else if (first)
        event_active(log_flush, 0, 0);
}

/* ---- replies ------------------------------------------------------------------------- */

static int code_index(int code)
{
    for (int i = 0; i < FT_NCODES - 1; i++)
        if (ft_codes[i] == code)
            return i;
    return FT_NCODES - 1; /* "other" */
}

void srv_count_request(struct ft_server *srv, enum ft_route route, int code, int64_t t0)
{
    double secs = (double)(srv_now_us() - t0) / 1e6;
    srv->m.requests[route][code_index(code)]++;
    srv->m.duration_count++;
    srv->m.duration_sum += secs;
    for (int i = 0; i < FT_NBUCKETS; i++)
        if (secs <= ft_buckets[i]) {
            srv->m.duration_buckets[i]++;
            break;
        }
}

static void peer_of(struct evhttp_request *req, char *out, size_t n)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    char *addr = NULL;
    ev_uint16_t port = 0;
    if (evcon) {
        evhttp_connection_get_peer(evcon, &addr, &port);
        snprintf(out, n, "%s:%u", addr ? addr : "?", (unsigned)port);
    } else {
        snprintf(out, n, "?");
    }
}

static const char *method_name(struct evhttp_request *req)
{
    switch (evhttp_request_get_command(req)) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    default:
        return "OTHER";
    }
}

void srv_log_request(struct evhttp_request *req, enum ft_route route, int code, size_t bytes,
                     int64_t t0)
{
    char peer[64];
    struct ft_buf b;
    const char *uri = evhttp_request_get_uri(req);
    peer_of(req, peer, sizeof(peer));
    ft_buf_init(&b, 0);
    ft_buf_addf(&b, "method=%s path=", method_name(req));
    srv_logfmt_value(&b, uri ? uri : "");
    ft_buf_adds(&b, " route=");
    srv_logfmt_value(&b, ft_route_label[route]);
    ft_buf_addf(&b, " status=%d bytes=%zu dur_ms=%.3f peer=%s", code, bytes,
                (double)(srv_now_us() - t0) / 1000.0, peer);
    srv_log(code >= 500 ? "error" : "info", "request", "%s", b.buf);
    ft_buf_release(&b);
}

void srv_reply(struct ft_server *srv, struct evhttp_request *req, enum ft_route route, int code,
               const char *ctype, const char *body, size_t len, int64_t t0)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evbuffer *out = evbuffer_new();
    if (ctype)
        evhttp_add_header(h, "Content-Type", ctype);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    if (body && len && evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
        evbuffer_add(out, body, len);
    srv_count_request(srv, route, code, t0);
    srv_log_request(req, route, code, len, t0);
    evhttp_send_reply(req, code, NULL, out);
    evbuffer_free(out);
}

void srv_reply_json(struct ft_server *srv, struct evhttp_request *req, enum ft_route route,
                    int code, json_t *body, int64_t t0)
{
    char *s = body ? json_dumps(body, JSON_INDENT(2)) : NULL;
    size_t n = s ? strlen(s) : 0;
    if (s) {
        s = ft_xrealloc(s, n + 2);
        s[n++] = '\n';
        s[n] = '\0';
    }
    srv_reply(srv, req, route, code, "application/json", s, n, t0);
    free(s);
    json_decref(body);
}

static const char *status_word(int code)
{
    switch (code) {
    case 400:
        return "bad_request";
    case 401:
        return "unauthorized";
    case 403:
        return "forbidden";
    case 404:
        return "not_found";
    case 405:
        return "method_not_allowed";
    case 409:
        return "conflict";
    case 411:
        return "length_required";
    case 413:
        return "too_large";
    case 415:
        return "unsupported_media_type";
    case 503:
        return "unavailable";
    default:
        return code >= 500 ? "internal" : "error";
    }
}

void srv_error(struct ft_server *srv, struct evhttp_request *req, enum ft_route route, int code,
               const char *field, int64_t t0, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *e =
        json_pack("{s:i, s:s, s:s}", "status", code, "code", status_word(code), "message", msg);
    if (field)
        json_object_set_new(e, "field", json_string(field));
    srv_reply_json(srv, req, route, code, json_pack("{s:o}", "error", e), t0);
}

/* ---- the log: read what is new and fan it out --------------------------------------- */

json_t *srv_event_json(const struct ft_event *ev)
{
    json_t *p = json_loads(ev->payload, 0, NULL);
    return json_pack("{s:I, s:I, s:s, s:o, s:s, s:s, s:o}", "seq", (json_int_t)ev->seq, "tracker",
                     (json_int_t)ev->tracker_id, "slug", ev->slug, "at", ft_json_time(ev->at),
                     "actor", ev->actor, "kind", ev->kind, "payload",
                     p ? p : json_string(ev->payload));
}

#define PULL_BATCH 512

struct pulled {
    struct ft_event *v;
    char **strs;
    size_t n, cap, nstrs, strs_cap;
};

static const char *keep(struct pulled *p, const char *s)
{
    char *c = ft_xstrdup(s ? s : "");
    ft_xgrow((void **)&p->strs, &p->strs_cap, p->nstrs + 1, sizeof(char *));
    p->strs[p->nstrs++] = c;
    return c;
}

static int pull_cb(const struct ft_event *ev, void *u)
{
    struct pulled *p = u;
    ft_xgrow((void **)&p->v, &p->cap, p->n + 1, sizeof(*p->v));
    struct ft_event *e = &p->v[p->n++];
    *e = *ev;
    e->slug = keep(p, ev->slug);
    e->actor = keep(p, ev->actor);
    e->kind = keep(p, ev->kind);
    e->payload = keep(p, ev->payload);
    return 0;
}

void srv_pull(struct ft_server *srv)
{
    struct pulled p;
    struct ft_err err;
    memset(&p, 0, sizeof(p));
    for (;;) {
        p.n = 0;
        int rc = ft_store_events(srv->st, 0, NULL, srv->head, PULL_BATCH, 0, pull_cb, &p, &err);
        if (rc) {
            srv->m.store_errors++;
            srv_log("error", "store", "what=read_events msg=\"%s\"", err.msg);
        }
        /* Copies first, then fan-out: a stream's replay may use the store again. */
        for (size_t i = 0; i < p.n; i++) {
            stream_fanout(srv, &p.v[i]);
            srv->head = p.v[i].seq;
        }
        for (size_t i = 0; i < p.nstrs; i++)
            free(p.strs[i]);
        p.nstrs = 0;
        if (rc || p.n < PULL_BATCH)
            break;
    }
    free(p.v);
    free(p.strs);
}

/* The store's change watch: a write by any process makes its descriptor readable. */
static void arm_poll(struct ft_server *srv)
{
    struct timeval tv = {0, 20000};
    if (!evtimer_pending(srv->ev_poll, NULL))
        evtimer_add(srv->ev_poll, &tv);
}

static void on_watch(evutil_socket_t fd, short what, void *arg)
{
    struct ft_server *srv = arg;
    int64_t recheck = 0;
    (void)fd;
    (void)what;
    if (!ft_store_watch_read(srv->st, &recheck))
        return;
    srv_pull(srv);
    /* The backend may signal a write shortly before its commit is visible: look again a few
     * times over the window it asks for. */
    if (recheck > 0) {
        srv->watch_until = ft_mono_ms() + recheck;
        arm_poll(srv);
    }
}

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    struct ft_server *srv = arg;
    (void)fd;
    (void)what;
    srv_pull(srv);
    if (srv->watch_fd < 0) { /* no change watch: a plain 100 ms poll */
        struct timeval tv = {0, 100000};
        evtimer_add(srv->ev_poll, &tv);
    } else if (ft_mono_ms() < srv->watch_until) {
        arm_poll(srv);
    }
}

static void watch_store(struct ft_server *srv)
{
    struct ft_err err;
    if (ft_store_watch_open(srv->st, &srv->watch_fd, &err))
        srv->watch_fd = -1;
    if (srv->watch_fd >= 0) {
        srv->ev_watch = event_new(srv->base, srv->watch_fd, EV_READ | EV_PERSIST, on_watch, srv);
        event_add(srv->ev_watch, NULL);
    } else {
        srv_log("warn", "store_watch", "msg=\"no change watch: polling every 100 ms\"");
        struct timeval tv = {0, 100000};
        evtimer_add(srv->ev_poll, &tv);
    }
}

/* ---- metrics ------------------------------------------------------------------------- */

static long count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    long n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* not the directory's own fd */
}

static long long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "re");
    long long size = 0, res = 0;
    if (!f)
        return -1;
    if (fscanf(f, "%lld %lld", &size, &res) != 2)
        res = -1;
    fclose(f);
    return res < 0 ? -1 : res * sysconf(_SC_PAGESIZE);
}

/* Threads and anonymous resident memory (RssAnon, bytes) from /proc/self/status. */
static void proc_status(long *threads, long long *anon)
{
    FILE *f = fopen("/proc/self/status", "re");
    char line[256];
    *threads = -1;
    *anon = -1;
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "Threads:", 8) == 0)
            *threads = strtol(line + 8, NULL, 10);
        else if (strncmp(line, "RssAnon:", 8) == 0)
            *anon = strtoll(line + 8, NULL, 10) * 1024;
    }
    fclose(f);
}

static void metric_head(struct ft_buf *b, const char *name, const char *type, const char *help)
{
    ft_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void serve_metrics(struct ft_server *srv, struct evhttp_request *req, int64_t t0)
{
    struct ft_buf b;
    struct ft_metrics *m = &srv->m;
    ft_buf_init(&b, 0);
    metric_head(&b, "flowtrack_build_info", "gauge", "Build metadata; always 1.");
    ft_buf_addf(&b, "flowtrack_build_info{version=\"%s\"} 1\n", FT_VERSION);
    metric_head(&b, "flowtrack_streams_open", "gauge", "Event streams currently open.");
    ft_buf_addf(&b, "flowtrack_streams_open %d\n", srv->streams_open);
    metric_head(&b, "flowtrack_streams_opened_total", "counter", "Event streams started.");
    ft_buf_addf(&b, "flowtrack_streams_opened_total %llu\n", (unsigned long long)m->streams_opened);
    metric_head(&b, "flowtrack_streams_closed_total", "counter",
                "Event streams ended, by how they ended.");
    for (int i = 0; i < FT_END__COUNT; i++)
        ft_buf_addf(&b, "flowtrack_streams_closed_total{reason=\"%s\"} %llu\n", end_names[i],
                    (unsigned long long)m->streams_closed[i]);
    metric_head(&b, "flowtrack_streams_rejected_total", "counter",
                "Event streams refused with 503 at --max-streams.");
    ft_buf_addf(&b, "flowtrack_streams_rejected_total %llu\n",
                (unsigned long long)m->streams_rejected);
    metric_head(&b, "flowtrack_stream_queued_bytes", "gauge",
                "Bytes queued on open streams, not yet taken by the kernel.");
    ft_buf_addf(&b, "flowtrack_stream_queued_bytes %zu\n", stream_queued_bytes(srv));
    metric_head(&b, "flowtrack_stream_flushing", "gauge",
                "Ended streams whose last bytes are still being written.");
    ft_buf_addf(&b, "flowtrack_stream_flushing %d\n", srv->flushing);
    metric_head(&b, "flowtrack_events_delivered_total", "counter",
                "Events written to streams (replayed and live).");
    ft_buf_addf(&b, "flowtrack_events_delivered_total %llu\n",
                (unsigned long long)m->events_delivered);
    metric_head(&b, "flowtrack_heartbeats_sent_total", "counter", "Heartbeat comment frames.");
    ft_buf_addf(&b, "flowtrack_heartbeats_sent_total %llu\n", (unsigned long long)m->heartbeats);
    metric_head(&b, "flowtrack_stream_sent_bytes_total", "counter", "Bytes queued on streams.");
    ft_buf_addf(&b, "flowtrack_stream_sent_bytes_total %llu\n",
                (unsigned long long)m->stream_bytes);
    metric_head(&b, "flowtrack_log_head_sequence", "gauge",
                "Newest event sequence number fanned out to streams.");
    ft_buf_addf(&b, "flowtrack_log_head_sequence %lld\n", (long long)srv->head);
    metric_head(&b, "flowtrack_render_cache_hits_total", "counter",
                "Tracker GETs answered from the rendered-document cache.");
    ft_buf_addf(&b, "flowtrack_render_cache_hits_total %llu\n",
                (unsigned long long)srv->cache.hits);
    metric_head(&b, "flowtrack_render_cache_misses_total", "counter",
                "Tracker GETs that had to load and render the tracker.");
    ft_buf_addf(&b, "flowtrack_render_cache_misses_total %llu\n",
                (unsigned long long)srv->cache.misses);
    metric_head(&b, "flowtrack_render_cache_bytes", "gauge",
                "Bytes of rendered documents held by the cache.");
    ft_buf_addf(&b, "flowtrack_render_cache_bytes %zu\n", srv->cache.bytes);
    metric_head(&b, "flowtrack_http_requests_total", "counter",
                "HTTP requests answered, by route and status (a stream counts when it starts).");
    for (int r = 0; r < R__COUNT; r++)
        for (int c = 0; c < FT_NCODES; c++)
            if (m->requests[r][c] || (c == 0 && r != R_OTHER))
                ft_buf_addf(&b, "flowtrack_http_requests_total{route=\"%s\",code=\"%s%d\"} %llu\n",
                            ft_route_label[r], ft_codes[c] ? "" : "other", ft_codes[c],
                            (unsigned long long)m->requests[r][c]);
    metric_head(&b, "flowtrack_http_request_duration_seconds", "histogram",
                "Time from routing a request to its reply (a stream: to its first bytes).");
    uint64_t cum = 0;
    for (int i = 0; i < FT_NBUCKETS; i++) {
        cum += m->duration_buckets[i];
        ft_buf_addf(&b, "flowtrack_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                    ft_buckets[i], (unsigned long long)cum);
    }
    ft_buf_addf(&b, "flowtrack_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
                (unsigned long long)m->duration_count);
    ft_buf_addf(&b, "flowtrack_http_request_duration_seconds_sum %.6f\n", m->duration_sum);
    ft_buf_addf(&b, "flowtrack_http_request_duration_seconds_count %llu\n",
                (unsigned long long)m->duration_count);
    metric_head(&b, "flowtrack_store_handles_open", "gauge", "Store handles open in the process.");
    ft_buf_addf(&b, "flowtrack_store_handles_open %d\n", ft_store_handles_open());
    metric_head(&b, "flowtrack_store_statements_open", "gauge",
                "Prepared statements held by the store handle (a fixed cache).");
    ft_buf_addf(&b, "flowtrack_store_statements_open %d\n",
                srv->st ? ft_store_open_statements(srv->st) : 0);
    metric_head(&b, "flowtrack_store_errors_total", "counter", "Failed reads of the events log.");
    ft_buf_addf(&b, "flowtrack_store_errors_total %llu\n", (unsigned long long)m->store_errors);
    metric_head(&b, "flowtrack_process_open_fds", "gauge", "Open file descriptors.");
    ft_buf_addf(&b, "flowtrack_process_open_fds %ld\n", count_fds());
    long nthreads;
    long long anon;
    proc_status(&nthreads, &anon);
    metric_head(&b, "flowtrack_process_threads", "gauge", "Threads of the process.");
    ft_buf_addf(&b, "flowtrack_process_threads %ld\n", nthreads);
    metric_head(&b, "flowtrack_process_resident_memory_bytes", "gauge",
                "Resident set size, including store file pages mapped by SQLite.");
    ft_buf_addf(&b, "flowtrack_process_resident_memory_bytes %lld\n", rss_bytes());
    metric_head(&b, "flowtrack_process_resident_anon_memory_bytes", "gauge",
                "Anonymous resident memory (heap, stacks): where a memory leak shows.");
    ft_buf_addf(&b, "flowtrack_process_resident_anon_memory_bytes %lld\n", anon);
    srv_reply(srv, req, R_METRICS, 200, "text/plain; version=0.0.4; charset=utf-8", b.buf, b.len,
              t0);
    ft_buf_release(&b);
}

/* ---- requests ------------------------------------------------------------------------ */

/* The route label of a path: a bounded set, whatever the ids in it. */
enum ft_route srv_classify(const char *path)
{
    static const struct {
        const char *path;
        enum ft_route route;
    } fixed[] = {
        {"/healthz", R_HEALTHZ},     {"/metrics", R_METRICS},     {"/api/events", R_EVENTS},
        {"/api/history", R_HISTORY}, {"/api/default", R_DEFAULT}, {"/api/trackers", R_TRACKERS},
    };
    char p[512];
    size_t n = strlen(path);
    if (n >= sizeof(p))
        return R_OTHER;
    memcpy(p, path, n + 1);
    if (n > 1 && p[n - 1] == '/')
        p[n - 1] = '\0';
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (strcmp(p, fixed[i].path) == 0)
            return fixed[i].route;
    if (strncmp(p, "/api/trackers/", 14) != 0)
        return R_OTHER;
    const char *seg[4] = {p + 14, NULL, NULL, NULL};
    int nseg = 1;
    for (char *c = p + 14; *c; c++)
        if (*c == '/') {
            if (nseg == 4)
                return R_OTHER;
            seg[nseg++] = c + 1;
        }
    if (nseg == 1)
        return R_TRACKER;
    size_t n2 = strcspn(seg[1], "/");
    int runs = n2 == 4 && strncmp(seg[1], "runs", 4) == 0;
    if (nseg == 2) {
        static const struct {
            const char *name;
            enum ft_route route;
        } subs[] = {{"events", R_EVENTS}, {"history", R_HISTORY}, {"check", R_CHECK}};
        for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
            if (n2 == strlen(subs[i].name) && strncmp(seg[1], subs[i].name, n2) == 0)
                return subs[i].route;
        return runs ? R_RUNS : R_ENTRIES;
    }
    if (nseg == 3)
        return runs ? R_RUN : R_ENTRY;
    return R_OTHER;
}

static int is_write(struct evhttp_request *req)
{
    enum evhttp_cmd_type c = evhttp_request_get_command(req);
    return c == EVHTTP_REQ_POST || c == EVHTTP_REQ_PUT || c == EVHTTP_REQ_PATCH ||
           c == EVHTTP_REQ_DELETE;
}

/* Split "host:port" / "[v6]:port" into the host part. */
static void host_part(const char *hostport, char *out, size_t n)
{
    if (hostport[0] == '[') {
        const char *e = strchr(hostport, ']');
        snprintf(out, n, "%.*s", e ? (int)(e - hostport + 1) : (int)strlen(hostport), hostport);
        return;
    }
    snprintf(out, n, "%.*s", (int)strcspn(hostport, ":"), hostport);
}

/* Host, Origin and token checks; 0 when the request may proceed (else answered). */
static int check_access(struct ft_server *srv, struct evhttp_request *req, enum ft_route route,
                        int64_t t0)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    const char *host = evhttp_find_header(in, "Host");
    const struct ft_server_opts *o = srv->o;

    if (srv->loopback) {
        char h[300];
        host_part(host ? host : "", h, sizeof(h));
        if (!host || !ft_host_is_loopback(h)) {
            srv_error(srv, req, route, 403, "Host", t0,
                      "this server answers loopback names only (Host: localhost or 127.0.0.1), "
                      "not '%s'",
                      host ? host : "");
            return -1;
        }
    }
    if (is_write(req)) {
        const char *origin = evhttp_find_header(in, "Origin");
        const char *site = evhttp_find_header(in, "Sec-Fetch-Site");
        if (origin) {
            char same[400];
            snprintf(same, sizeof(same), "http://%s", host ? host : "");
            if (strcmp(origin, same) != 0) {
                srv_error(srv, req, route, 403, "Origin", t0,
                          "writes from another origin ('%s') are refused", origin);
                return -1;
            }
        } else if (site && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0) {
            srv_error(srv, req, route, 403, "Sec-Fetch-Site", t0, "cross-site writes are refused");
            return -1;
        }
    }
    if (o->token && (is_write(req) || (o->private_reads && route != R_HEALTHZ))) {
        const char *auth = evhttp_find_header(in, "Authorization");
        int ok = auth && strncmp(auth, "Bearer ", 7) == 0 && ft_ct_streq(auth + 7, o->token);
        if (!ok) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                              "Bearer realm=\"flowtrack\"");
            srv_error(srv, req, route, 401, "Authorization", t0,
                      "this request needs 'Authorization: Bearer <token>'");
            return -1;
        }
    }
    return 0;
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct ft_server *srv = arg;
    int64_t t0 = srv_now_us();
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    if (!path || !*path)
        path = "/";
    enum ft_route route = srv_classify(path);
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);

    if (srv->shutting_down) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
        srv_error(srv, req, route, 503, NULL, t0, "the server is shutting down");
        return;
    }
    if (check_access(srv, req, route, t0))
        return;
    if (route == R_HEALTHZ || route == R_METRICS) {
        if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
            srv_error(srv, req, route, 405, NULL, t0, "only GET here");
            return;
        }
        if (route == R_HEALTHZ)
            srv_reply(srv, req, route, 200, "text/plain; charset=utf-8", "ok", 2, t0);
        else
            serve_metrics(srv, req, t0);
        return;
    }
    if (strncmp(path, "/api/", 5) != 0) {
        srv_error(srv, req, R_OTHER, 404, NULL, t0, "no such route '%s'", path);
        return;
    }
    api_handle(srv, req, path, route, t0);
}

/* ---- lifecycle ----------------------------------------------------------------------- */

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
    stream_reap(srv);
    maybe_finish(srv);
}

void srv_flush_closed(struct ft_server *srv)
{
    srv->flushing--;
    maybe_finish(srv);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct ft_server *srv = arg;
    (void)fd;
    (void)what;
    stream_tick(srv, ft_mono_ms());
}

static void on_grace(evutil_socket_t fd, short what, void *arg)
{
    struct ft_server *srv = arg;
    (void)fd;
    (void)what;
    srv_log("warn", "shutdown", "msg=\"grace period over\" streams_open=%d flushing=%d",
            srv->streams_open, srv->flushing);
    event_base_loopbreak(srv->base);
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
    srv_log("info", "shutdown", "signal=%s streams_open=%d", sig == SIGTERM ? "TERM" : "INT",
            srv->streams_open);
    if (srv->bound) { /* stop accepting: closes the listening socket */
        evhttp_del_accept_socket(srv->http, srv->bound);
        srv->bound = NULL;
    }
    stream_shutdown_all(srv);
    struct timeval tv = {(time_t)(srv->o->grace_ms / 1000),
                         (suseconds_t)(srv->o->grace_ms % 1000) * 1000};
    evtimer_add(srv->ev_grace, &tv);
    maybe_finish(srv);
}

static int write_ready_file(const char *path, const char *url, struct ft_err *err)
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

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int bind_listener(struct ft_server *srv, struct ft_err *err)
{
    struct sockaddr_storage ss;
    int sslen = sizeof(ss);
    memset(&ss, 0, sizeof(ss));
    /* evutil refuses port 0: parse with port 1, then ask for any port. */
    char spec[300];
    const char *colon = strrchr(srv->o->listen, ':');
    int any_port = colon && strcmp(colon, ":0") == 0;
    snprintf(spec, sizeof(spec), "%.*s%s", colon ? (int)(colon - srv->o->listen) : 0,
             srv->o->listen,
             any_port ? ":1"
             : colon  ? colon
                      : "");
    if (!colon || evutil_parse_sockaddr_port(spec, (struct sockaddr *)&ss, &sslen) != 0)
        return ft_err_set(err, FT_EINVAL,
                          "--listen '%s' is not ADDRESS:PORT (127.0.0.1:7464, [::1]:0)",
                          srv->o->listen);
    char host[INET6_ADDRSTRLEN + 2] = "";
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        if (any_port)
            a->sin_port = 0;
        srv->loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        if (any_port)
            a->sin6_port = 0;
        srv->loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
    }
    if (!srv->loopback && !srv->o->token)
        return ft_err_set(err, FT_EINVAL,
                          "listening on '%s' (not loopback) needs a token: give --token or "
                          "FLOWTRACK_TOKEN",
                          srv->o->listen);
    struct evconnlistener *l = evconnlistener_new_bind(
        srv->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
        4096, (struct sockaddr *)&ss, sslen);
    if (!l)
        return ft_err_set(err, FT_EIO, "cannot listen on '%s': %s", srv->o->listen,
                          strerror(errno));
    srv->bound = evhttp_bind_listener(srv->http, l);
    if (!srv->bound) {
        evconnlistener_free(l);
        return ft_err_set(err, FT_EIO, "cannot listen on '%s'", srv->o->listen);
    }
    struct sockaddr_storage got;
    socklen_t gl = sizeof(got);
    getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&got, &gl);
    unsigned port;
    if (got.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&got;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        port = ntohs(a->sin_port);
        snprintf(srv->url, sizeof(srv->url), "http://%s:%u", host, port);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&got;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        port = ntohs(a->sin6_port);
        snprintf(srv->url, sizeof(srv->url), "http://[%s]:%u", host, port);
    }
    return 0;
}

int ft_server_run(const struct ft_server_opts *o, struct ft_store *st, struct ft_err *err)
{
    struct ft_server *srv = ft_xcalloc(1, sizeof(*srv));
    int rc = 0;
    srv->o = o;
    srv->st = st;
    ft_store_set_busy_timeout(st, (int)o->busy_ms);
    srv->watch_fd = -1;
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();

    srv->base = event_base_new();
    srv->http = srv->base ? evhttp_new(srv->base) : NULL;
    if (!srv->http) {
        rc = ft_err_set(err, FT_EIO, "cannot start the event loop");
        goto out;
    }
    evhttp_set_gencb(srv->http, on_request, srv);
    evhttp_set_max_body_size(srv->http, FT_SERVE_MAX_BODY);
    evhttp_set_max_headers_size(srv->http, FT_SERVE_MAX_HEADERS);
    evhttp_set_timeout(srv->http, o->request_timeout_s);
    evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                              EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH |
                                              EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS);
    srv->scratch = evbuffer_new();
    ft_cache_init(&srv->cache, FT_SERVE_CACHE_BYTES);
    srv->ev_term = evsignal_new(srv->base, SIGTERM, on_signal, srv);
    srv->ev_int = evsignal_new(srv->base, SIGINT, on_signal, srv);
    srv->ev_reap = event_new(srv->base, -1, 0, on_reap, srv);
    log_buffering(srv->base);
    srv->ev_tick = event_new(srv->base, -1, EV_PERSIST, on_tick, srv);
    srv->ev_poll = evtimer_new(srv->base, on_poll, srv);
    srv->ev_grace = evtimer_new(srv->base, on_grace, srv);
    event_add(srv->ev_term, NULL);
    event_add(srv->ev_int, NULL);

    /* The tick drives heartbeats, write stalls and idle timeouts. */
    int64_t tick = 1000;
    if (o->heartbeat_ms > 0 && o->heartbeat_ms / 5 < tick)
        tick = o->heartbeat_ms / 5;
    if (o->write_timeout_ms > 0 && o->write_timeout_ms / 5 < tick)
        tick = o->write_timeout_ms / 5;
    if (o->idle_timeout_ms > 0 && o->idle_timeout_ms / 5 < tick)
        tick = o->idle_timeout_ms / 5;
    if (tick < 10)
        tick = 10;
    srv->tick_ms = tick;
    struct timeval tv = {(time_t)(tick / 1000), (suseconds_t)(tick % 1000) * 1000};
    event_add(srv->ev_tick, &tv);

    if ((rc = ft_store_last_seq(st, &srv->head, err)))
        goto out;
    if ((rc = bind_listener(srv, err)))
        goto out;
    watch_store(srv);
    fprintf(stderr, "flowtrack: listening on %s\n", srv->url);
    if (o->ready_file && (rc = write_ready_file(o->ready_file, srv->url, err)))
        goto out;
    srv_log("info", "start", "url=%s store=%s heartbeat_ms=%lld max_streams=%d stream_buffer=%zu",
            srv->url, ft_store_path(st), (long long)o->heartbeat_ms, o->max_streams,
            o->stream_buffer);

    event_base_dispatch(srv->base);

    /* Shutdown order: streams are ended; free the HTTP side, then our events, then the base. */
    if (srv->live)
        stream_shutdown_all(srv); /* not reached after a signal; kept for loop errors */
    stream_reap(srv);
out:
    if (srv->http)
        evhttp_free(srv->http); /* closes the listener and every connection left */
    stream_reap(srv);
    if (srv->ev_watch)
        event_free(srv->ev_watch);
    ft_store_watch_close(st);
    struct event **evs[] = {&srv->ev_term, &srv->ev_int,  &srv->ev_tick,
                            &srv->ev_reap, &srv->ev_poll, &srv->ev_grace};
    for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
        if (*evs[i]) {
            event_free(*evs[i]);
            *evs[i] = NULL;
        }
    if (srv->scratch)
        evbuffer_free(srv->scratch);
    ft_cache_release(&srv->cache);
    log_buffering(NULL);
    if (srv->base)
        event_base_free(srv->base);
    if (!rc)
        srv_log("info", "stop", "streams_open=%d flushing=%d", srv->streams_open, srv->flushing);
    free(srv);
    libevent_global_shutdown();
    return rc;
}
