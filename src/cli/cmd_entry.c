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

/* One entry as a line of `KIND list`, from its JSON. */
static void print_entry_line(json_t *e)
{
    const char *kind = cli_jstr(e, "kind");
    long long num = cli_jint(e, "num");
    if (strcmp(kind, "item") == 0) {
        const char *by = cli_jstr(e, "claimed_by");
        printf("[%lld] %-7s %s%s%s%s\n", num, cli_jstr(e, "state"), cli_jstr(e, "text"),
               *by ? " (claimed by " : "", by, *by ? ")" : "");
    } else if (strcmp(kind, "step") == 0) {
        const char *text = cli_jstr(e, "text");
        printf("[%lld] %s%s%s\n", num, cli_jstr(e, "title"), *text ? ": " : "", text);
    } else if (strcmp(kind, "hyp") == 0) {
        const char *ev = cli_jstr(e, "evidence");
        printf("[%lld] %-9s %s%s%s%s\n", num, cli_jstr(e, "verdict"), cli_jstr(e, "text"),
               *ev ? " (evidence: " : "", ev, *ev ? ")" : "");
    } else if (strcmp(kind, "result") == 0) {
        const char *date = cli_jstr(e, "date"), *outcome = cli_jstr(e, "outcome");
        const char *notes = cli_jstr(e, "notes");
        printf("[%lld] %s: %s" FT_ARROW "%s%s%s\n", num, *date ? date : FT_NO_DATE,
               cli_jstr(e, "attempt"), outcome, *outcome && *notes ? " + " : "", notes);
    } else {
        printf("[%lld] %s\n", num, cli_jstr(e, "text"));
    }
}

/* Print the result of a write to one entry (JSON: the operation's result). */
static void report(struct ft_ctx *ctx, struct ft_result *res)
{
    json_t *r = res->json;
    const char *action = cli_jstr(r, "action");
    const char *kind = cli_jstr(r, "kind");
    long long num = cli_jint(r, "num");
    const char *verb = strchr(action, '.') ? strchr(action, '.') + 1 : action;
    if (cli_json_out(ctx, res)) {
        /* printed */
    } else if (strcmp(verb, "add") == 0) {
        printf("added %s %lld\n", kind, num);
    } else if (strcmp(verb, "move") == 0) {
        printf("moved %s %lld to position %lld\n", kind, num, cli_jint(r, "position"));
    } else if (strcmp(verb, "remove") == 0) {
        printf("removed %s %lld\n", kind, num);
    } else if (strcmp(verb, "claim") == 0) {
        const char *from = cli_jstr(r, "stolen_from");
        printf("claimed item %lld%s%s\n", num, *from ? ", taken over from " : "", from);
    } else if (strcmp(verb, "release") == 0) {
        printf("released item %lld (now %s)\n", num, cli_jstr(r, "entry.state"));
    } else if (strcmp(kind, "item") == 0) {
        printf("item %lld: %s\n", num, cli_jstr(r, "entry.state"));
    } else if (strcmp(kind, "hyp") == 0) {
        printf("hyp %lld: %s\n", num, cli_jstr(r, "entry.verdict"));
    } else {
        printf("updated %s %lld\n", kind, num);
    }
    ft_result_release(res);
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

/* Run a write on one entry (args: the operation's own) and report it. */
static int entry_write(struct ft_ctx *ctx, enum ft_op op, enum ft_kind kind, json_t *args)
{
    struct ft_result res;
    json_object_set_new(args, "kind", json_string(ft_kind_name(kind)));
    int rc = cli_call(ctx, op, args, &res);
    if (!rc)
        report(ctx, &res);
    return rc;
}

static int do_add(struct ft_ctx *ctx, enum ft_kind kind, int argc, char **argv, int i,
                  json_t *fields)
{
    char *text = i < argc ? cli_join(argc, argv, i) : NULL;
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
    return entry_write(ctx, FT_OP_ENTRY_ADD, kind, json_pack("{s:O}", "fields", fields));
}

static int do_update(struct ft_ctx *ctx, enum ft_kind kind, int num, json_t *fields)
{
    return entry_write(ctx, FT_OP_ENTRY_EDIT, kind,
                       json_pack("{s:i, s:O}", "num", num, "fields", fields));
}

static int do_list(struct ft_ctx *ctx, enum ft_kind kind)
{
    struct ft_result res;
    int rc = cli_call(ctx, FT_OP_ENTRY_LIST, json_pack("{s:s}", "kind", ft_kind_name(kind)), &res);
    if (rc)
        return rc;
    if (!cli_json_out(ctx, &res)) {
        size_t i;
        json_t *o;
        json_array_foreach(res.json, i, o)
        {
            print_entry_line(o);
        }
    }
    ft_result_release(&res);
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

int cmd_entry(int argc, char **argv, json_t *opt, struct ft_ctx *ctx)
{
    enum ft_kind kind = (enum ft_kind)ft_kind_parse(ctx->cmd);
    struct entry_opts o = {cli_fields(opt)};
    const char *verb = argc > 0 ? argv[0] : "list";
    int rc = 0, i = 1, num;

    if (strcmp(verb, "claim") && strcmp(verb, "release") &&
        (json_object_get(opt, "steal") || json_object_get(opt, "stale_after") ||
         json_object_get(opt, "force"))) {
        rc = cli_usage(ctx, "%s: --steal, --stale-after and --force are for claim and release",
                       verb);
        goto out;
    }
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
        struct ft_result res;
        json_t *args = json_pack("{s:{s:s}}", "fields", note_field(kind), text);
        free(text);
        if (!(rc = cli_call(ctx, FT_OP_TRACKER_EDIT, args, &res))) {
            if (!cli_json_out(ctx, &res)) {
                printf("updated the %s note\n", ctx->cmd);
            }
            ft_result_release(&res);
        }
        goto out;
    }
    if (strcmp(verb, "list") == 0 || strcmp(verb, "ls") == 0) {
        rc = i < argc ? cli_usage(ctx, "list: unexpected argument '%s'", argv[i])
                      : do_list(ctx, kind);
        goto out;
    }
    if (strcmp(verb, "show") == 0) {
        struct ft_result res;
        if ((num = need_num(ctx, argc, argv, i, verb)) < 0) {
            rc = FT_EXIT_USAGE;
        } else if (!(rc = cli_call(ctx, FT_OP_ENTRY_SHOW,
                                   json_pack("{s:s, s:i}", "kind", ft_kind_name(kind), "num", num),
                                   &res))) {
            if (!cli_json_out(ctx, &res)) {
                print_entry_line(res.json);
            }
            ft_result_release(&res);
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
        if ((num = need_num(ctx, argc, argv, i, verb)) < 0)
            rc = FT_EXIT_USAGE;
        else if (i + 1 >= argc || (pos = cli_num(argv[i + 1])) < 0 || i + 2 < argc)
            rc = cli_usage(ctx, "move: give the %s's number and its new position (1 = first)",
                           ctx->cmd);
        else
            rc = entry_write(ctx, FT_OP_ENTRY_MOVE, kind,
                             json_pack("{s:i, s:i}", "num", num, "position", pos));
        goto out;
    }
    if (strcmp(verb, "rm") == 0 || strcmp(verb, "remove") == 0) {
        if ((num = need_num(ctx, argc, argv, i, verb)) < 0)
            rc = FT_EXIT_USAGE;
        else if (i + 1 < argc)
            rc = cli_usage(ctx, "rm: unexpected argument '%s'", argv[i + 1]);
        else
            rc = entry_write(ctx, FT_OP_ENTRY_REMOVE, kind, json_pack("{s:i}", "num", num));
        goto out;
    }
    if (kind == FT_K_ITEM && (strcmp(verb, "claim") == 0 || strcmp(verb, "release") == 0)) {
        int claim = verb[0] == 'c';
        if ((num = need_num(ctx, argc, argv, i, verb)) < 0) {
            rc = FT_EXIT_USAGE;
        } else if (i + 1 < argc) {
            rc = cli_usage(ctx, "%s: unexpected argument '%s'", verb, argv[i + 1]);
        } else if (json_object_size(o.fields) || json_object_get(opt, claim ? "force" : "steal") ||
                   (!claim && json_object_get(opt, "stale_after"))) {
            rc = cli_usage(ctx, "%s: takes %s only", verb,
                           claim ? "--steal and --stale-after" : "--force");
        } else {
            json_t *args = json_pack("{s:i}", "num", num);
            const char *keys[] = {"steal", "stale_after", "force"};
            for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
                if (json_object_get(opt, keys[k]))
                    json_object_set(args, keys[k], json_object_get(opt, keys[k]));
            rc = entry_write(ctx, claim ? FT_OP_ITEM_CLAIM : FT_OP_ITEM_RELEASE, kind, args);
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
