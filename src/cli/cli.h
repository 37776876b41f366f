/*
 * cli: the flowtrack command line. main.c holds the command table; each
 * subcommand is cmd_<name>() in its own file and shares the context below.
 * A command parses its arguments, runs operations (src/ops/ops.h) and prints
 * their results: the same operations run on the store file or, with --server,
 * on a flowtrack server, so a command never knows which.
 * Only this layer prints and chooses exit codes:
 *   0 ok, 1 failed (or `check` found problems), 2 usage error, 3 not found.
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

enum { FT_EXIT_OK = 0, FT_EXIT_FAIL = 1, FT_EXIT_USAGE = 2, FT_EXIT_NOTFOUND = 3 };

struct ft_ctx {
    const char *cmd;     /* subcommand name, for messages */
    const char *db;      /* --db, else FLOWTRACK_DB, else NULL (search upward) */
    const char *actor;   /* --actor, else FLOWTRACK_ACTOR, else $USER */
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

/* Options every subcommand accepts besides its own; 'J', 't', 'h', 'D', 'A', 'N' and the
 * codes below are taken. */
enum { CLI_OPT_SERVER = 0x100, CLI_OPT_TOKEN };
#define CLI_COMMON_OPTS                                                                            \
    {"json", no_argument, NULL, 'J'}, {"tracker", required_argument, NULL, 't'},                   \
        {"help", no_argument, NULL, 'h'}, {"db", required_argument, NULL, 'D'},                    \
        {"actor", required_argument, NULL, 'A'}, {"no-color", no_argument, NULL, 'N'},             \
        {"server", required_argument, NULL, CLI_OPT_SERVER},                                       \
    {                                                                                              \
        "token", required_argument, NULL, CLI_OPT_TOKEN                                            \
    }
#define CLI_COMMON_SHORT "t:h"

struct cli_cmd {
    const char *name;
    int (*fn)(int argc, char **argv, struct ft_ctx *ctx);
    const char *summary; /* one line for `flowtrack --help` */
    const char *help;    /* the whole manual page for `flowtrack NAME --help` */
};

/* The command table (main.c) and lookup. */
extern const struct cli_cmd cli_cmds[];
const struct cli_cmd *cli_find(const char *name);

/*
 * Handle an option common to every subcommand (c as getopt_long returned it).
 * Returns 1 when handled, 0 when c is not a common option, or -1 after
 * printing help (the caller then returns FT_EXIT_OK).
 */
int cli_common(struct ft_ctx *ctx, int c, const char *arg);
/*
 * Parse argv with the subcommand's options, calling on_opt for its own ones.
 * Returns -1 and prints the error for an unknown option (exit 2), 1 when help
 * was printed (exit 0), else 0 with *first set to the first operand's index.
 */
int cli_getopt(struct ft_ctx *ctx, int argc, char **argv, const char *shortopts,
               const struct option *longopts, int (*on_opt)(int c, const char *arg, void *u),
               void *u, int *first);

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
/* Members of an operation's JSON result. */
const char *cli_jstr(json_t *o, const char *path); /* "tracker.slug": "" when absent */
long long cli_jint(json_t *o, const char *path);   /* 0 when absent */
/* Exit code for an enum ft_code. */
int cli_exit_code(int code);
/* Parse a positive entry number ("3" or "#3"); -1 when not one. */
int cli_num(const char *s);
/* Join argv[from..argc) with spaces into a new string. */
char *cli_join(int argc, char **argv, int from);

/* Subcommands. */
int cmd_init(int argc, char **argv, struct ft_ctx *ctx);
int cmd_create(int argc, char **argv, struct ft_ctx *ctx);
int cmd_import(int argc, char **argv, struct ft_ctx *ctx);
int cmd_list(int argc, char **argv, struct ft_ctx *ctx);
int cmd_show(int argc, char **argv, struct ft_ctx *ctx);
int cmd_use(int argc, char **argv, struct ft_ctx *ctx);
int cmd_edit(int argc, char **argv, struct ft_ctx *ctx);
int cmd_delete(int argc, char **argv, struct ft_ctx *ctx);
int cmd_entry(int argc, char **argv, struct ft_ctx *ctx); /* item, rule, step, ... */
int cmd_repro(int argc, char **argv, struct ft_ctx *ctx);
int cmd_run(int argc, char **argv, struct ft_ctx *ctx);
int cmd_runs(int argc, char **argv, struct ft_ctx *ctx);
int cmd_fix(int argc, char **argv, struct ft_ctx *ctx);
int cmd_history(int argc, char **argv, struct ft_ctx *ctx);
int cmd_serve(int argc, char **argv, struct ft_ctx *ctx);
int cmd_check(int argc, char **argv, struct ft_ctx *ctx);
int cmd_help(int argc, char **argv, struct ft_ctx *ctx);
int cmd_version(int argc, char **argv, struct ft_ctx *ctx);

#endif
