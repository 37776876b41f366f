/*
 * server: `flowtrack serve`, the JSON API and the Server-Sent Events stream
 * over one store, on one libevent loop in one thread.
 *
 * ft_server_run() binds, announces the URL, serves until SIGTERM or SIGINT,
 * then stops accepting, ends every stream (a final "shutdown" event and a
 * clean end of its chunked body), waits for those ends to flush (bounded by
 * the shutdown grace), frees everything it made and returns 0. Connections
 * are budgeted below the descriptor limit and slow clients are cut at
 * deadlines (conn.c, docs/operations.md). The caller
 * owns and closes the store, and owns the process: it ignores SIGPIPE before
 * the call (sockets closed by peers are errors to handle, not signals), sets
 * the descriptor limit, and may call libevent_global_shutdown() after it.
 * The internal parts are listed in internal.h.
 */
#ifndef FT_SERVER_H
#define FT_SERVER_H

#include <stddef.h>
#include <stdint.h>

struct ft_err;
struct ft_store;

#define FT_SERVE_DEFAULT_LISTEN        "127.0.0.1:7464"
#define FT_SERVE_DEFAULT_HEARTBEAT_MS  15000
#define FT_SERVE_DEFAULT_MAX_STREAMS   10000
#define FT_SERVE_DEFAULT_STREAM_BUFFER (256u << 10)
#define FT_SERVE_DEFAULT_WRITE_TIMEOUT 30000
#define FT_SERVE_DEFAULT_IDLE_TIMEOUT  0
#define FT_SERVE_DEFAULT_GRACE_MS      5000
#define FT_SERVE_DEFAULT_REQ_TIMEOUT   60
#define FT_SERVE_DEFAULT_BUSY_MS       1000
#define FT_SERVE_DEFAULT_MCP_SESSIONS  256
#define FT_SERVE_DEFAULT_MCP_IDLE_MS   (30 * 60 * 1000)
#define FT_SERVE_DEFAULT_HEADER_MS     10000
#define FT_SERVE_DEFAULT_BODY_MS       30000
#define FT_SERVE_DEFAULT_KEEPALIVE_MS  30000
#define FT_SERVE_FD_RESERVE            64 /* descriptors kept from the connections' budget */
#define FT_SERVE_MAX_BODY              (1u << 20)
#define FT_SERVE_MAX_HEADERS           (16u << 10)
#define FT_SERVE_RETRY_MS              2000
#define FT_SERVE_CACHE_BYTES           (32u << 20) /* rendered trackers kept for GETs */

struct ft_server_opts {
    const char *listen;        /* "HOST:PORT"; port 0 picks a free one */
    const char *token;         /* NULL: no token */
    int private_reads;         /* reads need the token too */
    int64_t heartbeat_ms;      /* comment frame interval; 0 = none */
    int max_streams;           /* past it, 503 with Retry-After */
    size_t stream_buffer;      /* bytes queued per stream before it is ended as a slow reader */
    int64_t write_timeout_ms;  /* no byte of a stream's queue written for this long: slow reader */
    int64_t idle_timeout_ms;   /* no event on a stream for this long: idle_timeout (0 = never) */
    int64_t grace_ms;          /* shutdown: longest wait for streams to flush */
    int request_timeout_s;     /* reading a request, writing a plain response */
    int64_t busy_ms;           /* a write waits this long for another process's lock, then 503 */
    const char *ready_file;    /* write the URL here once listening */
    const char *log_file;      /* the log goes here (appended, reopened on SIGHUP); NULL: stderr */
    const char *actor;         /* writes are attributed to it unless a request names one */
    int mcp_max_sessions;      /* MCP sessions open at once; past it, 503 */
    int64_t mcp_idle_ms;       /* an MCP session without a request (or stream) for this long ends */
    int max_connections;       /* connections open at once; 0: the descriptor limit less the
                                * reserve (FT_SERVE_FD_RESERVE); past it, the oldest idle or
                                * half-sent one is closed, else accepting pauses */
    int64_t header_timeout_ms; /* accept (or a keep-alive request's first byte) to the end
                                * of its headers; 0 = none */
    int64_t body_timeout_ms;   /* the end of the headers to the end of the body; 0 = none */
    int64_t keepalive_timeout_ms; /* idle between two requests of a connection; 0 = none */
    int loops; /* worker processes, each with its own loop (group.c); 0: one per core */
    /* Set by the group for each of its workers (ft_server_group); a lone server leaves them. */
    struct ft_shared *shared; /* what the workers share; NULL: the server makes its own */
    int worker;               /* this worker's slot in shared */
    int listen_fd;            /* a listening socket to serve on; -1: bind --listen */
    int ready_fd;             /* once listening, write the URL here and close it; -1: none */
};

void ft_server_opts_init(struct ft_server_opts *o);
/* Bind and serve until SIGTERM/SIGINT. 0 on a clean stop, else an ft_code with err set. */
int ft_server_run(const struct ft_server_opts *o, struct ft_store *st, struct ft_err *err);

/*
 * `serve --loops N` with N > 1: the calling process becomes the group's supervisor. It checks
 * and resolves --listen, makes the shared mapping, and forks N workers, each with its own
 * SO_REUSEPORT listener on the same port. It writes the ready file and the "listening" line
 * once every worker listens, forwards SIGTERM, SIGINT and SIGHUP to them, starts again a
 * worker that dies unasked, and talks to systemd. The caller must have closed its store
 * first: a store handle must not cross fork().
 *
 * Returns twice, as fork() does. In the supervisor, at the end: *worker is -1 and the result
 * is 0 (every worker stopped cleanly) or an ft_code with err set. In a worker, at once:
 * *worker is its index and *wo holds its options (o, plus the shared mapping, its listening
 * socket and the pipe that tells the supervisor it listens): the caller opens its own store
 * and calls ft_server_run(wo, ...), then ft_server_group_end(wo).
 */
int ft_server_group(const struct ft_server_opts *o, struct ft_server_opts *wo, int *worker,
                    struct ft_err *err);
/* A worker is done with what ft_server_group() gave it. */
void ft_server_group_end(struct ft_server_opts *wo);
/* The number of cores this process may run on (the default of --loops). */
int ft_server_cores(void);

/* Constant-time comparison of two strings (1 when equal). */
int ft_ct_streq(const char *a, const char *b);
/* 1 when host (no port) names a loopback address: localhost, 127.x.y.z, ::1. */
int ft_host_is_loopback(const char *host);

#endif
