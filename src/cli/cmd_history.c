/* `flowtrack history`: the events log, newest last. */
#include "cli.h"

#include "../core/render.h"
#include "../util/ft_time.h"

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

static int print_event(const struct ft_event *ev, void *u)
{
    struct ft_ctx *ctx = u;
    if (ctx->json) {
        json_t *p = json_loads(ev->payload, 0, NULL);
        json_t *o =
            json_pack("{s:I, s:I, s:s, s:o, s:s, s:s, s:o}", "seq", (json_int_t)ev->seq, "tracker",
                      (json_int_t)ev->tracker_id, "slug", ev->slug, "at", ft_json_time(ev->at),
                      "actor", ev->actor, "kind", ev->kind, "payload", p ? p : json_null());
        char *s = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (s) {
            puts(s);
            free(s);
        }
        return 0;
    }
    char when[40];
    ft_time_iso(ev->at, when, sizeof(when));
    json_t *p = json_loads(ev->payload, 0, NULL);
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
    printf("%6lld  %s  %-12s %-16s %s", (long long)ev->seq, when, ev->actor, ev->kind, ev->slug);
    if (json_is_integer(num))
        printf(" #%lld", (long long)json_integer_value(num));
    if (json_is_string(state) && strstr(ev->kind, "update"))
        printf(" [%s]", json_string_value(state));
    if (what) {
        size_t n = strcspn(what, "\n");
        printf("  %.*s%s", (int)(n > 70 ? 70 : n), what, n > 70 || what[n] ? "..." : "");
    }
    if (strcmp(ev->kind, "tracker.update") == 0) {
        const char *key;
        json_t *v;
        fputs(" ", stdout);
        json_object_foreach(json_object_get(p, "changed"), key, v)
        {
            printf(" %s", key);
        }
    }
    putchar('\n');
    json_decref(p);
    return 0;
}

static int note_oldest(const struct ft_event *ev, void *u)
{
    *(int64_t *)u = ev->seq;
    return 0;
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
    struct ft_err err;
    int first, rc = cli_getopt(ctx, argc, argv, "k:s:n:a", opts, history_opt, &o, &first);
    if (rc)
        return rc < 0 ? FT_EXIT_USAGE : 0;
    if (first < argc)
        return cli_usage(ctx, "unexpected argument '%s'", argv[first]);
    if ((rc = cli_store(ctx, 0)))
        return rc;
    if (!o.all && (rc = cli_tracker(ctx)))
        return rc;
    /* --limit shows the newest N, still printed oldest first. */
    int64_t after = o.since, oldest = 0;
    if (o.limit > 0) {
        rc = ft_store_events(ctx->st, o.all ? 0 : ctx->tid, o.kind, after, o.limit, 1, note_oldest,
                             &oldest, &err);
        if (rc)
            return cli_fail(ctx, &err);
        if (oldest)
            after = oldest - 1;
    }
    rc =
        ft_store_events(ctx->st, o.all ? 0 : ctx->tid, o.kind, after, 0, 0, print_event, ctx, &err);
    if (rc)
        return cli_fail(ctx, &err);
    return 0;
}
