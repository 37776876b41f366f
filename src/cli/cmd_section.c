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

/* Apply the patch when there is one, then print the section. */
static int section_run(struct ft_ctx *ctx, json_t *patch,
                       int (*print)(const struct ft_tracker *t, struct ft_ctx *ctx))
{
    struct ft_err err;
    struct ft_tracker *t = NULL;
    int rc;
    if ((rc = cli_store(ctx, 0)) || (rc = cli_tracker(ctx)))
        return rc;
    if (json_object_size(patch) && (rc = ft_store_tracker_update(ctx->st, ctx->tid, patch, &err)))
        return cli_fail(ctx, &err);
    if ((rc = ft_store_tracker_load(ctx->st, ctx->tid, &t, &err)))
        return cli_fail(ctx, &err);
    rc = print(t, ctx);
    ft_tracker_free(t);
    return rc;
}

static int print_repro(const struct ft_tracker *t, struct ft_ctx *ctx)
{
    char d[32] = "";
    if (t->repro_timeout_ms)
        ft_duration_fmt(t->repro_timeout_ms, d, sizeof(d));
    if (ctx->json) {
        json_t *j = ft_tracker_to_json(t);
        cli_print_json(json_incref(json_object_get(j, "reproduction")));
        json_decref(j);
        return 0;
    }
    printf("command:  %s\ntimeout:  %s\nexpected: %s\nnote:     %s\n",
           *t->repro_command ? t->repro_command : "(not set)", *d ? d : "(not set)",
           *t->repro_expect ? t->repro_expect : "(not set)", t->repro_note);
    return 0;
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
        rc = section_run(ctx, o.patch, print_repro);
    }
    json_decref(o.patch);
    return rc;
}

static int print_fix(const struct ft_tracker *t, struct ft_ctx *ctx)
{
    if (ctx->json) {
        json_t *j = ft_tracker_to_json(t);
        cli_print_json(json_incref(json_object_get(j, "final_fix")));
        json_decref(j);
        return 0;
    }
    printf("summary:  %s\nwhy:      %s\nevidence: %s\n", t->fix_summary, t->fix_why,
           t->fix_evidence);
    return 0;
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
        rc = section_run(ctx, o.patch, print_fix);
    }
    json_decref(o.patch);
    return rc;
}
