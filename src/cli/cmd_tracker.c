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

/* Report a tracker write: its id and slug. */
static void report_tracker(struct ft_ctx *ctx, const struct ft_tracker *t, const char *verb)
{
    if (ctx->json) {
        json_t *o = json_pack("{s:b, s:I, s:s, s:s}", "ok", 1, "id", (json_int_t)t->id, "slug",
                              t->slug, "title", t->title);
        cli_print_json(o);
    } else {
        printf("%s tracker %s (%lld)\n", verb, t->slug, (long long)t->id);
    }
}

static int set_fields(struct ft_tracker *t, json_t *patch, struct ft_err *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(patch, key, v)
    {
        const char *s = json_string_value(v);
        if (strcmp(key, "slug") == 0)
            ft_set_str(&t->slug, s);
        else if (strcmp(key, "org") == 0)
            ft_set_str(&t->org, s);
        else if (strcmp(key, "owner") == 0)
            ft_set_str(&t->owner, s);
        else if (strcmp(key, "objective") == 0)
            ft_set_str(&t->objective, s);
        else if (strcmp(key, "title") == 0)
            ft_set_str(&t->title, s);
        else if (strcmp(key, "started") == 0)
            ft_set_str(&t->started, strcmp(s, FT_NO_DATE) == 0 ? "" : s);
    }
    return ft_tracker_validate(t, err);
}

int cmd_create(int argc, char **argv, struct ft_ctx *ctx)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, HEADER_LONGOPTS, {0}};
    struct header_opts h = {json_object()};
    struct ft_tracker *t = ft_tracker_new();
    struct ft_err err;
    int first, rc = cli_getopt(ctx, argc, argv, NULL, opts, header_opt, &h, &first);
    if (rc) {
        rc = rc < 0 ? FT_EXIT_USAGE : 0;
        goto out;
    }
    if (first >= argc) {
        rc = cli_usage(ctx, "missing the tracker's TITLE");
        goto out;
    }
    char *title = cli_join(argc, argv, first);
    ft_set_str(&t->title, title);
    free(title);
    if (!json_object_get(h.patch, "started")) {
        char today[16];
        ft_time_date(ft_now_ms(), today, sizeof(today));
        ft_set_str(&t->started, today);
    }
    if ((rc = set_fields(t, h.patch, &err))) {
        rc = cli_fail(ctx, &err);
        goto out;
    }
    if ((rc = cli_store(ctx, 1)))
        goto out;
    if ((rc = ft_store_tracker_create(ctx->st, t, "tracker.create", &err))) {
        rc = cli_fail(ctx, &err);
        goto out;
    }
    report_tracker(ctx, t, "created");
out:
    json_decref(h.patch);
    ft_tracker_free(t);
    return rc;
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
    struct import_opts o = {NULL, FT_IMPORT_AUTO, 0};
    struct ft_buf data;
    struct ft_tracker *t = NULL;
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
        (rc = ft_import(data.buf, data.len, (enum ft_import_fmt)o.fmt, &t, &err))) {
        rc = cli_failf(cli_exit_code(err.code), "cannot import '%s': %s", path, err.msg);
        goto out;
    }
    if (o.slug)
        ft_set_str(&t->slug, o.slug);
    if (o.dry) {
        struct ft_buf b;
        ft_buf_init(&b, 0);
        ft_render(t, ctx->json ? FT_FMT_JSON : FT_FMT_TEXT, &b);
        fwrite(b.buf, 1, b.len, stdout);
        ft_buf_release(&b);
        goto out;
    }
    if ((rc = cli_store(ctx, 1)))
        goto out;
    if ((rc = ft_store_tracker_create(ctx->st, t, "tracker.import", &err))) {
        rc = cli_failf(cli_exit_code(err.code), "cannot import '%s': %s", path, err.msg);
        goto out;
    }
    report_tracker(ctx, t, "imported");
out:
    ft_tracker_free(t);
    ft_buf_release(&data);
    return rc;
}

/* ---- list ---------------------------------------------------------------------------- */

int cmd_list(int argc, char **argv, struct ft_ctx *ctx)
{
    struct ft_err err;
    json_t *list;
    int first, rc = cli_getopt(ctx, argc, argv, NULL, no_opts, NULL, NULL, &first);
    if (rc)
        return rc < 0 ? FT_EXIT_USAGE : 0;
    if (first < argc)
        return cli_usage(ctx, "unexpected argument '%s'", argv[first]);
    if ((rc = cli_store(ctx, 0)))
        return rc;
    if ((rc = ft_store_tracker_list(ctx->st, &list, &err)))
        return cli_fail(ctx, &err);
    char *def = NULL;
    ft_store_setting_get(ctx->st, "default_tracker", &def, NULL);
    if (ctx->json) {
        cli_print_json(list);
        free(def);
        return 0;
    }
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o)
    {
        json_t *p = json_object_get(o, "progress");
        const char *slug = json_string_value(json_object_get(o, "slug"));
        int is_def =
            def && (strcmp(def, slug) == 0 ||
                    strtoll(def, NULL, 10) == json_integer_value(json_object_get(o, "id")));
        printf("%c %3lld  %-28s %-8s %3lld done %3lld doing %3lld pending  %s\n",
               is_def ? '*' : ' ', (long long)json_integer_value(json_object_get(o, "id")), slug,
               json_string_value(json_object_get(o, "status")),
               (long long)json_integer_value(json_object_get(p, "done")),
               (long long)json_integer_value(json_object_get(p, "doing")),
               (long long)json_integer_value(json_object_get(p, "pending")),
               json_string_value(json_object_get(o, "title")));
    }
    if (json_array_size(list) == 0)
        fputs("no trackers yet: 'flowtrack create TITLE' or 'flowtrack import FILE'\n", stderr);
    free(def);
    json_decref(list);
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
    int fmt = -1;
    struct ft_err err;
    struct ft_tracker *t = NULL;
    int first, rc = cli_getopt(ctx, argc, argv, "f:", opts, show_opt, &fmt, &first);
    if (rc)
        return rc < 0 ? FT_EXIT_USAGE : 0;
    if (first + 1 < argc)
        return cli_usage(ctx, "unexpected argument '%s'", argv[first + 1]);
    if (first < argc)
        ctx->tracker = argv[first];
    if (fmt < 0)
        fmt = ctx->json ? FT_FMT_JSON : FT_FMT_VIEW;
    if ((rc = cli_store(ctx, 0)) || (rc = cli_tracker(ctx)))
        return rc;
    /* item state-change times appear only in JSON */
    if ((rc = ft_store_tracker_load_ex(ctx->st, ctx->tid, fmt == FT_FMT_JSON ? FT_LOAD_CHANGES : 0,
                                       &t, &err)))
        return cli_fail(ctx, &err);
    struct ft_buf b;
    ft_buf_init(&b, 0);
    ft_render(t, (enum ft_format)fmt, &b);
    fwrite(b.buf, 1, b.len, stdout);
    ft_buf_release(&b);
    ft_tracker_free(t);
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
    struct ft_err err;
    int first, rc = cli_getopt(ctx, argc, argv, NULL, opts, use_opt, &clear, &first);
    if (rc)
        return rc < 0 ? FT_EXIT_USAGE : 0;
    if ((rc = cli_store(ctx, 0)))
        return rc;
    if (clear) {
        if ((rc = ft_store_setting_set(ctx->st, "default_tracker", NULL, &err)))
            return cli_fail(ctx, &err);
        if (ctx->json)
            cli_print_json(json_pack("{s:b, s:n}", "ok", 1, "default"));
        else
            puts("no default tracker");
        return 0;
    }
    if (first >= argc) {
        char *def = NULL;
        ft_store_setting_get(ctx->st, "default_tracker", &def, NULL);
        if (ctx->json)
            cli_print_json(json_pack("{s:s?}", "default", def));
        else
            puts(def ? def : "no default tracker");
        free(def);
        return 0;
    }
    if (first + 1 < argc)
        return cli_usage(ctx, "unexpected argument '%s'", argv[first + 1]);
    ctx->tracker = argv[first];
    if ((rc = cli_tracker(ctx)))
        return rc;
    struct ft_tracker *t = NULL;
    if ((rc = ft_store_tracker_load(ctx->st, ctx->tid, &t, &err)) ||
        (rc = ft_store_setting_set(ctx->st, "default_tracker", t->slug, &err))) {
        ft_tracker_free(t);
        return cli_fail(ctx, &err);
    }
    if (ctx->json)
        cli_print_json(
            json_pack("{s:b, s:s, s:I}", "ok", 1, "default", t->slug, "id", (json_int_t)t->id));
    else
        printf("default tracker is now %s\n", t->slug);
    ft_tracker_free(t);
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
    struct ft_err err;
    int first, rc = cli_getopt(ctx, argc, argv, NULL, opts, header_opt, &h, &first);
    if (rc) {
        rc = rc < 0 ? FT_EXIT_USAGE : 0;
        goto out;
    }
    if (first < argc) {
        rc = cli_usage(ctx, "unexpected argument '%s'", argv[first]);
        goto out;
    }
    if (json_object_size(h.patch) == 0) {
        rc = cli_usage(ctx, "nothing to change: give --title, --owner, --objective, --started, "
                            "--org, --slug or --status");
        goto out;
    }
    if ((rc = cli_store(ctx, 0)) || (rc = cli_tracker(ctx)))
        goto out;
    if ((rc = ft_store_tracker_update(ctx->st, ctx->tid, h.patch, &err))) {
        rc = cli_fail(ctx, &err);
        goto out;
    }
    struct ft_tracker *t = NULL;
    if (ft_store_tracker_load(ctx->st, ctx->tid, &t, &err) == 0) {
        report_tracker(ctx, t, "updated");
        ft_tracker_free(t);
    }
out:
    json_decref(h.patch);
    return rc;
}

/* ---- delete -------------------------------------------------------------------------- */

int cmd_delete(int argc, char **argv, struct ft_ctx *ctx)
{
    struct ft_err err;
    int first, rc = cli_getopt(ctx, argc, argv, NULL, no_opts, NULL, NULL, &first);
    if (rc)
        return rc < 0 ? FT_EXIT_USAGE : 0;
    if (first >= argc)
        return cli_usage(ctx, "name the tracker to delete (its slug or number): nothing is "
                              "deleted by default");
    if (first + 1 < argc)
        return cli_usage(ctx, "unexpected argument '%s'", argv[first + 1]);
    ctx->tracker = argv[first];
    if ((rc = cli_store(ctx, 0)) || (rc = cli_tracker(ctx)))
        return rc;
    if ((rc = ft_store_tracker_delete(ctx->st, ctx->tid, &err)))
        return cli_fail(ctx, &err);
    if (ctx->json)
        cli_print_json(json_pack("{s:b, s:I}", "ok", 1, "id", (json_int_t)ctx->tid));
    else
        printf("deleted tracker %s\n", argv[first]);
    return 0;
}
