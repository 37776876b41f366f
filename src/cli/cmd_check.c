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
    int64_t doing_max = FT_CHECK_DOING_MAX_DEFAULT;
    struct ft_result res;
    int first, rc = cli_getopt(ctx, argc, argv, NULL, opts, check_opt, &doing_max, &first);
    if (rc)
        return rc < 0 ? FT_EXIT_USAGE : 0;
    if (first + 1 < argc)
        return cli_usage(ctx, "unexpected argument '%s'", argv[first + 1]);
    if (first < argc)
        ctx->tracker = argv[first];
    if ((rc = cli_call(ctx, FT_OP_CHECK, json_pack("{s:I}", "doing_max", (json_int_t)doing_max),
                       &res)))
        return rc;
    json_t *findings = json_object_get(res.json, "findings");
    size_t n = json_array_size(findings);
    if (ctx->json) {
        cli_print_json(json_incref(res.json));
    } else {
        size_t i;
        json_t *f;
        json_array_foreach(findings, i, f)
        {
            printf("%s%s%s: %s\n", ctx->color ? "\033[31m" : "", cli_jstr(f, "rule"),
                   ctx->color ? "\033[0m" : "", cli_jstr(f, "message"));
        }
        if (n == 0)
            printf("%s: all checks pass\n", cli_jstr(res.json, "tracker"));
    }
    ft_result_release(&res);
    return n ? FT_EXIT_FAIL : 0;
}
