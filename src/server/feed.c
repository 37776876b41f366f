/*
 * feed.c: the event-log feed, the producer of the Server-Sent Events streams
 * (/api/events, /api/trackers/{id}/events) over channels (channel.c).
 *
 * Delivery: srv->head is the newest sequence number read from the log. A feed serves the log
 * up to f->pos; a feed opened without Last-Event-ID starts at the head, and the events read
 * after that come to it in fan-out passes. A feed that starts with Last-Event-ID (or falls
 * behind while replaying) reads the store from pos in batches, pausing while its output is
 * above half its bound and resuming when it drains, so replay never grows memory and never
 * skips or repeats an event.
 *
 * Fan-out passes: events read from the log wait in a queue; a pass takes what is queued (at
 * most PASS_EVENTS) and walks the live channels, giving each feed every event of the pass it
 * wants in one write. A pass runs in slices of SLICE_SENDS writes, one per turn of the loop,
 * so that requests are answered between slices: a write is acknowledged once it is durable
 * and read back, not once every stream has it. Events that come while a pass is under way go
 * in the next one, together; so the busier the server, the more events each write carries.
 * A pass starts at once when the one before it started PASS_GAP_US ago or more (an event
 * after a quiet spell goes out at once), else when that much time has passed: under a steady
 * stream of writes each stream gets at most one write per gap, carrying all that came.
 * Each feed's position makes it safe for a feed to meet an event twice (replay, then a pass)
 * or to open during a pass (it starts past the pass's events).
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
#define PASS_EVENTS  128  /* events one pass carries at most */
#define SLICE_SENDS  64   /* writes per slice of a pass */
#define SLICE_VISITS 4096 /* channels looked at per slice */
#define PASS_GAP_US  5000 /* a pass starts no sooner than this after the one before it */

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

/* Every event of v[0..n) that f wants, one write each (a feed already part-way into them):
 * the number of writes. */
static int deliver_each(struct ft_feed *f, const struct ft_event *v, size_t n, int64_t now)
{
    struct ft_buf frame, chunk;
    struct wire w;
    int writes = 0;
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
        writes++;
    }
    ft_buf_release(&frame);
    ft_buf_release(&chunk);
    return writes;
}

/*
 * The events of a pass, v[0..n), go to each feed in one chunk, one write: a chunk is framed
 * once per kind of feed (its tracker, its format), and a tracker's feed with none of the
 * events only moves its position.
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

/* Give f what it wants of v[0..n): the number of writes that took. The chunk for f's kind is
 * built the first time a feed of that kind needs it (kinds[0..*nkinds)). */
static int fan_feed(struct ft_feed *f, const struct ft_event *v, size_t n, struct batch *kinds,
                    size_t *nkinds, int64_t now)
{
    if (f->behind || v[n - 1].seq <= f->pos)
        return 0;
    if (f->tid && f->pos < v[0].seq && !wants_any(f->tid, v, n)) {
        set_pos(f, v[n - 1].seq);
        return 0;
    }
    struct batch *b = NULL;
    for (size_t k = 0; k < *nkinds && !b; k++)
        if (kinds[k].tid == f->tid && kinds[k].envelope == f->envelope)
            b = &kinds[k];
    if (!b && *nkinds < BATCH_KINDS && f->pos < v[0].seq) {
        b = &kinds[(*nkinds)++];
        memset(b, 0, sizeof(*b));
        b->tid = f->tid;
        b->envelope = f->envelope;
        batch_build(b, v, n);
    }
    if (!b || f->pos >= v[0].seq)
        return deliver_each(f, v, n, now);
    if (b->count) {
        if (ft_channel_send(&f->ch, &b->w, now))
            return 0;
        f->ch.events += b->count;
        f->ch.last_event_ms = now;
        f->ch.srv->m->events_delivered += b->count;
    }
    set_pos(f, b->end_seq);
    if (b->deleted)
        ft_channel_end(&f->ch, FT_END_COMPLETE);
    return b->count > 0;
}

/* ---- fan-out passes ------------------------------------------------------------------- */

/* Events read from the log; blk[i] holds v[i]'s strings. */
struct events {
    struct ft_event *v;
    char **blk;
    size_t n, cap, blk_cap;
};

struct ft_fanout {
    struct events queued; /* read from the log; the first pass_n are the pass under way */
    size_t pass_n;        /* 0: no pass under way */
    struct batch kinds[BATCH_KINDS];
    size_t nkinds;
    int64_t pass_started_us; /* when the last pass started */
};

static void events_drop(struct events *e, size_t n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n; i++)
        free(e->blk[i]);
    memmove(e->v, e->v + n, (e->n - n) * sizeof(*e->v));
    memmove(e->blk, e->blk + n, (e->n - n) * sizeof(*e->blk));
    e->n -= n;
}

/* Queue a copy of ev (its strings in one block). */
static void events_push(struct events *e, const struct ft_event *ev)
{
    const char *str[4] = {ev->slug, ev->actor, ev->kind, ev->payload};
    size_t len[4], total = 0;
    for (int i = 0; i < 4; i++) {
        str[i] = str[i] ? str[i] : "";
        total += len[i] = strlen(str[i]) + 1;
    }
    char *block = ft_xmalloc(total), *p = block;
    const char **dst[4];
    ft_xgrow((void **)&e->v, &e->cap, e->n + 1, sizeof(*e->v));
    ft_xgrow((void **)&e->blk, &e->blk_cap, e->n + 1, sizeof(*e->blk));
    e->blk[e->n] = block;
    struct ft_event *c = &e->v[e->n++];
    *c = *ev;
    dst[0] = &c->slug, dst[1] = &c->actor, dst[2] = &c->kind, dst[3] = &c->payload;
    for (int i = 0; i < 4; i++) {
        memcpy(p, str[i], len[i]);
        *dst[i] = p;
        p += len[i];
    }
}

static void pass_end(struct ft_fanout *fo)
{
    for (size_t k = 0; k < fo->nkinds; k++) {
        ft_buf_release(&fo->kinds[k].frames);
        ft_buf_release(&fo->kinds[k].chunk);
    }
    fo->nkinds = 0;
    events_drop(&fo->queued, fo->pass_n);
    fo->pass_n = 0;
}

/*
 * One slice of the pass under way (a new pass when none is, and events are queued): at most
 * max_sends writes; with max_sends 0, the whole pass. 1 when there is more to do. The pass's
 * events stay at the head of the queue, which may grow (and move) between two slices, never
 * during one: nothing a slice does queues events (a feed's replay reads the store itself).
 */
static int pass_run(struct ft_server *srv, unsigned max_sends)
{
    struct ft_fanout *fo = srv->fanout;
    if (!fo->pass_n) {
        if (!fo->queued.n)
            return 0;
        fo->pass_n = fo->queued.n < PASS_EVENTS ? fo->queued.n : PASS_EVENTS;
        fo->pass_started_us = srv_now_us();
        srv->fan_next = srv->live; /* a channel that ends moves it on (ft_channel_end) */
    }
    int64_t now = ft_mono_ms();
    unsigned sends = 0, visits = 0;
    while (srv->fan_next && (!max_sends || (sends < max_sends && visits < SLICE_VISITS))) {
        struct ft_channel *ch = srv->fan_next;
        srv->fan_next = ch->next;
        visits++;
        if (ch->ops == &feed_ops)
            sends += (unsigned)fan_feed((struct ft_feed *)ch, fo->queued.v, fo->pass_n, fo->kinds,
                                        &fo->nkinds, now);
    }
    srv->m->fanout_writes += sends;
    if (srv->fan_next)
        return 1;
    srv->m->fanout_passes++;
    pass_end(fo);
    return fo->queued.n > 0;
}

/* The next slice, on the loop's next turn: a timer due now runs after the turn's I/O (an
 * event made active from a callback would run in the same turn, before any I/O). */
static void slice_next(struct ft_server *srv)
{
    struct timeval tv = {0, 0};
    struct ft_fanout *fo = srv->fanout;
    if (!srv->ev_fanout)
        return;
    if (!fo->pass_n && fo->queued.n < PASS_EVENTS) { /* (a full pass's worth goes at once) */
        int64_t wait = fo->pass_started_us + PASS_GAP_US - srv_now_us();
        if (wait > 0)
            tv.tv_usec = (suseconds_t)wait;
    }
    /* a slice already due stands; one due later is brought forward when this one is due now */
    if (evtimer_pending(srv->ev_fanout, NULL) && (tv.tv_usec || srv->fan_due_now))
        return;
    srv->fan_due_now = !tv.tv_usec;
    evtimer_add(srv->ev_fanout, &tv);
}

static void on_fanout(evutil_socket_t fd, short what, void *arg)
{
    struct ft_server *srv = arg;
    (void)fd;
    (void)what;
    if (pass_run(srv, SLICE_SENDS))
        slice_next(srv);
}

void feed_fanout_init(struct ft_server *srv)
{
    srv->fanout = ft_xcalloc(1, sizeof(*srv->fanout));
    srv->ev_fanout = evtimer_new(srv->base, on_fanout, srv);
}

void feed_fanout_flush(struct ft_server *srv)
{
    if (!srv->fanout)
        return;
    /* what is committed, this worker may not have read yet (another's write, not yet seen) */
    srv_pull(srv);
    while (pass_run(srv, 0))
        ;
}

void feed_fanout_free(struct ft_server *srv)
{
    struct ft_fanout *fo = srv->fanout;
    if (srv->ev_fanout)
        event_free(srv->ev_fanout);
    srv->ev_fanout = NULL;
    if (!fo)
        return;
    pass_end(fo);
    events_drop(&fo->queued, fo->queued.n);
    free(fo->queued.v);
    free(fo->queued.blk);
    free(fo);
    srv->fanout = NULL;
    srv->fan_next = NULL;
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
    if (ev->seq > srv->head) { /* not read by this server yet: a pass will bring it */
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

static int pull_cb(const struct ft_event *ev, void *u)
{
    events_push(u, ev);
    return 0;
}

/* Read the log again in ms milliseconds (unless a read is due sooner). */
static void poll_in(struct ft_server *srv, int ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    int64_t due = srv_now_us() + (int64_t)ms * 1000;
    if (evtimer_pending(srv->ev_poll, NULL) && srv->poll_due_us <= due)
        return;
    srv->poll_due_us = due;
    evtimer_add(srv->ev_poll, &tv);
}

/* The next look at the log while a write just seen may not be visible yet: 1 ms after the
 * write was seen, then 2, 4, 8, 16 and every 20 ms (a commit becomes visible once its sync
 * is done: usually within a few milliseconds). */
static void arm_poll(struct ft_server *srv)
{
    poll_in(srv, srv->watch_step_ms);
    srv->watch_step_ms = srv->watch_step_ms * 2 > 20 ? 20 : srv->watch_step_ms * 2;
}

int srv_pull(struct ft_server *srv)
{
    struct ft_fanout *fo = srv->fanout;
    struct ft_err err;
    int rc = 0;
    for (;;) {
        size_t from = fo->queued.n;
        rc =
            ft_store_events(srv->st, 0, NULL, srv->head, PULL_BATCH, 0, pull_cb, &fo->queued, &err);
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
        /* First the versions: a client that has seen an event never gets the older
         * document. The streams get the events in the next passes. */
        size_t n = fo->queued.n - from;
        const struct ft_event *v = fo->queued.v + from;
        for (size_t i = 0; i < n; i++)
            ft_versions_event(&srv->versions, v[i].tracker_id, v[i].seq, v[i].kind);
        if (n) {
            srv->head = v[n - 1].seq;
            slice_next(srv);
        }
        for (size_t i = 0; i < n; i++)
            if (*v[i].slug)
                mcp_http_tracker_changed(srv, v[i].slug);
        if (rc || n < PULL_BATCH)
            break;
    }
    srv->pull_failing = rc != 0;
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
        srv->watch_step_ms = 1;
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
    if (!watch_take(srv) && (ft_mono_ms() < srv->watch_until || srv->pull_failing))
        srv_pull(srv);
    if (srv->pull_failing)
        return 0; /* what the watch saw could not be read: the versions may be behind */
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
