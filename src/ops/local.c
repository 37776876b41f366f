/*
 * local.c: the operations over a store. This is where each user-level action
 * is written, once: the command line runs it on its store file, and the
 * server runs it for every REST request (and so for the command line talking
 * to a server, through http.c).
 *
 * Every write answers the same envelope (docs/api.md, "Results"):
 *   {"ok": true, "action": <event kind>, "seq": <its event>,
 *    "tracker": {"id", "slug"}, ...what the action is about}
 */
#include "ops.h"

#include "../core/check.h"
#include "../core/import.h"
#include "../core/patch.h"
#include "../core/render.h"
#include "../store/store.h"
#include "../util/ft_err.h"
#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/banned.h"

struct local {
    struct ft_ops ops;
    struct ft_store *st;
    char *actor;
};

/* ---- arguments ------------------------------------------------------------------------ */

/* Writes are attributed to the actor the arguments name, else the default. */
static void set_actor(struct local *l, json_t *a)
{
    const char *actor = ft_arg_str(a, "actor");
    ft_store_set_actor(l->st, actor && *actor ? actor : l->actor);
}

/* A write's precondition on the tracker's version (REST If-Match). */
static int set_if_version(struct local *l, json_t *a, struct ft_err *err)
{
    int64_t v = -1;
    int rc = ft_arg_int(a, "if_version", 0, INT64_MAX, &v, err);
    ft_store_expect_version(l->st, rc == 1 ? v : -1);
    return rc < 0 ? rc : 0;
}

/* The tracker ref names: explicit, else the store's default, else its only one. */
static int resolve_ref(struct local *l, const char *ref, int64_t *tid, struct ft_err *err)
{
    int rc, n = 0;
    char *def = NULL;
    if (ref && strcmp(ref, FT_TRACKER_RESOLVE) == 0)
        ref = NULL;
    if (ref)
        return ft_store_tracker_find(l->st, ref, tid, err);
    if ((rc = ft_store_setting_get(l->st, "default_tracker", &def, err)))
        return rc;
    if (def) {
        rc = ft_store_tracker_find(l->st, def, tid, err);
        if (rc == FT_ENOTFOUND)
            ft_err_set(err, rc,
                       "the default tracker '%s' no longer exists: pick one with 'flowtrack use'",
                       def);
        free(def);
        return rc;
    }
    if ((rc = ft_store_tracker_single(l->st, tid, &n, err)))
        return rc;
    if (n == 0)
        return ft_err_set(err, FT_ENOTFOUND,
                          "the store has no tracker yet: 'flowtrack create TITLE' or 'flowtrack "
                          "import FILE'");
    if (n > 1)
        return ft_err_field(err, FT_EAMBIGUOUS, "tracker",
                            "several trackers and no default: give -t SLUG, or set one with "
                            "'flowtrack use SLUG'");
    return 0;
}

/* The tracker the arguments name (see resolve_ref); the result remembers it. */
static int resolve(struct local *l, json_t *a, int64_t *tid, struct ft_result *res,
                   struct ft_err *err)
{
    int rc = resolve_ref(l, ft_arg_str(a, "tracker"), tid, err);
    if (!rc)
        res->tracker_id = *tid;
    return rc;
}

static int arg_kind(json_t *a, enum ft_kind *kind, struct ft_err *err)
{
    const char *s = ft_arg_str(a, "kind");
    int k = s ? ft_kind_parse(s) : -1;
    if (k < 0)
        return ft_err_field(err, FT_EINVAL, "kind",
                            "'kind' must be rule, step, item, symptom, hyp, result, followup or "
                            "note");
    *kind = (enum ft_kind)k;
    return 0;
}

static int arg_num(json_t *a, int *num, struct ft_err *err)
{
    int64_t n = 0;
    int rc = ft_arg_int(a, "num", 1, 999999999, &n, err);
    if (rc == 0)
        return ft_err_field(err, FT_EINVAL, "num", "'num' is required");
    *num = (int)n;
    return rc < 0 ? rc : 0;
}

/* The fields object of a write: present, an object, not empty. */
static int arg_fields(json_t *a, json_t **fields, struct ft_err *err)
{
    *fields = json_object_get(a, "fields");
    if (!json_is_object(*fields))
        return ft_err_field(err, FT_EINVAL, "body", "expected a JSON object of fields");
    if (json_object_size(*fields) == 0)
        return ft_err_field(err, FT_EINVAL, "body", "nothing to change");
    return 0;
}

/* ---- results -------------------------------------------------------------------------- */

/* The envelope of a write on tracker tid whose slug is now slug. */
static json_t *envelope(struct local *l, const char *action, int64_t tid, const char *slug)
{
    return json_pack("{s:b, s:s, s:I, s:{s:I, s:s}}", "ok", 1, "action", action, "seq",
                     (json_int_t)ft_store_last_write(l->st), "tracker", "id", (json_int_t)tid,
                     "slug", slug);
}

/* The envelope of the write just made on tracker tid (its slug as the write left it). */
static int envelope_of(struct local *l, const char *action, int64_t tid, json_t **out,
                       struct ft_err *err)
{
    (void)err;
    *out = envelope(l, action, tid, ft_store_last_write_slug(l->st));
    return 0;
}

/* The envelope of an entry write: kind, num and the entry as it now is. */
static int entry_envelope(struct local *l, const char *verb, int64_t tid, const struct ft_entry *e,
                          struct ft_result *res, struct ft_err *err)
{
    char action[32];
    snprintf(action, sizeof(action), "%s.%s", ft_kind_name(e->kind), verb);
    int rc = envelope_of(l, action, tid, &res->json, err);
    if (!rc) {
        json_object_set_new(res->json, "kind", json_string(ft_kind_name(e->kind)));
        json_object_set_new(res->json, "num", json_integer(e->num));
        json_object_set_new(res->json, "entry", ft_entry_to_json(e));
    }
    return rc;
}

/* A tracker's envelope also carries its title. */
static void tracker_envelope(struct local *l, const char *action, const struct ft_tracker *t,
                             struct ft_result *res)
{
    res->json = envelope(l, action, t->id, t->slug);
    json_object_set_new(json_object_get(res->json, "tracker"), "title", json_string(t->title));
    res->tracker_id = t->id;
}

/* ---- trackers ------------------------------------------------------------------------- */

static int tracker_list(struct local *l, json_t *a, struct ft_result *res, struct ft_err *err)
{
    char *def = NULL;
    size_t i;
    json_t *o;
    (void)a;
    int rc = ft_store_tracker_list(l->st, &res->json, err);
    if (!rc)
        rc = ft_store_setting_get(l->st, "default_tracker", &def, err);
    if (rc)
        return rc;
    json_array_foreach(res->json, i, o)
    {
        const char *slug = json_string_value(json_object_get(o, "slug"));
        char id[24];
        snprintf(id, sizeof(id), "%lld", (long long)json_integer_value(json_object_get(o, "id")));
        int is_def = def && (strcmp(def, slug) == 0 || strcmp(def, id) == 0);
        json_object_set_new(o, "default", json_boolean(is_def));
    }
    free(def);
    return 0;
}

static int tracker_create(struct local *l, json_t *a, struct ft_result *res, struct ft_err *err)
{
    json_t *fields = json_object_get(a, "fields");
    if (!json_is_object(fields))
        return ft_err_field(err, FT_EINVAL, "body", "expected a JSON object of fields");
    json_t *title = json_object_get(fields, "title");
    if (!json_is_string(title) || !*json_string_value(title))
        return ft_err_field(err, FT_EINVAL, "title",
                            "field 'title' is required and must be a non-empty string");
    struct ft_tracker *t = ft_tracker_new();
    if (!json_object_get(fields, "started")) {
        char today[16];
        ft_time_date(ft_now_ms(), today, sizeof(today));
        ft_set_str(&t->started, today);
    }
    set_actor(l, a);
    int rc = ft_tracker_patch(t, fields, NULL, err);
    if (!rc)
        rc = ft_store_tracker_create(l->st, t, "tracker.create", err);
    if (!rc)
        tracker_envelope(l, "tracker.create", t, res);
    ft_tracker_free(t);
    return rc;
}

static int tracker_import(struct local *l, json_t *a, struct ft_result *res, struct ft_err *err)
{
    json_t *doc = json_object_get(a, "document");
    const char *slug = ft_arg_str(a, "slug");
    enum ft_import_fmt fmt;
    enum ft_import_mode mode;
    int strict;
    struct ft_tracker *t = NULL;
    struct ft_import_report rep;
    if (!json_is_string(doc))
        return ft_err_field(err, FT_EINVAL, "document", "no document to import");
    int rc = ft_import_args(a, &fmt, &mode, &strict, err);
    if (rc)
        return rc;
    rc = ft_import_read(json_string_value(doc), json_string_length(doc), fmt, mode, &t, &rep, err);
    if (!rc && strict && rep.n)
        rc = ft_err_field(err, FT_EINVAL, "document",
                          "%s%d: %s (%zu place%s could not be placed; strict: nothing written)",
                          rep.v[0].line ? "line " : "", rep.v[0].line, rep.v[0].msg, rep.n,
                          rep.n == 1 ? "" : "s");
    if (rc) {
        ft_tracker_free(t);
        ft_import_report_release(&rep);
        return rc;
    }
    if (slug)
        ft_set_str(&t->slug, slug);
    set_actor(l, a);
    rc = ft_store_tracker_create(l->st, t, "tracker.import", err);
    if (!rc) {
        tracker_envelope(l, "tracker.import", t, res);
        json_object_set_new(res->json, "reader",
                            json_string(rep.fmt == FT_IMPORT_JSON ? "json"
                                        : rep.tolerant            ? "tolerant"
                                                                  : "exact"));
        json_object_set_new(res->json, "warnings", ft_import_warnings_json(&rep));
    }
    ft_tracker_free(t);
    ft_import_report_release(&rep);
    return rc;
}

static int tracker_show(struct local *l, json_t *a, struct ft_result *res, struct ft_err *err)
{
    const char *fs = ft_arg_str(a, "format");
    int fmt = fs ? ft_format_parse(fs) : FT_FMT_JSON;
    int64_t tid = 0;
    struct ft_tracker *t = NULL;
    if (fmt < 0)
        return ft_err_field(err, FT_EINVAL, "format",
                            "'format' must be json, md, text, view or compact, not '%.40s'", fs);
    int rc = resolve(l, a, &tid, res, err);
    /* item state changes, entries' ids and times appear only in JSON */
    if (!rc)
        rc = ft_store_tracker_load_ex(
            l->st, tid, FT_LOAD_VIEW | (fmt == FT_FMT_JSON ? FT_LOAD_CHANGES : FT_LOAD_LAYOUT), &t,
            err);
    if (rc)
        return rc;
    if (fmt == FT_FMT_JSON)
        res->json = ft_tracker_to_json(t);
    else
        ft_render(t, (enum ft_format)fmt, &res->doc);
    ft_tracker_free(t);
    return 0;
}

static int tracker_header(struct local *l, json_t *a, struct ft_result *res, struct ft_err *err)
{
    static const char *const lists[] = {"rules",    "steps",      "items",   "progress",
                                        "symptoms", "hypotheses", "results", "followups",
                                        "notes",    "runs"};
    int64_t tid = 0;
    struct ft_tracker *t = NULL;
    int rc = resolve(l, a, &tid, res, err);
    if (!rc)
        rc = ft_store_tracker_header(l->st, tid, &t, err);
    if (rc)
        return rc;
    int64_t version = 0;
    rc = ft_store_tracker_version(l->st, tid, &version, err);
    if (rc) {
        ft_tracker_free(t);
        return rc;
    }
    res->json = ft_tracker_to_json(t);
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
        json_object_del(res->json, lists[i]);
    /* the version a write's if_version names (REST: the ETag), so that a client can tell
     * whether the tracker moved without reading it */
    json_object_set_new(res->json, "version", json_integer(version));
    ft_tracker_free(t);
    return 0;
}

static int tracker_edit(struct local *l, json_t *a, struct ft_result *res, struct ft_err *err)
{
    json_t *fields;
    int64_t tid = 0;
    int rc = arg_fields(a, &fields, err);
    if (!rc)
        rc = resolve(l, a, &tid, res, err);
    if (!rc)
        rc = set_if_version(l, a, err);
    if (rc)
        return rc;
    set_actor(l, a);
    struct ft_tracker *t = NULL;
    rc = ft_store_tracker_update(l->st, tid, fields, err);
    if (!rc)
        rc = ft_store_tracker_header(l->st, tid, &t, err);
    if (!rc) {
        tracker_envelope(l, "tracker.update", t, res);
        json_object_set(res->json, "changed", fields);
    }
    ft_tracker_free(t);
    return rc;
}

static int tracker_delete(struct local *l, json_t *a, struct ft_result *res, struct ft_err *err)
{
    int64_t tid = 0;
    struct ft_tracker *t = NULL;
    int rc = resolve(l, a, &tid, res, err);
    if (!rc)
        rc = set_if_version(l, a, err);
    if (!rc)
        rc = ft_store_tracker_header(l->st, tid, &t, err);
    if (!rc) {
        set_actor(l, a);
        rc = ft_store_tracker_delete(l->st, tid, err);
    }
    if (!rc)
        tracker_envelope(l, "tracker.delete", t, res);
    ft_tracker_free(t);
    return rc;
}

/* ---- entries -------------------------------------------------------------------------- */

/* What an entry operation is about: the tracker, the entry kind, and the entry's number. */
struct target {
    int64_t tid;
    enum ft_kind kind;
    int num;
};

/* How an entry operation names its target, and whether it writes. */
enum { T_KIND = 0, T_NUM = 1, T_WRITE = 2 };

/*
 * The target the arguments name (with T_NUM, an entry's number too); for a write (T_WRITE),
 * also its version precondition and its actor.
 */
static int entry_target(struct local *l, json_t *a, int how, struct target *t,
                        struct ft_result *res, struct ft_err *err)
{
    memset(t, 0, sizeof(*t));
    int rc = arg_kind(a, &t->kind, err);
    if (!rc && (how & T_NUM))
        rc = arg_num(a, &t->num, err);
    if (!rc)
        rc = resolve(l, a, &t->tid, res, err);
    if (!rc && (how & T_WRITE)) {
        rc = set_if_version(l, a, err);
        set_actor(l, a);
    }
    return rc;
}

static int entry_list(struct local *l, json_t *a, struct ft_result *res, struct ft_err *err)
{
    struct target t;
    struct ft_tracker *tr = NULL;
    int rc = entry_target(l, a, T_KIND, &t, res, err);
    if (!rc)
        rc = ft_store_tracker_load(l->st, t.tid, &tr, err);
    if (rc)
        return rc;
    res->json = json_array();
    const struct ft_entry_list *list = &tr->lists[t.kind];
    for (size_t i = 0; i < list->n; i++)
        json_array_append_new(res->json, ft_entry_to_json(&list->v[i]));
    ft_tracker_free(tr);
    return 0;
}

static int entry_add(struct local *l, json_t *a, struct ft_result *res, struct ft_err *err)
{
    struct target t;
    struct ft_entry e;
    json_t *fields;
    int rc = arg_fields(a, &fields, err);
    if (rc || (rc = entry_target(l, a, T_KIND | T_WRITE, &t, res, err)))
        return rc;
    ft_entry_init(&e, t.kind, ft_now_ms()); /* a "date" field replaces today's date */
    rc = ft_entry_patch(&e, fields, err);
    if (!rc)
        rc = ft_store_entry_add(l->st, t.tid, &e, err);
    if (!rc)
        rc = entry_envelope(l, "add", t.tid, &e, res, err);
    ft_entry_release(&e);
    return rc;
}

static int entry_show(struct local *l, json_t *a, struct ft_result *res, struct ft_err *err)
{
    struct target t;
    struct ft_entry e;
    int rc = entry_target(l, a, T_NUM, &t, res, err);
    if (rc || (rc = ft_store_entry_get(l->st, t.tid, t.kind, t.num, &e, err)))
        return rc;
    res->json = ft_entry_to_json(&e);
    ft_entry_release(&e);
    return 0;
}

static int entry_edit(struct local *l, json_t *a, struct ft_result *res, struct ft_err *err)
{
    struct target t;
    struct ft_entry e;
    json_t *fields;
    int rc = arg_fields(a, &fields, err);
    if (rc || (rc = entry_target(l, a, T_NUM | T_WRITE, &t, res, err)) ||
        (rc = ft_store_entry_update(l->st, t.tid, t.kind, t.num, fields, &e, err)))
        return rc;
    rc = entry_envelope(l, "update", t.tid, &e, res, err);
    ft_entry_release(&e);
    return rc;
}

static int entry_move(struct local *l, json_t *a, struct ft_result *res, struct ft_err *err)
{
    struct target t;
    struct ft_entry e;
    int64_t pos = 0;
    int rc = ft_arg_int(a, "position", 1, 1000000000, &pos, err);
    if (rc == 0)
        rc = ft_err_field(err, FT_EINVAL, "position",
                          "field 'position' must be a positive integer (1 = first)");
    if (rc < 0 || (rc = entry_target(l, a, T_NUM | T_WRITE, &t, res, err)) ||
        (rc = ft_store_entry_move(l->st, t.tid, t.kind, t.num, (int)pos, err)) ||
        (rc = ft_store_entry_get(l->st, t.tid, t.kind, t.num, &e, err)))
        return rc;
    rc = entry_envelope(l, "move", t.tid, &e, res, err);
    if (!rc)
        json_object_set_new(res->json, "position", json_integer(pos));
    ft_entry_release(&e);
    return rc;
}

static int entry_remove(struct local *l, json_t *a, struct ft_result *res, struct ft_err *err)
{
    struct target t;
    struct ft_entry e;
    int rc = entry_target(l, a, T_NUM | T_WRITE, &t, res, err);
    if (rc || (rc = ft_store_entry_get(l->st, t.tid, t.kind, t.num, &e, err)))
        return rc;
    rc = ft_store_entry_remove(l->st, t.tid, t.kind, t.num, err);
    if (!rc)
        rc = entry_envelope(l, "remove", t.tid, &e, res, err);
    ft_entry_release(&e);
    return rc;
}

/* item.claim and item.release: the item becomes (or stops being) the actor's work. */
static int item_claim(struct local *l, json_t *a, struct ft_result *res, struct ft_err *err,
                      int release)
{
    struct target t;
    struct ft_entry e;
    int flag = 0, rc;
    int64_t stale = FT_CLAIM_STALE_MS;
    char *prev = NULL;
    if ((rc = ft_arg_bool(a, release ? "force" : "steal", &flag, err)) < 0 ||
        (!release && (rc = ft_arg_int(a, "stale_after", 0, INT64_MAX / 4, &stale, err)) < 0))
        return rc;
    json_t *args = json_deep_copy(a);
    json_object_set_new(args, "kind", json_string("item"));
    rc = entry_target(l, args, T_NUM | T_WRITE, &t, res, err);
    json_decref(args);
    enum ft_claim_how how = release ? (flag ? FT_CLAIM_RELEASE_FORCE : FT_CLAIM_RELEASE)
                                    : (flag ? FT_CLAIM_STEAL : FT_CLAIM);
    if (rc || (rc = ft_store_item_claim(l->st, t.tid, t.num, how, stale, &e, &prev, err)))
        return rc;
    rc = entry_envelope(l, release ? "release" : "claim", t.tid, &e, res, err);
    if (!rc && prev)
        json_object_set_new(res->json, release ? "released_from" : "stolen_from",
                            json_string(prev));
    free(prev);
    ft_entry_release(&e);
    return rc;
}

static int item_claim_op(struct local *l, json_t *a, struct ft_result *res, struct ft_err *err)
{
    return item_claim(l, a, res, err, 0);
}

static int item_release_op(struct local *l, json_t *a, struct ft_result *res, struct ft_err *err)
{
    return item_claim(l, a, res, err, 1);
}

/* ---- runs ----------------------------------------------------------------------------- */

static int run_list(struct local *l, json_t *a, struct ft_result *res, struct ft_err *err)
{
    int64_t tid = 0;
    struct ft_tracker *t = NULL;
    int rc = resolve(l, a, &tid, res, err);
    if (!rc)
        rc = ft_store_tracker_load_ex(l->st, tid, 0, &t, err);
    if (rc)
        return rc;
    res->json = json_array();
    for (size_t i = 0; i < t->nruns; i++)
        json_array_append_new(res->json, ft_run_to_json(&t->runs[i], 0));
    ft_tracker_free(t);
    return 0;
}

static int run_show(struct local *l, json_t *a, struct ft_result *res, struct ft_err *err)
{
    int64_t tid = 0;
    int num = 0;
    struct ft_run r;
    int rc = arg_num(a, &num, err);
    if (!rc)
        rc = resolve(l, a, &tid, res, err);
    if (!rc)
        rc = ft_store_run_get(l->st, tid, num, &r, err);
    if (rc)
        return rc;
    res->json = ft_run_to_json(&r, 1);
    ft_run_release(&r);
    return 0;
}

/*
 * A run and the results-log entry it produced, in one event: fields holds the entry's fields
 * (attempt, outcome, notes, date) and `run`, the run as the runner saw it.
 */
static int run_record(struct local *l, json_t *a, struct ft_result *res, struct ft_err *err)
{
    json_t *fields = json_object_get(a, "fields");
    json_t *body = json_object_get(fields, "run");
    struct ft_run r;
    struct ft_entry e;
    int64_t tid = 0;
    if (!json_is_object(body))
        return ft_err_field(err, FT_EINVAL, "run", "field 'run' must be an object of run fields");
    memset(&r, 0, sizeof(r));
    r.command = ft_xstrdup("");
    r.cwd = ft_xstrdup("");
    r.label = ft_xstrdup("");
    r.log = ft_xstrdup("");
    r.diagnosis = ft_xstrdup("");
    r.exit_code = -1;
    ft_entry_init(&e, FT_K_RESULT, ft_now_ms());
    json_t *result = json_deep_copy(fields);
    json_object_del(result, "run");
    int with_result = json_object_size(result) > 0;
    int rc = ft_run_patch(&r, body, err);
    if (!rc && !*r.command)
        rc = ft_err_field(err, FT_EINVAL, "command", "field 'command' is required");
    if (!rc && !r.outcome)
        rc = ft_err_field(err, FT_EINVAL, "outcome", "field 'outcome' is required");
    if (!rc && with_result)
        rc = ft_entry_patch(&e, result, err);
    json_decref(result);
    if (!rc)
        rc = resolve(l, a, &tid, res, err);
    if (!rc) {
        set_actor(l, a);
        rc = ft_store_run_record(l->st, tid, &r, with_result ? &e : NULL, err);
    }
    if (!rc)
        rc = envelope_of(l, "run.record", tid, &res->json, err);
    if (!rc) {
        json_object_set_new(res->json, "run", ft_run_to_json(&r, 0));
        if (with_result) {
            json_object_set_new(res->json, "kind", json_string("result"));
            json_object_set_new(res->json, "num", json_integer(e.num));
            json_object_set_new(res->json, "entry", ft_entry_to_json(&e));
        }
    }
    ft_run_release(&r);
    ft_entry_release(&e);
    return rc;
}

/* ---- history, check, default ------------------------------------------------------------ */

static int seq_cb(const struct ft_event *ev, void *u)
{
    *(int64_t *)u = ev->seq;
    return 0;
}

static int event_cb(const struct ft_event *ev, void *u)
{
    json_t *p = json_loads(ev->payload, 0, NULL);
    json_array_append_new(u, json_pack("{s:I, s:I, s:s, s:o, s:s, s:s, s:o}", "seq",
                                       (json_int_t)ev->seq, "tracker", (json_int_t)ev->tracker_id,
                                       "slug", ev->slug, "at", ft_json_time(ev->at), "actor",
                                       ev->actor, "kind", ev->kind, "payload",
                                       p ? p : json_string(ev->payload)));
    return 0;
}

/*
 * Events after `since`, oldest first, at most FT_HISTORY_PAGE; with `limit`, only the newest
 * `limit` of them. Of one tracker, or of all with `all`; `kind` keeps a kind prefix.
 */
static int history(struct local *l, json_t *a, struct ft_result *res, struct ft_err *err)
{
    int64_t since = 0, limit = 0, tid = 0;
    int rc;
    if ((rc = ft_arg_int(a, "since", 0, INT64_MAX / 2, &since, err)) < 0 ||
        (rc = ft_arg_int(a, "limit", 0, FT_HISTORY_PAGE, &limit, err)) < 0)
        return rc;
    if (!json_is_true(json_object_get(a, "all")) && (rc = resolve(l, a, &tid, res, err)))
        return rc;
    const char *kind = ft_arg_str(a, "kind");
    int64_t after = since, oldest = 0;
    if (limit > 0) {
        rc = ft_store_events(l->st, tid, kind, after, (int)limit, 1, seq_cb, &oldest, err);
        if (rc)
            return rc;
        if (oldest)
            after = oldest - 1;
    }
    res->json = json_array();
    return ft_store_events(l->st, tid, kind, after, limit > 0 ? (int)limit : FT_HISTORY_PAGE, 0,
                           event_cb, res->json, err);
}

static int check(struct local *l, json_t *a, struct ft_result *res, struct ft_err *err)
{
    struct ft_check_opts o = {ft_now_ms(), FT_CHECK_DOING_MAX_DEFAULT};
    json_t *dm = json_object_get(a, "doing_max");
    struct ft_tracker *t = NULL;
    int64_t tid = 0;
    if (json_is_integer(dm) && json_integer_value(dm) >= 0)
        o.doing_max_ms = json_integer_value(dm);
    else if (dm &&
             (!json_is_string(dm) || ft_duration_parse(json_string_value(dm), &o.doing_max_ms)))
        return ft_err_field(err, FT_EINVAL, "doing_max",
                            "'doing_max' must be a duration (30s, 5m, 3d), not '%.40s'",
                            json_is_string(dm) ? json_string_value(dm) : "?");
    int rc = resolve(l, a, &tid, res, err);
    if (!rc)
        rc = ft_store_tracker_load(l->st, tid, &t, err);
    if (rc)
        return rc;
    json_t *findings = ft_check(t, &o);
    res->json = json_pack("{s:s, s:b, s:o}", "tracker", t->slug, "ok",
                          json_array_size(findings) == 0, "findings", findings);
    ft_tracker_free(t);
    return 0;
}

static int default_get(struct local *l, json_t *a, struct ft_result *res, struct ft_err *err)
{
    char *def = NULL;
    (void)a;
    int rc = ft_store_setting_get(l->st, "default_tracker", &def, err);
    if (!rc)
        res->json = json_pack("{s:s?}", "default", def);
    free(def);
    return rc;
}

static int default_set(struct local *l, json_t *a, struct ft_result *res, struct ft_err *err)
{
    json_t *ref = json_object_get(a, "tracker");
    struct ft_tracker *t = NULL;
    int64_t tid = 0;
    int rc;
    if (json_is_null(ref)) {
        if ((rc = ft_store_setting_set(l->st, "default_tracker", NULL, err)))
            return rc;
        res->json = json_pack("{s:b, s:s, s:n}", "ok", 1, "action", "default.clear", "default");
        return 0;
    }
    if (!json_is_string(ref) || !*json_string_value(ref))
        return ft_err_field(err, FT_EINVAL, "tracker",
                            "field 'tracker' must be a tracker's slug or number, or null");
    if ((rc = resolve(l, a, &tid, res, err)) || (rc = ft_store_tracker_header(l->st, tid, &t, err)))
        return rc;
    rc = ft_store_setting_set(l->st, "default_tracker", t->slug, err);
    if (!rc)
        res->json =
            json_pack("{s:b, s:s, s:s, s:{s:I, s:s}}", "ok", 1, "action", "default.set", "default",
                      t->slug, "tracker", "id", (json_int_t)t->id, "slug", t->slug);
    ft_tracker_free(t);
    return rc;
}

/* ---- the table ------------------------------------------------------------------------ */

typedef int (*local_fn)(struct local *l, json_t *a, struct ft_result *res, struct ft_err *err);

static const local_fn local_ops[FT_OP__COUNT] = {
    [FT_OP_TRACKER_LIST] = tracker_list,
    [FT_OP_TRACKER_CREATE] = tracker_create,
    [FT_OP_TRACKER_IMPORT] = tracker_import,
    [FT_OP_TRACKER_SHOW] = tracker_show,
    [FT_OP_TRACKER_HEADER] = tracker_header,
    [FT_OP_TRACKER_EDIT] = tracker_edit,
    [FT_OP_TRACKER_DELETE] = tracker_delete,
    [FT_OP_ENTRY_LIST] = entry_list,
    [FT_OP_ENTRY_ADD] = entry_add,
    [FT_OP_ENTRY_SHOW] = entry_show,
    [FT_OP_ENTRY_EDIT] = entry_edit,
    [FT_OP_ENTRY_MOVE] = entry_move,
    [FT_OP_ENTRY_REMOVE] = entry_remove,
    [FT_OP_RUN_LIST] = run_list,
    [FT_OP_RUN_SHOW] = run_show,
    [FT_OP_RUN_RECORD] = run_record,
    [FT_OP_HISTORY] = history,
    [FT_OP_CHECK] = check,
    [FT_OP_DEFAULT_GET] = default_get,
    [FT_OP_DEFAULT_SET] = default_set,
    [FT_OP_ITEM_CLAIM] = item_claim_op,
    [FT_OP_ITEM_RELEASE] = item_release_op,
};

static int local_call(struct ft_ops *o, enum ft_op op, json_t *args, struct ft_result *res,
                      struct ft_err *err)
{
    struct local *l = (struct local *)o;
    int rc = local_ops[op](l, args, res, err);
    ft_store_expect_version(l->st, -1); /* a precondition never outlives its call */
    return rc;
}

static void local_free(struct ft_ops *o)
{
    struct local *l = (struct local *)o;
    free(l->actor);
    free(l);
}

static const struct ft_ops_impl local_impl = {local_call, local_free};

int ft_ops_local_resolve(struct ft_ops *o, const char *ref, int64_t *tid, struct ft_err *err)
{
    if (o->impl != &local_impl)
        return ft_err_set(err, FT_EINVAL, "not operations over a store");
    return resolve_ref((struct local *)o, ref, tid, err);
}

struct ft_ops *ft_ops_local_new(struct ft_store *st, const char *actor)
{
    struct local *l = ft_xcalloc(1, sizeof(*l));
    l->ops.impl = &local_impl;
    l->st = st;
    l->actor = ft_xstrdup(actor && *actor ? actor : "unknown");
    return &l->ops;
}
