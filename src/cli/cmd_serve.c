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

enum {
    OPT_LISTEN = 1000,
    OPT_PRIVATE,
    OPT_HEARTBEAT,
    OPT_MAX_STREAMS,
    OPT_STREAM_BUFFER,
    OPT_WRITE_TIMEOUT,
    OPT_IDLE_TIMEOUT,
    OPT_GRACE,
    OPT_REQ_TIMEOUT,
    OPT_READY_FILE,
    OPT_BUSY_TIMEOUT,
};

static int duration_opt(const char *name, const char *arg, int64_t *out)
{
    if (ft_duration_parse(arg, out))
        return cli_failf(FT_EXIT_USAGE, "serve: %s '%s' is not a duration (15s, 250ms, 5m)", name,
                         arg);
    return 0;
}

static int count_opt(const char *name, const char *arg, long long min, long long max,
                     long long *out)
{
    char *end;
    long long v = strtoll(arg, &end, 10);
    if (!*arg || *end || v < min || v > max)
        return cli_failf(FT_EXIT_USAGE,
                         "serve: %s takes a whole number from %lld to %lld, not '%s'", name, min,
                         max, arg);
    *out = v;
    return 0;
}

static int serve_opt(int c, const char *arg, void *u)
{
    struct ft_server_opts *o = u;
    long long v = 0; /* set by count_opt on success; gcc -O3 cannot tell */
    switch (c) {
    case OPT_LISTEN:
        o->listen = arg;
        return 0;
    case OPT_PRIVATE:
        o->private_reads = 1;
        return 0;
    case OPT_HEARTBEAT:
        return duration_opt("--heartbeat", arg, &o->heartbeat_ms);
    case OPT_WRITE_TIMEOUT:
        return duration_opt("--write-timeout", arg, &o->write_timeout_ms);
    case OPT_IDLE_TIMEOUT:
        return duration_opt("--idle-timeout", arg, &o->idle_timeout_ms);
    case OPT_GRACE:
        return duration_opt("--grace", arg, &o->grace_ms);
    case OPT_MAX_STREAMS:
        if (count_opt("--max-streams", arg, 0, 1000000, &v))
            return -1;
        o->max_streams = (int)v;
        return 0;
    case OPT_STREAM_BUFFER:
        if (count_opt("--stream-buffer", arg, 1024, 1LL << 30, &v))
            return -1;
        o->stream_buffer = (size_t)v;
        return 0;
    case OPT_REQ_TIMEOUT:
        if (count_opt("--request-timeout", arg, 1, 3600, &v))
            return -1;
        o->request_timeout_s = (int)v;
        return 0;
    case OPT_READY_FILE:
        o->ready_file = arg;
        return 0;
    case OPT_BUSY_TIMEOUT:
        if (duration_opt("--busy-timeout", arg, &o->busy_ms))
            return -1;
        if (o->busy_ms > 60000)
            return cli_failf(FT_EXIT_USAGE, "serve: --busy-timeout is at most 60s, not '%s'", arg);
        return 0;
    }
    return -1;
}

/* As many descriptors as the hard limit allows: each stream holds one. */
static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int cmd_serve(int argc, char **argv, struct ft_ctx *ctx)
{
    static const struct option opts[] = {
        CLI_COMMON_OPTS,
        {"listen", required_argument, NULL, OPT_LISTEN},
        {"private", no_argument, NULL, OPT_PRIVATE},
        {"heartbeat", required_argument, NULL, OPT_HEARTBEAT},
        {"max-streams", required_argument, NULL, OPT_MAX_STREAMS},
        {"stream-buffer", required_argument, NULL, OPT_STREAM_BUFFER},
        {"write-timeout", required_argument, NULL, OPT_WRITE_TIMEOUT},
        {"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT},
        {"grace", required_argument, NULL, OPT_GRACE},
        {"request-timeout", required_argument, NULL, OPT_REQ_TIMEOUT},
        {"ready-file", required_argument, NULL, OPT_READY_FILE},
        {"busy-timeout", required_argument, NULL, OPT_BUSY_TIMEOUT},
        {0},
    };
    struct ft_server_opts o;
    struct ft_err err;
    ft_server_opts_init(&o);
    int first, rc = cli_getopt(ctx, argc, argv, NULL, opts, serve_opt, &o, &first);
    if (rc)
        return rc < 0 ? FT_EXIT_USAGE : 0;
    if (first < argc)
        return cli_usage(ctx, "unexpected argument '%s'", argv[first]);
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
    signal(SIGPIPE, SIG_IGN);
    raise_nofile();
    if (ft_server_run(&o, ctx->st, &err))
        return cli_failf(err.code == FT_EINVAL ? FT_EXIT_USAGE : FT_EXIT_FAIL, "serve: %s",
                         err.msg);
    return 0;
}
