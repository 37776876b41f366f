/* The single-valued sections: `repro` (reproduction command) and `fix` (final fix). */
#include "cli.h"

#include "../core/render.h"
#include "../util/ft_time.h"

#include <stdio.h>
#include <string.h>

#include "../util/banned.h"

/* Apply the options' fields when there are some, then print the section (the header's JSON
 * member). */
static int section_run(struct ft_ctx *ctx, json_t *opt, const char *member,
                       void (*print)(json_t *section))
{
    struct ft_result res;
    json_t *patch = json_object_get(opt, "fields");
    int rc;
    if (json_object_size(patch)) {
        if ((rc = cli_call(ctx, FT_OP_TRACKER_EDIT, json_pack("{s:O}", "fields", patch), &res)))
            return rc;
        ft_result_release(&res);
    }
    if ((rc = cli_call(ctx, FT_OP_TRACKER_HEADER, json_object(), &res)))
        return rc;
    json_t *section = json_object_get(res.json, member);
    if (ctx->json)
        cli_print_json(json_incref(section));
    else
        print(section);
    ft_result_release(&res);
    return 0;
}

static void print_repro(json_t *r)
{
    char d[32] = "";
    if (cli_jint(r, "timeout_ms"))
        ft_duration_fmt(cli_jint(r, "timeout_ms"), d, sizeof(d));
    const char *cmd = cli_jstr(r, "command"), *expect = cli_jstr(r, "expected");
    printf("command:  %s\ntimeout:  %s\nexpected: %s\nnote:     %s\n", *cmd ? cmd : "(not set)",
           *d ? d : "(not set)", *expect ? expect : "(not set)", cli_jstr(r, "note"));
}

int cmd_repro(int argc, char **argv, json_t *opt, struct ft_ctx *ctx)
{
    if (argc > 0)
        return cli_usage(ctx, "unexpected argument '%s' (the command goes in --command)", argv[0]);
    return section_run(ctx, opt, "reproduction", print_repro);
}

static void print_fix(json_t *f)
{
    printf("summary:  %s\nwhy:      %s\nevidence: %s\n", cli_jstr(f, "summary"), cli_jstr(f, "why"),
           cli_jstr(f, "evidence"));
}

int cmd_fix(int argc, char **argv, json_t *opt, struct ft_ctx *ctx)
{
    if (argc > 0)
        return cli_usage(ctx, "unexpected argument '%s' (use --summary, --why, --evidence)",
                         argv[0]);
    return section_run(ctx, opt, "final_fix", print_fix);
}
