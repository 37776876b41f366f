/*
 * `flowtrack serve`: read the options, open the store, set up the process for a server
 * (SIGPIPE ignored: a peer that closes is an error on its socket; the descriptor limit at
 * its maximum), and hand over to the server.
 */
#include "cli.h"

#include "../server/server.h"
#include "../util/ft_time.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "../util/banned.h"

/* As many descriptors as the hard limit allows: each connection (each stream) holds one, and the
 * server budgets its connections below this limit (src/server/conn.c). */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* The exit status of a server's run, its error said. */
static int served(int rc, const struct ft_err *err)
{
    if (!rc)
        return 0;
    return cli_failf(err->code == FT_EINVAL ? FT_EXIT_USAGE : FT_EXIT_FAIL, "serve: %s", err->msg);
}

int cmd_serve(int argc, char **argv, json_t *opt, struct ft_ctx *ctx)
{
    struct ft_server_opts o;
    struct ft_err err;
    int rc = cli_operands(ctx, argc, argv, 0);
    if (rc)
        return rc;
    ft_server_opts_init(&o);
    cli_serve_opts(opt, &o);
    if (ctx->server_given)
        return cli_usage(ctx, "--server is for commands that talk to a server, not for serve");
    /* --token (else FLOWTRACK_TOKEN) is the token this server asks for */
    if (ctx->token && !*ctx->token)
        return cli_usage(ctx, "--token must not be empty");
    o.token = ctx->token;
    if (o.private_reads && !o.token)
        return cli_usage(ctx, "--private needs a token (--token or FLOWTRACK_TOKEN)");
    if ((rc = cli_store(ctx, 1)))
        return rc;
    o.actor = ctx->actor;
    if (o.loops == 0)
        o.loops = ft_server_cores();
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    if (o.loops == 1)
        return served(ft_server_run(&o, ctx->st, &err), &err);

    /* Worker processes: the store was opened (made, migrated) once here to fail early; each
     * worker opens its own, since a store handle must not cross fork(). */
    struct ft_server_opts wo;
    int worker;
    ft_store_close(ctx->st);
    ctx->st = NULL;
    rc = ft_server_group(&o, &wo, &worker, &err);
    if (worker < 0) /* the supervisor, at the end */
        return rc ? served(rc, &err) : 0;
    if ((rc = cli_store(ctx, 0)) == 0)
        rc = served(ft_server_run(&wo, ctx->st, &err), &err);
    ft_server_group_end(&wo);
    return rc;
}
