/*
 * routes.c: the one route table of `flowtrack serve`, and the router.
 *
 * A row says, once: the method and the path pattern (for an operation, taken from its wire
 * row in src/ops/ops.c, so that the server and the HTTP client can never disagree), the
 * metric label, the handler and, through its method, who may use it. The router splits the
 * path once, finds the row, and hands the handler the captured {tracker}, {kind} and {num}.
 */
#include "internal.h"

#include "../core/render.h"
#include "../util/ft_text.h"
#include "../util/ft_xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/banned.h"

const char *const ft_route_label[R__COUNT] = {
    [R_HEALTHZ] = "/healthz",
    [R_METRICS] = "/metrics",
    [R_TRACKERS] = "/api/trackers",
    [R_TRACKER] = "/api/trackers/{id}",
    [R_HEADER] = "/api/trackers/{id}/header",
    [R_ENTRIES] = "/api/trackers/{id}/{kind}",
    [R_ENTRY] = "/api/trackers/{id}/{kind}/{num}",
    [R_HISTORY] = "/api/history",
    [R_RUNS] = "/api/trackers/{id}/runs",
    [R_RUN] = "/api/trackers/{id}/runs/{num}",
    [R_CHECK] = "/api/trackers/{id}/check",
    [R_EVENTS] = "/api/events",
    [R_DEFAULT] = "/api/default",
    [R_CLAIM] = "/api/trackers/{id}/items/{num}/claim",
    [R_RELEASE] = "/api/trackers/{id}/items/{num}/release",
    [R_MCP] = "/mcp",
    [R_UI] = "/ui",
    [R_OTHER] = "other",
};

#define OP(op, label, handler, flags)                                                              \
    {                                                                                              \
        NULL, NULL, op, label, handler, flags                                                      \
    }

/* Operations sharing a method and path with another (import with create, move with edit, a
 * run with its results entry) are reached through that row's handler. */
static const struct route routes[] = {
    {"GET", "/healthz", -1, R_HEALTHZ, rest_healthz, 0},
    {"GET", "/metrics", -1, R_METRICS, srv_metrics, 0},
    {"GET", "/api/events", -1, R_EVENTS, rest_events, ROUTE_NO_HEAD},
    {"GET", "/api/trackers/{tracker}/events", -1, R_EVENTS, rest_events, ROUTE_NO_HEAD},
    {"GET", "/api/history", FT_OP_HISTORY, R_HISTORY, rest_op, ROUTE_ALL},
    {"POST", "/mcp", -1, R_MCP, rest_mcp, ROUTE_WRITE},
    {"GET", "/mcp", -1, R_MCP, rest_mcp, ROUTE_NO_HEAD | ROUTE_WRITE},
    {"DELETE", "/mcp", -1, R_MCP, rest_mcp, ROUTE_WRITE},
    {"GET", "/", -1, R_UI, rest_ui, ROUTE_OPEN},
    {"GET", "/favicon.ico", -1, R_UI, rest_ui, ROUTE_OPEN},
    {"GET", "/ui/session", -1, R_UI, rest_ui_session, ROUTE_OPEN},
    {"POST", "/ui/login", -1, R_UI, rest_ui_login, ROUTE_OPEN},
    {"POST", "/ui/logout", -1, R_UI, rest_ui_logout, ROUTE_OPEN},
    {"GET", "/ui/{file}", -1, R_UI, rest_ui, ROUTE_OPEN},
    OP(FT_OP_TRACKER_LIST, R_TRACKERS, rest_op, 0),
    OP(FT_OP_TRACKER_CREATE, R_TRACKERS, rest_create, 0),
    OP(FT_OP_TRACKER_SHOW, R_TRACKER, rest_tracker_get, ROUTE_VIEWS),
    OP(FT_OP_TRACKER_EDIT, R_TRACKER, rest_op, 0),
    OP(FT_OP_TRACKER_DELETE, R_TRACKER, rest_op, 0),
    OP(FT_OP_TRACKER_HEADER, R_HEADER, rest_op, 0),
    OP(FT_OP_HISTORY, R_HISTORY, rest_op, 0),
    OP(FT_OP_CHECK, R_CHECK, rest_op, 0),
    OP(FT_OP_RUN_LIST, R_RUNS, rest_op, 0),
    OP(FT_OP_RUN_SHOW, R_RUN, rest_op, 0),
    OP(FT_OP_ENTRY_LIST, R_ENTRIES, rest_op, 0),
    OP(FT_OP_ENTRY_ADD, R_ENTRIES, rest_entry_add, 0),
    OP(FT_OP_ENTRY_SHOW, R_ENTRY, rest_op, 0),
    OP(FT_OP_ENTRY_EDIT, R_ENTRY, rest_entry_patch, 0),
    OP(FT_OP_ENTRY_REMOVE, R_ENTRY, rest_op, 0),
    OP(FT_OP_DEFAULT_GET, R_DEFAULT, rest_op, 0),
    OP(FT_OP_DEFAULT_SET, R_DEFAULT, rest_op, 0),
    OP(FT_OP_ITEM_CLAIM, R_CLAIM, rest_op, 0),
    OP(FT_OP_ITEM_RELEASE, R_RELEASE, rest_op, 0),
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

const struct route *srv_route_nth(size_t i)
{
    return i < NROUTES ? &routes[i] : NULL;
}

const char *srv_route_method(const struct route *r)
{
    return r->method ? r->method : ft_op_wires[r->op].method;
}

const char *srv_route_pattern(const struct route *r)
{
    return r->pattern ? r->pattern : ft_op_wires[r->op].path;
}

enum ft_access srv_route_access(const struct route *r)
{
    if (r->label == R_HEALTHZ || (r->flags & ROUTE_OPEN))
        return ACCESS_OPEN;
    if (r->flags & ROUTE_WRITE)
        return ACCESS_WRITE;
    return strcmp(srv_route_method(r), "GET") == 0 ? ACCESS_READ : ACCESS_WRITE;
}

#define MAX_SEGS 6

/* Split a path into at most MAX_SEGS non-empty segments (in buf); -1 when it cannot be one. */
static int split(const char *path, char *buf, size_t n, char **seg)
{
    size_t len = strlen(path);
    int nseg = 0;
    if (len >= n || path[0] != '/' || strchr(path, '%'))
        return -1;
    memcpy(buf, path + 1, len);
    if (len > 1 && buf[len - 2] == '/')
        buf[len - 2] = '\0'; /* one trailing slash is allowed */
    for (char *p = buf; *p;) {
        if (nseg == MAX_SEGS)
            return -1;
        seg[nseg++] = p;
        char *s = strchr(p, '/');
        if (!s)
            break;
        *s = '\0';
        p = s + 1;
        if (!*p)
            return -1;
    }
    return nseg;
}

/* The view a {tracker} segment names with its extension: a format, or -1 when unknown. */
static int view_of(const char *ext)
{
    static const struct {
        const char *ext;
        int fmt;
    } views[] = {
        {".md", FT_FMT_MD}, {".txt", FT_FMT_TEXT}, {".text", FT_FMT_TEXT}, {".json", FT_FMT_JSON}};
    for (size_t i = 0; i < sizeof(views) / sizeof(views[0]); i++)
        if (strcmp(ext, views[i].ext) == 0)
            return views[i].fmt;
    return -1;
}

/*
 * Match a pattern against the path's segments: 1 with the captures added to caps, 0 when
 * it does not match. A {tracker} with an extension matches only a ROUTE_VIEWS row.
 */
/* Every route's pattern, split once (the loop's thread only). */
static struct {
    char buf[96];
    char *seg[MAX_SEGS];
    int n;
} patterns[NROUTES];
static int patterns_split;

static int match(const struct route *r, char **seg, int nseg, json_t *caps)
{
    if (!patterns_split) {
        for (size_t i = 0; i < NROUTES; i++)
            patterns[i].n = split(srv_route_pattern(&routes[i]), patterns[i].buf,
                                  sizeof(patterns[i].buf), patterns[i].seg);
        patterns_split = 1;
    }
    char **pseg = patterns[r - routes].seg;
    int np = patterns[r - routes].n;
    if (np != nseg)
        return 0;
    for (int i = 0; i < np; i++) {
        if (pseg[i][0] != '{') {
            if (strcmp(pseg[i], seg[i]) != 0)
                return 0;
        } else if (strcmp(pseg[i], "{kind}") == 0) {
            if (ft_kind_from_plural(seg[i]) < 0)
                return 0;
        } else if (strcmp(pseg[i], "{tracker}") == 0 && strchr(seg[i], '.') &&
                   (!(r->flags & ROUTE_VIEWS) || view_of(strchr(seg[i], '.')) < 0)) {
            return 0;
        }
    }
    for (int i = 0; caps && i < np; i++) {
        if (strcmp(pseg[i], "{kind}") == 0) {
            json_object_set_new(caps, "kind",
                                json_string(ft_kind_name(ft_kind_from_plural(seg[i]))));
        } else if (strcmp(pseg[i], "{num}") == 0) {
            json_object_set_new(caps, "num", json_string(seg[i]));
        } else if (strcmp(pseg[i], "{file}") == 0) {
            json_object_set_new(caps, "file", json_string(seg[i]));
        } else if (strcmp(pseg[i], "{tracker}") == 0) {
            char *dot = strchr(seg[i], '.');
            json_object_set_new(
                caps, "tracker",
                json_stringn(seg[i], dot ? (size_t)(dot - seg[i]) : strlen(seg[i])));
            if (dot)
                json_object_set_new(caps, "view", json_string(dot));
        }
    }
    if (caps && (r->flags & ROUTE_ALL))
        json_object_set_new(caps, "all", json_true());
    return 1;
}

static int method_is(enum evhttp_cmd_type cmd, const char *m)
{
    static const struct {
        enum evhttp_cmd_type cmd;
        const char *name;
    } names[] = {{EVHTTP_REQ_GET, "GET"},
                 {EVHTTP_REQ_POST, "POST"},
                 {EVHTTP_REQ_PUT, "PUT"},
                 {EVHTTP_REQ_PATCH, "PATCH"},
                 {EVHTTP_REQ_DELETE, "DELETE"}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].cmd == cmd)
            return strcmp(names[i].name, m) == 0;
    return 0;
}

/* A positive entry or run number ("3" or "#3"); -1 when not one. */
static int parse_num(const char *s)
{
    long long v = ft_parse_digits(s, 9, 1);
    return v > 0 ? (int)v : -1;
}

/* 404 for a path no row matched, saying what is there instead when it can. */
static void explain_404(char **seg, int nseg, const char *path, char *msg, size_t n)
{
    if (nseg >= 4 && strcmp(seg[0], "api") == 0 && strcmp(seg[1], "trackers") == 0 &&
        strcmp(seg[3], "events") != 0 && strcmp(seg[3], "runs") != 0 &&
        ft_kind_from_plural(seg[3]) < 0)
        snprintf(msg, n,
                 "no section '%.40s': use rules, steps, items, symptoms, hypotheses, results, "
                 "followups, notes, header, history, runs, check or events",
                 seg[3]);
    else if (nseg == 3 && strcmp(seg[1], "trackers") == 0 && strchr(seg[2], '.'))
        snprintf(msg, n, "no view '%.40s': use .md, .txt or .json", strchr(seg[2], '.'));
    else
        snprintf(msg, n, "no such route '%.200s'", path);
}

int srv_route(struct call *c, const char *path, int *status, char *msg, size_t n)
{
    char buf[512];
    char *seg[MAX_SEGS];
    int nseg = split(path, buf, sizeof(buf), seg);
    enum evhttp_cmd_type cmd = c->cmd == EVHTTP_REQ_HEAD ? EVHTTP_REQ_GET : c->cmd;
    const struct route *found = NULL;
    unsigned allow = 0; /* methods of the rows whose pattern matched */
    static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};

    c->route = NULL;
    c->label = R_OTHER;
    for (size_t i = 0; nseg >= 0 && i < NROUTES && !found; i++) {
        const struct route *r = &routes[i];
        if (!match(r, seg, nseg, NULL))
            continue;
        c->label = r->label;
        const char *m = srv_route_method(r);
        int head_ok = strcmp(m, "GET") == 0 && !(r->flags & ROUTE_NO_HEAD);
        if (method_is(cmd, m) && (c->cmd != EVHTTP_REQ_HEAD || head_ok))
            found = r;
        for (size_t k = 0; k < sizeof(methods) / sizeof(methods[0]); k++)
            if (strcmp(methods[k], m) == 0 || (k == 1 && head_ok))
                allow |= 1u << k;
    }
    if (!found && !allow) {
        *status = 404;
        if (nseg < 0)
            snprintf(msg, n, "no such route");
        else
            explain_404(seg, nseg, path, msg, n);
        return -1;
    }
    if (!found) {
        *status = 405;
        msg[0] = '\0';
        for (size_t k = 0; k < sizeof(methods) / sizeof(methods[0]); k++)
            if (allow & (1u << k))
                snprintf(msg + strlen(msg), n - strlen(msg), "%s%s", msg[0] ? ", " : "",
                         methods[k]);
        return -1;
    }
    c->caps = json_object();
    match(found, seg, nseg, c->caps);
    const char *num = json_string_value(json_object_get(c->caps, "num"));
    if (num) { /* a number that cannot be one names nothing */
        int v = parse_num(num);
        if (v < 0) {
            const char *kind = json_string_value(json_object_get(c->caps, "kind"));
            *status = 404;
            if (kind)
                snprintf(msg, n, "no such %s entry", ft_kind_plural(ft_kind_parse(kind)));
            else
                snprintf(msg, n, "no run '%.40s'", num);
            json_decref(c->caps);
            c->caps = NULL;
            return -1;
        }
        json_object_set_new(c->caps, "num", json_integer(v));
    }
    c->route = found;
    return 0;
}
