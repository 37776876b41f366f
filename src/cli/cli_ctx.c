/* Shared plumbing of the subcommands: options, store and tracker resolution, errors. */
#include "cli.h"

#include "../core/import.h"
#include "../util/ft_buf.h"
#include "../util/ft_text.h"
#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"

#include <errno.h>
#include <fcntl.h>
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
    const char *cmd = ctx->cmd ? ctx->cmd : "";
    fprintf(stderr, "flowtrack%s%s: ", *cmd ? " " : "", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nsee 'flowtrack%s%s --help'\n", *cmd ? " " : "", cmd);
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
    long long v = ft_parse_digits(s, 9, 1);
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

int cli_apply_common(struct ft_ctx *ctx, json_t *opt)
{
    const char *v;
    if (json_is_true(json_object_get(opt, "json")))
        ctx->json = 1;
    if (json_is_true(json_object_get(opt, "no_color")))
        ctx->color = 0;
    if ((v = json_string_value(json_object_get(opt, "tracker"))))
        ctx->tracker = v;
    if ((v = json_string_value(json_object_get(opt, "actor")))) {
        ctx->actor = v;
        ctx->actor_given = 1;
    }
    if ((v = json_string_value(json_object_get(opt, "token"))))
        ctx->token = v;
    if ((v = json_string_value(json_object_get(opt, "db")))) {
        ctx->db = v;
        ctx->db_given = 1;
    }
    if ((v = json_string_value(json_object_get(opt, "server")))) {
        ctx->server = v;
        ctx->server_given = 1;
    }
    if (json_is_true(json_object_get(opt, "help"))) {
        const struct cli_cmd *c = cli_find(ctx->cmd);
        if (c)
            cli_print_help(c);
        return 1;
    }
    return 0;
}

int cli_operands(struct ft_ctx *ctx, int argc, char **argv, int max)
{
    return argc > max ? cli_usage(ctx, "unexpected argument '%s'", argv[max]) : 0;
}

int cli_tracker_operand(struct ft_ctx *ctx, int argc, char **argv)
{
    int rc = cli_operands(ctx, argc, argv, 1);
    if (!rc && argc == 1)
        ctx->tracker = argv[0];
    return rc;
}

json_t *cli_fields(json_t *opt)
{
    json_t *f = json_object_get(opt, "fields");
    return f ? json_incref(f) : json_object();
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
    if (!rc)
        cli_json_out(ctx, &res);
    ft_result_release(&res);
    return rc;
}

int cli_json_out(struct ft_ctx *ctx, struct ft_result *res)
{
    if (!ctx->json)
        return 0;
    cli_print_json(res->json);
    res->json = NULL;
    return 1;
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

int cli_read_file(const char *path, int flags, struct ft_buf *out, struct ft_err *err)
{
    int use_stdin = (flags & CLI_READ_STDIN) && strcmp(path, "-") == 0;
    int fd = use_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ft_err_set(err, errno == ENOENT ? FT_ENOTFOUND : FT_EIO, "cannot open '%s': %s",
                          path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) == 0 &&
        (S_ISDIR(sb.st_mode) || ((flags & CLI_READ_REGULAR) && !S_ISREG(sb.st_mode)))) {
        if (!use_stdin)
            close(fd);
        return ft_err_set(err, FT_EINVAL, "'%s' is %s", path,
                          S_ISDIR(sb.st_mode) ? "a directory" : "not a regular file");
    }
    char chunk[65536];
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = ft_err_set(err, FT_EIO, "cannot read '%s': %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if (ft_buf_add(out, chunk, (size_t)n)) {
            rc = ft_err_set(err, FT_ETOOBIG, "'%s' is larger than the import limit of %u bytes",
                            path, FT_IMPORT_MAX_BYTES);
            break;
        }
    }
    if (!use_stdin)
        close(fd);
    return rc;
}
