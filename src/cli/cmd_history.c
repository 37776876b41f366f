/* `flowtrack history`: the events log, newest last. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/banned.h"

/* One event: a compact JSON line with --json, else a line for people. */
static void print_event(struct ft_ctx *ctx, json_t *ev)
{
    if (ctx->json) {
        char *s = json_dumps(ev, JSON_COMPACT);
        if (s)
            puts(s);
        free(s);
        return;
    }
    json_t *p = json_object_get(ev, "payload");
    const char *kind = cli_jstr(ev, "kind");
    const char *what = json_string_value(json_object_get(p, "text"));
    if (!what)
        what = json_string_value(json_object_get(p, "attempt"));
    if (!what)
        what = json_string_value(json_object_get(p, "title"));
    json_t *num = json_object_get(p, "num");
    json_t *state = json_object_get(p, "state");
    if (!state)
        state = json_object_get(p, "verdict");
    if (!state)
        state = json_object_get(p, "outcome");
    printf("%6lld  %s  %-12s %-16s %s", cli_jint(ev, "seq"), cli_jstr(ev, "at"),
           cli_jstr(ev, "actor"), kind, cli_jstr(ev, "slug"));
    if (json_is_integer(num))
        printf(" #%lld", (long long)json_integer_value(num));
    if (json_is_string(state) && strstr(kind, "update"))
        printf(" [%s]", json_string_value(state));
    if (what) {
        size_t n = strcspn(what, "\n");
        printf("  %.*s%s", (int)(n > 70 ? 70 : n), what, n > 70 || what[n] ? "..." : "");
    }
    if (strcmp(kind, "tracker.update") == 0) {
        const char *key;
        json_t *v;
        fputs(" ", stdout);
        json_object_foreach(json_object_get(p, "changed"), key, v)
        {
            printf(" %s", key);
        }
    }
    putchar('\n');
}

int cmd_history(int argc, char **argv, json_t *opt, struct ft_ctx *ctx)
{
    int rc = cli_operands(ctx, argc, argv, 0);
    int all = json_is_true(json_object_get(opt, "all"));
    int64_t limit = json_integer_value(json_object_get(opt, "limit"));
    int64_t since = json_integer_value(json_object_get(opt, "since"));
    if (rc)
        return rc;
    /* One call answers a page of events: without --limit, page on with --since until done. */
    for (;;) {
        struct ft_result res;
        json_t *args =
            json_pack("{s:b, s:O?, s:I, s:I}", "all", all, "kind", json_object_get(opt, "kind"),
                      "since", (json_int_t)since, "limit", (json_int_t)limit);
        if (all)
            json_object_set_new(args, "tracker", json_null()); /* not the default tracker's */
        if ((rc = cli_call(ctx, FT_OP_HISTORY, args, &res)))
            return rc;
        size_t i, n = json_array_size(res.json);
        json_t *ev;
        json_array_foreach(res.json, i, ev)
        {
            print_event(ctx, ev);
            since = cli_jint(ev, "seq");
        }
        ft_result_release(&res);
        if (limit > 0 || n == 0 || n < FT_HISTORY_PAGE)
            return 0;
    }
}
