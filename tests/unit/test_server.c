/*
 * Unit tests of the server's pure helpers: the SSE frame encoder (feed.c is included to reach
 * its statics), sequence-number parsing, the constant-time token comparison, loopback host
 * names, logfmt quoting, and the route table: which row a request finds, what it captures,
 * and what 404 and 405 say. Socket behaviour is tested end to end in tests/e2e/t4*.
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

/* Route a request: 0 and the row's label and captures, or the status and what it says. */
static int route(enum evhttp_cmd_type cmd, const char *path, struct call *c, int *status, char *msg)
{
    memset(c, 0, sizeof(*c));
    c->cmd = cmd;
    *status = 0;
    msg[0] = '\0';
    return srv_route(c, path, status, msg, 400);
}

static const char *cap(struct call *c, const char *k)
{
    json_t *v = json_object_get(c->caps, k);
    return json_is_string(v) ? json_string_value(v) : json_is_true(v) ? "true" : "";
}

static void routes(void **state)
{
    (void)state;
    struct call c;
    int status;
    char msg[400];
    assert_int_equal(route(EVHTTP_REQ_GET, "/api/trackers/hang.md", &c, &status, msg), 0);
    assert_int_equal(c.label, R_TRACKER);
    assert_int_equal(c.route->op, FT_OP_TRACKER_SHOW);
    assert_string_equal(cap(&c, "tracker"), "hang");
    assert_string_equal(cap(&c, "view"), ".md");
    json_decref(c.caps);
    assert_int_equal(route(EVHTTP_REQ_POST, "/api/trackers/~/results/", &c, &status, msg), 0);
    assert_int_equal(c.label, R_ENTRIES);
    assert_string_equal(cap(&c, "kind"), "result");
    assert_string_equal(cap(&c, "tracker"), "~");
    json_decref(c.caps);
    assert_int_equal(route(EVHTTP_REQ_PATCH, "/api/trackers/1/hypotheses/#3", &c, &status, msg), 0);
    assert_int_equal(json_integer_value(json_object_get(c.caps, "num")), 3);
    assert_int_equal(c.route->op, FT_OP_ENTRY_EDIT);
    json_decref(c.caps);
    assert_int_equal(route(EVHTTP_REQ_HEAD, "/api/history", &c, &status, msg), 0);
    assert_string_equal(cap(&c, "all"), "true");
    json_decref(c.caps);
    assert_int_equal(route(EVHTTP_REQ_GET, "/api/trackers/x/header", &c, &status, msg), 0);
    assert_int_equal(c.label, R_HEADER);
    json_decref(c.caps);

    /* 405 with the methods of the path; HEAD is a GET except on the event streams */
    assert_int_equal(route(EVHTTP_REQ_PUT, "/api/trackers", &c, &status, msg), -1);
    assert_int_equal(status, 405);
    assert_string_equal(msg, "GET, HEAD, POST");
    assert_int_equal(route(EVHTTP_REQ_DELETE, "/api/trackers/x/events", &c, &status, msg), -1);
    assert_string_equal(msg, "GET");
    assert_int_equal(c.label, R_EVENTS);
    assert_int_equal(route(EVHTTP_REQ_HEAD, "/api/events", &c, &status, msg), -1);
    assert_int_equal(status, 405);
    assert_int_equal(route(EVHTTP_REQ_POST, "/api/trackers/x/runs/2", &c, &status, msg), -1);
    assert_string_equal(msg, "GET, HEAD");

    /* 404 says what is there instead */
    assert_int_equal(route(EVHTTP_REQ_GET, "/api/trackers/x/widgets", &c, &status, msg), -1);
    assert_int_equal(status, 404);
    assert_non_null(strstr(msg, "no section 'widgets'"));
    assert_int_equal(route(EVHTTP_REQ_GET, "/api/trackers/x/items/abc", &c, &status, msg), -1);
    assert_string_equal(msg, "no such items entry");
    assert_int_equal(c.caps, NULL);
    assert_int_equal(route(EVHTTP_REQ_GET, "/api/trackers/x/runs/0", &c, &status, msg), -1);
    assert_string_equal(msg, "no run '0'");
    assert_int_equal(route(EVHTTP_REQ_GET, "/api/trackers/x.pdf", &c, &status, msg), -1);
    assert_non_null(strstr(msg, "no view '.pdf'"));
    assert_int_equal(route(EVHTTP_REQ_GET, "/api/trackers/x%2fy", &c, &status, msg), -1);
    assert_int_equal(route(EVHTTP_REQ_GET, "/api//trackers", &c, &status, msg), -1);
    assert_int_equal(route(EVHTTP_REQ_GET, "/api/trackers/x/items/1/2/3", &c, &status, msg), -1);
    assert_int_equal(status, 404);
    assert_int_equal(c.label, R_OTHER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frame_one_line), cmocka_unit_test(frame_splits_every_line_break),
        cmocka_unit_test(frame_envelope), cmocka_unit_test(seq_parsing),
        cmocka_unit_test(token_compare),  cmocka_unit_test(loopback_names),
        cmocka_unit_test(logfmt_quoting), cmocka_unit_test(routes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
