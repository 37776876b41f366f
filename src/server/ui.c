/*
 * ui.c: the dashboard's side of the server: its embedded files (web/, cmake/embed.cmake)
 * under a strict Content-Security-Policy with ETags, and the browser's way to the token.
 *
 * A browser's EventSource cannot send an Authorization header, so a page that needs the token
 * posts it once to /ui/login and gets it back as an HttpOnly, SameSite=Strict cookie, which
 * check_access (http.c) accepts wherever it accepts the header. The cookie holds the token in
 * hex, so that any token is a valid cookie value.
 */
#include "internal.h"

#include "ui_assets.h"

#include "../util/ft_xalloc.h"

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include "../util/banned.h"

#define UI_COOKIE     "flowtrack_token"
#define UI_COOKIE_AGE 2592000 /* 30 days; the page asks again once it is refused */

/* Scripts, styles and images from the server itself, nothing inline, no framing. */
static const char UI_CSP[] = "default-src 'none'; script-src 'self'; style-src 'self'; "
                             "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
                             "form-action 'none'; frame-ancestors 'none'";

char *srv_cookie_value(const char *token)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(token);
    char *v = ft_xmalloc(2 * n + 1);
    for (size_t i = 0; i < n; i++) {
        v[2 * i] = hex[(unsigned char)token[i] >> 4];
        v[2 * i + 1] = hex[(unsigned char)token[i] & 15];
    }
    v[2 * n] = '\0';
    return v;
}

/* The value of cookie name in one Cookie header ("a=1; b=2"), copied to out; 0 when found. */
static int cookie_get(const char *header, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    for (const char *p = header; *p;) {
        p += strspn(p, " \t;");
        size_t len = strcspn(p, ";");
        if (len > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            size_t vl = len - nl - 1;
            while (vl && (p[nl + 1 + vl - 1] == ' ' || p[nl + 1 + vl - 1] == '\t'))
                vl--;
            if (vl >= n)
                return -1;
            memcpy(out, p + nl + 1, vl);
            out[vl] = '\0';
            return 0;
        }
        p += len;
    }
    return -1;
}

int srv_cookie_ok(struct ft_server *srv, struct evhttp_request *req)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evkeyval *h;
    char v[1024];
    if (!srv->cookie)
        return 0;
    TAILQ_FOREACH(h, in, next)
    if (strcasecmp(h->key, "Cookie") == 0 && cookie_get(h->value, UI_COOKIE, v, sizeof(v)) == 0)
        return ft_ct_streq(v, srv->cookie);
    return 0;
}

/* The request carries the token, as the header or as the cookie. */
static int authenticated(struct call *c)
{
    const char *auth =
        evhttp_find_header(evhttp_request_get_input_headers(c->req), "Authorization");
    if (!c->srv->o->token)
        return 1;
    if (auth && strncmp(auth, "Bearer ", 7) == 0 && ft_ct_streq(auth + 7, c->srv->o->token))
        return 1;
    return srv_cookie_ok(c->srv, c->req);
}

static const struct ft_asset *asset_find(const char *path)
{
    for (int i = 0; i < ft_ui_nassets; i++)
        if (strcmp(ft_ui_assets[i].path, path) == 0)
            return &ft_ui_assets[i];
    return NULL;
}

/* GET / (the page), GET /favicon.ico (the icon, which browsers ask for) and GET /ui/{file}. */
void rest_ui(struct call *c)
{
    const char *file = json_string_value(json_object_get(c->caps, "file"));
    const char *uri = evhttp_request_get_uri(c->req);
    char path[128];
    if (!file)
        file = strncmp(uri, "/favicon.ico", 12) == 0 ? "icon.svg" : "index.html";
    snprintf(path, sizeof(path), "/%s", file);
    const struct ft_asset *a = strchr(path + 1, '/') ? NULL : asset_find(path);
    if (!a) {
        srv_error(c->srv, c->req, c->label, 404, NULL, c->t0, "no such file '/ui%s'", path);
        return;
    }
    struct evkeyvalq *out = evhttp_request_get_output_headers(c->req);
    const char *inm = evhttp_find_header(evhttp_request_get_input_headers(c->req), "If-None-Match");
    evhttp_add_header(out, "ETag", a->etag);
    evhttp_add_header(out, "Cache-Control", "no-cache"); /* revalidate: the binary may change */
    evhttp_add_header(out, "Content-Security-Policy", UI_CSP);
    evhttp_add_header(out, "X-Frame-Options", "DENY");
    evhttp_add_header(out, "Referrer-Policy", "no-referrer");
    if (inm && (strstr(inm, a->etag) || strcmp(inm, "*") == 0)) {
        srv_reply(c->srv, c->req, c->label, 304, NULL, NULL, 0, c->t0);
        return;
    }
    srv_reply(c->srv, c->req, c->label, 200, a->ctype, (const char *)a->data, a->len, c->t0);
}

/* GET /ui/session: what the page must ask for before it reads or writes. */
void rest_ui_session(struct call *c)
{
    const struct ft_server_opts *o = c->srv->o;
    srv_reply_json(c->srv, c->req, c->label, 200,
                   json_pack("{s:b, s:b, s:b, s:s?}", "token_required", o->token != NULL, "private",
                             o->token && o->private_reads, "authenticated", authenticated(c),
                             "actor", o->actor),
                   c->t0);
}

static void set_cookie(struct call *c, const char *value, int max_age)
{
    char h[1200];
    snprintf(h, sizeof(h), "%s=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict", UI_COOKIE, value,
             max_age);
    evhttp_add_header(evhttp_request_get_output_headers(c->req), "Set-Cookie", h);
}

/* POST /ui/login {"token": "..."}: the cookie when the token is right. */
void rest_ui_login(struct call *c)
{
    json_t *body = srv_read_json(c);
    if (!body)
        return;
    const char *token = json_string_value(json_object_get(body, "token"));
    if (!c->srv->o->token) {
        srv_reply_json(c->srv, c->req, c->label, 200,
                       json_pack("{s:b, s:b}", "ok", 1, "token_required", 0), c->t0);
    } else if (!token) {
        srv_error(c->srv, c->req, c->label, 400, "token", c->t0,
                  "send {\"token\": \"...\"}: the server's token as a string");
    } else if (!ft_ct_streq(token, c->srv->o->token)) {
        srv_log(c->srv, "warn", "login_refused", "peer=ui");
        srv_error(c->srv, c->req, c->label, 401, "token", c->t0, "that is not the server's token");
    } else {
        set_cookie(c, c->srv->cookie, UI_COOKIE_AGE);
        srv_reply_json(c->srv, c->req, c->label, 200,
                       json_pack("{s:b, s:b}", "ok", 1, "token_required", 1), c->t0);
    }
    json_decref(body);
}

/* POST /ui/logout: the cookie is dropped. */
void rest_ui_logout(struct call *c)
{
    set_cookie(c, "", 0);
    srv_reply_json(c->srv, c->req, c->label, 200, json_pack("{s:b}", "ok", 1), c->t0);
}
