/*
 * Shared between the server's files: the server state, the stream state and
 * the metrics. Everything here runs on the loop's one thread.
 */
#ifndef FT_SERVER_INTERNAL_H
#define FT_SERVER_INTERNAL_H

#include "cache.h"
#include "server.h"

#include "../store/store.h"
#include "../util/ft_buf.h"

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <stdint.h>

/* How a stream ended; each end is counted once under its name. */
enum ft_end {
    FT_END_COMPLETE,      /* the stream had nothing more to say (its tracker was deleted) */
    FT_END_CLIENT_CLOSED, /* the client closed or reset the connection */
    FT_END_ERROR,         /* the store failed while serving it */
    FT_END_IDLE_TIMEOUT,  /* no event for --idle-timeout */
    FT_END_SLOW_READER,   /* output past --stream-buffer, or nothing written for --write-timeout */
    FT_END_SHUTDOWN,      /* SIGTERM / SIGINT */
    FT_END__COUNT
};
const char *ft_end_name(enum ft_end why);

/* Routes, as the bounded "route" label of the request metrics. */
enum ft_route {
    R_HEALTHZ,
    R_METRICS,
    R_TRACKERS,
    R_TRACKER,
    R_ENTRIES,
    R_ENTRY,
    R_HISTORY,
    R_RUNS,
    R_RUN,
    R_CHECK,
    R_EVENTS,
    R_DEFAULT,
    R_OTHER,
    R__COUNT
};
extern const char *const ft_route_label[R__COUNT];

/* Status codes the server answers with, as the "code" label. */
#define FT_NCODES 17
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
    uint64_t heartbeats;
    uint64_t stream_bytes;
    uint64_t store_errors;
};

struct ft_stream {
    struct ft_server *srv;
    struct ft_stream *prev, *next; /* in srv->live, then in srv->dead */
    struct evhttp_request *req;    /* NULL once libevent owns or freed it */
    struct evhttp_connection *evcon;
    /* evcon's output buffer and socket, kept from stream_open so that the fan-out does not look
     * them up per delivery: valid exactly while evcon is (out NULL, fd -1 once it is not). */
    struct evbuffer *out;
    int fd;
    int chunked;                   /* the reply is chunked (HTTP/1.1), fixed when it starts */
    struct evhttp_request *orphan; /* detached by a client abort: ours to release */
    int64_t tid;                   /* 0: every tracker */
    int envelope;                  /* data: the history-style envelope, not the bare payload */
    int64_t pos;                   /* the log is served up to this sequence number */
    int behind;                    /* replay paused until the output drains */
    int ended;
    enum ft_end why;
    int64_t started_ms, last_write_ms, last_event_ms, last_drain_ms;
    struct evbuffer_cb_entry *outcb; /* progress watch on the connection's output */
    uint64_t events, bytes;
    char peer[64];
    char what[80]; /* tracker slug or "*" for the log line */
};

struct ft_server {
    const struct ft_server_opts *o;
    struct ft_store *st;
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    struct event *ev_term, *ev_int, *ev_tick, *ev_reap, *ev_watch, *ev_poll, *ev_grace;
    int64_t watch_until; /* re-read the log every few ms until then (a write just seen) */
    int watch_fd;        /* the store's change watch, -1 when it has none (then: poll) */
    int loopback;        /* bound to a loopback address */
    char url[128];
    struct ft_stream *live, *dead;
    int streams_open; /* allocated and not yet freed */
    int flushing;     /* connections ended cleanly, final bytes not yet flushed */
    int shutting_down;
    int64_t head; /* the newest sequence number read from the log and fanned out */
    int64_t tick_ms;
    struct evbuffer *scratch; /* reused for every chunk; drained after each send */
    struct ft_cache cache;    /* rendered trackers by version (GET /api/trackers/REF) */
    struct ft_metrics m;
};

/* logfmt line on stderr: ts level event key=value... (values quoted when needed). */
void srv_log(const char *level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Append a logfmt value, quoted and escaped when needed. */
void srv_logfmt_value(struct ft_buf *b, const char *v);

/* Send a reply, count it, log it. body may be NULL. */
void srv_reply(struct ft_server *srv, struct evhttp_request *req, enum ft_route route, int code,
               const char *ctype, const char *body, size_t len, int64_t t0);
void srv_reply_json(struct ft_server *srv, struct evhttp_request *req, enum ft_route route,
                    int code, json_t *body, int64_t t0); /* steals body */
/* 4xx/5xx with {"error": {"status", "code", "message", "field"?}}. */
void srv_error(struct ft_server *srv, struct evhttp_request *req, enum ft_route route, int code,
               const char *field, int64_t t0, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
void srv_log_request(struct evhttp_request *req, enum ft_route route, int code, size_t bytes,
                     int64_t t0);
void srv_count_request(struct ft_server *srv, enum ft_route route, int code, int64_t t0);

int64_t srv_now_us(void); /* monotonic microseconds */
/* A connection ended cleanly by stream_free has flushed (or failed). */
void srv_flush_closed(struct ft_server *srv);

/*
 * An event as the history API shows it (and as ?envelope=1 streams it): seq, tracker, slug, at,
 * actor, kind, payload. A payload that is not JSON is kept as a string. New reference.
 */
json_t *srv_event_json(const struct ft_event *ev);
/* Read the log past srv->head and fan it out to the streams. */
void srv_pull(struct ft_server *srv);

/* api.c: route a request under /api/ (not the event streams). */
void api_handle(struct ft_server *srv, struct evhttp_request *req, const char *path,
                enum ft_route route, int64_t t0);
/* The route label of a path (server.c). */
enum ft_route srv_classify(const char *path);

/* stream.c */
void stream_open(struct ft_server *srv, struct evhttp_request *req, int64_t tid, const char *what,
                 int64_t t0);
void ft_stream_end(struct ft_stream *s, enum ft_end why);
void stream_fanout(struct ft_server *srv, const struct ft_event *ev);
void stream_tick(struct ft_server *srv, int64_t now);
void stream_reap(struct ft_server *srv);
void stream_shutdown_all(struct ft_server *srv);
size_t stream_queued_bytes(struct ft_server *srv);

#endif
