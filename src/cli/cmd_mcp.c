/*
 * `flowtrack mcp`: an MCP server for one agent over stdin and stdout
 * (src/mcp/, docs/mcp.md), on the store file or, with --server, on a server.
 */
#include "cli.h"

#include "../mcp/mcp.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "../util/banned.h"

int cmd_mcp(int argc, char **argv, json_t *opt, struct ft_ctx *ctx)
{
    (void)opt;
    int rc = cli_operands(ctx, argc, argv, 0);
    if (rc || (rc = cli_ops(ctx, 0)))
        return rc;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    self[n > 0 ? n : 0] = '\0';
    /* the run tool's `flowtrack run` works on the same store */
    const char *access[6] = {NULL};
    int k = 0;
    if (ctx->st) {
        access[k++] = "--db";
        access[k++] = ft_store_path(ctx->st);
    } else {
        access[k++] = "--server";
        access[k++] = ctx->server;
        if (ctx->token) {
            access[k++] = "--token";
            access[k++] = ctx->token;
        }
    }
    struct ft_mcp_config cfg = {NULL, n > 0 ? self : "flowtrack", access,
                                ctx->actor_given ? ctx->actor : NULL, ctx->tracker};
    signal(SIGPIPE, SIG_IGN); /* a client that went away is an error on stdout, not a signal */
    rc = ft_mcp_stdio(ctx->ops, ctx->st, &cfg);
    return rc ? cli_failf(FT_EXIT_FAIL, "mcp: out of memory") : 0;
}
