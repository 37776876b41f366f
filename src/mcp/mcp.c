/*
 * mcp.c: one MCP session: JSON-RPC 2.0 dispatch, the initialize handshake,
 * resources (each tracker as flowtrack://tracker/SLUG, Markdown) and their
 * subscriptions. Tools are in tools.c, the run tool's jobs in job.c.
 */
#include "internal.h"

#include "../util/ft_buf.h"
#include "../util/ft_err.h"
#include "../util/ft_xalloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "../util/banned.h"

#ifndef FT_VERSION
#define FT_VERSION "0"
#endif

const char *const ft_mcp_versions[] = {FT_MCP_PROTOCOL, "2025-06-18", "2025-03-26", NULL};

#define URI_PREFIX "flowtrack://tracker/"

static const char INSTRUCTIONS[] =
    "flowtrack keeps the record of an engineering investigation: objective, ground rules, "
    "progress items, reproduction command, symptoms, hypotheses, a dated results log and the "
    "final fix. Start with tracker_read. Claim an item (item_claim) before working on it, "
    "record every attempt (run, or entry_add kind=result), give hypotheses verdicts with "
    "evidence, and keep the tracker current before you stop. Your writes are recorded as "
    "actor '%s'.";

json_t *ft_mcp_error(json_t *id, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id ? id : json_null(),
                     "error", "code", code, "message", msg);
}

static json_t *response(json_t *id, json_t *result)
{
    return json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result", result);
}

static void send_msg(struct ft_mcp *m, json_t *msg, void *req)
{
    m->host.send(m->host.u, msg, req);
}

/* "<client>-<6 hex>": one actor per session, so that claims tell agents apart. */
static char *session_actor(json_t *client_info)
{
    const char *name = json_string_value(json_object_get(client_info, "name"));
    char clean[33];
    size_t n = 0;
    for (const char *p = name ? name : ""; *p && n < sizeof(clean) - 1; p++)
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.')
            clean[n++] = *p;
    clean[n] = '\0';
    unsigned char r[3] = {0};
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
        r[0] = (unsigned char)(uintptr_t)&r; /* only a name: uniqueness is best effort */
    char buf[64];
    snprintf(buf, sizeof(buf), "%s-%02x%02x%02x", n ? clean : "mcp", r[0], r[1], r[2]);
    return ft_xstrdup(buf);
}

const char *mcp_actor(struct ft_mcp *m)
{
    if (!m->actor)
        m->actor = session_actor(NULL);
    return m->actor;
}

static json_t *initialize(struct ft_mcp *m, json_t *params)
{
    const char *asked = json_string_value(json_object_get(params, "protocolVersion"));
    const char *v = FT_MCP_PROTOCOL;
    for (int i = 0; asked && ft_mcp_versions[i]; i++)
        if (strcmp(asked, ft_mcp_versions[i]) == 0)
            v = ft_mcp_versions[i];
    snprintf(m->version, sizeof(m->version), "%s", v);
    if (!m->actor)
        m->actor = session_actor(json_object_get(params, "clientInfo"));
    char instr[sizeof(INSTRUCTIONS) + 128];
    snprintf(instr, sizeof(instr), INSTRUCTIONS, m->actor);
    return json_pack("{s:s, s:{s:{s:b}, s:{s:b, s:b}}, s:{s:s, s:s, s:s}, s:s}", "protocolVersion",
                     v, "capabilities", "tools", "listChanged", 0, "resources", "subscribe", 1,
                     "listChanged", 0, "serverInfo", "name", "flowtrack", "title", "flowtrack",
                     "version", FT_VERSION, "instructions", instr);
}

/* ---- resources ------------------------------------------------------------------------ */

/* The slug a tracker resource's URI names, or NULL. */
static const char *uri_slug(const char *uri)
{
    size_t n = strlen(URI_PREFIX);
    if (!uri || strncmp(uri, URI_PREFIX, n) != 0 || !uri[n] || strchr(uri + n, '/'))
        return NULL;
    return uri + n;
}

static json_t *resources_list(struct ft_mcp *m, json_t *id)
{
    struct ft_result res;
    struct ft_err err;
    if (ft_ops_call(m->ops, FT_OP_TRACKER_LIST, NULL, &res, &err))
        return ft_mcp_error(id, FT_RPC_INTERNAL, "%s", err.msg);
    json_t *list = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(res.json, i, t)
    {
        const char *slug = json_string_value(json_object_get(t, "slug"));
        json_array_append_new(list, json_pack("{s:s+, s:s, s:O, s:s, s:s}", "uri", URI_PREFIX, slug,
                                              "name", slug, "title", json_object_get(t, "title"),
                                              "mimeType", "text/markdown", "description",
                                              "The tracker as Markdown"));
    }
    ft_result_release(&res);
    return response(id, json_pack("{s:o}", "resources", list));
}

/* The tracker a resource request names (resolved), or an error answer. */
static json_t *resource_tracker(json_t *id, json_t *params, const char **slug)
{
    const char *uri = json_string_value(json_object_get(params, "uri"));
    if (!uri)
        return ft_mcp_error(id, FT_RPC_PARAMS, "'uri' must be a string");
    if (!(*slug = uri_slug(uri))) {
        json_t *e = ft_mcp_error(id, FT_RPC_NO_RESOURCE,
                                 "no resource '%.200s' (trackers are " URI_PREFIX "SLUG)", uri);
        json_object_set_new(json_object_get(e, "error"), "data", json_pack("{s:s}", "uri", uri));
        return e;
    }
    return NULL;
}

static json_t *resources_read(struct ft_mcp *m, json_t *id, json_t *params)
{
    const char *slug;
    json_t *e = resource_tracker(id, params, &slug);
    if (e)
        return e;
    struct ft_result res;
    struct ft_err err;
    json_t *args = json_pack("{s:s, s:s}", "tracker", slug, "format", "md");
    int rc = ft_ops_call(m->ops, FT_OP_TRACKER_SHOW, args, &res, &err);
    json_decref(args);
    if (rc) {
        e = ft_mcp_error(id, rc == FT_ENOTFOUND ? FT_RPC_NO_RESOURCE : FT_RPC_INTERNAL, "%s",
                         err.msg);
        if (rc == FT_ENOTFOUND)
            json_object_set_new(json_object_get(e, "error"), "data",
                                json_pack("{s:s+}", "uri", URI_PREFIX, slug));
        return e;
    }
    json_t *r = json_pack("{s:[{s:s+, s:s, s:s%}]}", "contents", "uri", URI_PREFIX, slug,
                          "mimeType", "text/markdown", "text", res.doc.buf, res.doc.len);
    ft_result_release(&res);
    return response(id, r);
}

static json_t *resources_subscribe(struct ft_mcp *m, json_t *id, json_t *params, int on)
{
    const char *slug;
    json_t *e = resource_tracker(id, params, &slug);
    if (e)
        return e;
    if (on && !json_object_get(m->subs, slug) && json_object_size(m->subs) >= FT_MCP_MAX_SUBS)
        return ft_mcp_error(id, FT_RPC_PARAMS, "a session subscribes to at most %d resources",
                            FT_MCP_MAX_SUBS);
    if (on) {
        struct ft_result res;
        struct ft_err err;
        json_t *args = json_pack("{s:s}", "tracker", slug);
        int rc = ft_ops_call(m->ops, FT_OP_TRACKER_HEADER, args, &res, &err);
        json_decref(args);
        if (rc)
            return ft_mcp_error(id, rc == FT_ENOTFOUND ? FT_RPC_NO_RESOURCE : FT_RPC_INTERNAL, "%s",
                                err.msg);
        /* by the slug the tracker has (a number given in the URI becomes its slug) */
        const char *real = json_string_value(json_object_get(res.json, "slug"));
        json_object_set_new(m->subs, real ? real : slug,
                            json_string(json_string_value(json_object_get(params, "uri"))));
        ft_result_release(&res);
    } else {
        json_object_del(m->subs, slug);
    }
    return response(id, json_object());
}

void ft_mcp_tracker_changed(struct ft_mcp *m, const char *slug)
{
    json_t *uri = json_object_get(m->subs, slug);
    if (uri)
        send_msg(m,
                 json_pack("{s:s, s:s, s:{s:O}}", "jsonrpc", "2.0", "method",
                           "notifications/resources/updated", "params", "uri", uri),
                 NULL);
}

int ft_mcp_state_save(struct ft_mcp *m, struct ft_mcp_state *s)
{
    char *subs = json_dumps(m->subs, JSON_COMPACT | JSON_SORT_KEYS);
    int rc = -1;
    if (subs && strlen(subs) < sizeof(s->subs)) {
        snprintf(s->version, sizeof(s->version), "%s", m->version);
        snprintf(s->actor, sizeof(s->actor), "%s", mcp_actor(m));
        snprintf(s->subs, sizeof(s->subs), "%s", subs);
        rc = 0;
    }
    free(subs);
    return rc;
}

void ft_mcp_state_load(struct ft_mcp *m, const struct ft_mcp_state *s)
{
    snprintf(m->version, sizeof(m->version), "%s", s->version);
    if (s->actor[0]) {
        free(m->actor);
        m->actor = ft_xstrdup(s->actor);
    }
    json_t *subs = json_loads(s->subs, 0, NULL);
    if (json_is_object(subs)) {
        json_decref(m->subs);
        m->subs = subs;
    } else {
        json_decref(subs);
    }
}

void ft_mcp_cancel(struct ft_mcp *m, json_t *id)
{
    mcp_job_cancel_id(m, id);
}

int ft_mcp_subscribed(const struct ft_mcp *m)
{
    return json_object_size(m->subs) > 0;
}

/* ---- dispatch ------------------------------------------------------------------------- */

static json_t *request(struct ft_mcp *m, const char *method, json_t *id, json_t *params, void *req)
{
    if (strcmp(method, "initialize") == 0)
        return response(id, initialize(m, params));
    if (strcmp(method, "ping") == 0)
        return response(id, json_object());
    if (strcmp(method, "tools/list") == 0)
        return response(id, json_incref(mcp_tools_list()));
    if (strcmp(method, "tools/call") == 0) {
        json_t *err = NULL, *r = mcp_tool_call(m, id, params, req, &err);
        return r ? response(id, r) : err;
    }
    if (strcmp(method, "resources/list") == 0)
        return resources_list(m, id);
    if (strcmp(method, "resources/templates/list") == 0)
        return response(id, json_pack("{s:[{s:s, s:s, s:s, s:s}]}", "resourceTemplates",
                                      "uriTemplate", URI_PREFIX "{slug}", "name", "tracker",
                                      "mimeType", "text/markdown", "description",
                                      "A tracker as Markdown, by slug or number"));
    if (strcmp(method, "resources/read") == 0)
        return resources_read(m, id, params);
    if (strcmp(method, "resources/subscribe") == 0)
        return resources_subscribe(m, id, params, 1);
    if (strcmp(method, "resources/unsubscribe") == 0)
        return resources_subscribe(m, id, params, 0);
    return ft_mcp_error(id, FT_RPC_NO_METHOD, "no method '%.100s'", method);
}

int ft_mcp_handle(struct ft_mcp *m, json_t *msg, void *req)
{
    json_t *id = json_object_get(msg, "id");
    const char *method = json_string_value(json_object_get(msg, "method"));
    json_t *params = json_object_get(msg, "params");
    int id_ok = json_is_string(id) || json_is_integer(id);

    if (!json_is_object(msg)) {
        send_msg(m, ft_mcp_error(NULL, FT_RPC_INVALID, "a message is one JSON object"), req);
        return 1;
    }
    if (!method && id_ok && (json_object_get(msg, "result") || json_object_get(msg, "error")))
        return 0; /* a response: this server sends no requests, so there is nothing to match */
    const char *jsonrpc = json_string_value(json_object_get(msg, "jsonrpc"));
    if (!jsonrpc || strcmp(jsonrpc, "2.0") != 0 || !method || (id && !id_ok && !json_is_null(id))) {
        send_msg(m,
                 ft_mcp_error(id_ok ? id : NULL, FT_RPC_INVALID,
                              "not a JSON-RPC 2.0 request: it needs \"jsonrpc\": \"2.0\", a string "
                              "\"method\" and a string or integer \"id\""),
                 req);
        return 1;
    }
    if (!id) { /* a notification */
        if (strcmp(method, "notifications/cancelled") == 0)
            mcp_job_cancel_id(m, json_object_get(params, "requestId"));
        return 0;
    }
    if (params && !json_is_object(params)) {
        send_msg(m, ft_mcp_error(id, FT_RPC_PARAMS, "'params' must be an object"), req);
        return 1;
    }
    json_t *r = request(m, method, id, params, req);
    if (r)
        send_msg(m, r, req);
    return 1;
}

void ft_mcp_forget(struct ft_mcp *m, void *req)
{
    mcp_job_cancel_req(m, req);
}

int ft_mcp_pending(const struct ft_mcp *m)
{
    return mcp_job_count(m);
}

const char *ft_mcp_version(const struct ft_mcp *m)
{
    return m->version;
}

struct ft_mcp *ft_mcp_new(struct event_base *base, struct ft_ops *ops,
                          const struct ft_mcp_config *cfg, const struct ft_mcp_host *host)
{
    struct ft_mcp *m = ft_xcalloc(1, sizeof(*m));
    size_t n = 0;
    m->base = base;
    m->ops = ops;
    m->host = *host;
    m->runs = cfg->runs;
    m->self_exe = ft_xstrdup(cfg->self_exe ? cfg->self_exe : "flowtrack");
    while (cfg->access && cfg->access[n])
        n++;
    m->access = ft_xcalloc(n + 1, sizeof(*m->access));
    for (size_t i = 0; i < n; i++)
        m->access[i] = ft_xstrdup(cfg->access[i]);
    m->actor = cfg->actor ? ft_xstrdup(cfg->actor) : NULL;
    m->tracker = cfg->tracker ? ft_xstrdup(cfg->tracker) : NULL;
    m->subs = json_object();
    return m;
}

void ft_mcp_free(struct ft_mcp *m)
{
    if (!m)
        return;
    mcp_job_detach_all(m);
    for (char **a = m->access; a && *a; a++)
        free(*a);
    free(m->access);
    free(m->self_exe);
    free(m->actor);
    free(m->tracker);
    json_decref(m->subs);
    free(m);
}
