/*
 * flowtrack: keep the record of an engineering investigation.
 * main() reads the global options, finds the subcommand in the table below
 * and hands it the rest of the command line; it owns the store handle.
 */
#include "cli.h"
#include "help.h"

#include <event2/event.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/banned.h"

const struct cli_cmd cli_cmds[] = {
    {"init", cmd_init, "create a store in .flowtrack/ here (or at --db)", HELP_INIT, 0, 0, NULL,
     NULL},
    {"create", cmd_create, "start a new tracker", HELP_CREATE, 0, 0, NULL, NULL},
    {"import", cmd_import, "read a tracker from a text or Markdown file", HELP_IMPORT, 0, 0, NULL,
     NULL},
    {"sync", cmd_sync, "keep a Markdown or text file in step with a tracker", HELP_SYNC, 0, 0,
     HELP_SYNC_2, NULL},
    {"list", cmd_list, "list the trackers in the store", HELP_LIST, 0, 0, NULL, NULL},
    {"show", cmd_show, "show a tracker (view, text, md, json or compact)", HELP_SHOW, 0, 0, NULL,
     NULL},
    {"use", cmd_use, "set the default tracker", HELP_USE, 0, 0, NULL, NULL},
    {"edit", cmd_edit, "change a tracker's header: title, owner, objective...", HELP_EDIT, 0, 0,
     NULL, NULL},
    {"delete", cmd_delete, "delete a tracker and everything in it", HELP_DELETE, 0, 0, NULL, NULL},
    {"item", cmd_entry, "progress items: add, start, done, drop, reopen...", HELP_ITEM, 0, 0, NULL,
     NULL},
    {"rule", cmd_entry, "ground rules for agents", HELP_RULE, 0, 0, NULL, NULL},
    {"step", cmd_entry, "workflow steps", HELP_STEP, 0, 0, NULL, NULL},
    {"symptom", cmd_entry, "observed symptoms", HELP_SYMPTOM, 0, 0, NULL, NULL},
    {"hyp", cmd_entry, "hypotheses and their verdicts", HELP_HYP, 0, 0, NULL, NULL},
    {"result", cmd_entry, "the dated results log", HELP_RESULT, 0, 0, NULL, NULL},
    {"followup", cmd_entry, "follow-ups", HELP_FOLLOWUP, 0, 0, NULL, NULL},
    {"note", cmd_entry, "free notes under Notes & Follow-Ups", HELP_NOTE, 0, 0, NULL, NULL},
    {"repro", cmd_repro, "the reproduction command, its timeout and expected failure", HELP_REPRO,
     0, 0, NULL, NULL},
    {"run", cmd_run, "run a command (or the reproduction command) with hang and leak diagnosis",
     HELP_RUN, 1, 125, HELP_RUN_2, NULL},
    {"diagnose", cmd_diagnose, "diagnose hung processes flowtrack did not start", HELP_DIAGNOSE, 0,
     0, NULL, NULL},
    {"runs", cmd_runs, "list recorded runs; print a run's diagnosis or log again", HELP_RUNS, 0, 0,
     NULL, NULL},
    {"fix", cmd_fix, "the final fix: what changed, why it works, the evidence", HELP_FIX, 0, 0,
     NULL, NULL},
    {"history", cmd_history, "the events log: every change, who and when", HELP_HISTORY, 0, 0, NULL,
     NULL},
    {"serve", cmd_serve, "serve the JSON API and live event streams over HTTP", HELP_SERVE, 0, 0,
     HELP_SERVE_2, HELP_SERVE_3},
    {"copy", cmd_copy, "copy a whole store into a new or empty one", HELP_COPY, 0, 0, NULL, NULL},
    {"check", cmd_check, "check the ground rules a machine can check", HELP_CHECK, 0, 0, NULL,
     NULL},
    {"mcp", cmd_mcp, "serve MCP (Model Context Protocol) to an agent over stdin and stdout",
     HELP_MCP, 0, 0, NULL, NULL},
    {"hook", cmd_hook, "the session hooks of coding agents: session-start, stop", HELP_HOOK, 0, 0,
     NULL, NULL},
    {"setup", cmd_setup, "install the session hooks for Claude Code or Codex", HELP_SETUP, 0, 0,
     NULL, NULL},
    {"help", cmd_help, "show help for a command", HELP_HELP, 0, 0, NULL, NULL},
    {"version", cmd_version, "print the version", HELP_VERSION, 0, 0, NULL, NULL},
    {NULL, NULL, NULL, NULL, 0, 0, NULL, NULL},
};

void cli_print_help(const struct cli_cmd *c)
{
    fputs(c->help ? c->help : "no help\n", stdout);
    if (c->help2)
        fputs(c->help2, stdout);
    if (c->help3)
        fputs(c->help3, stdout);
}

const struct cli_cmd *cli_find(const char *name)
{
    for (const struct cli_cmd *c = cli_cmds; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

static void usage(FILE *f)
{
    fputs(HELP_MAIN_HEAD, f);
    for (const struct cli_cmd *c = cli_cmds; c->name; c++)
        fprintf(f, "  %-10s %s\n", c->name, c->summary);
    fputs(HELP_MAIN_TAIL, f);
}

int cmd_help(int argc, char **argv, json_t *opt, struct ft_ctx *ctx)
{
    (void)opt;
    if (argc < 1) {
        usage(stdout);
        return 0;
    }
    const struct cli_cmd *c = cli_find(argv[0]);
    if (!c || cli_operands(ctx, argc, argv, 1))
        return cli_failf(FT_EXIT_USAGE, "no command '%s'; see 'flowtrack --help'", argv[0]);
    cli_print_help(c);
    return 0;
}

int cmd_version(int argc, char **argv, json_t *opt, struct ft_ctx *ctx)
{
    int rc = cli_operands(ctx, argc, argv, 0);
    (void)opt;
    if (rc)
        return rc;
    if (ctx->json) {
        cli_print_json(json_pack("{s:s, s:i}", "version", FT_VERSION, "schema", FT_SCHEMA_VERSION));
        return 0;
    }
    printf("flowtrack %s (store schema %d)\n", FT_VERSION, FT_SCHEMA_VERSION);
    return 0;
}

/* Run command c on argv (argv[0] is its name): its options, then the command. */
static int run_command(const struct cli_cmd *c, int argc, char **argv, struct ft_ctx *ctx)
{
    json_t *opt = json_object();
    int first = 0;
    ctx->cmd = c->name;
    int rc = cli_parse(ctx, argc, argv, c->stop_at_operand, opt, &first);
    if (rc)
        rc = c->usage_exit ? c->usage_exit : rc;
    else if (!cli_apply_common(ctx, opt))
        rc = c->fn(argc - first, argv + first, opt, ctx);
    ft_ops_free(ctx->ops);
    ctx->ops = NULL;
    ft_store_close(ctx->st);
    ctx->st = NULL;
    json_decref(opt);
    return rc;
}

int main(int argc, char **argv)
{
    struct ft_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    const struct {
        const char *name;
        const char **slot;
    } env[] = {{"FLOWTRACK_DB", &ctx.db},         {"FLOWTRACK_TRACKER", &ctx.tracker},
               {"FLOWTRACK_SERVER", &ctx.server}, {"FLOWTRACK_TOKEN", &ctx.token},
               {"FLOWTRACK_ACTOR", &ctx.actor},   {"USER", &ctx.actor}};
    for (size_t k = 0; k < sizeof(env) / sizeof(env[0]); k++) {
        const char *v = getenv(env[k].name);
        if (v && *v && !*env[k].slot)
            *env[k].slot = v; /* an empty variable is no value */
    }
    const char *fa = getenv("FLOWTRACK_ACTOR");
    ctx.actor_given = fa && *fa;
    if (!ctx.actor) {
        struct passwd *pw = getpwuid(getuid());
        ctx.actor = pw && pw->pw_name && *pw->pw_name ? pw->pw_name : "unknown";
    }
    const char *nc = getenv("NO_COLOR");
    ctx.color = isatty(STDOUT_FILENO) && !(nc && *nc);

    /* Global options come before the command: the options every command takes, and
     * --version. They stay in gopt, which ctx points into, until the end. */
    json_t *gopt = json_object();
    int i = 0, rc = cli_parse(&ctx, argc, argv, 1, gopt, &i);
    if (!rc && json_is_true(json_object_get(gopt, "help")))
        usage(stdout);
    else if (!rc && json_is_true(json_object_get(gopt, "version")))
        printf("flowtrack %s\n", FT_VERSION);
    if (rc || json_object_get(gopt, "help") || json_object_get(gopt, "version")) {
        json_decref(gopt);
        return rc;
    }
    cli_apply_common(&ctx, gopt);
    const struct cli_cmd *c = i < argc ? cli_find(argv[i]) : NULL;
    if (i == argc)
        usage(stderr);
    else if (!c)
        cli_failf(FT_EXIT_USAGE, "'%s' is not a flowtrack command; see 'flowtrack --help'",
                  argv[i]);
    if (!c) {
        json_decref(gopt);
        return FT_EXIT_USAGE;
    }
    rc = run_command(c, argc - i, argv + i, &ctx);
    libevent_global_shutdown(); /* libevent's global state, for leak checkers; a no-op if unused */
    json_decref(gopt);
    if (fflush(stdout) != 0 && rc == 0)
        rc = cli_failf(FT_EXIT_FAIL, "cannot write output");
    return rc;
}
