/*
 * http.c: the listener and each request's way in: route it (routes.c), check Host, Origin
 * and the token against the route's access rule, run its handler; and the replies every
 * handler answers with, each counted in the metrics and logged once.
 *
 * evhttp's pitfalls (reference/http-library-choice.md) handled here: a large listen backlog
 * through evconnlistener + evhttp_bind_listener, and size limits set in server.c. What the
 * listener accepts is counted and bounded by conn.c.
 */
#include "internal.h"

#include "../util/ft_err.h"
#include "../util/ft_xalloc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../util/banned.h"

int64_t srv_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int ft_ct_streq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t n = la > lb ? la : lb;
    unsigned char d = (unsigned char)(la != lb);
    for (size_t i = 0; i < n; i++) {
        unsigned char x = i < la ? (unsigned char)a[i] : 0;
        unsigned char y = i < lb ? (unsigned char)b[i] : 0;
        d |= (unsigned char)(x ^ y);
    }
    return d == 0;
}

int ft_host_is_loopback(const char *host)
{
    if (strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 || strcmp(host, "[::1]") == 0)
        return 1;
    struct in_addr a;
    if (inet_pton(AF_INET, host, &a) == 1)
        return (ntohl(a.s_addr) >> 24) == 127;
    return 0;
}

/* ---- replies -------------------------------------------------------------------------- */

void srv_reply(struct ft_server *srv, struct evhttp_request *req, enum ft_route route, int code,
               const char *ctype, const char *body, size_t len, int64_t t0)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evbuffer *out = evbuffer_new();
    if (ctype)
        evhttp_add_header(h, "Content-Type", ctype);
    if (!evhttp_find_header(h, "Cache-Control"))
        evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    if (body && len && evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
        evbuffer_add(out, body, len);
    srv_count_request(srv, route, code, t0);
    srv_log_request(srv, req, route, code, len, t0);
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
    evhttp_send_reply(req, code, NULL, out);
    evbuffer_free(out);
    /* req (and the connection) may be freed by this: nothing after it may touch them */
    if (bev)
        srv_conn_flush(bev);
}

void srv_reply_json(struct ft_server *srv, struct evhttp_request *req, enum ft_route route,
                    int code, json_t *body, int64_t t0)
{
    char *s = body ? json_dumps(body, JSON_INDENT(2)) : NULL;
    size_t n = s ? strlen(s) : 0;
    if (s) {
        s = ft_xrealloc(s, n + 2);
        s[n++] = '\n';
        s[n] = '\0';
    }
    srv_reply(srv, req, route, code, "application/json", s, n, t0);
    free(s);
    json_decref(body);
}

static const char *status_word(int code)
{
    static const struct {
        int code;
        const char *word;
    } words[] = {
        {400, "bad_request"},     {401, "unauthorized"},        {403, "forbidden"},
        {404, "not_found"},       {405, "method_not_allowed"},  {409, "conflict"},
        {411, "length_required"}, {413, "too_large"},           {415, "unsupported_media_type"},
        {503, "unavailable"},     {507, "insufficient_storage"}};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (words[i].code == code)
            return words[i].word;
    return code >= 500 ? "internal" : "error";
}

/* The error body; reason (the operation's error code) may be NULL. */
static void reply_error(struct ft_server *srv, struct evhttp_request *req, enum ft_route route,
                        int code, const char *field, const char *reason, int64_t t0,
                        const char *msg)
{
    json_t *e =
        json_pack("{s:i, s:s, s:s}", "status", code, "code", status_word(code), "message", msg);
    if (field)
        json_object_set_new(e, "field", json_string(field));
    if (reason)
        json_object_set_new(e, "reason", json_string(reason));
    srv_reply_json(srv, req, route, code, json_pack("{s:o}", "error", e), t0);
}

void srv_error(struct ft_server *srv, struct evhttp_request *req, enum ft_route route, int code,
               const char *field, int64_t t0, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    reply_error(srv, req, route, code, field, NULL, t0, msg);
}

void srv_fail(struct call *c, const struct ft_err *err)
{
    int status = ft_code_http_status(err->code);
    const char *field = NULL;
    if (status == 400 || status == 409)
        field = err->field[0] ? err->field : "body";
    if (status >= 500) {
        c->srv->m->store_errors++;
        srv_log(c->srv, "error", "store", "msg=\"%s\"", err->msg);
    }
    if (status == 503) /* the store stayed locked by another process: try again soon */
        evhttp_add_header(evhttp_request_get_output_headers(c->req), "Retry-After", "1");
    reply_error(c->srv, c->req, c->label, status, field, ft_code_reason(err->code), c->t0,
                err->msg[0] ? err->msg : ft_code_name(err->code));
}

/* ---- access --------------------------------------------------------------------------- */

/* Split "host:port" / "[v6]:port" into the host part. */
static void host_part(const char *hostport, char *out, size_t n)
{
    if (hostport[0] == '[') {
        const char *e = strchr(hostport, ']');
        snprintf(out, n, "%.*s", e ? (int)(e - hostport + 1) : (int)strlen(hostport), hostport);
        return;
    }
    snprintf(out, n, "%.*s", (int)strcspn(hostport, ":"), hostport);
}

static int is_write(struct evhttp_request *req)
{
    enum evhttp_cmd_type c = evhttp_request_get_command(req);
    return c == EVHTTP_REQ_POST || c == EVHTTP_REQ_PUT || c == EVHTTP_REQ_PATCH ||
           c == EVHTTP_REQ_DELETE;
}

/*
 * Host, Origin and token checks; 0 when the request may proceed (else answered). A request
 * no route matched is checked as its method says: it learns nothing before it passes.
 */
static int check_access(struct call *c)
{
    struct ft_server *srv = c->srv;
    struct evhttp_request *req = c->req;
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    const char *host = evhttp_find_header(in, "Host");
    const struct ft_server_opts *o = srv->o;
    enum ft_access access = c->route        ? srv_route_access(c->route)
                            : is_write(req) ? ACCESS_WRITE
                                            : ACCESS_READ;

    if (srv->loopback) {
        char h[300];
        host_part(host ? host : "", h, sizeof(h));
        if (!host || !ft_host_is_loopback(h)) {
            srv_error(srv, req, c->label, 403, "Host", c->t0,
                      "this server answers loopback names only (Host: localhost or 127.0.0.1), "
                      "not '%s'",
                      host ? host : "");
            return -1;
        }
    }
    if (is_write(req)) {
        const char *origin = evhttp_find_header(in, "Origin");
        const char *site = evhttp_find_header(in, "Sec-Fetch-Site");
        if (origin) {
            char same[400];
            snprintf(same, sizeof(same), "http://%s", host ? host : "");
            if (strcmp(origin, same) != 0) {
                srv_error(srv, req, c->label, 403, "Origin", c->t0,
                          "writes from another origin ('%s') are refused", origin);
                return -1;
            }
        } else if (site && strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0) {
            srv_error(srv, req, c->label, 403, "Sec-Fetch-Site", c->t0,
                      "cross-site writes are refused");
            return -1;
        }
    }
    if (o->token && (access == ACCESS_WRITE || (o->private_reads && access == ACCESS_READ))) {
        const char *auth = evhttp_find_header(in, "Authorization");
        int ok = auth && strncmp(auth, "Bearer ", 7) == 0 && ft_ct_streq(auth + 7, o->token);
        if (!ok && !auth && srv_cookie_ok(srv, req)) {
            /* the dashboard's cookie: a write must also say it comes from the page itself */
            ok = !is_write(req) || evhttp_find_header(in, "Origin") ||
                 evhttp_find_header(in, "Sec-Fetch-Site");
        }
        if (!ok) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                              "Bearer realm=\"flowtrack\"");
            srv_error(srv, req, c->label, 401, "Authorization", c->t0,
                      "this request needs 'Authorization: Bearer <token>' (or, from the "
                      "dashboard, its cookie)");
            return -1;
        }
    }
    return 0;
}

/* ---- requests ------------------------------------------------------------------------- */

static void on_request(struct evhttp_request *req, void *arg)
{
    struct call c;
    char msg[400];
    int status = 0;

    memset(&c, 0, sizeof(c));
    c.srv = arg;
    srv_conn_request(c.srv, req);
    c.req = req;
    c.t0 = srv_now_us();
    c.cmd = evhttp_request_get_command(req);
    TAILQ_INIT(&c.query);
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const char *qs = uri ? evhttp_uri_get_query(uri) : NULL;
    if (!path || !*path)
        path = "/";
    int routed = srv_route(&c, path, &status, msg, sizeof(msg));

    if (c.srv->shutting_down) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
        srv_error(c.srv, req, c.label, 503, NULL, c.t0, "the server is shutting down");
    } else if (check_access(&c)) {
        /* answered */
    } else if (routed != 0 && status == 405) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", msg);
        srv_error(c.srv, req, c.label, 405, NULL, c.t0, "method not allowed here (allowed: %s)",
                  msg);
    } else if (routed != 0) {
        srv_error(c.srv, req, c.label, 404, NULL, c.t0, "%s", msg);
    } else if (qs && evhttp_parse_query_str(qs, &c.query) != 0) {
        srv_error(c.srv, req, c.label, 400, "query", c.t0, "the query string is malformed");
    } else {
        c.route->handler(&c);
    }
    evhttp_clear_headers(&c.query);
    json_decref(c.caps);
}

/* ---- the listener --------------------------------------------------------------------- */

int srv_listen_on(struct ft_server *srv, struct evconnlistener *l, struct ft_err *err)
{
    evhttp_set_gencb(srv->http, on_request, srv);
    srv->bound = evhttp_bind_listener(srv->http, l);
    if (!srv->bound) {
        evconnlistener_free(l);
        return ft_err_set(err, FT_EIO, "cannot listen on '%s'", srv->o->listen);
    }
    srv_conns_listening(srv, l);
    return 0;
}

static int is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

int srv_parse_listen(const struct ft_server_opts *o, struct sockaddr_storage *ss, int *sslen,
                     struct ft_err *err)
{
    *sslen = sizeof(*ss);
    memset(ss, 0, sizeof(*ss));
    /* evutil refuses port 0: parse with port 1, then ask for any port. */
    char spec[300];
    const char *colon = strrchr(o->listen, ':');
    int any_port = colon && strcmp(colon, ":0") == 0;
    snprintf(spec, sizeof(spec), "%.*s%s", colon ? (int)(colon - o->listen) : 0, o->listen,
             any_port ? ":1"
             : colon  ? colon
                      : "");
    if (!colon || evutil_parse_sockaddr_port(spec, (struct sockaddr *)ss, sslen) != 0)
        return ft_err_set(err, FT_EINVAL,
                          "--listen '%s' is not ADDRESS:PORT (127.0.0.1:7464, [::1]:0)", o->listen);
    if (ss->ss_family == AF_INET && any_port)
        ((struct sockaddr_in *)ss)->sin_port = 0;
    else if (any_port)
        ((struct sockaddr_in6 *)ss)->sin6_port = 0;
    if (!is_loopback(ss) && !o->token)
        return ft_err_set(err, FT_EINVAL,
                          "listening on '%s' (not loopback) needs a token: give --token or "
                          "FLOWTRACK_TOKEN",
                          o->listen);
    return 0;
}

void srv_url_of(const struct sockaddr_storage *got, char *url, size_t n)
{
    char host[INET6_ADDRSTRLEN + 2] = "";
    if (got->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)got;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        snprintf(url, n, "http://%s:%u", host, ntohs(a->sin_port));
    } else {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)got;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        snprintf(url, n, "http://[%s]:%u", host, ntohs(a->sin6_port));
    }
}

/* Serve on l (bound and listening): its address is the server's URL. */
static int listen_with(struct ft_server *srv, struct evconnlistener *l, struct ft_err *err)
{
    struct sockaddr_storage got;
    socklen_t gl = sizeof(got);
    memset(&got, 0, sizeof(got));
    getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&got, &gl);
    int rc = srv_listen_on(srv, l, err);
    if (rc)
        return rc;
    srv->loopback = is_loopback(&got);
    srv_url_of(&got, srv->url, sizeof(srv->url));
    return 0;
}

int srv_listen(struct ft_server *srv, struct ft_err *err)
{
    struct sockaddr_storage ss;
    int sslen, rc = srv_parse_listen(srv->o, &ss, &sslen, err);
    if (rc)
        return rc;
    struct evconnlistener *l = evconnlistener_new_bind(
        srv->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
        4096, (struct sockaddr *)&ss, sslen);
    if (!l)
        return ft_err_set(err, FT_EIO, "cannot listen on '%s': %s", srv->o->listen,
                          strerror(errno));
    return listen_with(srv, l, err);
}

int srv_listen_fd(struct ft_server *srv, int fd, struct ft_err *err)
{
    struct evconnlistener *l = evconnlistener_new(
        srv->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
    if (!l) {
        close(fd);
        return ft_err_set(err, FT_EIO, "cannot listen on '%s': %s", srv->o->listen,
                          strerror(errno));
    }
    return listen_with(srv, l, err);
}

void srv_unlisten(struct ft_server *srv)
{
    if (srv->bound) { /* closes the listening socket */
        srv_conns_unlisten(srv);
        evhttp_del_accept_socket(srv->http, srv->bound);
        srv->bound = NULL;
    }
}
