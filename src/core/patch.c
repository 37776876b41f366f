/* Field-by-field changes to a tracker or an entry, from a JSON object (CLI and API alike). */
#include "patch.h"

#include "../util/ft_err.h"
#include "../util/ft_text.h"
#include "../util/ft_time.h"
#include "render.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../util/banned.h"

enum hf_type { HF_TEXT, HF_LINE, HF_DATE, HF_SLUG, HF_STATUS, HF_MS };

static const struct header_field {
    const char *name;
    enum hf_type type;
    size_t off;
} header_fields[] = {
    {"slug", HF_SLUG, offsetof(struct ft_tracker, slug)},
    {"org", HF_LINE, offsetof(struct ft_tracker, org)},
    {"title", HF_LINE, offsetof(struct ft_tracker, title)},
    {"started", HF_DATE, offsetof(struct ft_tracker, started)},
    {"owner", HF_TEXT, offsetof(struct ft_tracker, owner)},
    {"objective", HF_TEXT, offsetof(struct ft_tracker, objective)},
    {"status", HF_STATUS, offsetof(struct ft_tracker, status)},
    {"repro_command", HF_LINE, offsetof(struct ft_tracker, repro_command)},
    {"repro_timeout_ms", HF_MS, offsetof(struct ft_tracker, repro_timeout_ms)},
    {"repro_expect", HF_TEXT, offsetof(struct ft_tracker, repro_expect)},
    {"repro_note", HF_TEXT, offsetof(struct ft_tracker, repro_note)},
    {"symptoms_note", HF_TEXT, offsetof(struct ft_tracker, symptoms_note)},
    {"hyps_note", HF_TEXT, offsetof(struct ft_tracker, hyps_note)},
    {"results_note", HF_TEXT, offsetof(struct ft_tracker, results_note)},
    {"fix_summary", HF_TEXT, offsetof(struct ft_tracker, fix_summary)},
    {"fix_why", HF_TEXT, offsetof(struct ft_tracker, fix_why)},
    {"fix_evidence", HF_TEXT, offsetof(struct ft_tracker, fix_evidence)},
};

int ft_tracker_patch(struct ft_tracker *t, json_t *patch, json_t *changed, struct ft_err *err)
{
    const char *key;
    json_t *v;

    if (!json_is_object(patch))
        return ft_err_set(err, FT_EINVAL, "expected a JSON object of fields");
    json_object_foreach(patch, key, v)
    {
        const struct header_field *f = NULL;
        for (size_t i = 0; i < sizeof(header_fields) / sizeof(header_fields[0]); i++)
            if (strcmp(header_fields[i].name, key) == 0)
                f = &header_fields[i];
        if (!f)
            return ft_err_field(err, FT_EINVAL, key, "unknown field '%s'", key);
        void *slot = (char *)t + f->off;
        if (f->type == HF_MS) {
            if (!json_is_integer(v) || json_integer_value(v) < 0)
                return ft_err_field(err, FT_EINVAL, key,
                                    "field '%s' must be a non-negative integer", key);
            *(int64_t *)slot = json_integer_value(v);
            json_object_set(changed, key, v);
            continue;
        }
        if (!json_is_string(v) && !(json_is_null(v) && f->type != HF_STATUS))
            return ft_err_field(err, FT_EINVAL, key, "field '%s' must be a string", key);
        char *val = ft_text_norm(json_is_string(v) ? json_string_value(v) : "");
        int rc = 0;
        switch (f->type) {
        case HF_STATUS:
            if (ft_status_parse(val) < 0)
                rc = ft_err_field(err, FT_EINVAL, key,
                                  "field 'status' must be 'open', 'waiting' or 'resolved'");
            else
                *(int *)slot = ft_status_parse(val);
            break;
        case HF_SLUG:
            if (!ft_slug_valid(val))
                rc = ft_err_field(err, FT_EINVAL, key,
                                  "slug '%s' is not valid: use a-z, 0-9 and '-', not only digits",
                                  val);
            break;
        case HF_DATE:
            if (strcmp(val, FT_NO_DATE) == 0)
                val[0] = '\0';
            if (*val && !ft_date_valid(val))
                rc = ft_err_field(err, FT_EINVAL, key,
                                  "field 'started': '%s' is not a date YYYY-MM-DD", val);
            break;
        case HF_LINE:
            if (strchr(val, '\n'))
                rc = ft_err_field(err, FT_EINVAL, key, "field '%s' must be one line", key);
            break;
        default:
            break;
        }
        if (rc) {
            free(val);
            return rc;
        }
        if (f->type != HF_STATUS) {
            free(*(char **)slot);
            *(char **)slot = val;
            json_object_set_new(changed, key, json_string(val));
        } else {
            free(val);
            json_object_set(changed, key, v);
        }
    }
    return ft_tracker_validate(t, err);
}

static int entry_field(struct ft_entry *e, const char *key, json_t *v, struct ft_err *err)
{
    int k = e->kind;
    char **slot = NULL;
    if (strcmp(key, "text") == 0 || (k == FT_K_RESULT && strcmp(key, "attempt") == 0))
        slot = &e->text;
    else if (k == FT_K_STEP && strcmp(key, "title") == 0)
        slot = &e->title;
    else if ((k == FT_K_HYP && strcmp(key, "evidence") == 0) ||
             (k == FT_K_RESULT && strcmp(key, "notes") == 0))
        slot = &e->detail;
    else if (k == FT_K_RESULT && strcmp(key, "date") == 0)
        slot = &e->date;
    if (slot) {
        if (!json_is_string(v) && !json_is_null(v))
            return ft_err_field(err, FT_EINVAL, key, "field '%s' must be a string", key);
        ft_set_str(slot, json_is_string(v) ? json_string_value(v) : "");
        return 0;
    }
    int st = -1;
    const char *sv = json_is_string(v) ? json_string_value(v) : NULL;
    if (k == FT_K_ITEM && strcmp(key, "state") == 0) {
        st = sv ? ft_state_parse(sv) : -1;
        if (st < 0)
            return ft_err_field(err, FT_EINVAL, key,
                                "field 'state' must be done, doing, pending or dropped");
    } else if (k == FT_K_HYP && strcmp(key, "verdict") == 0) {
        st = sv ? ft_verdict_parse(sv) : -1;
        if (st < 0)
            return ft_err_field(err, FT_EINVAL, key,
                                "field 'verdict' must be open, ruled-out or confirmed");
    } else if (k == FT_K_RESULT && strcmp(key, "outcome") == 0) {
        st = sv ? ft_outcome_parse(sv) : json_is_null(v) ? FT_OUT_NONE : -1;
        if (st < 0)
            return ft_err_field(
                err, FT_EINVAL, key,
                "field 'outcome' must be pass, fail, hang, leak, crash or interrupted");
    } else {
        return ft_err_field(err, FT_EINVAL, key, "unknown field '%s' for a %s", key,
                            ft_kind_name(k));
    }
    e->state = st;
    return 0;
}

int ft_entry_patch(struct ft_entry *e, json_t *patch, struct ft_err *err)
{
    const char *key;
    json_t *v;
    if (!json_is_object(patch))
        return ft_err_set(err, FT_EINVAL, "expected a JSON object of fields");
    json_object_foreach(patch, key, v)
    {
        int rc = entry_field(e, key, v, err);
        if (rc)
            return rc;
    }
    return 0;
}

/* A string field of a run, copied into *slot. */
static int run_str(char **slot, const char *key, json_t *v, struct ft_err *err)
{
    if (!json_is_string(v))
        return ft_err_field(err, FT_EINVAL, key, "field '%s' must be a string", key);
    ft_set_str(slot, json_string_value(v));
    return 0;
}

/* An integer field of a run in [min, max]; null is null_value. */
static int run_int(int64_t *out, const char *key, json_t *v, int64_t min, int64_t max,
                   int64_t null_value, struct ft_err *err)
{
    if (json_is_null(v)) {
        *out = null_value;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return ft_err_field(err, FT_EINVAL, key, "field '%s' must be an integer from %lld to %lld",
                            key, (long long)min, (long long)max);
    *out = json_integer_value(v);
    return 0;
}

int ft_run_patch(struct ft_run *r, json_t *patch, struct ft_err *err)
{
    const char *key;
    json_t *v;
    int64_t x = 0;
    if (!json_is_object(patch))
        return ft_err_set(err, FT_EINVAL, "expected a JSON object of run fields");
    json_object_foreach(patch, key, v)
    {
        int rc = 0;
        if (strcmp(key, "command") == 0) {
            rc = run_str(&r->command, key, v, err);
        } else if (strcmp(key, "cwd") == 0) {
            rc = run_str(&r->cwd, key, v, err);
        } else if (strcmp(key, "label") == 0) {
            rc = run_str(&r->label, key, v, err);
        } else if (strcmp(key, "log") == 0) {
            rc = run_str(&r->log, key, v, err);
        } else if (strcmp(key, "started_at") == 0) {
            if (!json_is_string(v) || ft_time_parse_iso(json_string_value(v), &r->started_at))
                rc =
                    ft_err_field(err, FT_EINVAL, key,
                                 "field 'started_at' must be a time like 2026-11-25T10:00:00.000Z");
        } else if (strcmp(key, "duration_ms") == 0) {
            rc = run_int(&r->duration_ms, key, v, 0, INT64_MAX / 2, 0, err);
        } else if (strcmp(key, "exit_code") == 0) {
            if (!(rc = run_int(&x, key, v, 0, 255, -1, err)))
                r->exit_code = (int)x;
        } else if (strcmp(key, "signal") == 0) {
            if (!(rc = run_int(&x, key, v, 0, 64, 0, err)))
                r->signal = (int)x;
        } else if (strcmp(key, "outcome") == 0) {
            int o = json_is_string(v) ? ft_outcome_parse(json_string_value(v)) : -1;
            if (o <= FT_OUT_NONE)
                rc = ft_err_field(
                    err, FT_EINVAL, key,
                    "field 'outcome' must be pass, fail, hang, leak, crash or interrupted");
            r->outcome = o;
        } else if (strcmp(key, "log_truncated") == 0) {
            if (!json_is_boolean(v))
                rc = ft_err_field(err, FT_EINVAL, key, "field 'log_truncated' must be a boolean");
            r->log_truncated = json_is_true(v);
        } else if (strcmp(key, "diagnosis") == 0) {
            char *d = json_is_object(v) ? json_dumps(v, JSON_COMPACT) : NULL;
            if (!json_is_object(v) && !json_is_null(v))
                rc = ft_err_field(err, FT_EINVAL, key, "field 'diagnosis' must be an object");
            ft_set_str(&r->diagnosis, d ? d : "");
            free(d);
        } else {
            rc = ft_err_field(err, FT_EINVAL, key, "unknown field '%s' for a run", key);
        }
        if (rc)
            return rc;
    }
    return 0;
}
