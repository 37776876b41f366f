#include "model.h"

#include "../util/ft_err.h"
#include "../util/ft_pool.h"
#include "../util/ft_text.h"
#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"

#include <stdlib.h>
#include <string.h>

#include "../util/banned.h"

static const char *const kind_names[FT_K__COUNT] = {
    "rule", "step", "item", "symptom", "hyp", "result", "followup", "note",
};
static const char *const state_names[FT_ST__COUNT] = {"done", "doing", "pending", "dropped"};
static const char *const verdict_names[FT_V__COUNT] = {"open", "ruled-out", "confirmed"};
static const char *const outcome_names[FT_OUT__COUNT] = {
    "", "pass", "fail", "hang", "leak", "crash", "interrupted",
};

static int parse_name(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

const char *ft_kind_name(enum ft_kind k)
{
    return (unsigned)k < FT_K__COUNT ? kind_names[k] : "?";
}

int ft_kind_parse(const char *s)
{
    return parse_name(kind_names, FT_K__COUNT, s);
}

const char *ft_state_name(int st)
{
    return (unsigned)st < FT_ST__COUNT ? state_names[st] : "?";
}

int ft_state_parse(const char *s)
{
    return parse_name(state_names, FT_ST__COUNT, s);
}

const char *ft_verdict_name(int v)
{
    return (unsigned)v < FT_V__COUNT ? verdict_names[v] : "?";
}

int ft_verdict_parse(const char *s)
{
    if (strcmp(s, "ruled_out") == 0 || strcmp(s, "ruled out") == 0)
        return FT_V_RULED_OUT;
    return parse_name(verdict_names, FT_V__COUNT, s);
}

const char *ft_outcome_name(int o)
{
    return (unsigned)o < FT_OUT__COUNT ? outcome_names[o] : "?";
}

int ft_outcome_parse(const char *s)
{
    return parse_name(outcome_names, FT_OUT__COUNT, s);
}

size_t ft_result_attempt_tail(const char *attempt)
{
    /* " →" at the end would make " → " with the separator the layouts write after it */
    static const char tail[] = " \xe2\x86\x92";
    size_t n = strlen(attempt), t = sizeof(tail) - 1;
    return n >= t && memcmp(attempt + n - t, tail, t) == 0 ? t : 0;
}

int ft_outcome_lead(const char *tail, size_t *skip)
{
    for (int o = FT_OUT_PASS; o < FT_OUT__COUNT; o++) {
        size_t n = strlen(outcome_names[o]);
        if (strncmp(tail, outcome_names[o], n) != 0)
            continue;
        if (tail[n] == '\0') {
            *skip = n;
            return o;
        }
        if (strncmp(tail + n, " + ", 3) == 0) {
            *skip = n + 3;
            return o;
        }
    }
    return -1;
}

static const char *const status_names[] = {"open", "resolved", "waiting"};
_Static_assert(sizeof(status_names) / sizeof(status_names[0]) == FT_STATUS__COUNT,
               "a name per status");

const char *ft_status_name(int s)
{
    return (unsigned)s < FT_STATUS__COUNT ? status_names[s] : "?";
}

int ft_status_parse(const char *s)
{
    return parse_name(status_names, FT_STATUS__COUNT, s);
}

void ft_set_str(char **slot, const char *s)
{
    char *n = ft_xstrdup(s ? s : "");
    free(*slot);
    *slot = n;
}

struct ft_tracker *ft_tracker_new(void)
{
    struct ft_tracker *t = ft_xcalloc(1, sizeof(*t));
    char **strs[] = {&t->slug,        &t->org,           &t->title,         &t->started,
                     &t->owner,       &t->objective,     &t->repro_command, &t->repro_expect,
                     &t->repro_note,  &t->symptoms_note, &t->hyps_note,     &t->results_note,
                     &t->fix_summary, &t->fix_why,       &t->fix_evidence};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        *strs[i] = ft_xstrdup("");
    return t;
}

void ft_entry_init(struct ft_entry *e, enum ft_kind kind, int64_t now_ms)
{
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    e->title = ft_xstrdup("");
    e->text = ft_xstrdup("");
    e->detail = ft_xstrdup("");
    if (kind == FT_K_RESULT) {
        char today[16];
        ft_time_date(now_ms, today, sizeof(today));
        e->date = ft_xstrdup(today);
    } else {
        e->date = ft_xstrdup("");
    }
    if (kind == FT_K_ITEM)
        e->state = FT_ST_PENDING;
}

void ft_entry_release(struct ft_entry *e)
{
    if (!e)
        return;
    free(e->title);
    free(e->text);
    free(e->detail);
    free(e->date);
    free(e->changes);
    free(e->claimed_by);
    memset(e, 0, sizeof(*e));
}

void ft_run_release(struct ft_run *r)
{
    if (!r)
        return;
    free(r->command);
    free(r->cwd);
    free(r->label);
    free(r->log);
    free(r->diagnosis);
    memset(r, 0, sizeof(*r));
}

void ft_tracker_free(struct ft_tracker *t)
{
    if (!t)
        return;
    char *strs[] = {t->slug,        t->org,           t->title,         t->started,
                    t->owner,       t->objective,     t->repro_command, t->repro_expect,
                    t->repro_note,  t->symptoms_note, t->hyps_note,     t->results_note,
                    t->fix_summary, t->fix_why,       t->fix_evidence};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        free(strs[i]);
    for (int k = 0; k < FT_K__COUNT; k++) {
        for (size_t i = 0; i < t->lists[k].n; i++) {
            struct ft_entry *e = &t->lists[k].v[i];
            if (t->pool) { /* the four strings are the pool's */
                free(e->changes);
                free(e->claimed_by);
            } else {
                ft_entry_release(e);
            }
        }
        free(t->lists[k].v);
    }
    for (size_t i = 0; i < t->nruns; i++)
        ft_run_release(&t->runs[i]);
    free(t->runs);
    ft_pool_free(t->pool);
    free(t);
}

struct ft_entry *ft_tracker_push(struct ft_tracker *t, enum ft_kind kind, char *title, char *text,
                                 char *detail, char *date)
{
    struct ft_entry_list *l = &t->lists[kind];
    ft_xgrow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v));
    struct ft_entry *e = &l->v[l->n++];
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    e->title = title;
    e->text = text;
    e->detail = detail;
    e->date = date;
    return e;
}

char *ft_tracker_str(struct ft_tracker *t, const char *s, size_t n)
{
    return t->pool ? ft_pool_strndup(t->pool, s, n) : ft_xstrndup(s, n);
}

struct ft_entry *ft_tracker_add(struct ft_tracker *t, enum ft_kind kind)
{
    struct ft_entry *e =
        ft_tracker_push(t, kind, ft_xstrdup(""), ft_xstrdup(""), ft_xstrdup(""), ft_xstrdup(""));
    if (kind == FT_K_ITEM)
        e->state = FT_ST_PENDING;
    return e;
}

struct ft_run *ft_tracker_add_run(struct ft_tracker *t)
{
    ft_xgrow((void **)&t->runs, &t->runs_cap, t->nruns + 1, sizeof(*t->runs));
    struct ft_run *r = &t->runs[t->nruns++];
    memset(r, 0, sizeof(*r));
    r->command = ft_xstrdup("");
    r->cwd = ft_xstrdup("");
    r->label = ft_xstrdup("");
    r->log = ft_xstrdup("");
    r->diagnosis = ft_xstrdup("");
    r->exit_code = -1;
    return r;
}

static int one_line(const char *s)
{
    return strchr(s, '\n') == NULL;
}

/* The first control character of s other than newline and tab, or 0. Markdown
 * and terminals give the others meanings (CR ends a line), so texts hold none. */
static int control_char(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
            return *p;
    return 0;
}

static int no_controls(const char *const *fields, const char *const *names, size_t n,
                       struct ft_err *err)
{
    for (size_t i = 0; i < n; i++) {
        int c = control_char(fields[i]);
        if (c)
            return ft_err_field(err, FT_EINVAL, names[i],
                                "%s contains the control character 0x%02x", names[i], c);
    }
    return 0;
}

void ft_entry_norm(struct ft_entry *e)
{
    char **strs[] = {&e->title, &e->text, &e->detail, &e->date};
    for (size_t i = 0; i < 4; i++) {
        char *n = ft_text_norm(*strs[i] ? *strs[i] : "");
        free(*strs[i]);
        *strs[i] = n;
    }
    if (strcmp(e->date, FT_NO_DATE) == 0)
        e->date[0] = '\0';
}

void ft_tracker_norm(struct ft_tracker *t)
{
    char **strs[] = {&t->org,           &t->title,        &t->owner,       &t->objective,
                     &t->repro_command, &t->repro_expect, &t->repro_note,  &t->symptoms_note,
                     &t->hyps_note,     &t->results_note, &t->fix_summary, &t->fix_why,
                     &t->fix_evidence};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        char *n = ft_text_norm(*strs[i] ? *strs[i] : "");
        free(*strs[i]);
        *strs[i] = n;
    }
}

int ft_entry_validate(const struct ft_entry *e, struct ft_err *err)
{
    const char *kn = ft_kind_name(e->kind);
    const char *const fields[] = {e->title, e->text, e->detail, e->date};
    const char *const names[] = {"title", e->kind == FT_K_RESULT ? "attempt" : "text",
                                 e->kind == FT_K_HYP ? "evidence" : "notes", "date"};
    if (no_controls(fields, names, 4, err))
        return FT_EINVAL;

    if (e->kind == FT_K_STEP) {
        if (!*e->title)
            return ft_err_field(err, FT_EINVAL, "title", "step: title is required");
        if (strstr(e->title, ": ") || !one_line(e->title) || e->title[strlen(e->title) - 1] == ':')
            return ft_err_field(err, FT_EINVAL, "title",
                                "step: title may not contain ': ', end with ':' or span lines");
    } else if (!*e->text) {
        return ft_err_field(err, FT_EINVAL, e->kind == FT_K_RESULT ? "attempt" : "text",
                            "%s: text is required",
                            e->kind == FT_K_RESULT ? "result: attempt" : kn);
    }
    switch (e->kind) {
    case FT_K_ITEM:
        if ((unsigned)e->state >= FT_ST__COUNT)
            return ft_err_field(err, FT_EINVAL, "state", "item: bad state");
        break;
    case FT_K_HYP:
        if ((unsigned)e->state >= FT_V__COUNT)
            return ft_err_field(err, FT_EINVAL, "verdict", "hyp: bad verdict");
        break;
    case FT_K_RESULT:
        if ((unsigned)e->state >= FT_OUT__COUNT)
            return ft_err_field(err, FT_EINVAL, "outcome", "result: bad outcome");
        if (*e->date && !ft_date_valid(e->date))
            return ft_err_field(err, FT_EINVAL, "date",
                                "result: date '%s' is not a date YYYY-MM-DD", e->date);
        if (strstr(e->text, " \xe2\x86\x92 ") || ft_result_attempt_tail(e->text) ||
            !one_line(e->text))
            return ft_err_field(err, FT_EINVAL, "attempt",
                                "result: attempt may not contain ' \xe2\x86\x92 ', end with "
                                "' \xe2\x86\x92' or span lines");
        /* the layouts write "→ NOTES" without an outcome: NOTES may not read as one */
        size_t skip;
        if (e->state == FT_OUT_NONE && ft_outcome_lead(e->detail, &skip) >= 0)
            return ft_err_field(err, FT_EINVAL, "notes",
                                "result: notes without an outcome may not start with '%.*s': "
                                "give the outcome instead",
                                (int)skip, e->detail);
        break;
    default:
        break;
    }
    return 0;
}

int ft_tracker_validate(const struct ft_tracker *t, struct ft_err *err)
{
    const char *const fields[] = {
        t->slug,      t->org,           t->title,        t->started,    t->owner,
        t->objective, t->repro_command, t->repro_expect, t->repro_note, t->symptoms_note,
        t->hyps_note, t->results_note,  t->fix_summary,  t->fix_why,    t->fix_evidence};
    const char *const names[] = {"slug",        "org",           "title",         "started",
                                 "owner",       "objective",     "repro_command", "repro_expect",
                                 "repro_note",  "symptoms_note", "hyps_note",     "results_note",
                                 "fix_summary", "fix_why",       "fix_evidence"};
    if (no_controls(fields, names, sizeof(fields) / sizeof(fields[0]), err))
        return FT_EINVAL;
    if (!*t->title)
        return ft_err_field(err, FT_EINVAL, "title", "title is required");
    if (!one_line(t->title) || !one_line(t->org))
        return ft_err_field(err, FT_EINVAL, one_line(t->title) ? "org" : "title",
                            "title and organisation must be one line");
    /* The text layout reads these as header fields or headings: keep them apart. */
    static const char *const reserved[] = {"Started:", "Status:", "Owner:", "Objective:"};
    static const char *const headings[] = {"Ground Rules for Agents", "Workflow",
                                           "Progress Tracker", "Notes & Follow-Ups"};
    /* the progress groups are headings of the text layout too (render.c) */
    static const char *const groups[] = {"\xe2\x9c\x85 Completed", "\xf0\x9f\x94\x84 In Progress",
                                         "\xe2\x8f\xb3 Pending", "\xf0\x9f\x9a\xab Out of Scope"};
    for (size_t i = 0; i < 4; i++) {
        if (strncmp(t->title, reserved[i], strlen(reserved[i])) == 0 ||
            strncmp(t->org, reserved[i], strlen(reserved[i])) == 0 ||
            strcmp(t->title, headings[i]) == 0 || strcmp(t->org, headings[i]) == 0 ||
            strcmp(t->title, groups[i]) == 0 || strcmp(t->org, groups[i]) == 0)
            return ft_err_field(err, FT_EINVAL, "title",
                                "title and organisation may not start with '%s' or be a section "
                                "heading",
                                reserved[i]);
    }
    if (*t->started && !ft_date_valid(t->started))
        return ft_err_field(err, FT_EINVAL, "started", "started: '%s' is not a date YYYY-MM-DD",
                            t->started);
    if (t->repro_timeout_ms < 0)
        return ft_err_field(err, FT_EINVAL, "repro_timeout_ms",
                            "reproduction timeout must not be negative");
    if (!one_line(t->repro_command))
        return ft_err_field(err, FT_EINVAL, "repro_command",
                            "reproduction command must be one line");
    /* Markdown writes the command as a code span fenced by one backtick more than its longest
     * run, and md4c reads fences of at most 32 */
    size_t run = 0;
    for (const char *p = t->repro_command; *p; p++)
        if ((run = *p == '`' ? run + 1 : 0) >= FT_REPRO_BACKTICKS_MAX)
            return ft_err_field(err, FT_EINVAL, "repro_command",
                                "reproduction command may not hold a run of %d or more backticks",
                                FT_REPRO_BACKTICKS_MAX);
    return 0;
}
