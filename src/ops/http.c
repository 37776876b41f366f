/*
 * http.c: the operations over a running `flowtrack serve`.
 *
 * Each operation goes out as the REST request its wire row (ops.c) describes, and its answer
 * comes back as the same result the store implementation gives, errors included: the error
 * body's "reason" carries the operation's error code, so a front end prints the same message
 * and exits with the same status either way. The actor travels with each request
 * (Flowtrack-Actor), the token as a bearer token.
 *
 * The HTTP client is libevent's (evhttp), already linked for the server: it costs a command
 * nothing to load, where libcurl and the 30-odd libraries it pulls in cost about 7 ms per
 * process (measured with hyperfine; docs/benchmarks.md). Every exchange is bounded: the
 * connection and each read or write wait at most timeout_ms, and the whole exchange at most
 * twice that, so a server that is down, stopped or slow gives an error, never a hang.
 * SIGPIPE is blocked in the calling thread while a request is on the wire.
 */
#include "ops.h"

#include "../core/import.h"
#include "../server/server.h"
#include "../util/ft_err.h"
#include "../util/ft_xalloc.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../util/banned.h"

#define DEFAULT_TIMEOUT_MS 30000

struct http {
    struct ft_ops ops;
    char *url;  /* as given, for messages */
    char *host; /* to connect to */
    int port;
    char *hostport; /* the Host header */
    char *prefix;   /* a path the server is mounted under, "" when none */
    char *token;
    char *actor;
    int64_t timeout_ms;
    struct event_base *base;
    struct evhttp_connection *evcon; /* kept across calls (keep-alive) */
};

/* ---- one exchange --------------------------------------------------------------------- */

struct exchange {
    struct http *h;
    struct evhttp_request *req; /* NULL once libevent is done with it */
    int done, timed_out;
    int error; /* enum evhttp_request_error, -1 when none */
    int status;
    struct ft_buf body;
    char ctype[96];
};

static void on_done(struct evhttp_request *req, void *arg)
{
    struct exchange *x = arg;
    x->done = 1;
    x->req = NULL;
    if (req && evhttp_request_get_response_code(req)) {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t n = evbuffer_get_length(in);
        const char *ct = evhttp_find_header(evhttp_request_get_input_headers(req), "Content-Type");
        x->status = evhttp_request_get_response_code(req);
        ft_buf_add(&x->body, evbuffer_pullup(in, -1), n);
        snprintf(x->ctype, sizeof(x->ctype), "%s", ct ? ct : "");
    }
    event_base_loopbreak(x->h->base);
}

static void on_error(enum evhttp_request_error e, void *arg)
{
    struct exchange *x = arg;
    x->error = (int)e;
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct exchange *x = arg;
    (void)fd;
    (void)what;
    x->timed_out = 1;
    if (x->req)
        evhttp_cancel_request(x->req); /* no callback follows a cancel */
    x->req = NULL;
    event_base_loopbreak(x->h->base);
}

/* The connection to the server, made on first use (libevent reconnects it when it closed). */
static struct evhttp_connection *connection(struct http *h, struct ft_err *err)
{
    if (!h->base && !(h->base = event_base_new()))
        return NULL;
    if (!h->evcon) {
        h->evcon = evhttp_connection_base_new(h->base, NULL, h->host, (unsigned short)h->port);
        if (!h->evcon) {
            ft_err_set(err, FT_EIO, "cannot connect to the flowtrack server at %s", h->url);
            return NULL;
        }
        struct timeval tv = {(time_t)(h->timeout_ms / 1000),
                             (suseconds_t)(h->timeout_ms % 1000) * 1000};
        evhttp_connection_set_timeout_tv(h->evcon, &tv);
        evhttp_connection_set_retries(h->evcon, 0);
    }
    return h->evcon;
}

/* What went wrong with an exchange that got no answer. */
static int no_answer(struct http *h, const struct exchange *x, struct ft_err *err)
{
    char d[32];
    if (x->timed_out || x->error == EVREQ_HTTP_TIMEOUT) {
        snprintf(d, sizeof(d), "%.3g s", (double)h->timeout_ms / 1000.0);
        return ft_err_set(err, FT_EIO, "the flowtrack server at %s did not answer within %s",
                          h->url, d);
    }
    return ft_err_set(err, FT_EIO,
                      "cannot reach the flowtrack server at %s: the connection was refused or "
                      "closed (is 'flowtrack serve' running there?)",
                      h->url);
}

/*
 * Send method path with body (NULL: none) and wait for the answer, bounded. 0 with x
 * holding the status and body, or an error when no answer came.
 */
static int exchange(struct http *h, const char *method, const char *path, const char *ctype,
                    const char *body, size_t len, json_t *args, struct exchange *x,
                    struct ft_err *err)
{
    static const struct {
        const char *name;
        enum evhttp_cmd_type cmd;
    } methods[] = {{"GET", EVHTTP_REQ_GET},
                   {"POST", EVHTTP_REQ_POST},
                   {"PUT", EVHTTP_REQ_PUT},
                   {"PATCH", EVHTTP_REQ_PATCH},
                   {"DELETE", EVHTTP_REQ_DELETE}};
    enum evhttp_cmd_type cmd = EVHTTP_REQ_GET;
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (strcmp(methods[i].name, method) == 0)
            cmd = methods[i].cmd;
    memset(x, 0, sizeof(*x));
    x->h = h;
    x->error = -1;
    ft_buf_init(&x->body, 0);
    struct evhttp_connection *evcon = connection(h, err);
    if (!evcon)
        return err ? err->code : FT_EIO;
    struct evhttp_request *req = evhttp_request_new(on_done, x);
    evhttp_request_set_error_cb(req, on_error);
    struct evkeyvalq *hd = evhttp_request_get_output_headers(req);
    evhttp_add_header(hd, "Host", h->hostport);
    evhttp_add_header(hd, "Accept", "application/json");
    evhttp_add_header(hd, "User-Agent", "flowtrack/" FT_VERSION);
    const char *actor = ft_arg_str(args, "actor");
    evhttp_add_header(hd, "Flowtrack-Actor", actor && *actor ? actor : h->actor);
    if (h->token) {
        char auth[512];
        snprintf(auth, sizeof(auth), "Bearer %s", h->token);
        evhttp_add_header(hd, "Authorization", auth);
    }
    json_t *iv = json_object_get(args, "if_version");
    if (json_is_integer(iv)) {
        char tag[40];
        snprintf(tag, sizeof(tag), "\"%lld\"", (long long)json_integer_value(iv));
        evhttp_add_header(hd, "If-Match", tag);
    }
    if (cmd == EVHTTP_REQ_DELETE)
        evhttp_add_header(hd, "Prefer", "return=representation");
    if (body) {
        /* evhttp counts the body of POST and PUT only: say its length for PATCH too */
        char cl[24];
        snprintf(cl, sizeof(cl), "%zu", len);
        evhttp_add_header(hd, "Content-Type", ctype);
        evhttp_add_header(hd, "Content-Length", cl);
        evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
    }

    /* SIGPIPE blocked while the request is on the wire, and one it raised taken back. */
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    int rc = 0;
    struct event *deadline = evtimer_new(h->base, on_deadline, x);
    int64_t total = 2 * h->timeout_ms;
    struct timeval tv = {(time_t)(total / 1000), (suseconds_t)(total % 1000) * 1000};
    evtimer_add(deadline, &tv);
    x->req = req;
    if (evhttp_make_request(evcon, req, cmd, path) != 0) {
        x->req = NULL; /* libevent freed it */
        rc = ft_err_set(err, FT_EIO, "cannot send a request to the flowtrack server at %s", h->url);
    } else {
        while (!x->done && !x->timed_out)
            if (event_base_loop(h->base, EVLOOP_ONCE) < 0)
                break;
        if (!x->status)
            rc = no_answer(h, x, err);
    }
    event_free(deadline);
    if (x->timed_out) { /* the connection is in an unknown state: start afresh next time */
        evhttp_connection_free(h->evcon);
        h->evcon = NULL;
    }
    struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe_set, NULL, &zero) > 0)
        ;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* ---- requests and answers --------------------------------------------------------------- */

/* Append s to b, percent-encoded for a path segment or a query value. */
static void add_encoded(struct ft_buf *b, const char *s)
{
    char *e = evhttp_uriencode(s, -1, 0);
    ft_buf_adds(b, e ? e : "");
    free(e);
}

/* An argument as text for a path or query: a string as it is, a number in decimal. */
static const char *arg_text(json_t *v, char *buf, size_t n)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, n, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    if (json_is_boolean(v))
        return json_is_true(v) ? "true" : "false";
    return NULL;
}

/* The request path of op from its wire row and the arguments, with its query string. */
static void build_path(struct http *h, enum ft_op op, json_t *args, struct ft_buf *b)
{
    const struct ft_op_wire *w = &ft_op_wires[op];
    const char *p = w->path;
    char num[24];
    ft_buf_adds(b, h->prefix);
    if (op == FT_OP_HISTORY && json_is_true(json_object_get(args, "all")))
        p = "/api/history";
    while (*p) {
        if (strncmp(p, "{tracker}", 9) == 0) {
            const char *t = ft_arg_str(args, "tracker");
            add_encoded(b, t && *t ? t : FT_TRACKER_RESOLVE);
            p += 9;
        } else if (strncmp(p, "{kind}", 6) == 0) {
            const char *k = ft_arg_str(args, "kind");
            const char *pl = k ? ft_kind_plural(ft_kind_parse(k)) : NULL;
            ft_buf_adds(b, pl ? pl : "-");
            p += 6;
        } else if (strncmp(p, "{num}", 5) == 0) {
            const char *n = arg_text(json_object_get(args, "num"), num, sizeof(num));
            add_encoded(b, n ? n : "-");
            p += 5;
        } else {
            ft_buf_addc(b, *p++);
        }
    }
    char sep = '?';
    for (const char *q = w->query; q && *q;) {
        char name[32];
        size_t n = strcspn(q, ",");
        snprintf(name, sizeof(name), "%.*s", (int)n, q);
        const char *v = arg_text(json_object_get(args, name), num, sizeof(num));
        if (v) {
            ft_buf_addf(b, "%c%s=", sep, name);
            add_encoded(b, v);
            sep = '&';
        }
        q += n + (q[n] == ',');
    }
}

/* The JSON body of op: its fields, or the arguments the path and query do not carry. */
static json_t *build_body(enum ft_op op, json_t *args)
{
    const struct ft_op_wire *w = &ft_op_wires[op];
    if (w->body == FT_BODY_FIELDS)
        return json_incref(json_object_get(args, "fields"));
    json_t *b = json_deep_copy(args);
    const char *drop[] = {"kind", "num", "actor", "if_version"};
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
        json_object_del(b, drop[i]);
    if (strstr(w->path, "{tracker}"))
        json_object_del(b, "tracker");
    return b;
}

/* The error an answer carries: the operation's own (reason, message, field), else its status. */
static int answer_error(struct http *h, const struct exchange *x, struct ft_err *err)
{
    json_t *j = strncasecmp(x->ctype, "application/json", 16) == 0
                    ? json_loadb(x->body.buf, x->body.len, 0, NULL)
                    : NULL;
    json_t *e = json_object_get(j, "error");
    const char *msg = json_string_value(json_object_get(e, "message"));
    const char *field = json_string_value(json_object_get(e, "field"));
    int code = ft_code_from_reason(json_string_value(json_object_get(e, "reason")), x->status);
    int rc;
    if (x->status == 401)
        rc = ft_err_field(err, FT_EIO, "token",
                          "the flowtrack server at %s refused the request: %s (give the server's "
                          "token with --token or FLOWTRACK_TOKEN)",
                          h->url, msg ? msg : "a token is needed");
    else if (msg && json_object_get(e, "reason"))
        rc = ft_err_field(err, code, field, "%s", msg);
    else
        rc = ft_err_field(err, code, field, "the flowtrack server at %s answered %d: %s", h->url,
                          x->status, msg ? msg : "no reason given");
    json_decref(j);
    return rc;
}

static int http_call(struct ft_ops *o, enum ft_op op, json_t *args, struct ft_result *res,
                     struct ft_err *err)
{
    struct http *h = (struct http *)o;
    const struct ft_op_wire *w = &ft_op_wires[op];
    struct ft_buf path;
    struct exchange x;
    char *body = NULL;
    size_t len = 0;
    const char *ctype = "application/json";
    int rc = 0;

    if (w->body == FT_BODY_DOCUMENT) {
        /* Read here first: a document that cannot be imported gets the same error, line and
         * all, without a round trip; one over the server's body limit is not sent. */
        json_t *doc = json_object_get(args, "document");
        struct ft_tracker *t = NULL;
        enum ft_import_fmt fmt;
        enum ft_import_mode mode;
        int strict;
        struct ft_import_report rep;
        if (!json_is_string(doc))
            return ft_err_field(err, FT_EINVAL, "document", "no document to import");
        if ((rc = ft_import_args(args, &fmt, &mode, &strict, err)))
            return rc;
        len = json_string_length(doc);
        rc = ft_import_read(json_string_value(doc), len, fmt, mode, &t, &rep, err);
        ft_tracker_free(t);
        fmt = rep.fmt;
        ft_import_report_release(&rep);
        if (rc)
            return rc;
        if (len > FT_SERVE_MAX_BODY)
            return ft_err_set(err, FT_ETOOBIG,
                              "%zu bytes is more than a flowtrack server takes in one request "
                              "(%u)",
                              len, FT_SERVE_MAX_BODY);
        /* JSON goes as text: a JSON body of POST /api/trackers is a tracker's fields */
        ctype = fmt == FT_IMPORT_MD ? "text/markdown; charset=utf-8" : "text/plain; charset=utf-8";
        body = ft_xmalloc(len + 1);
        memcpy(body, json_string_value(doc), len);
    } else if (w->body != FT_BODY_NONE) {
        json_t *j = build_body(op, args);
        body = j ? json_dumps(j, JSON_COMPACT) : ft_xstrdup("{}");
        len = body ? strlen(body) : 0;
        json_decref(j);
    }
    ft_buf_init(&path, 0);
    build_path(h, op, args, &path);
    rc = exchange(h, w->method, path.buf, ctype, body, len, args, &x, err);
    free(body);
    ft_buf_release(&path);
    if (rc) {
        ft_buf_release(&x.body);
        return rc;
    }
    if (x.status >= 300) {
        rc = answer_error(h, &x, err);
    } else if (strncasecmp(x.ctype, "application/json", 16) == 0) {
        json_error_t je;
        res->json = json_loadb(x.body.buf, x.body.len, 0, &je);
        if (!res->json)
            rc = ft_err_set(err, FT_EIO,
                            "the flowtrack server at %s sent JSON that does not "
                            "parse: %s",
                            h->url, je.text);
    } else {
        ft_buf_add(&res->doc, x.body.buf, x.body.len);
    }
    ft_buf_release(&x.body);
    return rc;
}

static void http_free(struct ft_ops *o)
{
    struct http *h = (struct http *)o;
    if (h->evcon)
        evhttp_connection_free(h->evcon);
    if (h->base)
        event_base_free(h->base);
    free(h->url);
    free(h->host);
    free(h->hostport);
    free(h->prefix);
    free(h->token);
    free(h->actor);
    free(h);
}

static const struct ft_ops_impl http_impl = {http_call, http_free};

int ft_ops_http_new(const struct ft_http_opts *o, struct ft_ops **out, struct ft_err *err)
{
    struct evhttp_uri *uri = evhttp_uri_parse(o->url);
    const char *scheme = uri ? evhttp_uri_get_scheme(uri) : NULL;
    const char *host = uri ? evhttp_uri_get_host(uri) : NULL;
    *out = NULL;
    if (!scheme || strcasecmp(scheme, "http") != 0 || !host || !*host) {
        if (uri)
            evhttp_uri_free(uri);
        return ft_err_field(err, FT_EINVAL, "server",
                            "'%s' is not the URL of a flowtrack server (http://HOST:PORT)", o->url);
    }
    struct http *h = ft_xcalloc(1, sizeof(*h));
    char hp[300];
    const char *path = evhttp_uri_get_path(uri);
    int port = evhttp_uri_get_port(uri);
    h->ops.impl = &http_impl;
    h->url = ft_xstrdup(o->url);
    /* "[::1]" is how a URL writes an IPv6 address; connect() wants it bare. */
    h->host = host[0] == '[' ? ft_xstrndup(host + 1, strlen(host) - 2) : ft_xstrdup(host);
    h->port = port > 0 ? port : 80;
    snprintf(hp, sizeof(hp), "%s:%d", host, h->port);
    h->hostport = ft_xstrdup(hp);
    h->prefix = ft_xstrdup(path ? path : "");
    if (*h->prefix && h->prefix[strlen(h->prefix) - 1] == '/')
        h->prefix[strlen(h->prefix) - 1] = '\0';
    h->token = o->token && *o->token ? ft_xstrdup(o->token) : NULL;
    h->actor = ft_xstrdup(o->actor && *o->actor ? o->actor : "unknown");
    h->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
    evhttp_uri_free(uri);
    *out = &h->ops;
    return 0;
}
