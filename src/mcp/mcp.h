/*
 * mcp: the Model Context Protocol front end (docs/mcp.md), a third adapter
 * over the operations layer (src/ops/ops.h) beside the command line and REST.
 *
 * One struct ft_mcp is one MCP session: the JSON-RPC methods (initialize,
 * ping, tools/list, tools/call, resources/list|read|subscribe|unsubscribe,
 * notifications/cancelled), the tools (tools.c), the reproducer runs started
 * by the run tool (job.c), and the resources a client subscribed to. It knows
 * no transport: messages come in through ft_mcp_handle() and go out through
 * the host's send(), so the same session serves stdio (stdio.c) and
 * Streamable HTTP (src/server/mcp_http.c).
 *
 * Messages a request causes (its progress notifications, then its response)
 * are sent with that request's `req` context, given to ft_mcp_handle(); a
 * response may come later than the call (a run), and never comes for a
 * request that was cancelled or whose transport went away (ft_mcp_forget()).
 * Resource updates are sent with req NULL.
 *
 * Lifetime: ft_mcp_free() ends everything the session owns in one place: it
 * interrupts its runs (their runner children record the run as interrupted
 * and exit by themselves), frees its jobs, timers and subscriptions.
 * Everything runs on the caller's event loop, one thread.
 */
#ifndef FT_MCP_H
#define FT_MCP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct ft_ops;

/* Protocol versions: the newest first; an unknown request is answered with the first. */
#define FT_MCP_PROTOCOL "2025-11-25"
extern const char *const ft_mcp_versions[]; /* NULL-terminated */

/* JSON-RPC and MCP error codes. */
enum {
    FT_RPC_PARSE = -32700,
    FT_RPC_INVALID = -32600,
    FT_RPC_NO_METHOD = -32601,
    FT_RPC_PARAMS = -32602,
    FT_RPC_INTERNAL = -32603,
    FT_RPC_NO_RESOURCE = -32002,
};

/* What the transport gives a session. */
struct ft_mcp_host {
    /* Send one message (taken: the callee drops the reference) for request context req (NULL:
     * the session's own, a resource update). */
    void (*send)(void *u, json_t *msg, void *req);
    void *u;
};

/*
 * The runs started by the run tools of every session on one loop: each is a `flowtrack run`
 * child, owned here and not by the session, because a runner that was interrupted (a cancel,
 * a session that ended) takes its grace period to end the command it ran, and must still be
 * reaped then. ft_mcp_runs_free() interrupts what still runs and frees everything; the
 * runners finish on their own.
 */
struct ft_mcp_runs;
struct ft_mcp_runs *ft_mcp_runs_new(struct event_base *base);
int ft_mcp_runs_count(const struct ft_mcp_runs *r); /* children not yet reaped */
void ft_mcp_runs_free(struct ft_mcp_runs *r);

struct ft_mcp_config {
    struct ft_mcp_runs *runs;  /* where the run tool's children live (required) */
    const char *self_exe;      /* this flowtrack binary: the run tool starts `flowtrack run` */
    const char *const *access; /* its store options (NULL-terminated): {"--db", PATH, NULL} */
    const char *actor;         /* writes are attributed to it; NULL: one made per session */
    const char *tracker;       /* the tracker tools act on by default (NULL: as the CLI) */
};

struct ft_mcp;

/* A session over ops (borrowed), on base. Never NULL. */
struct ft_mcp *ft_mcp_new(struct event_base *base, struct ft_ops *ops,
                          const struct ft_mcp_config *cfg, const struct ft_mcp_host *host);
/*
 * Handle one message (a JSON-RPC request, notification or response), req being its transport
 * context. Every request gets one answer through send(), at once or later; notifications and
 * responses get none. Returns 1 when the message was a request, else 0.
 */
int ft_mcp_handle(struct ft_mcp *m, json_t *msg, void *req);
/* The transport can no longer deliver answers for req: cancel what it started, send nothing. */
void ft_mcp_forget(struct ft_mcp *m, void *req);
/* Requests still being worked on (runs). */
int ft_mcp_pending(const struct ft_mcp *m);
/* Tracker slug changed (an event of the log): notify subscribers of its resource. */
void ft_mcp_tracker_changed(struct ft_mcp *m, const char *slug);
/* 1 when a client subscribed to any resource. */
int ft_mcp_subscribed(const struct ft_mcp *m);
/*
 * What another process serving the same session needs (Streamable HTTP on several workers,
 * src/server/shared.h): the negotiated version, the actor, the subscriptions (compact JSON).
 * A session holds at most FT_MCP_MAX_SUBS subscriptions, so that they fit.
 */
#define FT_MCP_MAX_SUBS   64
#define FT_MCP_SUBS_BYTES 8192
struct ft_mcp_state {
    char version[16];
    char actor[64];
    char subs[FT_MCP_SUBS_BYTES];
};
/* Fill s from m: 0, or -1 when the subscriptions do not fit (s is then unchanged). */
int ft_mcp_state_save(struct ft_mcp *m, struct ft_mcp_state *s);
/* Set m's version, actor and subscriptions from s (a session started elsewhere). */
void ft_mcp_state_load(struct ft_mcp *m, const struct ft_mcp_state *s);
/* A request was cancelled through another process: cancel its job here if it runs here. */
void ft_mcp_cancel(struct ft_mcp *m, json_t *id);

/* The negotiated protocol version ("" before initialize). */
const char *ft_mcp_version(const struct ft_mcp *m);
void ft_mcp_free(struct ft_mcp *m);

/* A JSON-RPC error message (new reference): id may be NULL (sent as null). */
json_t *ft_mcp_error(json_t *id, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The answer to tools/list, built once (for its size: docs and the benchmark). */
const char *ft_mcp_tools_list_text(void);

/*
 * `flowtrack mcp`: one session over stdin and stdout (newline-delimited JSON). Resource
 * updates come from the store's change watch (ops over a store: st_watch_fd >= 0) or from
 * polling the event log (ops over a server). Returns 0 at stdin's end.
 */
struct ft_store;
int ft_mcp_stdio(struct ft_ops *ops, struct ft_store *st, const struct ft_mcp_config *cfg);

#endif
