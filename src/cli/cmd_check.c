/* `flowtrack check`: one line per broken ground rule; exit 1 when there is any. */
#include "cli.h"

#include "../core/check.h"
#include "../util/ft_time.h"

#include <stdio.h>
#include <string.h>

#include "../util/banned.h"

int cmd_check(int argc, char **argv, json_t *opt, struct ft_ctx *ctx)
{
    json_t *dm = json_object_get(opt, "doing_max");
    struct ft_result res;
    int rc = cli_tracker_operand(ctx, argc, argv);
    if (rc || (rc = cli_call(ctx, FT_OP_CHECK,
                             json_pack("{s:I}", "doing_max",
                                       dm ? json_integer_value(dm) : FT_CHECK_DOING_MAX_DEFAULT),
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
