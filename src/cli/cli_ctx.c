/* Shared plumbing of the subcommands: options, store and tracker resolution, errors. */
#include "cli.h"

#include "../util/ft_buf.h"
#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/banned.h"

int cli_exit_code(int code)
{
    switch (code) {
    case FT_OK:
        return FT_EXIT_OK;
    case FT_ENOTFOUND:
        return FT_EXIT_NOTFOUND;
    case FT_EAMBIGUOUS:
        return FT_EXIT_USAGE;
    default:
        return FT_EXIT_FAIL;
    }
}

int cli_failf(int exit_code, const char *fmt, ...)
{
    va_list ap;
    fputs("flowtrack: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return exit_code;
}

int cli_fail(struct ft_ctx *ctx, const struct ft_err *err)
{
    (void)ctx;
    return cli_failf(cli_exit_code(err->code), "%s",
                     err->msg[0] ? err->msg : ft_code_name(err->code));
}

int cli_usage(struct ft_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "flowtrack %s: ", ctx->cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nsee 'flowtrack %s --help'\n", ctx->cmd);
    return FT_EXIT_USAGE;
}

void cli_print_json(json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
    }
    json_decref(v);
}

int cli_num(const char *s)
{
    if (*s == '#')
        s++;
    if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 9)
        return -1;
    long v = strtol(s, NULL, 10);
    return v > 0 ? (int)v : -1;
}

char *cli_join(int argc, char **argv, int from)
{
    struct ft_buf b;
    ft_buf_init(&b, 0);
    for (int i = from; i < argc; i++) {
        if (i > from)
            ft_buf_addc(&b, ' ');
        ft_buf_adds(&b, argv[i]);
    }
    return ft_buf_detach(&b, NULL);
}

static void print_help(struct ft_ctx *ctx)
{
    const struct cli_cmd *c = cli_find(ctx->cmd);
    fputs(c && c->help ? c->help : "no help\n", stdout);
}

int cli_common(struct ft_ctx *ctx, int c, const char *arg)
{
    switch (c) {
    case 'J':
        ctx->json = 1;
        return 1;
    case 't':
        ctx->tracker = arg;
        return 1;
    case 'D':
        ctx->db = arg;
        ctx->db_given = 1;
        return 1;
    case CLI_OPT_SERVER:
        ctx->server = arg;
        ctx->server_given = 1;
        return 1;
    case CLI_OPT_TOKEN:
        ctx->token = arg;
        return 1;
    case 'A':
        ctx->actor = arg;
        return 1;
    case 'N':
        ctx->color = 0;
        return 1;
    case 'h':
        print_help(ctx);
        return -1;
    }
    return 0;
}

int cli_getopt(struct ft_ctx *ctx, int argc, char **argv, const char *shortopts,
               const struct option *longopts, int (*on_opt)(int c, const char *arg, void *u),
               void *u, int *first)
{
    int c;
    char spec[64];
    snprintf(spec, sizeof(spec), ":%s%s", CLI_COMMON_SHORT, shortopts ? shortopts : "");
    optind = 0; /* GNU: full re-initialisation for each subcommand */
    opterr = 0;
    while ((c = getopt_long(argc, argv, spec, longopts, NULL)) != -1) {
        if (c == '?') {
            if (optopt)
                cli_usage(ctx, "unknown option '-%c'", optopt);
            else
                cli_usage(ctx, "unknown option '%s'", argv[optind - 1]);
            return -1;
        }
        if (c == ':') {
            cli_usage(ctx, "option '%s' needs a value", argv[optind - 1]);
            return -1;
        }
        int h = cli_common(ctx, c, optarg);
        if (h < 0)
            return 1;
        if (h)
            continue;
        if (!on_opt || on_opt(c, optarg, u) != 0)
            return -1;
    }
    *first = optind;
    return 0;
}

/* Search upward from the working directory for .flowtrack/flowtrack.db. */
static char *find_store(void)
{
    char dir[PATH_MAX];
    if (!getcwd(dir, sizeof(dir)))
        return NULL;
    for (;;) {
        char path[PATH_MAX + 32];
        struct stat sb;
        snprintf(path, sizeof(path), "%s/.flowtrack/flowtrack.db", strcmp(dir, "/") ? dir : "");
        if (stat(path, &sb) == 0)
            return ft_xstrdup(path);
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir) {
            if (strcmp(dir, "/") == 0)
                return NULL;
            dir[1] = '\0';
            continue;
        }
        *slash = '\0';
    }
}

int cli_store(struct ft_ctx *ctx, int create)
{
    struct ft_err err;
    char *path = NULL;

    if (ctx->st)
        return 0;
    if (ctx->db) {
        path = ft_xstrdup(ctx->db);
    } else {
        path = find_store();
        if (!path)
            return cli_failf(FT_EXIT_NOTFOUND,
                             "no store found: run 'flowtrack init' here, or give --db PATH or "
                             "FLOWTRACK_DB");
        create = 0;
    }
    int rc = ft_store_open(path, create ? FT_STORE_CREATE : 0, &ctx->st, &err);
    free(path);
    if (rc)
        return cli_fail(ctx, &err);
    ft_store_set_actor(ctx->st, ctx->actor);
    return 0;
}

/* The server to talk to, if any: --server, or FLOWTRACK_SERVER unless --db names a file. */
static int use_server(const struct ft_ctx *ctx)
{
    return ctx->server && *ctx->server && (ctx->server_given || !ctx->db_given);
}

int cli_ops(struct ft_ctx *ctx, int create)
{
    struct ft_err err;
    if (ctx->ops)
        return 0;
    if (ctx->server_given && ctx->db_given)
        return cli_failf(FT_EXIT_USAGE, "--db and --server name two stores: give one of them");
    if (use_server(ctx)) {
        struct ft_http_opts o = {ctx->server, ctx->token, ctx->actor, 0};
        const char *t = getenv("FLOWTRACK_SERVER_TIMEOUT");
        if (t && *t && ft_duration_parse(t, &o.timeout_ms))
            return cli_failf(FT_EXIT_USAGE,
                             "FLOWTRACK_SERVER_TIMEOUT '%s' is not a duration (10s, 500ms)", t);
        if (ft_ops_http_new(&o, &ctx->ops, &err))
            return cli_failf(FT_EXIT_USAGE, "%s", err.msg);
        return 0;
    }
    int rc = cli_store(ctx, create);
    if (rc)
        return rc;
    ctx->ops = ft_ops_local_new(ctx->st, ctx->actor);
    return 0;
}

int cli_call(struct ft_ctx *ctx, enum ft_op op, json_t *args, struct ft_result *res)
{
    struct ft_err err;
    int rc = cli_ops(ctx, 0);
    ft_result_init(res);
    if (!rc) {
        if (ctx->tracker && !json_object_get(args, "tracker"))
            json_object_set_new(args, "tracker", json_string(ctx->tracker));
        if (ft_ops_call(ctx->ops, op, args, res, &err))
            rc = cli_fail(ctx, &err);
    }
    json_decref(args);
    return rc;
}

int cli_call_print(struct ft_ctx *ctx, enum ft_op op, json_t *args)
{
    struct ft_result res;
    int rc = cli_call(ctx, op, args, &res);
    if (!rc && ctx->json) {
        cli_print_json(res.json);
        res.json = NULL;
    }
    ft_result_release(&res);
    return rc;
}

/* The member at a dotted path ("tracker.slug"), or NULL. */
static json_t *jpath(json_t *o, const char *path)
{
    char key[64];
    while (o && *path) {
        size_t n = strcspn(path, ".");
        snprintf(key, sizeof(key), "%.*s", (int)n, path);
        o = json_object_get(o, key);
        path += n + (path[n] == '.');
    }
    return o;
}

const char *cli_jstr(json_t *o, const char *path)
{
    const char *s = json_string_value(jpath(o, path));
    return s ? s : "";
}

long long cli_jint(json_t *o, const char *path)
{
    return (long long)json_integer_value(jpath(o, path));
}
