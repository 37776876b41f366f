/*
 * Import and render: the model tracker byte for byte, import(render(t)) == t
 * for generated trackers in both layouts, and refusals with line numbers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/import.h"
#include "core/render.h"
#include "util/ft_buf.h"
#include "util/ft_err.h"
#include "util/ft_text.h"
#include "util/ft_xalloc.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct ft_buf b;
    ft_buf_init(&b, 0);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        ft_buf_add(&b, chunk, n);
    fclose(f);
    return ft_buf_detach(&b, len);
}

/* Render t in fmt into a new string. */
static char *render(const struct ft_tracker *t, enum ft_format fmt)
{
    struct ft_buf b;
    ft_buf_init(&b, 0);
    assert_int_equal(ft_render(t, fmt, &b), 0);
    return ft_buf_detach(&b, NULL);
}

static void check_file_roundtrip(const char *path, int shared)
{
    size_t len;
    char *data = slurp(path, &len);
    if (!data) {
        if (shared) {
            print_message("skipping: %s not found\n", path);
            skip();
        }
        fail_msg("cannot read %s", path);
    }
    struct ft_tracker *t = NULL;
    struct ft_err err;
    int rc = ft_import(data, len, FT_IMPORT_AUTO, &t, &err);
    if (rc)
        fail_msg("import %s: %s", path, err.msg);
    char *out = render(t, FT_FMT_TEXT);
    /* the file may lack the final newline the renderer writes */
    size_t olen = strlen(out);
    if (len && data[len - 1] != '\n')
        assert_int_equal(olen, len + 1);
    else
        assert_int_equal(olen, len);
    assert_memory_equal(out, data, len);
    free(out);
    free(data);
    ft_tracker_free(t);
}

static void test_shared_example_bytes(void **state)
{
    (void)state;
    const char *path = FT_SOURCE_DIR "/../shared/examples/streaming-endpoint-stability.txt";
    size_t len;
    char *data = slurp(path, &len);
    if (!data) {
        print_message("skipping: %s not found\n", path);
        skip();
    }
    struct ft_tracker *t = NULL;
    struct ft_err err;
    assert_int_equal(ft_import(data, len, FT_IMPORT_AUTO, &t, &err), 0);
    assert_string_equal(t->org, "flowCreate.solutions");
    assert_string_equal(t->title, "Example Tracker \xe2\x80\x94 Streaming Endpoint Stability");
    assert_string_equal(t->started, "");
    assert_int_equal(t->lists[FT_K_RULE].n, 5);
    assert_int_equal(t->lists[FT_K_STEP].n, 6);
    int counts[FT_ST__COUNT] = {0};
    for (size_t i = 0; i < t->lists[FT_K_ITEM].n; i++)
        counts[t->lists[FT_K_ITEM].v[i].state]++;
    assert_int_equal(counts[FT_ST_DONE], 2);
    assert_int_equal(counts[FT_ST_DOING], 1);
    assert_int_equal(counts[FT_ST_PENDING], 2);
    assert_int_equal(counts[FT_ST_DROPPED], 2);
    /* prose where a value would go is kept, not dropped */
    assert_non_null(strstr(t->repro_note, "document the exact test command"));
    assert_string_equal(t->repro_command, "");
    assert_int_equal(t->lists[FT_K_RESULT].n, 2);
    assert_string_equal(t->lists[FT_K_RESULT].v[0].date, "");
    assert_string_equal(t->lists[FT_K_RESULT].v[0].text, "attempted fix A");
    assert_int_equal(t->lists[FT_K_RESULT].v[0].state, FT_OUT_NONE);
    assert_string_equal(t->lists[FT_K_RESULT].v[0].detail, "result (pass/fail) + notes");
    assert_string_equal(t->lists[FT_K_STEP].v[0].title, "Reproduce");
    ft_tracker_free(t);
    free(data);
    check_file_roundtrip(path, 1);
}

static void test_own_example_bytes(void **state)
{
    (void)state;
    check_file_roundtrip(FT_SOURCE_DIR "/examples/sse-stream-release.txt", 0);
}

/* ---- generated trackers -------------------------------------------------------------- */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static const char *const words[] = {
    "stream",
    "release",
    "timer",
    "caf\xc3\xa9",
    "\xe6\x97\xa5\xe6\x9c\xac",
    "\xf0\x9f\x94\x84",
    "a*b",
    "_x_",
    "`code`",
    "[link](u)",
    "<b>",
    "&amp;",
    "#tag",
    "1.",
    "- dash",
    "\xe2\x80\xa2",
    "50%",
    "x\\y",
    "a|b",
    "~s~",
    "!bang",
    "+plus",
    "\xe2\x80\x94",
    "\xe2\x86\x92x",
    "q: r",
    "Note:",
    "Open:",
    "Evidence:",
    "  ",
    "\t",
    "(paren)",
    "\"quoted\"",
    "'single'",
    "{brace}",
    "=",
};

/* A random text; flags: 1 = may span lines, 2 = no " → ", 4 = no ": " */
static char *gen_text(int flags, int min_words)
{
    struct ft_buf b;
    ft_buf_init(&b, 0);
    int n = min_words + (int)rnd(12);
    if (rnd(20) == 0)
        n += 400; /* a long text */
    for (int i = 0; i < n; i++) {
        const char *w = words[rnd(sizeof(words) / sizeof(words[0]))];
        if (i > 0)
            ft_buf_adds(&b, (flags & 1) && rnd(15) == 0 ? (rnd(3) ? "\n" : "\n\n  ") : " ");
        ft_buf_adds(&b, w);
    }
    char *raw = ft_buf_detach(&b, NULL);
    char *s = ft_text_norm(raw);
    free(raw);
    /* keep clear of what the layout cannot tell apart (docs/format.md) */
    for (char *p; (flags & 2) && (p = strstr(s, FT_ARROW));)
        memcpy(p, " -> ", 4), memmove(p + 4, p + 5, strlen(p + 5) + 1);
    for (char *p; (flags & 4) && (p = strstr(s, ": "));)
        *p = ';';
    if (!*s || s[0] == '`' || (flags & 4 && s[strlen(s) - 1] == ':')) {
        char *t = ft_xmalloc(strlen(s) + 4);
        snprintf(t, strlen(s) + 4, "w %s", s);
        free(s);
        s = ft_text_norm(t);
        free(t);
        if (flags & 4 && s[strlen(s) - 1] == ':')
            s[strlen(s) - 1] = 'z';
    }
    return s;
}

static void set_gen(char **slot, int flags, int optional)
{
    free(*slot);
    *slot = optional && rnd(3) == 0 ? ft_xstrdup("") : gen_text(flags, 1);
}

static struct ft_tracker *gen_tracker(void)
{
    struct ft_tracker *t = ft_tracker_new();
    set_gen(&t->org, 2 | 4 | 8, 1);
    set_gen(&t->title, 2 | 4, 0);
    if (strncmp(t->title, "Note", 4) == 0 || strchr(t->title, ':'))
        ft_set_str(&t->title, "Generated tracker");
    if (strchr(t->org, ':'))
        ft_set_str(&t->org, "");
    if (rnd(2)) {
        char d[16];
        snprintf(d, sizeof(d), "20%02u-%02u-%02u", rnd(99), 1 + rnd(12), 1 + rnd(28));
        ft_set_str(&t->started, d);
    }
    t->status = (int)rnd(2);
    set_gen(&t->owner, 1, 1);
    set_gen(&t->objective, 1, 1);
    if (rnd(2)) {
        char *c = gen_text(2, 1);
        for (char *p = c; *p; p++)
            if (*p == '\n')
                *p = ' ';
        free(t->repro_command);
        t->repro_command = ft_text_norm(c);
        free(c);
    }
    t->repro_timeout_ms = rnd(3) ? (int64_t)rnd(100000000) : 0;
    set_gen(&t->repro_expect, 1, 1);
    set_gen(&t->repro_note, 1, 1);
    set_gen(&t->symptoms_note, 1, 1);
    set_gen(&t->hyps_note, 1, 1);
    set_gen(&t->results_note, 1, 1);
    set_gen(&t->fix_summary, 1, 1);
    set_gen(&t->fix_why, 1, 1);
    set_gen(&t->fix_evidence, 1, 1);

    for (int k = 0; k < FT_K__COUNT; k++) {
        int n = rnd(4) == 0 ? 0 : (int)rnd(7);
        for (int i = 0; i < n; i++) {
            struct ft_entry *e = ft_tracker_add(t, (enum ft_kind)k);
            switch (k) {
            case FT_K_STEP:
                set_gen(&e->title, 2 | 4 | 8, 0);
                for (char *p = e->title; *p; p++)
                    if (*p == '\n')
                        *p = ' ';
                set_gen(&e->text, 1, 1);
                break;
            case FT_K_ITEM:
                set_gen(&e->text, 1, 0);
                e->state = (int)rnd(FT_ST__COUNT);
                break;
            case FT_K_HYP:
                set_gen(&e->text, 1, 0);
                e->state = (int)rnd(FT_V__COUNT);
                set_gen(&e->detail, 1, 1);
                break;
            case FT_K_RESULT: {
                char *a = gen_text(2, 1);
                for (char *p = a; *p; p++)
                    if (*p == '\n')
                        *p = ' ';
                free(e->text);
                e->text = ft_text_norm(a);
                free(a);
                e->state = (int)rnd(FT_OUT__COUNT);
                set_gen(&e->detail, 1, 1);
                if (e->state == FT_OUT_NONE && *e->detail) {
                    char *d = ft_xmalloc(strlen(e->detail) + 8);
                    snprintf(d, strlen(e->detail) + 8, "note %s", e->detail);
                    free(e->detail);
                    e->detail = d;
                }
                if (rnd(2)) {
                    char d[16];
                    snprintf(d, sizeof(d), "2026-%02u-%02u", 1 + rnd(12), 1 + rnd(28));
                    ft_set_str(&e->date, d);
                }
                break;
            }
            default:
                set_gen(&e->text, 1, 0);
                break;
            }
        }
    }
    struct ft_err err;
    for (int k = 0; k < FT_K__COUNT; k++)
        for (size_t i = 0; i < t->lists[k].n; i++)
            if (ft_entry_validate(&t->lists[k].v[i], &err))
                fail_msg("generator made an invalid entry: %s", err.msg);
    if (ft_tracker_validate(t, &err))
        fail_msg("generator made an invalid tracker: %s", err.msg);
    return t;
}

/* Items render grouped by state: compare within each group, in order. */
static void assert_same(const struct ft_tracker *a, const struct ft_tracker *b)
{
    const char *sa[] = {a->org,           a->title,         a->started,      a->owner,
                        a->objective,     a->repro_command, a->repro_expect, a->repro_note,
                        a->symptoms_note, a->hyps_note,     a->results_note, a->fix_summary,
                        a->fix_why,       a->fix_evidence};
    const char *sb[] = {b->org,           b->title,         b->started,      b->owner,
                        b->objective,     b->repro_command, b->repro_expect, b->repro_note,
                        b->symptoms_note, b->hyps_note,     b->results_note, b->fix_summary,
                        b->fix_why,       b->fix_evidence};
    for (size_t i = 0; i < sizeof(sa) / sizeof(sa[0]); i++)
        assert_string_equal(sa[i], sb[i]);
    assert_int_equal(a->status, b->status);
    assert_int_equal(a->repro_timeout_ms, b->repro_timeout_ms);
    for (int k = 0; k < FT_K__COUNT; k++) {
        const struct ft_entry_list *la = &a->lists[k], *lb = &b->lists[k];
        assert_int_equal(la->n, lb->n);
        if (k == FT_K_ITEM) {
            for (int g = 0; g < FT_ST__COUNT; g++) {
                size_t j = 0;
                for (size_t i = 0; i < la->n; i++) {
                    if (la->v[i].state != g)
                        continue;
                    while (j < lb->n && lb->v[j].state != g)
                        j++;
                    assert_true(j < lb->n);
                    assert_string_equal(la->v[i].text, lb->v[j].text);
                    j++;
                }
            }
            continue;
        }
        for (size_t i = 0; i < la->n; i++) {
            assert_string_equal(la->v[i].title, lb->v[i].title);
            assert_string_equal(la->v[i].text, lb->v[i].text);
            assert_string_equal(la->v[i].detail, lb->v[i].detail);
            assert_string_equal(la->v[i].date, lb->v[i].date);
            assert_int_equal(la->v[i].state, lb->v[i].state);
        }
    }
}

static void roundtrip(enum ft_format fmt, int count)
{
    for (int i = 0; i < count; i++) {
        rng_state = 0x9e3779b97f4a7c15ull + (uint64_t)i * 7919 + (uint64_t)fmt;
        struct ft_tracker *t = gen_tracker();
        char *doc = render(t, fmt);
        struct ft_tracker *back = NULL;
        struct ft_err err;
        int rc = ft_import(doc, strlen(doc), fmt == FT_FMT_MD ? FT_IMPORT_MD : FT_IMPORT_TEXT,
                           &back, &err);
        if (rc) {
            print_message("--- tracker %d ---\n%s\n", i, doc);
            fail_msg("tracker %d: import failed: %s", i, err.msg);
        }
        assert_same(t, back);
        /* and the second rendering is byte-identical */
        char *again = render(back, fmt);
        assert_string_equal(doc, again);
        free(again);
        free(doc);
        ft_tracker_free(back);
        ft_tracker_free(t);
    }
}

static int atoi_env(void)
{
    return (int)strtol(getenv("FT_PEEK"), NULL, 10);
}

static void test_roundtrip_text(void **state)
{
    (void)state;
    if (getenv("FT_PEEK")) {
        rng_state = 12345;
        struct ft_tracker *t = gen_tracker();
        char *d = render(t, atoi_env());
        fputs(d, stdout);
        free(d);
        ft_tracker_free(t);
    }
    roundtrip(FT_FMT_TEXT, 400);
}

static void test_roundtrip_md(void **state)
{
    (void)state;
    roundtrip(FT_FMT_MD, 400);
}

static void test_empty_tracker_roundtrip(void **state)
{
    (void)state;
    struct ft_tracker *t = ft_tracker_new();
    ft_set_str(&t->title, "Empty");
    for (int fmt = FT_FMT_TEXT; fmt <= FT_FMT_MD; fmt++) {
        char *doc = render(t, (enum ft_format)fmt);
        struct ft_tracker *back = NULL;
        assert_int_equal(ft_import(doc, strlen(doc), FT_IMPORT_AUTO, &back, NULL), 0);
        assert_same(t, back);
        free(doc);
        ft_tracker_free(back);
    }
    ft_tracker_free(t);
}

/* ---- refusals ------------------------------------------------------------------------ */

static void expect_error(const char *doc, size_t len, int code, const char *needle)
{
    struct ft_tracker *t = NULL;
    struct ft_err err;
    int rc = ft_import(doc, len, FT_IMPORT_AUTO, &t, &err);
    assert_int_equal(rc, code);
    assert_null(t);
    if (!strstr(err.msg, needle))
        fail_msg("error '%s' does not contain '%s'", err.msg, needle);
}

static void test_refusals(void **state)
{
    (void)state;
    const char *ok = "T\n\nStarted: YYYY-MM-DD\nOwner: me\nObjective: o\n\n\n"
                     "Ground Rules for Agents\n\nWorkflow\n\nProgress Tracker\n\n"
                     "Notes & Follow-Ups\n\n";
    struct ft_tracker *t = NULL;
    assert_int_equal(ft_import(ok, strlen(ok), FT_IMPORT_AUTO, &t, NULL), 0);
    ft_tracker_free(t);

    expect_error("", 0, FT_EINVAL, "empty");
    /* truncated: the last sections are missing */
    const char *trunc = "T\n\nStarted: YYYY-MM-DD\nOwner: me\n\n\nGround Rules for Agents\n\n"
                        "  1. a rule\n\nWorkflow\n\n  1. Step: do it\n";
    expect_error(trunc, strlen(trunc), FT_EINVAL, "line 13: unexpected end of input");
    const char *baddate = "T\n\nStarted: 2026-02-30\n";
    expect_error(baddate, strlen(baddate), FT_EINVAL, "line 3: '2026-02-30' is not a date");
    const char bin[] = "T\n\nStarted: \x00\x01\x02\xff\n";
    expect_error(bin, sizeof(bin) - 1, FT_EINVAL, "line 3: not valid UTF-8");
    const char *badhead = "T\n\nStarted: YYYY-MM-DD\n\nGround Rules for Agents\n\n  1. r\n\nWhat\n";
    expect_error(badhead, strlen(badhead), FT_EINVAL, "line 9: unknown heading 'What'");
    const char *order = "T\n\nStarted: YYYY-MM-DD\n\nWorkflow\n\nGround Rules for Agents\n";
    expect_error(order, strlen(order), FT_EINVAL, "line 5: expected 'Ground Rules for Agents'");
    const char *prose = "T\n\nStarted: YYYY-MM-DD\n\nGround Rules for Agents\n\n  just prose\n";
    expect_error(prose, strlen(prose), FT_EINVAL, "line 7: expected a list item");
    const char *kid = "T\n\nStarted: YYYY-MM-DD\n\nGround Rules for Agents\n\n  1. r\n    • sub\n";
    expect_error(kid, strlen(kid), FT_EINVAL, "line 8: a ground rule has no sub-items");
    const char *md_code = "# T\n\n## Ground Rules for Agents\n\n```\ncode\n```\n";
    expect_error(md_code, strlen(md_code), FT_EINVAL, "only headings, paragraphs and lists");

    /* one line over the limit */
    size_t big = FT_IMPORT_MAX_LINE + 10;
    char *huge = ft_xmalloc(big + 20);
    memcpy(huge, "T\n\n", 3);
    memset(huge + 3, 'x', big);
    huge[3 + big] = '\n';
    expect_error(huge, big + 4, FT_ETOOBIG, "line 3: line is");
    free(huge);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_example_bytes),    cmocka_unit_test(test_own_example_bytes),
        cmocka_unit_test(test_roundtrip_text),          cmocka_unit_test(test_roundtrip_md),
        cmocka_unit_test(test_empty_tracker_roundtrip), cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
