/*
 * rest.c: the REST adapters. A request's captures, query parameters, body, If-Match and
 * actor become an operation's arguments (src/ops/ops.h); the operation runs on the server's
 * store; its result goes back as JSON (or a rendered document) with its status, ETag and
 * Location. No rule of the tracker lives here: what an operation does, and every error it
 * can give, is the same from the command line, from HTTP and from MCP.
 *
 * Each handler answers exactly once through srv_reply*() / srv_error() / srv_fail(); what it
 * allocates are locals released before it returns (no request state outlives the callback).
 * After a write, the handler pulls the log, so that the streams get the write's event before
 * its response is sent.
 */
#include "internal.h"

#include "../core/render.h"
#include "../util/ft_err.h"
#include "../util/ft_text.h"
#include "../util/ft_xalloc.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../util/banned.h"

#define ACTOR_MAX 64

json_t *srv_read_json(struct call *c)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(c->req);
    const char *ct = evhttp_find_header(in, "Content-Type");
    struct evbuffer *body = evhttp_request_get_input_buffer(c->req);
    size_t len = evbuffer_get_length(body);
    if (!ct || strncasecmp(ct, "application/json", 16) != 0 ||
        (ct[16] && ct[16] != ';' && ct[16] != ' ')) {
        srv_error(c->srv, c->req, c->label, 415, "Content-Type", c->t0,
                  "send the body as 'Content-Type: application/json', not '%s'", ct ? ct : "");
        return NULL;
    }
    if (len > FT_SERVE_MAX_BODY) {
        srv_error(c->srv, c->req, c->label, 413, "body", c->t0, "the body is over %u bytes",
                  FT_SERVE_MAX_BODY);
        return NULL;
    }
    json_error_t je;
    const char *data = (const char *)evbuffer_pullup(body, -1);
    json_t *j = json_loadb(data ? data : "", len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        srv_error(c->srv, c->req, c->label, 400, "body", c->t0,
                  "the body is not JSON: %s (line %d, column %d)", je.text, je.line, je.column);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        srv_error(c->srv, c->req, c->label, 400, "body", c->t0, "the body must be a JSON object");
        return NULL;
    }
    return j;
}

/* The writer a request names (Flowtrack-Actor); 0, or -1 after answering 400. */
static int read_actor(struct call *c, json_t *args)
{
    const char *a = evhttp_find_header(evhttp_request_get_input_headers(c->req), "Flowtrack-Actor");
    size_t bad;
    if (!a)
        return 0;
    int ok = *a && strlen(a) <= ACTOR_MAX && ft_utf8_valid(a, strlen(a), &bad);
    for (const unsigned char *p = (const unsigned char *)a; ok && *p; p++)
        ok = *p >= 0x20 && *p != 0x7f;
    if (!ok) {
        srv_error(c->srv, c->req, c->label, 400, "Flowtrack-Actor", c->t0,
                  "Flowtrack-Actor must be a name of 1 to %d characters", ACTOR_MAX);
        return -1;
    }
    json_object_set_new(args, "actor", json_string(a));
    return 0;
}

/* If-Match: the version a write expects (args.if_version); 0, or -1 after answering 409. */
static int read_if_match(struct call *c, json_t *args)
{
    const char *im = evhttp_find_header(evhttp_request_get_input_headers(c->req), "If-Match");
    long long v;
    int n = 0;
    if (!im || strcmp(im, "*") == 0)
        return 0;
    const char *tag = strncmp(im, "W/", 2) == 0 ? im + 2 : im;
    if (sscanf(tag, "\"%18lld\"%n", &v, &n) != 1 || tag[n] || v < 0) {
        srv_error(c->srv, c->req, c->label, 409, "If-Match", c->t0,
                  "the tracker changed: If-Match %.40s is not a version of it", im);
        return -1;
    }
    json_object_set_new(args, "if_version", json_integer(v));
    return 0;
}

/*
 * The arguments of op from the request: the captures, the query parameters its wire row
 * lists, the body as the row says, If-Match and the actor. NULL after answering the error.
 */
static json_t *rest_args(struct call *c, enum ft_op op, json_t *body)
{
    const struct ft_op_wire *w = &ft_op_wires[op];
    json_t *a = json_deep_copy(c->caps);
    json_object_del(a, "view");
    for (const char *q = w->query; q && *q;) {
        char name[32];
        size_t n = strcspn(q, ",");
        snprintf(name, sizeof(name), "%.*s", (int)n, q);
        const char *v = evhttp_find_header(&c->query, name);
        if (v)
            json_object_set_new(a, name, json_string(v));
        q += n + (q[n] == ',');
    }
    if (w->body == FT_BODY_OPTIONS && !body &&
        !evbuffer_get_length(evhttp_request_get_input_buffer(c->req)))
        body = json_object();
    if (w->body != FT_BODY_NONE && w->body != FT_BODY_DOCUMENT && !body &&
        !(body = srv_read_json(c))) {
        json_decref(a);
        return NULL;
    }
    if (w->body == FT_BODY_FIELDS)
        json_object_set(a, "fields", body);
    else if (w->body == FT_BODY_ARGS || w->body == FT_BODY_OPTIONS)
        json_object_update_missing(a, body); /* the path's captures win */
    json_decref(body);
    json_object_del(a, "actor");
    json_object_del(a, "if_version");
    if (read_actor(c, a) || (w->write && read_if_match(c, a))) {
        json_decref(a);
        return NULL;
    }
    return a;
}

/* The version of tracker tid (its newest event's number): its entity tag. */
static int64_t tracker_version(struct ft_server *srv, int64_t tid)
{
    int64_t seq = 0;
    struct ft_err err;
    if (ft_store_tracker_version(srv->st, tid, &seq, &err))
        srv->m->store_errors++;
    return seq;
}

static void set_etag(struct call *c, int64_t version)
{
    char tag[40];
    snprintf(tag, sizeof(tag), "\"%lld\"", (long long)version);
    evhttp_add_header(evhttp_request_get_output_headers(c->req), "ETag", tag);
}

/* Location of what a 201 created: the new tracker, or the new entry or run under the path. */
static void set_location(struct call *c, enum ft_op op, json_t *r)
{
    char loc[256];
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(c->req));
    if (op == FT_OP_TRACKER_CREATE || op == FT_OP_TRACKER_IMPORT)
        snprintf(loc, sizeof(loc), "/api/trackers/%s",
                 json_string_value(json_object_get(json_object_get(r, "tracker"), "slug")));
    else
        snprintf(loc, sizeof(loc), "%.200s/%lld", path,
                 (long long)json_integer_value(json_object_get(r, "num")));
    evhttp_add_header(evhttp_request_get_output_headers(c->req), "Location", loc);
}

/*
 * Run op with args (taken) and answer its result: 201 with Location when it created
 * something; a DELETE answers 204, or 200 with the result when the client asks for it
 * (Prefer: return=representation); else 200. ETag is the tracker's version.
 */
static void rest_run(struct call *c, enum ft_op op, json_t *args)
{
    const struct ft_op_wire *w = &ft_op_wires[op];
    struct ft_result res;
    struct ft_err err;
    int rc = ft_ops_call(c->srv->ops, op, args, &res, &err);
    json_decref(args);
    if (rc) {
        srv_fail(c, &err);
        return;
    }
    if (w->write)
        srv_pull(c->srv);
    json_t *seq = json_object_get(res.json, "seq");
    if (json_is_integer(seq) && op != FT_OP_TRACKER_DELETE)
        set_etag(c, json_integer_value(seq));
    else if (!w->write && res.tracker_id)
        set_etag(c, tracker_version(c->srv, res.tracker_id));
    int status = 200;
    if (w->created) {
        status = 201;
        set_location(c, op, res.json);
    } else if (c->cmd == EVHTTP_REQ_DELETE) {
        const char *prefer = evhttp_find_header(evhttp_request_get_input_headers(c->req), "Prefer");
        status = prefer && strcasestr(prefer, "return=representation") ? 200 : 204;
    }
    if (status == 204)
        srv_reply(c->srv, c->req, c->label, 204, NULL, NULL, 0, c->t0);
    else
        srv_reply_json(c->srv, c->req, c->label, status, json_incref(res.json), c->t0);
    ft_result_release(&res);
}

void rest_op(struct call *c)
{
    json_t *args = rest_args(c, (enum ft_op)c->route->op, NULL);
    if (args)
        rest_run(c, (enum ft_op)c->route->op, args);
}

/* POST /api/trackers: a JSON body creates a tracker; a text or Markdown body imports one. */
void rest_create(struct call *c)
{
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(c->req), "Content-Type");
    int md = ct && strncasecmp(ct, "text/markdown", 13) == 0;
    if (!md && !(ct && strncasecmp(ct, "text/plain", 10) == 0)) {
        rest_op(c);
        return;
    }
    struct evbuffer *body = evhttp_request_get_input_buffer(c->req);
    size_t len = evbuffer_get_length(body);
    const char *data = (const char *)evbuffer_pullup(body, -1);
    json_t *args = rest_args(c, FT_OP_TRACKER_IMPORT, NULL);
    if (!args)
        return;
    json_object_set_new(args, "document", json_stringn_nocheck(data ? data : "", len));
    if (!json_object_get(args, "format")) /* ?format= says more than the content type */
        json_object_set_new(args, "format", json_string(md ? "md" : "auto"));
    rest_run(c, FT_OP_TRACKER_IMPORT, args);
}

/* POST of an entry; a result that carries the run that produced it records both. */
void rest_entry_add(struct call *c)
{
    json_t *body = srv_read_json(c);
    if (!body)
        return;
    const char *kind = json_string_value(json_object_get(c->caps, "kind"));
    enum ft_op op = strcmp(kind, "result") == 0 && json_object_get(body, "run") ? FT_OP_RUN_RECORD
                                                                                : FT_OP_ENTRY_ADD;
    json_t *args = rest_args(c, op, body);
    if (args)
        rest_run(c, op, args);
}

/* PATCH of an entry: its fields (one event), then its position (another), as sent. */
void rest_entry_patch(struct call *c)
{
    json_t *body = srv_read_json(c);
    if (!body)
        return;
    json_t *pos = json_object_get(body, "position");
    if (pos && (!json_is_integer(pos) || json_integer_value(pos) < 1 ||
                json_integer_value(pos) > 1000000000)) {
        srv_error(c->srv, c->req, c->label, 400, "position", c->t0,
                  "field 'position' must be a positive integer (1 = first)");
        json_decref(body);
        return;
    }
    json_t *move = pos ? json_pack("{s:O}", "position", pos) : NULL;
    json_object_del(body, "position");
    if (json_object_size(body) == 0 && !move) {
        srv_error(c->srv, c->req, c->label, 400, "body", c->t0, "nothing to change");
        json_decref(body);
        return;
    }
    if (json_object_size(body) == 0) {
        json_decref(body);
        json_t *args = rest_args(c, FT_OP_ENTRY_MOVE, move);
        if (args)
            rest_run(c, FT_OP_ENTRY_MOVE, args);
        return;
    }
    json_t *args = rest_args(c, FT_OP_ENTRY_EDIT, body);
    if (args && move) {
        struct ft_result res;
        struct ft_err err;
        int rc = ft_ops_call(c->srv->ops, FT_OP_ENTRY_EDIT, args, &res, &err);
        json_decref(args);
        ft_result_release(&res);
        if (rc) {
            srv_fail(c, &err);
            json_decref(move);
            return;
        }
        /* the move is checked against the version the edit left */
        args = rest_args(c, FT_OP_ENTRY_MOVE, move);
        json_object_del(args, "if_version");
        move = NULL;
        if (args)
            rest_run(c, FT_OP_ENTRY_MOVE, args);
        return;
    }
    json_decref(move);
    if (args)
        rest_run(c, FT_OP_ENTRY_EDIT, args);
}

/*
 * GET of a tracker, served from the render cache while its version (newest event) has not
 * moved; If-None-Match with the current version gets 304. The reference and the version come
 * from what the change watch knows (versions.h): a GET whose document is cached reads nothing
 * from the store. The store is read when they are unknown, and to render.
 */
void rest_tracker_get(struct call *c)
{
    static const char *const ctypes[] = {[FT_FMT_VIEW] = "text/plain; charset=utf-8",
                                         [FT_FMT_TEXT] = "text/plain; charset=utf-8",
                                         [FT_FMT_MD] = "text/markdown; charset=utf-8",
                                         [FT_FMT_JSON] = "application/json",
                                         [FT_FMT_COMPACT] = "text/plain; charset=utf-8"};
    static const char *const names[] = {[FT_FMT_VIEW] = "view",
                                        [FT_FMT_TEXT] = "text",
                                        [FT_FMT_MD] = "md",
                                        [FT_FMT_JSON] = "json",
                                        [FT_FMT_COMPACT] = "compact"};
    struct ft_server *srv = c->srv;
    struct ft_err err;
    int fmt = FT_FMT_JSON;
    int64_t tid;
    const char *view = json_string_value(json_object_get(c->caps, "view"));
    const char *qf = evhttp_find_header(&c->query, "format");
    if (view)
        fmt = strcmp(view, ".md") == 0     ? FT_FMT_MD
              : strcmp(view, ".json") == 0 ? FT_FMT_JSON
                                           : FT_FMT_TEXT;
    if (qf && (fmt = ft_format_parse(qf)) < 0) {
        srv_error(srv, c->req, c->label, 400, "format", c->t0,
                  "'format' must be json, md, text, view or compact, not '%.40s'", qf);
        return;
    }
    const char *ref = json_string_value(json_object_get(c->caps, "tracker"));
    int fresh = feed_watch_fresh(srv);
    if (!fresh || !(tid = ft_versions_ref(&srv->versions, ref))) {
        if (ft_ops_local_resolve(srv->ops, ref, &tid, &err)) {
            srv_fail(c, &err);
            return;
        }
        ft_versions_ref_put(&srv->versions, ref, tid);
    }
    int64_t version = fresh ? ft_versions_get(&srv->versions, tid) : -1;
    if (version < 0) {
        version = tracker_version(srv, tid);
        ft_versions_note(&srv->versions, tid, version);
    }
    char tag[40];
    snprintf(tag, sizeof(tag), "\"%lld\"", (long long)version);
    evhttp_add_header(evhttp_request_get_output_headers(c->req), "ETag", tag);
    const char *inm = evhttp_find_header(evhttp_request_get_input_headers(c->req), "If-None-Match");
    if (inm && (strcmp(inm, tag) == 0 || strcmp(inm, "*") == 0 ||
                (strncmp(inm, "W/", 2) == 0 && strcmp(inm + 2, tag) == 0))) {
        srv_reply(srv, c->req, c->label, 304, NULL, NULL, 0, c->t0);
        return;
    }
    const struct ft_cache_entry *e = ft_cache_get(&srv->cache, tid, fmt, version);
    if (e) {
        srv_reply(srv, c->req, c->label, 200, ctypes[fmt], e->body, e->len, c->t0);
        return;
    }
    struct ft_result res;
    char idref[24];
    snprintf(idref, sizeof(idref), "%lld", (long long)tid);
    json_t *args = json_pack("{s:s, s:s}", "tracker", idref, "format", names[fmt]);
    int rc = ft_ops_call(srv->ops, FT_OP_TRACKER_SHOW, args, &res, &err);
    json_decref(args);
    if (rc) {
        evhttp_remove_header(evhttp_request_get_output_headers(c->req), "ETag");
        srv_fail(c, &err);
        return;
    }
    if (res.json) { /* as srv_reply_json sends it */
        char *s = json_dumps(res.json, JSON_INDENT(2));
        ft_buf_adds(&res.doc, s ? s : "");
        ft_buf_addc(&res.doc, '\n');
        free(s);
    }
    /* Keep it only when no other process wrote in between: then it is this version. */
    if (tracker_version(srv, tid) == version)
        ft_cache_put(&srv->cache, tid, fmt, version, res.doc.buf, res.doc.len);
    srv_reply(srv, c->req, c->label, 200, ctypes[fmt], res.doc.buf, res.doc.len, c->t0);
    ft_result_release(&res);
}

void rest_events(struct call *c)
{
    const char *ref = json_string_value(json_object_get(c->caps, "tracker"));
    struct ft_err err;
    int64_t tid = 0;
    if (ref && ft_ops_local_resolve(c->srv->ops, ref, &tid, &err)) {
        srv_fail(c, &err);
        return;
    }
    feed_open(c->srv, c->req, tid, ref ? ref : "*", c->t0);
}

/* 200 "ok"; 503 naming the problem while the store's database cannot be reached (its
 * connection, or the change watch's, was lost and is not back yet): requests that need the
 * store fail meanwhile, streams stay open and catch up when it returns. */
void rest_healthz(struct call *c)
{
    struct ft_store_health h;
    if (feed_store_up(c->srv, &h)) {
        srv_reply(c->srv, c->req, c->label, 200, "text/plain; charset=utf-8", "ok", 2, c->t0);
        return;
    }
    char body[320];
    int n = snprintf(body, sizeof(body), "store unavailable: %s",
                     h.up ? "the change watch is reconnecting" : h.why);
    if (n < 0 || (size_t)n >= sizeof(body))
        n = (int)strlen(body);
    srv_reply(c->srv, c->req, c->label, 503, "text/plain; charset=utf-8", body, (size_t)n, c->t0);
}
