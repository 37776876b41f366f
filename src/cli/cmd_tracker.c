/* Tracker-level commands: init, create, import, list, show, use, edit, delete. */
#include "cli.h"

#include "../core/import.h"
#include "../core/render.h"
#include "../util/ft_buf.h"
#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/banned.h"

static const struct option no_opts[] = {CLI_COMMON_OPTS, {0}};

/* ---- init ---------------------------------------------------------------------------- */

int cmd_init(int argc, char **argv, struct ft_ctx *ctx)
{
    int first, rc = cli_getopt(ctx, argc, argv, NULL, no_opts, NULL, NULL, &first);
    if (rc)
        return rc < 0 ? FT_EXIT_USAGE : 0;
    if (first < argc)
        return cli_usage(ctx, "unexpected argument '%s'", argv[first]);
    if (ctx->server_given)
        return cli_usage(ctx, "init makes a store file here; a server has its own store (drop "
                              "--server)");
    if (!ctx->db) {
        if (mkdir(".flowtrack", 0777) != 0 && errno != EEXIST)
            return cli_failf(FT_EXIT_FAIL, "cannot create '.flowtrack': %s", strerror(errno));
        ctx->db = ".flowtrack/flowtrack.db";
    }
    struct stat sb;
    int existed = stat(ctx->db, &sb) == 0;
    if ((rc = cli_store(ctx, 1)))
        return rc;
    char *abs = realpath(ctx->db, NULL);
    if (ctx->json)
        cli_print_json(json_pack("{s:s, s:b}", "store", abs ? abs : ctx->db, "created", !existed));
    else
        printf("%s store %s\n", existed ? "reinitialised existing" : "initialised",
               abs ? abs : ctx->db);
    free(abs);
    return 0;
}

/* ---- create -------------------------------------------------------------------------- */

struct header_opts {
    json_t *patch;
};

static int header_opt(int c, const char *arg, void *u)
{
    static const char *const names[] = {
        ['s'] = "slug",    ['o'] = "org",   ['O'] = "owner",  ['b'] = "objective",
        ['S'] = "started", ['T'] = "title", ['x'] = "status",
    };
    struct header_opts *h = u;
    if (c < 0 || (size_t)c >= sizeof(names) / sizeof(names[0]) || !names[c])
        return -1;
    json_object_set_new(h->patch, names[c], json_string(arg));
    return 0;
}

#define HEADER_LONGOPTS                                                                            \
    {"slug", required_argument, NULL, 's'}, {"org", required_argument, NULL, 'o'},                 \
        {"owner", required_argument, NULL, 'O'}, {"objective", required_argument, NULL, 'b'},      \
    {                                                                                              \
        "started", required_argument, NULL, 'S'                                                    \
    }

/* Report a tracker write: its slug and id (JSON: the operation's result). */
static int report_tracker(struct ft_ctx *ctx, struct ft_result *res, const char *verb)
{
    if (ctx->json) {
        cli_print_json(res->json);
        res->json = NULL;
    } else {
        printf("%s tracker %s (%lld)\n", verb, cli_jstr(res->json, "tracker.slug"),
               cli_jint(res->json, "tracker.id"));
    }
    ft_result_release(res);
    return 0;
}

int cmd_create(int argc, char **argv, struct ft_ctx *ctx)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, HEADER_LONGOPTS, {0}};
    struct header_opts h = {json_object()};
    struct ft_result res;
    int first, rc = cli_getopt(ctx, argc, argv, NULL, opts, header_opt, &h, &first);
    if (rc) {
        json_decref(h.patch);
        return rc < 0 ? FT_EXIT_USAGE : 0;
    }
    if (first >= argc) {
        json_decref(h.patch);
        return cli_usage(ctx, "missing the tracker's TITLE");
    }
    char *title = cli_join(argc, argv, first);
    json_object_set_new(h.patch, "title", json_string(title));
    free(title);
    if ((rc = cli_ops(ctx, 1))) {
        json_decref(h.patch);
        return rc;
    }
    if ((rc = cli_call(ctx, FT_OP_TRACKER_CREATE, json_pack("{s:o}", "fields", h.patch), &res)))
        return rc;
    return report_tracker(ctx, &res, "created");
}

/* ---- import -------------------------------------------------------------------------- */

struct import_opts {
    const char *slug;
    int fmt;
    int dry;
};

static int import_opt(int c, const char *arg, void *u)
{
    struct import_opts *o = u;
    switch (c) {
    case 's':
        o->slug = arg;
        return 0;
    case 'n':
        o->dry = 1;
        return 0;
    case 'f':
        if (strcmp(arg, "text") == 0)
            o->fmt = FT_IMPORT_TEXT;
        else if (strcmp(arg, "md") == 0 || strcmp(arg, "markdown") == 0)
            o->fmt = FT_IMPORT_MD;
        else if (strcmp(arg, "auto") == 0)
            o->fmt = FT_IMPORT_AUTO;
        else
            return cli_failf(FT_EXIT_USAGE, "import: format must be text, md or auto, not '%s'",
                             arg);
        return 0;
    }
    return -1;
}

/* Read a whole file (or stdin for "-") up to the importer's limit. */
static int read_input(const char *path, struct ft_buf *out, struct ft_err *err)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ft_err_set(err, errno == ENOENT ? FT_ENOTFOUND : FT_EIO, "cannot open '%s': %s",
                          path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        close(fd);
        return ft_err_set(err, FT_EINVAL, "'%s' is a directory", path);
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
    if (fd != STDIN_FILENO)
        close(fd);
    return rc;
}

int cmd_import(int argc, char **argv, struct ft_ctx *ctx)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"slug", required_argument, NULL, 's'},
                                         {"format", required_argument, NULL, 'f'},
                                         {"dry-run", no_argument, NULL, 'n'},
                                         {0}};
    static const char *const fmt_names[] = {
        [FT_IMPORT_AUTO] = "auto", [FT_IMPORT_TEXT] = "text", [FT_IMPORT_MD] = "md"};
    struct import_opts o = {NULL, FT_IMPORT_AUTO, 0};
    struct ft_buf data;
    struct ft_tracker *t = NULL;
    struct ft_result res;
    struct ft_err err;
    int first, rc = cli_getopt(ctx, argc, argv, "s:f:n", opts, import_opt, &o, &first);
    if (rc)
        return rc < 0 ? FT_EXIT_USAGE : 0;
    if (first >= argc)
        return cli_usage(ctx, "missing the FILE to import (or - for standard input)");
    if (first + 1 < argc)
        return cli_usage(ctx, "unexpected argument '%s'", argv[first + 1]);
    const char *path = argv[first];

    ft_buf_init(&data, FT_IMPORT_MAX_BYTES);
    if ((rc = read_input(path, &data, &err)) ||
        (o.dry && (rc = ft_import(data.buf, data.len, (enum ft_import_fmt)o.fmt, &t, &err)))) {
        rc = cli_failf(cli_exit_code(err.code), "cannot import '%s': %s", path, err.msg);
        goto out;
    }
    if (o.dry) { /* a preview: nothing is stored, no store is needed */
        struct ft_buf b;
        ft_buf_init(&b, 0);
        if (o.slug)
            ft_set_str(&t->slug, o.slug);
        ft_render(t, ctx->json ? FT_FMT_JSON : FT_FMT_TEXT, &b);
        fwrite(b.buf, 1, b.len, stdout);
        ft_buf_release(&b);
        goto out;
    }
    if ((rc = cli_ops(ctx, 1)))
        goto out;
    json_t *args =
        json_pack("{s:o, s:s, s:s?}", "document", json_stringn_nocheck(data.buf, data.len),
                  "format", fmt_names[o.fmt], "slug", o.slug);
    if (ft_ops_call(ctx->ops, FT_OP_TRACKER_IMPORT, args, &res, &err))
        rc = cli_failf(cli_exit_code(err.code), "cannot import '%s': %s", path, err.msg);
    else
        rc = report_tracker(ctx, &res, "imported");
    json_decref(args);
out:
    ft_tracker_free(t);
    ft_buf_release(&data);
    return rc;
}

/* ---- list ---------------------------------------------------------------------------- */

int cmd_list(int argc, char **argv, struct ft_ctx *ctx)
{
    struct ft_result res;
    int first, rc = cli_getopt(ctx, argc, argv, NULL, no_opts, NULL, NULL, &first);
    if (rc)
        return rc < 0 ? FT_EXIT_USAGE : 0;
    if (first < argc)
        return cli_usage(ctx, "unexpected argument '%s'", argv[first]);
    if (ctx->json)
        return cli_call_print(ctx, FT_OP_TRACKER_LIST, json_object());
    if ((rc = cli_call(ctx, FT_OP_TRACKER_LIST, json_object(), &res)))
        return rc;
    size_t i;
    json_t *o;
    json_array_foreach(res.json, i, o)
    {
        printf("%c %3lld  %-28s %-8s %3lld done %3lld doing %3lld pending  %s\n",
               json_is_true(json_object_get(o, "default")) ? '*' : ' ', cli_jint(o, "id"),
               cli_jstr(o, "slug"), cli_jstr(o, "status"), cli_jint(o, "progress.done"),
               cli_jint(o, "progress.doing"), cli_jint(o, "progress.pending"),
               cli_jstr(o, "title"));
    }
    if (json_array_size(res.json) == 0)
        fputs("no trackers yet: 'flowtrack create TITLE' or 'flowtrack import FILE'\n", stderr);
    ft_result_release(&res);
    return 0;
}

/* ---- show ---------------------------------------------------------------------------- */

static int show_opt(int c, const char *arg, void *u)
{
    int *fmt = u;
    if (c != 'f')
        return -1;
    *fmt = ft_format_parse(arg);
    if (*fmt < 0)
        return cli_failf(FT_EXIT_USAGE, "show: format must be view, text, md or json, not '%s'",
                         arg);
    return 0;
}

int cmd_show(int argc, char **argv, struct ft_ctx *ctx)
{
    static const struct option opts[] = {
        CLI_COMMON_OPTS, {"format", required_argument, NULL, 'f'}, {0}};
    static const char *const fmt_names[] = {
        [FT_FMT_VIEW] = "view", [FT_FMT_TEXT] = "text", [FT_FMT_MD] = "md", [FT_FMT_JSON] = "json"};
    int fmt = -1;
    struct ft_result res;
    int first, rc = cli_getopt(ctx, argc, argv, "f:", opts, show_opt, &fmt, &first);
    if (rc)
        return rc < 0 ? FT_EXIT_USAGE : 0;
    if (first + 1 < argc)
        return cli_usage(ctx, "unexpected argument '%s'", argv[first + 1]);
    if (first < argc)
        ctx->tracker = argv[first];
    if (fmt < 0)
        fmt = ctx->json ? FT_FMT_JSON : FT_FMT_VIEW;
    if ((rc =
             cli_call(ctx, FT_OP_TRACKER_SHOW, json_pack("{s:s}", "format", fmt_names[fmt]), &res)))
        return rc;
    if (res.json) {
        /* as the API sends it: indented, a final newline */
        char *s = json_dumps(res.json, JSON_INDENT(2));
        if (s)
            printf("%s\n", s);
        free(s);
    } else {
        fwrite(res.doc.buf, 1, res.doc.len, stdout);
    }
    ft_result_release(&res);
    return 0;
}

/* ---- use ----------------------------------------------------------------------------- */

static int use_opt(int c, const char *arg, void *u)
{
    (void)arg;
    if (c != 'c')
        return -1;
    *(int *)u = 1;
    return 0;
}

int cmd_use(int argc, char **argv, struct ft_ctx *ctx)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {"clear", no_argument, NULL, 'c'}, {0}};
    int clear = 0;
    struct ft_result res;
    json_t *args;
    int first, rc = cli_getopt(ctx, argc, argv, NULL, opts, use_opt, &clear, &first);
    if (rc)
        return rc < 0 ? FT_EXIT_USAGE : 0;
    if (first + 1 < argc)
        return cli_usage(ctx, "unexpected argument '%s'", argv[first + 1]);
    if (clear)
        args = json_pack("{s:n}", "tracker");
    else if (first < argc)
        args = json_pack("{s:s}", "tracker", argv[first]);
    else
        args = NULL;
    int set = args != NULL;
    if ((rc = cli_call(ctx, set ? FT_OP_DEFAULT_SET : FT_OP_DEFAULT_GET, set ? args : json_object(),
                       &res)))
        return rc;
    const char *def = json_string_value(json_object_get(res.json, "default"));
    if (ctx->json) {
        cli_print_json(res.json);
        res.json = NULL;
    } else if (set && def) {
        printf("default tracker is now %s\n", def);
    } else {
        puts(def ? def : "no default tracker");
    }
    ft_result_release(&res);
    return 0;
}

/* ---- edit ---------------------------------------------------------------------------- */

int cmd_edit(int argc, char **argv, struct ft_ctx *ctx)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         HEADER_LONGOPTS,
                                         {"title", required_argument, NULL, 'T'},
                                         {"status", required_argument, NULL, 'x'},
                                         {0}};
    struct header_opts h = {json_object()};
    struct ft_result res;
    int first, rc = cli_getopt(ctx, argc, argv, NULL, opts, header_opt, &h, &first);
    if (rc)
        rc = rc < 0 ? FT_EXIT_USAGE : 0;
    else if (first < argc)
        rc = cli_usage(ctx, "unexpected argument '%s'", argv[first]);
    else if (json_object_size(h.patch) == 0)
        rc = cli_usage(ctx, "nothing to change: give --title, --owner, --objective, --started, "
                            "--org, --slug or --status");
    else if (!(rc = cli_call(ctx, FT_OP_TRACKER_EDIT, json_pack("{s:O}", "fields", h.patch), &res)))
        rc = report_tracker(ctx, &res, "updated");
    json_decref(h.patch);
    return rc;
}

/* ---- delete -------------------------------------------------------------------------- */

int cmd_delete(int argc, char **argv, struct ft_ctx *ctx)
{
    struct ft_result res;
    int first, rc = cli_getopt(ctx, argc, argv, NULL, no_opts, NULL, NULL, &first);
    if (rc)
        return rc < 0 ? FT_EXIT_USAGE : 0;
    if (first >= argc)
        return cli_usage(ctx, "name the tracker to delete (its slug or number): nothing is "
                              "deleted by default");
    if (first + 1 < argc)
        return cli_usage(ctx, "unexpected argument '%s'", argv[first + 1]);
    if ((rc =
             cli_call(ctx, FT_OP_TRACKER_DELETE, json_pack("{s:s}", "tracker", argv[first]), &res)))
        return rc;
    if (ctx->json) {
        cli_print_json(res.json);
        res.json = NULL;
    } else {
        printf("deleted tracker %s\n", argv[first]);
    }
    ft_result_release(&res);
    return 0;
}
