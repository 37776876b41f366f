/*
 * A tracker from the JSON of `show --json` (contract in import_json.h). Parsed with
 * jansson; each field is checked for its type and value, and an error names its path
 * ("json: items[3].state: ..."). Keys the model has no place for are reported as
 * warnings, never silently skipped.
 */
#include "import_json.h"

#include "../util/ft_err.h"
#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/banned.h"

struct jr {
    struct ft_import_report *rep;
    struct ft_err *err;
    char path[96];
};

/* Set *slot from the string member key of o (null and absent: ""); FT_EINVAL otherwise. */
static int get_str(struct jr *r, json_t *o, const char *key, char **slot)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        ft_set_str(slot, "");
        return 0;
    }
    if (!json_is_string(v))
        return ft_err_set(r->err, FT_EINVAL, "json: %s%s: expected a string", r->path, key);
    ft_set_str(slot, json_string_value(v));
    return 0;
}

/* A name from a table (parse returns -1 when unknown); absent or null gives def. */
static int get_name(struct jr *r, json_t *o, const char *key, int (*parse)(const char *), int def,
                    const char *what, int *out)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    int x = json_is_string(v) ? parse(json_string_value(v)) : -1;
    if (x < 0)
        return ft_err_set(r->err, FT_EINVAL, "json: %s%s: expected %s", r->path, key, what);
    *out = x;
    return 0;
}

static int get_time(struct jr *r, json_t *o, const char *key, int64_t *ms)
{
    json_t *v = json_object_get(o, key);
    *ms = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || ft_time_parse_iso(json_string_value(v), ms) != 0)
        return ft_err_set(r->err, FT_EINVAL, "json: %s%s: expected an ISO-8601 time", r->path, key);
    return 0;
}

static void unknown_keys(struct jr *r, json_t *o, const char *const *known)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        int ok = 0;
        for (const char *const *q = known; *q && !ok; q++)
            ok = strcmp(*q, k) == 0;
        if (!ok)
            ft_import_warn(r->rep, 0, "json: %s%s is not part of a tracker; not imported", r->path,
                           k);
    }
}

static const char *const list_keys[FT_K__COUNT] = {
    "rules", "steps", "items", "symptoms", "hypotheses", "results", "followups", "notes",
};

static int read_entry(struct jr *r, json_t *o, enum ft_kind k, struct ft_tracker *t)
{
    static const char *const common[] = {"num", "kind", "created_at", "updated_at", NULL};
    static const char *const known[FT_K__COUNT][12] = {
        [FT_K_RULE] = {"text", NULL},
        [FT_K_STEP] = {"title", "text", NULL},
        [FT_K_ITEM] = {"text", "state", "state_at", "claimed_by", "claimed_at", "changes", NULL},
        [FT_K_SYMPTOM] = {"text", NULL},
        [FT_K_HYP] = {"text", "verdict", "evidence", NULL},
        [FT_K_RESULT] = {"date", "attempt", "outcome", "notes", "run", NULL},
        [FT_K_FOLLOWUP] = {"text", NULL},
        [FT_K_NOTE] = {"text", NULL},
    };
    if (!json_is_object(o))
        return ft_err_set(r->err, FT_EINVAL, "json: %s: expected an object", r->path);
    struct ft_entry *e = ft_tracker_add(t, k);
    json_t *num = json_object_get(o, "num");
    if (num && !json_is_null(num)) {
        /* 0: not numbered yet (an import --dry-run --json) */
        if (!json_is_integer(num) || json_integer_value(num) < 0 ||
            json_integer_value(num) > 1000000000)
            return ft_err_set(r->err, FT_EINVAL, "json: %snum: expected a whole number >= 0",
                              r->path);
        e->num = (int)json_integer_value(num);
    }
    const char *kv = json_string_value(json_object_get(o, "kind"));
    if (kv && strcmp(kv, ft_kind_name(k)) != 0)
        return ft_err_set(r->err, FT_EINVAL, "json: %skind: '%s' in the list of %s", r->path, kv,
                          list_keys[k]);
    int rc = 0;
    switch (k) {
    case FT_K_STEP:
        rc = get_str(r, o, "title", &e->title);
        if (!rc)
            rc = get_str(r, o, "text", &e->text);
        break;
    case FT_K_ITEM: {
        rc = get_str(r, o, "text", &e->text);
        if (!rc)
            rc = get_name(r, o, "state", ft_state_parse, FT_ST_PENDING,
                          "done, doing, pending or dropped", &e->state);
        json_t *cb = json_object_get(o, "claimed_by");
        if (!rc && cb && !json_is_null(cb)) {
            if (!json_is_string(cb) || !*json_string_value(cb))
                return ft_err_set(r->err, FT_EINVAL, "json: %sclaimed_by: expected a name",
                                  r->path);
            if (e->state != FT_ST_DOING)
                ft_import_warn(r->rep, 0,
                               "json: %sclaimed_by: only an item in progress is held; "
                               "the claim is not imported",
                               r->path);
            else
                e->claimed_by = ft_xstrdup(json_string_value(cb));
            if ((rc = get_time(r, o, "claimed_at", &e->claimed_at)))
                return rc;
        }
        json_t *ch = json_object_get(o, "changes");
        if (!rc && ch && !json_is_null(ch)) {
            if (!json_is_array(ch))
                return ft_err_set(r->err, FT_EINVAL, "json: %schanges: expected an array", r->path);
            e->changes = ft_xcalloc(json_array_size(ch) + 1, sizeof(*e->changes));
            size_t i;
            json_t *c;
            json_array_foreach(ch, i, c)
            {
                int st;
                int64_t at;
                if (!json_is_object(c) ||
                    get_name(r, c, "state", ft_state_parse, -1, "a state", &st) || st < 0 ||
                    get_time(r, c, "at", &at))
                    return ft_err_set(r->err, FT_EINVAL,
                                      "json: %schanges[%zu]: expected {state, at}", r->path, i);
                e->changes[e->nchanges].state = st;
                e->changes[e->nchanges++].at = at;
            }
        }
        break;
    }
    case FT_K_HYP:
        rc = get_str(r, o, "text", &e->text);
        if (!rc)
            rc = get_name(r, o, "verdict", ft_verdict_parse, FT_V_OPEN,
                          "open, ruled-out or confirmed", &e->state);
        if (!rc)
            rc = get_str(r, o, "evidence", &e->detail);
        break;
    case FT_K_RESULT: {
        rc = get_str(r, o, "attempt", &e->text);
        if (!rc)
            rc = get_str(r, o, "date", &e->date);
        if (!rc)
            rc = get_name(r, o, "outcome", ft_outcome_parse, FT_OUT_NONE,
                          "pass, fail, hang, leak, crash or interrupted", &e->state);
        if (!rc)
            rc = get_str(r, o, "notes", &e->detail);
        json_t *run = json_object_get(o, "run");
        if (!rc && run && !json_is_null(run))
            ft_import_warn(r->rep, 0,
                           "json: %srun: runs are not imported; the result keeps its outcome "
                           "without the link to run %lld",
                           r->path, (long long)json_integer_value(run));
        break;
    }
    default:
        rc = get_str(r, o, "text", &e->text);
        break;
    }
    if (rc)
        return rc;
    const char *known_all[20];
    size_t n = 0;
    for (const char *const *q = common; *q; q++)
        known_all[n++] = *q;
    for (const char *const *q = known[k]; *q; q++)
        known_all[n++] = *q;
    known_all[n] = NULL;
    unknown_keys(r, o, known_all);
    struct ft_err verr;
    ft_entry_norm(e);
    if (ft_entry_validate(e, &verr))
        return ft_err_set(r->err, FT_EINVAL, "json: %s: %s", r->path, verr.msg);
    return 0;
}

static int read_obj_fields(struct jr *r, json_t *root, const char *key, const char *const *names,
                           char **const *slots, size_t n)
{
    json_t *o = json_object_get(root, key);
    if (!o || json_is_null(o))
        return 0;
    if (!json_is_object(o))
        return ft_err_set(r->err, FT_EINVAL, "json: %s: expected an object", key);
    snprintf(r->path, sizeof(r->path), "%s.", key);
    for (size_t i = 0; i < n; i++)
        if (get_str(r, o, names[i], slots[i]))
            return FT_EINVAL;
    const char *known[8];
    for (size_t i = 0; i < n; i++)
        known[i] = names[i];
    known[n] = key[0] == 'r' ? "timeout_ms" : NULL;
    known[n + (key[0] == 'r')] = NULL;
    unknown_keys(r, o, known);
    r->path[0] = '\0';
    return 0;
}

static int read_tracker(struct jr *r, json_t *root, struct ft_tracker *t)
{
    static const char *const top[] = {
        "id",        "slug",      "org",          "title",         "started",  "owner",
        "objective", "status",    "created_at",   "updated_at",    "rules",    "steps",
        "items",     "progress",  "reproduction", "section_notes", "symptoms", "hypotheses",
        "results",   "final_fix", "followups",    "notes",         "runs",     NULL};
    int rc;
    if (!json_is_object(root))
        return ft_err_set(r->err, FT_EINVAL, "json: expected a tracker object");
    if (!json_is_string(json_object_get(root, "title")))
        return ft_err_set(r->err, FT_EINVAL, "json: title: a tracker needs a title (a string)");
    char **hdr[] = {&t->org, &t->title, &t->started, &t->owner, &t->objective};
    const char *hn[] = {"org", "title", "started", "owner", "objective"};
    for (size_t i = 0; i < 5; i++)
        if ((rc = get_str(r, root, hn[i], hdr[i])))
            return rc;
    if ((rc = get_name(r, root, "status", ft_status_parse, FT_STATUS_OPEN,
                       "open, waiting or resolved", &t->status)))
        return rc;
    const char *rn[] = {"command", "expected", "note"};
    char **const rs[] = {&t->repro_command, &t->repro_expect, &t->repro_note};
    if ((rc = read_obj_fields(r, root, "reproduction", rn, rs, 3)))
        return rc;
    json_t *to = json_object_get(json_object_get(root, "reproduction"), "timeout_ms");
    if (to && !json_is_null(to)) {
        if (!json_is_integer(to) || json_integer_value(to) < 0)
            return ft_err_set(r->err, FT_EINVAL,
                              "json: reproduction.timeout_ms: expected a whole number of ms");
        t->repro_timeout_ms = json_integer_value(to);
    }
    const char *sn[] = {"symptoms", "hypotheses", "results"};
    char **const ss[] = {&t->symptoms_note, &t->hyps_note, &t->results_note};
    if ((rc = read_obj_fields(r, root, "section_notes", sn, ss, 3)))
        return rc;
    const char *fn[] = {"summary", "why", "evidence"};
    char **const fs[] = {&t->fix_summary, &t->fix_why, &t->fix_evidence};
    if ((rc = read_obj_fields(r, root, "final_fix", fn, fs, 3)))
        return rc;
    for (int k = 0; k < FT_K__COUNT; k++) {
        json_t *a = json_object_get(root, list_keys[k]);
        if (!a || json_is_null(a))
            continue;
        if (!json_is_array(a))
            return ft_err_set(r->err, FT_EINVAL, "json: %s: expected an array", list_keys[k]);
        size_t i;
        json_t *o;
        json_array_foreach(a, i, o)
        {
            snprintf(r->path, sizeof(r->path), "%s[%zu].", list_keys[k], i);
            if ((rc = read_entry(r, o, (enum ft_kind)k, t)))
                return rc;
        }
        r->path[0] = '\0';
        /* numbers are kept when every entry of the kind has its own; else 1..n */
        struct ft_entry_list *l = &t->lists[k];
        int keep = 1;
        for (size_t x = 0; x < l->n && keep; x++) {
            keep = l->v[x].num > 0;
            for (size_t y = 0; y < x && keep; y++)
                keep = l->v[y].num != l->v[x].num;
        }
        int any = 0;
        for (size_t x = 0; x < l->n; x++)
            any |= l->v[x].num > 0;
        if (!keep && any)
            ft_import_warn(r->rep, 0, "json: %s: numbers missing or repeated; renumbered 1..%zu",
                           list_keys[k], l->n);
        for (size_t x = 0; !keep && x < l->n; x++)
            l->v[x].num = 0;
    }
    json_t *runs = json_object_get(root, "runs");
    if (json_is_array(runs) && json_array_size(runs))
        ft_import_warn(r->rep, 0,
                       "json: runs: %zu run%s not imported (the JSON holds no logs); the "
                       "results keep their outcomes",
                       json_array_size(runs), json_array_size(runs) == 1 ? " is" : "s are");
    unknown_keys(r, root, top);
    ft_tracker_norm(t); /* as the layouts read the header back (" title" is "title") */
    struct ft_err verr;
    if (ft_tracker_validate(t, &verr))
        return ft_err_set(r->err, FT_EINVAL, "json: %s", verr.msg);
    return 0;
}

int ft__import_json(const char *data, size_t len, struct ft_tracker **out,
                    struct ft_import_report *rep, struct ft_err *err)
{
    json_error_t je;
    *out = NULL;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return ft_err_set(err, FT_EINVAL, "line %d: not valid JSON: %s", je.line > 0 ? je.line : 1,
                          je.text);
    struct jr r = {rep, err, ""};
    struct ft_tracker *t = ft_tracker_new();
    int rc = read_tracker(&r, root, t);
    json_decref(root);
    if (rc) {
        ft_tracker_free(t);
        return rc;
    }
    *out = t;
    return 0;
}
