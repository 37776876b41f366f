/*
 * Shared between the server's parts; everything here runs on the loop's one thread.
 *
 *   server.c   the loop and its lifecycle: start, signals, timers, shutdown
 *   http.c     the listener, each request's entry (route, access checks), replies
 *   routes.c   the one route table: method, path pattern, metric label, handler, access
 *   rest.c     the REST adapters: a request in, an operation (src/ops) run, its result out
 *   conn.c     every connection from accept to close: the budget, the slow-client deadlines
 *   channel.c  a bounded chunked reply that a producer feeds (SSE): its one end/free path
 *   feed.c     the event-log producer: reads the store's log, replays and fans out events
 *   metrics.c  the counters and /metrics
 *   log.c      one logfmt line per request and per stream end
 */
#ifndef FT_SERVER_INTERNAL_H
#define FT_SERVER_INTERNAL_H

#include "cache.h"
#include "server.h"
#include "shared.h"
#include "versions.h"

#include "../ops/ops.h"
#include "../store/store.h"
#include "../util/ft_buf.h"

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdint.h>
#include <sys/queue.h>

/* ---- routes (routes.c) ---- */

/* Routes, as the bounded "route" label of the request metrics. */
enum ft_route {
    R_HEALTHZ,
    R_METRICS,
    R_TRACKERS,
    R_TRACKER,
    R_HEADER,
    R_ENTRIES,
    R_ENTRY,
    R_HISTORY,
    R_RUNS,
    R_RUN,
    R_CHECK,
    R_EVENTS,
    R_DEFAULT,
    R_CLAIM,
    R_RELEASE,
    R_MCP,
    R_UI,
    R_OTHER,
    R__COUNT
};
extern const char *const ft_route_label[R__COUNT];

/* Who may use a route: anyone; readers (a token with --private); writers (a token when set). */
enum ft_access { ACCESS_OPEN, ACCESS_READ, ACCESS_WRITE };

struct call;

struct route {
    const char *method;  /* NULL: the method of the operation's wire row */
    const char *pattern; /* NULL: its path; {tracker}, {kind} (plural), {num} capture */
    int op;              /* enum ft_op, or -1 */
    enum ft_route label;
    void (*handler)(struct call *c);
    unsigned flags; /* ROUTE_* */
};
#define ROUTE_NO_HEAD 1u  /* GET only: HEAD is not a GET here (event streams) */
#define ROUTE_ALL     2u  /* the operation is about every tracker (args.all) */
#define ROUTE_VIEWS   4u  /* {tracker} may end in .md, .txt or .json (args.format) */
#define ROUTE_WRITE   8u  /* who may use it: writers, whatever the method (MCP) */
#define ROUTE_OPEN    16u /* anyone, token or not (the dashboard's files, its login) */

/* One request being answered: what the router found, parsed once. */
struct call {
    struct ft_server *srv;
    struct evhttp_request *req;
    const struct route *route; /* NULL when no route matched */
    enum ft_route label;
    enum evhttp_cmd_type cmd;
    int64_t t0;   /* srv_now_us() when the request arrived */
    json_t *caps; /* captured path parameters: tracker, kind, num, format */
    struct evkeyvalq query;
};

/*
 * Find the route of a request. 0: c->route is set and c->caps holds the captures. Otherwise
 * c->route is NULL and *status / msg say what to answer: 404 (no route; msg explains), or
 * 405 (msg holds the Allow header's value). The label is set either way.
 */
int srv_route(struct call *c, const char *path, int *status, char *msg, size_t n);
/* The i-th row of the route table, NULL past its end (for the fuzz target's templates). */
const struct route *srv_route_nth(size_t i);
/* The method and pattern of a route (from its operation's wire row when it has one). */
const char *srv_route_method(const struct route *r);
const char *srv_route_pattern(const struct route *r);
enum ft_access srv_route_access(const struct route *r);

/* ---- channels (channel.c): bounded chunked replies fed by a producer ---- */

/* How a channel ended; each end is counted once under its name. */
enum ft_end {
    FT_END_COMPLETE,      /* the producer had nothing more to say (its tracker was deleted) */
    FT_END_CLIENT_CLOSED, /* the client closed or reset the connection */
    FT_END_ERROR,         /* the store failed while serving it */
    FT_END_IDLE_TIMEOUT,  /* no event for --idle-timeout */
    FT_END_SLOW_READER,   /* output past --stream-buffer, or nothing written for --write-timeout */
    FT_END_SHUTDOWN,      /* SIGTERM / SIGINT */
    FT_END__COUNT
};
const char *ft_end_name(enum ft_end why);

/*
 * One frame as it goes on the wire. A chunked reply (HTTP/1.1) carries it as one chunk,
 * "<hex>\r\n" frame "\r\n"; the producer frames a message once and every channel sends the
 * same bytes.
 */
struct wire {
    const char *frame;
    size_t len;
    const char *chunk; /* the frame inside its chunk framing */
    size_t chunk_len;
};
/* Point w at frame and at its chunk, built in b (which must not hold frame). */
void wire_make(struct wire *w, struct ft_buf *b, const char *frame, size_t len);

struct ft_channel;

/* What a producer hooks into its channels. */
struct ft_channel_ops {
    /* The output buffer drained to empty: a paused producer may send more. */
    void (*drained)(struct ft_channel *ch);
    /* The channel is being freed: release the producer's state (the channel's container). */
    void (*free)(struct ft_channel *ch);
};

/*
 * A channel, embedded at the start of its producer's state (the producer allocates the whole
 * and frees it in ops->free). Everything the channel acquires hangs off it: the request and
 * connection (until libevent takes them back), the progress watch on the output buffer. Every
 * way a channel finishes calls ft_channel_end(ch, why), which records the first reason, takes
 * it off the live list and schedules channel_free() on the loop's reaper event;
 * channel_free() is the one place that releases anything, counts the end by reason, writes
 * the "stream_end" log line and calls ops->free.
 */
struct ft_channel {
    struct ft_server *srv;
    const struct ft_channel_ops *ops;
    struct ft_channel *prev, *next; /* in srv->live, then in srv->dead */
    struct evhttp_request *req;     /* NULL once libevent owns or freed it */
    struct evhttp_connection *evcon;
    /* evcon's output buffer and socket, kept from the start so that sending does not look
     * them up per message: valid exactly while evcon is (out NULL, fd -1 once it is not). */
    struct evbuffer *out;
    int fd;
    int chunked;                   /* the reply is chunked (HTTP/1.1), fixed when it starts */
    struct evhttp_request *orphan; /* detached by a client abort: ours to release */
    int ended;
    enum ft_end why;
    int64_t started_ms, last_write_ms, last_event_ms, last_drain_ms;
    struct evbuffer_cb_entry *outcb; /* progress watch on the connection's output */
    uint64_t events, bytes;
    int64_t last_id; /* the id of the last message sent, for the log line */
    char peer[64];
    char what[80]; /* what the channel carries (a tracker slug, "*"), for the log line */
};

/*
 * Start a channel on req: 200 with the given content type, a chunked body, the channel's
 * timers and bounds. 0, or -1 after answering the request (503 at --max-streams).
 */
int ft_channel_start(struct ft_channel *ch, struct ft_server *srv, struct evhttp_request *req,
                     const struct ft_channel_ops *ops, const char *ctype, const char *what,
                     enum ft_route route, int64_t t0);
/* The only way a channel finishes, from any path. Idempotent: the first reason wins. */
void ft_channel_end(struct ft_channel *ch, enum ft_end why);
/* Send a frame; past the bound the channel ends as a slow reader. 0, or -1 when it ended. */
int ft_channel_send(struct ft_channel *ch, const struct wire *w, int64_t now);
/* Send a frame bypassing the bound (final frames). 0, or -1 when it ended. */
int ft_channel_send_raw(struct ft_channel *ch, const struct wire *w, int64_t now);
size_t ft_channel_queued(const struct ft_channel *ch);
/* Heartbeats, write stalls and idle timeouts of every live channel. */
void ft_channel_tick(struct ft_server *srv, int64_t now);
/* Free the channels that ended (the reaper event). */
void ft_channel_reap(struct ft_server *srv);
/* SIGTERM: a final "shutdown" frame to each live channel, then its end. */
void ft_channel_shutdown_all(struct ft_server *srv);
size_t ft_channel_queued_total(struct ft_server *srv);

/* ---- connections (conn.c) ---- */

/* Where a connection is in its life; each state but NEW and STREAM has its own list. */
enum conn_state {
    CONN_NEW,    /* accepted, evhttp's connection not known yet (see conn.c) */
    CONN_HEAD,   /* reading a request line and headers: --header-timeout */
    CONN_BODY,   /* reading a request body: --body-timeout */
    CONN_BUSY,   /* a request being answered: evhttp's --request-timeout for the writes */
    CONN_IDLE,   /* kept alive, between two requests: --keepalive-timeout */
    CONN_STREAM, /* carries a stream (channel.c): no deadline, never evicted */
    CONN__NSTATES
};

/* How a connection ended, as the "reason" label of flowtrack_connections_closed_total. */
enum conn_end {
    CONN_END_OTHER,             /* the client closed, a reply that closes, a stream's end... */
    CONN_END_HEADER_TIMEOUT,    /* the headers did not arrive within --header-timeout */
    CONN_END_BODY_TIMEOUT,      /* the body did not arrive within --body-timeout */
    CONN_END_KEEPALIVE_TIMEOUT, /* idle between requests for --keepalive-timeout */
    CONN_END_EVICTED,           /* the oldest idle or half-sent one, to make room at the limit */
    CONN_END__COUNT
};
const char *conn_end_name(enum conn_end why);

/* Why the listener could not take a connection, as flowtrack_connections_refused_total's. */
enum conn_refusal {
    CONN_REFUSED_LIMIT,  /* every connection of the budget busy: accepting paused */
    CONN_REFUSED_EMFILE, /* accept(): the process is out of descriptors */
    CONN_REFUSED_ENFILE, /* accept(): the system is out of descriptors */
    CONN_REFUSED_OTHER,  /* accept(): any other error (ENOBUFS, ENOMEM...) */
    CONN_REFUSED__COUNT
};
const char *conn_refusal_name(enum conn_refusal why);

struct srv_conn;
struct evconnlistener;
TAILQ_HEAD(srv_conn_list, srv_conn);

/* Every connection of the server; the fields are conn.c's, read by metrics.c. */
struct srv_conns {
    struct srv_conn_list by_state[CONN__NSTATES]; /* oldest first (deadlines, eviction) */
    struct srv_conn **by_fd; /* the connection on each descriptor: evcon -> ours */
    size_t nfd;
    int open;      /* accepted, not yet closed (each holds a descriptor) */
    int max;       /* --max-connections, or the descriptor limit less the reserve */
    int accepting; /* the listener is enabled */
    int backoff;   /* accept() failed: retrying when ev_retry fires */
    int full;      /* the budget is full of connections that may not be evicted */
    struct event *ev_adopt, *ev_retry;
    uint64_t accepted;
    uint64_t closed[CONN_END__COUNT];
    uint64_t refused[CONN_REFUSED__COUNT];
    /* one log line per interval for all of the above (not one per connection) */
    int64_t logged_ms;
    uint64_t logged_closed[CONN_END__COUNT], logged_refused[CONN_REFUSED__COUNT];
};

/* Size the budget and hook evhttp's connections (before srv_listen). */
void srv_conns_start(struct ft_server *srv);
/* The listener is bound: watch its accept() errors. */
void srv_conns_listening(struct ft_server *srv, struct evconnlistener *l);
/* The listener is about to go (shutdown): no more pausing, resuming or retrying. */
void srv_conns_unlisten(struct ft_server *srv);
/* After evhttp_free(): release what is left (every connection is closed by then). */
void srv_conns_stop(struct ft_server *srv);
/* Deadlines: close connections past them; write the pressure log line when due. */
void srv_conns_tick(struct ft_server *srv, int64_t now);
/* A request is being answered (the router's entry): its connection is busy until the reply
 * is sent, then idle (kept alive) or closed. */
void srv_conn_request(struct ft_server *srv, struct evhttp_request *req);
/*
 * Write what evhttp has just queued on bev (a reply) now, in this turn of the loop, instead of
 * arming EV_WRITE for the next one: when the socket takes all of it, the reply completes here
 * (the request is freed, the connection waits for the next one or is closed) and the loop's
 * change list never adds write interest: no epoll_ctl for the reply. bev may be freed by then.
 */
void srv_conn_flush(struct bufferevent *bev);
/* The connection carries a stream from now on: no deadline, never evicted. */
void srv_conn_stream(struct ft_server *srv, struct evhttp_connection *evcon);
/*
 * What runs when evhttp closes evcon (fn NULL: nothing), before the connection is released.
 * The connection's own close callback belongs to conn.c: set this one instead.
 */
void srv_conn_on_close(struct ft_server *srv, struct evhttp_connection *evcon,
                       void (*fn)(struct evhttp_connection *, void *), void *arg);

/* ---- the event-log feed (feed.c) ---- */

/* Open an event stream of tracker tid (0: every tracker) on req; answers errors itself. */
void feed_open(struct ft_server *srv, struct evhttp_request *req, int64_t tid, const char *what,
               int64_t t0);
/* Read the log past srv->head and queue it for the streams' fan-out passes, which start on
 * the loop's next turn: 0, or -1 when the store could not be read (logged; the feed then polls
 * until it can). */
int srv_pull(struct ft_server *srv);
/* The fan-out's queue and its event (after the loop is made); its end (every event queued
 * still in it is dropped). */
void feed_fanout_init(struct ft_server *srv);
void feed_fanout_free(struct ft_server *srv);
/* Read the log, then run every queued event's pass to its end now (before the streams are
 * ended): every event committed by then reaches the streams. */
void feed_fanout_flush(struct ft_server *srv);
/* Wait on the store's change watch (a poll when it has none). */
void feed_watch_start(struct ft_server *srv);
void feed_watch_stop(struct ft_server *srv);
/*
 * Before answering from what the change watch knows (srv->versions): take in what it has
 * seen since the loop last looked, so that a write another process completed before the
 * request was sent is known (with a store whose watch lags, PostgreSQL, by comparing the
 * log's head: one round trip). 1 when srv->versions may be trusted; 0 when the server has no
 * change watch or the store could not be read (then ask the store).
 */
int feed_watch_fresh(struct ft_server *srv);
/* Whether the store can be reached: its connection (h, filled) and, for a database, the change
 * watch's (a lost watch is being opened again). What /healthz and /metrics report. */
int feed_store_up(struct ft_server *srv, struct ft_store_health *h);

/* ---- metrics (metrics.c) ---- */

/* Status codes the server answers with, as the "code" label. */
#define FT_NCODES 20
extern const int ft_codes[FT_NCODES];

#define FT_NBUCKETS 12
extern const double ft_buckets[FT_NBUCKETS];

struct ft_metrics {
    uint64_t requests[R__COUNT][FT_NCODES];
    uint64_t duration_buckets[FT_NBUCKETS]; /* cumulative on output only */
    uint64_t duration_count;
    double duration_sum;
    uint64_t streams_opened;
    uint64_t streams_closed[FT_END__COUNT];
    uint64_t streams_rejected;
    uint64_t events_delivered;
    uint64_t fanout_passes; /* fan-out passes run to their end (feed.c) */
    uint64_t fanout_writes; /* their writes to streams */
    uint64_t heartbeats;
    uint64_t stream_bytes;
    uint64_t store_errors;
    uint64_t watch_losses; /* the change watch's connection failed */
};

/* Figures a worker publishes in its slot of the shared mapping for the others' scrapes. */
struct ft_gauges {
    pid_t pid;
    int streams_open, flushing;
    int conns_open, conns_max, paused;
    uint64_t accepted, conns_closed[CONN_END__COUNT], refused[CONN_REFUSED__COUNT];
    int64_t head;
    uint64_t cache_hits, cache_misses;
    size_t cache_bytes, queued;
    int store_handles, statements, store_up, mcp_runs;
    uint64_t reconnects;
};

/* A worker's slot data (shared.h): counters bumped in place, gauges published. */
struct srv_figures {
    struct ft_metrics m;
    struct ft_gauges g;
};

void srv_count_request(struct ft_server *srv, enum ft_route route, int code, int64_t t0);
void srv_metrics(struct call *c); /* GET /metrics */
/* Publish srv's gauges in its slot: the cheap ones (full 0: after a reply, a stream's or a
 * connection's start and end), or all of them (full 1: the tick, a scrape), which walks the
 * streams and asks the store. */
void srv_publish(struct ft_server *srv, int full);

/* ---- systemd (notify.c) ---- */

/*
 * Tell systemd (Type=notify) that the server is ready, with its URL, and start the watchdog
 * pings when the unit sets WatchdogSec: every half period, from the loop, so a loop that
 * stops turning stops them. Nothing at all when NOTIFY_SOCKET is not set.
 */
void srv_notify_ready(struct ft_server *srv);
/* Without a loop (srv->base NULL: a group's supervisor) the caller pings: every this many ms
 * (0: no watchdog), with srv_notify_ping(). */
int64_t srv_notify_ping_ms(struct ft_server *srv);
void srv_notify_ping(struct ft_server *srv);
/* Shutdown has begun (STOPPING=1). */
void srv_notify_stopping(struct ft_server *srv);
/* The log was reopened, or anything else worth a STATUS= line. */
void srv_notify_status(struct ft_server *srv, const char *status);
/* Stop the pings and release (before the loop is freed). */
void srv_notify_stop(struct ft_server *srv);

/* ---- logging (log.c) ---- */

/*
 * Log lines are buffered and written once per turn of the loop (a request's line and its
 * stream's lines cost one write(2) together): the first line of a turn activates `flush`,
 * which runs after the turn's other callbacks. Without a loop, lines go out at once.
 */
struct srv_log {
    int fd;    /* stderr, the --log-file, or where a driver inside another program points it */
    int owned; /* fd is the --log-file: closed by srv_log_stop (a driver's is its own) */
    struct event *flush;
    struct ft_buf out; /* lines of this turn, not yet written */
    int64_t ts_ms;     /* the millisecond ts was formatted for */
    char ts[40];
};

/* Open the --log-file when there is one (else the log is stderr). 0 or an ft_code. */
int srv_log_start(struct ft_server *srv, struct ft_err *err);
/* Write what is left, stop buffering, close the --log-file. */
void srv_log_stop(struct ft_server *srv);
/* SIGHUP: open the --log-file again (after logrotate moved it); the old one stays on error. */
void srv_log_reopen(struct ft_server *srv);
/* logfmt line on the log: ts level event key=value... (values quoted when needed). */
void srv_log(struct ft_server *srv, const char *level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Append a logfmt value, quoted and escaped when needed. */
void srv_logfmt_value(struct ft_buf *b, const char *v);
void srv_log_request(struct ft_server *srv, struct evhttp_request *req, enum ft_route route,
                     int code, size_t bytes, int64_t t0);

/* ---- requests and replies (http.c) ---- */

/* Bind the listener (--listen) and route every request. */
int srv_listen(struct ft_server *srv, struct ft_err *err);
/* Serve on fd, a socket bound and listening (a worker's, from group.c); srv owns it. */
int srv_listen_fd(struct ft_server *srv, int fd, struct ft_err *err);
struct sockaddr_storage;
/* --listen as an address (port 0 left 0); FT_EINVAL when it is not one, or not loopback
 * without a token. */
int srv_parse_listen(const struct ft_server_opts *o, struct sockaddr_storage *ss, int *sslen,
                     struct ft_err *err);
/* "http://HOST:PORT" of a bound address. */
void srv_url_of(const struct sockaddr_storage *got, char *url, size_t n);
/* Write url to path atomically (a temporary file renamed). */
int srv_write_ready_file(const char *path, const char *url, struct ft_err *err);
/* Route every request that comes in on l (any bound listener; srv owns it from now on). */
int srv_listen_on(struct ft_server *srv, struct evconnlistener *l, struct ft_err *err);
/* Stop accepting: close the listening socket. */
void srv_unlisten(struct ft_server *srv);

/* Send a reply, count it, log it. body may be NULL. */
void srv_reply(struct ft_server *srv, struct evhttp_request *req, enum ft_route route, int code,
               const char *ctype, const char *body, size_t len, int64_t t0);
void srv_reply_json(struct ft_server *srv, struct evhttp_request *req, enum ft_route route,
                    int code, json_t *body, int64_t t0); /* steals body */
/* 4xx/5xx with {"error": {"status", "code", "message", "field"?, "reason"?}}. */
void srv_error(struct ft_server *srv, struct evhttp_request *req, enum ft_route route, int code,
               const char *field, int64_t t0, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
/* The error of a failed operation (or store call), with its status, field and reason. */
void srv_fail(struct call *c, const struct ft_err *err);

int64_t srv_now_us(void); /* monotonic microseconds */

/* ---- the REST adapters (rest.c) ---- */

void rest_op(struct call *c);          /* any operation: arguments in, result out */
void rest_create(struct call *c);      /* POST /api/trackers: JSON create, or a document */
void rest_tracker_get(struct call *c); /* GET a tracker: versions, 304, the render cache */
void rest_entry_add(struct call *c);   /* POST an entry; a result with its run records both */
void rest_entry_patch(struct call *c); /* PATCH an entry: its fields, then its position */
void rest_events(struct call *c);      /* GET an event stream */
void rest_healthz(struct call *c);

/* ---- MCP over Streamable HTTP (mcp_http.c) ---- */

struct mcp_session;
struct ft_mcp_runs;
void rest_mcp(struct call *c); /* POST, GET, DELETE /mcp */
void mcp_http_start(struct ft_server *srv);
/* Idle sessions expire (--mcp-idle-timeout). */
void mcp_http_tick(struct ft_server *srv, int64_t now);
/* An event of the log about tracker slug: subscribed sessions are told. */
void mcp_http_tracker_changed(struct ft_server *srv, const char *slug);
/* End every session and every run child's watch (shutdown); idempotent. */
void mcp_http_stop(struct ft_server *srv);

/* ---- the server ---- */

struct ft_server {
    const struct ft_server_opts *o;
    struct ft_store *st;
    struct ft_ops *ops; /* the operations over st: every REST request runs one */
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    struct srv_conns conns;
    struct event *ev_term, *ev_int, *ev_hup, *ev_tick, *ev_reap, *ev_watch, *ev_poll, *ev_grace;
    struct srv_notify *notify;   /* systemd's notification socket, when run by systemd */
    int64_t watch_until;         /* re-read the log every few ms until then (a write just seen) */
    int watch_step_ms;           /* the wait before the next of those reads */
    int pull_failing;            /* the last read of the log failed (srv->versions may lag) */
    int64_t poll_due_us;         /* the log's next read is due then (ev_poll) */
    int watch_fd;                /* the store's change watch, -1 when it has none (then: poll) */
    int64_t watch_retry_at;      /* a lost watch: when to open it again (0: not lost) */
    int64_t watch_retry_ms;      /* and the wait after that try fails */
    int64_t pull_err_logged_at;  /* a failed read of the log was last logged then */
    uint64_t pull_errs_unlogged; /* and failed so many times since */
    int loopback;                /* bound to a loopback address */
    char url[128];
    char *cookie; /* the token as the dashboard's cookie holds it (NULL: no token) */
    struct ft_channel *live, *dead;
    int streams_open; /* allocated and not yet freed */
    int flushing;     /* connections ended cleanly, final bytes not yet flushed */
    int shutting_down;
    int64_t head;                /* the newest sequence number read from the log (feed.c) */
    struct ft_fanout *fanout;    /* events read, waiting for or in a fan-out pass (feed.c) */
    struct ft_channel *fan_next; /* the pass under way goes on from this channel */
    struct event *ev_fanout;     /* the next slice of a pass */
    int fan_due_now;             /* and it is due at once (not after the gap between passes) */
    int64_t tick_ms;
    struct evbuffer *scratch;    /* reused for every chunk; drained after each send */
    struct ft_cache cache;       /* rendered trackers by version (GET /api/trackers/REF) */
    struct ft_versions versions; /* trackers' versions and references, from the log */
    struct ft_shared *sh;        /* what the workers share (shared.h); this worker's slot: */
    int sh_owned;                /* sh is this server's (one loop, or a driver), not the group's */
    int worker;                  /* the slot's index */
    struct ft_slot *slot;
    struct ft_metrics *m; /* in the slot: counters */
    struct ft_gauges *g;  /* in the slot: published gauges */
    struct srv_log log;
    struct {
        struct mcp_session *sessions; /* this worker's side of the registry's sessions */
        struct ft_mcp_runs *runs;     /* the run tool's children, of every session */
        char self_exe[4096];          /* what the run tool starts */
    } mcp;
};

/*
 * The server without its process-wide parts, for drivers inside another program (the fuzz
 * target, tests/fuzz/fuzz_request.c): ft_server_new() makes everything ft_server_run() serves
 * with (the loop, evhttp, the connections' budget, the tick, MCP) except the listener, the
 * store's change watch and the signal events; the caller binds a listener (srv_listen, or
 * srv_listen_on), may start the watch (feed_watch_start), and turns srv->base itself.
 * ft_server_free() closes every connection left and frees it all (NULL is allowed); the
 * store stays the caller's. Returns 0 with *out set, or an ft_code with err set.
 */
int ft_server_new(const struct ft_server_opts *o, struct ft_store *st, struct ft_server **out,
                  struct ft_err *err);
void ft_server_free(struct ft_server *srv);

/* ---- the dashboard (ui.c) ---- */

void rest_ui(struct call *c);         /* GET / and /ui/{file}: the embedded files */
void rest_ui_session(struct call *c); /* GET /ui/session */
void rest_ui_login(struct call *c);   /* POST /ui/login: the token as a cookie */
void rest_ui_logout(struct call *c);  /* POST /ui/logout */
/* The cookie value that carries token (malloc'd). */
char *srv_cookie_value(const char *token);
/* The request carries the token in the dashboard's cookie. */
int srv_cookie_ok(struct ft_server *srv, struct evhttp_request *req);
/* The request body as a JSON object; answers (415, 413, 400) and returns NULL when not one. */
json_t *srv_read_json(struct call *c);

/* A connection ended cleanly by channel_free has flushed (or failed). */
void srv_flush_closed(struct ft_server *srv);

#endif
