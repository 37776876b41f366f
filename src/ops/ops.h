/*
 * ops: every user-level action on trackers, one operation each, with one JSON
 * result contract (docs/api.md, "Operations").
 *
 * Front ends are thin adapters over this layer: the command line (src/cli/),
 * the REST API (src/server/rest.c) and, next, MCP. An operation takes its
 * arguments as one JSON object, the shape MCP tool calls and REST requests
 * already have, and gives one result. There are two implementations of the
 * same operations behind struct ft_ops:
 *  - ft_ops_local_new(): over a store (local.c), where every rule lives;
 *  - ft_ops_http_new(): over a running `flowtrack serve` (http.c), which
 *    sends each operation as the REST request of its wire row below and
 *    reads back the same result, so that a front end cannot tell them apart.
 *
 * The wire rows (ft_op_wire) are the one description of how an operation
 * travels over HTTP: the server's route table takes its methods and paths
 * from them and the HTTP implementation builds its requests from them.
 *
 * Errors: 0 or a negative enum ft_code with err filled (err->field names the
 * argument or field at fault). Not thread-safe: one ft_ops per thread.
 */
#ifndef FT_OPS_H
#define FT_OPS_H

#include "../core/import.h"
#include "../util/ft_buf.h"

#include <jansson.h>
#include <stdint.h>

struct ft_err;
struct ft_store;

/*
 * The operations. Arguments (a JSON object; absent = default):
 *   tracker   a tracker's slug or number; absent: the default tracker, else the only one
 *   kind      an entry kind, singular: rule, step, item, symptom, hyp, result, followup, note
 *   num       an entry's or a run's number
 *   fields    an object of header or entry fields (docs/api.md)
 *   actor     who a write is attributed to (else the implementation's default)
 *   if_version  a write happens only while the tracker is at this version (else 409)
 */
enum ft_op {
    FT_OP_TRACKER_LIST,   /* {} */
    FT_OP_TRACKER_CREATE, /* {fields} (title required) */
    FT_OP_TRACKER_IMPORT, /* {document, format: text|md|auto, slug} */
    FT_OP_TRACKER_SHOW,   /* {tracker, format: json|text|md|view}: JSON or a document */
    FT_OP_TRACKER_HEADER, /* {tracker}: the header fields and version (cheap at any size) */
    FT_OP_TRACKER_EDIT,   /* {tracker, fields} */
    FT_OP_TRACKER_DELETE, /* {tracker} */
    FT_OP_ENTRY_LIST,     /* {tracker, kind} */
    FT_OP_ENTRY_ADD,      /* {tracker, kind, fields} */
    FT_OP_ENTRY_SHOW,     /* {tracker, kind, num} */
    FT_OP_ENTRY_EDIT,     /* {tracker, kind, num, fields} */
    FT_OP_ENTRY_MOVE,     /* {tracker, kind, num, position} (1 = first) */
    FT_OP_ENTRY_REMOVE,   /* {tracker, kind, num} */
    FT_OP_RUN_LIST,       /* {tracker} */
    FT_OP_RUN_SHOW,       /* {tracker, num}: with its log and diagnosis */
    FT_OP_RUN_RECORD,     /* {tracker, fields: {run: {command, ...}, attempt, outcome, ...}} */
    FT_OP_HISTORY,        /* {tracker | all: true, kind: prefix, since, limit}: a page */
    FT_OP_CHECK,          /* {tracker, doing_max} */
    FT_OP_DEFAULT_GET,    /* {} */
    FT_OP_DEFAULT_SET,    /* {tracker: ref or null} */
    FT_OP_ITEM_CLAIM,     /* {tracker, num, steal, stale_after (ms)}: ft_store_item_claim */
    FT_OP_ITEM_RELEASE,   /* {tracker, num, force} */
    FT_OP__COUNT
};

/* How a request body carries an operation's arguments. */
enum ft_op_body {
    FT_BODY_NONE,
    FT_BODY_FIELDS,   /* the body is args.fields */
    FT_BODY_ARGS,     /* the body's keys are arguments */
    FT_BODY_DOCUMENT, /* the body is args.document, text or Markdown */
    FT_BODY_OPTIONS,  /* as FT_BODY_ARGS, and no body at all is {} */
};

/* The wire row of an operation: its REST request. */
struct ft_op_wire {
    const char *name;   /* "entry.add": logs, metrics, MCP */
    const char *method; /* "POST" */
    const char *path;   /* "/api/trackers/{tracker}/{kind}": {tracker}, {kind} (plural), {num} */
    const char *query;  /* arguments sent in the query string, comma-separated, or NULL */
    enum ft_op_body body;
    int write;   /* changes the store */
    int created; /* success is 201 Created */
};

extern const struct ft_op_wire ft_op_wires[FT_OP__COUNT];

/* Events one history call answers at most (oldest first): page on with `since`. */
#define FT_HISTORY_PAGE 10000

/* How old another actor's claim must be before --steal may take it over, by default. */
#define FT_CLAIM_STALE_MS (30 * 60 * 1000)

/* "~" in place of {tracker} asks the server to resolve the tracker as absent would. */
#define FT_TRACKER_RESOLVE "~"

/* The result of an operation: JSON, or a rendered document (show in text, md or view). */
struct ft_result {
    json_t *json;       /* owned; NULL for a document */
    struct ft_buf doc;  /* the document, when json is NULL */
    int64_t tracker_id; /* the tracker the operation resolved, when known (0: none or unknown) */
};

void ft_result_init(struct ft_result *r);
void ft_result_release(struct ft_result *r);

struct ft_ops;

/* The implementation behind struct ft_ops. */
struct ft_ops_impl {
    int (*call)(struct ft_ops *o, enum ft_op op, json_t *args, struct ft_result *res,
                struct ft_err *err);
    void (*free)(struct ft_ops *o);
};

struct ft_ops {
    const struct ft_ops_impl *impl;
};

/*
 * Run operation op with args (borrowed; NULL = {}). On success res (initialised by the call)
 * holds the result, which the caller releases; on error res holds nothing.
 */
int ft_ops_call(struct ft_ops *o, enum ft_op op, json_t *args, struct ft_result *res,
                struct ft_err *err);
/* NULL is allowed. */
void ft_ops_free(struct ft_ops *o);

/*
 * Operations over st (borrowed: it must outlive the ops). Writes are attributed to `actor`
 * unless the arguments name one.
 */
struct ft_ops *ft_ops_local_new(struct ft_store *st, const char *actor);

/*
 * The tracker a reference names, as every operation resolves it (NULL or "~": the default,
 * else the only one), without running one: for the server's caches and streams. local only.
 */
int ft_ops_local_resolve(struct ft_ops *local, const char *ref, int64_t *tid, struct ft_err *err);

/* Options of the HTTP implementation. */
struct ft_http_opts {
    const char *url;    /* http://HOST:PORT of a flowtrack server */
    const char *token;  /* sent as a bearer token, NULL: none */
    const char *actor;  /* who writes are attributed to */
    int64_t timeout_ms; /* bound of connecting, and of each exchange */
};

/* Operations over a server; fails (FT_EINVAL) only on a URL it cannot use. */
int ft_ops_http_new(const struct ft_http_opts *o, struct ft_ops **out, struct ft_err *err);

/* ---- helpers, shared by the implementations and the adapters ---- */

struct ft_event;
/*
 * An event as history answers it (and as ?envelope=1 streams it): seq, tracker, slug, at,
 * actor, kind, payload (a payload that is not JSON is kept as a string). New reference.
 */
json_t *ft_event_json(const struct ft_event *ev);

/* The name of op ("entry.add"), or NULL. */
const char *ft_op_name(enum ft_op op);
/* A string argument, or NULL when absent or null. */
const char *ft_arg_str(json_t *args, const char *key);
/*
 * An integer argument from a JSON integer or a decimal string (a query string value), in
 * [min, max]: 1 and *out set; 0 when absent; FT_EINVAL naming the key when it is not one.
 */
int ft_arg_int(json_t *args, const char *key, int64_t min, int64_t max, int64_t *out,
               struct ft_err *err);
/* The arguments of tracker.import besides the document: format (auto, text, md, json), mode
 * (auto, exact, tolerant) and strict (a warning refuses the import). 0 or FT_EINVAL. */
int ft_import_args(json_t *a, enum ft_import_fmt *fmt, enum ft_import_mode *mode, int *strict,
                   struct ft_err *err);
/* The warnings of an import as JSON: [{line, message}], line null when there is none. */
json_t *ft_import_warnings_json(const struct ft_import_report *rep);
/* A boolean argument: 1 and *out set; 0 when absent or null; FT_EINVAL naming the key when
 * it is not true or false (or, from a query string, "true" or "false"). */
int ft_arg_bool(json_t *args, const char *key, int *out, struct ft_err *err);
/* Entry kinds as REST paths name them: "items" <-> FT_K_ITEM. -1 / NULL when unknown. */
int ft_kind_from_plural(const char *s);
const char *ft_kind_plural(int kind);

/*
 * The store error of a failed call as an HTTP status and back: 400, 404, 409, 413, 503, 500;
 * and the reason a REST error body carries ("not_found"...) so that a client recovers the code.
 */
int ft_code_http_status(int code);
const char *ft_code_reason(int code);
int ft_code_from_reason(const char *reason, int status);

#endif
