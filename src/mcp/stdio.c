/*
 * stdio.c: `flowtrack mcp`, one MCP session over stdin and stdout.
 *
 * Messages are newline-delimited JSON (a trailing \r is dropped); stdout
 * carries only messages, diagnostics go to stderr. One event loop waits on
 * stdin, on the run tool's children (job.c) and on the store's change watch,
 * which turns into notifications/resources/updated for subscribed trackers
 * (over a server, without a watch, the event log is polled once a second
 * while something is subscribed).
 *
 * At stdin's end the session ends at once: runs still going are interrupted
 * (their runners record them as interrupted and end on their own) and the
 * call returns 0.
 */
#include "internal.h"

#include "../store/store.h"
#include "../util/ft_err.h"
#include "../util/ft_time.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/banned.h"

#define LINE_MAX_BYTES (8u << 20) /* one message; a longer line is refused whole */
#define POLL_MS        1000

struct stdio {
    struct event_base *base;
    struct ft_mcp *m;
    struct ft_ops *ops;
    struct ft_store *st;
    struct evbuffer *in;
    struct event *ev_in, *ev_watch, *ev_poll;
    int64_t seen;   /* the newest event already looked at */
    int skipping;   /* dropping the rest of a line over the bound */
    int out_broken; /* stdout is gone: end */
};

static void send_stdout(void *u, json_t *msg, void *req)
{
    struct stdio *s = u;
    (void)req;
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (!text || s->out_broken) {
        free(text);
        return;
    }
    size_t len = strlen(text), off = 0;
    text[len] = '\n'; /* json_dumps leaves room: the NUL becomes the line's end */
    len++;
    while (off < len) {
        ssize_t w = write(STDOUT_FILENO, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            s->out_broken = 1;
            event_base_loopbreak(s->base);
            break;
        }
        off += (size_t)w;
    }
    free(text);
}

static void handle_line(struct stdio *s, const char *line, size_t n)
{
    json_error_t je;
    while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
        n--;
    if (!n)
        return;
    json_t *msg = json_loadb(line, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!msg) {
        send_stdout(
            s, ft_mcp_error(NULL, FT_RPC_PARSE, "not JSON: %s (column %d)", je.text, je.column),
            NULL);
        return;
    }
    if (json_is_array(msg))
        send_stdout(s,
                    ft_mcp_error(NULL, FT_RPC_INVALID,
                                 "batches are not part of MCP 2025-06-18 and later: send one "
                                 "message per line"),
                    NULL);
    else
        ft_mcp_handle(s->m, msg, NULL);
    json_decref(msg);
}

static void on_stdin(evutil_socket_t fd, short what, void *u)
{
    struct stdio *s = u;
    (void)what;
    int n = evbuffer_read(s->in, fd, 65536);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    for (;;) {
        size_t len;
        char *line = evbuffer_readln(s->in, &len, EVBUFFER_EOL_LF);
        if (!line)
            break;
        if (s->skipping)
            s->skipping = 0;
        else
            handle_line(s, line, len);
        free(line);
        if (s->out_broken)
            return;
    }
    if (evbuffer_get_length(s->in) > LINE_MAX_BYTES) {
        evbuffer_drain(s->in, evbuffer_get_length(s->in));
        if (!s->skipping)
            send_stdout(
                s, ft_mcp_error(NULL, FT_RPC_PARSE, "a message is over %u bytes", LINE_MAX_BYTES),
                NULL);
        s->skipping = 1;
    }
    if (n <= 0) { /* the end of stdin (or an error reading it): the session ends */
        size_t len = evbuffer_get_length(s->in);
        if (len && !s->skipping) { /* a last message without its newline */
            char *rest = (char *)evbuffer_pullup(s->in, -1);
            handle_line(s, rest, len);
        }
        event_base_loopbreak(s->base);
    }
}

/* ---- resource updates ------------------------------------------------------------------ */

static int changed_cb(const struct ft_event *ev, void *u)
{
    struct stdio *s = u;
    s->seen = ev->seq;
    if (*ev->slug)
        ft_mcp_tracker_changed(s->m, ev->slug);
    return 0;
}

/* Tell subscribers about every event after the last one seen. */
static void pull(struct stdio *s)
{
    struct ft_err err;
    if (!ft_mcp_subscribed(s->m)) { /* nothing to tell: just move on */
        if (s->st)
            ft_store_last_seq(s->st, &s->seen, &err);
        return;
    }
    if (s->st) {
        int64_t before;
        do {
            before = s->seen;
            ft_store_events(s->st, 0, NULL, s->seen, 1000, 0, changed_cb, s, &err);
        } while (s->seen != before);
        return;
    }
    struct ft_result res;
    json_t *args = json_pack("{s:b, s:I}", "all", 1, "since", (json_int_t)s->seen);
    if (ft_ops_call(s->ops, FT_OP_HISTORY, args, &res, &err) == 0) {
        size_t i;
        json_t *e;
        json_array_foreach(res.json, i, e)
        {
            s->seen = json_integer_value(json_object_get(e, "seq"));
            const char *slug = json_string_value(json_object_get(e, "slug"));
            if (slug && *slug)
                ft_mcp_tracker_changed(s->m, slug);
        }
        ft_result_release(&res);
    }
    json_decref(args);
}

static void on_watch(evutil_socket_t fd, short what, void *u)
{
    struct stdio *s = u;
    int64_t recheck = 0;
    (void)fd, (void)what;
    if (!ft_store_watch_read(s->st, &recheck))
        return;
    pull(s);
    if (recheck > 0) { /* a commit may become visible a little after its signal */
        struct timeval tv = {0, 20000};
        evtimer_add(s->ev_poll, &tv);
    }
}

static void on_poll(evutil_socket_t fd, short what, void *u)
{
    struct stdio *s = u;
    (void)fd, (void)what;
    pull(s);
    if (!s->ev_watch) {
        struct timeval tv = {POLL_MS / 1000, 0};
        evtimer_add(s->ev_poll, &tv);
    }
}

/* The newest event now, so that only later changes are told. */
static void start_seen(struct stdio *s)
{
    struct ft_err err;
    if (s->st) {
        ft_store_last_seq(s->st, &s->seen, &err);
        return;
    }
    struct ft_result res;
    json_t *args = json_pack("{s:b, s:i}", "all", 1, "limit", 1);
    if (ft_ops_call(s->ops, FT_OP_HISTORY, args, &res, &err) == 0) {
        json_t *e = json_array_get(res.json, 0);
        s->seen = json_integer_value(json_object_get(e, "seq"));
        ft_result_release(&res);
    }
    json_decref(args);
}

int ft_mcp_stdio(struct ft_ops *ops, struct ft_store *st, const struct ft_mcp_config *cfg)
{
    struct stdio s;
    struct ft_err err;
    memset(&s, 0, sizeof(s));
    /* poll(2), not epoll: stdin may be a regular file or /dev/null, which epoll refuses */
    struct event_config *ec = event_config_new();
    event_config_avoid_method(ec, "epoll");
    s.base = event_base_new_with_config(ec);
    event_config_free(ec);
    if (!s.base)
        return FT_ENOMEM;
    s.ops = ops;
    s.st = st;
    s.in = evbuffer_new();
    struct ft_mcp_config c = *cfg;
    c.runs = ft_mcp_runs_new(s.base);
    struct ft_mcp_host host = {send_stdout, &s};
    s.m = ft_mcp_new(s.base, ops, &c, &host);
    start_seen(&s);

    int fl = fcntl(STDIN_FILENO, F_GETFL);
    if (fl >= 0)
        fcntl(STDIN_FILENO, F_SETFL, fl | O_NONBLOCK);
    s.ev_in = event_new(s.base, STDIN_FILENO, EV_READ | EV_PERSIST, on_stdin, &s);
    event_add(s.ev_in, NULL);
    s.ev_poll = evtimer_new(s.base, on_poll, &s);
    int wfd = -1;
    if (st && ft_store_watch_open(st, &wfd, &err) == 0 && wfd >= 0) {
        s.ev_watch = event_new(s.base, wfd, EV_READ | EV_PERSIST, on_watch, &s);
        event_add(s.ev_watch, NULL);
    } else {
        struct timeval tv = {POLL_MS / 1000, 0};
        evtimer_add(s.ev_poll, &tv);
    }

    event_base_dispatch(s.base);

    if (fl >= 0)
        fcntl(STDIN_FILENO, F_SETFL, fl);
    ft_mcp_free(s.m);
    ft_mcp_runs_free(c.runs);
    event_free(s.ev_in);
    event_free(s.ev_poll);
    if (s.ev_watch)
        event_free(s.ev_watch);
    if (st)
        ft_store_watch_close(st);
    evbuffer_free(s.in);
    event_base_free(s.base);
    return 0;
}
