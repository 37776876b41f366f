/*
 * ops.c: what the implementations of the operations share: the wire rows,
 * results, arguments, and the mapping of error codes to HTTP and back.
 */
#include "ops.h"

#include "../core/import.h"
#include "../core/model.h"
#include "../core/render.h"
#include "../store/store.h"
#include "../util/ft_err.h"
#include "../util/ft_text.h"

#include <stdlib.h>
#include <string.h>

#include "../util/banned.h"

#define T "/api/trackers/{tracker}"

const struct ft_op_wire ft_op_wires[FT_OP__COUNT] = {
    [FT_OP_TRACKER_LIST] = {"tracker.list", "GET", "/api/trackers", NULL, FT_BODY_NONE, 0, 0},
    [FT_OP_TRACKER_CREATE] = {"tracker.create", "POST", "/api/trackers", NULL, FT_BODY_FIELDS, 1,
                              1},
    [FT_OP_TRACKER_IMPORT] = {"tracker.import", "POST", "/api/trackers", "slug,format,mode,strict",
                              FT_BODY_DOCUMENT, 1, 1},
    [FT_OP_TRACKER_SHOW] = {"tracker.show", "GET", T, "format", FT_BODY_NONE, 0, 0},
    [FT_OP_TRACKER_HEADER] = {"tracker.header", "GET", T "/header", NULL, FT_BODY_NONE, 0, 0},
    [FT_OP_TRACKER_EDIT] = {"tracker.edit", "PATCH", T, NULL, FT_BODY_FIELDS, 1, 0},
    [FT_OP_TRACKER_DELETE] = {"tracker.delete", "DELETE", T, NULL, FT_BODY_NONE, 1, 0},
    [FT_OP_ENTRY_LIST] = {"entry.list", "GET", T "/{kind}", NULL, FT_BODY_NONE, 0, 0},
    [FT_OP_ENTRY_ADD] = {"entry.add", "POST", T "/{kind}", NULL, FT_BODY_FIELDS, 1, 1},
    [FT_OP_ENTRY_SHOW] = {"entry.show", "GET", T "/{kind}/{num}", NULL, FT_BODY_NONE, 0, 0},
    [FT_OP_ENTRY_EDIT] = {"entry.edit", "PATCH", T "/{kind}/{num}", NULL, FT_BODY_FIELDS, 1, 0},
    [FT_OP_ENTRY_MOVE] = {"entry.move", "PATCH", T "/{kind}/{num}", NULL, FT_BODY_ARGS, 1, 0},
    [FT_OP_ENTRY_REMOVE] = {"entry.remove", "DELETE", T "/{kind}/{num}", NULL, FT_BODY_NONE, 1, 0},
    [FT_OP_RUN_LIST] = {"run.list", "GET", T "/runs", NULL, FT_BODY_NONE, 0, 0},
    [FT_OP_RUN_SHOW] = {"run.show", "GET", T "/runs/{num}", NULL, FT_BODY_NONE, 0, 0},
    [FT_OP_RUN_RECORD] = {"run.record", "POST", T "/results", NULL, FT_BODY_FIELDS, 1, 1},
    [FT_OP_HISTORY] = {"history", "GET", T "/history", "kind,since,limit", FT_BODY_NONE, 0, 0},
    [FT_OP_CHECK] = {"check", "GET", T "/check", "doing_max", FT_BODY_NONE, 0, 0},
    [FT_OP_DEFAULT_GET] = {"default.get", "GET", "/api/default", NULL, FT_BODY_NONE, 0, 0},
    [FT_OP_DEFAULT_SET] = {"default.set", "PUT", "/api/default", NULL, FT_BODY_ARGS, 1, 0},
    [FT_OP_ITEM_CLAIM] = {"item.claim", "POST", T "/items/{num}/claim", NULL, FT_BODY_OPTIONS, 1,
                          0},
    [FT_OP_ITEM_RELEASE] = {"item.release", "POST", T "/items/{num}/release", NULL, FT_BODY_OPTIONS,
                            1, 0},
};

#undef T

const char *ft_op_name(enum ft_op op)
{
    return (unsigned)op < FT_OP__COUNT ? ft_op_wires[op].name : NULL;
}

void ft_result_init(struct ft_result *r)
{
    r->json = NULL;
    ft_buf_init(&r->doc, 0);
    r->tracker_id = 0;
}

void ft_result_release(struct ft_result *r)
{
    if (!r)
        return;
    json_decref(r->json);
    r->json = NULL;
    ft_buf_release(&r->doc);
}

int ft_ops_call(struct ft_ops *o, enum ft_op op, json_t *args, struct ft_result *res,
                struct ft_err *err)
{
    ft_result_init(res);
    if ((unsigned)op >= FT_OP__COUNT)
        return ft_err_set(err, FT_EINVAL, "no operation %d", (int)op);
    json_t *empty = args ? NULL : json_object();
    int rc = o->impl->call(o, op, args ? args : empty, res, err);
    json_decref(empty);
    if (rc)
        ft_result_release(res);
    return rc;
}

void ft_ops_free(struct ft_ops *o)
{
    if (o)
        o->impl->free(o);
}

json_t *ft_event_json(const struct ft_event *ev)
{
    json_t *p = json_loads(ev->payload, 0, NULL);
    return json_pack("{s:I, s:I, s:s, s:o, s:s, s:s, s:o}", "seq", (json_int_t)ev->seq, "tracker",
                     (json_int_t)ev->tracker_id, "slug", ev->slug, "at", ft_json_time(ev->at),
                     "actor", ev->actor, "kind", ev->kind, "payload",
                     p ? p : json_string(ev->payload));
}

/* ---- arguments ------------------------------------------------------------------------ */

const char *ft_arg_str(json_t *args, const char *key)
{
    return json_string_value(json_object_get(args, key));
}

int ft_arg_int(json_t *args, const char *key, int64_t min, int64_t max, int64_t *out,
               struct ft_err *err)
{
    json_t *v = json_object_get(args, key);
    int64_t x = 0;
    int ok = 0;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_integer(v)) {
        x = json_integer_value(v);
        ok = 1;
    } else if (json_is_string(v)) {
        x = ft_parse_digits(json_string_value(v), 18, 0);
        ok = x >= 0;
    }
    if (!ok || x < min || x > max)
        return ft_err_field(err, FT_EINVAL, key, "'%s' must be a whole number from %lld to %lld",
                            key, (long long)min, (long long)max);
    *out = x;
    return 1;
}

int ft_arg_bool(json_t *args, const char *key, int *out, struct ft_err *err)
{
    json_t *v = json_object_get(args, key);
    const char *s = json_string_value(v);
    if (!v || json_is_null(v))
        return 0;
    if (json_is_boolean(v))
        *out = json_is_true(v);
    else if (s && (strcmp(s, "true") == 0 || strcmp(s, "false") == 0))
        *out = strcmp(s, "true") == 0;
    else
        return ft_err_field(err, FT_EINVAL, key, "'%s' must be true or false", key);
    return 1;
}

static const char *const plurals[FT_K__COUNT] = {
    [FT_K_RULE] = "rules",         [FT_K_STEP] = "steps",     [FT_K_ITEM] = "items",
    [FT_K_SYMPTOM] = "symptoms",   [FT_K_HYP] = "hypotheses", [FT_K_RESULT] = "results",
    [FT_K_FOLLOWUP] = "followups", [FT_K_NOTE] = "notes",
};

int ft_kind_from_plural(const char *s)
{
    for (int k = 0; k < FT_K__COUNT; k++)
        if (strcmp(plurals[k], s) == 0)
            return k;
    return -1;
}

const char *ft_kind_plural(int kind)
{
    return (unsigned)kind < FT_K__COUNT ? plurals[kind] : NULL;
}

/* ---- errors over HTTP ------------------------------------------------------------------- */

static const struct {
    int code;
    int status;
    const char *reason;
} codes[] = {
    {FT_EINVAL, 400, "invalid"},
    {FT_EAMBIGUOUS, 400, "ambiguous"},
    {FT_ENOTFOUND, 404, "not_found"},
    {FT_EEXIST, 409, "conflict"},
    {FT_ETOOBIG, 413, "too_big"},
    {FT_EBUSY, 503, "busy"},
    {FT_EIO, 500, "io"}, /* first of the 500s: what a bare 500 means */
    {FT_ENOSPC, 507, "storage_full"},
    {FT_EVERSION, 500, "store_version"},
    {FT_ENOMEM, 500, "no_memory"},
};

/* The row of code (an unknown code is an I/O error). */
static size_t code_row(int code)
{
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (codes[i].code == code)
            return i;
    return code_row(FT_EIO);
}

int ft_code_http_status(int code)
{
    return codes[code_row(code)].status;
}

const char *ft_code_reason(int code)
{
    return codes[code_row(code)].reason;
}

int ft_code_from_reason(const char *reason, int status)
{
    for (size_t i = 0; reason && i < sizeof(codes) / sizeof(codes[0]); i++)
        if (strcmp(codes[i].reason, reason) == 0)
            return codes[i].code;
    /* an answer of the HTTP layer itself, or of another server: by status */
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (codes[i].status == status)
            return codes[i].code;
    return FT_EIO;
}

/* The import arguments every implementation reads: format, mode and strict. */
int ft_import_args(json_t *a, enum ft_import_fmt *fmt, enum ft_import_mode *mode, int *strict,
                   struct ft_err *err)
{
    const char *fs = ft_arg_str(a, "format");
    const char *ms = ft_arg_str(a, "mode");
    int f = fs ? ft_import_fmt_parse(fs) : FT_IMPORT_AUTO;
    int m = ms ? ft_import_mode_parse(ms) : FT_IMPORT_FALLBACK;
    if (f < 0)
        return ft_err_field(err, FT_EINVAL, "format",
                            "format must be text, md, json or auto, not '%.40s'", fs);
    if (m < 0)
        return ft_err_field(err, FT_EINVAL, "mode",
                            "mode must be auto, exact or tolerant, not '%.40s'", ms);
    *fmt = (enum ft_import_fmt)f;
    *mode = (enum ft_import_mode)m;
    *strict = 0;
    return ft_arg_bool(a, "strict", strict, err) < 0 ? FT_EINVAL : 0;
}

/* The warnings of a read as JSON: [{line, message}] (line null when none). */
json_t *ft_import_warnings_json(const struct ft_import_report *rep)
{
    json_t *a = json_array();
    for (size_t i = 0; i < rep->n; i++)
        json_array_append_new(a,
                              json_pack("{s:o, s:s}", "line",
                                        rep->v[i].line ? json_integer(rep->v[i].line) : json_null(),
                                        "message", rep->v[i].msg));
    return a;
}
