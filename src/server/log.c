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
#include <stdio.h>
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

void srv_log(struct ft_server *srv, const char *level, const char *event, const char *fmt, ...)
{
    struct srv_log *l = &srv->log;
    va_list ap;
    int64_t now = ft_now_ms();
    if (now != l->ts_ms) {
        ft_time_iso(now, l->ts, sizeof(l->ts));
        l->ts_ms = now;
    }
    int first = l->out.len == 0;
    ft_buf_addf(&l->out, "ts=%s level=%s event=%s ", l->ts, level, event);
    va_start(ap, fmt);
    ft_buf_vaddf(&l->out, fmt, ap);
    va_end(ap);
    ft_buf_addc(&l->out, '\n');
    if (!l->flush || l->out.len >= (64u << 10))
        write_out(l);
    else if (first)
        event_active(l->flush, 0, 0);
}

static void peer_of(struct evhttp_request *req, char *out, size_t n)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    char *addr = NULL;
    ev_uint16_t port = 0;
    if (evcon) {
        evhttp_connection_get_peer(evcon, &addr, &port);
        snprintf(out, n, "%s:%u", addr ? addr : "?", (unsigned)port);
    } else {
        snprintf(out, n, "?");
    }
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
    char peer[64];
    struct ft_buf b;
    const char *uri = evhttp_request_get_uri(req);
    peer_of(req, peer, sizeof(peer));
    ft_buf_init(&b, 0);
    ft_buf_addf(&b, "method=%s path=", method_name(req));
    srv_logfmt_value(&b, uri ? uri : "");
    ft_buf_adds(&b, " route=");
    srv_logfmt_value(&b, ft_route_label[route]);
    ft_buf_addf(&b, " status=%d bytes=%zu dur_ms=%.3f peer=%s", code, bytes,
                (double)(srv_now_us() - t0) / 1000.0, peer);
    srv_log(srv, code >= 500 ? "error" : "info", "request", "%s", b.buf);
    ft_buf_release(&b);
}
