/*
 * Shared by the parts of an MCP session (one event loop, one thread):
 *   mcp.c    the session: JSON-RPC dispatch, initialize, resources, subscriptions
 *   tools.c  the tools: their schemas, argument checks, and the operations they run
 *   job.c    the run tool: a `flowtrack run` child, its progress, its cancellation
 *   stdio.c  the stdio transport (`flowtrack mcp`)
 */
#ifndef FT_MCP_INTERNAL_H
#define FT_MCP_INTERNAL_H

#include "mcp.h"

#include "../ops/ops.h"

struct mcp_job;

struct ft_mcp {
    struct event_base *base;
    struct ft_ops *ops;
    struct ft_mcp_host host;
    char *self_exe;
    char **access; /* NULL-terminated copy of cfg->access */
    char *actor;   /* who writes are attributed to */
    char *tracker; /* default tracker reference, or NULL */
    char version[16];
    json_t *subs;             /* subscribed resources: slug -> uri */
    struct ft_mcp_runs *runs; /* where its runs live (jobs of this session point back) */
};

/* Who the session's writes are attributed to (made on first use when not configured). */
const char *mcp_actor(struct ft_mcp *m);

/* tools/list's answer (built once, shared). */
json_t *mcp_tools_list(void);
/*
 * tools/call: the result to send (new reference), or NULL when the call goes on as a job
 * that answers later (*rpc_error NULL), or when the call is a protocol error (*rpc_error set:
 * unknown tool, arguments that do not fit the tool's schema).
 */
json_t *mcp_tool_call(struct ft_mcp *m, json_t *id, json_t *params, void *req, json_t **rpc_error);

/* A tool result: content [{type: text, text}], structuredContent, isError. Takes structured. */
json_t *mcp_result(const char *text, json_t *structured, int is_error);

/* Start the run tool's job (args checked): it answers request id through the session when
 * the run ends. 0, or an error for the tool's result. */
struct ft_err;
int mcp_job_start(struct ft_mcp *m, json_t *id, void *req, json_t *progress_token, json_t *args,
                  struct ft_err *err);
/* Cancel the job answering request id (notifications/cancelled); no answer will be sent. */
void mcp_job_cancel_id(struct ft_mcp *m, json_t *id);
/* Cancel every job answering for req. */
void mcp_job_cancel_req(struct ft_mcp *m, void *req);
int mcp_job_count(const struct ft_mcp *m);
/* The session ends: its jobs are interrupted and detached (they answer nobody). */
void mcp_job_detach_all(struct ft_mcp *m);

#endif
