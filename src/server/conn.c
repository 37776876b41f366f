/*
 * conn.c: every connection of the server, from accept to close: the descriptor budget
 * (--max-connections) and the deadlines that keep slow clients from holding one for ever
 * (--header-timeout, --body-timeout, --keepalive-timeout).
 *
 * evhttp (libevent 2.1) accepts, parses and answers, but has no connection limit, no hook when
 * a connection opens, and only a per-read timeout (a client sending a byte every few seconds
 * keeps it for ever). So each connection gets a struct srv_conn of ours, owned here:
 *  - evhttp asks for each new connection's bufferevent (evhttp_set_bevcb): on_new_bev() makes
 *    it as evhttp would, counts the connection and queues it as CONN_NEW, holding a reference
 *    to the bufferevent. evhttp builds its connection around it right after, in the same call.
 *  - on_adopt(), activated by on_new_bev() and run before the loop polls again (so before any
 *    byte is read), learns evhttp's connection from the bufferevent's callback argument, sets
 *    the close callback and a watch on the input buffer, and drops the reference. Should
 *    evhttp have failed and freed the bufferevent in between, its callbacks are cleared: the
 *    connection is forgotten and uncounted.
 *  - on_conn_close(), evhttp's close callback, is the one end: it runs the hook of whoever
 *    uses the connection (a channel, srv_conn_on_close) and then conn_free(), the one release,
 *    which counts the end by reason. Every way a connection goes (the client, a reply that
 *    closes, a deadline, an eviction, evhttp_free at exit) comes through evhttp_connection_free
 *    and so through it.
 *
 * The budget. Each connection holds a descriptor; --max-connections (default: RLIMIT_NOFILE
 * less FT_SERVE_FD_RESERVE for the store, the log, /metrics, the MCP run tool's pipes) bounds
 * the connections kept. At the budget, the listener goes on accepting only while an idle
 * keep-alive connection or one still sending its headers could make room: the connection
 * accepted then (one past the budget; on_new_bev stops the listener's accept loop there) makes
 * on_adopt close the oldest idle one, else the oldest half-sent one. So a flood of half-sent
 * requests cannot lock a new client out (/healthz answers at once). Connections reading a
 * body, being answered or streaming are never evicted; when only those are left the listener
 * pauses (clients wait in the kernel's backlog) until one closes or becomes evictable.
 * accept() failing for lack of descriptors (EMFILE, ENFILE: something else used the reserve)
 * pauses it for FT_CONN_RETRY_MS instead of letting the level-triggered listener spin on it.
 *
 * The deadlines. The state lists are in order of when their deadline started, so the tick
 * looks only at their heads. Whether the headers are complete is not something evhttp tells
 * (it gives the request only when the body is in too): head_scan() watches the bytes for the
 * blank line that ends them, only to choose which deadline (and reason) applies; evhttp alone
 * parses the request.
 */
#include "internal.h"

#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "../util/banned.h"

#define FT_CONN_RETRY_MS  250    /* accept() failed: wait this long before trying again */
#define FT_CONN_LOG_MS    10000  /* at most one pressure line per this interval */
#define FT_CONN_WRITE_MAX 262144 /* bytes written to a connection in one go at most */

struct srv_conn {
    struct ft_server *srv;
    struct evhttp_connection *evcon; /* NULL while CONN_NEW */
    struct bufferevent *bev;         /* our reference while CONN_NEW, then NULL */
    int fd;                          /* -1 while CONN_NEW */
    enum conn_state state;
    int64_t since_ms; /* when the state (and its deadline) started */
    int newlines;     /* line ends in a row at the end of what was read (head_scan) */
    enum conn_end why;
    struct evbuffer_cb_entry *incb; /* the watch on evhttp's input buffer */
    void (*on_close)(struct evhttp_connection *, void *);
    void *on_close_arg;
    TAILQ_ENTRY(srv_conn) link; /* in srv->conns.by_state[state] */
};

static const char *const end_names[CONN_END__COUNT] = {
    [CONN_END_OTHER] = "other",
    [CONN_END_HEADER_TIMEOUT] = "header_timeout",
    [CONN_END_BODY_TIMEOUT] = "body_timeout",
    [CONN_END_KEEPALIVE_TIMEOUT] = "keepalive_timeout",
    [CONN_END_EVICTED] = "evicted",
};

static const char *const refusal_names[CONN_REFUSED__COUNT] = {
    [CONN_REFUSED_LIMIT] = "limit",
    [CONN_REFUSED_EMFILE] = "emfile",
    [CONN_REFUSED_ENFILE] = "enfile",
    [CONN_REFUSED_OTHER] = "error",
};

const char *conn_end_name(enum conn_end why)
{
    return (unsigned)why < CONN_END__COUNT ? end_names[why] : "unknown";
}

const char *conn_refusal_name(enum conn_refusal why)
{
    return (unsigned)why < CONN_REFUSED__COUNT ? refusal_names[why] : "unknown";
}

/*
 * The server whose listener is bound. libevent calls the listener's error callback with
 * evhttp's own argument (the struct evhttp), which leads nowhere back to the server; one
 * server listens per process.
 */
static struct ft_server *accepting_srv;

/* ---- the pressure log line -------------------------------------------------------------- */

/* One line with what was refused, evicted and cut since the last one. */
static void pressure_log(struct ft_server *srv, int64_t now)
{
    struct srv_conns *cs = &srv->conns;
    struct ft_buf b;
    int warn = 0;
    ft_buf_init(&b, 0);
    ft_buf_addf(&b, "open=%d max=%d accepting=%d", cs->open, cs->max, cs->accepting);
    for (int i = 0; i < CONN_REFUSED__COUNT; i++) {
        uint64_t d = cs->refused[i] - cs->logged_refused[i];
        ft_buf_addf(&b, " refused_%s=%llu", refusal_names[i], (unsigned long long)d);
        warn |= d != 0;
        cs->logged_refused[i] = cs->refused[i];
    }
    for (int i = CONN_END_OTHER + 1; i < CONN_END__COUNT; i++) {
        uint64_t d = cs->closed[i] - cs->logged_closed[i];
        ft_buf_addf(&b, " %s=%llu", end_names[i], (unsigned long long)d);
        warn |= i == CONN_END_EVICTED && d != 0;
        cs->logged_closed[i] = cs->closed[i];
    }
    ft_buf_addf(&b, " interval_s=%d", FT_CONN_LOG_MS / 1000);
    srv_log(srv, warn ? "warn" : "info", "connections", "%s", b.buf);
    ft_buf_release(&b);
    cs->logged_ms = now;
}

static int pressure_pending(const struct srv_conns *cs)
{
    for (int i = 0; i < CONN_REFUSED__COUNT; i++)
        if (cs->refused[i] != cs->logged_refused[i])
            return 1;
    for (int i = CONN_END_OTHER + 1; i < CONN_END__COUNT; i++)
        if (cs->closed[i] != cs->logged_closed[i])
            return 1;
    return 0;
}

/* Something worth a line happened: write it now, or at the tick once the interval is over. */
static void pressure_note(struct ft_server *srv)
{
    int64_t now = ft_mono_ms();
    if (srv->conns.logged_ms == 0 || now - srv->conns.logged_ms >= FT_CONN_LOG_MS)
        pressure_log(srv, now);
}

/* ---- the listener ----------------------------------------------------------------------- */

static struct evconnlistener *listener_of(struct ft_server *srv)
{
    return srv->bound ? evhttp_bound_socket_get_listener(srv->bound) : NULL;
}

/* The oldest connection that may be closed to make room: idle, else still sending headers. */
static struct srv_conn *evictable(struct srv_conns *cs)
{
    struct srv_conn *c = TAILQ_FIRST(&cs->by_state[CONN_IDLE]);
    return c ? c : TAILQ_FIRST(&cs->by_state[CONN_HEAD]);
}

/*
 * Accept while there is room (below the budget, or at it with a connection to evict for the
 * next one), no retry is pending and the server is not stopping.
 */
static void listener_update(struct ft_server *srv)
{
    struct srv_conns *cs = &srv->conns;
    struct evconnlistener *l = listener_of(srv);
    int room = cs->open < cs->max || (cs->open == cs->max && evictable(cs));
    if (!room && !cs->full && l && cs->open == cs->max) { /* past it: on_adopt evicts first */
        cs->full = 1; /* counted once per time the budget fills up */
        cs->refused[CONN_REFUSED_LIMIT]++;
        pressure_note(srv);
    } else if (room) {
        cs->full = 0;
    }
    int want = l && !srv->shutting_down && !cs->backoff && room;
    if (!l || want == cs->accepting)
        return;
    if (want)
        evconnlistener_enable(l);
    else
        evconnlistener_disable(l);
    cs->accepting = want;
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    struct ft_server *srv = arg;
    (void)fd;
    (void)what;
    srv->conns.backoff = 0;
    listener_update(srv);
}

/*
 * accept() failed with an error libevent does not retry (EMFILE, ENFILE, ENOBUFS...): the
 * listening socket stays readable, so without a pause the loop would spin on it.
 */
static void on_accept_error(struct evconnlistener *l, void *arg)
{
    int e = EVUTIL_SOCKET_ERROR();
    struct ft_server *srv = accepting_srv;
    (void)arg;
    if (!srv) {
        evconnlistener_disable(l);
        return;
    }
    struct srv_conns *cs = &srv->conns;
    cs->refused[e == EMFILE   ? CONN_REFUSED_EMFILE
                : e == ENFILE ? CONN_REFUSED_ENFILE
                              : CONN_REFUSED_OTHER]++;
    cs->backoff = 1;
    listener_update(srv);
    struct timeval tv = {0, FT_CONN_RETRY_MS * 1000};
    evtimer_add(cs->ev_retry, &tv);
    pressure_note(srv);
}

/* ---- states ----------------------------------------------------------------------------- */

static void conn_move(struct srv_conn *c, enum conn_state st, int64_t now)
{
    struct srv_conns *cs = &c->srv->conns;
    TAILQ_REMOVE(&cs->by_state[c->state], c, link);
    c->state = st;
    c->since_ms = now;
    c->newlines = 0;
    TAILQ_INSERT_TAIL(&cs->by_state[st], c, link);
    if (cs->open >= cs->max) /* what may be evicted changed */
        listener_update(c->srv);
}

/*
 * Look at the bytes of buf from offset from for the blank line that ends a request's headers
 * (evhttp takes "\r\n" and "\n" as line ends): then the body's deadline applies.
 */
static void head_scan(struct srv_conn *c, struct evbuffer *buf, size_t from)
{
    size_t len = evbuffer_get_length(buf);
    struct evbuffer_ptr p;
    struct evbuffer_iovec v[8];
    if (from >= len || evbuffer_ptr_set(buf, &p, from, EVBUFFER_PTR_SET) != 0)
        return;
    size_t left = len - from;
    while (left > 0) {
        int n = evbuffer_peek(buf, (ev_ssize_t)left, &p, v, 8);
        size_t seen = 0;
        for (int i = 0; i < n && i < 8 && seen < left; i++) {
            const unsigned char *s = v[i].iov_base;
            size_t k = v[i].iov_len < left - seen ? v[i].iov_len : left - seen;
            for (size_t j = 0; j < k; j++) {
                if (s[j] == '\n' && ++c->newlines == 2) {
                    conn_move(c, CONN_BODY, ft_mono_ms());
                    return;
                }
                if (s[j] != '\n' && s[j] != '\r')
                    c->newlines = 0;
            }
            seen += k;
        }
        if (n <= 0 || seen == 0 || evbuffer_ptr_set(buf, &p, seen, EVBUFFER_PTR_ADD) != 0)
            return;
        left -= seen;
    }
}

/* Bytes arrived (evhttp has not looked at them yet): the next request starts, or goes on. */
static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct srv_conn *c = arg;
    if (info->n_added == 0)
        return;
    if (c->state == CONN_IDLE) /* the deadline of a kept-alive request runs from its first byte */
        conn_move(c, CONN_HEAD, ft_mono_ms());
    if (c->state == CONN_HEAD)
        head_scan(c, buf, evbuffer_get_length(buf) - info->n_added);
}

/* The connection of evcon, or NULL when it is not one of ours. */
static struct srv_conn *conn_of(struct ft_server *srv, struct evhttp_connection *evcon)
{
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    struct srv_conns *cs = &srv->conns;
    if (fd < 0 || (size_t)fd >= cs->nfd || !cs->by_fd[fd] || cs->by_fd[fd]->evcon != evcon)
        return NULL;
    return cs->by_fd[fd];
}

/* ---- the one end ------------------------------------------------------------------------ */

/* The only place a connection is released: from its close callback. */
static void conn_free(struct srv_conn *c)
{
    struct ft_server *srv = c->srv;
    struct srv_conns *cs = &srv->conns;
    if (c->incb) {
        evbuffer_remove_cb_entry(bufferevent_get_input(evhttp_connection_get_bufferevent(c->evcon)),
                                 c->incb);
        c->incb = NULL;
    }
    if (c->fd >= 0 && (size_t)c->fd < cs->nfd && cs->by_fd[c->fd] == c)
        cs->by_fd[c->fd] = NULL;
    TAILQ_REMOVE(&cs->by_state[c->state], c, link);
    cs->closed[c->why]++;
    cs->open--;
    free(c);
    listener_update(srv);
    srv_publish(srv, 0);
}

/* evhttp is freeing the connection (whoever asked): the user's hook, then the release. */
static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
    struct srv_conn *c = arg;
    if (c->on_close)
        c->on_close(evcon, c->on_close_arg);
    conn_free(c);
}

/* Close c for why; c is freed when this returns. Not from inside evhttp's callbacks of c. */
static void conn_close(struct srv_conn *c, enum conn_end why)
{
    c->why = why;
    evhttp_connection_free(c->evcon); /* on_conn_close runs, then evhttp frees the rest */
}

/* ---- accept ----------------------------------------------------------------------------- */

/* evhttp accepted a connection and asks for its bufferevent: the one it would make itself. */
static struct bufferevent *on_new_bev(struct event_base *base, void *arg)
{
    struct ft_server *srv = arg;
    struct srv_conns *cs = &srv->conns;
    struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);
    if (!bev)
        return NULL; /* evhttp tries its own, and fails the same way */
    struct srv_conn *c = ft_xcalloc(1, sizeof(*c));
    c->srv = srv;
    c->bev = bev;
    c->fd = -1;
    c->state = CONN_NEW;
    c->since_ms = ft_mono_ms();
    bufferevent_incref(bev); /* until on_adopt has looked at it */
    TAILQ_INSERT_TAIL(&cs->by_state[CONN_NEW], c, link);
    cs->open++;
    cs->accepted++;
    srv_publish(srv, 0);
    event_active(cs->ev_adopt, EV_TIMEOUT, 0);
    struct evconnlistener *l = listener_of(srv);
    if (cs->open > cs->max && l && cs->accepting) {
        /* one past the budget: no more until on_adopt has made room (this ends the
         * listener's accept loop after this connection) */
        evconnlistener_disable(l);
        cs->accepting = 0;
    }
    return bev;
}

/* The descriptor table grows with the highest descriptor seen. */
static void by_fd_fit(struct srv_conns *cs, int fd)
{
    if ((size_t)fd < cs->nfd)
        return;
    size_t n = cs->nfd ? cs->nfd : 1024;
    while (n <= (size_t)fd)
        n *= 2;
    cs->by_fd = ft_xrealloc(cs->by_fd, n * sizeof(*cs->by_fd));
    memset(cs->by_fd + cs->nfd, 0, (n - cs->nfd) * sizeof(*cs->by_fd));
    cs->nfd = n;
}

/* One past the budget: close the oldest idle or half-sent connection (maybe the new one). */
static void budget(struct ft_server *srv)
{
    struct srv_conns *cs = &srv->conns;
    struct srv_conn *c;
    while (cs->open > cs->max && (c = evictable(cs)))
        conn_close(c, CONN_END_EVICTED);
    listener_update(srv);
}

/* Adopt the connections accepted since the last run (see the top of the file). */
static void on_adopt(evutil_socket_t fd, short what, void *arg)
{
    struct ft_server *srv = arg;
    struct srv_conns *cs = &srv->conns;
    struct srv_conn *c;
    int64_t now = ft_mono_ms();
    (void)fd;
    (void)what;
    while ((c = TAILQ_FIRST(&cs->by_state[CONN_NEW]))) {
        struct bufferevent *bev = c->bev;
        bufferevent_event_cb eventcb = NULL;
        void *evcon = NULL;
        bufferevent_getcb(bev, NULL, NULL, &eventcb, &evcon);
        c->bev = NULL;
        if (!eventcb || !evcon) { /* evhttp gave up on it and freed it */
            TAILQ_REMOVE(&cs->by_state[CONN_NEW], c, link);
            cs->open--;
            free(c);
            bufferevent_decref(bev);
            continue;
        }
        c->evcon = evcon;
        c->fd = bufferevent_getfd(bev);
        if (c->fd >= 0) {
            by_fd_fit(cs, c->fd);
            cs->by_fd[c->fd] = c;
            /* A reply is written as soon as it is whole: with Nagle's algorithm on, the tail
             * of a reply longer than one write waited for the client's delayed ACK (40 ms
             * for each GET of a tracker over 16 KiB). Fails harmlessly on a Unix socket. */
            int one = 1;
            setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        }
        /* one writev for a reply up to this size, not libevent's 16 KiB a callback */
        bufferevent_set_max_single_write(bev, FT_CONN_WRITE_MAX);
        evhttp_connection_set_closecb(c->evcon, on_conn_close, c);
        c->incb = evbuffer_add_cb(bufferevent_get_input(bev), on_input, c);
        conn_move(c, CONN_HEAD, now);
        bufferevent_decref(bev);
    }
    uint64_t before = cs->closed[CONN_END_EVICTED];
    budget(srv);
    if (cs->closed[CONN_END_EVICTED] != before)
        pressure_note(srv);
}

/* ---- the server's side ------------------------------------------------------------------ */

void srv_conns_start(struct ft_server *srv)
{
    struct srv_conns *cs = &srv->conns;
    const struct ft_server_opts *o = srv->o;
    struct rlimit rl;
    long nofile = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        nofile = rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1u << 24) ? (1L << 24)
                                                                          : (long)rl.rlim_cur;
    /* Small limits (tests) keep half for the rest of the process. */
    long reserve = nofile >= 2 * FT_SERVE_FD_RESERVE ? FT_SERVE_FD_RESERVE : nofile / 2;
    long fit = nofile - reserve;
    for (int i = 0; i < CONN__NSTATES; i++)
        TAILQ_INIT(&cs->by_state[i]);
    cs->max = o->max_connections > 0 ? o->max_connections : (int)(fit > 1 ? fit : 1);
    if (o->max_connections > fit)
        srv_log(srv, "warn", "connections",
                "msg=\"--max-connections is above the descriptor limit less its reserve: "
                "accept() will fail for lack of descriptors first\" max=%d nofile=%ld "
                "reserve=%ld",
                cs->max, nofile, reserve);
    by_fd_fit(cs, (int)(nofile < 65536 ? nofile : 65536) - 1);
    cs->ev_adopt = event_new(srv->base, -1, 0, on_adopt, srv);
    cs->ev_retry = evtimer_new(srv->base, on_retry, srv);
    evhttp_set_bevcb(srv->http, on_new_bev, srv);
}

void srv_conns_listening(struct ft_server *srv, struct evconnlistener *l)
{
    accepting_srv = srv;
    srv->conns.accepting = 1; /* a new listener accepts */
    evconnlistener_set_error_cb(l, on_accept_error);
}

void srv_conns_unlisten(struct ft_server *srv)
{
    if (accepting_srv == srv)
        accepting_srv = NULL;
    if (srv->conns.ev_retry)
        evtimer_del(srv->conns.ev_retry);
    srv->conns.accepting = 0;
}

void srv_conns_stop(struct ft_server *srv)
{
    struct srv_conns *cs = &srv->conns;
    struct srv_conn *c;
    if (!cs->ev_adopt)
        return; /* never started */
    /* Accepted but never adopted: evhttp_free freed their connections; ours is the last
     * reference to each bufferevent. Every other connection went through conn_free. */
    while ((c = TAILQ_FIRST(&cs->by_state[CONN_NEW]))) {
        TAILQ_REMOVE(&cs->by_state[CONN_NEW], c, link);
        cs->open--;
        bufferevent_decref(c->bev);
        free(c);
    }
    if (cs->open != 0)
        srv_log(srv, "error", "connections", "msg=\"connections left at exit\" open=%d", cs->open);
    event_free(cs->ev_adopt);
    cs->ev_adopt = NULL;
    event_free(cs->ev_retry);
    cs->ev_retry = NULL;
    free(cs->by_fd);
    cs->by_fd = NULL;
    cs->nfd = 0;
}

/* Close the connections of state st whose deadline (since + timeout) is past. */
static int expire(struct ft_server *srv, enum conn_state st, int64_t timeout, enum conn_end why,
                  int64_t now)
{
    struct srv_conn *c;
    int n = 0;
    if (timeout <= 0)
        return 0;
    while ((c = TAILQ_FIRST(&srv->conns.by_state[st])) && now - c->since_ms >= timeout) {
        conn_close(c, why);
        n++;
    }
    return n;
}

void srv_conns_tick(struct ft_server *srv, int64_t now)
{
    const struct ft_server_opts *o = srv->o;
    struct srv_conns *cs = &srv->conns;
    int n = expire(srv, CONN_HEAD, o->header_timeout_ms, CONN_END_HEADER_TIMEOUT, now);
    n += expire(srv, CONN_BODY, o->body_timeout_ms, CONN_END_BODY_TIMEOUT, now);
    n += expire(srv, CONN_IDLE, o->keepalive_timeout_ms, CONN_END_KEEPALIVE_TIMEOUT, now);
    if (n)
        pressure_note(srv);
    else if (cs->ev_adopt && now - cs->logged_ms >= FT_CONN_LOG_MS && pressure_pending(cs))
        pressure_log(srv, now);
}

/* The reply is sent: the connection waits for the next request (evhttp may close it next). */
static void on_complete(struct evhttp_request *req, void *arg)
{
    struct ft_server *srv = arg;
    struct srv_conn *c = conn_of(srv, evhttp_request_get_connection(req));
    if (!c || c->state == CONN_STREAM)
        return;
    conn_move(c, CONN_IDLE, ft_mono_ms());
    struct evbuffer *in = bufferevent_get_input(evhttp_connection_get_bufferevent(c->evcon));
    if (evbuffer_get_length(in) > 0) { /* the next request is already here (pipelined) */
        conn_move(c, CONN_HEAD, c->since_ms);
        head_scan(c, in, 0);
    }
}

void srv_conn_request(struct ft_server *srv, struct evhttp_request *req)
{
    struct srv_conn *c = conn_of(srv, evhttp_request_get_connection(req));
    if (!c)
        return;
    conn_move(c, CONN_BUSY, ft_mono_ms());
    evhttp_request_set_on_complete_cb(req, on_complete, srv);
}

void srv_conn_flush(struct bufferevent *bev)
{
    struct evbuffer *out = bufferevent_get_output(bev);
    evutil_socket_t fd = bufferevent_getfd(bev);
    if (fd < 0 || evbuffer_get_length(out) == 0)
        return;
    /* An error (the peer gone) is left in place: libevent's own write finds it and evhttp
     * closes the connection its usual way. */
    if (evbuffer_write(out, fd) < 0 || evbuffer_get_length(out) > 0)
        return;
    /* evhttp moves on when its write callback runs: the request's end (on_complete), then
     * the next request or the close. bufferevent_trigger holds a reference while it runs. */
    bufferevent_trigger(bev, EV_WRITE, 0);
}

void srv_conn_stream(struct ft_server *srv, struct evhttp_connection *evcon)
{
    struct srv_conn *c = conn_of(srv, evcon);
    if (c)
        conn_move(c, CONN_STREAM, ft_mono_ms());
}

void srv_conn_on_close(struct ft_server *srv, struct evhttp_connection *evcon,
                       void (*fn)(struct evhttp_connection *, void *), void *arg)
{
    struct srv_conn *c = conn_of(srv, evcon);
    if (!c) { /* not ours (cannot happen): evhttp's own callback then */
        evhttp_connection_set_closecb(evcon, fn, arg);
        return;
    }
    c->on_close = fn;
    c->on_close_arg = arg;
}
