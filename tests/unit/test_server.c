/*
 * Unit tests of the server's pure helpers: the SSE frame encoder (feed.c is included to reach
 * its statics), sequence-number parsing, the constant-time token comparison, loopback host
 * names, logfmt quoting, and the route table: which row a request finds, what it captures,
 * and what 404 and 405 say; and the server made and freed in process (ft_server_new, as the
 * fuzz target does) answering one request. Socket behaviour is tested end to end in
 * tests/e2e/t4*.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../../src/server/feed.c"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* GET /healthz over a real socket to srv, turning its loop (bounded); the answer in out. */
static void healthz(struct ft_server *srv, int port, char *out, size_t n)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_true(connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 || errno == EINPROGRESS);
    static const char req[] =
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    size_t got = 0, sent = 0;
    for (int turn = 0; turn < 2000; turn++) {
        event_base_loop(srv->base, EVLOOP_NONBLOCK);
        if (sent < sizeof(req) - 1) {
            ssize_t k = send(fd, req + sent, sizeof(req) - 1 - sent, MSG_NOSIGNAL);
            sent += k > 0 ? (size_t)k : 0;
        }
        ssize_t k = recv(fd, out + got, n - 1 - got, MSG_DONTWAIT);
        if (k == 0)
            break;
        if (k > 0)
            got += (size_t)k;
        if (k < 0)
            usleep(1000);
    }
    out[got] = '\0';
    close(fd);
}

/* ft_server_new / ft_server_free without and with a listener; the log goes where log.fd says. */
static void server_lifecycle(void **state)
{
    (void)state;
    struct ft_store *st;
    struct ft_server *srv;
    struct ft_server_opts o;
    struct ft_err err;
    char answer[4096], log[8192];
    int p[2];
    ft_server_free(NULL);
    assert_int_equal(ft_store_open(":memory:", FT_STORE_CREATE, &st, &err), 0);
    ft_server_opts_init(&o);
    o.listen = "127.0.0.1:0";

    assert_int_equal(ft_server_new(&o, st, &srv, &err), 0);
    assert_non_null(srv->base);
    assert_null(srv->bound); /* no listener, no signals until the caller says */
    assert_null(srv->ev_term);
    ft_server_free(srv);

    assert_int_equal(ft_server_new(&o, st, &srv, &err), 0);
    assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    srv->log.fd = p[1];
    assert_int_equal(srv_listen(srv, &err), 0);
    feed_watch_start(srv);
    int port = (int)strtol(strrchr(srv->url, ':') + 1, NULL, 10);
    assert_true(port > 0);
    healthz(srv, port, answer, sizeof(answer));
    assert_non_null(strstr(answer, "HTTP/1.1 200 OK\r\n"));
    for (int turn = 0; turn < 1000 && srv->conns.open > 0; turn++)
        event_base_loop(srv->base, EVLOOP_NONBLOCK);
    assert_int_equal(srv->conns.open, 0);
    ft_server_free(srv); /* writes what the log still holds */
    ssize_t k = read(p[0], log, sizeof(log) - 1);
    assert_true(k > 0);
    log[k] = '\0';
    assert_non_null(
        strstr(log, "event=request method=GET path=/healthz route=/healthz status=200"));
    close(p[0]);
    close(p[1]);
    ft_store_close(st);

    /* the route table by index: every row, then NULL */
    size_t rows = 0;
    while (srv_route_nth(rows))
        rows++;
    assert_true(rows > 20);
    assert_string_equal(srv_route_pattern(srv_route_nth(0)), "/healthz");
}

/* What the server knows of trackers from the log (versions.c). */
static void tracker_versions(void **state)
{
    (void)state;
    struct ft_versions vs;
    ft_versions_init(&vs);
    assert_int_equal(ft_versions_get(&vs, 1), -1);
    assert_int_equal(ft_versions_ref(&vs, "a"), 0);
    /* events move a version forward only; a store read keeps the larger */
    ft_versions_event(&vs, 1, 5, "item.add");
    ft_versions_note(&vs, 1, 3);
    assert_int_equal(ft_versions_get(&vs, 1), 5);
    ft_versions_note(&vs, 1, 9);
    ft_versions_event(&vs, 1, 7, "item.add");
    assert_int_equal(ft_versions_get(&vs, 1), 9);
    ft_versions_note(&vs, 2, 0); /* a failed read (every tracker has an event) */
    assert_int_equal(ft_versions_get(&vs, 2), -1);
    /* many trackers: the table grows, every one is found */
    for (int64_t t = 10; t < 5010; t++)
        ft_versions_event(&vs, t, t * 2, "item.add");
    for (int64_t t = 10; t < 5010; t++)
        assert_int_equal(ft_versions_get(&vs, t), t * 2);
    assert_int_equal(ft_versions_get(&vs, 1), 9);
    /* references: kept until a tracker.* event; a delete forgets the version */
    ft_versions_ref_put(&vs, "a", 1);
    ft_versions_ref_put(&vs, "1", 1);
    ft_versions_event(&vs, 1, 10, "item.edit");
    assert_int_equal(ft_versions_ref(&vs, "a"), 1);
    ft_versions_event(&vs, 1, 11, "tracker.update");
    assert_int_equal(ft_versions_ref(&vs, "a"), 0);
    assert_int_equal(ft_versions_ref(&vs, "1"), 0);
    assert_int_equal(ft_versions_get(&vs, 1), 11);
    ft_versions_event(&vs, 1, 12, "tracker.delete");
    assert_int_equal(ft_versions_get(&vs, 1), -1);
    /* past the bound, the references are learnt again */
    char ref[16];
    for (int i = 0; i < 5000; i++) {
        snprintf(ref, sizeof(ref), "t%d", i);
        ft_versions_ref_put(&vs, ref, i + 1);
        assert_int_equal(ft_versions_ref(&vs, ref), i + 1);
    }
    assert_true(vs.rn <= 4096);
    ft_versions_release(&vs);
    ft_versions_release(NULL);
}

/* The workers' shared mapping (shared.c): the MCP registry, a slot, across fork(). */
static void shared_registry(void **state)
{
    (void)state;
    struct ft_shared *sh = ft_shared_new(2, 3, sizeof(struct srv_figures));
    assert_non_null(sh);
    ft_shared_lock(sh);
    struct ft_mcp_rec *a = ft_shared_mcp_add(sh), *b = ft_shared_mcp_add(sh);
    struct ft_mcp_rec *c = ft_shared_mcp_add(sh);
    assert_non_null(a);
    assert_non_null(c);
    errno = 0;
    assert_null(ft_shared_mcp_add(sh)); /* full */
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(sh->mcp_open, 3);
    assert_int_equal(strlen(b->id), 32);
    assert_ptr_equal(ft_shared_mcp_find(sh, b->id), b);
    assert_string_not_equal(a->id, b->id);
    char id[33];
    snprintf(id, sizeof(id), "%s", b->id);
    id[0] = id[0] == 'a' ? 'b' : 'a'; /* another random part: not found */
    assert_null(ft_shared_mcp_find(sh, id));
    snprintf(id, sizeof(id), "%.24s%08x", b->id, 7u); /* an index past the records */
    assert_null(ft_shared_mcp_find(sh, id));
    assert_null(ft_shared_mcp_find(sh, "short"));
    snprintf(id, sizeof(id), "%.24s%08x", b->id, 1u);
    id[30] = 'g'; /* not hex */
    assert_null(ft_shared_mcp_find(sh, id));
    snprintf(id, sizeof(id), "%s", b->id);
    ft_shared_mcp_drop(sh, b);
    assert_null(ft_shared_mcp_find(sh, id));
    assert_int_equal(sh->mcp_open, 2);
    assert_null(ft_shared_mcp_at(sh, 1));
    struct ft_mcp_rec *d = ft_shared_mcp_add(sh); /* the freed record, with a new id */
    assert_ptr_equal(d, b);
    assert_string_not_equal(d->id, id);
    ft_shared_unlock(sh);

    /* another process sees the same records and slots, and may die holding the lock */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct srv_figures *f = (struct srv_figures *)ft_shared_slot(sh, 1)->data;
        f->m.heartbeats = 42;
        ft_shared_lock(sh);
        ft_shared_mcp_drop(sh, a);
        _exit(0); /* the lock still held */
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    ft_shared_lock(sh); /* recovered from its dead owner */
    assert_int_equal(sh->mcp_open, 2);
    assert_null(ft_shared_mcp_at(sh, 0));
    ft_shared_unlock(sh);
    assert_int_equal(((struct srv_figures *)ft_shared_slot(sh, 1)->data)->m.heartbeats, 42);
    assert_int_equal(((struct srv_figures *)ft_shared_slot(sh, 0)->data)->m.heartbeats, 0);
    ft_shared_free(sh);
    ft_shared_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tracker_versions),
        cmocka_unit_test(frame_one_line),
        cmocka_unit_test(frame_splits_every_line_break),
        cmocka_unit_test(frame_envelope),
        cmocka_unit_test(seq_parsing),
        cmocka_unit_test(token_compare),
        cmocka_unit_test(loopback_names),
        cmocka_unit_test(logfmt_quoting),
        cmocka_unit_test(routes),
        cmocka_unit_test(server_lifecycle),
        cmocka_unit_test(shared_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
