/*
 * cmd_diagnose.c: `flowtrack diagnose PID... | --session SID | --match PATTERN`: the runner's
 * diagnosis of processes flowtrack did not start (src/run/diagnose.c), printed, or as JSON;
 * recorded as a symptom or a result of the tracker on request; the processes ended only with
 * --end.
 */
#include "cli.h"

#include "../ops/ops.h"
#include "../run/diag.h"
#include "../run/diagnose.h"
#include "../run/run.h"
#include "../util/ft_buf.h"
#include "../util/ft_err.h"
#include "../util/ft_text.h"
#include "../util/ft_xalloc.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/banned.h"

#define RECORD_MAX 600 /* the summary as recorded: one line, at most this many bytes */

/* The diagnosis's summary as one line of at most RECORD_MAX bytes. */
static char *summary_line(const json_t *diag)
{
    const char *s = json_string_value(json_object_get(diag, "summary"));
    struct ft_buf raw, b;
    ft_buf_init(&raw, 0);
    ft_buf_init(&b, 0);
    ft_utf8_sanitize(s ? s : "", s ? strlen(s) : 0, &raw);
    for (size_t i = 0; i < raw.len; i++) {
        char c = raw.buf[i];
        if (b.len >= RECORD_MAX && ((unsigned char)c & 0xc0) != 0x80) {
            ft_buf_adds(&b, "...");
            break;
        }
        ft_buf_addc(&b, c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
    }
    ft_buf_release(&raw);
    return ft_buf_detach(&b, NULL);
}

/* Record the diagnosis in the tracker: a symptom, or a results entry (outcome hang). */
static int record(struct ft_ctx *ctx, const json_t *diag, int as_result, const char *what)
{
    struct ft_result res;
    char *sum = summary_line(diag);
    json_t *args;
    if (as_result)
        args = json_pack("{s:s, s:{s:s, s:s, s:s}}", "kind", "result", "fields", "attempt", what,
                         "outcome", "hang", "notes", sum);
    else
        args = json_pack("{s:s, s:{s:s+}}", "kind", "symptom", "fields", "text", "diagnose: ", sum);
    free(sum);
    int rc = cli_call(ctx, FT_OP_ENTRY_ADD, args, &res);
    if (!rc && !ctx->json)
        fprintf(stderr, "flowtrack: recorded as %s %lld\n", as_result ? "result" : "symptom",
                cli_jint(res.json, "num"));
    ft_result_release(&res);
    return rc;
}

int cmd_diagnose(int argc, char **argv, json_t *opt, struct ft_ctx *ctx)
{
    struct ft_diagnose_opts o;
    struct ft_err err;
    json_t *g = json_object_get(opt, "grace"), *sig = json_object_get(opt, "signal");
    int as_symptom = json_is_true(json_object_get(opt, "symptom"));
    int as_result = json_is_true(json_object_get(opt, "result"));
    memset(&o, 0, sizeof(o));
    o.sid = (pid_t)json_integer_value(json_object_get(opt, "session"));
    o.match = json_string_value(json_object_get(opt, "match"));
    o.stacks = !json_is_true(json_object_get(opt, "no_stacks"));
    json_t *sb = json_object_get(opt, "stack_budget");
    o.stacks_budget_ms = sb ? json_integer_value(sb) : FT_RUN_STACKS_BUDGET_MS;
    o.end = json_is_true(json_object_get(opt, "end"));
    o.signal = sig ? (int)json_integer_value(sig) : SIGTERM;
    o.grace_ms = g ? json_integer_value(g) : 2000;
    if (as_symptom && as_result)
        return cli_usage(ctx, "--symptom and --result exclude each other");
    pid_t *pids = ft_xcalloc((size_t)argc + 1, sizeof(*pids));
    for (int i = 0; i < argc; i++) {
        int v = cli_num(argv[i]);
        if (v <= 0) {
            free(pids);
            return cli_usage(ctx, "'%s' is not a process id", argv[i]);
        }
        pids[i] = (pid_t)v;
    }
    o.pids = pids;
    o.npids = (size_t)argc;

    json_t *diag = NULL;
    int rc = 0;
    if (ft_diagnose(&o, &diag, &err)) {
        rc = err.code == FT_EINVAL ? cli_usage(ctx, "%s", err.msg) : cli_fail(ctx, &err);
        goto out;
    }
    if (ctx->json) {
        cli_print_json(json_incref(diag));
    } else {
        struct ft_buf b;
        ft_buf_init(&b, 0);
        ft_diag_render(diag, &b);
        fwrite(b.buf, 1, b.len, stdout);
        fflush(stdout);
        ft_buf_release(&b);
    }
    if (as_symptom || as_result) {
        char *what = cli_join(argc, argv, 0);
        struct ft_buf w;
        ft_buf_init(&w, 0);
        ft_buf_addf(&w, "flowtrack diagnose %s%s%s%s", what, o.match ? " --match " : "",
                    o.match ? o.match : "", o.sid ? " --session" : "");
        if (o.sid)
            ft_buf_addf(&w, " %d", (int)o.sid);
        rc = record(ctx, diag, as_result, w.buf);
        ft_buf_release(&w);
        free(what);
    }
out:
    json_decref(diag);
    free(pids);
    return rc;
}
