/*
 * feed.c: the event-log feed, the producer of the Server-Sent Events streams
 * (/api/events, /api/trackers/{id}/events) over channels (channel.c).
 *
 * Delivery: srv->head is the newest sequence number fanned out. A feed serves the log up to
 * f->pos; a live feed has pos >= head and gets each new event from fanout(). A feed that
 * starts with Last-Event-ID (or falls behind while replaying) reads the store from pos in
 * batches, pausing while its output is above half its bound and resuming when it drains, so
 * replay never grows memory and never skips or repeats an event.
 *
 * New events come from the store's change watch (a descriptor the loop waits on; a write by
 * any process makes it readable) and from the server's own writes, which pull the log before
 * they answer.
 */
#include "internal.h"

#include "../util/ft_err.h"
#include "../util/ft_text.h"
#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "../util/banned.h"

#define REPLAY_BATCH 256
#define PULL_BATCH   512

struct ft_feed {
    struct ft_channel ch; /* first: a feed is its channel */
    int64_t tid;          /* 0: every tracker */
    int envelope;         /* data: the history-style envelope, not the bare payload */
    int64_t pos;          /* the log is served up to this sequence number */
    int behind;           /* replay paused until the output drains */
};

static void catch_up(struct ft_feed *f);

/* The log is served up to seq (the end log line says where a feed stopped). */
static void set_pos(struct ft_feed *f, int64_t seq)
{
    f->pos = f->ch.last_id = seq;
}

static void feed_drained(struct ft_channel *ch)
{
    struct ft_feed *f = (struct ft_feed *)ch;
    if (f->behind)
        catch_up(f);
}

static void feed_free(struct ft_channel *ch)
{
    free(ch);
}

static const struct ft_channel_ops feed_ops = {feed_drained, feed_free};

/* ---- frames --------------------------------------------------------------------------- */

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
        json_t *o = ft_event_json(ev);
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        add_data(b, s ? s : "{}");
        free(s);
        json_decref(o);
    }
    ft_buf_addc(b, '\n');
}

/* Deliver one event of the log to f (which wants it). 0, or -1 when f ended. */
static int deliver(struct ft_feed *f, const struct ft_event *ev, const struct wire *w, int64_t now)
{
    if (ft_channel_send(&f->ch, w, now))
        return -1;
    set_pos(f, ev->seq);
    f->ch.events++;
    f->ch.last_event_ms = now;
    f->ch.srv->m->events_delivered++;
    if (f->tid && strcmp(ev->kind, "tracker.delete") == 0) {
        ft_channel_end(&f->ch, FT_END_COMPLETE); /* nothing more will come */
        return -1;
    }
    return 0;
}

/* Every event of v[0..n) that f wants, one at a time (a feed already part-way into them). */
static void deliver_each(struct ft_feed *f, const struct ft_event *v, size_t n, int64_t now)
{
    struct ft_buf frame, chunk;
    struct wire w;
    ft_buf_init(&frame, 0);
    ft_buf_init(&chunk, 0);
    for (size_t i = 0; i < n && !f->ch.ended; i++) {
        if (v[i].seq <= f->pos)
            continue;
        if (f->tid && v[i].tracker_id != f->tid) {
            set_pos(f, v[i].seq);
            continue;
        }
        format_event(&frame, &v[i], f->envelope);
        wire_make(&w, &chunk, frame.buf, frame.len);
        if (deliver(f, &v[i], &w, now))
            break;
    }
    ft_buf_release(&frame);
    ft_buf_release(&chunk);
}

/*
 * Fan-out of the events read from the log, v[0..n): each feed gets all those it wants in one
 * chunk, one write (several events come together when another process wrote faster than this
 * loop turned). A chunk is framed once per kind of feed (its tracker, its format) and the
 * clock read once; a tracker's feed with none of the events only moves its position.
 */
#define BATCH_KINDS 8
struct batch {
    int64_t tid;
    int envelope;
    struct ft_buf frames, chunk;
    struct wire w;
    uint64_t count;  /* events in it */
    int64_t end_seq; /* the feed is served up to here after it */
    int deleted;     /* it ends with its tracker's deletion: the feed ends after it */
};

static void batch_build(struct batch *b, const struct ft_event *v, size_t n)
{
    struct ft_buf one;
    ft_buf_init(&one, 0);
    ft_buf_init(&b->frames, 0);
    ft_buf_init(&b->chunk, 0);
    b->end_seq = v[n - 1].seq;
    for (size_t i = 0; i < n; i++) {
        if (b->tid && v[i].tracker_id != b->tid)
            continue;
        format_event(&one, &v[i], b->envelope);
        ft_buf_add(&b->frames, one.buf, one.len);
        b->count++;
        if (b->tid && strcmp(v[i].kind, "tracker.delete") == 0) {
            b->deleted = 1; /* nothing more will come */
            b->end_seq = v[i].seq;
            break;
        }
    }
    if (b->count)
        wire_make(&b->w, &b->chunk, b->frames.buf, b->frames.len);
    ft_buf_release(&one);
}

/* Whether any of v[0..n) is about tracker tid. */
static int wants_any(int64_t tid, const struct ft_event *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].tracker_id == tid)
            return 1;
    return 0;
}

static void fanout(struct ft_server *srv, const struct ft_event *v, size_t n)
{
    struct batch kinds[BATCH_KINDS];
    size_t nkinds = 0;
    int64_t now = ft_mono_ms();
    for (struct ft_channel *ch = srv->live, *next; ch; ch = next) {
        next = ch->next;
        if (ch->ops != &feed_ops)
            continue;
        struct ft_feed *f = (struct ft_feed *)ch;
        if (f->behind || v[n - 1].seq <= f->pos)
            continue;
        if (f->tid && f->pos < v[0].seq && !wants_any(f->tid, v, n)) {
            set_pos(f, v[n - 1].seq);
            continue;
        }
        struct batch *b = NULL;
        for (size_t k = 0; k < nkinds && !b; k++)
            if (kinds[k].tid == f->tid && kinds[k].envelope == f->envelope)
                b = &kinds[k];
        if (!b && nkinds < BATCH_KINDS && f->pos < v[0].seq) {
            b = &kinds[nkinds++];
            memset(b, 0, sizeof(*b));
            b->tid = f->tid;
            b->envelope = f->envelope;
            batch_build(b, v, n);
        }
        if (!b || f->pos >= v[0].seq) {
            deliver_each(f, v, n, now);
            continue;
        }
        if (b->count) {
            if (ft_channel_send(&f->ch, &b->w, now))
                continue;
            f->ch.events += b->count;
            f->ch.last_event_ms = now;
            srv->m->events_delivered += b->count;
        }
        set_pos(f, b->end_seq);
        if (b->deleted)
            ft_channel_end(&f->ch, FT_END_COMPLETE);
    }
    for (size_t k = 0; k < nkinds; k++) {
        ft_buf_release(&kinds[k].frames);
        ft_buf_release(&kinds[k].chunk);
    }
}

/* ---- replay --------------------------------------------------------------------------- */

struct replay {
    struct ft_feed *f;
    struct ft_buf frame, chunk;
    int64_t now;
    int n, paused, beyond, ended;
};

static int replay_cb(const struct ft_event *ev, void *u)
{
    struct replay *r = u;
    struct ft_feed *f = r->f;
    struct ft_server *srv = f->ch.srv;
    if (ev->seq > srv->head) { /* not fanned out yet: fan-out will bring it */
        r->beyond = 1;
        return 1;
    }
    format_event(&r->frame, ev, f->envelope);
    size_t q = ft_channel_queued(&f->ch);
    if (q > 0 && q + r->frame.len > srv->o->stream_buffer) {
        r->paused = 1; /* would not fit yet: the client is reading, not slow */
        return 1;
    }
    r->n++;
    struct wire w;
    wire_make(&w, &r->chunk, r->frame.buf, r->frame.len);
    if (deliver(f, ev, &w, r->now)) {
        r->ended = 1;
        return 1;
    }
    if (ft_channel_queued(&f->ch) > srv->o->stream_buffer / 2) {
        r->paused = 1;
        return 1;
    }
    return 0;
}

static void catch_up(struct ft_feed *f)
{
    struct ft_server *srv = f->ch.srv;
    f->behind = 0;
    while (!f->ch.ended && f->pos < srv->head) {
        struct replay r;
        struct ft_err err;
        memset(&r, 0, sizeof(r));
        r.f = f;
        r.now = ft_mono_ms();
        ft_buf_init(&r.frame, 0);
        ft_buf_init(&r.chunk, 0);
        int rc =
            ft_store_events(srv->st, f->tid, NULL, f->pos, REPLAY_BATCH, 0, replay_cb, &r, &err);
        ft_buf_release(&r.frame);
        ft_buf_release(&r.chunk);
        if (rc < 0) {
            static const char msg[] = "event: error\ndata: {\"error\":\"cannot read the events "
                                      "log\"}\n\n";
            struct ft_buf b;
            struct wire w;
            srv->m->store_errors++;
            srv_log(srv, "error", "store", "what=replay msg=\"%s\"", err.msg);
            ft_buf_init(&b, 0);
            wire_make(&w, &b, msg, sizeof(msg) - 1);
            ft_channel_send(&f->ch, &w, r.now);
            ft_buf_release(&b);
            ft_channel_end(&f->ch, FT_END_ERROR);
            return;
        }
        if (r.ended)
            return;
        if (r.paused) {
            f->behind = 1; /* feed_drained resumes when the output has drained */
            return;
        }
        if (r.beyond || r.n < REPLAY_BATCH)
            set_pos(f, srv->head); /* every event up to the head is served */
    }
}

/* ---- pulling the log ------------------------------------------------------------------ */

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

/* Read the log again in ms milliseconds (unless a read is due sooner). */
static void poll_in(struct ft_server *srv, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    if (!evtimer_pending(srv->ev_poll, NULL))
        evtimer_add(srv->ev_poll, &tv);
}

static void arm_poll(struct ft_server *srv)
{
    poll_in(srv, 20);
}

int srv_pull(struct ft_server *srv)
{
    struct pulled p;
    struct ft_err err;
    int rc = 0;
    memset(&p, 0, sizeof(p));
    for (;;) {
        p.n = 0;
        rc = ft_store_events(srv->st, 0, NULL, srv->head, PULL_BATCH, 0, pull_cb, &p, &err);
        if (rc) {
            /* while the store is away this comes every poll: logged at most every 5 s */
            srv->m->store_errors++;
            int64_t now = ft_mono_ms();
            if (now >= srv->pull_err_logged_at + 5000) {
                srv_log(srv, "error", "store", "what=read_events msg=\"%s\" failed_since_last=%llu",
                        err.msg, (unsigned long long)srv->pull_errs_unlogged);
                srv->pull_err_logged_at = now;
                srv->pull_errs_unlogged = 0;
            } else {
                srv->pull_errs_unlogged++;
            }
        }
        /* Copies first, then fan-out: a feed's replay may use the store again. First the
         * versions: a client that has seen an event never gets the older document. */
        for (size_t i = 0; i < p.n; i++)
            ft_versions_event(&srv->versions, p.v[i].tracker_id, p.v[i].seq, p.v[i].kind);
        if (p.n) {
            fanout(srv, p.v, p.n);
            srv->head = p.v[p.n - 1].seq;
        }
        for (size_t i = 0; i < p.n; i++)
            if (*p.v[i].slug)
                mcp_http_tracker_changed(srv, p.v[i].slug);
        for (size_t i = 0; i < p.nstrs; i++)
            free(p.strs[i]);
        p.nstrs = 0;
        if (rc || p.n < PULL_BATCH)
            break;
    }
    free(p.v);
    free(p.strs);
    if (rc && srv->ev_poll) /* the store is away: look again every 100 ms until it is back */
        poll_in(srv, 100);
    return rc ? -1 : 0;
}

/* ---- the store's change watch --------------------------------------------------------- */

static void watch_lost(struct ft_server *srv);

/* Take in what the change watch has seen: 1 when it saw a write (and the log was pulled). */
static int watch_take(struct ft_server *srv)
{
    int64_t recheck = 0;
    int r = ft_store_watch_read(srv->st, &recheck);
    if (r == FT_WATCH_LOST) {
        watch_lost(srv);
        return 0;
    }
    if (!r)
        return 0;
    int64_t named = ft_store_watch_head(srv->st);
    if (named > 0 && named <= srv->head)
        return 1; /* this server's own writes, already read and fanned out */
    srv_pull(srv);
    /* The backend may signal a write shortly before its commit is visible: look again a few
     * times over the window it asks for. */
    if (recheck > 0) {
        srv->watch_until = ft_mono_ms() + recheck;
        arm_poll(srv);
    }
    return 1;
}

static void on_watch(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    watch_take(arg);
}

int feed_watch_fresh(struct ft_server *srv)
{
    if (srv->watch_fd < 0)
        return 0;
    /* one read of the watch's descriptor (EAGAIN when nothing happened); the log only while
     * a write seen being written may have been published since */
    if (!watch_take(srv) && ft_mono_ms() < srv->watch_until)
        srv_pull(srv);
    if (ft_store_watch_lags(srv->st)) {
        /* the watch's notice of a write already committed may still be on its way (from
         * another server, a command line): the log's head settles it, in one round trip */
        int64_t seq = 0;
        struct ft_err err;
        if (ft_store_last_seq(srv->st, &seq, &err) != 0 || (seq > srv->head && srv_pull(srv)))
            return 0;
    }
    return 1;
}

static int watch_open(struct ft_server *srv);

static void on_poll(evutil_socket_t fd, short what, void *arg)
{
    struct ft_server *srv = arg;
    (void)fd;
    (void)what;
    if (srv->watch_fd < 0 && srv->watch_retry_at && ft_mono_ms() >= srv->watch_retry_at &&
        watch_open(srv) == 0) {
        srv_log(srv, "info", "store_watch", "msg=\"change watch back\"");
        srv_pull(srv); /* what was written while it was away: the streams resume from the log */
        return;
    }
    if (srv_pull(srv) != 0)
        return;            /* it polls again itself */
    if (srv->watch_fd < 0) /* no change watch: a plain 100 ms poll */
        poll_in(srv, 100);
    else if (ft_mono_ms() < srv->watch_until)
        arm_poll(srv);
}

/* Open the change watch and wait on it: 0, or -1 (then the next try is due later). */
static int watch_open(struct ft_server *srv)
{
    struct ft_err err;
    if (ft_store_watch_open(srv->st, &srv->watch_fd, &err))
        srv->watch_fd = -1;
    if (srv->watch_fd < 0) {
        srv->watch_retry_ms = srv->watch_retry_ms ? srv->watch_retry_ms * 2 : 200;
        if (srv->watch_retry_ms > 5000)
            srv->watch_retry_ms = 5000;
        srv->watch_retry_at = ft_mono_ms() + srv->watch_retry_ms;
        return -1;
    }
    srv->watch_retry_ms = srv->watch_retry_at = 0;
    srv->ev_watch = event_new(srv->base, srv->watch_fd, EV_READ | EV_PERSIST, on_watch, srv);
    event_add(srv->ev_watch, NULL);
    return 0;
}

/* The watch's connection failed: stop waiting on its descriptor before it is closed, poll the
 * log every 100 ms meanwhile, and open the watch again (on_poll) with growing waits. */
static void watch_lost(struct ft_server *srv)
{
    if (srv->ev_watch)
        event_free(srv->ev_watch);
    srv->ev_watch = NULL;
    ft_store_watch_close(srv->st);
    srv->watch_fd = -1;
    srv->m->watch_losses++;
    srv->watch_retry_at = ft_mono_ms();
    srv_log(srv, "warn", "store_watch",
            "msg=\"change watch lost: polling every 100 ms until it is back\"");
    evtimer_del(srv->ev_poll);
    poll_in(srv, 100);
}

int feed_store_up(struct ft_server *srv, struct ft_store_health *h)
{
    ft_store_health(srv->st, h);
    return h->up && srv->watch_retry_at == 0;
}

void feed_watch_start(struct ft_server *srv)
{
    srv->ev_poll = evtimer_new(srv->base, on_poll, srv);
    if (watch_open(srv) != 0) {
        srv->watch_retry_at = 0; /* a store without a watch: polling for good */
        srv_log(srv, "warn", "store_watch", "msg=\"no change watch: polling every 100 ms\"");
        struct timeval tv = {0, 100000};
        evtimer_add(srv->ev_poll, &tv);
    }
}

void feed_watch_stop(struct ft_server *srv)
{
    if (srv->ev_watch)
        event_free(srv->ev_watch);
    if (srv->ev_poll)
        event_free(srv->ev_poll);
    srv->ev_watch = srv->ev_poll = NULL;
    ft_store_watch_close(srv->st);
    srv->watch_fd = -1;
}

/* ---- opening -------------------------------------------------------------------------- */

/* A non-negative decimal sequence number; -1 when not one. */
static int64_t parse_seq(const char *s)
{
    return ft_parse_digits(s, 18, 0);
}

void feed_open(struct ft_server *srv, struct evhttp_request *req, int64_t tid, const char *what,
               int64_t t0)
{
    struct evkeyvalq q;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *qs = uri ? evhttp_uri_get_query(uri) : NULL;
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
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
    srv_pull(srv); /* the head is current before this feed takes its place */

    struct ft_feed *f = ft_xcalloc(1, sizeof(*f));
    if (ft_channel_start(&f->ch, srv, req, &feed_ops, "text/event-stream", what, R_EVENTS, t0)) {
        free(f);
        return;
    }
    f->tid = tid;
    f->envelope = envelope;
    {
        char hello[64];
        struct ft_buf b;
        struct wire w;
        snprintf(hello, sizeof(hello), "retry: %d\n\n", FT_SERVE_RETRY_MS);
        ft_buf_init(&b, 0);
        wire_make(&w, &b, hello, strlen(hello));
        ft_channel_send_raw(&f->ch, &w, f->ch.started_ms);
        ft_buf_release(&b);
    }
    if (last < 0) {
        set_pos(f, srv->head);
    } else {
        set_pos(f, last);
        catch_up(f);
    }
}
