/*
 * mcp_http.c: MCP over Streamable HTTP at /mcp (docs/mcp.md), sessions of
 * src/mcp/ on the server's loop.
 *
 * POST carries one JSON-RPC message. A notification or response gets 202; a
 * request gets its answer as application/json when it is ready at once, or
 * else as a text/event-stream that carries its progress notifications and
 * then its response (a run). GET opens the session's stream of resource
 * updates; DELETE ends the session. A session begins with an initialize POST
 * without Mcp-Session-Id, which answers with one (128 random bits in hex);
 * every other request names it (400 without, 404 once it is gone).
 *
 * Ownership: a session (struct mcp_session) owns its struct ft_mcp and is the
 * only owner of its streams' link back to it; each stream is a channel
 * (channel.c) embedded in a struct mcp_stream, freed by the channel's one free
 * path. session_free() is the one place a session ends, whatever the reason
 * (DELETE, idle expiry, shutdown): it ends the MCP session (interrupting its
 * runs), cuts its streams loose and ends them, and frees it. A stream that
 * ends first (the client went away) unlinks itself and, for a POST, cancels
 * the request it was answering.
 */
#include "internal.h"

#include "../mcp/mcp.h"
#include "../util/ft_buf.h"
#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "../util/banned.h"

struct mcp_stream;

/* Cancelled request ids copied out of a record, to apply once its lock is released. */
struct cancels {
    int n;
    char id[FT_SHARED_CANCELS][64];
};

struct mcp_session {
    struct mcp_session *prev, *next;
    struct ft_server *srv;
    char id[33];
    struct ft_mcp *m;
    uint32_t gen;                  /* the record's state this side has */
    uint32_t cancel_seen;          /* the record's cancels this side has looked at */
    struct mcp_stream *get;        /* the GET stream of resource updates, or NULL */
    struct mcp_stream *posts;      /* POST streams whose response is not sent yet */
    struct mcp_session *gone_next; /* the tick's list of sides whose record is gone */
    struct cancels tick_cancels;   /* what the tick found cancelled */
};

struct mcp_stream {
    struct ft_channel ch;  /* first: a stream is its channel (once started) */
    struct mcp_session *s; /* NULL once the session is gone */
    struct mcp_stream *next;
    int is_get;
    int started;  /* the channel runs (a reply was started on the request) */
    int answered; /* the response went out (as JSON, or on the channel) */
    struct evhttp_request *req;
    int64_t t0;
};

/* ---- streams ---------------------------------------------------------------------------- */

static void get_release(struct mcp_session *s);

static void stream_unlink(struct mcp_stream *st)
{
    struct mcp_session *s = st->s;
    if (!s)
        return;
    if (s->get == st) {
        s->get = NULL;
        get_release(s);
    }
    for (struct mcp_stream **p = &s->posts; *p; p = &(*p)->next)
        if (*p == st) {
            *p = st->next;
            break;
        }
    st->s = NULL;
}

static void stream_drained(struct ft_channel *ch)
{
    (void)ch;
}

/* The channel's one free path: a POST that never got its response cancels its request. */
static void stream_free(struct ft_channel *ch)
{
    struct mcp_stream *st = (struct mcp_stream *)ch;
    struct mcp_session *s = st->s;
    stream_unlink(st);
    if (s && !st->is_get && !st->answered)
        ft_mcp_forget(s->m, st);
    free(st);
}

static const struct ft_channel_ops stream_ops = {stream_drained, stream_free};

static void add_session_header(struct evhttp_request *req, const struct mcp_session *s)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "Mcp-Session-Id", s->id);
}

/* Send msg on a started stream as one SSE event. 0, or -1 when the stream ended. */
static int stream_send(struct mcp_stream *st, json_t *msg, int last)
{
    char *text = json_dumps(msg, JSON_COMPACT);
    struct ft_buf frame, chunk;
    struct wire w;
    int rc = -1;
    ft_buf_init(&frame, 0);
    ft_buf_init(&chunk, 0);
    if (text) {
        ft_buf_addf(&frame, "event: message\ndata: %s\n\n", text);
        wire_make(&w, &chunk, frame.buf, frame.len);
        int64_t now = ft_mono_ms();
        rc = last ? ft_channel_send_raw(&st->ch, &w, now) : ft_channel_send(&st->ch, &w, now);
        if (rc == 0) {
            st->ch.events++;
            st->ch.last_event_ms = now;
        }
    }
    free(text);
    ft_buf_release(&frame);
    ft_buf_release(&chunk);
    return rc;
}

/* Start st's SSE reply. 0, or -1 (answered: too many streams). */
static int stream_start(struct mcp_stream *st, struct mcp_session *s)
{
    add_session_header(st->req, s);
    evhttp_add_header(evhttp_request_get_output_headers(st->req), "Cache-Control",
                      "no-cache, no-transform");
    if (ft_channel_start(&st->ch, s->srv, st->req, &stream_ops, "text/event-stream", "mcp", R_MCP,
                         st->t0))
        return -1;
    st->started = 1;
    return 0;
}

/* The session's host: messages of a request go to its POST; others to the GET stream. */
static void session_send(void *u, json_t *msg, void *req)
{
    struct mcp_session *s = u;
    struct mcp_stream *st = req;
    int response = json_object_get(msg, "id") && !json_object_get(msg, "method");
    if (!st) {
        if (s->get)
            stream_send(s->get, msg, 0);
        json_decref(msg);
        return;
    }
    if (st->answered) {
        json_decref(msg);
        return;
    }
    if (!st->started && response) { /* at once: a plain JSON answer */
        add_session_header(st->req, s);
        srv_reply_json(s->srv, st->req, R_MCP, 200, msg, st->t0);
        st->answered = 1;
        return;
    }
    if (!st->started && stream_start(st, s)) {
        st->answered = 1; /* refused (503): nothing more can go out */
        json_decref(msg);
        return;
    }
    if (response) {
        st->answered = 1;
        stream_send(st, msg, 1);
        stream_unlink(st);
        ft_channel_end(&st->ch, FT_END_COMPLETE); /* the response ends the stream */
    } else {
        stream_send(st, msg, 0);
    }
    json_decref(msg);
}

/* ---- sessions --------------------------------------------------------------------------- */

/*
 * A session lives in the shared registry (shared.h): any worker may receive its requests.
 * Each worker that does keeps its own side of it, struct mcp_session: the struct ft_mcp that
 * answers, and the streams opened on this worker. The registry holds what those sides share
 * (version, actor, subscriptions, cancelled requests) and decides the session's end; a worker
 * frees its side when it finds the record gone.
 */
enum { CLOSE_DELETE, CLOSE_IDLE, CLOSE_SHUTDOWN, CLOSE_GONE };
static const char *const close_names[] = {"delete", "idle", "shutdown", "gone"};

/* Free this worker's side of s: its MCP session (interrupting its runs) and its streams. */
static void session_free(struct mcp_session *s, int why)
{
    struct ft_server *srv = s->srv;
    ft_mcp_free(s->m); /* first: its runs answer nobody from here on */
    s->m = NULL;
    enum ft_end end = why == CLOSE_SHUTDOWN ? FT_END_SHUTDOWN : FT_END_COMPLETE;
    while (s->posts) {
        struct mcp_stream *st = s->posts;
        stream_unlink(st);
        st->answered = 1;
        ft_channel_end(&st->ch, end);
    }
    if (s->get) {
        struct mcp_stream *st = s->get;
        stream_unlink(st);
        ft_channel_end(&st->ch, end);
    }
    if (s->prev)
        s->prev->next = s->next;
    else
        srv->mcp.sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    free(s);
}

/* Under the lock: end the session of rec for every worker (counted and logged here). */
static void record_end(struct ft_server *srv, struct ft_mcp_rec *rec, int why)
{
    srv->sh->mcp_closed[why]++;
    srv_log(srv, "info", "mcp_session_end", "session=%.8s reason=%s", rec->id, close_names[why]);
    ft_shared_mcp_drop(srv->sh, rec);
}

/* This worker's side of session id (a record of the registry), made when it has none. */
static struct mcp_session *session_new(struct ft_server *srv, const char *id)
{
    struct mcp_session *s = ft_xcalloc(1, sizeof(*s));
    snprintf(s->id, sizeof(s->id), "%s", id);
    s->srv = srv;
    const char *access[] = {"--db", ft_store_path(srv->st), NULL};
    struct ft_mcp_config cfg = {srv->mcp.runs, srv->mcp.self_exe, access, NULL, NULL};
    struct ft_mcp_host host = {session_send, s};
    s->m = ft_mcp_new(srv->base, srv->ops, &cfg, &host);
    s->next = srv->mcp.sessions;
    if (s->next)
        s->next->prev = s;
    srv->mcp.sessions = s;
    return s;
}

static struct mcp_session *session_find(struct ft_server *srv, const char *id)
{
    for (struct mcp_session *s = srv->mcp.sessions; s; s = s->next)
        if (strlen(id) == 32 && ft_ct_streq(s->id, id))
            return s;
    return NULL;
}

/* Under the lock: whether rec's GET stream is held by a worker that still runs (a worker that
 * died leaves a pid no slot has any more). */
static int get_held(struct ft_shared *sh, const struct ft_mcp_rec *rec)
{
    for (int k = 0; rec->get_pid && k < sh->nslots; k++)
        if (ft_shared_slot(sh, k)->pid == rec->get_pid)
            return 1;
    return 0;
}

/* This worker's GET stream of s ended: the session may open another, on any worker. */
static void get_release(struct mcp_session *s)
{
    struct ft_shared *sh = s->srv->sh;
    ft_shared_lock(sh);
    struct ft_mcp_rec *rec = ft_shared_mcp_find(sh, s->id);
    if (rec && rec->get_pid == getpid())
        rec->get_pid = 0;
    ft_shared_unlock(sh);
}

/* Under the lock: bring s up to date with its record (state changed by another worker, and
 * requests cancelled through one, into c). */
/* Under the lock: take the record's state when another worker changed it. */
static void state_sync(struct mcp_session *s, const struct ft_mcp_rec *rec)
{
    if (s->gen != rec->gen) {
        ft_mcp_state_load(s->m, &rec->state);
        s->gen = rec->gen;
    }
}

static void session_sync(struct mcp_session *s, struct ft_mcp_rec *rec, struct cancels *c)
{
    state_sync(s, rec);
    uint32_t from = rec->cancel_seq - s->cancel_seen > FT_SHARED_CANCELS
                        ? rec->cancel_seq - FT_SHARED_CANCELS
                        : s->cancel_seen;
    for (uint32_t i = from; s->posts && i != rec->cancel_seq && c->n < FT_SHARED_CANCELS; i++)
        snprintf(c->id[c->n++], sizeof(c->id[0]), "%s", rec->cancels[i % FT_SHARED_CANCELS]);
    s->cancel_seen = rec->cancel_seq;
}

static void apply_cancels(struct mcp_session *s, const struct cancels *c)
{
    for (int i = 0; i < c->n && s->m; i++) {
        json_t *id = json_loads(c->id[i], JSON_DECODE_ANY, NULL);
        if (id)
            ft_mcp_cancel(s->m, id);
        json_decref(id);
    }
}

/* After a request: publish what it changed of s (its version, actor, subscriptions). */
static void session_save(struct mcp_session *s)
{
    struct ft_server *srv = s->srv;
    struct ft_mcp_state *st = ft_xcalloc(1, sizeof(*st));
    if (ft_mcp_state_save(s->m, st) != 0) {
        srv_log(srv, "warn", "mcp_session", "session=%.8s msg=\"subscriptions too large to share\"",
                s->id);
        free(st);
        return;
    }
    ft_shared_lock(srv->sh);
    struct ft_mcp_rec *rec = ft_shared_mcp_find(srv->sh, s->id);
    if (rec && memcmp(&rec->state, st, sizeof(*st)) != 0) {
        rec->state = *st;
        s->gen = ++rec->gen;
    }
    ft_shared_unlock(srv->sh);
    free(st);
}

/* Under the lock: a cancelled request, for the worker whose run answers it. */
static void record_cancel(struct ft_mcp_rec *rec, json_t *msg)
{
    json_t *params = json_object_get(msg, "params");
    char *id = json_dumps(json_object_get(params, "requestId"), JSON_COMPACT | JSON_ENCODE_ANY);
    if (id && strlen(id) < sizeof(rec->cancels[0])) {
        snprintf(rec->cancels[rec->cancel_seq % FT_SHARED_CANCELS], sizeof(rec->cancels[0]), "%s",
                 id);
        rec->cancel_seq++;
    }
    free(id);
}

void mcp_http_tick(struct ft_server *srv, int64_t now)
{
    int64_t idle = srv->o->mcp_idle_ms;
    uint64_t bit = (uint64_t)1 << srv->worker;
    struct ft_shared *sh = srv->sh;
    struct mcp_session *gone = NULL;
    ft_shared_lock(sh);
    for (struct mcp_session *s = srv->mcp.sessions, *next; s; s = next) {
        next = s->next;
        struct ft_mcp_rec *rec = ft_shared_mcp_find(sh, s->id);
        s->tick_cancels.n = 0;
        if (!rec) {
            s->gone_next = gone;
            gone = s;
            continue;
        }
        if (s->get || s->posts) {
            rec->busy |= bit;
            rec->last_ms = now;
        } else {
            rec->busy &= ~bit;
        }
        session_sync(s, rec, &s->tick_cancels);
    }
    for (int i = 0; i < sh->mcp_cap && idle > 0 && sh->mcp_open > 0; i++) {
        struct ft_mcp_rec *rec = ft_shared_mcp_at(sh, i);
        if (rec && !rec->busy && now - rec->last_ms >= idle)
            record_end(srv, rec, CLOSE_IDLE);
    }
    ft_shared_unlock(sh);
    for (struct mcp_session *s = srv->mcp.sessions; s; s = s->next)
        apply_cancels(s, &s->tick_cancels);
    while (gone) {
        struct mcp_session *s = gone;
        gone = s->gone_next;
        session_free(s, CLOSE_GONE);
    }
}

void mcp_http_tracker_changed(struct ft_server *srv, const char *slug)
{
    int locked = 0;
    for (struct mcp_session *s = srv->mcp.sessions; s; s = s->next) {
        if (!s->get)
            continue;
        if (!locked) { /* subscriptions may have changed through another worker */
            ft_shared_lock(srv->sh);
            locked = 1;
        }
        struct ft_mcp_rec *rec = ft_shared_mcp_find(srv->sh, s->id);
        if (rec)
            state_sync(s, rec);
    }
    if (locked)
        ft_shared_unlock(srv->sh);
    for (struct mcp_session *s = srv->mcp.sessions; s; s = s->next)
        if (s->get && ft_mcp_subscribed(s->m))
            ft_mcp_tracker_changed(s->m, slug);
}

void mcp_http_stop(struct ft_server *srv)
{
    if (srv->mcp.runs) { /* the first call: the sessions end for every worker */
        ft_shared_lock(srv->sh);
        for (int i = 0; i < srv->sh->mcp_cap && srv->sh->mcp_open > 0; i++) {
            struct ft_mcp_rec *rec = ft_shared_mcp_at(srv->sh, i);
            if (rec)
                record_end(srv, rec, CLOSE_SHUTDOWN);
        }
        ft_shared_unlock(srv->sh);
    }
    while (srv->mcp.sessions)
        session_free(srv->mcp.sessions, CLOSE_SHUTDOWN);
    ft_mcp_runs_free(srv->mcp.runs);
    srv->mcp.runs = NULL;
}

void mcp_http_start(struct ft_server *srv)
{
    ssize_t n = readlink("/proc/self/exe", srv->mcp.self_exe, sizeof(srv->mcp.self_exe) - 1);
    srv->mcp.self_exe[n > 0 ? n : 0] = '\0';
    srv->mcp.runs = ft_mcp_runs_new(srv->base);
}

/* ---- requests --------------------------------------------------------------------------- */

/* A transport error: status with a JSON-RPC error body (id null), as the SDKs answer. */
static void rpc_fail(struct call *c, int status, int code, const char *msg)
{
    json_t *e = ft_mcp_error(NULL, code, "%s", msg);
    srv_reply_json(c->srv, c->req, R_MCP, status, e, c->t0);
}

static int accepts(const char *accept, const char *type)
{
    return accept && (strstr(accept, type) || strstr(accept, "*/*"));
}

/* The session a request names (this worker's side, made from the registry when it has none,
 * brought up to date): 0 and *out, or -1 after answering 400 / 404. */
static int named_session(struct call *c, struct mcp_session **out)
{
    struct ft_server *srv = c->srv;
    const char *id = evhttp_find_header(evhttp_request_get_input_headers(c->req), "Mcp-Session-Id");
    struct cancels cancels = {0};
    if (!id) {
        rpc_fail(c, 400, -32000, "Bad Request: Mcp-Session-Id required (initialize first)");
        return -1;
    }
    struct mcp_session *s = session_find(srv, id);
    ft_shared_lock(srv->sh);
    struct ft_mcp_rec *rec = ft_shared_mcp_find(srv->sh, id);
    if (rec) {
        rec->last_ms = ft_mono_ms();
        if (!s) {
            s = session_new(srv, rec->id);
            s->gen = rec->gen - 1; /* loaded by the sync */
            s->cancel_seen = rec->cancel_seq;
        }
        session_sync(s, rec, &cancels);
    }
    ft_shared_unlock(srv->sh);
    if (!rec) {
        if (s)
            session_free(s, CLOSE_GONE); /* ended through another worker */
        rpc_fail(c, 404, -32001, "Session not found: initialize again");
        return -1;
    }
    apply_cancels(s, &cancels);
    *out = s;
    return 0;
}

static int version_ok(struct call *c)
{
    const char *v =
        evhttp_find_header(evhttp_request_get_input_headers(c->req), "MCP-Protocol-Version");
    for (int i = 0; v && ft_mcp_versions[i]; i++)
        if (strcmp(v, ft_mcp_versions[i]) == 0)
            return 1;
    if (!v)
        return 1; /* absent: 2025-03-26 is assumed */
    rpc_fail(c, 400, -32000, "Bad Request: unsupported MCP-Protocol-Version");
    return 0;
}

static void mcp_post(struct call *c)
{
    struct ft_server *srv = c->srv;
    struct evkeyvalq *in = evhttp_request_get_input_headers(c->req);
    const char *ct = evhttp_find_header(in, "Content-Type");
    struct evbuffer *body = evhttp_request_get_input_buffer(c->req);
    size_t len = evbuffer_get_length(body);
    json_error_t je;

    if (!accepts(evhttp_find_header(in, "Accept"), "application/json") ||
        !accepts(evhttp_find_header(in, "Accept"), "text/event-stream")) {
        rpc_fail(c, 406, -32000,
                 "Not Acceptable: accept both application/json and text/event-stream");
        return;
    }
    if (!ct || strncasecmp(ct, "application/json", 16) != 0) {
        rpc_fail(c, 415, -32000, "Unsupported Media Type: send application/json");
        return;
    }
    const char *data = (const char *)evbuffer_pullup(body, -1);
    json_t *msg = json_loadb(data ? data : "", len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!msg) {
        char m[300];
        snprintf(m, sizeof(m), "Parse error: %s", je.text);
        rpc_fail(c, 400, FT_RPC_PARSE, m);
        return;
    }
    if (!json_is_object(msg)) {
        rpc_fail(c, 400, FT_RPC_INVALID,
                 json_is_array(msg) ? "Invalid Request: batches are not accepted (MCP 2025-06-18)"
                                    : "Invalid Request: one JSON-RPC object per POST");
        json_decref(msg);
        return;
    }
    const char *method = json_string_value(json_object_get(msg, "method"));
    int init = method && strcmp(method, "initialize") == 0;
    const char *sid = evhttp_find_header(in, "Mcp-Session-Id");
    struct mcp_session *s = NULL;
    if (init && !sid) {
        if (!json_object_get(msg, "id")) {
            rpc_fail(c, 400, FT_RPC_INVALID, "Invalid Request: initialize needs an id");
            json_decref(msg);
            return;
        }
        ft_shared_lock(srv->sh);
        struct ft_mcp_rec *rec = srv->sh->mcp_open < srv->o->mcp_max_sessions
                                     ? ft_shared_mcp_add(srv->sh)
                                     : (errno = EAGAIN, NULL);
        int e = errno;
        if (rec) {
            rec->last_ms = ft_mono_ms();
            srv->sh->mcp_opened++;
            s = session_new(srv, rec->id);
            s->gen = rec->gen;
        }
        ft_shared_unlock(srv->sh);
        if (!rec && e == EAGAIN) {
            evhttp_add_header(evhttp_request_get_output_headers(c->req), "Retry-After", "5");
            rpc_fail(c, 503, -32000, "Service Unavailable: too many MCP sessions");
            json_decref(msg);
            return;
        }
        if (!rec) {
            rpc_fail(c, 500, FT_RPC_INTERNAL, "no randomness for a session id");
            json_decref(msg);
            return;
        }
        srv_log(srv, "info", "mcp_session_start", "session=%.8s", s->id);
    } else if (init) {
        rpc_fail(c, 400, FT_RPC_INVALID,
                 "Invalid Request: initialize starts a session; send it without Mcp-Session-Id");
        json_decref(msg);
        return;
    } else if (named_session(c, &s) || !version_ok(c)) {
        json_decref(msg);
        return;
    }

    struct mcp_stream *st = ft_xcalloc(1, sizeof(*st));
    st->s = s;
    st->req = c->req;
    st->t0 = c->t0;
    int request = ft_mcp_handle(s->m, msg, st);
    if (method && strcmp(method, "notifications/cancelled") == 0) {
        ft_shared_lock(srv->sh); /* its run may be on another worker */
        struct ft_mcp_rec *rec = ft_shared_mcp_find(srv->sh, s->id);
        if (rec)
            record_cancel(rec, msg);
        ft_shared_unlock(srv->sh);
    }
    session_save(s);
    json_decref(msg);
    if (!request) { /* a notification or a response: accepted */
        add_session_header(c->req, s);
        srv_reply(srv, c->req, R_MCP, 202, NULL, NULL, 0, c->t0);
        free(st);
        return;
    }
    if (st->answered) {
        if (!st->started)
            free(st); /* answered as JSON; a started stream is freed by its channel */
        return;
    }
    /* to be answered later (a run): on a stream, which also carries its progress */
    if (!st->started && stream_start(st, s)) {
        ft_mcp_forget(s->m, st);
        free(st);
        return;
    }
    st->next = s->posts;
    s->posts = st;
}

static void mcp_get(struct call *c)
{
    struct mcp_session *s;
    const char *accept = evhttp_find_header(evhttp_request_get_input_headers(c->req), "Accept");
    if (!accepts(accept, "text/event-stream")) {
        rpc_fail(c, 406, -32000, "Not Acceptable: the GET stream is text/event-stream");
        return;
    }
    if (named_session(c, &s) || !version_ok(c))
        return;
    /* one GET stream per session, whichever worker holds it: a message goes out on one stream */
    ft_shared_lock(c->srv->sh);
    struct ft_mcp_rec *rec = ft_shared_mcp_find(c->srv->sh, s->id);
    int held = s->get || (rec && get_held(c->srv->sh, rec));
    if (rec && !held)
        rec->get_pid = getpid();
    ft_shared_unlock(c->srv->sh);
    if (held || !rec) {
        rpc_fail(c, 409, -32000, "Conflict: this session already has its GET stream");
        return;
    }
    struct mcp_stream *st = ft_xcalloc(1, sizeof(*st));
    st->s = s;
    st->is_get = 1;
    st->answered = 1;
    st->req = c->req;
    st->t0 = c->t0;
    if (stream_start(st, s)) {
        free(st);
        get_release(s);
        return;
    }
    s->get = st;
}

static void mcp_delete(struct call *c)
{
    struct mcp_session *s;
    if (named_session(c, &s))
        return;
    ft_shared_lock(c->srv->sh);
    struct ft_mcp_rec *rec = ft_shared_mcp_find(c->srv->sh, s->id);
    if (rec)
        record_end(c->srv, rec, CLOSE_DELETE);
    ft_shared_unlock(c->srv->sh);
    session_free(s, CLOSE_DELETE);
    srv_reply(c->srv, c->req, R_MCP, 204, NULL, NULL, 0, c->t0);
}

void rest_mcp(struct call *c)
{
    struct ft_server *srv = c->srv;
    const char *origin = evhttp_find_header(evhttp_request_get_input_headers(c->req), "Origin");
    const char *host = evhttp_find_header(evhttp_request_get_input_headers(c->req), "Host");
    if (origin && c->cmd == EVHTTP_REQ_GET) { /* writes had theirs checked with the rest */
        char same[400];
        snprintf(same, sizeof(same), "http://%s", host ? host : "");
        if (strcmp(origin, same) != 0) {
            srv_error(srv, c->req, R_MCP, 403, "Origin", c->t0,
                      "requests from another origin ('%s') are refused", origin);
            return;
        }
    }
    if (c->cmd == EVHTTP_REQ_POST)
        mcp_post(c);
    else if (c->cmd == EVHTTP_REQ_GET)
        mcp_get(c);
    else
        mcp_delete(c);
}
