/*
 * `flowtrack run`: run a command (or the tracker's reproduction command) under
 * the runner (src/run/run.h), print the diagnosis, record the run and its
 * results-log entry in one event; `flowtrack runs`: list runs, print a run's
 * diagnosis or log again.
 *
 * Exit status of `run` (timeout(1) conventions, documented in docs/runner.md):
 * the command's own status for pass and fail; 124 hang; 125 flowtrack itself
 * failed (usage, store, recording); 126 cannot execute; 127 not found; 128+N
 * crash by signal N, or interrupted by signal N; 122 leak (with --allow-leak,
 * the command's own status).
 */
#include "cli.h"

#include "../core/render.h"
#include "../run/diag.h"
#include "../run/run.h"
#include "../util/ft_buf.h"
#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util/banned.h"

#define EXIT_RUN_ERROR 125
#define ATTEMPT_MAX    300
#define NOTES_MAX      2000

struct run_args {
    struct ft_run_opts o;
    int timeout_given;
    const char *label;
    int no_record;
    int allow_leak;
};

static int run_opt(struct ft_ctx *ctx, struct run_args *a, int c, const char *arg)
{
    int64_t ms;
    switch (c) {
    case 'T':
    case 'g':
    case 'k':
    case 'E':
        if (ft_duration_parse(arg, &ms)) {
            cli_usage(ctx, "'%s' is not a duration (30, 2.5s, 5m, 1h)", arg);
            return -1;
        }
        if (c == 'T') {
            a->o.timeout_ms = ms;
            a->timeout_given = 1;
        } else if (c == 'g' || c == 'k') {
            a->o.grace_ms = ms;
        } else {
            a->o.settle_ms = ms;
        }
        return 0;
    case 's':
    case 'S':
        if ((a->o.signal = ft_signal_parse(arg)) < 0) {
            cli_usage(ctx, "'%s' is not a signal (TERM, INT, KILL, 15...)", arg);
            return -1;
        }
        return 0;
    case 'l':
        a->label = arg;
        return 0;
    case 'n':
        a->no_record = 1;
        return 0;
    case 'i':
        a->o.no_stdin = 1;
        return 0;
    case 'K':
        a->o.stacks = 0;
        return 0;
    case 'L':
        a->allow_leak = 1;
        return 0;
    }
    return -1;
}

/* Quote one argument for a POSIX shell when it needs it. */
static void shell_quote(struct ft_buf *b, const char *s)
{
    if (*s &&
        strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./=:,+@%-") ==
            strlen(s)) {
        ft_buf_adds(b, s);
        return;
    }
    ft_buf_addc(b, '\'');
    for (; *s; s++) {
        if (*s == '\'')
            ft_buf_adds(b, "'\\''");
        else
            ft_buf_addc(b, *s);
    }
    ft_buf_addc(b, '\'');
}

/* Text for a results-log field: one line, valid UTF-8, no " → ", at most max bytes. */
static char *one_line(const char *s, size_t max)
{
    struct ft_buf raw, b;
    ft_buf_init(&raw, 0);
    ft_buf_init(&b, 0);
    ft_utf8_sanitize(s, strlen(s), &raw);
    for (size_t i = 0; i < raw.len; i++) {
        if (strncmp(raw.buf + i, " \xe2\x86\x92 ", 5) == 0) {
            ft_buf_adds(&b, " -> ");
            i += 4;
            continue;
        }
        char c = raw.buf[i];
        if (b.len >= max && ((unsigned char)c & 0xc0) != 0x80) {
            ft_buf_adds(&b, "...");
            break;
        }
        ft_buf_addc(&b, c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
    }
    ft_buf_release(&raw);
    return ft_buf_detach(&b, NULL);
}

static void notify_stderr(void *u, const char *line)
{
    (void)u;
    fprintf(stderr, "%s\n", line);
    fflush(stderr);
}

static void print_stderr(const struct ft_buf *b)
{
    fflush(stdout);
    fwrite(b->buf, 1, b->len, stderr);
}

int cmd_run(int argc, char **argv, struct ft_ctx *ctx)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"timeout", required_argument, NULL, 'T'},
                                         {"grace", required_argument, NULL, 'g'},
                                         {"kill-after", required_argument, NULL, 'g'},
                                         {"settle", required_argument, NULL, 'E'},
                                         {"signal", required_argument, NULL, 'S'},
                                         {"label", required_argument, NULL, 'l'},
                                         {"no-record", no_argument, NULL, 'n'},
                                         {"no-stdin", no_argument, NULL, 'i'},
                                         {"no-stacks", no_argument, NULL, 'K'},
                                         {"allow-leak", no_argument, NULL, 'L'},
                                         {0}};
    struct run_args a;
    memset(&a, 0, sizeof(a));
    ft_run_opts_init(&a.o);

    /* "+": stop at the first operand, so the command's own options are its own. */
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:t:hs:k:l:", opts, NULL)) != -1) {
        if (c == '?' || c == ':') {
            if (c == ':')
                cli_usage(ctx, "option '%s' needs a value", argv[optind - 1]);
            else
                cli_usage(ctx, "unknown option '%s'", argv[optind - 1]);
            return EXIT_RUN_ERROR;
        }
        int h = cli_common(ctx, c, optarg);
        if (h < 0)
            return 0;
        if (h)
            continue;
        if (run_opt(ctx, &a, c, optarg))
            return EXIT_RUN_ERROR;
    }
    int first = optind;

    struct ft_err err;
    struct ft_tracker *t = NULL;
    char **cargv = NULL;
    char *command = NULL;
    char shell[] = "sh", dash_c[] = "-c";
    int rc = EXIT_RUN_ERROR;

    if (first >= argc && a.no_record) {
        cli_usage(ctx, "no command: give one after '--' (the stored one needs the store)");
        return EXIT_RUN_ERROR;
    }
    if (!a.no_record) {
        if (cli_store(ctx, 0) || cli_tracker(ctx))
            return EXIT_RUN_ERROR;
    }
    if (first >= argc) {
        if (ft_store_tracker_load(ctx->st, ctx->tid, &t, &err)) {
            cli_fail(ctx, &err);
            goto out;
        }
        if (!*t->repro_command) {
            cli_failf(EXIT_RUN_ERROR, "no command given and the tracker has no reproduction "
                                      "command: set one with 'flowtrack repro --command CMD'");
            goto out;
        }
        command = ft_xstrdup(t->repro_command);
        cargv = ft_xcalloc(4, sizeof(*cargv));
        cargv[0] = shell;
        cargv[1] = dash_c;
        cargv[2] = command;
        if (!a.timeout_given && t->repro_timeout_ms > 0)
            a.o.timeout_ms = t->repro_timeout_ms;
        a.o.argv = cargv;
    } else {
        struct ft_buf b;
        ft_buf_init(&b, 0);
        for (int i = first; i < argc; i++) {
            if (i > first)
                ft_buf_addc(&b, ' ');
            shell_quote(&b, argv[i]);
        }
        command = ft_buf_detach(&b, NULL);
        a.o.argv = argv + first;
    }
    a.o.notify = notify_stderr;
    /* With --json, stdout carries only the JSON: the command's stdout goes to stderr. */
    if (ctx->json)
        a.o.out_fd = STDERR_FILENO;
    fflush(stdout);
    fflush(stderr);

    struct ft_run_result res;
    if (ft_run_exec(&a.o, &res, &err)) {
        cli_fail(ctx, &err);
        goto out;
    }
    if (res.diag) {
        struct ft_buf h;
        ft_buf_init(&h, 0);
        ft_diag_render(res.diag, &h);
        print_stderr(&h);
        ft_buf_release(&h);
    }

    /* The run as stored: it owns copies of everything, released by ft_run_release. */
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd)))
        cwd[0] = '\0';
    struct ft_run run;
    memset(&run, 0, sizeof(run));
    run.command = ft_xstrdup(command);
    run.cwd = ft_xstrdup(cwd);
    run.label = ft_xstrdup(a.label ? a.label : "");
    run.started_at = res.started_at;
    run.duration_ms = res.duration_ms;
    run.exit_code = res.exit_code;
    run.signal = res.signal;
    run.outcome = res.outcome;
    run.log = ft_xstrdup(res.log);
    run.log_truncated = res.log_truncated;
    run.diagnosis = res.diag ? json_dumps(res.diag, JSON_COMPACT) : ft_xstrdup("");
    int status = ft_run_exit_status(&res, a.allow_leak);
    int recorded = 0;

    if (!a.no_record) {
        struct ft_entry e;
        char date[16], dur[32];
        memset(&e, 0, sizeof(e));
        e.kind = FT_K_RESULT;
        e.title = ft_xstrdup("");
        e.text = one_line(a.label && *a.label ? a.label : command, ATTEMPT_MAX);
        e.state = res.outcome;
        ft_duration_fmt(res.duration_ms, dur, sizeof(dur));
        if (res.diag) {
            e.detail = one_line(json_string_value(json_object_get(res.diag, "summary")), NOTES_MAX);
        } else if (res.exec_errno) {
            e.detail =
                ft_xstrdup(res.exec_errno == ENOENT ? "command not found" : "cannot execute");
        } else {
            struct ft_buf nb;
            ft_buf_init(&nb, 0);
            ft_buf_addf(&nb, "exit %d after %s", res.exit_code, dur);
            e.detail = ft_buf_detach(&nb, NULL);
        }
        ft_time_date(ft_now_ms(), date, sizeof(date));
        e.date = ft_xstrdup(date);
        if (ft_store_run_record(ctx->st, ctx->tid, &run, &e, &err)) {
            cli_fail(ctx, &err);
            status = EXIT_RUN_ERROR;
        } else {
            recorded = 1;
            if (!ctx->json)
                fprintf(stderr, "flowtrack: recorded run %d (%s), result %d\n", run.num,
                        ft_outcome_name(res.outcome), e.num);
        }
        ft_entry_release(&e);
    }
    if (ctx->json) {
        json_t *j = ft_run_to_json(&run, 1);
        json_object_set_new(j, "exit_status", json_integer(status));
        json_object_set_new(j, "recorded", json_boolean(recorded));
        if (!recorded)
            json_object_set_new(j, "num", json_null());
        cli_print_json(j);
    }
    ft_run_release(&run);
    ft_run_result_release(&res);
    rc = status;
out:
    free(cargv);
    free(command);
    ft_tracker_free(t);
    return rc;
}

/* ---- flowtrack runs ------------------------------------------------------------------ */

static int runs_list(struct ft_ctx *ctx)
{
    struct ft_err err;
    struct ft_tracker *t = NULL;
    if (ft_store_tracker_load(ctx->st, ctx->tid, &t, &err))
        return cli_fail(ctx, &err);
    if (ctx->json) {
        json_t *a = json_array();
        for (size_t i = 0; i < t->nruns; i++)
            json_array_append_new(a, ft_run_to_json(&t->runs[i], 0));
        cli_print_json(a);
    } else if (!t->nruns) {
        printf("no runs yet: 'flowtrack run -- CMD' records one\n");
    } else {
        for (size_t i = 0; i < t->nruns; i++) {
            const struct ft_run *r = &t->runs[i];
            char when[32], dur[32], code[16];
            ft_time_iso(r->started_at, when, sizeof(when));
            ft_duration_fmt(r->duration_ms, dur, sizeof(dur));
            if (r->exit_code >= 0)
                snprintf(code, sizeof(code), "%d", r->exit_code);
            else
                snprintf(code, sizeof(code), "sig %d", r->signal);
            printf("%-4d %s  %-11s %-7s %7s  %s%s%s\n", r->num, when, ft_outcome_name(r->outcome),
                   code, dur, r->command, *r->label ? "  # " : "", r->label);
        }
    }
    ft_tracker_free(t);
    return 0;
}

static int runs_one(struct ft_ctx *ctx, const char *verb, const char *ref)
{
    struct ft_err err;
    struct ft_run r;
    int num = cli_num(ref);
    if (num < 0)
        return cli_usage(ctx, "'%s' is not a run number", ref);
    if (ft_store_run_get(ctx->st, ctx->tid, num, &r, &err))
        return cli_fail(ctx, &err);
    if (strcmp(verb, "log") == 0) {
        if (ctx->json)
            cli_print_json(json_pack("{s:i, s:s, s:b}", "num", r.num, "log", r.log, "log_truncated",
                                     r.log_truncated));
        else
            fputs(r.log, stdout);
    } else if (ctx->json) {
        cli_print_json(ft_run_to_json(&r, 1));
    } else {
        char when[32], dur[32];
        ft_time_iso(r.started_at, when, sizeof(when));
        ft_duration_fmt(r.duration_ms, dur, sizeof(dur));
        printf("run %d: %s\ncommand:  %s\ncwd:      %s\nlabel:    %s\nstarted:  %s\n"
               "duration: %s\n",
               r.num, ft_outcome_name(r.outcome), r.command, r.cwd, r.label, when, dur);
        if (r.exit_code >= 0)
            printf("exit:     %d\n", r.exit_code);
        if (r.signal)
            printf("signal:   %d\n", r.signal);
        printf("log:      %zu bytes%s ('flowtrack runs log %d')\n", strlen(r.log),
               r.log_truncated ? ", older output dropped" : "", r.num);
        json_t *d = *r.diagnosis ? json_loads(r.diagnosis, 0, NULL) : NULL;
        if (d) {
            struct ft_buf b;
            ft_buf_init(&b, 0);
            ft_diag_render(d, &b);
            printf("\n%s", b.buf);
            ft_buf_release(&b);
            json_decref(d);
        }
    }
    ft_run_release(&r);
    return 0;
}

int cmd_runs(int argc, char **argv, struct ft_ctx *ctx)
{
    int first;
    int rc = cli_getopt(ctx, argc, argv, NULL, (const struct option[]){CLI_COMMON_OPTS, {0}}, NULL,
                        NULL, &first);
    if (rc)
        return rc < 0 ? FT_EXIT_USAGE : 0;
    const char *verb = first < argc ? argv[first] : "list";
    if ((rc = cli_store(ctx, 0)) || (rc = cli_tracker(ctx)))
        return rc;
    if (strcmp(verb, "list") == 0) {
        if (first + 1 < argc)
            return cli_usage(ctx, "unexpected argument '%s'", argv[first + 1]);
        return runs_list(ctx);
    }
    if (strcmp(verb, "show") == 0 || strcmp(verb, "log") == 0) {
        if (first + 2 != argc)
            return cli_usage(ctx, "'runs %s' takes one run number", verb);
        return runs_one(ctx, verb, argv[first + 1]);
    }
    return cli_usage(ctx, "unknown verb '%s' (list, show N, log N)", verb);
}
