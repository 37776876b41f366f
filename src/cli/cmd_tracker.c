/* Tracker-level commands: init, create, import, list, show, use, edit, delete. */
#include "cli.h"

#include "../core/import.h"
#include "../core/render.h"
#include "../util/ft_buf.h"
#include "../util/ft_xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/banned.h"

/* ---- init ---------------------------------------------------------------------------- */

int cmd_init(int argc, char **argv, json_t *opt, struct ft_ctx *ctx)
{
    int rc = cli_operands(ctx, argc, argv, 0);
    (void)opt;
    if (rc)
        return rc;
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
    if (ft_store_path_is_url(ctx->db)) { /* a database: is a store already in it? */
        struct ft_store *probe = NULL;
        struct ft_err err;
        existed = ft_store_open(ctx->db, 0, &probe, &err) == 0;
        ft_store_close(probe);
    }
    if ((rc = cli_store(ctx, 1)))
        return rc;
    char *abs = realpath(ctx->db, NULL), shown[1024];
    ft_store_path_shown(abs ? abs : ctx->db, shown, sizeof(shown));
    if (ctx->json)
        cli_print_json(json_pack("{s:s, s:b}", "store", shown, "created", !existed));
    else
        printf("%s store %s\n", existed ? "reinitialised existing" : "initialised", shown);
    free(abs);
    return 0;
}

/* ---- create, edit, delete ------------------------------------------------------------- */

/* Run a write on a tracker and report it: its slug and id (JSON: the operation's result). */
static int tracker_write(struct ft_ctx *ctx, enum ft_op op, json_t *args, const char *verb)
{
    struct ft_result res;
    int rc = cli_call(ctx, op, args, &res);
    if (rc)
        return rc;
    if (!cli_json_out(ctx, &res)) {
        printf("%s tracker %s (%lld)\n", verb, cli_jstr(res.json, "tracker.slug"),
               cli_jint(res.json, "tracker.id"));
    }
    ft_result_release(&res);
    return 0;
}

int cmd_create(int argc, char **argv, json_t *opt, struct ft_ctx *ctx)
{
    if (argc < 1)
        return cli_usage(ctx, "missing the tracker's TITLE");
    json_t *fields = cli_fields(opt);
    char *title = cli_join(argc, argv, 0);
    json_object_set_new(fields, "title", json_string(title));
    free(title);
    int rc = cli_ops(ctx, 1);
    if (rc) {
        json_decref(fields);
        return rc;
    }
    return tracker_write(ctx, FT_OP_TRACKER_CREATE, json_pack("{s:o}", "fields", fields),
                         "created");
}

int cmd_edit(int argc, char **argv, json_t *opt, struct ft_ctx *ctx)
{
    int rc = cli_operands(ctx, argc, argv, 0);
    if (rc)
        return rc;
    json_t *fields = cli_fields(opt);
    if (json_object_size(fields) == 0) {
        json_decref(fields);
        return cli_usage(ctx, "nothing to change: give --title, --owner, --objective, --started, "
                              "--org, --slug or --status");
    }
    return tracker_write(ctx, FT_OP_TRACKER_EDIT, json_pack("{s:o}", "fields", fields), "updated");
}

int cmd_delete(int argc, char **argv, json_t *opt, struct ft_ctx *ctx)
{
    struct ft_result res;
    (void)opt;
    if (argc < 1)
        return cli_usage(ctx, "name the tracker to delete (its slug or number): nothing is "
                              "deleted by default");
    int rc = cli_operands(ctx, argc, argv, 1);
    if (rc ||
        (rc = cli_call(ctx, FT_OP_TRACKER_DELETE, json_pack("{s:s}", "tracker", argv[0]), &res)))
        return rc;
    if (!cli_json_out(ctx, &res)) {
        printf("deleted tracker %s\n", argv[0]);
    }
    ft_result_release(&res);
    return 0;
}

/* ---- import -------------------------------------------------------------------------- */

/* Print what the reader could not place; under --strict each is an error. */
static void print_warnings(const struct ft_import_report *rep, int strict)
{
    for (size_t i = 0; i < rep->n; i++) {
        if (rep->v[i].line)
            fprintf(stderr, "%s: line %d: %s\n", strict ? "error" : "warning", rep->v[i].line,
                    rep->v[i].msg);
        else
            fprintf(stderr, "%s: %s\n", strict ? "error" : "warning", rep->v[i].msg);
    }
}

/* "imported tracker SLUG (ID)" and how it was read. */
static void print_imported(json_t *r, const char *reader, size_t nwarn)
{
    printf("imported tracker %s (%lld)%s\n", cli_jstr(r, "tracker.slug"), cli_jint(r, "tracker.id"),
           strcmp(reader, "json") == 0       ? " from JSON"
           : strcmp(reader, "tolerant") != 0 ? ""
           : nwarn                           ? " (tolerant reading: see the warnings)"
                                             : " (tolerant reading)");
}

/* Import on the store file: the operation reads the document, once, and says what it warned. */
static int import_once(struct ft_ctx *ctx, const char *path, const struct ft_buf *data, int fmt,
                       enum ft_import_mode mode, const char *slug)
{
    struct ft_result res;
    struct ft_err err;
    int rc = cli_ops(ctx, 1);
    if (rc)
        return rc;
    json_t *args = json_pack("{s:o, s:s, s:s, s:s?}", "document",
                             json_stringn_nocheck(data->buf ? data->buf : "", data->len), "format",
                             ft_import_fmt_name((enum ft_import_fmt)fmt), "mode",
                             mode == FT_IMPORT_EXACT      ? "exact"
                             : mode == FT_IMPORT_TOLERANT ? "tolerant"
                                                          : "auto",
                             "slug", slug);
    if (ft_ops_call(ctx->ops, FT_OP_TRACKER_IMPORT, args, &res, &err)) {
        rc = cli_failf(cli_exit_code(err.code), "cannot import '%s': %s", path, err.msg);
    } else {
        json_t *w = json_object_get(res.json, "warnings");
        size_t i;
        json_t *v;
        json_array_foreach(w, i, v)
        {
            const json_t *line = json_object_get(v, "line");
            if (json_is_integer(line))
                fprintf(stderr, "warning: line %lld: %s\n", (long long)json_integer_value(line),
                        cli_jstr(v, "message"));
            else
                fprintf(stderr, "warning: %s\n", cli_jstr(v, "message"));
        }
        if (!cli_json_out(ctx, &res))
            print_imported(res.json, cli_jstr(res.json, "reader"), json_array_size(w));
    }
    ft_result_release(&res);
    json_decref(args);
    return rc;
}

int cmd_import(int argc, char **argv, json_t *opt, struct ft_ctx *ctx)
{
    const char *fs = cli_jstr(opt, "format");
    const char *slug = json_string_value(json_object_get(opt, "slug"));
    struct ft_buf data;
    struct ft_tracker *t = NULL;
    struct ft_result res;
    struct ft_err err;
    struct ft_import_report rep;
    int fmt = FT_IMPORT_AUTO;
    int rc = 0;
    int exact = json_is_true(json_object_get(opt, "exact"));
    int tolerant = json_is_true(json_object_get(opt, "tolerant"));
    int strict = json_is_true(json_object_get(opt, "strict"));
    if (*fs && (fmt = ft_import_fmt_parse(fs)) < 0)
        return cli_usage(ctx, "format must be text, md, json or auto, not '%s'", fs);
    if (exact && tolerant)
        return cli_usage(ctx, "--exact and --tolerant exclude each other");
    if (argc < 1)
        return cli_usage(ctx, "missing the FILE to import (or - for standard input)");
    if ((rc = cli_operands(ctx, argc, argv, 1)))
        return rc;
    const char *path = argv[0];
    int dry = json_is_true(json_object_get(opt, "dry_run"));
    enum ft_import_mode mode = exact      ? FT_IMPORT_EXACT
                               : tolerant ? FT_IMPORT_TOLERANT
                                          : FT_IMPORT_FALLBACK;

    /* Read here first when the document goes to a server, or for a preview or --strict:
     * the warnings are printed once, and --strict writes nothing. On the store file the
     * operation reads it once and returns the warnings (a 10 000-item file is read in about
     * as long as it is stored). */
    ft_import_report_init(&rep);
    ft_buf_init(&data, FT_IMPORT_MAX_BYTES);
    if ((rc = cli_read_file(path, CLI_READ_STDIN, &data, &err))) {
        rc = cli_failf(cli_exit_code(err.code), "cannot import '%s': %s", path, err.msg);
        goto out;
    }
    if (!ctx->server && !dry && !strict) {
        rc = import_once(ctx, path, &data, fmt, mode, slug);
        goto out;
    }
    ft_import_report_release(&rep);
    if ((rc = ft_import_read(data.buf ? data.buf : "", data.len, (enum ft_import_fmt)fmt, mode, &t,
                             &rep, &err))) {
        rc = cli_failf(cli_exit_code(err.code), "cannot import '%s': %s", path, err.msg);
        goto out;
    }
    print_warnings(&rep, strict);
    if (strict && rep.n) {
        rc = cli_failf(1,
                       "cannot import '%s': %zu line%s could not be placed (--strict): nothing "
                       "written",
                       path, rep.n, rep.n == 1 ? "" : "s");
        goto out;
    }
    if (dry) { /* a preview: nothing is stored, no store is needed */
        struct ft_buf b;
        ft_buf_init(&b, 0);
        if (slug)
            ft_set_str(&t->slug, slug);
        ft_render(t, ctx->json ? FT_FMT_JSON : FT_FMT_TEXT, &b);
        fwrite(b.buf, 1, b.len, stdout);
        ft_buf_release(&b);
        goto out;
    }
    if ((rc = cli_ops(ctx, 1)))
        goto out;
    /* the store reads the document again with the reader that read it here */
    json_t *args =
        json_pack("{s:o, s:s, s:s, s:b, s:s?}", "document",
                  json_stringn_nocheck(data.buf, data.len), "format", ft_import_fmt_name(rep.fmt),
                  "mode", rep.tolerant ? "tolerant" : "exact", "strict", strict, "slug", slug);
    if (ft_ops_call(ctx->ops, FT_OP_TRACKER_IMPORT, args, &res, &err)) {
        rc = cli_failf(cli_exit_code(err.code), "cannot import '%s': %s", path, err.msg);
    } else if (!cli_json_out(ctx, &res)) {
        print_imported(res.json,
                       rep.fmt == FT_IMPORT_JSON ? "json"
                       : rep.tolerant            ? "tolerant"
                                                 : "exact",
                       rep.n);
    }
    ft_result_release(&res);
    json_decref(args);
out:
    ft_import_report_release(&rep);
    ft_tracker_free(t);
    ft_buf_release(&data);
    return rc;
}

/* ---- list, show, use ----------------------------------------------------------------- */

int cmd_list(int argc, char **argv, json_t *opt, struct ft_ctx *ctx)
{
    struct ft_result res;
    (void)opt;
    int rc = cli_operands(ctx, argc, argv, 0);
    if (rc || (rc = cli_call(ctx, FT_OP_TRACKER_LIST, json_object(), &res)))
        return rc;
    size_t i;
    json_t *o;
    if (!cli_json_out(ctx, &res) && json_array_size(res.json) == 0)
        fputs("no trackers yet: 'flowtrack create TITLE' or 'flowtrack import FILE'\n", stderr);
    json_array_foreach(res.json, i, o) /* none left after --json */
    {
        printf("%c %3lld  %-28s %-8s %3lld done %3lld doing %3lld pending  %s\n",
               json_is_true(json_object_get(o, "default")) ? '*' : ' ', cli_jint(o, "id"),
               cli_jstr(o, "slug"), cli_jstr(o, "status"), cli_jint(o, "progress.done"),
               cli_jint(o, "progress.doing"), cli_jint(o, "progress.pending"),
               cli_jstr(o, "title"));
    }
    ft_result_release(&res);
    return 0;
}

int cmd_show(int argc, char **argv, json_t *opt, struct ft_ctx *ctx)
{
    static const char *const fmt_names[] = {[FT_FMT_VIEW] = "view",
                                            [FT_FMT_TEXT] = "text",
                                            [FT_FMT_MD] = "md",
                                            [FT_FMT_JSON] = "json",
                                            [FT_FMT_COMPACT] = "compact"};
    const char *fs = json_string_value(json_object_get(opt, "format"));
    int fmt = fs ? ft_format_parse(fs) : ctx->json ? FT_FMT_JSON : FT_FMT_VIEW;
    struct ft_result res;
    if (fmt < 0)
        return cli_usage(ctx, "format must be view, text, md, json or compact, not '%s'", fs);
    int rc = cli_tracker_operand(ctx, argc, argv);
    if (rc || (rc = cli_call(ctx, FT_OP_TRACKER_SHOW, json_pack("{s:s}", "format", fmt_names[fmt]),
                             &res)))
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

int cmd_use(int argc, char **argv, json_t *opt, struct ft_ctx *ctx)
{
    struct ft_result res;
    json_t *args = NULL;
    int rc = cli_operands(ctx, argc, argv, 1);
    if (rc)
        return rc;
    if (json_is_true(json_object_get(opt, "clear")))
        args = json_pack("{s:n}", "tracker");
    else if (argc > 0)
        args = json_pack("{s:s}", "tracker", argv[0]);
    int set = args != NULL;
    if ((rc = cli_call(ctx, set ? FT_OP_DEFAULT_SET : FT_OP_DEFAULT_GET, set ? args : json_object(),
                       &res)))
        return rc;
    const char *def = json_string_value(json_object_get(res.json, "default"));
    if (!cli_json_out(ctx, &res) && set && def)
        printf("default tracker is now %s\n", def);
    else if (!ctx->json)
        puts(def ? def : "no default tracker");
    ft_result_release(&res);
    return 0;
}
