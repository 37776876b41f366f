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

struct mcp_session {
    struct mcp_session *prev, *next;
    struct ft_server *srv;
    char id[33];
    struct ft_mcp *m;
    int64_t last_ms;          /* the last request, for idle expiry */
    struct mcp_stream *get;   /* the GET stream of resource updates, or NULL */
    struct mcp_stream *posts; /* POST streams whose response is not sent yet */
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

static void stream_unlink(struct mcp_stream *st)
{
    struct mcp_session *s = st->s;
    if (!s)
        return;
    if (s->get == st)
        s->get = NULL;
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

enum { CLOSE_DELETE, CLOSE_IDLE, CLOSE_SHUTDOWN };

static void session_free(struct mcp_session *s, int why)
{
    struct ft_server *srv = s->srv;
    ft_mcp_free(s->m); /* first: its runs answer nobody from here on */
    s->m = NULL;
    while (s->posts) {
        struct mcp_stream *st = s->posts;
        stream_unlink(st);
        st->answered = 1;
        ft_channel_end(&st->ch, why == CLOSE_SHUTDOWN ? FT_END_SHUTDOWN : FT_END_COMPLETE);
    }
    if (s->get) {
        struct mcp_stream *st = s->get;
        stream_unlink(st);
        ft_channel_end(&st->ch, why == CLOSE_SHUTDOWN ? FT_END_SHUTDOWN : FT_END_COMPLETE);
    }
    if (s->prev)
        s->prev->next = s->next;
    else
        srv->mcp.sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    srv->mcp.open--;
    srv->mcp.closed[why]++;
    srv_log(srv, "info", "mcp_session_end", "session=%.8s reason=%s", s->id,
            why == CLOSE_DELETE ? "delete"
            : why == CLOSE_IDLE ? "idle"
                                : "shutdown");
    free(s);
}

static struct mcp_session *session_new(struct ft_server *srv)
{
    struct mcp_session *s = ft_xcalloc(1, sizeof(*s));
    unsigned char r[16];
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        free(s);
        return NULL;
    }
    for (size_t i = 0; i < sizeof(r); i++)
        snprintf(s->id + 2 * i, 3, "%02x", r[i]);
    s->srv = srv;
    s->last_ms = ft_mono_ms();
    const char *access[] = {"--db", ft_store_path(srv->st), NULL};
    struct ft_mcp_config cfg = {srv->mcp.runs, srv->mcp.self_exe, access, NULL, NULL};
    struct ft_mcp_host host = {session_send, s};
    s->m = ft_mcp_new(srv->base, srv->ops, &cfg, &host);
    s->next = srv->mcp.sessions;
    if (s->next)
        s->next->prev = s;
    srv->mcp.sessions = s;
    srv->mcp.open++;
    srv->mcp.opened++;
    return s;
}

static struct mcp_session *session_find(struct ft_server *srv, const char *id)
{
    for (struct mcp_session *s = srv->mcp.sessions; s; s = s->next)
        if (strlen(id) == 32 && ft_ct_streq(s->id, id))
            return s;
    return NULL;
}

void mcp_http_tick(struct ft_server *srv, int64_t now)
{
    int64_t idle = srv->o->mcp_idle_ms;
    for (struct mcp_session *s = srv->mcp.sessions, *next; s && idle > 0; s = next) {
        next = s->next;
        if (!s->get && !s->posts && now - s->last_ms >= idle)
            session_free(s, CLOSE_IDLE);
    }
}

void mcp_http_tracker_changed(struct ft_server *srv, const char *slug)
{
    for (struct mcp_session *s = srv->mcp.sessions; s; s = s->next)
        if (s->get && ft_mcp_subscribed(s->m))
            ft_mcp_tracker_changed(s->m, slug);
}

void mcp_http_stop(struct ft_server *srv)
{
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

/* The session a request names: 0 and *out, or -1 after answering 400 / 404. */
static int named_session(struct call *c, struct mcp_session **out)
{
    const char *id = evhttp_find_header(evhttp_request_get_input_headers(c->req), "Mcp-Session-Id");
    if (!id) {
        rpc_fail(c, 400, -32000, "Bad Request: Mcp-Session-Id required (initialize first)");
        return -1;
    }
    if (!(*out = session_find(c->srv, id))) {
        rpc_fail(c, 404, -32001, "Session not found: initialize again");
        return -1;
    }
    (*out)->last_ms = ft_mono_ms();
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
        if (srv->mcp.open >= srv->o->mcp_max_sessions) {
            evhttp_add_header(evhttp_request_get_output_headers(c->req), "Retry-After", "5");
            rpc_fail(c, 503, -32000, "Service Unavailable: too many MCP sessions");
            json_decref(msg);
            return;
        }
        if (!json_object_get(msg, "id")) {
            rpc_fail(c, 400, FT_RPC_INVALID, "Invalid Request: initialize needs an id");
            json_decref(msg);
            return;
        }
        if (!(s = session_new(srv))) {
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
    if (s->get) {
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
        return;
    }
    s->get = st;
}

static void mcp_delete(struct call *c)
{
    struct mcp_session *s;
    if (named_session(c, &s))
        return;
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
