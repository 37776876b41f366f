/*
 * `flowtrack copy FROM TO`: a whole store into a new or empty one (store/copy.h). It works on
 * the two stores named by its operands, never through a server: the copy is a job of the
 * storage backends, below the operations every other command runs.
 */
#include "cli.h"

#include "../store/copy.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "../util/banned.h"

/* The tables as the report names them, in the order it prints them. */
static const struct {
    enum ft_copy_tab t;
    const char *one, *many;
} shown[] = {
    {FT_COPY_TRACKERS, "tracker", "trackers"},
    {FT_COPY_ENTRIES, "entry", "entries"},
    {FT_COPY_STATE_CHANGES, "state change", "state changes"},
    {FT_COPY_RUNS, "run", "runs"},
    {FT_COPY_EVENTS, "event", "events"},
    {FT_COPY_SETTINGS, "setting", "settings"},
};
#define NSHOWN (sizeof(shown) / sizeof(shown[0]))

static void print_report(struct ft_ctx *ctx, const char *from, const char *to,
                         const struct ft_copy_report *rep)
{
    if (ctx->json) {
        json_t *rows = json_object();
        for (int t = 0; t < FT_COPY__COUNT; t++)
            json_object_set_new(rows, ft_copy_table(t)->name, json_integer(rep->rows[t]));
        cli_print_json(json_pack("{s:s, s:s, s:o}", "from", from, "to", to, "copied", rows));
        return;
    }
    printf("copied");
    for (size_t i = 0; i < NSHOWN; i++) {
        long long n = rep->rows[shown[i].t];
        printf("%s %lld %s", i ? "," : "", n, n == 1 ? shown[i].one : shown[i].many);
    }
    printf(" from %s to %s\n", from, to);
}

/* 1 when a and b are paths of one existing file (a link, a second name). */
/* The same file (by device and inode), or the same database URL. Two URLs that differ in
 * spelling but name one database are caught by the check that the destination is empty. */
static int same_store(const char *a, const char *b)
{
    if (ft_store_path_is_url(a) || ft_store_path_is_url(b))
        return strcmp(a, b) == 0;
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int cmd_copy(int argc, char **argv, json_t *opt, struct ft_ctx *ctx)
{
    (void)opt;
    int rc = cli_operands(ctx, argc, argv, 2);
    if (rc)
        return rc;
    if (argc < 2)
        return cli_usage(ctx, "give the store to copy (FROM) and where to copy it (TO)");
    if (ctx->server_given)
        return cli_usage(ctx, "copy works on the stores FROM and TO, not through a server (drop "
                              "--server)");
    if (ctx->db_given)
        return cli_usage(ctx, "FROM and TO name the stores (drop --db)");
    const char *from = argv[0], *to = argv[1];
    if (same_store(from, to))
        return cli_usage(ctx, "'%s' and '%s' are the same store", from, to);

    /* FROM first: a FROM that is missing or not a store leaves TO uncreated. */
    struct ft_store *src = NULL, *dst = NULL;
    struct ft_copy_report rep;
    struct ft_err err;
    char f[1024], t[1024]; /* as shown: without a password a URL may hold */
    ft_store_path_shown(from, f, sizeof(f));
    ft_store_path_shown(to, t, sizeof(t));
    if (ft_store_open(from, 0, &src, &err) == FT_ENOTFOUND)
        rc = cli_failf(FT_EXIT_NOTFOUND, "no store at '%s' to copy", f);
    else if (!src || ft_store_open(to, FT_STORE_CREATE, &dst, &err) ||
             ft_store_copy(src, dst, &rep, &err))
        rc = cli_fail(ctx, &err);
    else
        print_report(ctx, f, t, &rep);
    ft_store_close(dst);
    ft_store_close(src);
    return rc;
}
