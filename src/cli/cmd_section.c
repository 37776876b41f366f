/* The single-valued sections: `repro` (reproduction command) and `fix` (final fix). */
#include "cli.h"

#include "../core/render.h"
#include "../util/ft_time.h"

#include <stdio.h>
#include <string.h>

#include "../util/banned.h"

struct section_opts {
    json_t *patch;
    const char *const *names; /* option letter -> header field */
    size_t nnames;
};

static int section_opt(int c, const char *arg, void *u)
{
    struct section_opts *o = u;
    if (c < 0 || (size_t)c >= o->nnames || !o->names[c])
        return -1;
    if (strcmp(o->names[c], "repro_timeout_ms") == 0) {
        int64_t ms;
        if (ft_duration_parse(arg, &ms))
            return cli_failf(FT_EXIT_USAGE,
                             "repro: timeout '%s' is not a duration (30, 2.5s, 5m, 1h)", arg);
        json_object_set_new(o->patch, o->names[c], json_integer(ms));
        return 0;
    }
    json_object_set_new(o->patch, o->names[c], json_string(arg));
    return 0;
}

/* Apply the patch when there is one, then print the section (the tracker's JSON member). */
static int section_run(struct ft_ctx *ctx, json_t *patch, const char *member,
                       void (*print)(json_t *section))
{
    struct ft_result res;
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

int cmd_repro(int argc, char **argv, struct ft_ctx *ctx)
{
    static const char *const names[] = {
        ['c'] = "repro_command",
        ['T'] = "repro_timeout_ms",
        ['e'] = "repro_expect",
        ['n'] = "repro_note",
    };
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"command", required_argument, NULL, 'c'},
                                         {"timeout", required_argument, NULL, 'T'},
                                         {"expect", required_argument, NULL, 'e'},
                                         {"note", required_argument, NULL, 'n'},
                                         {0}};
    struct section_opts o = {json_object(), names, sizeof(names) / sizeof(names[0])};
    int first, rc = cli_getopt(ctx, argc, argv, "c:e:n:", opts, section_opt, &o, &first);
    if (rc) {
        rc = rc < 0 ? FT_EXIT_USAGE : 0;
    } else if (first < argc) {
        rc =
            cli_usage(ctx, "unexpected argument '%s' (the command goes in --command)", argv[first]);
    } else {
        rc = section_run(ctx, o.patch, "reproduction", print_repro);
    }
    json_decref(o.patch);
    return rc;
}

static void print_fix(json_t *f)
{
    printf("summary:  %s\nwhy:      %s\nevidence: %s\n", cli_jstr(f, "summary"), cli_jstr(f, "why"),
           cli_jstr(f, "evidence"));
}

int cmd_fix(int argc, char **argv, struct ft_ctx *ctx)
{
    static const char *const names[] = {
        ['s'] = "fix_summary",
        ['w'] = "fix_why",
        ['e'] = "fix_evidence",
    };
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"summary", required_argument, NULL, 's'},
                                         {"why", required_argument, NULL, 'w'},
                                         {"evidence", required_argument, NULL, 'e'},
                                         {0}};
    struct section_opts o = {json_object(), names, sizeof(names) / sizeof(names[0])};
    int first, rc = cli_getopt(ctx, argc, argv, "s:w:e:", opts, section_opt, &o, &first);
    if (rc) {
        rc = rc < 0 ? FT_EXIT_USAGE : 0;
    } else if (first < argc) {
        rc = cli_usage(ctx, "unexpected argument '%s' (use --summary, --why, --evidence)",
                       argv[first]);
    } else {
        rc = section_run(ctx, o.patch, "final_fix", print_fix);
    }
    json_decref(o.patch);
    return rc;
}
