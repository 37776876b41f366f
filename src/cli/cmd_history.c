/* `flowtrack history`: the events log, newest last. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/banned.h"

struct history_opts {
    const char *kind;
    long long since;
    int limit;
    int all;
};

static int history_opt(int c, const char *arg, void *u)
{
    struct history_opts *o = u;
    char *end;
    switch (c) {
    case 'k':
        o->kind = arg;
        return 0;
    case 'a':
        o->all = 1;
        return 0;
    case 's':
        o->since = strtoll(arg, &end, 10);
        if (*end || o->since < 0)
            return cli_failf(FT_EXIT_USAGE, "history: --since takes a sequence number, not '%s'",
                             arg);
        return 0;
    case 'n':
        o->limit = (int)strtol(arg, &end, 10);
        if (*end || o->limit < 0)
            return cli_failf(FT_EXIT_USAGE, "history: --limit takes a count, not '%s'", arg);
        return 0;
    }
    return -1;
}

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

int cmd_history(int argc, char **argv, struct ft_ctx *ctx)
{
    static const struct option opts[] = {CLI_COMMON_OPTS,
                                         {"kind", required_argument, NULL, 'k'},
                                         {"since", required_argument, NULL, 's'},
                                         {"limit", required_argument, NULL, 'n'},
                                         {"all", no_argument, NULL, 'a'},
                                         {0}};
    struct history_opts o = {NULL, 0, 0, 0};
    int first, rc = cli_getopt(ctx, argc, argv, "k:s:n:a", opts, history_opt, &o, &first);
    if (rc)
        return rc < 0 ? FT_EXIT_USAGE : 0;
    if (first < argc)
        return cli_usage(ctx, "unexpected argument '%s'", argv[first]);
    /* One call answers a page of events: without --limit, page on with --since until done. */
    long long since = o.since;
    for (;;) {
        struct ft_result res;
        json_t *args =
            json_pack("{s:b, s:s?, s:I}", "all", o.all, "kind", o.kind, "since", (json_int_t)since);
        if (o.limit > 0)
            json_object_set_new(args, "limit", json_integer(o.limit));
        if (o.all)
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
        if (o.limit > 0 || n == 0 || n < FT_HISTORY_PAGE)
            return 0;
    }
}
