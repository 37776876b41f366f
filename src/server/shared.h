/*
 * shared: what the worker processes of one `flowtrack serve --loops N` share, in one
 * anonymous MAP_SHARED mapping made before they are forked (group.c).
 *
 *   - a slot per worker: its counters (struct ft_metrics, bumped by that worker alone) and
 *     its gauges (struct ft_gauges, published by that worker when they change), so that a
 *     scrape of /metrics on any worker sums the whole server;
 *   - the MCP sessions' registry: each session's id, protocol version, actor and
 *     subscriptions, so that a session's requests may arrive on any worker (the kernel
 *     spreads connections over the SO_REUSEPORT listeners; it cannot know sessions).
 *
 * Each slot has one writer, its worker; other workers read it without a lock (aligned words:
 * a figure may be one update behind). The registry is guarded by a process-shared robust
 * mutex: a worker killed while holding it does not stop the others. With one loop the same
 * mapping serves the one process, so both paths run the same code.
 */
#ifndef FT_SERVER_SHARED_H
#define FT_SERVER_SHARED_H

#include "../mcp/mcp.h" /* struct ft_mcp_state */

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The slot of one worker. */
struct ft_slot {
    pid_t pid;            /* the worker's process; 0 when none runs in it */
    int64_t beat_ms;      /* its loop's last tick (monotonic): the watchdog pings only when fresh */
    uint64_t starts;      /* how many times a worker started in this slot (1 + restarts) */
    unsigned char data[]; /* the server's figures (struct srv_figures, internal.h) */
};

/* An MCP session as every worker sees it. */
#define FT_SHARED_CANCELS 8
struct ft_mcp_rec {
    char id[33];         /* "" when the record is free */
    int64_t last_ms;     /* its last request (monotonic), for idle expiry */
    uint32_t gen;        /* bumped when state changes */
    uint32_t busy;       /* bit k: worker k holds a stream of the session */
    pid_t get_pid;       /* the worker holding the session's GET stream; 0: none */
    uint32_t cancel_seq; /* cancels[cancel_seq % N] is the newest cancelled request id */
    char cancels[FT_SHARED_CANCELS][64];
    struct ft_mcp_state state;
};

struct ft_shared {
    pthread_mutex_t lock; /* the MCP registry and its counters */
    int nslots, mcp_cap;
    size_t slot_size, size;             /* one slot; the whole mapping */
    uint64_t mcp_opened, mcp_closed[3]; /* by reason: delete, idle, shutdown */
    int mcp_open;                       /* records in use */
    uint64_t worker_restarts;
    struct ft_mcp_rec *recs; /* in the mapping; the same address in every worker */
    unsigned char *used;     /* used[i]: recs[i] is in use (scanned instead of the records) */
    unsigned char *slots;
};

/* One mapping for nslots workers of data_size bytes of figures each, and mcp_cap sessions.
 * NULL when the mapping cannot be made. */
struct ft_shared *ft_shared_new(int nslots, int mcp_cap, size_t data_size);
void ft_shared_free(struct ft_shared *sh);
struct ft_slot *ft_shared_slot(const struct ft_shared *sh, int k);

/* The registry, under its lock (recovered when its holder died). */
void ft_shared_lock(struct ft_shared *sh);
void ft_shared_unlock(struct ft_shared *sh);
/* Under the lock: the record of id, or NULL. A session id is 24 random hex digits and the
 * record's index in 8, so that finding it costs no search. */
struct ft_mcp_rec *ft_shared_mcp_find(struct ft_shared *sh, const char *id);
/* Under the lock: a new record with a fresh id, or NULL when mcp_cap are in use (errno
 * EAGAIN) or no randomness could be had. */
struct ft_mcp_rec *ft_shared_mcp_add(struct ft_shared *sh);
/* Under the lock: free rec. */
void ft_shared_mcp_drop(struct ft_shared *sh, struct ft_mcp_rec *rec);
/* Under the lock: the i-th record when it is in use, else NULL (i < mcp_cap). */
struct ft_mcp_rec *ft_shared_mcp_at(struct ft_shared *sh, int i);

#endif
