/* The store: numbering, ordering, patches, events, version refusal, handle counting, write
 * preconditions and the copy of a whole store. Over SQLite; and over PostgreSQL when
 * FT_TEST_PG gives a cluster's base URL (tests/pg/pg-run.sh, ctest's unit.store.pg): each
 * test then has a database of its own, and the copies go between the two backends. */
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

#include "core/render.h"
#include "store/backend.h"
#include "store/copy.h"
#include "store/store.h"
#include "util/ft_buf.h"
#include "util/ft_err.h"
#include "util/ft_xalloc.h"

/* FT_TEST_PG: the base URL of a PostgreSQL cluster (postgres://user@host:port), or NULL */
static const char *pg_base;

struct fx {
    char dir[64];
    char path[256];
    struct ft_store *st;
    int64_t tid;
};

/* Run psql with sql (from a file: any length, any quotes) on url; its first output line into
 * out (when given). */
static int psql(const char *url, const char *sql, char *out, size_t n)
{
    char file[] = "/tmp/ft-store-sql-XXXXXX";
    int fd = mkstemp(file);
    if (fd < 0)
        return -1;
    FILE *fp = fdopen(fd, "w");
    fputs(sql, fp);
    fclose(fp);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "timeout -k 5 60 psql -X -q -At -v ON_ERROR_STOP=1 -d '%s' -f %s",
             url, file);
    FILE *p = popen(cmd, "r");
    if (!p) {
        unlink(file);
        return -1;
    }
    char line[256] = "";
    if (!fgets(line, sizeof(line), p))
        line[0] = '\0';
    while (getc(p) != EOF) {
    }
    line[strcspn(line, "\n")] = '\0';
    if (out)
        snprintf(out, n, "%s", line);
    int rc = pclose(p);
    unlink(file);
    return rc == 0 ? 0 : -1;
}

/* The path of a new, empty store named name: a file in the test's directory, or (with
 * PostgreSQL, unless as_file) a new database of the cluster. */
static void store_path(struct fx *f, const char *name, int as_file, char *path, size_t n)
{
    static int counter;
    if (!pg_base || as_file) {
        snprintf(path, n, "%s/%s", f->dir, name);
        return;
    }
    char db[64];
    snprintf(db, sizeof(db), "ft_%d_%d", (int)getpid(), ++counter);
    char base[300], sql[128];
    snprintf(base, sizeof(base), "%s/postgres", pg_base);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
    assert_int_equal(psql(base, sql, NULL, 0), 0);
    snprintf(path, n, "%s/%s", pg_base, db);
}

/* Run sql on the test's store, beside the store's own connection. */
static void raw_sql(struct fx *f, const char *sql)
{
    if (pg_base) {
        assert_int_equal(psql(f->path, sql, NULL, 0), 0);
        return;
    }
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static int setup(void **state)
{
    struct fx *f = ft_xcalloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/ft-store-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    store_path(f, "s.db", 0, f->path, sizeof(f->path));
    struct ft_err err;
    if (ft_store_open(f->path, FT_STORE_CREATE, &f->st, &err)) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return -1;
    }
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
    /* a test's databases stay until its cluster goes (pg-run.sh): a DROP DATABASE waits
     * for a checkpoint, about a second each */
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
    if (pg_base) {
        raw_sql(f, "UPDATE flowtrack_schema SET version = 99");
        assert_int_equal(ft_store_open(f->path, 0, &f->st, &err), FT_EVERSION);
        assert_non_null(strstr(err.msg, "newer"));
        char v[32];
        assert_int_equal(psql(f->path, "SELECT version FROM flowtrack_schema", v, sizeof(v)), 0);
        assert_string_equal(v, "99");
        /* a database holding another application's tables, and an empty one */
        char other[256], tables[32];
        store_path(f, NULL, 0, other, sizeof(other));
        assert_int_equal(psql(other, "CREATE TABLE notes (t text)", NULL, 0), 0);
        struct ft_store *st2 = NULL;
        assert_int_equal(ft_store_open(other, FT_STORE_CREATE, &st2, &err), FT_EINVAL);
        assert_non_null(strstr(err.msg, "not a flowtrack store"));
        assert_null(st2);
        store_path(f, NULL, 0, other, sizeof(other));
        assert_int_equal(ft_store_open(other, 0, &st2, &err), FT_ENOTFOUND);
        assert_int_equal(psql(other, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
                              tables, sizeof(tables)),
                         0);
        assert_string_equal(tables, "0"); /* nothing made without FT_STORE_CREATE */
        /* a database that cannot be reached: a clear error, within connect_timeout */
        assert_int_equal(ft_store_open("postgres://flowtrack@127.0.0.1:1/none", 0, &st2, &err),
                         FT_EIO);
        assert_non_null(strstr(err.msg, "cannot connect"));
        return;
    }
    raw_sql(f, "PRAGMA journal_mode=DELETE; PRAGMA user_version = 99");
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

/* ---- copying a store ---- */

/* Append an entry of kind k with its text (and a title for a step) to tracker tid: its num. */
static int add_to(struct ft_store *st, int64_t tid, enum ft_kind k, const char *text)
{
    struct ft_entry e;
    struct ft_err err;
    ft_entry_init(&e, k, 0);
    ft_set_str(&e.text, text);
    if (k == FT_K_STEP)
        ft_set_str(&e.title, "A step");
    assert_int_equal(ft_store_entry_add(st, tid, &e, &err), 0);
    int num = e.num;
    ft_entry_release(&e);
    return num;
}

static void patch_entry(struct ft_store *st, int64_t tid, enum ft_kind k, int num, json_t *patch)
{
    struct ft_err err;
    assert_int_equal(ft_store_entry_update(st, tid, k, num, patch, NULL, &err), 0);
    json_decref(patch);
}

static int64_t new_tracker(struct ft_store *st, const char *title)
{
    struct ft_err err;
    struct ft_tracker *t = ft_tracker_new();
    ft_set_str(&t->title, title);
    ft_set_str(&t->owner, "Platform");
    ft_set_str(&t->objective, "Streams always end");
    assert_int_equal(ft_store_tracker_create(st, t, "tracker.create", &err), 0);
    int64_t id = t->id;
    ft_tracker_free(t);
    return id;
}

/*
 * Fill f's store with one of everything: two trackers, entries of every kind, item state
 * changes, a claim, a run with its log and diagnosis and its result, a deleted tracker (gaps in
 * tracker and entry ids, its events kept), a setting, and a gap in the event numbers (a store
 * edited by hand): a copy that renumbered anything would differ.
 */
static void fill_source(struct fx *f)
{
    struct ft_err err;
    int64_t doomed = new_tracker(f->st, "Doomed");
    add_to(f->st, doomed, FT_K_ITEM, "gone with its tracker");
    for (int k = 0; k < FT_K__COUNT; k++)
        add_to(f->st, f->tid, (enum ft_kind)k, "one of each kind");
    int item = add_to(f->st, f->tid, FT_K_ITEM, "an item that gets done");
    patch_entry(f->st, f->tid, FT_K_ITEM, item, json_pack("{s:s}", "state", "doing"));
    patch_entry(f->st, f->tid, FT_K_ITEM, item, json_pack("{s:s}", "state", "done"));
    int held = add_to(f->st, f->tid, FT_K_ITEM, "an item someone holds");
    assert_int_equal(ft_store_item_claim(f->st, f->tid, held, FT_CLAIM, 0, NULL, NULL, &err), 0);
    patch_entry(f->st, f->tid, FT_K_HYP, 1,
                json_pack("{s:s, s:s}", "verdict", "confirmed", "evidence", "run 1 shows it"));
    assert_int_equal(ft_store_tracker_delete(f->st, doomed, &err), 0);

    struct ft_run r;
    memset(&r, 0, sizeof(r));
    r.command = ft_xstrdup("make test");
    r.cwd = ft_xstrdup("/src");
    r.label = ft_xstrdup("baseline");
    r.started_at = 1764580000000;
    r.duration_ms = 5004;
    r.exit_code = -1;
    r.signal = 9;
    r.outcome = 1;
    r.log = ft_xstrdup("line 1\nline 2 \xc3\xa9t\xc3\xa9\n");
    r.log_truncated = 1;
    r.diagnosis = ft_xstrdup("{\"hung\":[{\"pid\":42,\"wchan\":\"pipe_read\"}]}");
    struct ft_entry res;
    ft_entry_init(&res, FT_K_RESULT, 0);
    ft_set_str(&res.text, "the baseline hangs");
    assert_int_equal(ft_store_run_record(f->st, f->tid, &r, &res, &err), 0);
    ft_entry_release(&res);
    ft_run_release(&r);

    int64_t second = new_tracker(f->st, "Second");
    add_to(f->st, second, FT_K_RULE, "a rule of the second");
    add_to(f->st, second, FT_K_ITEM, "an item of the second");
    assert_int_equal(ft_store_setting_set(f->st, "default_tracker", "store-test", &err), 0);

    raw_sql(f, "DELETE FROM events WHERE seq = 3");
}

/* Every row of a table as text ("I42|T3:abc|N|" a line), and how many. */
struct dump {
    struct ft_buf b;
    int64_t rows;
};

static int dump_row(const struct ft_cell *cells, int ncols, void *ctx)
{
    struct dump *d = ctx;
    for (int i = 0; i < ncols; i++) {
        if (cells[i].type == FT_CELL_INT) {
            ft_buf_addf(&d->b, "I%lld|", (long long)cells[i].i);
        } else if (cells[i].type == FT_CELL_TEXT) {
            ft_buf_addf(&d->b, "T%zu:", cells[i].len);
            ft_buf_add(&d->b, cells[i].text, cells[i].len);
            ft_buf_addc(&d->b, '|');
        } else {
            ft_buf_adds(&d->b, "N|");
        }
    }
    ft_buf_addc(&d->b, '\n');
    d->rows++;
    return 0;
}

/* Table t of st as text; *rows its row count. The caller frees the text. */
static char *dump_table(struct ft_store *st, enum ft_copy_tab t, int64_t *rows)
{
    struct dump d;
    ft_buf_init(&d.b, 0);
    d.rows = 0;
    struct ft_err err;
    assert_int_equal(ft_store_copy_out(st, t, dump_row, &d, &err), 0);
    *rows = d.rows;
    return ft_buf_detach(&d.b, NULL);
}

/* The number of rows in every table of st. */
static int64_t total_rows(struct ft_store *st)
{
    int64_t sum = 0;
    for (int t = 0; t < FT_COPY__COUNT; t++) {
        int64_t n = 0;
        free(dump_table(st, (enum ft_copy_tab)t, &n));
        sum += n;
    }
    return sum;
}

/* A new store beside the test's: a file, or (with PostgreSQL, unless as_file) a database. */
static struct ft_store *open_beside(struct fx *f, const char *name, int as_file, char *path,
                                    size_t n)
{
    struct ft_store *st = NULL;
    struct ft_err err;
    store_path(f, name, as_file, path, n);
    assert_int_equal(ft_store_open(path, FT_STORE_CREATE, &st, &err), 0);
    return st;
}

/* The copy's list of columns is the schema's: a column added to a table and not to the list
 * would be lost by every copy, and the row comparisons below could not see it. */
static void test_copy_columns_are_the_schema(void **state)
{
    struct fx *f = *state;
    if (pg_base) {
        /* state_changes.ord, the order of an item's history, is made again by the copy's
         * inserts in that order: it is the one column not copied */
        for (int t = 0; t < FT_COPY__COUNT; t++) {
            const struct ft_copy_table *tab = ft_copy_table((enum ft_copy_tab)t);
            char sql[512], got[512];
            struct ft_buf want;
            ft_buf_init(&want, 0);
            for (int i = 0; i < tab->ncols; i++)
                ft_buf_addf(&want, "%s%s", i ? "," : "", tab->cols[i]);
            snprintf(sql, sizeof(sql),
                     "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM "
                     "information_schema.columns WHERE table_schema = current_schema() AND "
                     "table_name = '%s' AND NOT (table_name = 'state_changes' AND column_name = "
                     "'ord')",
                     tab->name);
            assert_int_equal(psql(f->path, sql, got, sizeof(got)), 0);
            assert_string_equal(got, want.buf);
            ft_buf_release(&want);
        }
        char n[32];
        assert_int_equal(psql(f->path,
                              "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()"
                              " AND tablename <> 'flowtrack_schema'",
                              n, sizeof(n)),
                         0);
        assert_int_equal(atoi(n), FT_COPY__COUNT);
        return;
    }
    sqlite3 *db;
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info(?1)", -1, &s, NULL),
                     SQLITE_OK);
    int tables = 0;
    for (int t = 0; t < FT_COPY__COUNT; t++) {
        const struct ft_copy_table *tab = ft_copy_table((enum ft_copy_tab)t);
        int n = 0;
        sqlite3_bind_text(s, 1, tab->name, -1, SQLITE_STATIC);
        while (sqlite3_step(s) == SQLITE_ROW) {
            const char *col = (const char *)sqlite3_column_text(s, 0);
            int found = 0;
            for (int i = 0; i < tab->ncols; i++)
                found |= strcmp(tab->cols[i], col) == 0;
            if (!found)
                fail_msg("column %s.%s is not copied", tab->name, col);
            n++;
        }
        sqlite3_reset(s);
        assert_int_equal(n, tab->ncols);
    }
    sqlite3_finalize(s);
    /* and every table of the schema is copied */
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT count(*) FROM sqlite_schema WHERE type = 'table'"
                                        " AND name NOT LIKE 'sqlite_%'",
                                        -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    tables = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    assert_int_equal(tables, FT_COPY__COUNT);
}

/* Every table of b holds what a's holds, row for row, as the copy reported. */
static void same_tables(struct ft_store *a, struct ft_store *b, const struct ft_copy_report *rep)
{
    for (int t = 0; t < FT_COPY__COUNT; t++) {
        int64_t n1 = 0, n2 = 0;
        char *x = dump_table(a, (enum ft_copy_tab)t, &n1);
        char *y = dump_table(b, (enum ft_copy_tab)t, &n2);
        assert_true(n1 > 0); /* the source has rows in every table */
        assert_int_equal(n1, n2);
        assert_int_equal(rep->rows[t], n1);
        assert_string_equal(x, y);
        free(x);
        free(y);
    }
}

/* A copy holds every row of every table as the source has it, and its log goes on after the
 * last copied event. */
static void test_copy_whole_store(void **state)
{
    struct fx *f = *state;
    struct ft_err err;
    fill_source(f);
    char path[256];
    /* with PostgreSQL: to a SQLite file, and from that to a second database */
    struct ft_store *to = open_beside(f, "copy.db", pg_base != NULL, path, sizeof(path));
    struct ft_copy_report rep;
    assert_int_equal(ft_store_copy(f->st, to, &rep, &err), 0);
    same_tables(f->st, to, &rep);
    if (pg_base) {
        struct ft_store *back = open_beside(f, "back", 0, path, sizeof(path));
        assert_int_equal(ft_store_copy(to, back, &rep, &err), 0);
        same_tables(f->st, back, &rep);
        /* its log goes on after the last copied event, as its ids do */
        int64_t last = 0;
        assert_int_equal(ft_store_last_seq(f->st, &last, &err), 0);
        ft_store_set_actor(back, "tester");
        add_to(back, f->tid, FT_K_NOTE, "written to the second copy");
        assert_int_equal(ft_store_last_write(back), last + 1);
        new_tracker(back, "A third");
        ft_store_close(back);
    }
    assert_int_equal(rep.rows[FT_COPY_TRACKERS], 2);
    assert_int_equal(rep.rows[FT_COPY_RUNS], 1);
    assert_int_equal(rep.rows[FT_COPY_SETTINGS], 1);

    /* the gap at 3 is kept, and the next event follows the copied maximum */
    int64_t last = 0, next = 0;
    assert_int_equal(ft_store_last_seq(f->st, &last, &err), 0);
    assert_int_equal(ft_store_last_seq(to, &next, &err), 0);
    assert_int_equal(next, last);
    ft_store_set_actor(to, "tester");
    add_to(to, f->tid, FT_K_NOTE, "written to the copy");
    assert_int_equal(ft_store_last_write(to), last + 1);

    /* the copy reads back as the source does, through the domain calls too */
    struct ft_tracker *a, *b;
    assert_int_equal(ft_store_tracker_load(f->st, f->tid, &a, &err), 0);
    assert_int_equal(ft_store_tracker_load(to, f->tid, &b, &err), 0);
    assert_int_equal(a->lists[FT_K_ITEM].n, b->lists[FT_K_ITEM].n);
    assert_int_equal(b->lists[FT_K_ITEM].v[2].nchanges, a->lists[FT_K_ITEM].v[2].nchanges);
    assert_string_equal(b->lists[FT_K_ITEM].v[2].claimed_by, "tester");
    assert_int_equal(b->lists[FT_K_RESULT].v[1].run_num, 1);
    ft_tracker_free(a);
    ft_tracker_free(b);
    struct ft_run run;
    assert_int_equal(ft_store_run_get(to, f->tid, 1, &run, &err), 0);
    assert_string_equal(run.log, "line 1\nline 2 \xc3\xa9t\xc3\xa9\n");
    assert_non_null(strstr(run.diagnosis, "pipe_read"));
    ft_run_release(&run);
    ft_store_close(to);
}

/* A tracker loaded to be read (FT_LOAD_VIEW: its strings in one pool) is the tracker loaded
 * to be changed: the same JSON and the same layouts, empty strings, one too long to share a
 * pool's chunk, several chunks' worth and a claim included; and freeing it frees all of it
 * (the sanitizer build).
 * One loaded for the layouts only (FT_LOAD_LAYOUT: no entry ids or times) renders the same. */
static void test_view_load(void **state)
{
    struct fx *f = *state;
    struct ft_err err;
    fill_source(f);
    char *big = ft_xmalloc(40001);
    for (int i = 0; i < 40000; i++)
        big[i] = (char)('a' + i % 26);
    big[40000] = '\0';
    add(f, FT_K_NOTE, big);
    /* several chunks' worth (64 KiB each) in 40 writes: strings of 1-8 KiB, and empty ones */
    char *mid = ft_xmalloc(8193);
    for (int i = 0; i < 40; i++) {
        size_t n = (size_t)(i % 8 + 1) * 1024;
        memset(mid, (char)('A' + i % 26), n);
        mid[n] = '\0';
        add(f, i % 4 ? FT_K_SYMPTOM : FT_K_FOLLOWUP, mid);
    }
    free(mid);
    struct ft_tracker *a, *b, *c;
    assert_int_equal(ft_store_tracker_load(f->st, f->tid, &a, &err), 0);
    assert_int_equal(
        ft_store_tracker_load_ex(f->st, f->tid, FT_LOAD_VIEW | FT_LOAD_CHANGES, &b, &err), 0);
    assert_int_equal(
        ft_store_tracker_load_ex(f->st, f->tid, FT_LOAD_VIEW | FT_LOAD_LAYOUT, &c, &err), 0);
    assert_int_equal(c->lists[FT_K_ITEM].v[0].created_at, 0);
    assert_true(a->lists[FT_K_ITEM].v[0].created_at > 0);
    assert_null(a->pool);
    assert_non_null(b->pool);
    json_t *ja_obj = ft_tracker_to_json(a), *jb_obj = ft_tracker_to_json(b);
    char *ja = json_dumps(ja_obj, JSON_SORT_KEYS | JSON_COMPACT);
    char *jb = json_dumps(jb_obj, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(ja, jb);
    assert_non_null(strstr(jb, big));
    assert_non_null(strstr(jb, "\"claimed_by\":\"tester\""));
    static const enum ft_format layouts[] = {FT_FMT_VIEW, FT_FMT_TEXT, FT_FMT_MD, FT_FMT_COMPACT};
    for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
        struct ft_buf ra, rb, rc;
        ft_buf_init(&ra, 0);
        ft_buf_init(&rb, 0);
        ft_buf_init(&rc, 0);
        ft_render(a, layouts[i], &ra);
        ft_render(b, layouts[i], &rb);
        ft_render(c, layouts[i], &rc);
        assert_string_equal(ra.buf, rb.buf);
        assert_string_equal(ra.buf, rc.buf);
        ft_buf_release(&ra);
        ft_buf_release(&rb);
        ft_buf_release(&rc);
    }
    free(ja);
    free(jb);
    json_decref(ja_obj);
    json_decref(jb_obj);
    free(big);
    ft_tracker_free(a);
    ft_tracker_free(b);
    ft_tracker_free(c);
}

/* SQLite's change watch wakes for the store's own files only: a log written beside the store,
 * whose name starts with the store's, does not wake it; a commit does. */
static void test_watch_own_files(void **state)
{
    struct fx *f = *state;
    struct ft_err err;
    if (pg_base)
        skip(); /* PostgreSQL's watch is LISTEN: no files */
    int fd = -1;
    int64_t recheck = 0;
    assert_int_equal(ft_store_watch_open(f->st, &fd, &err), 0);
    assert_true(fd >= 0);
    while (ft_store_watch_read(f->st, &recheck) > 0) {
    }
    static const char *const beside[] = {".log", "-backup", "-wal.old", "2"};
    for (size_t i = 0; i < sizeof(beside) / sizeof(beside[0]); i++) {
        char other[300];
        snprintf(other, sizeof(other), "%s%s", f->path, beside[i]);
        FILE *fp = fopen(other, "w");
        assert_non_null(fp);
        fputs("a line of a log\n", fp);
        fclose(fp);
        assert_int_equal(ft_store_watch_read(f->st, &recheck), 0);
        unlink(other);
    }
    add(f, FT_K_NOTE, "a commit");
    assert_int_equal(ft_store_watch_read(f->st, &recheck), 1);
    assert_true(recheck > 0);
    ft_store_watch_close(f->st);
}

/* begin_read holds one snapshot: a write by another handle meanwhile is not seen until its end,
 * so a copy is the store as of one moment. */
static void test_copy_reads_one_snapshot(void **state)
{
    struct fx *f = *state;
    struct ft_err err;
    struct ft_store *other = NULL;
    assert_int_equal(ft_store_open(f->path, 0, &other, &err), 0);
    void *db;
    const struct ft_store_backend *be = ft__store_backend(f->st, &db);
    int64_t before = 0, during = 0, after = 0;
    assert_int_equal(be->begin_read(db, &err), 0);
    free(dump_table(f->st, FT_COPY_EVENTS, &before));
    add_to(other, f->tid, FT_K_NOTE, "written while the snapshot is held");
    free(dump_table(f->st, FT_COPY_EVENTS, &during));
    be->rollback(db);
    free(dump_table(f->st, FT_COPY_EVENTS, &after));
    assert_true(before > 0);
    assert_int_equal(during, before);
    assert_int_equal(after, before + 1);
    ft_store_close(other);
}

/* A destination holding anything (here only a setting, which is not an event) is refused and
 * left as it was; a copy that fails part way leaves nothing in its destination. */
static void test_copy_refusals(void **state)
{
    struct fx *f = *state;
    struct ft_err err;
    fill_source(f);
    char path[256];
    struct ft_store *busy = open_beside(f, "busy.db", 0, path, sizeof(path));
    assert_int_equal(ft_store_setting_set(busy, "default_tracker", "mine", &err), 0);
    assert_int_equal(ft_store_copy(f->st, busy, NULL, &err), FT_EEXIST);
    assert_non_null(strstr(err.msg, "not empty"));
    assert_non_null(strstr(err.msg, "settings"));
    int64_t n = 0;
    char *rows = dump_table(busy, FT_COPY_SETTINGS, &n);
    assert_string_equal(rows, "T15:default_tracker|T4:mine|\n");
    free(rows);
    assert_int_equal(total_rows(busy), 1);
    assert_int_equal(ft_store_copy(f->st, f->st, NULL, &err), FT_EINVAL);
    ft_store_close(busy);

    /* a value no store holds, in the last event: found after every other table was copied.
     * PostgreSQL's columns cannot hold it: there the source is a SQLite copy of the store. */
    struct ft_store *from = f->st;
    if (pg_base) {
        from = open_beside(f, "source.db", 1, path, sizeof(path));
        assert_int_equal(ft_store_copy(f->st, from, NULL, &err), 0);
        ft_store_close(from);
        sqlite3 *db;
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(
            sqlite3_exec(db, "UPDATE events SET at = 1.5 WHERE seq = (SELECT max(seq) FROM events)",
                         NULL, NULL, NULL),
            SQLITE_OK);
        sqlite3_close(db);
        assert_int_equal(ft_store_open(path, 0, &from, &err), 0);
    } else {
        raw_sql(f, "UPDATE events SET at = 1.5 WHERE seq = (SELECT max(seq) FROM events)");
    }
    struct ft_store *to = open_beside(f, "partial.db", 0, path, sizeof(path));
    assert_int_equal(ft_store_copy(from, to, NULL, &err), FT_EINVAL);
    assert_non_null(strstr(err.msg, "real number"));
    assert_non_null(strstr(err.msg, "events"));
    assert_int_equal(total_rows(to), 0);
    ft_store_close(to);
    if (from != f->st)
        ft_store_close(from);
}

/* A store of schema version 1 (before claims) is brought forward when opened: its rows kept,
 * claims and the waiting status usable. PostgreSQL only: the SQLite migration has its own
 * test (tests/e2e/t1410-store-migration.sh). */
static void test_pg_migration(void **state)
{
    struct fx *f = *state;
    if (!pg_base)
        skip();
    char path[256], sql[8192], v[32];
    store_path(f, NULL, 0, path, sizeof(path));
    snprintf(sql, sizeof(sql),
             "%s CREATE TABLE flowtrack_schema (version INTEGER NOT NULL);"
             " INSERT INTO flowtrack_schema VALUES (1);"
             " INSERT INTO trackers (slug, title, status, created_at, updated_at)"
             " VALUES ('old', 'Old', 1, 1, 1);"
             " INSERT INTO entries (tracker_id, kind, num, pos, text, created_at, updated_at,"
             " state_at) VALUES (1, 2, 1, 1, 'an old item', 1, 1, 1)",
             ft__pg_migration(1));
    assert_int_equal(psql(path, sql, NULL, 0), 0);
    struct ft_store *st = NULL;
    struct ft_err err;
    assert_int_equal(ft_store_open(path, 0, &st, &err), 0);
    assert_int_equal(psql(path, "SELECT version FROM flowtrack_schema", v, sizeof(v)), 0);
    assert_string_equal(v, "2");
    int64_t tid = 0;
    assert_int_equal(ft_store_tracker_find(st, "old", &tid, &err), 0);
    struct ft_tracker *t = NULL;
    assert_int_equal(ft_store_tracker_load(st, tid, &t, &err), 0);
    assert_int_equal(t->status, 1);
    assert_string_equal(t->lists[FT_K_ITEM].v[0].text, "an old item");
    ft_tracker_free(t);
    assert_int_equal(psql(path, "UPDATE trackers SET status = 2", NULL, 0), 0);
    assert_int_equal(psql(path, "UPDATE entries SET claimed_by = 'agent-1'", NULL, 0), 0);
    ft_store_close(st);
}

/* A password in a database URL never reaches a message or a log. */
static void test_path_shown(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"postgres://ft:s3cret@db:5432/ft", "postgres://ft:***@db:5432/ft"},
        {"postgresql://ft:p@ss:w@rd@db/ft", "postgresql://ft:***@db/ft"},
        {"postgres://ft@db/ft?password=x@y", "postgres://ft@db/ft?password=***"},
        {"postgres://u:p@db/ft?sslmode=require&password=x&connect_timeout=3",
         "postgres://u:***@db/ft?sslmode=require&password=***&connect_timeout=3"},
        {"postgres://ft@db/ft?sslmode=require", "postgres://ft@db/ft?sslmode=require"},
        {"postgres://db/ft", "postgres://db/ft"},
        {"/var/lib/flowtrack/a:b@c.db", "/var/lib/flowtrack/a:b@c.db"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[128];
        ft_store_path_shown(cases[i][0], buf, sizeof(buf));
        assert_string_equal(buf, cases[i][1]);
    }
    assert_true(ft_store_path_is_url("postgres://db/ft"));
    assert_true(ft_store_path_is_url("postgresql://db/ft"));
    assert_false(ft_store_path_is_url("postgres.db"));
}

int main(void)
{
    pg_base = getenv("FT_TEST_PG");
    if (pg_base && !*pg_base)
        pg_base = NULL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_shown),
        cmocka_unit_test_setup_teardown(test_pg_migration, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numbers_and_moves, setup, teardown),
        cmocka_unit_test_setup_teardown(test_patch_and_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_actor_and_slug_conflict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_store_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_write_and_precondition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_columns_are_the_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_whole_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_view_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_own_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_reads_one_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_refusals, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
