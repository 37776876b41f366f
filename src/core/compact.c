/*
 * compact.c: the compact view, a tracker in the fewest lines that still let an
 * agent pick up the work: the objective, the ground rules, what is in progress
 * (and who holds it), what is pending, the reproduction, the open hypotheses,
 * the newest results and runs, and the final fix. Long lists are cut with a
 * count and the command that shows the rest. It is what an agent reads at the
 * start of a session and what the MCP read tool answers by default.
 */
#include "render.h"

#include "../util/ft_buf.h"
#include "../util/ft_err.h"
#include "../util/ft_time.h"

#include <stdio.h>
#include <string.h>

#include "../util/banned.h"

#define MAX_PENDING 10
#define MAX_HYPS    10
#define MAX_RESULTS 5
#define MAX_RUNS    3
#define MAX_TEXT    300 /* bytes of one entry's text before it is cut */

struct cx {
    struct ft_buf *out;
    int rc;
};

__attribute__((format(printf, 2, 3))) static void cf(struct cx *x, const char *fmt, ...)
{
    va_list ap;
    char buf[1024];
    if (x->rc)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof(buf))
        x->rc = ft_buf_add(x->out, buf, (size_t)n);
    else
        x->rc = FT_ETOOBIG;
}

/* s on one line, cut at MAX_TEXT bytes (on a UTF-8 boundary) with an ellipsis. */
static void text(struct cx *x, const char *s)
{
    size_t n = strlen(s), cut = n;
    if (n > MAX_TEXT) {
        cut = MAX_TEXT;
        while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
            cut--;
    }
    for (size_t i = 0; i < cut && !x->rc; i++)
        x->rc = ft_buf_addc(x->out, s[i] == '\n' ? ' ' : s[i]);
    if (cut < n && !x->rc)
        x->rc = ft_buf_adds(x->out, "\xe2\x80\xa6"); /* … */
}

static void item(struct cx *x, const struct ft_entry *e)
{
    cf(x, "  - [%d] ", e->num);
    text(x, e->text);
    if (e->claimed_by) {
        char at[40];
        ft_time_iso(e->claimed_at, at, sizeof(at));
        cf(x, " (claimed by %s at %.16sZ)", e->claimed_by, at);
    }
    cf(x, "\n");
}

int ft_render_compact(const struct ft_tracker *t, struct ft_buf *out)
{
    struct cx x = {out, 0};
    const struct ft_entry_list *l;
    int count[FT_ST__COUNT] = {0};

    cf(&x, "# %s (tracker %s, %s)\n", t->title, t->slug, ft_status_name(t->status));
    if (*t->objective) {
        cf(&x, "Objective: ");
        text(&x, t->objective);
        cf(&x, "\n");
    }
    l = &t->lists[FT_K_RULE];
    if (l->n)
        cf(&x, "\nGround rules:\n");
    for (size_t i = 0; i < l->n; i++) {
        cf(&x, "  %zu. ", i + 1);
        text(&x, l->v[i].text);
        cf(&x, "\n");
    }

    l = &t->lists[FT_K_ITEM];
    for (size_t i = 0; i < l->n; i++)
        count[l->v[i].state]++;
    cf(&x, "\nProgress: %d done, %d in progress, %d pending, %d out of scope\n", count[FT_ST_DONE],
       count[FT_ST_DOING], count[FT_ST_PENDING], count[FT_ST_DROPPED]);
    if (count[FT_ST_DOING])
        cf(&x, "In progress:\n");
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].state == FT_ST_DOING)
            item(&x, &l->v[i]);
    if (count[FT_ST_PENDING])
        cf(&x, "Pending:\n");
    int shown = 0;
    for (size_t i = 0; i < l->n && shown < MAX_PENDING; i++)
        if (l->v[i].state == FT_ST_PENDING && ++shown)
            item(&x, &l->v[i]);
    if (count[FT_ST_PENDING] > shown)
        cf(&x, "  ... %d more pending ('flowtrack item list')\n", count[FT_ST_PENDING] - shown);

    if (*t->repro_command || *t->repro_expect) {
        cf(&x, "\nReproduction: ");
        text(&x, *t->repro_command ? t->repro_command : "(no command yet)");
        if (t->repro_timeout_ms) {
            char d[32];
            ft_duration_fmt(t->repro_timeout_ms, d, sizeof(d));
            cf(&x, " (timeout %s)", d);
        }
        cf(&x, "\n");
        if (*t->repro_expect) {
            cf(&x, "Expected failure: ");
            text(&x, t->repro_expect);
            cf(&x, "\n");
        }
    }

    l = &t->lists[FT_K_HYP];
    int open = 0;
    for (size_t i = 0; i < l->n; i++)
        open += l->v[i].state == FT_V_OPEN;
    if (l->n)
        cf(&x, "\nHypotheses: %d open, %zu with a verdict\n", open, l->n - (size_t)open);
    shown = 0;
    for (size_t i = 0; i < l->n && shown < MAX_HYPS; i++) {
        if (l->v[i].state != FT_V_OPEN || !++shown)
            continue;
        cf(&x, "  - [%d] ", l->v[i].num);
        text(&x, l->v[i].text);
        cf(&x, "\n");
    }
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].state != FT_V_CONFIRMED)
            continue;
        cf(&x, "  - [%d] confirmed: ", l->v[i].num);
        text(&x, l->v[i].text);
        cf(&x, "\n");
    }

    l = &t->lists[FT_K_RESULT];
    if (l->n)
        cf(&x, "\nLatest results (%zu in all):\n", l->n);
    for (size_t i = l->n > MAX_RESULTS ? l->n - MAX_RESULTS : 0; i < l->n; i++) {
        const struct ft_entry *e = &l->v[i];
        cf(&x, "  - [%d] %s: ", e->num, *e->date ? e->date : FT_NO_DATE);
        text(&x, e->text);
        if (e->state != FT_OUT_NONE)
            cf(&x, " -> %s", ft_outcome_name(e->state));
        if (*e->detail) {
            cf(&x, e->state != FT_OUT_NONE ? " + " : " -> ");
            text(&x, e->detail);
        }
        if (e->run_num)
            cf(&x, " (run %d)", e->run_num);
        cf(&x, "\n");
    }
    if (t->nruns)
        cf(&x, "\nLatest runs (%zu in all):\n", t->nruns);
    for (size_t i = t->nruns > MAX_RUNS ? t->nruns - MAX_RUNS : 0; i < t->nruns; i++) {
        const struct ft_run *r = &t->runs[i];
        char when[40], dur[32];
        ft_time_iso(r->started_at, when, sizeof(when));
        ft_duration_fmt(r->duration_ms, dur, sizeof(dur));
        cf(&x, "  - [%d] %.16sZ %s in %s: ", r->num, when, ft_outcome_name(r->outcome), dur);
        text(&x, r->command);
        cf(&x, "\n");
    }
    if (*t->fix_summary) {
        cf(&x, "\nFinal fix: ");
        text(&x, t->fix_summary);
        cf(&x, "\n");
    }
    return x.rc;
}
