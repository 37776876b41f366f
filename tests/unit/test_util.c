/* util: bounded buffer, durations, dates, UTF-8, text normalisation, slugs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/model.h"
#include "core/patch.h"
#include "util/ft_buf.h"
#include "util/ft_err.h"
#include "util/ft_pool.h"
#include "util/ft_text.h"
#include "util/ft_time.h"

/* An error names its field where it is raised; nothing reads it back from the message. */
static void test_err_field(void **state)
{
    (void)state;
    struct ft_err err;
    struct ft_entry e;
    ft_entry_init(&e, FT_K_ITEM, 0);
    json_t *p = json_pack("{s:s}", "state", "maybe");
    assert_int_equal(ft_entry_patch(&e, p, &err), FT_EINVAL);
    assert_string_equal(err.field, "state");
    json_decref(p);
    p = json_pack("{s:s}", "colour", "red");
    assert_int_equal(ft_entry_patch(&e, p, &err), FT_EINVAL);
    assert_string_equal(err.field, "colour");
    json_decref(p);
    ft_entry_release(&e);
    ft_entry_init(&e, FT_K_RESULT, 0);
    ft_set_str(&e.text, "tried \a");
    e.text[6] = '\a';
    assert_int_equal(ft_entry_validate(&e, &err), FT_EINVAL);
    assert_string_equal(err.field, "attempt");
    ft_entry_release(&e);

    struct ft_tracker *t = ft_tracker_new();
    assert_int_equal(ft_tracker_validate(t, &err), FT_EINVAL);
    assert_string_equal(err.field, "title");
    p = json_pack("{s:s, s:s}", "title", "T", "started", "2026-02-31");
    assert_int_equal(ft_tracker_patch(t, p, NULL, &err), FT_EINVAL);
    assert_string_equal(err.field, "started");
    json_decref(p);
    ft_tracker_free(t);
    /* a plain error clears the field of an earlier one */
    ft_err_set(&err, FT_EIO, "disk");
    assert_string_equal(err.field, "");
}

static void test_buf_cap(void **state)
{
    (void)state;
    struct ft_buf b;
    ft_buf_init(&b, 8);
    assert_string_equal(b.buf, "");
    assert_int_equal(ft_buf_adds(&b, "12345678"), 0);
    assert_int_equal(ft_buf_addc(&b, 'x'), FT_ETOOBIG);
    assert_int_equal(ft_buf_addf(&b, "%d", 1), FT_ETOOBIG);
    assert_int_equal(b.len, 8);
    assert_string_equal(b.buf, "12345678");
    ft_buf_release(&b);
    ft_buf_release(NULL);
    /* decimal digits without printf */
    ft_buf_init(&b, 0);
    ft_buf_addu(&b, 0);
    ft_buf_addc(&b, ' ');
    ft_buf_addu(&b, 1234567890);
    ft_buf_addc(&b, ' ');
    ft_buf_addu(&b, 18446744073709551615ULL);
    assert_string_equal(b.buf, "0 1234567890 18446744073709551615");
    ft_buf_release(&b);
}

static void test_durations(void **state)
{
    (void)state;
    int64_t ms;
    static const struct {
        const char *in;
        int64_t ms;
        const char *out;
    } ok[] = {{"30", 30000, "30s"},       {"2.5s", 2500, "2.5s"},  {"5m", 300000, "5m"},
              {"1h", 3600000, "1h"},      {"3d", 259200000, "3d"}, {"250ms", 250, "250ms"},
              {"61.25", 61250, "61.25s"}, {"0", 0, "0s"}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_int_equal(ft_duration_parse(ok[i].in, &ms), 0);
        assert_int_equal(ms, ok[i].ms);
        char buf[32];
        ft_duration_fmt(ms, buf, sizeof(buf));
        assert_string_equal(buf, ok[i].out);
        assert_int_equal(ft_duration_parse(buf, &ms), 0);
        assert_int_equal(ms, ok[i].ms);
    }
    const char *bad[] = {"", "-1", "abc", "5x", "1e400", "5 m", " 5", "nan", "inf"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(ft_duration_parse(bad[i], &ms), FT_EINVAL);
}

static void test_dates(void **state)
{
    (void)state;
    assert_true(ft_date_valid("2024-02-29"));
    assert_false(ft_date_valid("2023-02-29"));
    assert_false(ft_date_valid("2026-13-01"));
    assert_false(ft_date_valid("YYYY-MM-DD"));
    assert_false(ft_date_valid("2026-1-01"));
    char d[16];
    ft_time_date(0, d, sizeof(d));
    assert_string_equal(d, "1970-01-01");
}

static void test_utf8_and_norm(void **state)
{
    (void)state;
    size_t bad;
    assert_true(ft_utf8_valid("caf\xc3\xa9 \xf0\x9f\x94\x84", 10, &bad));
    assert_false(ft_utf8_valid("a\xc3", 2, &bad));
    assert_int_equal(bad, 1);
    assert_false(ft_utf8_valid("\xed\xa0\x80", 3, &bad)); /* a surrogate */
    assert_false(ft_utf8_valid("\xc0\xaf", 2, &bad));     /* overlong */
    assert_false(ft_utf8_valid("a\0b", 3, &bad));
    char *n = ft_text_norm("  a  \r\n\r\n\n  b\t \n\n");
    assert_string_equal(n, "a\n\n  b");
    free(n);
    char *s = ft_slugify("Example Tracker \xe2\x80\x94 Streaming Endpoint Stability", 40);
    assert_string_equal(s, "example-tracker-streaming-endpoint");
    free(s);
    s = ft_slugify("2026", 40);
    assert_string_equal(s, "tracker");
    free(s);
    assert_true(ft_slug_valid("sse-leak"));
    assert_false(ft_slug_valid("123"));
    assert_false(ft_slug_valid("Bad Slug"));
}

/* A pool's strings: copies of the bytes given, each NUL-terminated and apart from the others,
 * over many chunks and beside strings too long for one; "" is shared and costs nothing. */
static void test_pool(void **state)
{
    (void)state;
    struct ft_pool *p = ft_pool_new();
    char *s[5000];
    char want[32];
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(want, sizeof(want), "string %d", i);
        s[i] = ft_pool_strndup(p, want, (size_t)n);
    }
    char *big = malloc(100000);
    memset(big, 'x', 100000);
    char *b1 = ft_pool_strndup(p, big, 100000);
    char *after = ft_pool_strndup(p, "after the big one", 17);
    char *b2 = ft_pool_strndup(p, big, 20000);
    assert_int_equal(strlen(b1), 100000);
    assert_int_equal(strlen(b2), 20000);
    assert_string_equal(after, "after the big one");
    for (int i = 0; i < 5000; i++) {
        snprintf(want, sizeof(want), "string %d", i);
        assert_string_equal(s[i], want);
    }
    assert_string_equal(ft_pool_strndup(p, "abc", 2), "ab");
    char *e1 = ft_pool_strndup(p, "", 0), *e2 = ft_pool_strndup(p, "ignored", 0);
    assert_ptr_equal(e1, e2);
    assert_string_equal(e1, "");
    free(big);
    ft_pool_free(p);
    ft_pool_free(NULL);
    /* a big string first, into an empty pool */
    p = ft_pool_new();
    char *only = malloc(30000);
    memset(only, 'y', 29999);
    only[29999] = '\0';
    assert_string_equal(ft_pool_strndup(p, only, 29999), only);
    assert_string_equal(ft_pool_strndup(p, "small", 5), "small");
    free(only);
    ft_pool_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_field),     cmocka_unit_test(test_buf_cap),
        cmocka_unit_test(test_durations),     cmocka_unit_test(test_dates),
        cmocka_unit_test(test_utf8_and_norm), cmocka_unit_test(test_pool),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
