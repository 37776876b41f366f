/*
 * Unit tests of the server's pure helpers: the SSE frame encoder (stream.c is included to reach
 * its statics), sequence-number parsing, the constant-time token comparison, loopback host
 * names and logfmt quoting. Socket behaviour is tested end to end in tests/e2e/t4*.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../src/server/feed.c"

static void frame_one_line(void **state)
{
    (void)state;
    struct ft_buf b;
    struct ft_event ev = {.seq = 42,
                          .tracker_id = 1,
                          .slug = "s",
                          .at = 0,
                          .actor = "a",
                          .kind = "item.add",
                          .payload = "{\"text\":\"hi\"}"};
    ft_buf_init(&b, 0);
    format_event(&b, &ev, 0);
    assert_string_equal(b.buf, "id: 42\nevent: item.add\ndata: {\"text\":\"hi\"}\n\n");
    ft_buf_release(&b);
}

static void frame_splits_every_line_break(void **state)
{
    (void)state;
    struct ft_buf b;
    struct ft_event ev = {
        .seq = 7, .slug = "", .actor = "", .kind = "k\nx", .payload = "a\r\nb\nc\rd"};
    ft_buf_init(&b, 0);
    format_event(&b, &ev, 0);
    /* a stray CR or LF can neither cut the event nor forge a field */
    assert_string_equal(b.buf, "id: 7\nevent: k_x\ndata: a\ndata: b\ndata: c\ndata: d\n\n");
    ft_buf_release(&b);
}

static void frame_envelope(void **state)
{
    (void)state;
    struct ft_buf b;
    struct ft_event ev = {.seq = 3,
                          .tracker_id = 9,
                          .slug = "bug",
                          .at = 0,
                          .actor = "ana",
                          .kind = "item.update",
                          .payload = "{\"num\":1}"};
    ft_buf_init(&b, 0);
    format_event(&b, &ev, 1);
    assert_non_null(strstr(b.buf, "\"slug\":\"bug\""));
    assert_non_null(strstr(b.buf, "\"payload\":{\"num\":1}"));
    assert_non_null(strstr(b.buf, "\"seq\":3"));
    assert_int_equal(b.buf[b.len - 1], '\n');
    assert_int_equal(b.buf[b.len - 2], '\n');
    assert_null(strchr(strstr(b.buf, "data: "), '\r'));
    ft_buf_release(&b);
}

static void seq_parsing(void **state)
{
    (void)state;
    assert_int_equal(parse_seq("0"), 0);
    assert_int_equal(parse_seq("123456"), 123456);
    assert_int_equal(parse_seq(""), -1);
    assert_int_equal(parse_seq("-1"), -1);
    assert_int_equal(parse_seq("12a"), -1);
    assert_int_equal(parse_seq(" 1"), -1);
    assert_int_equal(parse_seq("1234567890123456789"), -1); /* would overflow */
}

static void token_compare(void **state)
{
    (void)state;
    assert_true(ft_ct_streq("s3cret", "s3cret"));
    assert_false(ft_ct_streq("s3cret", "s3cre"));
    assert_false(ft_ct_streq("s3cre", "s3cret"));
    assert_false(ft_ct_streq("s3cret", "s3creT"));
    assert_false(ft_ct_streq("", "x"));
    assert_true(ft_ct_streq("", ""));
}

static void loopback_names(void **state)
{
    (void)state;
    assert_true(ft_host_is_loopback("localhost"));
    assert_true(ft_host_is_loopback("127.0.0.1"));
    assert_true(ft_host_is_loopback("127.1.2.3"));
    assert_true(ft_host_is_loopback("[::1]"));
    assert_false(ft_host_is_loopback("localhost.evil.example"));
    assert_false(ft_host_is_loopback("128.0.0.1"));
    assert_false(ft_host_is_loopback("10.0.0.1"));
    assert_false(ft_host_is_loopback(""));
}

static void logfmt_quoting(void **state)
{
    (void)state;
    struct ft_buf b;
    ft_buf_init(&b, 0);
    srv_logfmt_value(&b, "plain");
    ft_buf_addc(&b, ' ');
    srv_logfmt_value(&b, "two words");
    ft_buf_addc(&b, ' ');
    srv_logfmt_value(&b, "a\"b\nc");
    ft_buf_addc(&b, ' ');
    srv_logfmt_value(&b, "");
    assert_string_equal(b.buf, "plain \"two words\" \"a\\\"b\\nc\" \"\"");
    ft_buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frame_one_line), cmocka_unit_test(frame_splits_every_line_break),
        cmocka_unit_test(frame_envelope), cmocka_unit_test(seq_parsing),
        cmocka_unit_test(token_compare),  cmocka_unit_test(loopback_names),
        cmocka_unit_test(logfmt_quoting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
