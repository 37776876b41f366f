/* faults: the fault spec parser, then the fault VFS under the store as SQLite tests itself
 * (make the Nth write, sync or read fail, check that nothing changed, repeat with N+1 until
 * the operation goes through). Built only with FT_FAULTS. */
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

#include "store/faults.h"
#include "store/store.h"
#include "util/ft_err.h"
#include "util/ft_xalloc.h"

/* ---- the parser ------------------------------------------------------------------------ */

static void parses(const char *text, long write, long full, long fsync, long read, long times)
{
    struct ft_fault_spec s;
    struct ft_err err;
    assert_int_equal(ft_faults_parse(text, &s, &err), 0);
    assert_int_equal(s.at[FT_FAULT_WRITE], write);
    assert_int_equal(s.at[FT_FAULT_FULL], full);
    assert_int_equal(s.at[FT_FAULT_FSYNC], fsync);
    assert_int_equal(s.at[FT_FAULT_READ], read);
    assert_int_equal(s.times, times);
}

static void refuses(const char *text, const char *needle)
{
    struct ft_fault_spec s;
    struct ft_err err;
    assert_int_equal(ft_faults_parse(text, &s, &err), FT_EINVAL);
    if (!strstr(err.msg, needle))
        fail_msg("'%s': message '%s' lacks '%s'", text, err.msg, needle);
    /* a refused spec arms nothing */
    for (int k = 0; k < FT_FAULT__COUNT; k++)
        assert_int_equal(s.at[k], 0);
}

static void test_parse(void **state)
{
    (void)state;
    parses(NULL, 0, 0, 0, 0, 1);
    parses("", 0, 0, 0, 0, 1);
    parses("\n", 0, 0, 0, 0, 1);
    parses("write=3", 3, 0, 0, 0, 1);
    parses("full=1", 0, 1, 0, 0, 1);
    parses("fsync=2,times=0", 0, 0, 2, 0, 0);
    parses("read=7,times=4\n", 0, 0, 0, 7, 4);
    parses("times=2,write=1,full=5,fsync=1,read=9", 1, 5, 1, 9, 2);
    parses("write=1,,fsync=1", 1, 0, 1, 0, 1);
    parses("write=1000000000", 1000000000, 0, 0, 0, 1);
}

static void test_parse_refused(void **state)
{
    (void)state;
    refuses("write", "is not KIND=N");
    refuses("write=1,fsync", "'fsync' is not KIND=N");
    refuses("disk=1", "'disk' is not one of");
    refuses("Write=1", "'Write' is not one of");
    refuses("write=1,write=2", "given twice");
    refuses("times=1,times=2", "given twice");
    refuses("write=0", "'write=0' is not a count (1 or more)");
    refuses("write=-1", "'write=-1' is not a count");
    refuses("write=+1", "'write=+1' is not a count");
    refuses("write=1x", "'write=1x' is not a count");
    refuses("write= 1", "is not a count");
    refuses("write=", "'write' needs a number");
    refuses("times=-1", "'times=-1' is not a count (0 or more)");
    refuses("read=1000000001", "is not a count");
    refuses("read=123456789012345678901", "'read' needs a number");
    refuses(" write=1", "is not one of");
}

/* ---- the VFS under the store ---------------------------------------------------------- */

static char dir[64], db_path[128], spec_path[128];

/* Arm spec in the running process: written aside, then renamed over the spec file. */
static void arm(const char *spec)
{
    char tmp[160];
    snprintf(tmp, sizeof(tmp), "%s.tmp", spec_path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fputs(spec, f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(tmp, spec_path), 0);
}

static void disarm(void)
{
    unlink(spec_path);
}

static int64_t add_item(struct ft_store *st, int64_t tid, const char *text, struct ft_err *err)
{
    struct ft_entry e;
    memset(&e, 0, sizeof(e));
    e.kind = FT_K_ITEM;
    e.title = ft_xstrdup("");
    e.text = ft_xstrdup(text);
    e.detail = ft_xstrdup("");
    e.date = ft_xstrdup("");
    int rc = ft_store_entry_add(st, tid, &e, err);
    int num = e.num;
    ft_entry_release(&e);
    return rc ? rc : num;
}

/* Items of tracker tid and the last event, read by a connection of SQLite's own: what any
 * reader finds on the file. */
static void on_file(int64_t tid, int *items, int64_t *last_seq)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    /* the fault VFS is the default now: read through the real one */
    assert_int_equal(sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, "unix"), SQLITE_OK);
    assert_int_equal(
        sqlite3_prepare_v2(db,
                           "SELECT (SELECT count(*) FROM entries WHERE tracker_id = ?1"
                           " AND kind = 2), (SELECT coalesce(max(seq), 0) FROM events)",
                           -1, &s, NULL),
        SQLITE_OK);
    sqlite3_bind_int64(s, 1, tid);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    *items = sqlite3_column_int(s, 0);
    *last_seq = sqlite3_column_int64(s, 1);
    sqlite3_finalize(s);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "ok");
    sqlite3_finalize(s);
    sqlite3_close(db);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/ft-faults-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(db_path, sizeof(db_path), "%s/s.db", dir);
    snprintf(spec_path, sizeof(spec_path), "%s/faults", dir);
    /* read once, at the first store opened by this process */
    setenv("FLOWTRACK_FAULTS_FILE", spec_path, 1);
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/*
 * For one kind: the Nth call of that kind fails, N = 1, 2... until adding an item goes
 * through. Every failure has the kind's code and words, leaves the file as it was (no item,
 * no event, integrity ok), and the same handle then writes once the fault is cleared.
 */
static void fault_loop(const char *kind, int want_code, const char *words)
{
    struct ft_store *st = NULL;
    struct ft_err err;
    int64_t tid;
    disarm();
    assert_int_equal(ft_store_open(db_path, FT_STORE_CREATE, &st, &err), 0);
    ft_store_set_actor(st, "tester");
    struct ft_tracker *t = ft_tracker_new();
    ft_set_str(&t->title, kind);
    ft_set_str(&t->slug, kind);
    assert_int_equal(ft_store_tracker_create(st, t, "tracker.create", &err), 0);
    tid = t->id;
    ft_tracker_free(t);
    assert_true(add_item(st, tid, "before", &err) > 0);

    int failures = 0, n;
    for (n = 1; n <= 40; n++) {
        int items0, items1;
        int64_t seq0, seq1;
        char spec[32], text[32];
        on_file(tid, &items0, &seq0);
        snprintf(spec, sizeof(spec), "%s=%d", kind, n);
        snprintf(text, sizeof(text), "%s %d", kind, n);
        arm(spec);
        int64_t rc = add_item(st, tid, text, &err);
        disarm();
        on_file(tid, &items1, &seq1);
        if (rc > 0) { /* the Nth call came after the write: it went through once */
            assert_int_equal(items1, items0 + 1);
            assert_true(seq1 > seq0);
            break;
        }
        failures++;
        assert_int_equal(rc, want_code);
        if (!strstr(err.msg, words))
            fail_msg("%s: message '%s' lacks '%s'", spec, err.msg, words);
        assert_int_equal(items1, items0);
        assert_int_equal(seq1, seq0);
        /* the handle is clean: the next write (no fault) goes through */
        snprintf(text, sizeof(text), "%s %d retried", kind, n);
        assert_true(add_item(st, tid, text, &err) > 0);
    }
    if (n > 40)
        fail_msg("%s: the write still failed at the 40th call", kind);
    assert_true(failures >= 1);
    print_message("%s: %d failing points, then the write went through\n", kind, failures);
    assert_int_equal(ft_store_open_statements(st) >= 0, 1);
    ft_store_close(st);
}

static void test_write_faults(void **state)
{
    (void)state;
    fault_loop("write", FT_EIO, "storage: disk I/O error (write)");
}

static void test_full_faults(void **state)
{
    (void)state;
    fault_loop("full", FT_ENOSPC, "storage full");
}

static void test_fsync_faults(void **state)
{
    (void)state;
    fault_loop("fsync", FT_EIO, "storage: disk I/O error (fsync)");
}

/* A read fault fails a read with FT_EIO and its words; cleared, the same handle reads again. */
static void test_read_faults(void **state)
{
    struct ft_store *st = NULL;
    struct ft_err err;
    struct ft_tracker *t = NULL;
    int64_t tid = 0;
    (void)state;
    disarm();
    assert_int_equal(ft_store_open(db_path, FT_STORE_CREATE, &st, &err), 0);
    assert_int_equal(ft_store_tracker_find(st, "write", &tid, &err), 0);
    arm("read=1,times=0");
    int rc = ft_store_tracker_load(st, tid, &t, &err);
    assert_int_equal(rc, FT_EIO);
    assert_null(t);
    if (!strstr(err.msg, "storage: disk I/O error (read)"))
        fail_msg("read fault: message '%s'", err.msg);
    disarm();
    assert_int_equal(ft_store_tracker_load(st, tid, &t, &err), 0);
    assert_true(t->lists[FT_K_ITEM].n >= 2);
    ft_tracker_free(t);
    ft_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),        cmocka_unit_test(test_parse_refused),
        cmocka_unit_test(test_write_faults), cmocka_unit_test(test_full_faults),
        cmocka_unit_test(test_fsync_faults), cmocka_unit_test(test_read_faults),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
