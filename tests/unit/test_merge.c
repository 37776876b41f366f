/*
 * The three-way merge of `flowtrack sync` (src/core/merge.c), on trackers built in memory:
 * one side's changes are planned as operations, changes to different entries on both sides
 * both apply, the same field changed on both sides is a conflict that --ours and --theirs
 * settle, a removal against an edit conflicts, file entries are matched by text wherever
 * they moved, and without a base only identical content is adopted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <string.h>

#include "core/merge.h"
#include "util/ft_xalloc.h"

/* A tracker with items "a", "b", "c" pending; numbered (base, store) or not (a file). */
static struct ft_tracker *three(int numbered)
{
    struct ft_tracker *t = ft_tracker_new();
    free(t->title);
    t->title = ft_xstrdup("Merge");
    const char *texts[] = {"a", "b", "c"};
    for (int i = 0; i < 3; i++) {
        struct ft_entry *e = ft_tracker_push(t, FT_K_ITEM, ft_xstrdup(""), ft_xstrdup(texts[i]),
                                             ft_xstrdup(""), ft_xstrdup(""));
        e->state = FT_ST_PENDING;
        e->num = numbered ? i + 1 : 0;
    }
    return t;
}

static struct ft_entry *item(struct ft_tracker *t, const char *text)
{
    for (size_t i = 0; i < t->lists[FT_K_ITEM].n; i++)
        if (strcmp(t->lists[FT_K_ITEM].v[i].text, text) == 0)
            return &t->lists[FT_K_ITEM].v[i];
    fail_msg("no item '%s'", text);
    return NULL;
}

/* The steps of a plan with op, as "op kind num field=value" lines joined by ';'. */
static char *plan_text(const json_t *plan)
{
    static char out[2048];
    size_t i;
    json_t *s;
    out[0] = '\0';
    json_array_foreach(plan, i, s)
    {
        char *f = json_dumps(json_object_get(s, "fields"), JSON_COMPACT | JSON_SORT_KEYS);
        snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s %s %lld %s", out[0] ? ";" : "",
                 json_string_value(json_object_get(s, "op")),
                 json_string_value(json_object_get(s, "kind"))
                     ? json_string_value(json_object_get(s, "kind"))
                     : "-",
                 (long long)json_integer_value(json_object_get(s, "num")), f ? f : "");
        free(f);
    }
    return out;
}

static void run(struct ft_tracker *base, struct ft_tracker *file, struct ft_tracker *store,
                enum ft_merge_prefer prefer, json_t **plan, json_t **conflicts)
{
    ft_merge_plan(base, file, store, prefer, plan, conflicts);
    assert_non_null(*plan);
    assert_non_null(*conflicts);
}

static void test_file_change_planned(void **state)
{
    (void)state;
    struct ft_tracker *base = three(1), *file = three(0), *store = three(1);
    item(file, "b")->state = FT_ST_DONE;
    json_t *plan, *conf;
    run(base, file, store, FT_MERGE_ASK, &plan, &conf);
    assert_int_equal(json_array_size(conf), 0);
    assert_string_equal(plan_text(plan), "entry.edit item 2 {\"state\":\"done\"}");
    json_decref(plan);
    json_decref(conf);
    /* nothing changed anywhere: nothing to do */
    item(file, "b")->state = FT_ST_PENDING;
    run(base, file, store, FT_MERGE_ASK, &plan, &conf);
    assert_int_equal(json_array_size(plan), 0);
    assert_int_equal(json_array_size(conf), 0);
    json_decref(plan);
    json_decref(conf);
    ft_tracker_free(base);
    ft_tracker_free(file);
    ft_tracker_free(store);
}

static void test_both_sides_different_entries(void **state)
{
    (void)state;
    struct ft_tracker *base = three(1), *file = three(0), *store = three(1);
    item(file, "a")->state = FT_ST_DONE;     /* the file moved a */
    item(store, "c")->state = FT_ST_DROPPED; /* the store dropped c: already there */
    ft_tracker_push(file, FT_K_ITEM, ft_xstrdup(""), ft_xstrdup("d"), ft_xstrdup(""),
                    ft_xstrdup(""))
        ->state = FT_ST_PENDING;
    json_t *plan, *conf;
    run(base, file, store, FT_MERGE_ASK, &plan, &conf);
    assert_int_equal(json_array_size(conf), 0);
    const char *p = plan_text(plan);
    assert_non_null(strstr(p, "entry.edit item 1 {\"state\":\"done\"}"));
    assert_non_null(strstr(p, "entry.add item 0 {"));
    assert_non_null(strstr(p, "\"text\":\"d\""));
    assert_null(strstr(p, "item 3")); /* the store's own change is not written back */
    json_decref(plan);
    json_decref(conf);
    ft_tracker_free(base);
    ft_tracker_free(file);
    ft_tracker_free(store);
}

static void test_same_field_conflicts(void **state)
{
    (void)state;
    struct ft_tracker *base = three(1), *file = three(0), *store = three(1);
    item(file, "b")->state = FT_ST_DONE;
    item(store, "b")->state = FT_ST_DROPPED;
    json_t *plan, *conf;
    run(base, file, store, FT_MERGE_ASK, &plan, &conf);
    assert_int_equal(json_array_size(conf), 1);
    json_t *c = json_array_get(conf, 0);
    assert_string_equal(json_string_value(json_object_get(c, "kind")), "item");
    assert_int_equal(json_integer_value(json_object_get(c, "num")), 2);
    assert_string_equal(json_string_value(json_object_get(c, "text")), "b");
    json_decref(plan);
    json_decref(conf);
    /* --ours: the file's value is written; --theirs: the store keeps its own */
    run(base, file, store, FT_MERGE_FILE, &plan, &conf);
    assert_string_equal(plan_text(plan), "entry.edit item 2 {\"state\":\"done\"}");
    assert_int_equal(json_array_size(conf), 1); /* listed as settled */
    json_decref(plan);
    json_decref(conf);
    run(base, file, store, FT_MERGE_STORE, &plan, &conf);
    assert_int_equal(json_array_size(plan), 0);
    json_decref(plan);
    json_decref(conf);
    /* the same change on both sides is no conflict */
    item(store, "b")->state = FT_ST_DONE;
    run(base, file, store, FT_MERGE_ASK, &plan, &conf);
    assert_int_equal(json_array_size(conf), 0);
    assert_int_equal(json_array_size(plan), 0);
    json_decref(plan);
    json_decref(conf);
    ft_tracker_free(base);
    ft_tracker_free(file);
    ft_tracker_free(store);
}

static void test_remove_against_edit(void **state)
{
    (void)state;
    struct ft_tracker *base = three(1), *file = three(0), *store = three(1);
    struct ft_entry_list *l = &file->lists[FT_K_ITEM];
    /* the file removes c (the last one), the store edits it */
    l->n--;
    free(l->v[l->n].title);
    free(l->v[l->n].text);
    free(l->v[l->n].detail);
    free(l->v[l->n].date);
    free(l->v[l->n].changes);
    free(l->v[l->n].claimed_by);
    item(store, "c")->state = FT_ST_DOING;
    json_t *plan, *conf;
    run(base, file, store, FT_MERGE_ASK, &plan, &conf);
    assert_int_equal(json_array_size(conf), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(conf, 0), "num")), 3);
    json_decref(plan);
    json_decref(conf);
    /* without the store's edit, the removal is planned */
    item(store, "c")->state = FT_ST_PENDING;
    run(base, file, store, FT_MERGE_ASK, &plan, &conf);
    assert_int_equal(json_array_size(conf), 0);
    assert_string_equal(plan_text(plan), "entry.remove item 3 ");
    json_decref(plan);
    json_decref(conf);
    ft_tracker_free(base);
    ft_tracker_free(file);
    ft_tracker_free(store);
}

static void test_no_base(void **state)
{
    (void)state;
    struct ft_tracker *file = three(0), *store = three(1);
    json_t *plan, *conf;
    run(NULL, file, store, FT_MERGE_ASK, &plan, &conf); /* identical: adopted */
    assert_int_equal(json_array_size(plan), 0);
    assert_int_equal(json_array_size(conf), 0);
    json_decref(plan);
    json_decref(conf);
    item(file, "a")->state = FT_ST_DONE; /* any difference without a base is a conflict */
    run(NULL, file, store, FT_MERGE_ASK, &plan, &conf);
    assert_int_equal(json_array_size(conf), 1);
    json_decref(plan);
    json_decref(conf);
    ft_tracker_free(file);
    ft_tracker_free(store);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_change_planned),
        cmocka_unit_test(test_both_sides_different_entries),
        cmocka_unit_test(test_same_field_conflicts),
        cmocka_unit_test(test_remove_against_edit),
        cmocka_unit_test(test_no_base),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
