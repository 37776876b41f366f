#include "check.h"

#include "../util/ft_time.h"

#include <stdarg.h>
#include <stdio.h>

#include "../util/banned.h"

static void finding(json_t *a, const char *rule, const struct ft_entry *e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void finding(json_t *a, const char *rule, const struct ft_entry *e, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *o = json_pack("{s:s, s:s}", "rule", rule, "message", msg);
    if (e) {
        json_object_set_new(o, "kind", json_string(ft_kind_name(e->kind)));
        json_object_set_new(o, "num", json_integer(e->num));
    }
    json_array_append_new(a, o);
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

json_t *ft_check(const struct ft_tracker *t, const struct ft_check_opts *o)
{
    json_t *a = json_array();
    const struct ft_entry_list *items = &t->lists[FT_K_ITEM];
    const struct ft_entry_list *results = &t->lists[FT_K_RESULT];
    const struct ft_entry_list *hyps = &t->lists[FT_K_HYP];

    int64_t progress = 0, evidence = 0;
    for (size_t i = 0; i < items->n; i++)
        progress = max64(progress, max64(items->v[i].created_at, items->v[i].state_at));
    for (size_t i = 0; i < results->n; i++)
        evidence = max64(evidence, results->v[i].created_at);
    for (size_t i = 0; i < t->nruns; i++)
        evidence = max64(evidence, t->runs[i].started_at + t->runs[i].duration_ms);
    if (progress && evidence < progress) {
        char when[40];
        ft_time_iso(progress, when, sizeof(when));
        finding(a, "run-after-update", NULL,
                "progress changed at %s but no run or results entry since: rerun the reproducer "
                "('flowtrack run') or record one ('flowtrack result add')",
                when);
    }
    if (*t->fix_summary) {
        for (size_t i = 0; i < hyps->n; i++)
            if (hyps->v[i].state == FT_V_OPEN)
                finding(a, "verdict-before-fix", &hyps->v[i],
                        "hypothesis %d has no verdict but a final fix is written: rule it out or "
                        "confirm it ('flowtrack hyp verdict %d ...')",
                        hyps->v[i].num, hyps->v[i].num);
        if (!*t->fix_evidence)
            finding(a, "fix-evidence", NULL,
                    "the final fix states no evidence ('flowtrack fix --evidence ...')");
    }
    for (size_t i = 0; i < items->n; i++) {
        const struct ft_entry *e = &items->v[i];
        if (e->state != FT_ST_DOING || o->now - e->state_at <= o->doing_max_ms)
            continue;
        char age[32], lim[32];
        ft_duration_fmt((o->now - e->state_at) / 60000 * 60000, age, sizeof(age));
        ft_duration_fmt(o->doing_max_ms, lim, sizeof(lim));
        finding(a, "doing-too-long", e, "item %d has been in progress for %s (limit %s): %s",
                e->num, age, lim, e->text);
    }
    return a;
}
