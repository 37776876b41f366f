/*
 * tools.c: the MCP tools, each a thin adapter over one or two operations
 * (src/ops/ops.h). A tool is a row of the table below: its name, description,
 * parameters (from which tools/list's JSON Schema is built and against which
 * every call's arguments are checked), and its call.
 *
 * Arguments that do not fit the schema (an unknown name, a wrong type, a value
 * outside an enumeration or range, a missing required one) are protocol
 * errors (-32602) and nothing runs. What an operation refuses (an unknown
 * tracker, a claim held by another actor) is a tool result with isError, so
 * that the model reads why. Every result carries text for the model and the
 * operation's JSON as structuredContent.
 *
 * The whole tools/list answer is kept under 8 KB (checked by the unit tests):
 * what an agent's context pays for every session.
 */
#include "internal.h"

#include "../util/ft_buf.h"
#include "../util/ft_err.h"
#include "../util/ft_xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/banned.h"

enum ptype { P_STR, P_INT, P_BOOL };

struct param {
    const char *name;
    enum ptype type;
    const char *desc;
    const char *choices; /* "a|b|c": the allowed strings, or NULL */
    int required;
    int64_t min, max; /* integers */
};

struct tool;
typedef json_t *tool_fn(struct ft_mcp *m, const struct tool *t, json_t *a, json_t *id, void *req,
                        json_t *progress);

struct tool {
    const char *name, *desc;
    const struct param *params;
    int read_only;
    tool_fn *call;
};

#define TRACKER                                                                                    \
    {                                                                                              \
        "tracker", P_STR, "Tracker slug or number (default: the default or only one)", 0, 0, 0, 0  \
    }
#define KINDS "rule|step|item|symptom|hyp|result|followup|note"
#define END                                                                                        \
    {                                                                                              \
        NULL, 0, NULL, NULL, 0, 0, 0                                                               \
    }

/* ---- results -------------------------------------------------------------------------- */

json_t *mcp_result(const char *text, json_t *structured, int is_error)
{
    json_t *r = json_pack("{s:[{s:s, s:s}]}", "content", "type", "text", "text", text);
    if (structured)
        json_object_set_new(r, "structuredContent", structured);
    if (is_error)
        json_object_set_new(r, "isError", json_true());
    return r;
}

/* What an operation refused, as a tool result the model can act on. */
static json_t *op_error(const struct ft_err *err)
{
    char text[600];
    snprintf(text, sizeof(text), "error: %s", err->msg);
    json_t *e = json_pack("{s:s, s:s}", "reason", ft_code_reason(err->code), "message", err->msg);
    if (err->field[0])
        json_object_set_new(e, "field", json_string(err->field));
    return mcp_result(text, json_pack("{s:o}", "error", e), 1);
}

/* The result of a write: one line for the model, the operation's envelope as structure. */
static json_t *write_result(json_t *env)
{
    struct ft_buf b;
    json_t *entry = json_object_get(env, "entry");
    const char *action = json_string_value(json_object_get(env, "action"));
    const char *slug = json_string_value(json_object_get(json_object_get(env, "tracker"), "slug"));
    ft_buf_init(&b, 0);
    ft_buf_addf(&b, "%s on tracker %s", action ? action : "done", slug ? slug : "?");
    if (entry) {
        const char *text = json_string_value(json_object_get(entry, "text"));
        const char *attempt = json_string_value(json_object_get(entry, "attempt"));
        ft_buf_addf(&b, ": %s %lld", json_string_value(json_object_get(entry, "kind")),
                    (long long)json_integer_value(json_object_get(entry, "num")));
        const char *keys[] = {"state", "verdict", "outcome", "claimed_by"};
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
            const char *v = json_string_value(json_object_get(entry, keys[i]));
            if (v && *v)
                ft_buf_addf(&b, ", %s %s", keys[i], v);
        }
        ft_buf_addf(&b, ": %s", text ? text : attempt ? attempt : "");
    }
    json_t *r = mcp_result(b.buf, env, 0);
    ft_buf_release(&b);
    return r;
}

/* Run op; its result through done(), or the refusal as an error result. Takes args. */
static json_t *run_op(struct ft_mcp *m, enum ft_op op, json_t *args,
                      json_t *(*done)(struct ft_result *res))
{
    struct ft_result res;
    struct ft_err err;
    int rc = ft_ops_call(m->ops, op, args, &res, &err);
    json_decref(args);
    if (rc)
        return op_error(&err);
    json_t *r = done(&res);
    ft_result_release(&res);
    return r;
}

static json_t *done_write(struct ft_result *res)
{
    json_t *env = res->json;
    res->json = NULL;
    return write_result(env);
}

/* The arguments every operation of a tool starts from: its tracker and the session's actor. */
static json_t *op_args(struct ft_mcp *m, json_t *a)
{
    json_t *o = json_pack("{s:s}", "actor", mcp_actor(m));
    json_t *t = json_object_get(a, "tracker");
    if (t)
        json_object_set(o, "tracker", t);
    else if (m->tracker)
        json_object_set_new(o, "tracker", json_string(m->tracker));
    return o;
}

/* Copy the arguments named in keys (when given) into obj, renamed where "from=to". */
static void copy_args(json_t *obj, json_t *a, const char *const *keys)
{
    for (; *keys; keys++) {
        char from[32];
        const char *eq = strchr(*keys, '=');
        snprintf(from, sizeof(from), "%.*s", eq ? (int)(eq - *keys) : 31, *keys);
        json_t *v = json_object_get(a, from);
        if (v)
            json_object_set(obj, eq ? eq + 1 : from, v);
    }
}

/* ---- the tools ------------------------------------------------------------------------ */

static json_t *done_list(struct ft_result *res)
{
    struct ft_buf b;
    size_t i;
    json_t *t;
    ft_buf_init(&b, 0);
    json_array_foreach(res->json, i, t)
    {
        json_t *p = json_object_get(t, "progress");
        ft_buf_addf(&b, "%s: %s [%s; %lld done, %lld doing, %lld pending]%s\n",
                    json_string_value(json_object_get(t, "slug")),
                    json_string_value(json_object_get(t, "title")),
                    json_string_value(json_object_get(t, "status")),
                    (long long)json_integer_value(json_object_get(p, "done")),
                    (long long)json_integer_value(json_object_get(p, "doing")),
                    (long long)json_integer_value(json_object_get(p, "pending")),
                    json_is_true(json_object_get(t, "default")) ? " (default)" : "");
    }
    if (!b.len)
        ft_buf_adds(&b, "no trackers yet (tracker_create starts one)\n");
    json_t *r = mcp_result(b.buf, json_pack("{s:O}", "trackers", res->json), 0);
    ft_buf_release(&b);
    return r;
}

static json_t *tool_list(struct ft_mcp *m, const struct tool *t, json_t *a, json_t *id, void *req,
                         json_t *progress)
{
    (void)t, (void)a, (void)id, (void)req, (void)progress;
    return run_op(m, FT_OP_TRACKER_LIST, NULL, done_list);
}

static json_t *done_read(struct ft_result *res)
{
    if (res->json) {
        char *s = json_dumps(res->json, JSON_COMPACT);
        json_t *r = mcp_result(s ? s : "{}", json_incref(res->json), 0);
        free(s);
        return r;
    }
    return mcp_result(res->doc.buf, json_pack("{s:s%}", "document", res->doc.buf, res->doc.len), 0);
}

static json_t *tool_read(struct ft_mcp *m, const struct tool *t, json_t *a, json_t *id, void *req,
                         json_t *progress)
{
    (void)t, (void)id, (void)req, (void)progress;
    json_t *args = op_args(m, a);
    const char *f = json_string_value(json_object_get(a, "format"));
    json_object_set_new(args, "format", json_string(f ? f : "compact"));
    return run_op(m, FT_OP_TRACKER_SHOW, args, done_read);
}

static json_t *tool_create(struct ft_mcp *m, const struct tool *t, json_t *a, json_t *id, void *req,
                           json_t *progress)
{
    (void)t, (void)id, (void)req, (void)progress;
    json_t *args = json_pack("{s:s, s:o}", "actor", mcp_actor(m), "fields", json_deep_copy(a));
    return run_op(m, FT_OP_TRACKER_CREATE, args, done_write);
}

static json_t *tool_update(struct ft_mcp *m, const struct tool *t, json_t *a, json_t *id, void *req,
                           json_t *progress)
{
    (void)t, (void)id, (void)req, (void)progress;
    static const char *const keys[] = {
        "title",        "objective",   "owner",   "status",       "repro_command",
        "repro_expect", "fix_summary", "fix_why", "fix_evidence", NULL};
    json_t *args = op_args(m, a), *fields = json_object();
    copy_args(fields, a, keys);
    json_t *to = json_object_get(a, "repro_timeout_s");
    if (to)
        json_object_set_new(fields, "repro_timeout_ms",
                            json_integer(json_integer_value(to) * 1000));
    json_object_set_new(args, "fields", fields);
    return run_op(m, FT_OP_TRACKER_EDIT, args, done_write);
}

/* An entry's fields from the tool's arguments (a result's text is its attempt). */
static json_t *entry_fields(json_t *a)
{
    static const char *const keys[] = {"title",   "state", "verdict", "evidence",
                                       "outcome", "notes", "date",    NULL};
    json_t *f = json_object();
    const char *kind = json_string_value(json_object_get(a, "kind"));
    json_t *text = json_object_get(a, "text");
    copy_args(f, a, keys);
    if (text)
        json_object_set(f, kind && strcmp(kind, "result") == 0 ? "attempt" : "text", text);
    return f;
}

static json_t *tool_add(struct ft_mcp *m, const struct tool *t, json_t *a, json_t *id, void *req,
                        json_t *progress)
{
    (void)t, (void)id, (void)req, (void)progress;
    json_t *args = op_args(m, a), *fields = entry_fields(a);
    const char *kind = json_string_value(json_object_get(a, "kind"));
    if (strcmp(kind, "step") == 0 && !json_object_get(fields, "title")) {
        /* a step given as one text: "TITLE: TEXT", or all title */
        const char *s = json_string_value(json_object_get(fields, "text"));
        const char *sep = strstr(s, ": ");
        json_object_set_new(fields, "title",
                            sep ? json_stringn(s, (size_t)(sep - s)) : json_string(s));
        json_object_set_new(fields, "text", json_string(sep ? sep + 2 : ""));
    }
    json_object_set(args, "kind", json_object_get(a, "kind"));
    json_object_set_new(args, "fields", fields);
    return run_op(m, FT_OP_ENTRY_ADD, args, done_write);
}

static json_t *tool_entry_update(struct ft_mcp *m, const struct tool *t, json_t *a, json_t *id,
                                 void *req, json_t *progress)
{
    (void)t, (void)id, (void)req, (void)progress;
    json_t *base = op_args(m, a), *fields = entry_fields(a);
    json_object_set(base, "kind", json_object_get(a, "kind"));
    json_object_set(base, "num", json_object_get(a, "num"));
    json_t *pos = json_object_get(a, "position");
    json_t *r = NULL;
    if (json_is_true(json_object_get(a, "remove"))) {
        if (json_object_size(fields) || pos) {
            r = mcp_result("error: remove takes no other change", NULL, 1);
        } else {
            json_decref(fields);
            return run_op(m, FT_OP_ENTRY_REMOVE, base, done_write);
        }
    } else if (!json_object_size(fields) && !pos) {
        r = mcp_result("error: nothing to change: give a field, position or remove", NULL, 1);
    }
    if (r) {
        json_decref(fields);
        json_decref(base);
        return r;
    }
    if (json_object_size(fields)) {
        json_t *args = json_deep_copy(base);
        json_object_set(args, "fields", fields);
        r = run_op(m, FT_OP_ENTRY_EDIT, args, done_write);
        if (json_is_true(json_object_get(r, "isError")) || !pos) {
            json_decref(fields);
            json_decref(base);
            return r;
        }
        json_decref(r);
    }
    json_decref(fields);
    json_object_set(base, "position", pos);
    return run_op(m, FT_OP_ENTRY_MOVE, base, done_write);
}

static json_t *tool_claim(struct ft_mcp *m, const struct tool *t, json_t *a, json_t *id, void *req,
                          json_t *progress)
{
    (void)t, (void)id, (void)req, (void)progress;
    int release = json_is_true(json_object_get(a, "release"));
    json_t *args = op_args(m, a);
    json_object_set(args, "num", json_object_get(a, "num"));
    if (release && (json_object_get(a, "steal") || json_object_get(a, "stale_after_s"))) {
        json_decref(args);
        return mcp_result("error: steal and stale_after_s are for a claim, not a release", NULL, 1);
    }
    if (!release && json_object_get(a, "force")) {
        json_decref(args);
        return mcp_result("error: force is for a release", NULL, 1);
    }
    static const char *const keys[] = {"steal", "force", NULL};
    copy_args(args, a, keys);
    json_t *stale = json_object_get(a, "stale_after_s");
    if (stale)
        json_object_set_new(args, "stale_after", json_integer(json_integer_value(stale) * 1000));
    return run_op(m, release ? FT_OP_ITEM_RELEASE : FT_OP_ITEM_CLAIM, args, done_write);
}

static json_t *done_history(struct ft_result *res)
{
    struct ft_buf b;
    size_t i;
    json_t *e;
    ft_buf_init(&b, 0);
    json_array_foreach(res->json, i, e)
    {
        json_t *p = json_object_get(e, "payload");
        const char *text = json_string_value(json_object_get(p, "text"));
        if (!text)
            text = json_string_value(json_object_get(p, "attempt"));
        ft_buf_addf(
            &b, "#%lld %s %s %s%s%s\n", (long long)json_integer_value(json_object_get(e, "seq")),
            json_string_value(json_object_get(e, "at")),
            json_string_value(json_object_get(e, "actor")),
            json_string_value(json_object_get(e, "kind")), text ? ": " : "", text ? text : "");
    }
    if (!b.len)
        ft_buf_adds(&b, "no events\n");
    json_t *r = mcp_result(b.buf, json_pack("{s:O}", "events", res->json), 0);
    ft_buf_release(&b);
    return r;
}

static json_t *tool_history(struct ft_mcp *m, const struct tool *t, json_t *a, json_t *id,
                            void *req, json_t *progress)
{
    (void)t, (void)id, (void)req, (void)progress;
    static const char *const keys[] = {"kind", "since", "limit", NULL};
    json_t *args = op_args(m, a);
    copy_args(args, a, keys);
    return run_op(m, FT_OP_HISTORY, args, done_history);
}

static json_t *done_check(struct ft_result *res)
{
    struct ft_buf b;
    size_t i;
    json_t *f, *findings = json_object_get(res->json, "findings");
    ft_buf_init(&b, 0);
    json_array_foreach(findings, i, f)
    {
        ft_buf_addf(&b, "%s: %s\n", json_string_value(json_object_get(f, "rule")),
                    json_string_value(json_object_get(f, "message")));
    }
    if (!b.len)
        ft_buf_addf(&b, "%s: all checks pass\n",
                    json_string_value(json_object_get(res->json, "tracker")));
    json_t *r = mcp_result(b.buf, json_incref(res->json), 0);
    ft_buf_release(&b);
    return r;
}

static json_t *tool_check(struct ft_mcp *m, const struct tool *t, json_t *a, json_t *id, void *req,
                          json_t *progress)
{
    (void)t, (void)id, (void)req, (void)progress;
    json_t *args = op_args(m, a);
    json_t *dm = json_object_get(a, "doing_max_s");
    if (dm)
        json_object_set_new(args, "doing_max", json_integer(json_integer_value(dm) * 1000));
    return run_op(m, FT_OP_CHECK, args, done_check);
}

static json_t *tool_run(struct ft_mcp *m, const struct tool *t, json_t *a, json_t *id, void *req,
                        json_t *progress)
{
    (void)t;
    struct ft_err err;
    json_t *args = json_deep_copy(a);
    if (!json_object_get(args, "tracker") && m->tracker)
        json_object_set_new(args, "tracker", json_string(m->tracker));
    int rc = mcp_job_start(m, id, req, progress, args, &err);
    json_decref(args);
    return rc ? op_error(&err) : NULL; /* started: the job answers */
}

/* ---- the table ------------------------------------------------------------------------ */

static const struct param p_none[] = {END};
static const struct param p_read[] = {
    TRACKER,
    {"format", P_STR,
     "compact (default: objective, rules, open work, latest results), text, md, json",
     "compact|text|md|json", 0, 0, 0},
    END};
static const struct param p_create[] = {
    {"title", P_STR, "Title", 0, 1, 0, 0},
    {"slug", P_STR, "Short id (default: from the title)", 0, 0, 0, 0},
    {"objective", P_STR, "What done looks like", 0, 0, 0, 0},
    {"owner", P_STR, "Who owns it", 0, 0, 0, 0},
    END};
static const struct param p_update[] = {
    TRACKER,
    {"title", P_STR, "Title", 0, 0, 0, 0},
    {"objective", P_STR, "Objective", 0, 0, 0, 0},
    {"owner", P_STR, "Owner", 0, 0, 0, 0},
    {"status", P_STR, "waiting: only a person can unblock the work (an agent may stop)",
     "open|waiting|resolved", 0, 0, 0},
    {"repro_command", P_STR, "Reproduction command (shell)", 0, 0, 0, 0},
    {"repro_timeout_s", P_INT, "Its timeout, seconds", 0, 0, 1, 604800},
    {"repro_expect", P_STR, "Expected failure mode", 0, 0, 0, 0},
    {"fix_summary", P_STR, "Final fix: what changed", 0, 0, 0, 0},
    {"fix_why", P_STR, "Why it works", 0, 0, 0, 0},
    {"fix_evidence", P_STR, "Evidence (tests, logs)", 0, 0, 0, 0},
    END};
static const struct param p_add[] = {
    TRACKER,
    {"kind", P_STR, "hyp = hypothesis, item = progress item, result = results log", KINDS, 1, 0, 0},
    {"text", P_STR, "The text (a result's attempt; a step's 'TITLE: TEXT')", 0, 1, 0, 0},
    {"title", P_STR, "step: its title", 0, 0, 0, 0},
    {"state", P_STR, "item (default pending)", "pending|doing|done|dropped", 0, 0, 0},
    {"verdict", P_STR, "hyp (default open)", "open|ruled-out|confirmed", 0, 0, 0},
    {"evidence", P_STR, "hyp: what decided the verdict", 0, 0, 0, 0},
    {"outcome", P_STR, "result: its outcome", "pass|fail|hang|leak|crash|interrupted", 0, 0, 0},
    {"notes", P_STR, "result: notes", 0, 0, 0, 0},
    {"date", P_STR, "result: YYYY-MM-DD (default today)", 0, 0, 0, 0},
    END};
static const struct param p_entry_update[] = {
    TRACKER,
    {"kind", P_STR, "Entry kind", KINDS, 1, 0, 0},
    {"num", P_INT, "Entry number", 0, 1, 1, 1000000000},
    {"text", P_STR, "New text", 0, 0, 0, 0},
    {"title", P_STR, "step: title", 0, 0, 0, 0},
    {"state", P_STR, "item: new state", "pending|doing|done|dropped", 0, 0, 0},
    {"verdict", P_STR, "hyp: verdict", "open|ruled-out|confirmed", 0, 0, 0},
    {"evidence", P_STR, "hyp: evidence", 0, 0, 0, 0},
    {"outcome", P_STR, "result: outcome", "pass|fail|hang|leak|crash|interrupted", 0, 0, 0},
    {"notes", P_STR, "result: notes", 0, 0, 0, 0},
    {"date", P_STR, "result: YYYY-MM-DD", 0, 0, 0, 0},
    {"position", P_INT, "Move to this position (1 = first)", 0, 0, 1, 1000000000},
    {"remove", P_BOOL, "Remove the entry", 0, 0, 0, 0},
    END};
static const struct param p_claim[] = {
    TRACKER,
    {"num", P_INT, "Item number", 0, 1, 1, 1000000000},
    {"release", P_BOOL, "Give the item back (pending)", 0, 0, 0, 0},
    {"steal", P_BOOL, "Take over a claim older than stale_after_s", 0, 0, 0, 0},
    {"stale_after_s", P_INT, "Default 1800", 0, 0, 0, 31536000},
    {"force", P_BOOL, "release: even another's claim", 0, 0, 0, 0},
    END};
static const struct param p_history[] = {
    TRACKER,
    {"kind", P_STR, "Event kind prefix: item, hyp.update, run...", 0, 0, 0, 0},
    {"since", P_INT, "Only events after this number", 0, 0, 0, INT64_MAX / 2},
    {"limit", P_INT, "Only the newest N", 0, 0, 1, FT_HISTORY_PAGE},
    END};
static const struct param p_check[] = {
    TRACKER,
    {"doing_max_s", P_INT, "Longest time in progress, seconds (default 3 days)", 0, 0, 0, 31536000},
    END};
static const struct param p_run[] = {
    TRACKER,
    {"command", P_STR, "Shell command (default: the reproduction command)", 0, 0, 0, 0},
    {"timeout_s", P_INT, "Default: the tracker's, else 600", 0, 0, 1, 86400},
    {"label", P_STR, "The attempt's name in the results log", 0, 0, 0, 0},
    END};

static const struct tool tools[] = {
    {"tracker_list", "List trackers: slug, title, status, progress.", p_none, 1, tool_list},
    {"tracker_read", "Read a tracker (start here).", p_read, 1, tool_read},
    {"tracker_create", "Start a tracker.", p_create, 0, tool_create},
    {"tracker_update",
     "Change the header: objective, status, reproduction command, final fix (summary, why, "
     "evidence).",
     p_update, 0, tool_update},
    {"entry_add",
     "Add a ground rule, workflow step, progress item, symptom, hypothesis, result, follow-up or "
     "note.",
     p_add, 0, tool_add},
    {"entry_update",
     "Change, move or remove an entry: item state, hypothesis verdict and evidence, result "
     "outcome...",
     p_entry_update, 0, tool_entry_update},
    {"item_claim",
     "Claim a pending item for yourself (it moves to doing); of concurrent claimers exactly one "
     "wins, the others learn who holds it.",
     p_claim, 0, tool_claim},
    {"history", "The change log: who changed what, when.", p_history, 1, tool_history},
    {"check",
     "Check the ground rules a machine can: a run after each progress change, verdicts and "
     "evidence before the final fix, items stuck in progress.",
     p_check, 1, tool_check},
    {"run",
     "Run the reproducer under a timeout in its own session; record pass, fail, hang, leak or "
     "crash in the results log, with what was still held (processes, threads, pipes, sockets). "
     "Sends progress; cancellable.",
     p_run, 0, tool_run},
};
#define NTOOLS (sizeof(tools) / sizeof(tools[0]))

static json_t *schema_of(const struct param *p)
{
    json_t *props = json_object(), *req = json_array();
    for (; p->name; p++) {
        static const char *const types[] = {"string", "integer", "boolean"};
        json_t *s = json_pack("{s:s, s:s}", "type", types[p->type], "description", p->desc);
        if (p->choices) {
            json_t *e = json_array();
            for (const char *c = p->choices; *c;) {
                size_t n = strcspn(c, "|");
                json_array_append_new(e, json_stringn(c, n));
                c += n + (c[n] == '|');
            }
            json_object_set_new(s, "enum", e);
        }
        if (p->type == P_INT && p->max) {
            json_object_set_new(s, "minimum", json_integer(p->min));
            json_object_set_new(s, "maximum", json_integer(p->max));
        }
        json_object_set_new(props, p->name, s);
        if (p->required)
            json_array_append_new(req, json_string(p->name));
    }
    json_t *o = json_pack("{s:s, s:o, s:b}", "type", "object", "properties", props,
                          "additionalProperties", 0);
    if (json_array_size(req))
        json_object_set_new(o, "required", req);
    else
        json_decref(req);
    return o;
}

static json_t *tools_json;

json_t *mcp_tools_list(void)
{
    if (tools_json)
        return tools_json;
    json_t *list = json_array();
    for (size_t i = 0; i < NTOOLS; i++) {
        json_t *t = json_pack("{s:s, s:s, s:o}", "name", tools[i].name, "description",
                              tools[i].desc, "inputSchema", schema_of(tools[i].params));
        if (tools[i].read_only)
            json_object_set_new(t, "annotations", json_pack("{s:b}", "readOnlyHint", 1));
        json_array_append_new(list, t);
    }
    tools_json = json_pack("{s:o}", "tools", list);
    return tools_json;
}

const char *ft_mcp_tools_list_text(void)
{
    static char *text;
    if (!text)
        text = json_dumps(mcp_tools_list(), JSON_COMPACT);
    return text;
}

/* Why a (the arguments) does not fit tool t's schema, in msg; 0 when it fits. */
static int check_args(const struct tool *t, json_t *a, char *msg, size_t n)
{
    const char *key;
    json_t *v;
    json_object_foreach(a, key, v)
    {
        const struct param *p = t->params;
        while (p->name && strcmp(p->name, key) != 0)
            p++;
        if (!p->name) {
            snprintf(msg, n, "%s: unknown argument '%.60s'", t->name, key);
            return -1;
        }
        static const char *const types[] = {"a string", "an integer", "true or false"};
        int ok = p->type == P_STR   ? json_is_string(v)
                 : p->type == P_INT ? json_is_integer(v)
                                    : json_is_boolean(v);
        if (!ok) {
            snprintf(msg, n, "%s: '%s' must be %s", t->name, key, types[p->type]);
            return -1;
        }
        if (p->type == P_INT && p->max &&
            (json_integer_value(v) < p->min || json_integer_value(v) > p->max)) {
            snprintf(msg, n, "%s: '%s' must be from %lld to %lld", t->name, key, (long long)p->min,
                     (long long)p->max);
            return -1;
        }
        if (p->choices) {
            const char *s = json_string_value(v);
            size_t len = strlen(s);
            const char *c = p->choices;
            int found = 0;
            while (*c && !found) {
                size_t cn = strcspn(c, "|");
                found = cn == len && strncmp(c, s, len) == 0;
                c += cn + (c[cn] == '|');
            }
            if (!found) {
                snprintf(msg, n, "%s: '%s' must be one of %s", t->name, key, p->choices);
                return -1;
            }
        }
    }
    for (const struct param *p = t->params; p->name; p++)
        if (p->required && !json_object_get(a, p->name)) {
            snprintf(msg, n, "%s: '%s' is required", t->name, p->name);
            return -1;
        }
    return 0;
}

json_t *mcp_tool_call(struct ft_mcp *m, json_t *id, json_t *params, void *req, json_t **rpc_error)
{
    const char *name = json_string_value(json_object_get(params, "name"));
    json_t *a = json_object_get(params, "arguments");
    char msg[256];
    *rpc_error = NULL;
    if (!name) {
        *rpc_error = ft_mcp_error(id, FT_RPC_PARAMS, "tools/call needs the tool's 'name'");
        return NULL;
    }
    const struct tool *t = NULL;
    for (size_t i = 0; i < NTOOLS && !t; i++)
        if (strcmp(tools[i].name, name) == 0)
            t = &tools[i];
    if (!t) {
        *rpc_error = ft_mcp_error(id, FT_RPC_PARAMS, "no tool '%.100s'", name);
        return NULL;
    }
    if (a && !json_is_object(a)) {
        *rpc_error = ft_mcp_error(id, FT_RPC_PARAMS, "%s: 'arguments' must be an object", name);
        return NULL;
    }
    json_t *empty = a ? NULL : json_object();
    if (check_args(t, a ? a : empty, msg, sizeof(msg))) {
        json_decref(empty);
        *rpc_error = ft_mcp_error(id, FT_RPC_PARAMS, "%s", msg);
        return NULL;
    }
    json_t *progress = json_object_get(json_object_get(params, "_meta"), "progressToken");
    json_t *r = t->call(m, t, a ? a : empty, id, req, progress);
    json_decref(empty);
    return r;
}
