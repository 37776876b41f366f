/*
 * cli: the flowtrack command line. main.c holds the command table; each
 * subcommand is cmd_<name>() in its own file and shares the context below.
 * A command parses its arguments, runs operations (src/ops/ops.h) and prints
 * their results: the same operations run on the store file or, with --server,
 * on a flowtrack server, so a command never knows which.
 * Only this layer prints and chooses exit codes:
 *   0 ok, 1 failed (or `check` found problems), 2 usage error, 3 not found,
 *   4 a conflict (`sync`).
 * `run` follows timeout(1) instead (see cmd_run.c).
 */
#ifndef FT_CLI_H
#define FT_CLI_H

#include "../core/model.h"
#include "../ops/ops.h"
#include "../store/store.h"
#include "../util/ft_err.h"

#include <getopt.h>
#include <jansson.h>
#include <stdint.h>

enum {
    FT_EXIT_OK = 0,
    FT_EXIT_FAIL = 1,
    FT_EXIT_USAGE = 2,
    FT_EXIT_NOTFOUND = 3,
    FT_EXIT_CONFLICT = 4, /* sync: the file and the tracker changed the same thing */
};

struct ft_ctx {
    const char *cmd;     /* subcommand name, for messages */
    const char *db;      /* --db, else FLOWTRACK_DB, else NULL (search upward) */
    const char *actor;   /* --actor, else FLOWTRACK_ACTOR, else $USER */
    int actor_given;     /* --actor or FLOWTRACK_ACTOR (not only the login name) */
    const char *tracker; /* --tracker, else FLOWTRACK_TRACKER, else NULL */
    int json;            /* --json: machine-readable output */
    int color;           /* colour on stdout (a tty, and no NO_COLOR / --no-color) */
    int db_given;        /* --db was on the command line (not only in the environment) */
    const char *server;  /* --server, else FLOWTRACK_SERVER, else NULL (the store file) */
    int server_given;    /* --server was on the command line (not only in the environment) */
    const char *token;   /* --token, else FLOWTRACK_TOKEN: the server's (for serve) or sent to it */
    struct ft_store *st; /* opened by cli_store() and closed by main */
    struct ft_ops *ops;  /* made by cli_ops() and freed by main */
};

typedef int cli_cmd_fn(int argc, char **argv, json_t *opt, struct ft_ctx *ctx);

struct cli_cmd {
    const char *name;
    cli_cmd_fn *fn;      /* argv[0..argc) are the operands, opt the options (cli_options.c) */
    const char *summary; /* one line for `flowtrack --help` */
    const char *help;    /* the whole manual page for `flowtrack NAME --help` */
    int stop_at_operand; /* options only before the first operand (run: the rest is its command) */
    int usage_exit;      /* the exit status of a usage error (0: FT_EXIT_USAGE) */
    const char *help2;   /* the page's rest, when it is longer than one C string may be */
    const char *help3;   /* and its end, for the longest page */
};

/* The command table (main.c) and lookup. */
extern const struct cli_cmd cli_cmds[];
const struct cli_cmd *cli_find(const char *name);
/* Print c's manual page on stdout. */
void cli_print_help(const struct cli_cmd *c);

/*
 * Parse ctx->cmd's options (cli_options.c: one table of every option) from argv (argv[0] is the
 * command) into opt, each value checked and stored under its key. 0 with *first at the first
 * operand, or FT_EXIT_USAGE after saying what was wrong.
 */
int cli_parse(struct ft_ctx *ctx, int argc, char **argv, int stop_at_operand, json_t *opt,
              int *first);
/* Copy serve's options into a struct ft_server_opts. */
void cli_serve_opts(json_t *opt, void *target);
/*
 * Apply the options every command takes (--json, --tracker, --db, --server...) to ctx; ctx
 * then points at strings of opt, which must outlive it. 1 when --help was given (the page is
 * printed), else 0.
 */
int cli_apply_common(struct ft_ctx *ctx, json_t *opt);
/* More than max operands is a usage error (printed); 0 or FT_EXIT_USAGE. */
int cli_operands(struct ft_ctx *ctx, int argc, char **argv, int max);
/* At most one operand, the tracker to act on (it beats --tracker). 0 or FT_EXIT_USAGE. */
int cli_tracker_operand(struct ft_ctx *ctx, int argc, char **argv);
/* The "fields" object of opt (a new reference; an empty object when none). */
json_t *cli_fields(json_t *opt);

/* Open the store file (creating it when `create`); prints the error. 0 or an exit code. */
int cli_store(struct ft_ctx *ctx, int create);
/*
 * The operations the commands run: over the server (--server, FLOWTRACK_SERVER) when one is
 * given, else over the store file (cli_store, creating it when `create`). Prints the error.
 * 0 or an exit code.
 */
int cli_ops(struct ft_ctx *ctx, int create);
/*
 * Run op (cli_ops first) with args, which this call takes over: the tracker of --tracker /
 * FLOWTRACK_TRACKER is added when args names none. On error prints it and returns its exit
 * code; else 0 and res holds the result (release it with ft_result_release).
 */
int cli_call(struct ft_ctx *ctx, enum ft_op op, json_t *args, struct ft_result *res);
/* The same, printing the JSON result on success (with --json) and releasing it. */
int cli_call_print(struct ft_ctx *ctx, enum ft_op op, json_t *args);

/* Print "flowtrack: <msg>" on stderr; return the exit code for err's code. */
int cli_fail(struct ft_ctx *ctx, const struct ft_err *err);
int cli_failf(int exit_code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "flowtrack CMD: <msg>" and a pointer to --help; return FT_EXIT_USAGE. */
int cli_usage(struct ft_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print a JSON value on stdout (indented, final newline) and drop the reference. */
void cli_print_json(json_t *v);
/* With --json, print res's JSON (taking it) and return 1; else 0: print it for people. */
int cli_json_out(struct ft_ctx *ctx, struct ft_result *res);
/* Members of an operation's JSON result. */
const char *cli_jstr(json_t *o, const char *path); /* "tracker.slug": "" when absent */
long long cli_jint(json_t *o, const char *path);   /* 0 when absent */
/* Exit code for an enum ft_code. */
int cli_exit_code(int code);
/* Parse a positive entry number ("3" or "#3"); -1 when not one. */
int cli_num(const char *s);
/*
 * Read a whole file into out (whose cap bounds it: the importer's limit): 0; FT_ENOTFOUND
 * when it does not exist; FT_EINVAL for a directory, or with CLI_READ_REGULAR for anything
 * but a regular file; FT_ETOOBIG past the cap; FT_EIO. "-" is stdin with CLI_READ_STDIN.
 */
#define CLI_READ_STDIN   1
#define CLI_READ_REGULAR 2
int cli_read_file(const char *path, int flags, struct ft_buf *out, struct ft_err *err);
/* Join argv[from..argc) with spaces into a new string. */
char *cli_join(int argc, char **argv, int from);

/* Subcommands: argv[0..argc) are the operands, opt the options (see struct cli_cmd). */
cli_cmd_fn cmd_init, cmd_create, cmd_import, cmd_list, cmd_show, cmd_use, cmd_edit, cmd_delete,
    cmd_entry, cmd_repro, cmd_run, cmd_runs, cmd_fix, cmd_history, cmd_serve, cmd_check, cmd_help,
    cmd_version, cmd_hook, cmd_setup, cmd_mcp, cmd_sync, cmd_diagnose, cmd_copy;

#endif
