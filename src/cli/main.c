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
    {"init", cmd_init, "create a store in .flowtrack/ here (or at --db)", HELP_INIT},
    {"create", cmd_create, "start a new tracker", HELP_CREATE},
    {"import", cmd_import, "read a tracker from a text or Markdown file", HELP_IMPORT},
    {"list", cmd_list, "list the trackers in the store", HELP_LIST},
    {"show", cmd_show, "show a tracker (view, text, md or json)", HELP_SHOW},
    {"use", cmd_use, "set the default tracker", HELP_USE},
    {"edit", cmd_edit, "change a tracker's header: title, owner, objective...", HELP_EDIT},
    {"delete", cmd_delete, "delete a tracker and everything in it", HELP_DELETE},
    {"item", cmd_entry, "progress items: add, start, done, drop, reopen...", HELP_ITEM},
    {"rule", cmd_entry, "ground rules for agents", HELP_RULE},
    {"step", cmd_entry, "workflow steps", HELP_STEP},
    {"symptom", cmd_entry, "observed symptoms", HELP_SYMPTOM},
    {"hyp", cmd_entry, "hypotheses and their verdicts", HELP_HYP},
    {"result", cmd_entry, "the dated results log", HELP_RESULT},
    {"followup", cmd_entry, "follow-ups", HELP_FOLLOWUP},
    {"note", cmd_entry, "free notes under Notes & Follow-Ups", HELP_NOTE},
    {"repro", cmd_repro, "the reproduction command, its timeout and expected failure", HELP_REPRO},
    {"run", cmd_run, "run a command (or the reproduction command) with hang and leak diagnosis",
     HELP_RUN},
    {"runs", cmd_runs, "list recorded runs; print a run's diagnosis or log again", HELP_RUNS},
    {"fix", cmd_fix, "the final fix: what changed, why it works, the evidence", HELP_FIX},
    {"history", cmd_history, "the events log: every change, who and when", HELP_HISTORY},
    {"serve", cmd_serve, "serve the JSON API and live event streams over HTTP", HELP_SERVE},
    {"check", cmd_check, "check the ground rules a machine can check", HELP_CHECK},
    {"help", cmd_help, "show help for a command", HELP_HELP},
    {"version", cmd_version, "print the version", HELP_VERSION},
    {NULL, NULL, NULL, NULL},
};

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

int cmd_help(int argc, char **argv, struct ft_ctx *ctx)
{
    (void)ctx;
    if (argc < 2) {
        usage(stdout);
        return 0;
    }
    const struct cli_cmd *c = cli_find(strcmp(argv[1], "--help") == 0 ? "help" : argv[1]);
    if (!c)
        return cli_failf(FT_EXIT_USAGE, "no command '%s'; see 'flowtrack --help'", argv[1]);
    fputs(c->help, stdout);
    return 0;
}

int cmd_version(int argc, char **argv, struct ft_ctx *ctx)
{
    int first;
    int rc = cli_getopt(ctx, argc, argv, NULL, (const struct option[]){CLI_COMMON_OPTS, {0}}, NULL,
                        NULL, &first);
    if (rc)
        return rc < 0 ? FT_EXIT_USAGE : 0;
    if (ctx->json) {
        cli_print_json(json_pack("{s:s, s:i}", "version", FT_VERSION, "schema", FT_SCHEMA_VERSION));
        return 0;
    }
    printf("flowtrack %s (store schema %d)\n", FT_VERSION, FT_SCHEMA_VERSION);
    return 0;
}

int main(int argc, char **argv)
{
    struct ft_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.cmd = "flowtrack";
    ctx.db = getenv("FLOWTRACK_DB");
    if (ctx.db && !*ctx.db)
        ctx.db = NULL;
    ctx.tracker = getenv("FLOWTRACK_TRACKER");
    if (ctx.tracker && !*ctx.tracker)
        ctx.tracker = NULL;
    ctx.server = getenv("FLOWTRACK_SERVER");
    if (ctx.server && !*ctx.server)
        ctx.server = NULL;
    ctx.token = getenv("FLOWTRACK_TOKEN");
    if (ctx.token && !*ctx.token)
        ctx.token = NULL;
    ctx.actor = getenv("FLOWTRACK_ACTOR");
    if (!ctx.actor || !*ctx.actor)
        ctx.actor = getenv("USER");
    if (!ctx.actor || !*ctx.actor) {
        struct passwd *pw = getpwuid(getuid());
        ctx.actor = pw && pw->pw_name && *pw->pw_name ? pw->pw_name : "unknown";
    }
    const char *nc = getenv("NO_COLOR");
    ctx.color = isatty(STDOUT_FILENO) && !(nc && *nc);

    /* Global options come before the subcommand. */
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
            printf("flowtrack %s\n", FT_VERSION);
            return 0;
        }
        if (strcmp(a, "--json") == 0) {
            ctx.json = 1;
            continue;
        }
        if (strcmp(a, "--no-color") == 0) {
            ctx.color = 0;
            continue;
        }
        static const char *const valued[] = {"--db", "--actor",  "--tracker",
                                             "-t",   "--server", "--token"};
        int which = -1;
        for (int k = 0; k < 6; k++) {
            size_t n = strlen(valued[k]);
            if (strncmp(a, valued[k], n) == 0 && (a[n] == '\0' || a[n] == '=')) {
                which = k;
                val = a[n] == '=' ? a + n + 1 : (i + 1 < argc ? argv[++i] : NULL);
                break;
            }
        }
        if (which < 0)
            return cli_failf(FT_EXIT_USAGE, "unknown option '%s'; see 'flowtrack --help'", a);
        if (!val)
            return cli_failf(FT_EXIT_USAGE, "option '%s' needs a value", a);
        if (which == 0) {
            ctx.db = val;
            ctx.db_given = 1;
        } else if (which == 1) {
            ctx.actor = val;
        } else if (which == 4) {
            ctx.server = val;
            ctx.server_given = 1;
        } else if (which == 5) {
            ctx.token = val;
        } else {
            ctx.tracker = val;
        }
    }
    if (i == argc) {
        usage(stderr);
        return FT_EXIT_USAGE;
    }
    const struct cli_cmd *c = cli_find(argv[i]);
    if (!c)
        return cli_failf(FT_EXIT_USAGE, "'%s' is not a flowtrack command; see 'flowtrack --help'",
                         argv[i]);
    ctx.cmd = c->name;
    int rc = c->fn(argc - i, argv + i, &ctx);
    ft_ops_free(ctx.ops);
    ft_store_close(ctx.st);
    libevent_global_shutdown(); /* libevent's global state, for leak checkers; a no-op if unused */
    if (fflush(stdout) != 0 && rc == 0)
        rc = cli_failf(FT_EXIT_FAIL, "cannot write output");
    return rc;
}
