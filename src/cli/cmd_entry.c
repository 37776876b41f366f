/*
 * The list-like parts of a tracker share one command shape:
 *   flowtrack KIND add TEXT | list | show N | edit N [TEXT] | move N POS | rm N
 * plus each kind's own verbs (item start/done/drop/reopen, hyp verdict,
 * the section note of symptoms, hypotheses and results).
 */
#include "cli.h"

#include "../core/patch.h"
#include "../core/render.h"
#include "../util/ft_buf.h"
#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/banned.h"

struct entry_opts {
    json_t *fields; /* options given, as entry fields */
};

static int entry_opt(int c, const char *arg, void *u)
{
    static const char *const names[] = {
        ['s'] = "state",    ['T'] = "title",   ['x'] = "text",  ['v'] = "verdict",
        ['e'] = "evidence", ['o'] = "outcome", ['n'] = "notes", ['d'] = "date",
    };
    struct entry_opts *o = u;
    if (c < 0 || (size_t)c >= sizeof(names) / sizeof(names[0]) || !names[c])
        return -1;
    json_object_set_new(o->fields, names[c], json_string(arg));
    return 0;
}

static const struct option entry_longopts[] = {
    CLI_COMMON_OPTS,
    {"state", required_argument, NULL, 's'},
    {"title", required_argument, NULL, 'T'},
    {"text", required_argument, NULL, 'x'},
    {"verdict", required_argument, NULL, 'v'},
    {"evidence", required_argument, NULL, 'e'},
    {"outcome", required_argument, NULL, 'o'},
    {"notes", required_argument, NULL, 'n'},
    {"date", required_argument, NULL, 'd'},
    {0},
};

/* Which tracker field holds the prose note of a kind's section, or NULL. */
static const char *note_field(enum ft_kind k)
{
    switch (k) {
    case FT_K_SYMPTOM:
        return "symptoms_note";
    case FT_K_HYP:
        return "hyps_note";
    case FT_K_RESULT:
        return "results_note";
    default:
        return NULL;
    }
}

static void print_entry_line(const struct ft_entry *e)
{
    switch (e->kind) {
    case FT_K_ITEM:
        printf("[%d] %-7s %s\n", e->num, ft_state_name(e->state), e->text);
        break;
    case FT_K_STEP:
        printf("[%d] %s%s%s\n", e->num, e->title, *e->text ? ": " : "", e->text);
        break;
    case FT_K_HYP:
        printf("[%d] %-9s %s%s%s\n", e->num, ft_verdict_name(e->state), e->text,
               *e->detail ? " (evidence: " : "", *e->detail ? e->detail : "");
        if (*e->detail)
            fputs(")\n", stdout);
        break;
    case FT_K_RESULT:
        printf("[%d] %s: %s" FT_ARROW "%s%s%s\n", e->num, *e->date ? e->date : FT_NO_DATE, e->text,
               e->state ? ft_outcome_name(e->state) : "", e->state && *e->detail ? " + " : "",
               e->detail);
        break;
    default:
        printf("[%d] %s\n", e->num, e->text);
        break;
    }
}

/* Print the outcome of a write to one entry. */
static void report(struct ft_ctx *ctx, const struct ft_entry *e, const char *verb)
{
    if (ctx->json) {
        json_t *o =
            json_pack("{s:b, s:s, s:s, s:i, s:I}", "ok", 1, "action", verb, "kind",
                      ft_kind_name(e->kind), "num", e->num, "tracker", (json_int_t)ctx->tid);
        json_object_set_new(o, "entry", ft_entry_to_json(e));
        cli_print_json(o);
        return;
    }
    if (e->kind == FT_K_ITEM && strcmp(verb, "updated") == 0)
        printf("item %d: %s\n", e->num, ft_state_name(e->state));
    else if (e->kind == FT_K_HYP && strcmp(verb, "updated") == 0)
        printf("hyp %d: %s\n", e->num, ft_verdict_name(e->state));
    else
        printf("%s %s %d\n", verb, ft_kind_name(e->kind), e->num);
}

static int need_num(struct ft_ctx *ctx, int argc, char **argv, int i, const char *verb)
{
    if (i >= argc) {
        cli_usage(ctx, "%s: missing the %s's number", verb, ctx->cmd);
        return -1;
    }
    int n = cli_num(argv[i]);
    if (n < 0)
        cli_usage(ctx, "%s: '%s' is not a %s number", verb, argv[i], ctx->cmd);
    return n;
}

static int do_add(struct ft_ctx *ctx, enum ft_kind kind, int argc, char **argv, int i,
                  json_t *fields)
{
    struct ft_entry e;
    struct ft_err err;
    char *text = i < argc ? cli_join(argc, argv, i) : NULL;
    int rc;

    ft_entry_init(&e, kind, ft_now_ms()); /* a --date option replaces today's date */
    if (text) {
        const char *sep = kind == FT_K_STEP ? strstr(text, ": ") : NULL;
        if (kind == FT_K_STEP && sep) {
            char *title = ft_xstrndup(text, (size_t)(sep - text));
            json_object_set_new(fields, "title", json_string(title));
            json_object_set_new(fields, "text", json_string(sep + 2));
            free(title);
        } else if (kind == FT_K_STEP && !json_object_get(fields, "title")) {
            json_object_set_new(fields, "title", json_string(text));
        } else {
            json_object_set_new(fields, "text", json_string(text));
        }
        free(text);
    }
    if ((rc = ft_entry_patch(&e, fields, &err)) || (rc = cli_store(ctx, 0)) ||
        (rc = cli_tracker(ctx)))
        goto out;
    if ((rc = ft_store_entry_add(ctx->st, ctx->tid, &e, &err)))
        goto out;
    report(ctx, &e, "added");
out:
    if (rc < 0) /* an ft_code: print it */
        rc = cli_fail(ctx, &err);
    ft_entry_release(&e);
    return rc;
}

static int do_update(struct ft_ctx *ctx, enum ft_kind kind, int num, json_t *fields)
{
    struct ft_entry e;
    struct ft_err err;
    int rc = ft_store_entry_update(ctx->st, ctx->tid, kind, num, fields, &e, &err);
    if (rc)
        return cli_fail(ctx, &err);
    report(ctx, &e, "updated");
    ft_entry_release(&e);
    return 0;
}

static int do_list(struct ft_ctx *ctx, enum ft_kind kind)
{
    struct ft_tracker *t;
    struct ft_err err;
    if (ft_store_tracker_load(ctx->st, ctx->tid, &t, &err))
        return cli_fail(ctx, &err);
    const struct ft_entry_list *l = &t->lists[kind];
    if (ctx->json) {
        json_t *a = json_array();
        for (size_t i = 0; i < l->n; i++)
            json_array_append_new(a, ft_entry_to_json(&l->v[i]));
        cli_print_json(a);
    } else {
        for (size_t i = 0; i < l->n; i++)
            print_entry_line(&l->v[i]);
    }
    ft_tracker_free(t);
    return 0;
}

/* item start|done|drop|reopen|pending N...: the verb is the new state. */
static int item_state_verb(const char *verb)
{
    if (strcmp(verb, "start") == 0 || strcmp(verb, "doing") == 0)
        return FT_ST_DOING;
    if (strcmp(verb, "done") == 0)
        return FT_ST_DONE;
    if (strcmp(verb, "drop") == 0)
        return FT_ST_DROPPED;
    if (strcmp(verb, "reopen") == 0 || strcmp(verb, "pending") == 0)
        return FT_ST_PENDING;
    return -1;
}

/* hyp verdict N V | rule-out N | confirm N | reopen N */
static int hyp_verb(const char *verb)
{
    if (strcmp(verb, "rule-out") == 0)
        return FT_V_RULED_OUT;
    if (strcmp(verb, "confirm") == 0)
        return FT_V_CONFIRMED;
    if (strcmp(verb, "reopen") == 0)
        return FT_V_OPEN;
    return -1;
}

int cmd_entry(int argc, char **argv, struct ft_ctx *ctx)
{
    enum ft_kind kind = (enum ft_kind)ft_kind_parse(ctx->cmd);
    struct entry_opts o = {json_object()};
    struct ft_err err;
    int first,
        rc = cli_getopt(ctx, argc, argv, "s:e:o:n:d:", entry_longopts, entry_opt, &o, &first);
    if (rc) {
        rc = rc < 0 ? FT_EXIT_USAGE : 0;
        goto out;
    }
    const char *verb = first < argc ? argv[first] : "list";
    int i = first + 1, num;

    if (strcmp(verb, "add") == 0) {
        if (i >= argc && !json_object_get(o.fields, "text") &&
            !json_object_get(o.fields, "title")) {
            rc = cli_usage(ctx, "add: missing the text");
            goto out;
        }
        rc = do_add(ctx, kind, argc, argv, i, o.fields);
        goto out;
    }
    if (strcmp(verb, "note") == 0 && note_field(kind)) {
        char *text = cli_join(argc, argv, i);
        json_t *patch = json_pack("{s:s}", note_field(kind), text);
        free(text);
        if (!(rc = cli_store(ctx, 0)) && !(rc = cli_tracker(ctx))) {
            if ((rc = ft_store_tracker_update(ctx->st, ctx->tid, patch, &err)))
                rc = cli_fail(ctx, &err);
            else if (ctx->json)
                cli_print_json(json_pack("{s:b, s:O}", "ok", 1, "changed", patch));
            else
                printf("updated the %s note\n", ctx->cmd);
        }
        json_decref(patch);
        goto out;
    }
    if ((rc = cli_store(ctx, 0)) || (rc = cli_tracker(ctx)))
        goto out;
    if (strcmp(verb, "list") == 0 || strcmp(verb, "ls") == 0) {
        rc = i < argc ? cli_usage(ctx, "list: unexpected argument '%s'", argv[i])
                      : do_list(ctx, kind);
        goto out;
    }
    if (strcmp(verb, "show") == 0) {
        struct ft_entry e;
        if ((num = need_num(ctx, argc, argv, i, verb)) < 0) {
            rc = FT_EXIT_USAGE;
        } else if ((rc = ft_store_entry_get(ctx->st, ctx->tid, kind, num, &e, &err))) {
            rc = cli_fail(ctx, &err);
        } else {
            if (ctx->json)
                cli_print_json(ft_entry_to_json(&e));
            else
                print_entry_line(&e);
            ft_entry_release(&e);
        }
        goto out;
    }
    if (strcmp(verb, "edit") == 0) {
        if ((num = need_num(ctx, argc, argv, i, verb)) < 0) {
            rc = FT_EXIT_USAGE;
            goto out;
        }
        if (i + 1 < argc) {
            char *text = cli_join(argc, argv, i + 1);
            json_object_set_new(o.fields, kind == FT_K_RESULT ? "attempt" : "text",
                                json_string(text));
            free(text);
        }
        if (json_object_size(o.fields) == 0) {
            rc = cli_usage(ctx, "edit: nothing to change: give the new text or an option");
            goto out;
        }
        rc = do_update(ctx, kind, num, o.fields);
        goto out;
    }
    if (strcmp(verb, "move") == 0 || strcmp(verb, "mv") == 0) {
        int pos;
        if ((num = need_num(ctx, argc, argv, i, verb)) < 0) {
            rc = FT_EXIT_USAGE;
        } else if (i + 1 >= argc || (pos = cli_num(argv[i + 1])) < 0 || i + 2 < argc) {
            rc = cli_usage(ctx, "move: give the %s's number and its new position (1 = first)",
                           ctx->cmd);
        } else if ((rc = ft_store_entry_move(ctx->st, ctx->tid, kind, num, pos, &err))) {
            rc = cli_fail(ctx, &err);
        } else if (ctx->json) {
            cli_print_json(json_pack("{s:b, s:s, s:s, s:i, s:i}", "ok", 1, "action", "moved",
                                     "kind", ctx->cmd, "num", num, "position", pos));
        } else {
            printf("moved %s %d to position %d\n", ctx->cmd, num, pos);
        }
        goto out;
    }
    if (strcmp(verb, "rm") == 0 || strcmp(verb, "remove") == 0) {
        if ((num = need_num(ctx, argc, argv, i, verb)) < 0) {
            rc = FT_EXIT_USAGE;
        } else if (i + 1 < argc) {
            rc = cli_usage(ctx, "rm: unexpected argument '%s'", argv[i + 1]);
        } else if ((rc = ft_store_entry_remove(ctx->st, ctx->tid, kind, num, &err))) {
            rc = cli_fail(ctx, &err);
        } else if (ctx->json) {
            cli_print_json(json_pack("{s:b, s:s, s:s, s:i}", "ok", 1, "action", "removed", "kind",
                                     ctx->cmd, "num", num));
        } else {
            printf("removed %s %d\n", ctx->cmd, num);
        }
        goto out;
    }
    int st;
    if (kind == FT_K_ITEM && (st = item_state_verb(verb)) >= 0) {
        if (i >= argc) {
            rc = cli_usage(ctx, "%s: missing the item's number", verb);
            goto out;
        }
        json_object_set_new(o.fields, "state", json_string(ft_state_name(st)));
        for (; i < argc && !rc; i++) {
            if ((num = need_num(ctx, argc, argv, i, verb)) < 0)
                rc = FT_EXIT_USAGE;
            else
                rc = do_update(ctx, kind, num, o.fields);
        }
        goto out;
    }
    if (kind == FT_K_HYP && (strcmp(verb, "verdict") == 0 || hyp_verb(verb) >= 0)) {
        if ((num = need_num(ctx, argc, argv, i, verb)) < 0) {
            rc = FT_EXIT_USAGE;
            goto out;
        }
        const char *v = NULL;
        if (strcmp(verb, "verdict") == 0) {
            if (i + 2 != argc) {
                rc = cli_usage(ctx, "verdict: give the number and open, ruled-out or confirmed");
                goto out;
            }
            v = argv[i + 1];
        } else {
            if (i + 1 < argc) {
                rc = cli_usage(ctx, "%s: unexpected argument '%s'", verb, argv[i + 1]);
                goto out;
            }
            v = ft_verdict_name(hyp_verb(verb));
        }
        json_object_set_new(o.fields, "verdict", json_string(v));
        rc = do_update(ctx, kind, num, o.fields);
        goto out;
    }
    rc = cli_usage(ctx, "unknown action '%s'", verb);
out:
    json_decref(o.fields);
    return rc;
}
