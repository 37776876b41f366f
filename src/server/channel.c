/*
 * channel.c: a bounded chunked reply that a producer feeds, frame by frame: the transport of
 * the Server-Sent Events streams (the event-log feed today, MCP replies next).
 *
 * Ownership (STYLE 3.4): see struct ft_channel. Every way a channel finishes calls
 * ft_channel_end(); channel_free() is the one release.
 *
 * The evhttp side of each end (reference/http-library-choice.md):
 *  - the client closed or reset: evhttp calls on_close() while it frees the connection. The
 *    request is either still attached (libevent frees it) or detached (req->evcon NULL,
 *    libevent never frees it): that one becomes ch->orphan and channel_free() releases it
 *    with evhttp_send_reply_end().
 *  - a clean end (complete, error, idle timeout, shutdown): the close callback is replaced
 *    by srv_flush_closed, then evhttp_send_reply_end() writes the last chunk; "Connection:
 *    close" makes evhttp close once it is flushed.
 *  - a slow reader: close callback cleared, evhttp_connection_free() at once.
 *
 * Writing: every byte of a channel goes through ft_channel_send_raw(). While a channel keeps
 * up, its output buffer is empty and the frame is written to the socket at once, as one
 * chunk framed by the producer for all channels; only what the kernel does not take waits in
 * the buffer, and while anything waits there, later frames queue behind it.
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
#include <sys/socket.h>

#include "../util/banned.h"

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

size_t ft_channel_queued(const struct ft_channel *ch)
{
    return ch->out ? evbuffer_get_length(ch->out) : 0;
}

size_t ft_channel_queued_total(struct ft_server *srv)
{
    size_t n = 0;
    for (struct ft_channel *ch = srv->live; ch; ch = ch->next)
        n += ft_channel_queued(ch);
    return n;
}

static void list_remove(struct ft_channel **head, struct ft_channel *ch)
{
    if (ch->prev)
        ch->prev->next = ch->next;
    else
        *head = ch->next;
    if (ch->next)
        ch->next->prev = ch->prev;
    ch->prev = ch->next = NULL;
}

static void list_push(struct ft_channel **head, struct ft_channel *ch)
{
    ch->prev = NULL;
    ch->next = *head;
    if (*head)
        (*head)->prev = ch;
    *head = ch;
}

/* ---- ending --------------------------------------------------------------------------- */

void ft_channel_end(struct ft_channel *ch, enum ft_end why)
{
    if (ch->ended)
        return;
    ch->ended = 1;
    ch->why = why;
    if (ch->srv->fan_next == ch) /* a fan-out pass was to go on from ch */
        ch->srv->fan_next = ch->next;
    list_remove(&ch->srv->live, ch);
    list_push(&ch->srv->dead, ch);
    event_active(ch->srv->ev_reap, 0, 0);
}

/* The client went away: evhttp is freeing the connection right now. */
static void on_close(struct evhttp_connection *evcon, void *arg)
{
    struct ft_channel *ch = arg;
    (void)evcon;
    if (ch->req && !evhttp_request_get_connection(ch->req))
        ch->orphan = ch->req; /* detached: evhttp will not free it */
    ch->req = NULL;
    ch->evcon = NULL;
    ch->out = NULL;
    ch->fd = -1;
    ch->outcb = NULL; /* the buffer goes with the connection */
    ft_channel_end(ch, FT_END_CLIENT_CLOSED);
}

static void on_flush_closed(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    srv_flush_closed(arg);
}

static void channel_free(struct ft_channel *ch)
{
    struct ft_server *srv = ch->srv;
    if (ch->outcb) {
        evbuffer_remove_cb_entry(ch->out, ch->outcb);
        ch->outcb = NULL;
    }
    if (ch->req) {
        if (ch->why == FT_END_SLOW_READER) {
            srv_conn_on_close(srv, ch->evcon, NULL, NULL);
            evhttp_connection_free(ch->evcon); /* frees the request too */
        } else {
            /* Bound the flush: a client that never takes the last bytes is dropped after the
             * write timeout (channels run without evhttp's timeouts, see ft_channel_start). */
            struct bufferevent *bev = evhttp_connection_get_bufferevent(ch->evcon);
            int64_t w = srv->o->write_timeout_ms > 0 ? srv->o->write_timeout_ms
                                                     : FT_SERVE_DEFAULT_WRITE_TIMEOUT;
            struct timeval tv = {(time_t)(w / 1000), (suseconds_t)(w % 1000) * 1000};
            if (bev)
                bufferevent_set_timeouts(bev, NULL, &tv);
            srv_conn_on_close(srv, ch->evcon, on_flush_closed, srv);
            srv->flushing++;
            evhttp_send_reply_end(ch->req);
        }
        ch->req = NULL;
        ch->evcon = NULL;
        ch->out = NULL;
        ch->fd = -1;
    }
    if (ch->orphan) {
        evhttp_send_reply_end(ch->orphan); /* a detached request: this frees it */
        ch->orphan = NULL;
    }
    srv->m->streams_closed[ch->why]++;
    srv->streams_open--;
    srv_publish(srv, 0);
    struct ft_buf b;
    ft_buf_init(&b, 0);
    ft_buf_adds(&b, "reason=");
    ft_buf_adds(&b, ft_end_name(ch->why));
    ft_buf_adds(&b, " tracker=");
    srv_logfmt_value(&b, ch->what);
    ft_buf_addf(&b, " dur_ms=%lld events=%llu bytes=%llu last_id=%lld peer=%s",
                (long long)(ft_mono_ms() - ch->started_ms), (unsigned long long)ch->events,
                (unsigned long long)ch->bytes, (long long)ch->last_id, ch->peer);
    srv_log(srv, ch->why == FT_END_ERROR ? "error" : "info", "stream_end", "%s", b.buf);
    ft_buf_release(&b);
    ch->ops->free(ch);
}

void ft_channel_reap(struct ft_server *srv)
{
    while (srv->dead) {
        struct ft_channel *ch = srv->dead;
        list_remove(&srv->dead, ch);
        channel_free(ch);
    }
}

/* ---- writing -------------------------------------------------------------------------- */

void wire_make(struct wire *w, struct ft_buf *b, const char *frame, size_t len)
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
 * A chunked reply whose output buffer is empty writes the chunk straight to the socket and
 * queues only what the kernel did not take; with bytes already queued, the chunk goes behind
 * them. So the channel's bytes leave in order (every frame comes through here, and
 * evhttp_send_reply_end() appends the last chunk to the same buffer), and a channel that
 * keeps up costs one send() per frame: no copy into the buffer, no EV_WRITE armed and
 * disarmed. libevent writes what is queued when the socket is writable. Anything else
 * (HTTP/1.0, no chunks; a detached request) goes through evhttp.
 */
int ft_channel_send_raw(struct ft_channel *ch, const struct wire *w, int64_t now)
{
    struct ft_server *srv = ch->srv;
    if (!ch->req)
        return -1;
    /* ch->out is set while the request is attached: libevent detaches it only while it frees
     * the connection, and on_close clears both at that moment. */
    struct evbuffer *out = ch->out;
    size_t q = out ? evbuffer_get_length(out) : 0;
    if (q == 0)
        ch->last_drain_ms = now;
    if (!out || ch->fd < 0 || !ch->chunked) {
        evbuffer_add(srv->scratch, w->frame, w->len);
        evhttp_send_reply_chunk(ch->req, srv->scratch);
        /* A detached request does not drain the source buffer (pitfall 5). */
        evbuffer_drain(srv->scratch, evbuffer_get_length(srv->scratch));
    } else {
        size_t done = 0;
        if (q == 0) {
            ssize_t n;
            do
                n = send(ch->fd, w->chunk, w->chunk_len, MSG_NOSIGNAL | MSG_DONTWAIT);
            while (n < 0 && errno == EINTR);
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                /* Reset or closed: what evhttp's own write would find; the channel ends the
                 * one way, and evhttp's close callback, if it comes first, does the same. */
                ft_channel_end(ch, FT_END_CLIENT_CLOSED);
                return -1;
            }
            done = n > 0 ? (size_t)n : 0;
        }
        if (done < w->chunk_len) {
            struct bufferevent *bev = evhttp_connection_get_bufferevent(ch->evcon);
            evbuffer_add(out, w->chunk + done, w->chunk_len - done);
            /* Queued bytes need EV_WRITE; evhttp enabled it when the reply started and the
             * output buffer's callback arms it, so this is only a guard. */
            if (!(bufferevent_get_enabled(bev) & EV_WRITE))
                bufferevent_enable(bev, EV_WRITE);
        }
    }
    ch->bytes += w->len;
    ch->last_write_ms = now;
    srv->m->stream_bytes += w->len;
    return 0;
}

/*
 * A channel that already has the bound's worth queued ends as a slow reader. So a channel
 * holds at most the bound plus one frame, and a large frame never by itself makes a reader
 * "slow".
 */
int ft_channel_send(struct ft_channel *ch, const struct wire *w, int64_t now)
{
    if (ch->ended || !ch->req)
        return -1;
    if (ft_channel_queued(ch) >= ch->srv->o->stream_buffer) {
        ft_channel_end(ch, FT_END_SLOW_READER);
        return -1;
    }
    return ft_channel_send_raw(ch, w, now);
}

/* A constant frame (heartbeat, final frames), framed in b. */
static void wire_const(struct wire *w, struct ft_buf *b, const char *frame)
{
    wire_make(w, b, frame, strlen(frame));
}

/*
 * Progress of the kernel taking bytes: the write-stall clock, and the drain that lets a
 * paused producer go on (the buffer emptied; the moment evhttp's write callback would report).
 */
static void on_out(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
    struct ft_channel *ch = arg;
    if (!info->n_deleted)
        return;
    ch->last_drain_ms = ft_mono_ms();
    if (!ch->ended && evbuffer_get_length(buf) == 0 && ch->ops->drained)
        ch->ops->drained(ch);
}

/* ---- timers --------------------------------------------------------------------------- */

void ft_channel_tick(struct ft_server *srv, int64_t now)
{
    const struct ft_server_opts *o = srv->o;
    struct ft_buf b;
    struct wire hb;
    ft_buf_init(&b, 0);
    wire_const(&hb, &b, ": hb\n\n");
    for (struct ft_channel *ch = srv->live, *next; ch; ch = next) {
        next = ch->next;
        if (o->write_timeout_ms > 0 && ft_channel_queued(ch) > 0 &&
            now - ch->last_drain_ms >= o->write_timeout_ms) {
            ft_channel_end(ch, FT_END_SLOW_READER);
            continue;
        }
        if (o->idle_timeout_ms > 0 && now - ch->last_event_ms >= o->idle_timeout_ms) {
            ft_channel_end(ch, FT_END_IDLE_TIMEOUT);
            continue;
        }
        if (o->heartbeat_ms > 0 && now - ch->last_write_ms >= o->heartbeat_ms - srv->tick_ms / 2 &&
            ft_channel_send(ch, &hb, now) == 0)
            srv->m->heartbeats++;
    }
    ft_buf_release(&b);
}

void ft_channel_shutdown_all(struct ft_server *srv)
{
    struct ft_buf b;
    struct wire bye;
    int64_t now = ft_mono_ms();
    ft_buf_init(&b, 0);
    wire_const(&bye, &b, "event: shutdown\ndata: {\"reason\":\"shutdown\"}\n\n");
    while (srv->live) {
        struct ft_channel *ch = srv->live;
        ft_channel_send_raw(ch, &bye, now); /* -1: ended as client_closed, which stands */
        ft_channel_end(ch, FT_END_SHUTDOWN);
    }
    ft_buf_release(&b);
}

/* ---- starting ------------------------------------------------------------------------- */

/* Streams open on every worker: --max-streams is the server's, whatever the loops. Another
 * worker's figure is the one it published last (at each stream's start and end). */
static int streams_open_total(struct ft_server *srv)
{
    int n = srv->streams_open;
    for (int k = 0; k < srv->sh->nslots; k++) {
        const struct ft_slot *slot = ft_shared_slot(srv->sh, k);
        if (k != srv->worker && slot->pid)
            n += ((const struct srv_figures *)slot->data)->g.streams_open;
    }
    return n;
}

int ft_channel_start(struct ft_channel *ch, struct ft_server *srv, struct evhttp_request *req,
                     const struct ft_channel_ops *ops, const char *ctype, const char *what,
                     enum ft_route route, int64_t t0)
{
    struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
    if (streams_open_total(srv) >= srv->o->max_streams) {
        srv->m->streams_rejected++;
        evhttp_add_header(oh, "Retry-After", "5");
        srv_error(srv, req, route, 503, NULL, t0, "too many open streams (--max-streams %d)",
                  srv->o->max_streams);
        return -1;
    }
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    if (!evcon) {
        evhttp_send_reply_end(req); /* cannot happen inside the request callback */
        return -1;
    }
    ch->srv = srv;
    ch->ops = ops;
    ch->req = req;
    ch->evcon = evcon;
    ch->fd = -1;
    ch->started_ms = ch->last_write_ms = ch->last_event_ms = ch->last_drain_ms = ft_mono_ms();
    snprintf(ch->what, sizeof(ch->what), "%s", what);
    {
        char *addr = NULL;
        ev_uint16_t port = 0;
        evhttp_connection_get_peer(evcon, &addr, &port);
        snprintf(ch->peer, sizeof(ch->peer), "%s:%u", addr ? addr : "?", (unsigned)port);
    }
    list_push(&srv->live, ch);
    srv->streams_open++;
    srv->m->streams_opened++;
    srv_publish(srv, 0);
    srv_conn_on_close(srv, evcon, on_close, ch); /* conn.c owns evhttp's close callback */
    srv_conn_stream(srv, evcon);                 /* no request deadline, never evicted */

    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    if (bev) {
        evutil_socket_t fd = bufferevent_getfd(bev);
        /* (TCP_NODELAY is set on every connection: conn.c) A peer that vanished without FIN: the
         * kernel gives up on unacknowledged bytes (heartbeats, events) after twice the write
         * timeout and 5 s more, and the close callback runs. Linux also counts the probes of a
         * reader's zero window against it, so the margin keeps a reader that is only stalled told
         * apart (slow_reader, from the tick) even when the loop runs late on a loaded machine. */
        if (srv->o->write_timeout_ms > 0) {
            unsigned int uto = (unsigned int)(2 * srv->o->write_timeout_ms + 5000);
            setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &uto, sizeof(uto));
        }
        /* evhttp's request timeout would end an idle channel; the tick watches channels. */
        bufferevent_set_timeouts(bev, NULL, NULL);
        ch->out = bufferevent_get_output(bev);
        ch->fd = fd;
        ch->outcb = evbuffer_add_cb(ch->out, on_out, ch);
    }
    evhttp_add_header(oh, "Content-Type", ctype);
    evhttp_add_header(oh, "Cache-Control", "no-cache");
    evhttp_add_header(oh, "X-Accel-Buffering", "no");
    evhttp_add_header(oh, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(oh, "Connection", "close");
    srv_count_request(srv, route, 200, t0);
    srv_log_request(srv, req, route, 200, 0, t0);
    evhttp_send_reply_start(req, 200, "OK");
    ch->chunked = req->chunked;
    return 0;
}
