/* `flowtrack check`: one line per broken ground rule; exit 1 when there is any. */
#include "cli.h"

#include "../core/check.h"
#include "../util/ft_time.h"

#include <stdio.h>
#include <string.h>

#include "../util/banned.h"

static int check_opt(int c, const char *arg, void *u)
{
    int64_t *doing_max = u;
    if (c != 'm')
        return -1;
    if (ft_duration_parse(arg, doing_max))
        return cli_failf(FT_EXIT_USAGE, "check: --doing-max '%s' is not a duration (12h, 3d)", arg);
    return 0;
}

int cmd_check(int argc, char **argv, struct ft_ctx *ctx)
{
    static const struct option opts[] = {
        CLI_COMMON_OPTS, {"doing-max", required_argument, NULL, 'm'}, {0}};
    struct ft_check_opts o = {ft_now_ms(), FT_CHECK_DOING_MAX_DEFAULT};
    struct ft_err err;
    struct ft_tracker *t;
    int first, rc = cli_getopt(ctx, argc, argv, NULL, opts, check_opt, &o.doing_max_ms, &first);
    if (rc)
        return rc < 0 ? FT_EXIT_USAGE : 0;
    if (first + 1 < argc)
        return cli_usage(ctx, "unexpected argument '%s'", argv[first + 1]);
    if (first < argc)
        ctx->tracker = argv[first];
    if ((rc = cli_store(ctx, 0)) || (rc = cli_tracker(ctx)))
        return rc;
    if ((rc = ft_store_tracker_load(ctx->st, ctx->tid, &t, &err)))
        return cli_fail(ctx, &err);
    json_t *findings = ft_check(t, &o);
    size_t n = json_array_size(findings);
    if (ctx->json) {
        cli_print_json(
            json_pack("{s:s, s:b, s:O}", "tracker", t->slug, "ok", n == 0, "findings", findings));
    } else {
        size_t i;
        json_t *f;
        json_array_foreach(findings, i, f)
        {
            printf("%s%s%s: %s\n", ctx->color ? "\033[31m" : "",
                   json_string_value(json_object_get(f, "rule")), ctx->color ? "\033[0m" : "",
                   json_string_value(json_object_get(f, "message")));
        }
        if (n == 0)
            printf("%s: all checks pass\n", t->slug);
    }
    json_decref(findings);
    ft_tracker_free(t);
    return n ? FT_EXIT_FAIL : 0;
}
