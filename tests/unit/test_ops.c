/*
 * The operations over a store (src/ops/local.c): tracker resolution, the write envelope,
 * errors with their codes and fields, history pages, the default tracker, a run with its
 * results entry; and the helpers every implementation shares (arguments, error codes over HTTP).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fx_store.h"
#include "ops/ops.h"
#include "store/store.h"
#include "util/ft_err.h"
#include "util/ft_xalloc.h"

struct fx {
    struct fx_store s;
};

static int setup(void **state)
{
    struct fx *f = ft_xcalloc(1, sizeof(*f));
    if (fx_store_open(&f->s, "ops"))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    int rc = fx_store_close(&f->s);
    free(f);
    return rc;
}

/* Run op with args (taken); the result's JSON (new reference), NULL on error (in *err). */
static json_t *call(struct fx *f, enum ft_op op, json_t *args, struct ft_err *err)
{
    struct ft_result res;
    int rc = ft_ops_call(f->s.ops, op, args, &res, err);
    json_decref(args);
    if (rc)
        return NULL;
    json_t *j = json_incref(res.json);
    ft_result_release(&res);
    return j;
}

static json_t *create(struct fx *f, const char *slug)
{
    struct ft_err err;
    return call(f, FT_OP_TRACKER_CREATE,
                json_pack("{s:{s:s, s:s}}", "fields", "title", slug, "slug", slug), &err);
}

static const char *jstr(json_t *o, const char *k1, const char *k2)
{
    json_t *v = json_object_get(o, k1);
    return json_string_value(k2 ? json_object_get(v, k2) : v);
}

/* explicit, then the default, then the only one; the messages the CLI prints */
static void resolution(void **state)
{
    struct fx *f = *state;
    struct ft_err err;
    json_t *r = call(f, FT_OP_ENTRY_LIST, json_pack("{s:s}", "kind", "item"), &err);
    assert_null(r);
    assert_int_equal(err.code, FT_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no tracker yet"));

    json_decref(create(f, "one"));
    r = call(f, FT_OP_ENTRY_ADD, json_pack("{s:s, s:{s:s}}", "kind", "item", "fields", "text", "x"),
             &err);
    assert_non_null(r); /* the only tracker */
    assert_string_equal(jstr(r, "tracker", "slug"), "one");
    json_decref(r);

    json_decref(create(f, "two"));
    r = call(f, FT_OP_ENTRY_LIST, json_pack("{s:s}", "kind", "item"), &err);
    assert_null(r);
    assert_int_equal(err.code, FT_EAMBIGUOUS);
    assert_string_equal(err.field, "tracker");
    r = call(f, FT_OP_ENTRY_LIST, json_pack("{s:s, s:s}", "kind", "item", "tracker", "~"), &err);
    assert_null(r); /* "~" is no tracker named */
    assert_int_equal(err.code, FT_EAMBIGUOUS);

    json_decref(call(f, FT_OP_DEFAULT_SET, json_pack("{s:s}", "tracker", "2"), &err));
    r = call(f, FT_OP_DEFAULT_GET, NULL, &err);
    assert_string_equal(jstr(r, "default", NULL), "two");
    json_decref(r);
    r = call(f, FT_OP_ENTRY_LIST, json_pack("{s:s}", "kind", "item"), &err);
    assert_int_equal(json_array_size(r), 0); /* the default: two has no items */
    json_decref(r);
    r = call(f, FT_OP_ENTRY_LIST, json_pack("{s:s, s:s}", "kind", "item", "tracker", "one"), &err);
    assert_int_equal(json_array_size(r), 1); /* explicit wins */
    json_decref(r);
    int64_t tid = 0;
    assert_int_equal(ft_ops_local_resolve(f->s.ops, NULL, &tid, &err), 0);
    assert_int_equal(tid, 2);

    json_decref(call(f, FT_OP_TRACKER_DELETE, json_pack("{s:s}", "tracker", "two"), &err));
    r = call(f, FT_OP_TRACKER_SHOW, NULL, &err);
    assert_null(r);
    assert_int_equal(err.code, FT_ENOTFOUND);
    assert_non_null(strstr(err.msg, "the default tracker 'two' no longer exists"));
}

/* a write's envelope: the event it appended is the tracker's new version */
static void envelope(void **state)
{
    struct fx *f = *state;
    struct ft_err err;
    json_t *t = create(f, "env");
    assert_string_equal(jstr(t, "action", NULL), "tracker.create");
    json_decref(t);
    json_t *r = call(f, FT_OP_ENTRY_ADD,
                     json_pack("{s:s, s:s, s:{s:s}}", "tracker", "env", "kind", "hyp", "fields",
                               "text", "a leak"),
                     &err);
    assert_string_equal(jstr(r, "action", NULL), "hyp.add");
    assert_string_equal(jstr(r, "kind", NULL), "hyp");
    assert_int_equal(json_integer_value(json_object_get(r, "num")), 1);
    assert_string_equal(jstr(r, "entry", "verdict"), "open");
    int64_t v = 0;
    assert_int_equal(ft_store_tracker_version(f->s.st, 1, &v, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(r, "seq")), v);
    json_decref(r);

    /* a stale version is refused, naming If-Match, and writes nothing */
    r = call(f, FT_OP_ENTRY_EDIT,
             json_pack("{s:s, s:s, s:i, s:I, s:{s:s}}", "tracker", "env", "kind", "hyp", "num", 1,
                       "if_version", (json_int_t)(v - 1), "fields", "verdict", "confirmed"),
             &err);
    assert_null(r);
    assert_int_equal(err.code, FT_EEXIST);
    assert_string_equal(err.field, "If-Match");
    r = call(f, FT_OP_ENTRY_EDIT,
             json_pack("{s:s, s:s, s:i, s:I, s:s, s:{s:s}}", "tracker", "env", "kind", "hyp", "num",
                       1, "if_version", (json_int_t)v, "actor", "ana", "fields", "verdict",
                       "confirmed"),
             &err);
    assert_string_equal(jstr(r, "entry", "verdict"), "confirmed");
    json_decref(r);
    r = call(f, FT_OP_HISTORY, json_pack("{s:s, s:i}", "tracker", "env", "limit", 1), &err);
    assert_string_equal(jstr(json_array_get(r, 0), "actor", NULL), "ana");
    assert_string_equal(jstr(json_array_get(r, 0), "kind", NULL), "hyp.update");
    json_decref(r);

    /* bad arguments name their field */
    r = call(f, FT_OP_ENTRY_ADD,
             json_pack("{s:s, s:s, s:{s:s}}", "tracker", "env", "kind", "item", "fields", "state",
                       "maybe"),
             &err);
    assert_null(r);
    assert_string_equal(err.field, "state");
    r = call(f, FT_OP_ENTRY_SHOW,
             json_pack("{s:s, s:s, s:s}", "tracker", "env", "kind", "item", "num", "x"), &err);
    assert_null(r);
    assert_string_equal(err.field, "num");
    r = call(f, FT_OP_HISTORY, json_pack("{s:s, s:s}", "tracker", "env", "limit", "99999"), &err);
    assert_null(r);
    assert_string_equal(err.field, "limit");
}

/* a run and its results entry: one event; history pages */
static void runs_and_history(void **state)
{
    struct fx *f = *state;
    struct ft_err err;
    json_decref(create(f, "run"));
    json_t *r = call(f, FT_OP_RUN_RECORD,
                     json_pack("{s:{s:s, s:s, s:{s:s, s:s, s:i, s:n, s:s, s:s}}}", "fields",
                               "attempt", "make", "outcome", "hang", "run", "command", "make",
                               "outcome", "hang", "duration_ms", 5000, "exit_code", "started_at",
                               "2026-11-25T10:00:00.123Z", "log", "waiting..."),
                     &err);
    assert_non_null(r);
    assert_string_equal(jstr(r, "action", NULL), "run.record");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "run"), "num")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "entry"), "run")), 1);
    json_decref(r);
    r = call(f, FT_OP_RUN_SHOW, json_pack("{s:i}", "num", 1), &err);
    assert_string_equal(jstr(r, "log", NULL), "waiting...");
    assert_string_equal(jstr(r, "started_at", NULL), "2026-11-25T10:00:00.123Z");
    assert_true(json_is_null(json_object_get(r, "exit_code")));
    json_decref(r);
    r = call(f, FT_OP_RUN_RECORD, json_pack("{s:{s:{s:s}}}", "fields", "run", "outcome", "pass"),
             &err);
    assert_null(r);
    assert_string_equal(err.field, "command");

    /* since and limit: the newest N, oldest first */
    r = call(f, FT_OP_HISTORY, json_pack("{s:b}", "all", 1), &err);
    size_t n = json_array_size(r);
    int64_t first = json_integer_value(json_object_get(json_array_get(r, 0), "seq"));
    json_decref(r);
    assert_true(n >= 2);
    r = call(f, FT_OP_HISTORY, json_pack("{s:b, s:I}", "all", 1, "since", (json_int_t)first), &err);
    assert_int_equal(json_array_size(r), n - 1);
    json_decref(r);
    r = call(f, FT_OP_HISTORY, json_pack("{s:s, s:s}", "tracker", "run", "kind", "run"), &err);
    assert_int_equal(json_array_size(r), 1);
    json_decref(r);
}

/* the shared helpers: integer arguments and error codes over HTTP, both ways */
static void helpers(void **state)
{
    (void)state;
    struct ft_err err;
    int64_t v = 0;
    json_t *a = json_pack("{s:s, s:i, s:s, s:s}", "s", "42", "i", 7, "bad", "4x", "neg", "-1");
    assert_int_equal(ft_arg_int(a, "s", 0, 100, &v, &err), 1);
    assert_int_equal(v, 42);
    assert_int_equal(ft_arg_int(a, "i", 0, 100, &v, &err), 1);
    assert_int_equal(v, 7);
    assert_int_equal(ft_arg_int(a, "none", 0, 100, &v, &err), 0);
    assert_int_equal(ft_arg_int(a, "bad", 0, 100, &v, &err), FT_EINVAL);
    assert_string_equal(err.field, "bad");
    assert_int_equal(ft_arg_int(a, "neg", 0, 100, &v, &err), FT_EINVAL);
    assert_int_equal(ft_arg_int(a, "s", 0, 10, &v, &err), FT_EINVAL);
    json_decref(a);
    static const int codes[] = {FT_EINVAL,  FT_EAMBIGUOUS, FT_ENOTFOUND, FT_EEXIST,
                                FT_ETOOBIG, FT_EBUSY,      FT_EIO,       FT_EVERSION};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        assert_int_equal(
            ft_code_from_reason(ft_code_reason(codes[i]), ft_code_http_status(codes[i])), codes[i]);
    assert_int_equal(ft_code_http_status(FT_EAMBIGUOUS), 400);
    assert_int_equal(ft_code_from_reason(NULL, 404), FT_ENOTFOUND);
    assert_int_equal(ft_code_from_reason(NULL, 500), FT_EIO);
    assert_int_equal(ft_kind_from_plural("hypotheses"), FT_K_HYP);
    assert_string_equal(ft_kind_plural(FT_K_FOLLOWUP), "followups");
    assert_int_equal(ft_kind_from_plural("widgets"), -1);
    /* every operation has a wire row, and a write is never a GET */
    for (int op = 0; op < FT_OP__COUNT; op++) {
        assert_non_null(ft_op_wires[op].name);
        assert_true(!ft_op_wires[op].write || strcmp(ft_op_wires[op].method, "GET") != 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(resolution, setup, teardown),
        cmocka_unit_test_setup_teardown(envelope, setup, teardown),
        cmocka_unit_test_setup_teardown(runs_and_history, setup, teardown),
        cmocka_unit_test(helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
