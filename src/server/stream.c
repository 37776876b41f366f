/*
 * stream.c: the Server-Sent Events streams.
 *
 * Ownership (STYLE 3.4): a struct ft_stream owns everything a stream holds —
 * its request and connection (until libevent takes them back), the progress
 * watch on the connection's output buffer, its place in the log. Every way a
 * stream can finish calls ft_stream_end(s, why), which only records the first
 * reason, takes the stream off the live list and schedules stream_free() on
 * the loop's reaper event. stream_free() is the one place that releases
 * anything, counts the end by reason and writes the "stream_end" log line.
 *
 * The evhttp side of each end (reference/http-library-choice.md):
 *  - the client closed or reset: evhttp calls on_close() while it frees the
 *    connection. The request is either still attached (libevent frees it) or
 *    detached (req->evcon NULL, libevent never frees it): that one becomes
 *    s->orphan and stream_free() releases it with evhttp_send_reply_end().
 *  - a clean end (complete, error, idle timeout, shutdown): the close callback
 *    is replaced by srv_flush_closed, then evhttp_send_reply_end() writes the
 *    last chunk; "Connection: close" makes evhttp close once it is flushed.
 *  - a slow reader: close callback cleared, evhttp_connection_free() at once.
 *
 * Delivery: srv->head is the newest sequence number fanned out. A stream
 * serves the log up to s->pos; a live stream has pos >= head and gets each new
 * event from stream_fanout(). A stream that starts with Last-Event-ID (or
 * falls behind while replaying) reads the store from pos in batches, pausing
 * while its output is above half its bound and resuming when it drains, so
 * replay never grows memory and never skips or repeats an event.
 *
 * Writing: every byte of a stream goes through send_raw(). While a stream keeps up, its output
 * buffer is empty and the frame is written to the socket at once, as one chunk framed by the
 * fan-out for all streams; only what the kernel does not take waits in the buffer, and while
 * anything waits there, later frames queue behind it (see send_raw).
 */
#include "internal.h"

#include "../util/ft_err.h"
#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "../util/banned.h"

#define REPLAY_BATCH 256

static size_t queued(struct ft_stream *s)
{
    return s->out ? evbuffer_get_length(s->out) : 0;
}

size_t stream_queued_bytes(struct ft_server *srv)
{
    size_t n = 0;
    for (struct ft_stream *s = srv->live; s; s = s->next)
        n += queued(s);
    return n;
}

static void list_remove(struct ft_stream **head, struct ft_stream *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        *head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
}

static void list_push(struct ft_stream **head, struct ft_stream *s)
{
    s->prev = NULL;
    s->next = *head;
    if (*head)
        (*head)->prev = s;
    *head = s;
}

/* ---- ending -------------------------------------------------------------------------- */

void ft_stream_end(struct ft_stream *s, enum ft_end why)
{
    if (s->ended)
        return;
    s->ended = 1;
    s->why = why;
    list_remove(&s->srv->live, s);
    list_push(&s->srv->dead, s);
    event_active(s->srv->ev_reap, 0, 0);
}

/* The client went away: evhttp is freeing the connection right now. */
static void on_close(struct evhttp_connection *evcon, void *arg)
{
    struct ft_stream *s = arg;
    (void)evcon;
    if (s->req && !evhttp_request_get_connection(s->req))
        s->orphan = s->req; /* detached: evhttp will not free it */
    s->req = NULL;
    s->evcon = NULL;
    s->out = NULL;
    s->fd = -1;
    s->outcb = NULL; /* the buffer goes with the connection */
    ft_stream_end(s, FT_END_CLIENT_CLOSED);
}

static void on_flush_closed(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    srv_flush_closed(arg);
}

static void stream_free(struct ft_stream *s)
{
    struct ft_server *srv = s->srv;
    if (s->outcb) {
        evbuffer_remove_cb_entry(s->out, s->outcb);
        s->outcb = NULL;
    }
    if (s->req) {
        if (s->why == FT_END_SLOW_READER) {
            evhttp_connection_set_closecb(s->evcon, NULL, NULL);
            evhttp_connection_free(s->evcon); /* frees the request too */
        } else {
            /* Bound the flush: a client that never takes the last bytes is dropped after the
             * write timeout (streams run without evhttp's timeouts, see stream_open). */
            struct bufferevent *bev = evhttp_connection_get_bufferevent(s->evcon);
            int64_t w = srv->o->write_timeout_ms > 0 ? srv->o->write_timeout_ms
                                                     : FT_SERVE_DEFAULT_WRITE_TIMEOUT;
            struct timeval tv = {(time_t)(w / 1000), (suseconds_t)(w % 1000) * 1000};
            if (bev)
                bufferevent_set_timeouts(bev, NULL, &tv);
            evhttp_connection_set_closecb(s->evcon, on_flush_closed, srv);
            srv->flushing++;
            evhttp_send_reply_end(s->req);
        }
        s->req = NULL;
        s->evcon = NULL;
        s->out = NULL;
        s->fd = -1;
    }
    if (s->orphan) {
        evhttp_send_reply_end(s->orphan); /* a detached request: this frees it */
        s->orphan = NULL;
    }
    srv->m.streams_closed[s->why]++;
    srv->streams_open--;
    struct ft_buf b;
    ft_buf_init(&b, 0);
    ft_buf_adds(&b, "reason=");
    ft_buf_adds(&b, ft_end_name(s->why));
    ft_buf_adds(&b, " tracker=");
    srv_logfmt_value(&b, s->what);
    ft_buf_addf(&b, " dur_ms=%lld events=%llu bytes=%llu last_id=%lld peer=%s",
                (long long)(ft_mono_ms() - s->started_ms), (unsigned long long)s->events,
                (unsigned long long)s->bytes, (long long)s->pos, s->peer);
    srv_log(s->why == FT_END_ERROR ? "error" : "info", "stream_end", "%s", b.buf);
    ft_buf_release(&b);
    free(s);
}

void stream_reap(struct ft_server *srv)
{
    while (srv->dead) {
        struct ft_stream *s = srv->dead;
        list_remove(&srv->dead, s);
        stream_free(s);
    }
}

/* ---- writing ------------------------------------------------------------------------- */

/*
 * One frame as it goes on the wire. A chunked reply (HTTP/1.1) carries it as one chunk,
 * "<hex>\r\n" frame "\r\n", byte for byte what evhttp_send_reply_chunk() writes; the fan-out
 * frames an event once and every stream of that format sends the same bytes.
 */
struct wire {
    const char *frame;
    size_t len;
    const char *chunk; /* the frame inside its chunk framing */
    size_t chunk_len;
};

/* Point w at frame and at its chunk, built in b (which must not hold frame). */
static void wire_make(struct wire *w, struct ft_buf *b, const char *frame, size_t len)
{
    ft_buf_reset(b);
    ft_buf_addf(b, "%zx\r\n", len);
    ft_buf_add(b, frame, len);
    ft_buf_add(b, "\r\n", 2);
    w->frame = frame;
    w->len = len;
    w->chunk = b->buf;
    w->chunk_len = b->len;
}

/*
 * Send bytes, bypassing the bound (final frames). 0, or -1 when the stream is (now) ended.
 *
 * A chunked reply whose output buffer is empty writes the chunk straight to the socket and
 * queues only what the kernel did not take; with bytes already queued, the chunk goes behind
 * them. So the stream's bytes leave in order (every frame of a stream comes through here,
 * and evhttp_send_reply_end() appends the last chunk to the same buffer), and a stream that
 * keeps up costs one send() per delivery: no copy into the buffer, no EV_WRITE armed and
 * disarmed. libevent writes what is queued when the socket is writable, as before.
 * Anything else (HTTP/1.0, no chunks; a detached request) goes through evhttp as it was.
 */
static int send_raw(struct ft_stream *s, const struct wire *w, int64_t now)
{
    struct ft_server *srv = s->srv;
    if (!s->req)
        return -1;
    /* s->out is set while the request is attached: libevent detaches it only while it frees
     * the connection, and on_close clears both at that moment. */
    struct evbuffer *out = s->out;
    size_t q = out ? evbuffer_get_length(out) : 0;
    if (q == 0)
        s->last_drain_ms = now;
    if (!out || s->fd < 0 || !s->chunked) {
        evbuffer_add(srv->scratch, w->frame, w->len);
        evhttp_send_reply_chunk(s->req, srv->scratch);
        /* A detached request does not drain the source buffer (pitfall 5). */
        evbuffer_drain(srv->scratch, evbuffer_get_length(srv->scratch));
    } else {
        size_t done = 0;
        if (q == 0) {
            ssize_t n;
            do
                n = send(s->fd, w->chunk, w->chunk_len, MSG_NOSIGNAL | MSG_DONTWAIT);
            while (n < 0 && errno == EINTR);
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                /* Reset or closed: what evhttp's own write would find; the stream ends the
                 * one way, and evhttp's close callback, if it comes first, does the same. */
                ft_stream_end(s, FT_END_CLIENT_CLOSED);
                return -1;
            }
            done = n > 0 ? (size_t)n : 0;
        }
        if (done < w->chunk_len) {
            struct bufferevent *bev = evhttp_connection_get_bufferevent(s->evcon);
            evbuffer_add(out, w->chunk + done, w->chunk_len - done);
            /* Queued bytes need EV_WRITE; evhttp enabled it when the reply started and the
             * output buffer's callback arms it, so this is only a guard. */
            if (!(bufferevent_get_enabled(bev) & EV_WRITE))
                bufferevent_enable(bev, EV_WRITE);
        }
    }
    s->bytes += w->len;
    s->last_write_ms = now;
    srv->m.stream_bytes += w->len;
    return 0;
}

/*
 * Send bytes; a stream that already has the bound's worth queued ends as a slow reader. So a
 * stream holds at most the bound plus one frame, and a large frame never by itself makes a
 * reader "slow". 0, or -1 when the stream is (now) ended.
 */
static int stream_send(struct ft_stream *s, const struct wire *w, int64_t now)
{
    if (s->ended || !s->req)
        return -1;
    if (queued(s) >= s->srv->o->stream_buffer) {
        ft_stream_end(s, FT_END_SLOW_READER);
        return -1;
    }
    return send_raw(s, w, now);
}

/* A constant frame (hello, heartbeat, final frames), framed in b. */
static void wire_const(struct wire *w, struct ft_buf *b, const char *frame)
{
    wire_make(w, b, frame, strlen(frame));
}

static void catch_up(struct ft_stream *s);

/*
 * Progress of the kernel taking bytes: the write-stall clock, and the drain that resumes a
 * paused replay (the buffer emptied; the same moment evhttp's write callback would report).
 */
static void on_out(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct ft_stream *s = arg;
    if (!info->n_deleted)
        return;
    s->last_drain_ms = ft_mono_ms();
    if (s->behind && !s->ended && evbuffer_get_length(buf) == 0)
        catch_up(s);
}

/* Append "data:" lines, splitting on CRLF, LF and CR as the SSE parser does. */
static void add_data(struct ft_buf *b, const char *p)
{
    for (;;) {
        size_t n = strcspn(p, "\r\n");
        ft_buf_adds(b, "data: ");
        ft_buf_add(b, p, n);
        ft_buf_addc(b, '\n');
        p += n;
        if (!*p)
            break;
        p += (p[0] == '\r' && p[1] == '\n') ? 2 : 1;
    }
}

static void format_event(struct ft_buf *b, const struct ft_event *ev, int envelope)
{
    char kind[64];
    size_t k = 0;
    for (const char *p = ev->kind; *p && k + 1 < sizeof(kind); p++)
        kind[k++] = (*p == '\r' || *p == '\n') ? '_' : *p;
    kind[k] = '\0';
    ft_buf_reset(b);
    ft_buf_addf(b, "id: %lld\nevent: %s\n", (long long)ev->seq, kind);
    if (!envelope) {
        add_data(b, ev->payload);
    } else {
        json_t *o = srv_event_json(ev);
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        add_data(b, s ? s : "{}");
        free(s);
        json_decref(o);
    }
    ft_buf_addc(b, '\n');
}

/* Deliver one event of the log to s (which wants it). 0, or -1 when s ended. */
static int deliver(struct ft_stream *s, const struct ft_event *ev, const struct wire *w,
                   int64_t now)
{
    if (stream_send(s, w, now))
        return -1;
    s->pos = ev->seq;
    s->events++;
    s->last_event_ms = now;
    s->srv->m.events_delivered++;
    if (s->tid && strcmp(ev->kind, "tracker.delete") == 0) {
        ft_stream_end(s, FT_END_COMPLETE); /* nothing more will come */
        return -1;
    }
    return 0;
}

/* The event is framed (and chunked) at most once per format, and the clock read once. */
void stream_fanout(struct ft_server *srv, const struct ft_event *ev)
{
    struct ft_buf bare, env, bare_chunk, env_chunk;
    struct wire w_bare, w_env;
    int have_bare = 0, have_env = 0;
    int64_t now = ft_mono_ms();
    ft_buf_init(&bare, 0);
    ft_buf_init(&env, 0);
    ft_buf_init(&bare_chunk, 0);
    ft_buf_init(&env_chunk, 0);
    for (struct ft_stream *s = srv->live, *next; s; s = next) {
        next = s->next;
        if (s->behind || ev->seq <= s->pos)
            continue;
        if (s->tid && ev->tracker_id != s->tid) {
            s->pos = ev->seq;
            continue;
        }
        struct ft_buf *f = s->envelope ? &env : &bare;
        struct wire *w = s->envelope ? &w_env : &w_bare;
        int *have = s->envelope ? &have_env : &have_bare;
        if (!*have) {
            format_event(f, ev, s->envelope);
            wire_make(w, s->envelope ? &env_chunk : &bare_chunk, f->buf, f->len);
            *have = 1;
        }
        deliver(s, ev, w, now);
    }
    ft_buf_release(&bare);
    ft_buf_release(&env);
    ft_buf_release(&bare_chunk);
    ft_buf_release(&env_chunk);
}

/* ---- replay -------------------------------------------------------------------------- */

struct replay {
    struct ft_stream *s;
    struct ft_buf frame, chunk;
    int64_t now;
    int n, paused, beyond, ended;
};

static int replay_cb(const struct ft_event *ev, void *u)
{
    struct replay *r = u;
    struct ft_stream *s = r->s;
    if (ev->seq > s->srv->head) { /* not fanned out yet: fan-out will bring it */
        r->beyond = 1;
        return 1;
    }
    format_event(&r->frame, ev, s->envelope);
    size_t q = queued(s);
    if (q > 0 && q + r->frame.len > s->srv->o->stream_buffer) {
        r->paused = 1; /* would not fit yet: the client is reading, not slow */
        return 1;
    }
    r->n++;
    struct wire w;
    wire_make(&w, &r->chunk, r->frame.buf, r->frame.len);
    if (deliver(s, ev, &w, r->now)) {
        r->ended = 1;
        return 1;
    }
    if (queued(s) > s->srv->o->stream_buffer / 2) {
        r->paused = 1;
        return 1;
    }
    return 0;
}

static void catch_up(struct ft_stream *s)
{
    struct ft_server *srv = s->srv;
    s->behind = 0;
    while (!s->ended && s->pos < srv->head) {
        struct replay r;
        struct ft_err err;
        memset(&r, 0, sizeof(r));
        r.s = s;
        r.now = ft_mono_ms();
        ft_buf_init(&r.frame, 0);
        ft_buf_init(&r.chunk, 0);
        int rc =
            ft_store_events(srv->st, s->tid, NULL, s->pos, REPLAY_BATCH, 0, replay_cb, &r, &err);
        ft_buf_release(&r.frame);
        ft_buf_release(&r.chunk);
        if (rc < 0) {
            srv->m.store_errors++;
            srv_log("error", "store", "what=replay msg=\"%s\"", err.msg);
            static const char msg[] = "event: error\ndata: {\"error\":\"cannot read the events "
                                      "log\"}\n\n";
            struct ft_buf b;
            struct wire w;
            ft_buf_init(&b, 0);
            wire_const(&w, &b, msg);
            stream_send(s, &w, r.now);
            ft_buf_release(&b);
            ft_stream_end(s, FT_END_ERROR);
            return;
        }
        if (r.ended)
            return;
        if (r.paused) {
            s->behind = 1; /* on_out resumes when the output has drained */
            return;
        }
        if (r.beyond || r.n < REPLAY_BATCH)
            s->pos = srv->head; /* every event up to the head is served */
    }
}

/* ---- timers -------------------------------------------------------------------------- */

void stream_tick(struct ft_server *srv, int64_t now)
{
    const struct ft_server_opts *o = srv->o;
    struct ft_buf b;
    struct wire hb;
    ft_buf_init(&b, 0);
    wire_const(&hb, &b, ": hb\n\n");
    for (struct ft_stream *s = srv->live, *next; s; s = next) {
        next = s->next;
        if (o->write_timeout_ms > 0 && queued(s) > 0 &&
            now - s->last_drain_ms >= o->write_timeout_ms) {
            ft_stream_end(s, FT_END_SLOW_READER);
            continue;
        }
        if (o->idle_timeout_ms > 0 && now - s->last_event_ms >= o->idle_timeout_ms) {
            ft_stream_end(s, FT_END_IDLE_TIMEOUT);
            continue;
        }
        if (o->heartbeat_ms > 0 && now - s->last_write_ms >= o->heartbeat_ms - srv->tick_ms / 2 &&
            stream_send(s, &hb, now) == 0)
            srv->m.heartbeats++;
    }
    ft_buf_release(&b);
}

void stream_shutdown_all(struct ft_server *srv)
{
    struct ft_buf b;
    struct wire bye;
    int64_t now = ft_mono_ms();
    ft_buf_init(&b, 0);
    wire_const(&bye, &b, "event: shutdown\ndata: {\"reason\":\"shutdown\"}\n\n");
    while (srv->live) {
        struct ft_stream *s = srv->live;
        send_raw(s, &bye, now); /* -1: ended as client_closed, which stands */
        ft_stream_end(s, FT_END_SHUTDOWN);
    }
    ft_buf_release(&b);
}

/* ---- opening ------------------------------------------------------------------------- */

/* A non-negative decimal sequence number; -1 when not one. */
static int64_t parse_seq(const char *s)
{
    int64_t v = 0;
    if (!*s || strlen(s) > 18)
        return -1;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    return v;
}

void stream_open(struct ft_server *srv, struct evhttp_request *req, int64_t tid, const char *what,
                 int64_t t0)
{
    struct evkeyvalq q;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *qs = uri ? evhttp_uri_get_query(uri) : NULL;
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
    int64_t last = -1;

    TAILQ_INIT(&q);
    if (qs && evhttp_parse_query_str(qs, &q) != 0) {
        srv_error(srv, req, R_EVENTS, 400, "query", t0, "the query string is malformed");
        return;
    }
    const char *hdr = evhttp_find_header(in, "Last-Event-ID");
    const char *qlast = evhttp_find_header(&q, "last_event_id");
    const char *env = evhttp_find_header(&q, "envelope");
    const char *lv = hdr && *hdr ? hdr : qlast;
    const char *field = hdr && *hdr ? "Last-Event-ID" : "last_event_id";
    if (lv && (last = parse_seq(lv)) < 0) {
        srv_error(srv, req, R_EVENTS, 400, field, t0,
                  "%s must be an event sequence number, not '%.40s'", field, lv);
        evhttp_clear_headers(&q);
        return;
    }
    int envelope = env && (strcmp(env, "1") == 0 || strcmp(env, "true") == 0);
    evhttp_clear_headers(&q);
    if (srv->streams_open >= srv->o->max_streams) {
        srv->m.streams_rejected++;
        evhttp_add_header(oh, "Retry-After", "5");
        srv_error(srv, req, R_EVENTS, 503, NULL, t0, "too many open streams (--max-streams %d)",
                  srv->o->max_streams);
        return;
    }
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    if (!evcon) {
        evhttp_send_reply_end(req); /* cannot happen inside the request callback */
        return;
    }
    srv_pull(srv); /* the head is current before this stream takes its place */

    struct ft_stream *s = ft_xcalloc(1, sizeof(*s));
    s->srv = srv;
    s->req = req;
    s->evcon = evcon;
    s->fd = -1;
    s->tid = tid;
    s->envelope = envelope;
    s->started_ms = s->last_write_ms = s->last_event_ms = s->last_drain_ms = ft_mono_ms();
    snprintf(s->what, sizeof(s->what), "%s", what);
    {
        char *addr = NULL;
        ev_uint16_t port = 0;
        evhttp_connection_get_peer(evcon, &addr, &port);
        snprintf(s->peer, sizeof(s->peer), "%s:%u", addr ? addr : "?", (unsigned)port);
    }
    list_push(&srv->live, s);
    srv->streams_open++;
    srv->m.streams_opened++;
    evhttp_connection_set_closecb(evcon, on_close, s);

    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    if (bev) {
        int one = 1;
        evutil_socket_t fd = bufferevent_getfd(bev);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        /* A peer that vanished without FIN: the kernel gives up on unacknowledged bytes
         * (heartbeats, events) after twice the write timeout, and the close callback runs.
         * Twice, so that a reader that is only stalled is still told apart (slow_reader). */
        if (srv->o->write_timeout_ms > 0) {
            unsigned int uto = (unsigned int)(2 * srv->o->write_timeout_ms);
            setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &uto, sizeof(uto));
        }
        /* evhttp's request timeout would end an idle stream; our tick watches streams. */
        bufferevent_set_timeouts(bev, NULL, NULL);
        s->out = bufferevent_get_output(bev);
        s->fd = fd;
        s->outcb = evbuffer_add_cb(s->out, on_out, s);
    }
    evhttp_add_header(oh, "Content-Type", "text/event-stream");
    evhttp_add_header(oh, "Cache-Control", "no-cache");
    evhttp_add_header(oh, "X-Accel-Buffering", "no");
    evhttp_add_header(oh, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(oh, "Connection", "close");
    srv_count_request(srv, R_EVENTS, 200, t0);
    srv_log_request(req, R_EVENTS, 200, 0, t0);
    evhttp_send_reply_start(req, 200, "OK");
    s->chunked = req->chunked;
    {
        char hello[64];
        struct ft_buf b;
        struct wire w;
        snprintf(hello, sizeof(hello), "retry: %d\n\n", FT_SERVE_RETRY_MS);
        ft_buf_init(&b, 0);
        wire_const(&w, &b, hello);
        send_raw(s, &w, s->started_ms);
        ft_buf_release(&b);
    }
    if (last < 0) {
        s->pos = srv->head;
    } else {
        s->pos = last;
        catch_up(s);
    }
}
