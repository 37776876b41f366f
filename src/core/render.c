/*
 * The text layout is line-based. Each entry is one line behind its marker
 * ("  1. ", "  • ", "    • "); a newline inside a field continues on the next
 * line indented by the marker's column plus four, which is deeper than any
 * child marker (column plus two), so continuation and structure never mix.
 */
#include "render.h"

#include "../util/ft_buf.h"
#include "../util/ft_err.h"
#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/banned.h"

const char *const ft_group_heading[FT_ST__COUNT] = {
    "\xe2\x9c\x85 Completed",        /* ✅ */
    "\xf0\x9f\x94\x84 In Progress",  /* 🔄 */
    "\xe2\x8f\xb3 Pending",          /* ⏳ */
    "\xf0\x9f\x9a\xab Out of Scope", /* 🚫 */
};
const char *const ft_verdict_label[FT_V__COUNT] = {"Open", "Ruled out", "Confirmed"};

/* Progress groups are shown in this order in every layout. */
static const int group_order[FT_ST__COUNT] = {FT_ST_DONE, FT_ST_DOING, FT_ST_PENDING,
                                              FT_ST_DROPPED};

int ft_format_parse(const char *s)
{
    if (strcmp(s, "view") == 0)
        return FT_FMT_VIEW;
    if (strcmp(s, "text") == 0 || strcmp(s, "txt") == 0)
        return FT_FMT_TEXT;
    if (strcmp(s, "md") == 0 || strcmp(s, "markdown") == 0)
        return FT_FMT_MD;
    if (strcmp(s, "json") == 0)
        return FT_FMT_JSON;
    if (strcmp(s, "compact") == 0)
        return FT_FMT_COMPACT;
    return -1;
}

/* ---- text layout --------------------------------------------------------------------- */

struct tx {
    struct ft_buf *out;
    int rc;
    int numbered; /* the view: show each entry's number */
};

static void put(struct tx *x, const char *s)
{
    if (!x->rc)
        x->rc = ft_buf_adds(x->out, s);
}

static void putf(struct tx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct tx *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (!x->rc)
        x->rc = ft_buf_vaddf(x->out, fmt, ap);
    va_end(ap);
}

/* A field's text; lines after the first are indented by `indent` spaces. */
static void put_field(struct tx *x, const char *s, int indent)
{
    while (!x->rc) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        x->rc = ft_buf_add(x->out, s, n);
        if (!nl)
            break;
        putf(x, "\n%*s", indent, "");
        s = nl + 1;
    }
}

/* "[N] " before an entry in the view. Written by hand: it runs once per entry, and
 * a printf per line was a tenth of `show`'s instructions at 10 000 items. */
static void put_num(struct tx *x, const struct ft_entry *e)
{
    if (!x->numbered)
        return;
    char tmp[16], *p = tmp + sizeof(tmp);
    unsigned v = e->num < 0 ? 0u - (unsigned)e->num : (unsigned)e->num;
    *--p = ' ';
    *--p = ']';
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (e->num < 0)
        *--p = '-';
    *--p = '[';
    if (!x->rc)
        x->rc = ft_buf_add(x->out, p, (size_t)(tmp + sizeof(tmp) - p));
}

/* "  • Label:" then " text" when text is not empty. */
static void put_label_line(struct tx *x, int col, const char *label, const char *text)
{
    putf(x, "%*s" FT_BULLET " %s:", col, "", label);
    if (*text) {
        put(x, " ");
        put_field(x, text, col + 4);
    }
    put(x, "\n");
}

static void put_code_span_tx(struct tx *x, const char *s)
{
    if (!x->rc)
        ft_md_code_span(x->out, s);
}

static void text_result(struct tx *x, const struct ft_entry *e, int col)
{
    putf(x, "%*s" FT_BULLET " ", col, "");
    put_num(x, e);
    putf(x, "%s: ", *e->date ? e->date : FT_NO_DATE);
    put(x, e->text);
    if (e->state != FT_OUT_NONE) {
        putf(x, FT_ARROW "%s", ft_outcome_name(e->state));
        if (*e->detail) {
            put(x, " + ");
            put_field(x, e->detail, col + 4);
        }
    } else if (*e->detail) {
        put(x, FT_ARROW);
        put_field(x, e->detail, col + 4);
    }
    if (x->numbered && e->run_num)
        putf(x, " (run %d)", e->run_num);
    put(x, "\n");
}

static void text_notes(struct tx *x, const struct ft_tracker *t)
{
    const struct ft_entry_list *l;

    put(x, FT_L_NOTES "\n\n");

    /* Reproduction: the command as a code span, then its prose note. */
    putf(x, "  " FT_BULLET " " FT_L_REPRO ":");
    if (*t->repro_command) {
        put(x, " ");
        put_code_span_tx(x, t->repro_command);
        if (*t->repro_note)
            put(x, FT_DASH);
    } else if (*t->repro_note) {
        put(x, " ");
    }
    put_field(x, t->repro_note, 6);
    put(x, "\n");
    if (t->repro_timeout_ms) {
        char d[32];
        ft_duration_fmt(t->repro_timeout_ms, d, sizeof(d));
        put_label_line(x, 4, FT_L_TIMEOUT, d);
    }
    if (*t->repro_expect)
        put_label_line(x, 4, FT_L_EXPECT, t->repro_expect);

    put_label_line(x, 2, FT_L_SYMPTOMS, t->symptoms_note);
    l = &t->lists[FT_K_SYMPTOM];
    for (size_t i = 0; i < l->n; i++) {
        put(x, "    " FT_BULLET " ");
        put_num(x, &l->v[i]);
        put_field(x, l->v[i].text, 8);
        put(x, "\n");
    }

    put_label_line(x, 2, FT_L_HYPS, t->hyps_note);
    l = &t->lists[FT_K_HYP];
    for (size_t i = 0; i < l->n; i++) {
        const struct ft_entry *e = &l->v[i];
        put(x, "    " FT_BULLET " ");
        put_num(x, e);
        putf(x, "%s: ", ft_verdict_label[e->state]);
        put_field(x, e->text, 8);
        put(x, "\n");
        if (*e->detail)
            put_label_line(x, 6, FT_L_EVIDENCE, e->detail);
    }

    put_label_line(x, 2, FT_L_RESULTS, t->results_note);
    l = &t->lists[FT_K_RESULT];
    for (size_t i = 0; i < l->n; i++)
        text_result(x, &l->v[i], 4);

    put_label_line(x, 2, FT_L_FIX, t->fix_summary);
    if (*t->fix_why)
        put_label_line(x, 4, FT_L_WHY, t->fix_why);
    if (*t->fix_evidence)
        put_label_line(x, 4, FT_L_EVIDENCE, t->fix_evidence);

    static const struct {
        enum ft_kind kind;
        const char *label;
    } tail[] = {{FT_K_FOLLOWUP, FT_L_FOLLOWUP}, {FT_K_NOTE, FT_L_NOTE}};
    for (size_t k = 0; k < 2; k++) {
        l = &t->lists[tail[k].kind];
        for (size_t i = 0; i < l->n; i++) {
            putf(x, "  " FT_BULLET " %s: ", tail[k].label);
            put_num(x, &l->v[i]);
            put_field(x, l->v[i].text, 6);
            put(x, "\n");
        }
    }
}

static int render_text(const struct ft_tracker *t, struct ft_buf *out, int numbered)
{
    struct tx x = {out, 0, numbered};
    const struct ft_entry_list *l;

    if (*t->org)
        putf(&x, "%s\n\n", t->org);
    putf(&x, "%s\n\n", t->title);
    if (numbered)
        putf(&x, "Id: %s (%lld)   Status: %s\n", t->slug, (long long)t->id,
             ft_status_name(t->status));
    putf(&x, "Started: %s\n", *t->started ? t->started : FT_NO_DATE);
    if (!numbered && t->status != FT_STATUS_OPEN)
        putf(&x, "Status: %s\n", ft_status_name(t->status));
    put(&x, "Owner: ");
    put_field(&x, t->owner, 2);
    put(&x, "\nObjective: ");
    put_field(&x, t->objective, 2);
    put(&x, "\n\n\n" FT_L_RULES "\n\n");

    l = &t->lists[FT_K_RULE];
    for (size_t i = 0; i < l->n; i++) {
        putf(&x, "  %zu. ", i + 1);
        put_num(&x, &l->v[i]);
        put_field(&x, l->v[i].text, 6);
        put(&x, "\n");
    }
    put(&x, "\n" FT_L_WORKFLOW "\n\n");
    l = &t->lists[FT_K_STEP];
    for (size_t i = 0; i < l->n; i++) {
        putf(&x, "  %zu. ", i + 1);
        put_num(&x, &l->v[i]);
        put(&x, l->v[i].title);
        if (*l->v[i].text) {
            put(&x, ": ");
            put_field(&x, l->v[i].text, 6);
        }
        put(&x, "\n");
    }
    put(&x, "\n" FT_L_PROGRESS "\n\n");
    l = &t->lists[FT_K_ITEM];
    for (int g = 0; g < FT_ST__COUNT; g++) {
        int st = group_order[g];
        putf(&x, "%s\n\n", ft_group_heading[st]);
        for (size_t i = 0; i < l->n; i++) {
            if (l->v[i].state != st)
                continue;
            put(&x, "  " FT_BULLET " ");
            put_num(&x, &l->v[i]);
            put_field(&x, l->v[i].text, 6);
            if (numbered && l->v[i].claimed_by)
                putf(&x, " (claimed by %s)", l->v[i].claimed_by);
            put(&x, "\n");
        }
        put(&x, "\n");
    }
    text_notes(&x, t);
    if (numbered && t->nruns) {
        put(&x, "\nRuns\n\n");
        for (size_t i = 0; i < t->nruns; i++) {
            const struct ft_run *r = &t->runs[i];
            char when[32], dur[32];
            ft_time_iso(r->started_at, when, sizeof(when));
            ft_duration_fmt(r->duration_ms, dur, sizeof(dur));
            putf(&x, "  [%d] %s %s %s (%s)%s%s\n", r->num, when, ft_outcome_name(r->outcome),
                 r->command, dur, *r->label ? " " : "", r->label);
        }
    }
    return x.rc;
}

int ft_render_text(const struct ft_tracker *t, struct ft_buf *out)
{
    return render_text(t, out, 0);
}

int ft_render_view(const struct ft_tracker *t, struct ft_buf *out)
{
    return render_text(t, out, 1);
}

/* ---- Markdown ------------------------------------------------------------------------ */

void ft_md_code_span(struct ft_buf *out, const char *s)
{
    /* The fence is one backtick longer than the longest run inside s. */
    size_t run = 0, longest = 0;
    for (const char *p = s; *p; p++) {
        run = *p == '`' ? run + 1 : 0;
        if (run > longest)
            longest = run;
    }
    size_t n = longest + 1;
    int pad = s[0] == '`' || (*s && s[strlen(s) - 1] == '`') || s[0] == ' ';
    for (size_t i = 0; i < n; i++)
        ft_buf_addc(out, '`');
    if (pad)
        ft_buf_addc(out, ' ');
    ft_buf_adds(out, s);
    if (pad)
        ft_buf_addc(out, ' ');
    for (size_t i = 0; i < n; i++)
        ft_buf_addc(out, '`');
}

/* p starts a run of '#' that only spaces follow to the end of its line. */
static int closing_run(const char *p)
{
    while (*p == '#')
        p++;
    while (*p == ' ' || *p == '\t')
        p++;
    return *p == '\0' || *p == '\n';
}

/* Escape s so that Markdown reads it back as the same plain text. */
static void md_text(struct tx *x, const char *s, int indent)
{
    int bol = 1;
    for (const char *p = s; *p && !x->rc; p++) {
        char c = *p;
        if (c == '\n') {
            putf(x, "\n%*s", indent, "");
            bol = 1;
            continue;
        }
        if (bol) {
            bol = 0;
            if (c == ' ' || c == '\t') {
                putf(x, "&#%d;", c);
                continue;
            }
            if (c == '#' || c == '+' || c == '-' || c == '=') {
                put(x, "\\");
            } else if (c >= '0' && c <= '9') {
                const char *q = p;
                while (*q >= '0' && *q <= '9')
                    q++;
                if (*q == '.' || *q == ')') {
                    x->rc = ft_buf_add(x->out, p, (size_t)(q - p));
                    putf(x, "\\%c", *q);
                    p = q;
                    continue;
                }
            }
        }
        if (strchr("\\`*_[]<>&|~!", c) && c)
            put(x, "\\");
        else if (c == '#' && p > s && (p[-1] == ' ' || p[-1] == '\t') && closing_run(p))
            put(x, "\\"); /* in a heading, a closing sequence: it would be dropped */
        if (!x->rc)
            x->rc = ft_buf_addc(x->out, c);
    }
}

static void md_label_item(struct tx *x, int col, const char *label, const char *text)
{
    putf(x, "%*s- **%s:**", col, "", label);
    if (*text) {
        put(x, " ");
        md_text(x, text, col + 2);
    }
    put(x, "\n");
}

static void md_result(struct tx *x, const struct ft_entry *e)
{
    put(x, "  - ");
    putf(x, "%s: ", *e->date ? e->date : FT_NO_DATE);
    md_text(x, e->text, 4);
    if (e->state != FT_OUT_NONE) {
        putf(x, FT_ARROW "%s", ft_outcome_name(e->state));
        if (*e->detail) {
            put(x, " + ");
            md_text(x, e->detail, 4);
        }
    } else if (*e->detail) {
        put(x, FT_ARROW);
        md_text(x, e->detail, 4);
    }
    put(x, "\n");
}

int ft_render_md(const struct ft_tracker *t, struct ft_buf *out)
{
    struct tx x = {out, 0, 0};
    const struct ft_entry_list *l;

    if (*t->org) {
        md_text(&x, t->org, 0);
        put(&x, "\n\n");
    }
    put(&x, "# ");
    md_text(&x, t->title, 0);
    put(&x, "\n\n");
    md_label_item(&x, 0, "Started", *t->started ? t->started : FT_NO_DATE);
    if (t->status != FT_STATUS_OPEN)
        md_label_item(&x, 0, "Status", ft_status_name(t->status));
    md_label_item(&x, 0, "Owner", t->owner);
    md_label_item(&x, 0, "Objective", t->objective);

    put(&x, "\n## " FT_L_RULES "\n\n");
    l = &t->lists[FT_K_RULE];
    for (size_t i = 0; i < l->n; i++) {
        int w = snprintf(NULL, 0, "%zu. ", i + 1);
        putf(&x, "%zu. ", i + 1);
        md_text(&x, l->v[i].text, w);
        put(&x, "\n");
    }
    put(&x, "\n## " FT_L_WORKFLOW "\n\n");
    l = &t->lists[FT_K_STEP];
    for (size_t i = 0; i < l->n; i++) {
        int w = snprintf(NULL, 0, "%zu. ", i + 1);
        putf(&x, "%zu. **", i + 1);
        md_text(&x, l->v[i].title, w);
        put(&x, ":**");
        if (*l->v[i].text) {
            put(&x, " ");
            md_text(&x, l->v[i].text, w);
        }
        put(&x, "\n");
    }
    put(&x, "\n## " FT_L_PROGRESS "\n\n");
    l = &t->lists[FT_K_ITEM];
    for (int g = 0; g < FT_ST__COUNT; g++) {
        int st = group_order[g];
        putf(&x, "### %s\n\n", ft_group_heading[st]);
        int any = 0;
        for (size_t i = 0; i < l->n; i++) {
            if (l->v[i].state != st)
                continue;
            put(&x, "- ");
            md_text(&x, l->v[i].text, 2);
            put(&x, "\n");
            any = 1;
        }
        if (any)
            put(&x, "\n");
    }

    put(&x, "## " FT_L_NOTES "\n\n");
    put(&x, "- **" FT_L_REPRO ":**");
    if (*t->repro_command) {
        put(&x, " ");
        put_code_span_tx(&x, t->repro_command);
        if (*t->repro_note)
            put(&x, FT_DASH);
    } else if (*t->repro_note) {
        put(&x, " ");
    }
    md_text(&x, t->repro_note, 2);
    put(&x, "\n");
    if (t->repro_timeout_ms) {
        char d[32];
        ft_duration_fmt(t->repro_timeout_ms, d, sizeof(d));
        md_label_item(&x, 2, FT_L_TIMEOUT, d);
    }
    if (*t->repro_expect)
        md_label_item(&x, 2, FT_L_EXPECT, t->repro_expect);

    md_label_item(&x, 0, FT_L_SYMPTOMS, t->symptoms_note);
    l = &t->lists[FT_K_SYMPTOM];
    for (size_t i = 0; i < l->n; i++) {
        put(&x, "  - ");
        md_text(&x, l->v[i].text, 4);
        put(&x, "\n");
    }
    md_label_item(&x, 0, FT_L_HYPS, t->hyps_note);
    l = &t->lists[FT_K_HYP];
    for (size_t i = 0; i < l->n; i++) {
        md_label_item(&x, 2, ft_verdict_label[l->v[i].state], l->v[i].text);
        if (*l->v[i].detail)
            md_label_item(&x, 4, FT_L_EVIDENCE, l->v[i].detail);
    }
    md_label_item(&x, 0, FT_L_RESULTS, t->results_note);
    l = &t->lists[FT_K_RESULT];
    for (size_t i = 0; i < l->n; i++)
        md_result(&x, &l->v[i]);
    md_label_item(&x, 0, FT_L_FIX, t->fix_summary);
    if (*t->fix_why)
        md_label_item(&x, 2, FT_L_WHY, t->fix_why);
    if (*t->fix_evidence)
        md_label_item(&x, 2, FT_L_EVIDENCE, t->fix_evidence);
    l = &t->lists[FT_K_FOLLOWUP];
    for (size_t i = 0; i < l->n; i++)
        md_label_item(&x, 0, FT_L_FOLLOWUP, l->v[i].text);
    l = &t->lists[FT_K_NOTE];
    for (size_t i = 0; i < l->n; i++)
        md_label_item(&x, 0, FT_L_NOTE, l->v[i].text);
    return x.rc;
}

/* ---- JSON ---------------------------------------------------------------------------- */

json_t *ft_json_time(int64_t ms)
{
    char buf[40];
    if (!ms)
        return json_null();
    ft_time_iso(ms, buf, sizeof(buf));
    return json_string(buf);
}

static json_t *opt_str(const char *s)
{
    return *s ? json_string(s) : json_null();
}

json_t *ft_entry_to_json(const struct ft_entry *e)
{
    json_t *o = json_object();
    json_object_set_new(o, "num", json_integer(e->num));
    json_object_set_new(o, "kind", json_string(ft_kind_name(e->kind)));
    switch (e->kind) {
    case FT_K_STEP:
        json_object_set_new(o, "title", json_string(e->title));
        json_object_set_new(o, "text", json_string(e->text));
        break;
    case FT_K_ITEM: {
        json_object_set_new(o, "text", json_string(e->text));
        json_object_set_new(o, "state", json_string(ft_state_name(e->state)));
        json_object_set_new(o, "state_at", ft_json_time(e->state_at));
        json_object_set_new(o, "claimed_by",
                            e->claimed_by ? json_string(e->claimed_by) : json_null());
        json_object_set_new(o, "claimed_at", ft_json_time(e->claimed_at));
        if (e->changes) {
            json_t *a = json_array();
            for (size_t i = 0; i < e->nchanges; i++) {
                json_t *c = json_object();
                json_object_set_new(c, "state", json_string(ft_state_name(e->changes[i].state)));
                json_object_set_new(c, "at", ft_json_time(e->changes[i].at));
                json_array_append_new(a, c);
            }
            json_object_set_new(o, "changes", a);
        }
        break;
    }
    case FT_K_HYP:
        json_object_set_new(o, "text", json_string(e->text));
        json_object_set_new(o, "verdict", json_string(ft_verdict_name(e->state)));
        json_object_set_new(o, "evidence", json_string(e->detail));
        break;
    case FT_K_RESULT:
        json_object_set_new(o, "date", opt_str(e->date));
        json_object_set_new(o, "attempt", json_string(e->text));
        json_object_set_new(o, "outcome", opt_str(ft_outcome_name(e->state)));
        json_object_set_new(o, "notes", json_string(e->detail));
        json_object_set_new(o, "run", e->run_num ? json_integer(e->run_num) : json_null());
        break;
    default:
        json_object_set_new(o, "text", json_string(e->text));
        break;
    }
    json_object_set_new(o, "created_at", ft_json_time(e->created_at));
    json_object_set_new(o, "updated_at", ft_json_time(e->updated_at));
    return o;
}

json_t *ft_run_to_json(const struct ft_run *r, int with_log)
{
    json_t *o = json_object();
    json_object_set_new(o, "num", json_integer(r->num));
    json_object_set_new(o, "command", json_string(r->command));
    json_object_set_new(o, "cwd", json_string(r->cwd));
    json_object_set_new(o, "label", json_string(r->label));
    json_object_set_new(o, "started_at", ft_json_time(r->started_at));
    json_object_set_new(o, "duration_ms", json_integer(r->duration_ms));
    json_object_set_new(o, "exit_code",
                        r->exit_code >= 0 ? json_integer(r->exit_code) : json_null());
    json_object_set_new(o, "signal", r->signal ? json_integer(r->signal) : json_null());
    json_object_set_new(o, "outcome", json_string(ft_outcome_name(r->outcome)));
    if (with_log) {
        json_object_set_new(o, "log", json_string(r->log));
        json_object_set_new(o, "log_truncated", json_boolean(r->log_truncated));
        json_t *d = *r->diagnosis ? json_loads(r->diagnosis, 0, NULL) : NULL;
        json_object_set_new(o, "diagnosis", d ? d : json_null());
    }
    return o;
}

static json_t *list_json(const struct ft_entry_list *l)
{
    json_t *a = json_array();
    for (size_t i = 0; i < l->n; i++)
        json_array_append_new(a, ft_entry_to_json(&l->v[i]));
    return a;
}

json_t *ft_tracker_to_json(const struct ft_tracker *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(t->id));
    json_object_set_new(o, "slug", json_string(t->slug));
    json_object_set_new(o, "org", json_string(t->org));
    json_object_set_new(o, "title", json_string(t->title));
    json_object_set_new(o, "started", opt_str(t->started));
    json_object_set_new(o, "owner", json_string(t->owner));
    json_object_set_new(o, "objective", json_string(t->objective));
    json_object_set_new(o, "status", json_string(ft_status_name(t->status)));
    json_object_set_new(o, "created_at", ft_json_time(t->created_at));
    json_object_set_new(o, "updated_at", ft_json_time(t->updated_at));
    json_object_set_new(o, "rules", list_json(&t->lists[FT_K_RULE]));
    json_object_set_new(o, "steps", list_json(&t->lists[FT_K_STEP]));
    json_object_set_new(o, "items", list_json(&t->lists[FT_K_ITEM]));
    json_t *counts = json_object();
    for (int s = 0; s < FT_ST__COUNT; s++) {
        int n = 0;
        for (size_t i = 0; i < t->lists[FT_K_ITEM].n; i++)
            n += t->lists[FT_K_ITEM].v[i].state == s;
        json_object_set_new(counts, ft_state_name(s), json_integer(n));
    }
    json_object_set_new(o, "progress", counts);

    json_t *rep = json_object();
    json_object_set_new(rep, "command", opt_str(t->repro_command));
    json_object_set_new(rep, "timeout_ms",
                        t->repro_timeout_ms ? json_integer(t->repro_timeout_ms) : json_null());
    json_object_set_new(rep, "expected", opt_str(t->repro_expect));
    json_object_set_new(rep, "note", json_string(t->repro_note));
    json_object_set_new(o, "reproduction", rep);

    json_t *sn = json_object();
    json_object_set_new(sn, "symptoms", json_string(t->symptoms_note));
    json_object_set_new(sn, "hypotheses", json_string(t->hyps_note));
    json_object_set_new(sn, "results", json_string(t->results_note));
    json_object_set_new(o, "section_notes", sn);

    json_object_set_new(o, "symptoms", list_json(&t->lists[FT_K_SYMPTOM]));
    json_object_set_new(o, "hypotheses", list_json(&t->lists[FT_K_HYP]));
    json_object_set_new(o, "results", list_json(&t->lists[FT_K_RESULT]));
    json_t *fix = json_object();
    json_object_set_new(fix, "summary", json_string(t->fix_summary));
    json_object_set_new(fix, "why", json_string(t->fix_why));
    json_object_set_new(fix, "evidence", json_string(t->fix_evidence));
    json_object_set_new(o, "final_fix", fix);
    json_object_set_new(o, "followups", list_json(&t->lists[FT_K_FOLLOWUP]));
    json_object_set_new(o, "notes", list_json(&t->lists[FT_K_NOTE]));
    json_t *runs = json_array();
    for (size_t i = 0; i < t->nruns; i++)
        json_array_append_new(runs, ft_run_to_json(&t->runs[i], 0));
    json_object_set_new(o, "runs", runs);
    return o;
}

int ft_render(const struct ft_tracker *t, enum ft_format fmt, struct ft_buf *out)
{
    switch (fmt) {
    case FT_FMT_VIEW:
        return ft_render_view(t, out);
    case FT_FMT_TEXT:
        return ft_render_text(t, out);
    case FT_FMT_MD:
        return ft_render_md(t, out);
    case FT_FMT_COMPACT:
        return ft_render_compact(t, out);
    case FT_FMT_JSON: {
        json_t *j = ft_tracker_to_json(t);
        char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENSURE_ASCII * 0);
        json_decref(j);
        if (!s)
            return FT_ENOMEM;
        int rc = ft_buf_adds(out, s);
        if (!rc)
            rc = ft_buf_addc(out, '\n');
        free(s);
        return rc;
    }
    }
    return FT_EINVAL;
}
