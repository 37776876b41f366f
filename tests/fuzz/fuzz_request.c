/*
 * libFuzzer target for the server's request path: every input is one connection to a
 * flowtrack server running in this process on an in-memory store, its bytes parsed by evhttp
 * (the server's own parser, never one of ours) and answered by the real route table, access
 * checks, REST and MCP handlers and event streams.
 *
 * Design. LLVMFuzzerInitialize builds the server once (ft_server_new, internal.h) with a
 * listener on an abstract unix socket: a connection costs a connect() and the server's own
 * accept path (the connections' budget in conn.c, evhttp's accept callback), leaves no
 * TIME_WAIT behind, and needs no port. Per input: connect, write the request, shut down the
 * write side, turn the loop (EVLOOP_NONBLOCK) until the answer ends (EOF), or for a stream
 * until no byte came for a few turns; close, then turn the loop until the server has let go
 * of the connection and of any stream: a server that does not within DRAIN_TURNS turns holds
 * a resource for a client that is gone, which is a finding (abort). Turns are bounded, not
 * time: no input sleeps.
 *
 * What an input is. One that starts with an uppercase letter is the raw bytes of the
 * connection (a request, several pipelined, garbage): every seed in corpus_request/ is a real
 * request of this kind. Any other first byte B picks a template: the row B % rows of the route
 * table (method and pattern; {tracker} is the seeded tracker "demo", {kind} one of the kinds
 * by B, {num} 1, {file} app.js); the input's next line is appended to the path (a view, a
 * query string), the lines up to an empty one are extra headers (first: they win over the
 * defaults), the rest is the body. The harness adds Host, the token, a JSON Content-Type,
 * Content-Length and "Connection: close". In both kinds "@SID@" stands for the harness's own
 * MCP session id (random per session), so that MCP calls reach a session. The server has a
 * token (TOKEN: writes need "Authorization: Bearer fuzz-token") and answers loopback Host
 * names only, as `flowtrack serve --token` on 127.0.0.1 does.
 *
 * Invariants checked (abort on violation): the server lets go of every connection and stream
 * after the client closes; an answer starts with a valid status line; no 5xx but 501 (unknown
 * method, evhttp) and 503 (documented: streams or sessions at their limit) since the store,
 * in memory, cannot fail; a template's 200/201 JSON answer has a body that jansson parses.
 *
 * State. The server and store live across inputs (as in production); every RESET_EVERY
 * inputs, or when fuzzed initializes have opened MAX_SESSIONS MCP sessions, both are freed and
 * made again and reseeded, which bounds the store's growth. A crash that needs earlier inputs
 * may then not reproduce from its input alone; FT_FUZZ_RESET_EVERY=1 makes every input start
 * from a fresh server (slow, for reproducing). Limits that 8 KiB inputs could not reach in
 * production (16 KiB headers, 1 MiB bodies) are lowered to LIMIT so that their refusals are
 * fuzzed too. The MCP run tool's child is never started (it would run commands from the
 * input): the server's own executable is replaced by a path that does not exist, so the tool
 * takes its spawn-failure path. The log goes to /dev/null.
 */
#include "server/internal.h"
#include "store/store.h"
#include "util/ft_buf.h"
#include "util/ft_err.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define TOKEN        "fuzz-token"
#define RESET_EVERY  4096 /* inputs between two fresh servers */
#define MAX_SESSIONS 32   /* MCP sessions open at once before a fresh server */
#define MAX_TURNS    64   /* loop turns an answer may take */
#define QUIET_TURNS  4    /* turns without a byte after some: a stream, close it */
#define DRAIN_TURNS  1000 /* turns after the close for the server to let go */
#define LIMIT        4096 /* headers and body size limits */
#define RESP_CAP     (64u << 10)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
    struct ft_server_opts o;
    struct ft_store *st;
    struct ft_server *srv;
    struct sockaddr_un addr;
    socklen_t addrlen;
    int devnull;
    unsigned reset_every, inputs;
    int debug;
    char sid[33];           /* the harness's MCP session */
    uint64_t sessions_gone; /* sessions deleted or expired when it was opened */
    struct ft_buf req, resp;
} fz;

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_request: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    abort();
}

/* ---- one connection ------------------------------------------------------------------- */

static void turn(void)
{
    event_base_loop(fz.srv->base, EVLOOP_NONBLOCK);
}

/* Read what is there into fz.resp (bytes past RESP_CAP are dropped). 1 at EOF or error. */
static int take(int fd, int *got)
{
    char buf[16384];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return 1;
        if (n < 0)
            return 0;
        *got = 1;
        if (fz.resp.len < RESP_CAP)
            ft_buf_add(&fz.resp, buf,
                       (size_t)n < RESP_CAP - fz.resp.len ? (size_t)n : RESP_CAP - fz.resp.len);
    }
}

/* The server holds nothing for a connection or a stream any more. */
static int released(void)
{
    struct ft_server *srv = fz.srv;
    return srv->conns.open == 0 && srv->streams_open == 0 && srv->flushing == 0 && !srv->live &&
           !srv->dead;
}

/* One connection carrying bytes; the answer is left in fz.resp. */
static void exchange(const char *bytes, size_t len)
{
    ft_buf_reset(&fz.resp);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&fz.addr, fz.addrlen) != 0)
        die("connect", strerror(errno));
    size_t off = 0;
    int eof = 0, quiet = 0, t;
    for (t = 0; off < len && t < MAX_TURNS; t++) { /* more than the socket takes at once */
        ssize_t n = send(fd, bytes + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            break; /* the server closed already */
        off += n > 0 ? (size_t)n : 0;
        turn();
        int got = 0;
        if ((eof = take(fd, &got)))
            break;
    }
    shutdown(fd, SHUT_WR);
    for (t = 0; !eof && t < MAX_TURNS && quiet < QUIET_TURNS; t++) {
        turn();
        int got = 0;
        eof = take(fd, &got);
        quiet = got ? 0 : fz.resp.len > 0 ? quiet + 1 : 0;
    }
    close(fd);
    for (t = 0; t < DRAIN_TURNS && !released(); t++)
        turn();
    if (!released()) {
        char what[160];
        snprintf(what, sizeof(what), "open=%d streams_open=%d flushing=%d live=%d dead=%d",
                 fz.srv->conns.open, fz.srv->streams_open, fz.srv->flushing, !!fz.srv->live,
                 !!fz.srv->dead);
        die("the server kept a closed client's resources", what);
    }
}

/* ---- the answer ----------------------------------------------------------------------- */

/* The status of the answer in fz.resp; 0 when there is none. Aborts on a malformed line. */
static int status_of(void)
{
    const char *r = fz.resp.buf, *p = r + 5, *end = r + fz.resp.len;
    if (fz.resp.len == 0)
        return 0;
    /* HTTP/N.N: evhttp answers with the request's version as it read it with %d.%d
     * (HTTP/0.11 gets HTTP/0.11, HTTP/1.-1 gets HTTP/1.-1) */
    if (fz.resp.len < 5 || strncmp(r, "HTTP/", 5) != 0)
        die("an answer without a status line", NULL);
    for (int part = 0; part < 2; part++) {
        if (p < end && *p == '-')
            p++;
        const char *digits = p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        if (p == digits || p == end || *p != (part == 0 ? '.' : ' '))
            die("a status line with a malformed version", NULL);
        p++;
    }
    int code = 0;
    for (int i = 0; i < 3; i++, p++) {
        if (p >= end || *p < '0' || *p > '9')
            die("a status line without a status code", NULL);
        code = code * 10 + (*p - '0');
    }
    if (code < 100 || p >= end || *p != ' ')
        die("a malformed status line", NULL);
    return code;
}

/* The answer's header block as a NUL-terminated copy in hdr (truncated); the body's offset. */
static size_t head_of(char *hdr, size_t n)
{
    const char *end = fz.resp.len ? memmem(fz.resp.buf, fz.resp.len, "\r\n\r\n", 4) : NULL;
    size_t hl = end ? (size_t)(end - fz.resp.buf) : fz.resp.len;
    snprintf(hdr, n, "%.*s", (int)(hl < n ? hl : n - 1), fz.resp.buf);
    return end ? hl + 4 : fz.resp.len;
}

static void check_answer(int templated)
{
    int code = status_of();
    if (code >= 500 && code != 501 && code != 503) {
        char line[64];
        snprintf(line, sizeof(line), "%.*s", (int)strcspn(fz.resp.buf, "\r\n"), fz.resp.buf);
        die("a 5xx answer from an in-memory store", line);
    }
    if (!templated || (code != 200 && code != 201))
        return;
    char hdr[4096];
    size_t body = head_of(hdr, sizeof(hdr));
    if (!strstr(hdr, "\r\nContent-Type: application/json\r\n"))
        return;
    /* the first answer's body: more may follow (the input's own header lines may end the
     * template's request early and start another) */
    const char *cl = strstr(hdr, "\r\nContent-Length: ");
    if (!cl)
        return;
    size_t n = strtoul(cl + 18, NULL, 10);
    if (n > fz.resp.len - body)
        return; /* past RESP_CAP */
    json_error_t e;
    json_t *j = json_loadb(fz.resp.buf + body, n, 0, &e);
    if (!j)
        die("a 2xx JSON answer that does not parse", e.text);
    json_decref(j);
}

/* ---- the server ----------------------------------------------------------------------- */

/* Send a fixed request (seeding); abort unless it gets one of the expected statuses. */
static void must(const char *request, int want)
{
    exchange(request, strlen(request));
    int code = status_of();
    if (code != want) {
        fprintf(stderr, "%.*s\n", (int)fz.resp.len, fz.resp.buf);
        die("a seeding request failed", request);
    }
}

/* The harness's own MCP session: its id from the initialize answer's header. */
static void open_session(void)
{
    static const char body[] =
        "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
        "\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"fuzz\",\"version\":\"1\"}}}";
    char req[1024];
    snprintf(req, sizeof(req),
             "POST /mcp HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " TOKEN "\r\n"
             "Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
             "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
             sizeof(body) - 1, body);
    must(req, 200);
    char hdr[4096];
    head_of(hdr, sizeof(hdr));
    const char *h = strstr(hdr, "\r\nMcp-Session-Id: ");
    if (!h || strlen(h) < 18 + 32)
        die("initialize answered without a session id", NULL);
    snprintf(fz.sid, sizeof(fz.sid), "%.32s", h + 18);
    fz.sessions_gone = fz.srv->sh->mcp_closed[0] + fz.srv->sh->mcp_closed[1];
}

/* A POST or PATCH of a JSON body to path, as a seeding request. */
static void seed_json(const char *method, const char *path, const char *json, int want)
{
    char req[2048];
    snprintf(req, sizeof(req),
             "%s %s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " TOKEN "\r\n"
             "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n"
             "\r\n%s",
             method, path, strlen(json), json);
    must(req, want);
}

/* The tracker the templates name, with an entry of every kind and a run. */
static void seed(void)
{
    seed_json("POST", "/api/trackers",
              "{\"slug\":\"demo\",\"title\":\"Demo\",\"repro_command\":\"make test\"}", 201);
    seed_json("POST", "/api/trackers", "{\"slug\":\"other\",\"title\":\"Other\"}", 201);
    seed_json("PUT", "/api/default", "{\"tracker\":\"demo\"}", 200);
    static const char *const entries[][2] = {
        {"rules", "{\"text\":\"one change at a time\"}"},
        {"steps", "{\"title\":\"Reproduce\",\"text\":\"make test\"}"},
        {"items", "{\"text\":\"bound the output\"}"},
        {"items", "{\"text\":\"free the request\",\"state\":\"doing\"}"},
        {"symptoms", "{\"text\":\"streams hang\"}"},
        {"hypotheses", "{\"text\":\"a leak\",\"verdict\":\"open\"}"},
        {"results", "{\"attempt\":\"make check\",\"outcome\":\"hang\",\"run\":{\"command\":"
                    "\"make check\",\"outcome\":\"hang\",\"duration_ms\":5000,\"log\":\"...\"}}"},
        {"followups", "{\"text\":\"a test\"}"},
        {"notes", "{\"text\":\"a note\"}"},
    };
    for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
        char path[128];
        snprintf(path, sizeof(path), "/api/trackers/demo/%s", entries[i][0]);
        seed_json("POST", path, entries[i][1], 201);
    }
    open_session();
}

static void server_start(void)
{
    struct ft_err err;
    if (ft_store_open(":memory:", FT_STORE_CREATE, &fz.st, &err) ||
        ft_server_new(&fz.o, fz.st, &fz.srv, &err))
        die("cannot start the server", err.msg);
    struct ft_server *srv = fz.srv;
    srv->log.fd = fz.devnull;
    snprintf(srv->mcp.self_exe, sizeof(srv->mcp.self_exe), "/nonexistent/flowtrack-fuzz");
    evhttp_set_max_headers_size(srv->http, LIMIT);
    evhttp_set_max_body_size(srv->http, LIMIT);
    struct evconnlistener *l = evconnlistener_new_bind(
        srv->base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 64,
        (struct sockaddr *)&fz.addr, (int)fz.addrlen);
    if (!l)
        die("cannot listen", strerror(errno));
    if (srv_listen_on(srv, l, &err))
        die("cannot listen", err.msg);
    srv->loopback = 1; /* the Host check applies, as on 127.0.0.1 */
    snprintf(srv->url, sizeof(srv->url), "http://localhost");
    feed_watch_start(srv);
    fz.inputs = 0;
    fz.sid[0] = '\0';
    seed();
}

static void server_stop(void)
{
    ft_server_free(fz.srv);
    fz.srv = NULL;
    ft_store_close(fz.st);
    fz.st = NULL;
}

static void at_exit(void)
{
    server_stop();
    ft_buf_release(&fz.req);
    ft_buf_release(&fz.resp);
    close(fz.devnull);
    libevent_global_shutdown();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN); /* as flowtrack serve: a closed peer is an error, not a signal */
    ft_server_opts_init(&fz.o);
    fz.o.token = TOKEN;
    fz.o.actor = "fuzz";
    fz.o.listen = "unix:fuzz"; /* only named in messages: the harness binds the listener */
    const char *every = getenv("FT_FUZZ_RESET_EVERY");
    long every_n = every ? strtol(every, NULL, 10) : 0;
    fz.reset_every = every_n > 0 ? (unsigned)every_n : RESET_EVERY;
    fz.debug = getenv("FT_FUZZ_DEBUG") != NULL;
    fz.devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    fz.addr.sun_family = AF_UNIX;
    int n = snprintf(fz.addr.sun_path + 1, sizeof(fz.addr.sun_path) - 1, "flowtrack-fuzz-%ld",
                     (long)getpid()); /* abstract: no file to remove */
    fz.addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    ft_buf_init(&fz.req, 0);
    ft_buf_init(&fz.resp, 0);
    server_start();
    atexit(at_exit);
    return 0;
}

/* ---- inputs --------------------------------------------------------------------------- */

/* Append n bytes of s to the request, "@SID@" replaced by the harness's session id. */
static void add_bytes(const char *s, size_t n)
{
    const char *end = s + n;
    while (s < end) {
        const char *at = memmem(s, (size_t)(end - s), "@SID@", 5);
        if (!at) {
            ft_buf_add(&fz.req, s, (size_t)(end - s));
            return;
        }
        ft_buf_add(&fz.req, s, (size_t)(at - s));
        ft_buf_adds(&fz.req, fz.sid);
        s = at + 5;
    }
}

/* The path of a route row with its captures filled in. */
static void add_path(const struct route *r, unsigned pick)
{
    static const char *const kinds[] = {"rules",      "steps",   "items",     "symptoms",
                                        "hypotheses", "results", "followups", "notes"};
    const char *p = srv_route_pattern(r);
    while (*p) {
        size_t k = strcspn(p, "{");
        ft_buf_add(&fz.req, p, k);
        p += k;
        if (!*p)
            break;
        const char *close = strchr(p, '}');
        size_t name = close ? (size_t)(close - p + 1) : strlen(p);
        if (strncmp(p, "{tracker}", name) == 0)
            ft_buf_adds(&fz.req, "demo");
        else if (strncmp(p, "{kind}", name) == 0)
            ft_buf_adds(&fz.req, kinds[pick % (sizeof(kinds) / sizeof(kinds[0]))]);
        else if (strncmp(p, "{num}", name) == 0)
            ft_buf_adds(&fz.req, "1");
        else if (strncmp(p, "{file}", name) == 0)
            ft_buf_adds(&fz.req, "app.js");
        p += name;
    }
}

/* A request from a template (see the top of the file). */
static void build_templated(const char *d, size_t n)
{
    size_t rows = 0;
    while (srv_route_nth(rows))
        rows++;
    unsigned char b = (unsigned char)d[0];
    const struct route *r = srv_route_nth(b % rows);
    const char *method = srv_route_method(r);
    d++, n--;
    const char *nl = memchr(d, '\n', n);
    size_t suffix = nl ? (size_t)(nl - d) : n;
    const char *rest = nl ? nl + 1 : d + n;
    size_t rn = (size_t)(d + n - rest);
    const char *blank = rn ? memmem(rest, rn, "\n\n", 2) : NULL;
    size_t hn = blank ? (size_t)(blank - rest) + 1 : rn;
    const char *body = blank ? blank + 2 : rest + rn;
    size_t bn = (size_t)(d + n - body);

    ft_buf_reset(&fz.req);
    ft_buf_addf(&fz.req, "%s ", method);
    add_path(r, b / rows);
    add_bytes(d, suffix);
    ft_buf_adds(&fz.req, " HTTP/1.1\r\n");
    add_bytes(rest, hn);
    if (hn && rest[hn - 1] != '\n')
        ft_buf_adds(&fz.req, "\r\n");
    ft_buf_adds(&fz.req, "Host: localhost\r\nAuthorization: Bearer " TOKEN "\r\n");
    if (strcmp(method, "GET") != 0)
        ft_buf_adds(&fz.req, "Content-Type: application/json\r\n");
    if (strcmp(srv_route_pattern(r), "/mcp") == 0) {
        ft_buf_adds(&fz.req, "Accept: application/json, text/event-stream\r\nMcp-Session-Id: ");
        ft_buf_adds(&fz.req, fz.sid);
        ft_buf_adds(&fz.req, "\r\n");
    }
    ft_buf_addf(&fz.req, "Content-Length: %zu\r\nConnection: close\r\n\r\n", bn);
    add_bytes(body, bn);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *d = (const char *)data;
    if (size == 0)
        return 0;
    if (fz.inputs >= fz.reset_every || fz.srv->sh->mcp_open > MAX_SESSIONS) {
        server_stop();
        server_start();
    }
    fz.inputs++;
    int templated = !(d[0] >= 'A' && d[0] <= 'Z');
    if (templated) {
        build_templated(d, size);
    } else {
        ft_buf_reset(&fz.req);
        add_bytes(d, size);
    }
    exchange(fz.req.buf, fz.req.len);
    if (fz.debug) /* FT_FUZZ_DEBUG=1: what went in and what came out */
        fprintf(stderr, "---- request\n%.*s\n---- answer\n%.*s\n----\n", (int)fz.req.len,
                fz.req.buf, (int)fz.resp.len, fz.resp.buf);
    check_answer(templated);
    /* A session was deleted or expired, maybe the harness's own: the next inputs get one. */
    if (fz.srv->sh->mcp_closed[0] + fz.srv->sh->mcp_closed[1] != fz.sessions_gone)
        open_session();
    return 0;
}
