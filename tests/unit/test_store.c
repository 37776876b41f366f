/* The store (over SQLite): numbering, ordering, patches, events, version refusal,
 * handle counting and write preconditions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "util/ft_err.h"
#include "util/ft_xalloc.h"

struct fx {
    char dir[64];
    char path[128];
    struct ft_store *st;
    int64_t tid;
};

static int setup(void **state)
{
    struct fx *f = ft_xcalloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/ft-store-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/s.db", f->dir);
    struct ft_err err;
    if (ft_store_open(f->path, FT_STORE_CREATE, &f->st, &err))
        return -1;
    ft_store_set_actor(f->st, "tester");
    struct ft_tracker *t = ft_tracker_new();
    ft_set_str(&t->title, "Store test");
    if (ft_store_tracker_create(f->st, t, "tracker.create", &err))
        return -1;
    f->tid = t->id;
    ft_tracker_free(t);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    char cmd[256];
    ft_store_close(f->st);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f);
    return 0;
}

static int add(struct fx *f, enum ft_kind k, const char *text)
{
    struct ft_entry e;
    memset(&e, 0, sizeof(e));
    e.kind = k;
    e.title = ft_xstrdup(k == FT_K_STEP ? "Step" : "");
    e.text = ft_xstrdup(text);
    e.detail = ft_xstrdup("");
    e.date = ft_xstrdup("");
    e.state = k == FT_K_ITEM ? FT_ST_PENDING : 0;
    struct ft_err err;
    int rc = ft_store_entry_add(f->st, f->tid, &e, &err);
    assert_int_equal(rc, 0);
    int num = e.num;
    ft_entry_release(&e);
    return num;
}

static int count_cb(const struct ft_event *ev, void *u)
{
    (void)ev;
    (*(int *)u)++;
    return 0;
}

static int count_events(struct fx *f)
{
    int n = 0;
    assert_int_equal(ft_store_events(f->st, f->tid, NULL, 0, 0, 0, count_cb, &n, NULL), 0);
    return n;
}

static void order_of(struct fx *f, enum ft_kind k, const char *want)
{
    struct ft_tracker *t;
    assert_int_equal(ft_store_tracker_load(f->st, f->tid, &t, NULL), 0);
    char got[64] = "";
    for (size_t i = 0; i < t->lists[k].n; i++) {
        char n[8];
        snprintf(n, sizeof(n), "%d", t->lists[k].v[i].num);
        strncat(got, n, sizeof(got) - strlen(got) - 1);
    }
    assert_string_equal(got, want);
    ft_tracker_free(t);
}

static void test_numbers_and_moves(void **state)
{
    struct fx *f = *state;
    struct ft_err err;
    for (int i = 1; i <= 5; i++)
        assert_int_equal(add(f, FT_K_RULE, "rule"), i);
    assert_int_equal(add(f, FT_K_ITEM, "item"), 1); /* numbers are per kind */
    order_of(f, FT_K_RULE, "12345");
    assert_int_equal(ft_store_entry_move(f->st, f->tid, FT_K_RULE, 5, 1, &err), 0);
    order_of(f, FT_K_RULE, "51234");
    assert_int_equal(ft_store_entry_move(f->st, f->tid, FT_K_RULE, 5, 99, &err), 0);
    order_of(f, FT_K_RULE, "12345");
    assert_int_equal(ft_store_entry_move(f->st, f->tid, FT_K_RULE, 2, 4, &err), 0);
    order_of(f, FT_K_RULE, "13425");
    assert_int_equal(ft_store_entry_remove(f->st, f->tid, FT_K_RULE, 3, &err), 0);
    order_of(f, FT_K_RULE, "1425");
    /* numbers are never reused */
    assert_int_equal(add(f, FT_K_RULE, "again"), 6);
    order_of(f, FT_K_RULE, "14256");
    assert_int_equal(ft_store_entry_remove(f->st, f->tid, FT_K_RULE, 3, &err), FT_ENOTFOUND);
}

static void test_patch_and_events(void **state)
{
    struct fx *f = *state;
    struct ft_err err;
    int before = count_events(f);
    int n = add(f, FT_K_ITEM, "an item");
    json_t *p = json_pack("{s:s}", "state", "doing");
    struct ft_entry e;
    assert_int_equal(ft_store_entry_update(f->st, f->tid, FT_K_ITEM, n, p, &e, &err), 0);
    assert_int_equal(e.state, FT_ST_DOING);
    assert_int_equal(e.nchanges, 0);
    ft_entry_release(&e);
    json_decref(p);

    /* a bad field changes nothing and appends no event */
    p = json_pack("{s:s, s:s}", "text", "changed", "verdict", "open");
    assert_int_equal(ft_store_entry_update(f->st, f->tid, FT_K_ITEM, n, p, NULL, &err), FT_EINVAL);
    assert_non_null(strstr(err.msg, "verdict"));
    json_decref(p);
    assert_int_equal(ft_store_entry_get(f->st, f->tid, FT_K_ITEM, n, &e, &err), 0);
    assert_string_equal(e.text, "an item");
    ft_entry_release(&e);
    assert_int_equal(count_events(f), before + 2);

    p = json_pack("{s:s}", "started", "not a date");
    assert_int_equal(ft_store_tracker_update(f->st, f->tid, p, &err), FT_EINVAL);
    json_decref(p);
    p = json_pack("{s:s, s:s}", "owner", "Platform", "status", "resolved");
    assert_int_equal(ft_store_tracker_update(f->st, f->tid, p, &err), 0);
    json_decref(p);
    assert_int_equal(count_events(f), before + 3);

    /* every state change is kept with its time */
    struct ft_tracker *t;
    assert_int_equal(ft_store_tracker_load(f->st, f->tid, &t, &err), 0);
    assert_string_equal(t->owner, "Platform");
    assert_int_equal(t->status, FT_STATUS_RESOLVED);
    assert_int_equal(t->lists[FT_K_ITEM].n, 1);
    assert_int_equal(t->lists[FT_K_ITEM].v[0].nchanges, 2);
    assert_int_equal(t->lists[FT_K_ITEM].v[0].changes[1].state, FT_ST_DOING);
    ft_tracker_free(t);
    assert_true(ft_store_open_statements(f->st) > 0);
    assert_true(ft_store_open_statements(f->st) <= 48);
}

static int actor_cb(const struct ft_event *ev, void *u)
{
    (void)u;
    assert_string_equal(ev->actor, "tester");
    return 0;
}

static void test_events_actor_and_slug_conflict(void **state)
{
    struct fx *f = *state;
    struct ft_err err;
    add(f, FT_K_SYMPTOM, "s");
    assert_int_equal(ft_store_events(f->st, 0, "symptom", 0, 0, 0, actor_cb, NULL, &err), 0);
    struct ft_tracker *t = ft_tracker_new();
    ft_set_str(&t->title, "Other");
    ft_set_str(&t->slug, "store-test");
    assert_int_equal(ft_store_tracker_create(f->st, t, "tracker.create", &err), FT_EEXIST);
    ft_set_str(&t->slug, "");
    ft_set_str(&t->title, "Store test");
    assert_int_equal(ft_store_tracker_create(f->st, t, "tracker.create", &err), 0);
    assert_string_equal(t->slug, "store-test-2");
    ft_tracker_free(t);
    int64_t id;
    assert_int_equal(ft_store_tracker_find(f->st, "store-test-2", &id, &err), 0);
    assert_int_equal(ft_store_tracker_find(f->st, "nope", &id, &err), FT_ENOTFOUND);
}

static char *file_bytes(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    fseek(fp, 0, SEEK_END);
    *n = (size_t)ftell(fp);
    rewind(fp);
    char *b = ft_xmalloc(*n + 1);
    assert_int_equal(fread(b, 1, *n, fp), *n);
    fclose(fp);
    return b;
}

static void test_newer_store_refused(void **state)
{
    struct fx *f = *state;
    struct ft_err err;
    ft_store_close(f->st);
    f->st = NULL;
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db, "PRAGMA journal_mode=DELETE; PRAGMA user_version = 99", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    size_t n1, n2;
    char *before = file_bytes(f->path, &n1);
    assert_int_equal(ft_store_open(f->path, 0, &f->st, &err), FT_EVERSION);
    assert_non_null(strstr(err.msg, "newer"));
    char *after = file_bytes(f->path, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(before, after, n1);
    free(before);
    free(after);

    /* a file that is not a store at all */
    char other[160];
    snprintf(other, sizeof(other), "%s/notes.txt", f->dir);
    FILE *fp = fopen(other, "w");
    fputs("just some text that is long enough to not be a database header at all\n", fp);
    fclose(fp);
    struct ft_store *st2 = NULL;
    assert_int_equal(ft_store_open(other, 0, &st2, &err), FT_EINVAL);
    assert_null(st2);
    snprintf(other, sizeof(other), "%s/missing.db", f->dir);
    assert_int_equal(ft_store_open(other, 0, &st2, &err), FT_ENOTFOUND);
    assert_int_equal(access(other, F_OK), -1);
}

/* Every write reports the event it appended; a version precondition is checked inside the
 * write and consumed by it; handles are counted while open. */
static void test_last_write_and_precondition(void **state)
{
    struct fx *f = *state;
    struct ft_err err;
    int64_t v0 = 0, v1 = 0;
    assert_int_equal(ft_store_handles_open(), 1);
    assert_int_equal(ft_store_tracker_version(f->st, f->tid, &v0, &err), 0);
    assert_int_equal(ft_store_last_write(f->st), v0);
    add(f, FT_K_ITEM, "one");
    assert_int_equal(ft_store_tracker_version(f->st, f->tid, &v1, &err), 0);
    assert_true(v1 > v0);
    assert_int_equal(ft_store_last_write(f->st), v1);

    /* a stale version: refused, nothing written, the precondition is gone afterwards */
    ft_store_expect_version(f->st, v0);
    struct ft_entry e;
    ft_entry_init(&e, FT_K_ITEM, 0);
    ft_set_str(&e.text, "refused");
    assert_int_equal(ft_store_entry_add(f->st, f->tid, &e, &err), FT_EEXIST);
    assert_string_equal(err.field, "If-Match");
    int64_t v2 = 0;
    assert_int_equal(ft_store_tracker_version(f->st, f->tid, &v2, &err), 0);
    assert_int_equal(v2, v1);
    assert_int_equal(ft_store_entry_add(f->st, f->tid, &e, &err), 0);
    ft_entry_release(&e);
    /* the current version: accepted */
    assert_int_equal(ft_store_tracker_version(f->st, f->tid, &v2, &err), 0);
    ft_store_expect_version(f->st, v2);
    assert_int_equal(add(f, FT_K_ITEM, "three"), 3);

    struct ft_store *second = NULL;
    assert_int_equal(ft_store_open(f->path, 0, &second, &err), 0);
    assert_int_equal(ft_store_handles_open(), 2);
    ft_store_close(second);
    assert_int_equal(ft_store_handles_open(), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_numbers_and_moves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_patch_and_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_actor_and_slug_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_store_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_write_and_precondition, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
