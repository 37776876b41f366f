/*
 * api.c: the JSON API under /api/ — everything the command line can do.
 *
 *   /api/trackers                          GET list, POST create (JSON) or import (text/Markdown)
 *   /api/trackers/{id}[.md|.txt|.json]     GET, PATCH header fields, DELETE
 *   /api/trackers/{id}/{kind}              GET list, POST add    (kind: rules, steps, items,
 *   /api/trackers/{id}/{kind}/{num}        GET, PATCH, DELETE     symptoms, hypotheses, results,
 *                                                                 followups, notes)
 *   /api/trackers/{id}/history             GET events (?kind= &since= &limit=)
 *   /api/trackers/{id}/runs[/{num}]        GET
 *   /api/trackers/{id}/check               GET findings (?doing_max=)
 *   /api/trackers/{id}/events, /api/events GET event streams (stream.c)
 *   /api/history                           GET events of every tracker
 *   /api/default                           GET, PUT the default tracker
 *
 * Each handler answers exactly once through srv_reply*() / srv_error(); the
 * objects it loads are locals released before it returns (no request state
 * outlives the callback). Every write goes through the store, which makes it
 * durable and appends its event; the handler then pulls the log so that the
 * streams get the event before the response is sent.
 */
#include "internal.h"

#include "../core/check.h"
#include "../core/import.h"
#include "../core/patch.h"
#include "../core/render.h"
#include "../util/ft_err.h"
#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include "../util/banned.h"

struct call {
    struct ft_server *srv;
    struct evhttp_request *req;
    enum ft_route route;
    int64_t t0;
    enum evhttp_cmd_type cmd;
    struct evkeyvalq query;
};

static const struct {
    const char *name;
    enum ft_kind kind;
} kinds[] = {
    {"rules", FT_K_RULE},         {"steps", FT_K_STEP},     {"items", FT_K_ITEM},
    {"symptoms", FT_K_SYMPTOM},   {"hypotheses", FT_K_HYP}, {"results", FT_K_RESULT},
    {"followups", FT_K_FOLLOWUP}, {"notes", FT_K_NOTE},
};

static const char *plural(enum ft_kind k)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (kinds[i].kind == k)
            return kinds[i].name;
    return "?";
}

static int kind_of(const char *seg)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(kinds[i].name, seg) == 0)
            return (int)kinds[i].kind;
    return -1;
}

static int status_of(int code)
{
    switch (code) {
    case FT_EINVAL:
        return 400;
    case FT_ENOTFOUND:
        return 404;
    case FT_EEXIST:
        return 409;
    case FT_ETOOBIG:
        return 413;
    case FT_EBUSY:
        return 503;
    default:
        return 500;
    }
}

static void fail(struct call *c, const struct ft_err *err)
{
    int status = status_of(err->code);
    const char *field = err->field[0] ? err->field : "body";
    if (status >= 500)
        srv_log("error", "store", "msg=\"%s\"", err->msg);
    if (status == 503) /* the store stayed locked by another process: try again soon */
        evhttp_add_header(evhttp_request_get_output_headers(c->req), "Retry-After", "1");
    srv_error(c->srv, c->req, c->route, status, status == 400 || status == 409 ? field : NULL,
              c->t0, "%s", err->msg);
}

static void not_allowed(struct call *c, const char *allow)
{
    evhttp_add_header(evhttp_request_get_output_headers(c->req), "Allow", allow);
    srv_error(c->srv, c->req, c->route, 405, NULL, c->t0, "method not allowed here (allowed: %s)",
              allow);
}

/* The request body as a JSON object; answers (415, 413, 400) and returns NULL when not one. */
static json_t *read_json(struct call *c)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(c->req);
    const char *ct = evhttp_find_header(in, "Content-Type");
    struct evbuffer *body = evhttp_request_get_input_buffer(c->req);
    size_t len = evbuffer_get_length(body);
    if (!ct || strncasecmp(ct, "application/json", 16) != 0 ||
        (ct[16] && ct[16] != ';' && ct[16] != ' ')) {
        srv_error(c->srv, c->req, c->route, 415, "Content-Type", c->t0,
                  "send the body as 'Content-Type: application/json', not '%s'", ct ? ct : "");
        return NULL;
    }
    if (len > FT_SERVE_MAX_BODY) {
        srv_error(c->srv, c->req, c->route, 413, "body", c->t0, "the body is over %u bytes",
                  FT_SERVE_MAX_BODY);
        return NULL;
    }
    json_error_t je;
    const char *data = (const char *)evbuffer_pullup(body, -1);
    json_t *j = json_loadb(data ? data : "", len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        srv_error(c->srv, c->req, c->route, 400, "body", c->t0,
                  "the body is not JSON: %s (line %d, column %d)", je.text, je.line, je.column);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        srv_error(c->srv, c->req, c->route, 400, "body", c->t0, "the body must be a JSON object");
        return NULL;
    }
    return j;
}

static int seq_cb(const struct ft_event *ev, void *u)
{
    *(int64_t *)u = ev->seq;
    return 0;
}

/* The newest event sequence number of a tracker: its entity tag. */
static int64_t tracker_version(struct ft_server *srv, int64_t tid)
{
    int64_t seq = 0;
    struct ft_err err;
    if (ft_store_tracker_version(srv->st, tid, &seq, &err))
        srv->m.store_errors++;
    return seq;
}

static void set_etag(struct call *c, int64_t tid)
{
    char tag[40];
    snprintf(tag, sizeof(tag), "\"%lld\"", (long long)tracker_version(c->srv, tid));
    evhttp_add_header(evhttp_request_get_output_headers(c->req), "ETag", tag);
}

/* If-Match: 0 when absent or current; otherwise answered 409. */
static int check_if_match(struct call *c, int64_t tid)
{
    const char *im = evhttp_find_header(evhttp_request_get_input_headers(c->req), "If-Match");
    if (!im || strcmp(im, "*") == 0)
        return 0;
    char tag[40];
    int64_t now = tracker_version(c->srv, tid);
    snprintf(tag, sizeof(tag), "\"%lld\"", (long long)now);
    const char *v = strncmp(im, "W/", 2) == 0 ? im + 2 : im;
    if (strcmp(v, tag) == 0)
        return 0;
    srv_error(c->srv, c->req, c->route, 409, "If-Match", c->t0,
              "the tracker changed: If-Match %s, current version %s", im, tag);
    return -1;
}

static int find_tracker(struct call *c, const char *ref, int64_t *tid)
{
    struct ft_err err;
    if (ft_store_tracker_find(c->srv->st, ref, tid, &err)) {
        fail(c, &err);
        return -1;
    }
    return 0;
}

/* A positive entry/run number; -1 when not one. */
static int parse_num(const char *s)
{
    long v = 0;
    if (*s == '#')
        s++;
    if (!*s || strlen(s) > 9)
        return -1;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -1;
        v = v * 10 + (*p - '0');
    }
    return v > 0 ? (int)v : -1;
}

/* ---- trackers ------------------------------------------------------------------------ */

static void tracker_list(struct call *c)
{
    json_t *list;
    struct ft_err err;
    if (ft_store_tracker_list(c->srv->st, &list, &err)) {
        fail(c, &err);
        return;
    }
    srv_reply_json(c->srv, c->req, c->route, 200, list, c->t0);
}

static void reply_created(struct call *c, struct ft_tracker *t)
{
    char loc[128];
    snprintf(loc, sizeof(loc), "/api/trackers/%s", t->slug);
    evhttp_add_header(evhttp_request_get_output_headers(c->req), "Location", loc);
    srv_pull(c->srv);
    struct ft_tracker *full = NULL;
    struct ft_err err;
    if (ft_store_tracker_load(c->srv->st, t->id, &full, &err)) {
        fail(c, &err);
        return;
    }
    set_etag(c, t->id);
    srv_reply_json(c->srv, c->req, c->route, 201, ft_tracker_to_json(full), c->t0);
    ft_tracker_free(full);
}

static void tracker_import(struct call *c, const char *ct)
{
    struct evbuffer *body = evhttp_request_get_input_buffer(c->req);
    size_t len = evbuffer_get_length(body);
    const char *data = (const char *)evbuffer_pullup(body, -1);
    enum ft_import_fmt fmt =
        strncasecmp(ct, "text/markdown", 13) == 0 ? FT_IMPORT_MD : FT_IMPORT_TEXT;
    struct ft_tracker *t = NULL;
    struct ft_err err;
    if (ft_import(data ? data : "", len, fmt, &t, &err)) {
        srv_error(c->srv, c->req, c->route, err.code == FT_ETOOBIG ? 413 : 400, "body", c->t0,
                  "cannot import: %s", err.msg);
        return;
    }
    const char *slug = evhttp_find_header(&c->query, "slug");
    if (slug)
        ft_set_str(&t->slug, slug);
    if (ft_store_tracker_create(c->srv->st, t, "tracker.import", &err))
        fail(c, &err);
    else
        reply_created(c, t);
    ft_tracker_free(t);
}

static void tracker_create(struct call *c)
{
    const char *ct = evhttp_find_header(evhttp_request_get_input_headers(c->req), "Content-Type");
    if (ct &&
        (strncasecmp(ct, "text/markdown", 13) == 0 || strncasecmp(ct, "text/plain", 10) == 0)) {
        tracker_import(c, ct);
        return;
    }
    json_t *body = read_json(c);
    if (!body)
        return;
    struct ft_err err;
    json_t *title = json_object_get(body, "title");
    if (!json_is_string(title) || !*json_string_value(title)) {
        srv_error(c->srv, c->req, c->route, 400, "title", c->t0,
                  "field 'title' is required and must be a non-empty string");
        json_decref(body);
        return;
    }
    struct ft_tracker *t = ft_tracker_new();
    json_t *changed = json_object();
    if (!json_object_get(body, "started")) {
        char today[16];
        ft_time_date(ft_now_ms(), today, sizeof(today));
        ft_set_str(&t->started, today);
    }
    if (ft_tracker_patch(t, body, changed, &err) || ft_tracker_validate(t, &err) ||
        ft_store_tracker_create(c->srv->st, t, "tracker.create", &err))
        fail(c, &err);
    else
        reply_created(c, t);
    json_decref(changed);
    json_decref(body);
    ft_tracker_free(t);
}

/* The body of GET /api/trackers/REF in fmt, as srv_reply_json would send it for JSON. */
static int render_tracker(struct ft_server *srv, int64_t tid, int fmt, struct ft_buf *out,
                          struct ft_err *err)
{
    struct ft_tracker *t = NULL;
    int rc = ft_store_tracker_load(srv->st, tid, &t, err);
    if (rc)
        return rc;
    if (fmt == FT_FMT_JSON) {
        json_t *j = ft_tracker_to_json(t);
        char *s = json_dumps(j, JSON_INDENT(2));
        json_decref(j);
        if (s) {
            ft_buf_adds(out, s);
            ft_buf_addc(out, '\n');
            free(s);
        }
    } else {
        ft_render(t, (enum ft_format)fmt, out);
    }
    ft_tracker_free(t);
    return 0;
}

/*
 * Trackers are served from the render cache when their version (newest event)
 * has not moved; If-None-Match with the current version gets 304.
 */
static void tracker_get(struct call *c, int64_t tid, int fmt)
{
    struct ft_server *srv = c->srv;
    struct ft_err err;
    static const char *const ctypes[] = {[FT_FMT_VIEW] = "text/plain; charset=utf-8",
                                         [FT_FMT_TEXT] = "text/plain; charset=utf-8",
                                         [FT_FMT_MD] = "text/markdown; charset=utf-8",
                                         [FT_FMT_JSON] = "application/json"};
    int64_t version = tracker_version(srv, tid);
    char tag[40];
    snprintf(tag, sizeof(tag), "\"%lld\"", (long long)version);
    struct evkeyvalq *out = evhttp_request_get_output_headers(c->req);
    evhttp_add_header(out, "ETag", tag);
    const char *inm = evhttp_find_header(evhttp_request_get_input_headers(c->req), "If-None-Match");
    if (inm && (strcmp(inm, tag) == 0 || strcmp(inm, "*") == 0 ||
                (strncmp(inm, "W/", 2) == 0 && strcmp(inm + 2, tag) == 0))) {
        srv_reply(srv, c->req, c->route, 304, NULL, NULL, 0, c->t0);
        return;
    }
    const struct ft_cache_entry *e = ft_cache_get(&srv->cache, tid, fmt, version);
    if (e) {
        srv_reply(srv, c->req, c->route, 200, ctypes[fmt], e->body, e->len, c->t0);
        return;
    }
    struct ft_buf b;
    ft_buf_init(&b, 0);
    if (render_tracker(srv, tid, fmt, &b, &err)) {
        ft_buf_release(&b);
        evhttp_remove_header(out, "ETag");
        fail(c, &err);
        return;
    }
    /* Keep it only when no other process wrote in between: then it is this version. */
    if (tracker_version(srv, tid) == version)
        ft_cache_put(&srv->cache, tid, fmt, version, b.buf, b.len);
    srv_reply(srv, c->req, c->route, 200, ctypes[fmt], b.buf, b.len, c->t0);
    ft_buf_release(&b);
}

static void tracker_patch(struct call *c, int64_t tid)
{
    struct ft_err err;
    if (check_if_match(c, tid))
        return;
    json_t *body = read_json(c);
    if (!body)
        return;
    if (json_object_size(body) == 0) {
        srv_error(c->srv, c->req, c->route, 400, "body", c->t0, "nothing to change");
    } else if (ft_store_tracker_update(c->srv->st, tid, body, &err)) {
        fail(c, &err);
    } else {
        srv_pull(c->srv);
        tracker_get(c, tid, FT_FMT_JSON);
    }
    json_decref(body);
}

static void tracker_delete(struct call *c, int64_t tid)
{
    struct ft_err err;
    if (check_if_match(c, tid))
        return;
    if (ft_store_tracker_delete(c->srv->st, tid, &err)) {
        fail(c, &err);
        return;
    }
    srv_pull(c->srv);
    srv_reply(c->srv, c->req, c->route, 204, NULL, NULL, 0, c->t0);
}

/* ---- entries ------------------------------------------------------------------------- */

/* The tracker (see ft_store_tracker_load_ex for flags), or NULL after answering the error. */
static struct ft_tracker *load_tracker(struct call *c, int64_t tid, int flags)
{
    struct ft_tracker *t = NULL;
    struct ft_err err;
    if (ft_store_tracker_load_ex(c->srv->st, tid, flags, &t, &err)) {
        fail(c, &err);
        return NULL;
    }
    return t;
}

static void entries_list(struct call *c, int64_t tid, enum ft_kind kind)
{
    struct ft_tracker *t = NULL;
    if (!(t = load_tracker(c, tid, FT_LOAD_CHANGES)))
        return;
    json_t *a = json_array();
    const struct ft_entry_list *l = &t->lists[kind];
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(a, ft_entry_to_json(&l->v[i]));
    ft_tracker_free(t);
    srv_reply_json(c->srv, c->req, c->route, 200, a, c->t0);
}

static void reply_entry(struct call *c, int64_t tid, const struct ft_entry *e, int code)
{
    json_t *j = ft_entry_to_json(e);
    if (code == 201) {
        char loc[160];
        snprintf(loc, sizeof(loc), "%s/%d",
                 evhttp_uri_get_path(evhttp_request_get_evhttp_uri(c->req)), e->num);
        evhttp_add_header(evhttp_request_get_output_headers(c->req), "Location", loc);
    }
    set_etag(c, tid);
    srv_reply_json(c->srv, c->req, c->route, code, j, c->t0);
}

static void entry_add(struct call *c, int64_t tid, enum ft_kind kind)
{
    struct ft_err err;
    if (check_if_match(c, tid))
        return;
    json_t *body = read_json(c);
    if (!body)
        return;
    struct ft_entry e;
    ft_entry_init(&e, kind, ft_now_ms()); /* a "date" in the body replaces today's date */
    if (ft_entry_patch(&e, body, &err) || ft_entry_validate(&e, &err) ||
        ft_store_entry_add(c->srv->st, tid, &e, &err)) {
        fail(c, &err);
    } else {
        srv_pull(c->srv);
        reply_entry(c, tid, &e, 201);
    }
    ft_entry_release(&e);
    json_decref(body);
}

static void entry_get(struct call *c, int64_t tid, enum ft_kind kind, int num)
{
    struct ft_entry e;
    struct ft_err err;
    if (ft_store_entry_get(c->srv->st, tid, kind, num, &e, &err)) {
        fail(c, &err);
        return;
    }
    reply_entry(c, tid, &e, 200);
    ft_entry_release(&e);
}

static void entry_patch(struct call *c, int64_t tid, enum ft_kind kind, int num)
{
    struct ft_err err;
    if (check_if_match(c, tid))
        return;
    json_t *body = read_json(c);
    if (!body)
        return;
    json_t *pos = json_object_get(body, "position");
    int rc = 0;
    if (pos && (!json_is_integer(pos) || json_integer_value(pos) < 1 ||
                json_integer_value(pos) > 1000000000)) {
        srv_error(c->srv, c->req, c->route, 400, "position", c->t0,
                  "field 'position' must be a positive integer (1 = first)");
        json_decref(body);
        return;
    }
    json_t *fields = json_deep_copy(body);
    json_object_del(fields, "position");
    if (json_object_size(fields) == 0 && !pos) {
        srv_error(c->srv, c->req, c->route, 400, "body", c->t0, "nothing to change");
        goto out;
    }
    if (json_object_size(fields) &&
        (rc = ft_store_entry_update(c->srv->st, tid, kind, num, fields, NULL, &err))) {
        fail(c, &err);
        goto out;
    }
    if (pos && (rc = ft_store_entry_move(c->srv->st, tid, kind, num, (int)json_integer_value(pos),
                                         &err))) {
        fail(c, &err);
        goto out;
    }
    srv_pull(c->srv);
    entry_get(c, tid, kind, num);
out:
    json_decref(fields);
    json_decref(body);
}

static void entry_delete(struct call *c, int64_t tid, enum ft_kind kind, int num)
{
    struct ft_err err;
    if (check_if_match(c, tid))
        return;
    if (ft_store_entry_remove(c->srv->st, tid, kind, num, &err)) {
        fail(c, &err);
        return;
    }
    srv_pull(c->srv);
    set_etag(c, tid);
    srv_reply(c->srv, c->req, c->route, 204, NULL, NULL, 0, c->t0);
}

/* ---- history, runs, check, default ---------------------------------------------------- */

#define HISTORY_MAX 10000

static int history_cb(const struct ft_event *ev, void *u)
{
    json_array_append_new(u, srv_event_json(ev));
    return 0;
}

static int query_int(struct call *c, const char *name, long long max, long long *out)
{
    const char *v = evhttp_find_header(&c->query, name);
    char *end;
    if (!v)
        return 0;
    long long x = strtoll(v, &end, 10);
    if (!*v || *end || x < 0 || x > max) {
        srv_error(c->srv, c->req, c->route, 400, name, c->t0,
                  "'%s' must be a whole number from 0 to %lld", name, max);
        return -1;
    }
    *out = x;
    return 1;
}

static void history(struct call *c, int64_t tid)
{
    long long since = 0, limit = 0;
    struct ft_err err;
    if (query_int(c, "since", (1LL << 62), &since) < 0 ||
        query_int(c, "limit", HISTORY_MAX, &limit) < 0)
        return;
    const char *kind = evhttp_find_header(&c->query, "kind");
    int64_t after = since, oldest = 0;
    if (limit > 0) { /* the newest `limit`, oldest first */
        if (ft_store_events(c->srv->st, tid, kind, after, (int)limit, 1, seq_cb, &oldest, &err)) {
            fail(c, &err);
            return;
        }
        if (oldest)
            after = oldest - 1;
    }
    json_t *a = json_array();
    if (ft_store_events(c->srv->st, tid, kind, after, limit > 0 ? (int)limit : HISTORY_MAX, 0,
                        history_cb, a, &err)) {
        json_decref(a);
        fail(c, &err);
        return;
    }
    srv_reply_json(c->srv, c->req, c->route, 200, a, c->t0);
}

static void runs_list(struct call *c, int64_t tid)
{
    struct ft_tracker *t = NULL;
    if (!(t = load_tracker(c, tid, 0)))
        return;
    json_t *a = json_array();
    for (size_t i = 0; i < t->nruns; i++)
        json_array_append_new(a, ft_run_to_json(&t->runs[i], 0));
    ft_tracker_free(t);
    srv_reply_json(c->srv, c->req, c->route, 200, a, c->t0);
}

static void run_get(struct call *c, int64_t tid, int num)
{
    struct ft_run r;
    struct ft_err err;
    memset(&r, 0, sizeof(r));
    if (ft_store_run_get(c->srv->st, tid, num, &r, &err)) {
        fail(c, &err);
        return;
    }
    json_t *j = ft_run_to_json(&r, 1);
    ft_run_release(&r);
    srv_reply_json(c->srv, c->req, c->route, 200, j, c->t0);
}

static void check(struct call *c, int64_t tid)
{
    struct ft_check_opts o = {ft_now_ms(), FT_CHECK_DOING_MAX_DEFAULT};
    const char *dm = evhttp_find_header(&c->query, "doing_max");
    struct ft_tracker *t = NULL;
    if (dm && ft_duration_parse(dm, &o.doing_max_ms)) {
        srv_error(c->srv, c->req, c->route, 400, "doing_max", c->t0,
                  "'doing_max' must be a duration (30s, 5m, 3d), not '%.40s'", dm);
        return;
    }
    if (!(t = load_tracker(c, tid, 0)))
        return;
    json_t *j = ft_check(t, &o);
    ft_tracker_free(t);
    srv_reply_json(c->srv, c->req, c->route, 200, j, c->t0);
}

static void default_tracker(struct call *c)
{
    struct ft_err err;
    char *def = NULL;
    if (c->cmd == EVHTTP_REQ_PUT) {
        json_t *body = read_json(c);
        if (!body)
            return;
        json_t *ref = json_object_get(body, "tracker");
        int64_t tid;
        if (!ref || (!json_is_null(ref) && !json_is_string(ref))) {
            srv_error(c->srv, c->req, c->route, 400, "tracker", c->t0,
                      "field 'tracker' must be a tracker's slug or number, or null");
        } else if (json_is_null(ref)) {
            if (ft_store_setting_set(c->srv->st, "default_tracker", NULL, &err))
                fail(c, &err);
            else
                srv_reply_json(c->srv, c->req, c->route, 200, json_pack("{s:n}", "tracker"), c->t0);
        } else if (!find_tracker(c, json_string_value(ref), &tid)) {
            struct ft_tracker *t = NULL;
            if (ft_store_tracker_load(c->srv->st, tid, &t, &err) ||
                ft_store_setting_set(c->srv->st, "default_tracker", t->slug, &err))
                fail(c, &err);
            else
                srv_reply_json(c->srv, c->req, c->route, 200,
                               json_pack("{s:s}", "tracker", t->slug), c->t0);
            ft_tracker_free(t);
        }
        json_decref(body);
        return;
    }
    if (ft_store_setting_get(c->srv->st, "default_tracker", &def, &err)) {
        fail(c, &err);
        return;
    }
    srv_reply_json(c->srv, c->req, c->route, 200, json_pack("{s:s?}", "tracker", def), c->t0);
    free(def);
}

/* ---- routing ------------------------------------------------------------------------- */

#define MAX_SEGS 5

static int is_get(struct call *c)
{
    return c->cmd == EVHTTP_REQ_GET || c->cmd == EVHTTP_REQ_HEAD;
}

static void route_tracker(struct call *c, char **seg, int nseg)
{
    char ref[128];
    int fmt = FT_FMT_JSON;
    int64_t tid;
    snprintf(ref, sizeof(ref), "%s", seg[1]);
    if (nseg == 2) {
        char *dot = strrchr(ref, '.');
        if (dot) {
            fmt = strcmp(dot, ".md") == 0     ? FT_FMT_MD
                  : strcmp(dot, ".txt") == 0  ? FT_FMT_TEXT
                  : strcmp(dot, ".text") == 0 ? FT_FMT_TEXT
                  : strcmp(dot, ".json") == 0 ? FT_FMT_JSON
                                              : -1;
            if (fmt < 0) {
                srv_error(c->srv, c->req, c->route, 404, NULL, c->t0,
                          "no view '%s': use .md, .txt or .json", dot);
                return;
            }
            *dot = '\0';
        }
        const char *qf = evhttp_find_header(&c->query, "format");
        if (qf && (fmt = ft_format_parse(qf)) < 0) {
            srv_error(c->srv, c->req, c->route, 400, "format", c->t0,
                      "'format' must be json, md, text or view, not '%.40s'", qf);
            return;
        }
    }
    if (find_tracker(c, ref, &tid))
        return;
    if (nseg == 2) {
        if (is_get(c))
            tracker_get(c, tid, fmt);
        else if (c->cmd == EVHTTP_REQ_PATCH)
            tracker_patch(c, tid);
        else if (c->cmd == EVHTTP_REQ_DELETE)
            tracker_delete(c, tid);
        else
            not_allowed(c, "GET, HEAD, PATCH, DELETE");
        return;
    }
    const char *sub = seg[2];
    if (nseg == 3 && strcmp(sub, "events") == 0) {
        if (c->cmd != EVHTTP_REQ_GET)
            not_allowed(c, "GET");
        else
            stream_open(c->srv, c->req, tid, ref, c->t0);
        return;
    }
    if (nseg == 3 &&
        (strcmp(sub, "history") == 0 || strcmp(sub, "runs") == 0 || strcmp(sub, "check") == 0)) {
        if (!is_get(c))
            not_allowed(c, "GET, HEAD");
        else if (sub[0] == 'h')
            history(c, tid);
        else if (sub[0] == 'r')
            runs_list(c, tid);
        else
            check(c, tid);
        return;
    }
    if (nseg == 4 && strcmp(sub, "runs") == 0) {
        int num = parse_num(seg[3]);
        if (num < 0)
            srv_error(c->srv, c->req, c->route, 404, NULL, c->t0, "no run '%.40s'", seg[3]);
        else if (!is_get(c))
            not_allowed(c, "GET, HEAD");
        else
            run_get(c, tid, num);
        return;
    }
    int kind = kind_of(sub);
    if (kind < 0) {
        srv_error(c->srv, c->req, c->route, 404, NULL, c->t0,
                  "no section '%.40s': use rules, steps, items, symptoms, hypotheses, results, "
                  "followups, notes, history, runs, check or events",
                  sub);
        return;
    }
    if (nseg == 3) {
        if (is_get(c))
            entries_list(c, tid, (enum ft_kind)kind);
        else if (c->cmd == EVHTTP_REQ_POST)
            entry_add(c, tid, (enum ft_kind)kind);
        else
            not_allowed(c, "GET, HEAD, POST");
        return;
    }
    int num = parse_num(seg[3]);
    if (nseg != 4 || num < 0) {
        srv_error(c->srv, c->req, c->route, 404, NULL, c->t0, "no such %s entry",
                  plural((enum ft_kind)kind));
        return;
    }
    if (is_get(c))
        entry_get(c, tid, (enum ft_kind)kind, num);
    else if (c->cmd == EVHTTP_REQ_PATCH)
        entry_patch(c, tid, (enum ft_kind)kind, num);
    else if (c->cmd == EVHTTP_REQ_DELETE)
        entry_delete(c, tid, (enum ft_kind)kind, num);
    else
        not_allowed(c, "GET, HEAD, PATCH, DELETE");
}

void api_handle(struct ft_server *srv, struct evhttp_request *req, const char *path,
                enum ft_route route, int64_t t0)
{
    struct call c;
    char copy[512];
    char *seg[MAX_SEGS + 1];
    int nseg = 0;

    memset(&c, 0, sizeof(c));
    c.srv = srv;
    c.req = req;
    c.t0 = t0;
    c.cmd = evhttp_request_get_command(req);
    TAILQ_INIT(&c.query);
    c.route = route;

    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *qs = evhttp_uri_get_query(uri);
    if (strlen(path) >= sizeof(copy) || strchr(path, '%')) {
        srv_error(srv, req, R_OTHER, 404, NULL, t0, "no such route");
        return;
    }
    snprintf(copy, sizeof(copy), "%s", path + 5);
    size_t l = strlen(copy);
    if (l && copy[l - 1] == '/')
        copy[--l] = '\0';
    for (char *p = copy; nseg <= MAX_SEGS;) {
        seg[nseg++] = p;
        char *s = strchr(p, '/');
        if (!s)
            break;
        *s = '\0';
        p = s + 1;
    }
    for (int i = 0; i < nseg; i++)
        if (!*seg[i] || nseg > MAX_SEGS - 1) {
            srv_error(srv, req, R_OTHER, 404, NULL, t0, "no such route '%s'", path);
            return;
        }
    if (qs && evhttp_parse_query_str(qs, &c.query) != 0) {
        srv_error(srv, req, route, 400, "query", t0, "the query string is malformed");
        return;
    }

    if (strcmp(seg[0], "trackers") == 0) {
        if (nseg == 1) {
            if (is_get(&c))
                tracker_list(&c);
            else if (c.cmd == EVHTTP_REQ_POST)
                tracker_create(&c);
            else
                not_allowed(&c, "GET, HEAD, POST");
        } else {
            route_tracker(&c, seg, nseg);
        }
    } else if (nseg == 1 && strcmp(seg[0], "events") == 0) {
        if (c.cmd != EVHTTP_REQ_GET)
            not_allowed(&c, "GET");
        else
            stream_open(srv, req, 0, "*", t0);
    } else if (nseg == 1 && strcmp(seg[0], "history") == 0) {
        if (!is_get(&c))
            not_allowed(&c, "GET, HEAD");
        else
            history(&c, 0);
    } else if (nseg == 1 && strcmp(seg[0], "default") == 0) {
        if (is_get(&c) || c.cmd == EVHTTP_REQ_PUT)
            default_tracker(&c);
        else
            not_allowed(&c, "GET, HEAD, PUT");
    } else {
        srv_error(srv, req, R_OTHER, 404, NULL, t0, "no such route '%s'", path);
    }
    evhttp_clear_headers(&c.query);
}
