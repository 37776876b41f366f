/*
 * Import and render: the model tracker byte for byte, import(render(t)) == t
 * for generated trackers in both layouts and in JSON, refusals with line numbers,
 * and the tolerant reader's synonyms, markers, front matter, tables and warnings.
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
#include "core/import_tolerant.h"
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

/* The input check: each fault, at every offset in and around an 8-byte word, is refused
 * with its line and byte; text of the same shape without the fault is accepted. */
static void test_input_check(void **state)
{
    (void)state;
    static const struct {
        const char *bytes;
        size_t n;
        const char *msg; /* NULL: accepted */
    } cases[] = {
        {"\x01", 1, "control character 0x01"},
        {"\x7f", 1, "control character 0x7f"},
        {"\x1b[0m", 4, "control character 0x1b"},
        {"\r", 1, "control character 0x0d"},
        {"\t", 1, NULL},
        {"\xe2\x86\x92", 3, NULL},                  /* → */
        {"\xf0\x9f\x94\x84", 4, NULL},              /* 🔄 */
        {"\xc3", 1, "not valid UTF-8"},             /* cut short */
        {"\xc0\xaf", 2, "not valid UTF-8"},         /* overlong */
        {"\xed\xa0\x80", 3, "not valid UTF-8"},     /* a surrogate */
        {"\xf4\x90\x80\x80", 4, "not valid UTF-8"}, /* past U+10FFFF */
        {"\x80", 1, "not valid UTF-8"},
        {"\xff", 1, "not valid UTF-8"},
        {"\0", 1, "not valid UTF-8"},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        for (size_t at = 0; at < 20; at++) {
            char doc[64];
            size_t n = 0;
            memcpy(doc, "T\n", 2), n = 2;
            memset(doc + n, 'a', at), n += at;
            memcpy(doc + n, cases[c].bytes, cases[c].n), n += cases[c].n;
            memcpy(doc + n, "bcdefghij\n", 10), n += 10;
            struct ft_err err;
            int rc = ft__import_check(doc, n, &err);
            if (!cases[c].msg) {
                assert_int_equal(rc, 0);
                continue;
            }
            assert_int_equal(rc, FT_EINVAL);
            if (!strstr(err.msg, cases[c].msg) || strncmp(err.msg, "line 2: ", 8) != 0)
                fail_msg("case %zu at %zu: '%s'", c, at, err.msg);
        }
    }
    /* a CR ends a line only before its LF, or at the very end */
    struct ft_err err;
    assert_int_equal(ft__import_check("T\r\nx\r", 5, &err), 0);
    assert_int_equal(ft__import_check("T\rx\n", 4, &err), FT_EINVAL);
    /* a line of exactly the limit is accepted, one byte more is refused, the last line too */
    size_t max = FT_IMPORT_MAX_LINE;
    char *doc = ft_xmalloc(2 * max + 8);
    memset(doc, 'x', 2 * max + 8);
    doc[max] = '\n';
    assert_int_equal(ft__import_check(doc, 2 * max + 1, &err), 0);
    assert_int_equal(ft__import_check(doc, 2 * max + 2, &err), FT_ETOOBIG);
    assert_non_null(strstr(err.msg, "line 2: line is"));
    doc[max] = 'x';
    doc[max + 1] = '\n';
    assert_int_equal(ft__import_check(doc, max + 2, &err), FT_ETOOBIG);
    free(doc);
}

/* Every reader leaves entries as the store holds them (ft_entry_norm): no trailing blanks. */
static void test_readers_normalise(void **state)
{
    (void)state;
    const char *doc =
        "{\"title\": \" => x\", \"owner\": \"  bob \", \"reproduction\": {\"command\": \" make \"},"
        " \"steps\": [{\"title\": \"a \", \"text\": \"b\\n\\n\\n\"}],"
        " \"results\": [{\"attempt\": \"c\\t\", \"date\": \"YYYY-MM-DD\"}]}";
    struct ft_tracker *t = NULL;
    struct ft_err err;
    int rc = ft_import_read(doc, strlen(doc), FT_IMPORT_JSON, FT_IMPORT_FALLBACK, &t, NULL, &err);
    if (rc)
        fail_msg("%s", err.msg);
    assert_string_equal(t->lists[FT_K_STEP].v[0].title, "a");
    assert_string_equal(t->lists[FT_K_STEP].v[0].text, "b");
    assert_string_equal(t->lists[FT_K_RESULT].v[0].text, "c");
    assert_string_equal(t->lists[FT_K_RESULT].v[0].date, "");
    /* the header too (a title with a leading blank rendered as an indented line, which the
     * text layout's reader refuses) */
    assert_string_equal(t->title, "=> x");
    assert_string_equal(t->owner, "bob");
    assert_string_equal(t->repro_command, "make");
    ft_tracker_free(t);
}

/* A reproduction command with a run of 31 backticks round-trips through Markdown (a fence of
 * 32, md4c's longest); a run of 32 is refused. */
static void test_repro_backticks(void **state)
{
    (void)state;
    for (int n = 30; n <= 32; n++) {
        char ticks[40];
        memset(ticks, '`', (size_t)n);
        ticks[n] = '\0';
        char doc[256];
        snprintf(doc, sizeof(doc), "{\"title\": \"x\", \"reproduction\": {\"command\": \"a%sb\"}}",
                 ticks);
        struct ft_tracker *t = NULL;
        struct ft_err err;
        int rc =
            ft_import_read(doc, strlen(doc), FT_IMPORT_JSON, FT_IMPORT_FALLBACK, &t, NULL, &err);
        if (n >= FT_REPRO_BACKTICKS_MAX) {
            assert_int_equal(rc, FT_EINVAL);
            assert_non_null(strstr(err.msg, "backticks"));
            continue;
        }
        if (rc)
            fail_msg("%d backticks: %s", n, err.msg);
        char *md = render(t, FT_FMT_MD);
        struct ft_tracker *back = NULL;
        if (ft_import(md, strlen(md), FT_IMPORT_MD, &back, &err))
            fail_msg("%d backticks: %s\n%s", n, err.msg, md);
        assert_string_equal(back->repro_command, t->repro_command);
        free(md);
        ft_tracker_free(back);
        ft_tracker_free(t);
    }
}

/* ---- the tolerant reader ------------------------------------------------------------- */

/* Read doc with the readers of `flowtrack import` (exact, then tolerant); must succeed. */
static struct ft_tracker *tol(const char *doc, struct ft_import_report *rep)
{
    struct ft_tracker *t = NULL;
    struct ft_err err;
    if (ft_import_read(doc, strlen(doc), FT_IMPORT_AUTO, FT_IMPORT_FALLBACK, &t, rep, &err))
        fail_msg("import failed: %s\n---\n%s", err.msg, doc);
    return t;
}

/* An item's fenced code block whose opening fence ends the input, with no newline and
 * no terminating NUL after it: the reader stays inside the buffer (the ASan build of this
 * test reads the exact-size copy and fails on any read past it). */
static void test_tolerant_fence_at_end(void **state)
{
    (void)state;
    static const char *docs[] = {
        "\u2022 :\n ```",
        "\u2022 step one\n\n  ~~~~",
        "- [ ] step one\n  ```",
        "# Fence\n\n## Notes\n\n```",
    };
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
        size_t n = strlen(docs[i]);
        char *exact = malloc(n);
        assert_non_null(exact);
        memcpy(exact, docs[i], n);
        struct ft_tracker *t = NULL;
        struct ft_err err;
        if (ft_import_read(exact, n, FT_IMPORT_AUTO, FT_IMPORT_FALLBACK, &t, NULL, &err) == 0)
            ft_tracker_free(t);
        free(exact);
    }
}

static int count_state(const struct ft_tracker *t, int st)
{
    int n = 0;
    for (size_t i = 0; i < t->lists[FT_K_ITEM].n; i++)
        n += t->lists[FT_K_ITEM].v[i].state == st;
    return n;
}

static void test_tolerant_section_synonyms(void **state)
{
    (void)state;
    static const struct {
        const char *heading;
        enum ft_kind kind;
        int item_state; /* for items: the group's state */
    } cases[] = {
        {"## Ground rules", FT_K_RULE, 0},
        {"### RULES:", FT_K_RULE, 0},
        {"# Workflow", FT_K_STEP, 0},
        {"## Steps", FT_K_STEP, 0},
        {"## Process", FT_K_STEP, 0},
        {"## Completed", FT_K_ITEM, FT_ST_DONE},
        {"## Done", FT_K_ITEM, FT_ST_DONE},
        {"### \xe2\x9c\x85", FT_K_ITEM, FT_ST_DONE},
        {"## In Progress", FT_K_ITEM, FT_ST_DOING},
        {"#### doing", FT_K_ITEM, FT_ST_DOING},
        {"## WIP", FT_K_ITEM, FT_ST_DOING},
        {"## \xf0\x9f\x94\x84 In progress", FT_K_ITEM, FT_ST_DOING},
        {"## Pending", FT_K_ITEM, FT_ST_PENDING},
        {"## Todo", FT_K_ITEM, FT_ST_PENDING},
        {"## To do", FT_K_ITEM, FT_ST_PENDING},
        {"## Next", FT_K_ITEM, FT_ST_PENDING},
        {"## Backlog", FT_K_ITEM, FT_ST_PENDING},
        {"## \xe2\x8f\xb3", FT_K_ITEM, FT_ST_PENDING},
        {"## Out of Scope", FT_K_ITEM, FT_ST_DROPPED},
        {"## Won't do", FT_K_ITEM, FT_ST_DROPPED},
        {"## Won\xe2\x80\x99t do", FT_K_ITEM, FT_ST_DROPPED},
        {"## Dropped", FT_K_ITEM, FT_ST_DROPPED},
        {"## \xf0\x9f\x9a\xab", FT_K_ITEM, FT_ST_DROPPED},
        {"## Hypotheses", FT_K_HYP, 0},
        {"## Theories", FT_K_HYP, 0},
        {"## Results", FT_K_RESULT, 0},
        {"## Attempts", FT_K_RESULT, 0},
        {"## Log", FT_K_RESULT, 0},
        {"## Results log", FT_K_RESULT, 0},
        {"## Symptoms", FT_K_SYMPTOM, 0},
        {"## Follow-ups", FT_K_FOLLOWUP, 0},
        {"## Followups", FT_K_FOLLOWUP, 0},
        {"## Next steps", FT_K_FOLLOWUP, 0},
        {"## TODO later", FT_K_FOLLOWUP, 0},
        {"## Notes", FT_K_NOTE, 0},
        {"## Context", FT_K_NOTE, 0},
        {"## Notes & Follow-Ups", FT_K_NOTE, 0},
        {"**Done**", FT_K_ITEM, FT_ST_DONE},
        {"Symptoms:", FT_K_SYMPTOM, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char doc[256];
        snprintf(doc, sizeof(doc), "# T\n\n%s\n\n- one entry\n", cases[i].heading);
        struct ft_import_report rep;
        struct ft_tracker *t = tol(doc, &rep);
        if (t->lists[cases[i].kind].n != 1)
            fail_msg("'%s': no %s", cases[i].heading, ft_kind_name(cases[i].kind));
        const struct ft_entry *e = &t->lists[cases[i].kind].v[0];
        assert_string_equal(e->kind == FT_K_STEP ? e->title : e->text, "one entry");
        if (cases[i].kind == FT_K_ITEM)
            assert_int_equal(e->state, cases[i].item_state);
        assert_int_equal(rep.n, 0);
        assert_int_equal(rep.tolerant, 1);
        ft_import_report_release(&rep);
        ft_tracker_free(t);
    }
    /* the header's own sections */
    struct ft_import_report rep;
    struct ft_tracker *t =
        tol("# T\n\n## Goal\n\nStop the leak.\n\n## Reproduction\n\n```\n$ make soak\n```\n\n"
            "## Resolution\n\nOne end function.\n\n- Why: every path ends there\n",
            &rep);
    assert_string_equal(t->objective, "Stop the leak.");
    assert_string_equal(t->repro_command, "make soak");
    assert_string_equal(t->fix_summary, "One end function.");
    assert_string_equal(t->fix_why, "every path ends there");
    ft_import_report_release(&rep);
    ft_tracker_free(t);
}

static void test_tolerant_item_states(void **state)
{
    (void)state;
    struct ft_import_report rep;
    struct ft_tracker *t = tol("# T\n\n## Progress\n\n"
                               "- [x] a\n- [ ] b\n- [X] c\n"
                               "- \xe2\x9c\x85 d\n- \xf0\x9f\x94\x84 e\n- \xe2\x8f\xb3 f\n"
                               "- \xf0\x9f\x9a\xab g\n- h \xe2\x9c\x85\n"
                               "- DONE: i\n- [wip] j\n- k (dropped)\n- ~~l~~\n- m\n"
                               "\n### Doing\n\n- [ ] n\n- o\n",
                               &rep);
    assert_int_equal(count_state(t, FT_ST_DONE), 5);
    assert_int_equal(count_state(t, FT_ST_DOING), 4);
    assert_int_equal(count_state(t, FT_ST_PENDING), 3);
    assert_int_equal(count_state(t, FT_ST_DROPPED), 3);
    /* the markers are not text */
    assert_string_equal(t->lists[FT_K_ITEM].v[3].text, "d");
    assert_string_equal(t->lists[FT_K_ITEM].v[7].text, "h");
    assert_string_equal(t->lists[FT_K_ITEM].v[10].text, "k");
    assert_string_equal(t->lists[FT_K_ITEM].v[11].text, "l");
    ft_import_report_release(&rep);
    ft_tracker_free(t);
}

static void test_tolerant_header_fields(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "# T\n\n- **Owner:** Ana\n- **Started:** 2026-11-02\n- **Goal:** stop it\n- "
        "**Status:** blocked\n",
        "# T\n\n**Owner:** Ana\n**Date:** 2026-11-02\n**Objective:** stop it\n**State:** "
        "waiting\n",
        "# T\n\nOwner: Ana\nStarted: 2026-11-02\nAim: stop it\nStatus: on hold\n",
        "# T\n\n**Owner:** Ana \xc2\xb7 **Started:** 2026-11-02 \xc2\xb7 **Goal:** stop it \xc2\xb7 "
        "**Status:** paused\n",
        "---\nowner: Ana\nstarted: '2026-11-02'\nobjective: \"stop it\"\nstatus: waiting\n---\n"
        "# T\n",
        "---\r\ntitle: T\r\nowner: Ana\r\nstarted: 2026-11-02\r\ngoal: stop it\r\nstatus: "
        "blocked\r\n---\r\n",
        "T\n=\n\nOwner:: Ana\nStarted:: 2026-11-02\nGoal:: stop it\nStatus:: waiting\n",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        struct ft_import_report rep;
        struct ft_tracker *t = tol(docs[i], &rep);
        assert_string_equal(t->title, "T");
        assert_string_equal(t->owner, "Ana");
        assert_string_equal(t->started, "2026-11-02");
        assert_string_equal(t->objective, "stop it");
        assert_int_equal(t->status, FT_STATUS_WAITING);
        if (rep.n)
            fail_msg("doc %zu: warning line %d: %s", i, rep.v[0].line, rep.v[0].msg);
        ft_import_report_release(&rep);
        ft_tracker_free(t);
    }
}

static void test_tolerant_front_matter(void **state)
{
    (void)state;
    struct ft_import_report rep;
    struct ft_tracker *t = tol("---\n# a comment\ntitle: From front matter\norganisation: ACME\n"
                               "tags: [a, b]\n  nested: x\nstarted: soon\n---\n\n"
                               "# From front matter\n\n- [x] done thing\n",
                               &rep);
    assert_string_equal(t->title, "From front matter");
    assert_string_equal(t->org, "ACME");
    assert_string_equal(t->started, "");
    assert_int_equal(count_state(t, FT_ST_DONE), 1);
    /* the key the model has no field for, the line that is no key, the date that is none */
    assert_int_equal(t->lists[FT_K_NOTE].n, 3);
    assert_string_equal(t->lists[FT_K_NOTE].v[0].text, "tags: [a, b]");
    assert_string_equal(t->lists[FT_K_NOTE].v[1].text, "nested: x");
    assert_string_equal(t->lists[FT_K_NOTE].v[2].text, "started: soon");
    assert_int_equal(rep.n, 3);
    assert_int_equal(rep.v[0].line, 5);
    assert_int_equal(rep.v[1].line, 6);
    assert_int_equal(rep.v[2].line, 7);
    ft_import_report_release(&rep);
    ft_tracker_free(t);
    /* no closing fence: not front matter (a rule, then text) */
    t = tol("---\ntitle: x\n\n# Real title\n", &rep);
    assert_string_equal(t->title, "Real title");
    ft_import_report_release(&rep);
    ft_tracker_free(t);
}

static void test_tolerant_results(void **state)
{
    (void)state;
    struct ft_import_report rep;
    struct ft_tracker *t = tol("# T\n\n## Results\n\n"
                               "- 2026-11-02: raised the deadline \xe2\x86\x92 fail + still slow\n"
                               "- 2026-11-02 \xe2\x80\x94 tried X: hang\n"
                               "- 2026-11-03 - tried Y -> passed, 5 runs clean\n"
                               "- [2026-11-04] looked at the dumps: nothing obvious\n"
                               "- \xe2\x9c\x85 bumped the buffer\n"
                               "- 2026-11-05: first line\n  second line\n"
                               "\n## Attempts table\n\n"
                               "| Notes | Outcome | When | What we tried | Host |\n"
                               "|---|---|---|---|---|\n"
                               "| p99 120 ms | pass | 2026-11-06 | pinned grpc 1.58 | db-1 |\n"
                               "| | crashed | Nov 7 | doubled the pool | |\n"
                               "| | | 2026-11-08 | halved it \xe2\x86\x92 pass + 3 runs | |\n"
                               "| | hang | 2026-11-09 | pooling off  \xe2\x86\x92 | |\n",
                               &rep);
    const struct ft_entry_list *l = &t->lists[FT_K_RESULT];
    assert_int_equal(l->n, 10);
    static const struct {
        const char *date, *attempt;
        int outcome;
        const char *notes;
    } want[] = {
        {"2026-11-02", "raised the deadline", FT_OUT_FAIL, "still slow"},
        {"2026-11-02", "tried X", FT_OUT_HANG, ""},
        {"2026-11-03", "tried Y", FT_OUT_PASS, "5 runs clean"},
        {"2026-11-04", "looked at the dumps: nothing obvious", FT_OUT_NONE, ""},
        {"", "bumped the buffer", FT_OUT_PASS, ""},
        {"2026-11-05", "first line", FT_OUT_NONE, "second line"},
        {"2026-11-06", "pinned grpc 1.58", FT_OUT_PASS, "p99 120 ms\nHost: db-1"},
        {"", "doubled the pool", FT_OUT_CRASH, "Nov 7"},
        /* an arrow in the attempt cell and no outcome cell: what follows reads as in a list */
        {"2026-11-08", "halved it", FT_OUT_PASS, "3 runs"},
        /* an attempt that ends with an arrow: " →" then the layout's " → " would read back
         * as another attempt */
        {"2026-11-09", "pooling off", FT_OUT_HANG, ""},
    };
    for (size_t i = 0; i < 10; i++) {
        assert_string_equal(l->v[i].date, want[i].date);
        assert_string_equal(l->v[i].text, want[i].attempt);
        assert_int_equal(l->v[i].state, want[i].outcome);
        assert_string_equal(l->v[i].detail, want[i].notes);
    }
    /* the table sits under a heading that names no section: the heading is kept; the date that
     * is no date is in the notes, with a warning */
    assert_int_equal(rep.n, 2);
    assert_int_equal(rep.v[1].line, 18);
    ft_import_report_release(&rep);
    ft_tracker_free(t);
}

static void test_tolerant_verdicts(void **state)
{
    (void)state;
    struct ft_import_report rep;
    struct ft_tracker *t =
        tol("# T\n\n## Hypotheses\n\n"
            "- Ruled out: a\n- b (rejected)\n- \xe2\x9d\x8c c\n- \xe2\x9c\x85 d\n"
            "- confirmed: e\n- f: open\n- g\n- [disproved] h\n"
            "- i \xe2\x86\x92 ruled out: the logs say no\n"
            "- j (ruled out: only 3 attempts)\n- ~~k~~\n"
            "- l \xe2\x80\x94 confirmed\n  - Evidence: seen twice\n  - and a third time\n",
            &rep);
    const struct ft_entry_list *l = &t->lists[FT_K_HYP];
    static const struct {
        const char *text;
        int v;
        const char *evidence;
    } want[] = {
        {"a", FT_V_RULED_OUT, ""},
        {"b", FT_V_RULED_OUT, ""},
        {"c", FT_V_RULED_OUT, ""},
        {"d", FT_V_CONFIRMED, ""},
        {"e", FT_V_CONFIRMED, ""},
        {"f", FT_V_OPEN, ""},
        {"g", FT_V_OPEN, ""},
        {"h", FT_V_RULED_OUT, ""},
        {"i", FT_V_RULED_OUT, "the logs say no"},
        {"j", FT_V_RULED_OUT, "only 3 attempts"},
        {"k", FT_V_RULED_OUT, ""},
        {"l", FT_V_CONFIRMED, "seen twice\nand a third time"},
    };
    assert_int_equal(l->n, 12);
    for (size_t i = 0; i < 12; i++) {
        assert_string_equal(l->v[i].text, want[i].text);
        assert_int_equal(l->v[i].state, want[i].v);
        assert_string_equal(l->v[i].detail, want[i].evidence);
    }
    assert_int_equal(rep.n, 0);
    ft_import_report_release(&rep);
    ft_tracker_free(t);
}

static void test_tolerant_crlf_and_notes(void **state)
{
    (void)state;
    const char *lf = "# T\n\nSome intro prose.\n\n## Progress\n\n- [x] a\n  continued\n- [ ] b\n\n"
                     "Prose in progress.\n\n## Environment\n\n- Linux 6.1\n\n## Symptoms\n\n"
                     "It hangs.\n\n- hang after 30 s\n";
    struct ft_buf crlf;
    ft_buf_init(&crlf, 0);
    for (const char *p = lf; *p; p++) {
        if (*p == '\n')
            ft_buf_addc(&crlf, '\r');
        ft_buf_addc(&crlf, *p);
    }
    struct ft_import_report r1, r2;
    struct ft_tracker *a = tol(lf, &r1), *b = tol(crlf.buf, &r2);
    char *ra = render(a, FT_FMT_TEXT), *rb = render(b, FT_FMT_TEXT);
    assert_string_equal(ra, rb);
    assert_null(strchr(rb, '\r'));
    assert_string_equal(b->lists[FT_K_ITEM].v[0].text, "a\ncontinued");
    assert_string_equal(b->symptoms_note, "It hangs.");
    /* kept in order as notes, each with its line */
    const struct ft_entry_list *n = &b->lists[FT_K_NOTE];
    assert_int_equal(n->n, 4);
    assert_string_equal(n->v[0].text, "Some intro prose.");
    assert_string_equal(n->v[1].text, "Prose in progress.");
    assert_string_equal(n->v[2].text, "Environment");
    assert_string_equal(n->v[3].text, "Linux 6.1");
    assert_int_equal(r2.n, 4);
    static const int lines[] = {3, 11, 13, 15};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(r2.v[i].line, lines[i]);
    free(ra);
    free(rb);
    ft_buf_release(&crlf);
    ft_import_report_release(&r1);
    ft_import_report_release(&r2);
    ft_tracker_free(a);
    ft_tracker_free(b);
}

static void test_tolerant_modes(void **state)
{
    (void)state;
    const char *own = "# T\n\n## Done\n\n- a\n";
    struct ft_tracker *t = NULL;
    struct ft_err err;
    struct ft_import_report rep;
    assert_int_equal(
        ft_import_read(own, strlen(own), FT_IMPORT_AUTO, FT_IMPORT_EXACT, &t, &rep, &err),
        FT_EINVAL);
    assert_null(t);
    ft_import_report_release(&rep);
    /* the exact layouts still go through the exact reader */
    struct ft_tracker *g = ft_tracker_new();
    ft_set_str(&g->title, "Exact");
    char *doc = render(g, FT_FMT_MD);
    t = tol(doc, &rep);
    assert_int_equal(rep.tolerant, 0);
    assert_string_equal(rep.exact_refusal, "");
    ft_import_report_release(&rep);
    ft_tracker_free(t);
    free(doc);
    ft_tracker_free(g);
    /* bad input is refused by every reader */
    const char bin[] = "# T\n\n- a\n- \xc3\n";
    for (int m = FT_IMPORT_FALLBACK; m <= FT_IMPORT_TOLERANT; m++) {
        assert_int_equal(ft_import_read(bin, sizeof(bin) - 1, FT_IMPORT_AUTO,
                                        (enum ft_import_mode)m, &t, NULL, &err),
                         FT_EINVAL);
        assert_non_null(strstr(err.msg, "line 4: not valid UTF-8"));
    }
    /* no title at all */
    assert_int_equal(
        ft_import_read("- [ ] a\n", 8, FT_IMPORT_AUTO, FT_IMPORT_TOLERANT, &t, NULL, &err),
        FT_EINVAL);
    assert_non_null(strstr(err.msg, "no title"));
}

static void test_json_roundtrip(void **state)
{
    (void)state;
    for (int i = 0; i < 200; i++) {
        rng_state = 0x51ed27 + (uint64_t)i * 104729;
        struct ft_tracker *t = gen_tracker();
        /* numbers as a store gives them, with gaps */
        for (int k = 0; k < FT_K__COUNT; k++)
            for (size_t j = 0; j < t->lists[k].n; j++)
                t->lists[k].v[j].num = (int)(j * 2 + 1);
        for (size_t j = 0; j < t->lists[FT_K_ITEM].n; j++)
            if (t->lists[FT_K_ITEM].v[j].state == FT_ST_DOING && j % 2 == 0) {
                t->lists[FT_K_ITEM].v[j].claimed_by = ft_xstrdup("agent-1");
                t->lists[FT_K_ITEM].v[j].claimed_at = 1767225600000;
            }
        char *doc = render(t, FT_FMT_JSON);
        struct ft_tracker *back = NULL;
        struct ft_import_report rep;
        struct ft_err err;
        if (ft_import_read(doc, strlen(doc), FT_IMPORT_AUTO, FT_IMPORT_FALLBACK, &back, &rep, &err))
            fail_msg("tracker %d: %s", i, err.msg);
        assert_int_equal(rep.fmt, FT_IMPORT_JSON);
        assert_int_equal(rep.n, 0);
        assert_same(t, back);
        for (int k = 0; k < FT_K__COUNT; k++)
            for (size_t j = 0; j < t->lists[k].n; j++)
                assert_int_equal(back->lists[k].v[j].num, t->lists[k].v[j].num);
        char *again = render(back, FT_FMT_JSON);
        assert_string_equal(doc, again);
        free(again);
        free(doc);
        ft_import_report_release(&rep);
        ft_tracker_free(back);
        ft_tracker_free(t);
    }
}

static void test_json_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *doc, *needle;
    } bad[] = {
        {"{\n\"title\": \"x\",\n\"items\": [1,]\n}", "line 3"},
        {"{\"title\": 3}", "title"},
        {"{\"title\": \"x\", \"items\": [{\"text\": \"a\", \"state\": \"finished\"}]}",
         "items[0].state"},
        {"{\"title\": \"x\", \"hypotheses\": [{\"text\": \"a\", \"verdict\": \"maybe\"}]}",
         "hypotheses[0].verdict"},
        {"{\"title\": \"x\", \"results\": [{\"attempt\": \"a\", \"date\": \"2026-02-30\"}]}",
         "results[0]"},
        {"{\"title\": \"x\", \"steps\": [{\"title\": \"a: b\"}]}", "steps[0]"},
        /* the layouts would read these notes back as the outcome */
        {"{\"title\": \"x\", \"results\": [{\"attempt\": \"a\", \"notes\": \"pass + b\"}]}",
         "may not start with 'pass + '"},
        {"{\"title\": \"x\", \"results\": [{\"attempt\": \"a\", \"notes\": \"hang\"}]}",
         "results[0]"},
        {"{\"title\": \"x\", \"results\": [{\"attempt\": \"a \u2192\", \"outcome\": \"hang\"}]}",
         "end with"},
        {"{\"title\": \"x\", \"rules\": {}}", "rules: expected an array"},
        {"{\"title\": \"x\", \"title\": \"y\"}", "line 1"},
        {"[1, 2]", "expected a tracker object"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct ft_tracker *t = NULL;
        struct ft_err err;
        int rc = ft_import_read(bad[i].doc, strlen(bad[i].doc), FT_IMPORT_JSON, FT_IMPORT_FALLBACK,
                                &t, NULL, &err);
        assert_int_equal(rc, FT_EINVAL);
        assert_null(t);
        if (!strstr(err.msg, bad[i].needle))
            fail_msg("'%s': error '%s' lacks '%s'", bad[i].doc, err.msg, bad[i].needle);
    }
    /* what the model cannot hold is named, not silently skipped */
    const char *extra = "{\"title\": \"x\", \"mood\": 1, \"runs\": [{}], \"items\": [{\"text\": "
                        "\"a\", \"state\": \"done\", \"claimed_by\": \"b\", \"colour\": \"red\"}]}";
    struct ft_import_report rep;
    struct ft_tracker *t = tol(extra, &rep);
    assert_int_equal(rep.n, 4);
    assert_null(t->lists[FT_K_ITEM].v[0].claimed_by);
    ft_import_report_release(&rep);
    ft_tracker_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_example_bytes),
        cmocka_unit_test(test_own_example_bytes),
        cmocka_unit_test(test_roundtrip_text),
        cmocka_unit_test(test_input_check),
        cmocka_unit_test(test_readers_normalise),
        cmocka_unit_test(test_repro_backticks),
        cmocka_unit_test(test_roundtrip_md),
        cmocka_unit_test(test_empty_tracker_roundtrip),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_tolerant_section_synonyms),
        cmocka_unit_test(test_tolerant_item_states),
        cmocka_unit_test(test_tolerant_header_fields),
        cmocka_unit_test(test_tolerant_front_matter),
        cmocka_unit_test(test_tolerant_results),
        cmocka_unit_test(test_tolerant_verdicts),
        cmocka_unit_test(test_tolerant_crlf_and_notes),
        cmocka_unit_test(test_tolerant_modes),
        cmocka_unit_test(test_tolerant_fence_at_end),
        cmocka_unit_test(test_json_roundtrip),
        cmocka_unit_test(test_json_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
