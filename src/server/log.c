/*
 * log.c: the server's log, one logfmt line per event on stderr or the --log-file (opened
 * again on SIGHUP, for logrotate):
 *   ts=2026-11-26T00:30:23.590Z level=info event=request method=GET path=/healthz ...
 * Lines of one turn of the loop are written together (see struct srv_log); the
 * timestamp is formatted once per millisecond. A log that cannot be written is dropped.
 */
#include "internal.h"

#include "../util/ft_err.h"
#include "../util/ft_time.h"

#include <errno.h>
#include <event2/http.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "../util/banned.h"

void srv_logfmt_value(struct ft_buf *b, const char *v)
{
    int quote = *v == '\0';
    for (const char *p = v; *p && !quote; p++)
        if (*p == ' ' || *p == '"' || *p == '=' || (unsigned char)*p < 0x20 || *p == '\\')
            quote = 1;
    if (!quote) {
        ft_buf_adds(b, v);
        return;
    }
    ft_buf_addc(b, '"');
    for (const char *p = v; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\')
            ft_buf_addf(b, "\\%c", c);
        else if (c == '\n')
            ft_buf_adds(b, "\\n");
        else if (c < 0x20)
            ft_buf_addf(b, "\\x%02x", c);
        else
            ft_buf_addc(b, (char)c);
    }
    ft_buf_addc(b, '"');
}

/* Write the buffered lines to the log. */
static void write_out(struct srv_log *l)
{
    size_t off = 0;
    while (off < l->out.len) {
        ssize_t n = write(l->fd, l->out.buf + off, l->out.len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    ft_buf_reset(&l->out);
}

static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    write_out(arg);
}

static int open_log(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
}

int srv_log_start(struct ft_server *srv, struct ft_err *err)
{
    struct srv_log *l = &srv->log;
    ft_buf_init(&l->out, 0);
    l->ts_ms = -1;
    l->fd = STDERR_FILENO;
    l->owned = 0;
    l->flush = srv->base ? event_new(srv->base, -1, 0, on_flush, l) : NULL;
    if (srv->o->log_file && (l->fd = open_log(srv->o->log_file)) < 0) {
        int e = errno;
        l->fd = STDERR_FILENO;
        return ft_err_set(err, FT_EIO, "cannot open the log file '%s': %s", srv->o->log_file,
                          strerror(e));
    }
    l->owned = srv->o->log_file != NULL;
    return 0;
}

void srv_log_reopen(struct ft_server *srv)
{
    struct srv_log *l = &srv->log;
    const char *path = srv->o->log_file;
    if (!path) {
        srv_log(srv, "info", "log_reopen", "msg=\"SIGHUP: the log is stderr, nothing to reopen\"");
        return;
    }
    write_out(l); /* the lines so far belong to the old file */
    struct ft_buf v;
    ft_buf_init(&v, 0);
    ft_buf_adds(&v, "path=");
    srv_logfmt_value(&v, path);
    int fd = open_log(path);
    if (fd < 0) {
        ft_buf_adds(&v, " error=");
        srv_logfmt_value(&v, strerror(errno));
        srv_log(srv, "error", "log_reopen", "%s msg=\"kept the old file\"", v.buf);
    } else {
        if (l->owned)
            close(l->fd);
        l->fd = fd;
        l->owned = 1;
        srv_log(srv, "info", "log_reopen", "%s", v.buf);
    }
    ft_buf_release(&v);
}

void srv_log_stop(struct ft_server *srv)
{
    struct srv_log *l = &srv->log;
    write_out(l);
    ft_buf_release(&l->out);
    if (l->flush)
        event_free(l->flush);
    l->flush = NULL;
    if (l->owned)
        close(l->fd);
    l->fd = STDERR_FILENO;
    l->owned = 0;
}

/* Start a line in the log's buffer: its timestamp, level and event; returns whether the
 * buffer was empty before (a line is then due to be written at the end of the turn). */
static int line_start(struct srv_log *l, const char *level, const char *event)
{
    int64_t now = ft_now_ms();
    if (now != l->ts_ms) {
        ft_time_iso(now, l->ts, sizeof(l->ts));
        l->ts_ms = now;
    }
    int first = l->out.len == 0;
    ft_buf_adds(&l->out, "ts=");
    ft_buf_adds(&l->out, l->ts);
    ft_buf_adds(&l->out, " level=");
    ft_buf_adds(&l->out, level);
    ft_buf_adds(&l->out, " event=");
    ft_buf_adds(&l->out, event);
    ft_buf_addc(&l->out, ' ');
    return first;
}

/* End the line started by line_start: write it now, or at the end of the turn. */
static void line_end(struct srv_log *l, int first)
{
    ft_buf_addc(&l->out, '\n');
    if (!l->flush || l->out.len >= (64u << 10))
        write_out(l);
    else if (first)
        event_active(l->flush, 0, 0);
}

void srv_log(struct ft_server *srv, const char *level, const char *event, const char *fmt, ...)
{
    struct srv_log *l = &srv->log;
    va_list ap;
    int first = line_start(l, level, event);
    va_start(ap, fmt);
    ft_buf_vaddf(&l->out, fmt, ap);
    va_end(ap);
    line_end(l, first);
}

/* "addr:port" of the request's peer, or "?" */
static void add_peer(struct ft_buf *b, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    char *addr = NULL;
    ev_uint16_t port = 0;
    if (!evcon) {
        ft_buf_addc(b, '?');
        return;
    }
    evhttp_connection_get_peer(evcon, &addr, &port);
    ft_buf_adds(b, addr ? addr : "?");
    ft_buf_addc(b, ':');
    ft_buf_addu(b, port);
}

static const char *method_name(struct evhttp_request *req)
{
    static const struct {
        enum evhttp_cmd_type cmd;
        const char *name;
    } names[] = {
        {EVHTTP_REQ_GET, "GET"},         {EVHTTP_REQ_POST, "POST"},     {EVHTTP_REQ_HEAD, "HEAD"},
        {EVHTTP_REQ_PUT, "PUT"},         {EVHTTP_REQ_DELETE, "DELETE"}, {EVHTTP_REQ_PATCH, "PATCH"},
        {EVHTTP_REQ_OPTIONS, "OPTIONS"},
    };
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].cmd == cmd)
            return names[i].name;
    return "OTHER";
}

void srv_log_request(struct ft_server *srv, struct evhttp_request *req, enum ft_route route,
                     int code, size_t bytes, int64_t t0)
{
    /* Once per request: built without printf (a tenth of a cached GET's CPU time was the
     * formatting of this line). */
    struct srv_log *l = &srv->log;
    struct ft_buf *b = &l->out;
    const char *uri = evhttp_request_get_uri(req);
    int64_t us = srv_now_us() - t0;
    if (us < 0)
        us = 0;
    char ms[8] = {'.', '0', '0', '0'};
    int first = line_start(l, code >= 500 ? "error" : "info", "request");
    ft_buf_adds(b, "method=");
    ft_buf_adds(b, method_name(req));
    ft_buf_adds(b, " path=");
    srv_logfmt_value(b, uri ? uri : "");
    ft_buf_adds(b, " route=");
    srv_logfmt_value(b, ft_route_label[route]);
    ft_buf_adds(b, " status=");
    ft_buf_addu(b, (unsigned)code);
    ft_buf_adds(b, " bytes=");
    ft_buf_addu(b, bytes);
    ft_buf_adds(b, " dur_ms=");
    ft_buf_addu(b, (unsigned long long)us / 1000);
    for (int i = 3, f = (int)(us % 1000); i > 0; i--, f /= 10)
        ms[i] = (char)('0' + f % 10);
    ft_buf_add(b, ms, 4);
    ft_buf_adds(b, " peer=");
    add_peer(b, req);
    line_end(l, first);
}
