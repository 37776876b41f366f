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

/* The runner's options from the command's. */
static void run_args_from(json_t *opt, struct run_args *a)
{
    json_t *t = json_object_get(opt, "timeout"), *g = json_object_get(opt, "grace");
    json_t *st = json_object_get(opt, "settle"), *sig = json_object_get(opt, "signal");
    memset(a, 0, sizeof(*a));
    ft_run_opts_init(&a->o);
    a->timeout_given = t != NULL;
    a->o.timeout_ms = t ? json_integer_value(t) : a->o.timeout_ms;
    a->o.grace_ms = g ? json_integer_value(g) : a->o.grace_ms;
    a->o.settle_ms = st ? json_integer_value(st) : a->o.settle_ms;
    a->o.signal = sig ? (int)json_integer_value(sig) : a->o.signal;
    a->o.no_stdin = json_is_true(json_object_get(opt, "no_stdin"));
    a->o.stacks = !json_is_true(json_object_get(opt, "no_stacks"));
    json_t *sb = json_object_get(opt, "stack_budget");
    a->o.stacks_budget_ms = sb ? json_integer_value(sb) : a->o.stacks_budget_ms;
    a->label = json_string_value(json_object_get(opt, "label"));
    a->no_record = json_is_true(json_object_get(opt, "no_record"));
    a->allow_leak = json_is_true(json_object_get(opt, "allow_leak"));
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

int cmd_run(int argc, char **argv, json_t *opt, struct ft_ctx *ctx)
{
    struct run_args a;
    run_args_from(opt, &a);

    struct ft_err err;
    struct ft_result hdr;
    char **cargv = NULL;
    char *command = NULL;
    char shell[] = "sh", dash_c[] = "-c";
    int rc = EXIT_RUN_ERROR;

    ft_result_init(&hdr);
    if (argc == 0 && a.no_record) {
        cli_usage(ctx, "no command: give one after '--' (the stored one needs the store)");
        return EXIT_RUN_ERROR;
    }
    /* The tracker the run is recorded in is resolved before anything runs; its header holds
     * the stored reproduction command and timeout. */
    if (!a.no_record && cli_call(ctx, FT_OP_TRACKER_HEADER, json_object(), &hdr))
        return EXIT_RUN_ERROR;
    const char *slug = cli_jstr(hdr.json, "slug");
    if (argc == 0) {
        const char *stored = cli_jstr(hdr.json, "reproduction.command");
        if (!*stored) {
            cli_failf(EXIT_RUN_ERROR, "no command given and the tracker has no reproduction "
                                      "command: set one with 'flowtrack repro --command CMD'");
            goto out;
        }
        command = ft_xstrdup(stored);
        cargv = ft_xcalloc(4, sizeof(*cargv));
        cargv[0] = shell;
        cargv[1] = dash_c;
        cargv[2] = command;
        if (!a.timeout_given && cli_jint(hdr.json, "reproduction.timeout_ms") > 0)
            a.o.timeout_ms = cli_jint(hdr.json, "reproduction.timeout_ms");
        a.o.argv = cargv;
    } else {
        struct ft_buf b;
        ft_buf_init(&b, 0);
        for (int i = 0; i < argc; i++) {
            if (i > 0)
                ft_buf_addc(&b, ' ');
            shell_quote(&b, argv[i]);
        }
        command = ft_buf_detach(&b, NULL);
        a.o.argv = argv;
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

    /* The run as the runner saw it, and its results-log entry. */
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
    json_t *out = ft_run_to_json(&run, 1);
    int status = ft_run_exit_status(&res, a.allow_leak);
    int recorded = 0;

    if (!a.no_record) {
        char date[16], dur[32];
        char *attempt = one_line(a.label && *a.label ? a.label : command, ATTEMPT_MAX);
        char *notes;
        ft_duration_fmt(res.duration_ms, dur, sizeof(dur));
        if (res.diag) {
            notes = one_line(json_string_value(json_object_get(res.diag, "summary")), NOTES_MAX);
        } else if (res.exec_errno) {
            notes = ft_xstrdup(res.exec_errno == ENOENT ? "command not found" : "cannot execute");
        } else {
            struct ft_buf nb;
            ft_buf_init(&nb, 0);
            ft_buf_addf(&nb, "exit %d after %s", res.exit_code, dur);
            notes = ft_buf_detach(&nb, NULL);
        }
        ft_time_date(ft_now_ms(), date, sizeof(date));
        /* The results entry, and the run that produced it as the runner saw it. */
        json_t *run_fields = json_deep_copy(out);
        json_object_del(run_fields, "num");
        json_t *fields = json_pack("{s:s, s:s, s:s, s:s, s:o}", "attempt", attempt, "outcome",
                                   ft_outcome_name(res.outcome), "notes", notes, "date", date,
                                   "run", run_fields);
        free(attempt);
        free(notes);
        struct ft_result rec;
        if (cli_call(ctx, FT_OP_RUN_RECORD,
                     json_pack("{s:s, s:o}", "tracker", slug, "fields", fields), &rec)) {
            status = EXIT_RUN_ERROR;
        } else {
            recorded = 1;
            json_object_set(out, "num", json_object_get(json_object_get(rec.json, "run"), "num"));
            if (!ctx->json)
                fprintf(stderr, "flowtrack: recorded run %lld (%s), result %lld\n",
                        cli_jint(rec.json, "run.num"), ft_outcome_name(res.outcome),
                        cli_jint(rec.json, "num"));
            ft_result_release(&rec);
        }
    }
    if (ctx->json) {
        json_object_set_new(out, "exit_status", json_integer(status));
        json_object_set_new(out, "recorded", json_boolean(recorded));
        if (!recorded)
            json_object_set_new(out, "num", json_null());
        cli_print_json(json_incref(out));
    }
    json_decref(out);
    ft_run_release(&run);
    ft_run_result_release(&res);
    rc = status;
out:
    free(cargv);
    free(command);
    ft_result_release(&hdr);
    return rc;
}

/* ---- flowtrack runs ------------------------------------------------------------------ */

static int runs_list(struct ft_ctx *ctx)
{
    struct ft_result res;
    int rc = cli_call(ctx, FT_OP_RUN_LIST, json_object(), &res);
    if (rc)
        return rc;
    size_t i;
    json_t *r;
    if (!cli_json_out(ctx, &res) && !json_array_size(res.json))
        printf("no runs yet: 'flowtrack run -- CMD' records one\n");
    json_array_foreach(res.json, i, r) /* none left after --json */
    {
        char dur[32], code[16];
        const char *label = cli_jstr(r, "label");
        ft_duration_fmt(cli_jint(r, "duration_ms"), dur, sizeof(dur));
        if (json_is_integer(json_object_get(r, "exit_code")))
            snprintf(code, sizeof(code), "%lld", cli_jint(r, "exit_code"));
        else
            snprintf(code, sizeof(code), "sig %lld", cli_jint(r, "signal"));
        printf("%-4lld %s  %-11s %-7s %7s  %s%s%s\n", cli_jint(r, "num"), cli_jstr(r, "started_at"),
               cli_jstr(r, "outcome"), code, dur, cli_jstr(r, "command"), *label ? "  # " : "",
               label);
    }
    ft_result_release(&res);
    return 0;
}

static int runs_one(struct ft_ctx *ctx, const char *verb, const char *ref)
{
    struct ft_result res;
    int num = cli_num(ref);
    if (num < 0)
        return cli_usage(ctx, "'%s' is not a run number", ref);
    int rc = cli_call(ctx, FT_OP_RUN_SHOW, json_pack("{s:i}", "num", num), &res);
    if (rc)
        return rc;
    json_t *r = res.json;
    const char *log = cli_jstr(r, "log");
    if (strcmp(verb, "log") == 0) {
        if (ctx->json)
            cli_print_json(json_pack("{s:O, s:O, s:O}", "num", json_object_get(r, "num"), "log",
                                     json_object_get(r, "log"), "log_truncated",
                                     json_object_get(r, "log_truncated")));
        else
            fputs(log, stdout);
    } else if (ctx->json) {
        cli_print_json(json_incref(r));
    } else {
        char dur[32];
        ft_duration_fmt(cli_jint(r, "duration_ms"), dur, sizeof(dur));
        printf("run %lld: %s\ncommand:  %s\ncwd:      %s\nlabel:    %s\nstarted:  %s\n"
               "duration: %s\n",
               cli_jint(r, "num"), cli_jstr(r, "outcome"), cli_jstr(r, "command"),
               cli_jstr(r, "cwd"), cli_jstr(r, "label"), cli_jstr(r, "started_at"), dur);
        if (json_is_integer(json_object_get(r, "exit_code")))
            printf("exit:     %lld\n", cli_jint(r, "exit_code"));
        if (cli_jint(r, "signal"))
            printf("signal:   %lld\n", cli_jint(r, "signal"));
        printf("log:      %zu bytes%s ('flowtrack runs log %lld')\n", strlen(log),
               json_is_true(json_object_get(r, "log_truncated")) ? ", older output dropped" : "",
               cli_jint(r, "num"));
        json_t *d = json_object_get(r, "diagnosis");
        if (json_is_object(d)) {
            struct ft_buf b;
            ft_buf_init(&b, 0);
            ft_diag_render(d, &b);
            printf("\n%s", b.buf);
            ft_buf_release(&b);
        }
    }
    ft_result_release(&res);
    return 0;
}

int cmd_runs(int argc, char **argv, json_t *opt, struct ft_ctx *ctx)
{
    const char *verb = argc > 0 ? argv[0] : "list";
    (void)opt;
    if (strcmp(verb, "list") == 0)
        return cli_operands(ctx, argc, argv, 1) ? FT_EXIT_USAGE : runs_list(ctx);
    if (strcmp(verb, "show") == 0 || strcmp(verb, "log") == 0) {
        if (argc != 2)
            return cli_usage(ctx, "'runs %s' takes one run number", verb);
        return runs_one(ctx, verb, argv[1]);
    }
    return cli_usage(ctx, "unknown verb '%s' (list, show N, log N)", verb);
}
