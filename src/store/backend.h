/*
 * backend: what a storage engine implements under the store (store.h).
 *
 * The store's public calls (store.c) hold every domain rule once: validation
 * and normalisation, patches, slug choice, entry numbering and positions, the
 * event payloads, and the write bracket that appends exactly one event per
 * change. A backend only keeps and fetches rows: each function below is one
 * storage primitive, with no rule of its own. SQLite (sqlite.c) is the first;
 * a second backend is a second table of these functions, nothing more.
 *
 * Contract, for every backend:
 *  - begin() starts a write transaction that excludes every other writer of
 *    the same store (other processes included) until commit() or rollback();
 *    a writer that cannot get it within the busy timeout fails with FT_EBUSY.
 *  - commit() returns 0 only once the transaction is durable: it survives a
 *    crash of the process (and of the machine where the engine allows).
 *  - event_append() gives sequence numbers that grow with commit order: a
 *    reader that has seen event N never later finds a new event below N.
 *  - Reads outside a transaction see only committed data; reads between begin_read() and
 *    rollback() all see the same committed state (a snapshot).
 *  - Errors: 0 or a negative enum ft_code with err filled; a row that is
 *    not there is FT_ENOTFOUND only where a function says so.
 *  - One connection (void *db) belongs to one thread.
 */
#ifndef FT_STORE_BACKEND_H
#define FT_STORE_BACKEND_H

#include "store.h"

#include <stddef.h>
#include <stdint.h>

/* One row of the tracker list. Strings are valid during the callback only. */
struct ft_tracker_row {
    int64_t id;
    const char *slug, *title;
    int status;
    int64_t updated_at;
    int progress[FT_ST__COUNT]; /* items per state */
    int64_t last_seq;           /* the tracker's last event (0, NULL: none) */
    const char *last_actor, *last_kind;
};
typedef void (*ft_tracker_row_cb)(const struct ft_tracker_row *row, void *ctx);

/*
 * Copying a whole store between backends (copy.c) moves rows as neutral values: the one
 * description of the tables and columns is copy.c's; a backend only maps it onto its own
 * storage. Every column of the schema is an integer or a text, either of which may be NULL.
 */
enum ft_cell_type { FT_CELL_NULL, FT_CELL_INT, FT_CELL_TEXT };
struct ft_cell {
    enum ft_cell_type type;
    int64_t i;        /* FT_CELL_INT */
    const char *text; /* FT_CELL_TEXT: len bytes (no terminating NUL is promised) */
    size_t len;
};
/* One table as the copy sees it. The names are fixed identifiers of the schema, never input. */
struct ft_copy_table {
    const char *name;
    const char *const *cols;
    int ncols;
    const char *key; /* the column rows are ordered by; NULL: the order they were inserted in */
};
/* One row: cells[0..ncols) in the table's column order, valid during the call only. Return
 * non-zero to stop (copy_out then returns that value). */
typedef int (*ft_copy_row_cb)(const struct ft_cell *cells, int ncols, void *ctx);

struct ft_store_backend {
    const char *name;

    /* Open (FT_STORE_CREATE: create and migrate) the store at path; *db is the connection. */
    int (*open)(const char *path, int flags, void **db, struct ft_err *err);
    void (*close)(void *db); /* NULL allowed */
    void (*set_busy_timeout)(void *db, int ms);
    int (*open_statements)(void *db); /* statements held, for leak checks */

    int (*begin)(void *db, struct ft_err *err);
    int (*commit)(void *db, struct ft_err *err);
    void (*rollback)(void *db);
    /* A read snapshot: every read until rollback() sees the store as of one commit, whatever
     * other processes write meanwhile. Takes no write lock. */
    int (*begin_read)(void *db, struct ft_err *err);

    /*
     * Copy primitives (copy.c), which never apply a domain rule:
     * copy_out gives every row of table tab to cb, in order of tab->key (its primary key; NULL:
     * insertion order), as tab->ncols cells. A value that is neither NULL, an integer nor a text
     * is FT_EINVAL naming the table and column. copy_in inserts one row with exactly the given
     * values (ids, sequence numbers, times and actors included), inside begin(); the schema's
     * constraints (foreign keys, uniqueness) still apply. After events are copied in,
     * event_append continues after the largest sequence number inserted.
     */
    int (*copy_out)(void *db, const struct ft_copy_table *tab, ft_copy_row_cb cb, void *ctx,
                    struct ft_err *err);
    int (*copy_in)(void *db, const struct ft_copy_table *tab, const struct ft_cell *cells,
                   struct ft_err *err);

    /* Trackers. find: by slug, or by id when slug is NULL; FT_ENOTFOUND when absent. */
    int (*tracker_find)(void *db, const char *slug, int64_t id, int64_t *out, struct ft_err *err);
    /* The first two trackers by id: *count (0, 1 or 2) and the first one's id. */
    int (*tracker_first_two)(void *db, int64_t *id, int *count, struct ft_err *err);
    int (*tracker_rows)(void *db, ft_tracker_row_cb cb, void *ctx, struct ft_err *err);
    /* The slug of tracker id (the caller frees it); FT_ENOTFOUND when absent. */
    int (*tracker_slug)(void *db, int64_t id, char **slug, struct ft_err *err);
    /* Header fields of tracker id into t; FT_ENOTFOUND when absent. */
    int (*header_load)(void *db, int64_t id, struct ft_tracker *t, struct ft_err *err);
    /* Entries (in kind and position order), runs (no log) and, with FT_LOAD_CHANGES, item
     * state changes of tracker t->id, appended to t. */
    int (*tracker_load)(void *db, struct ft_tracker *t, int flags, struct ft_err *err);
    int (*slug_taken)(void *db, const char *slug, int *taken, struct ft_err *err);
    /* Insert t's header with created_at = updated_at = now; sets t->id. */
    int (*tracker_insert)(void *db, struct ft_tracker *t, int64_t now, struct ft_err *err);
    /* Write every header field of t (by t->id) and updated_at = now. */
    int (*tracker_write)(void *db, const struct ft_tracker *t, int64_t now, struct ft_err *err);
    int (*tracker_touch)(void *db, int64_t id, int64_t now, struct ft_err *err);
    /* Delete the tracker and everything it owns (entries, runs, state changes). */
    int (*tracker_delete)(void *db, int64_t id, struct ft_err *err);

    /* Entries of one tracker and kind; positions are kept dense (1..n) by the caller. */
    int (*entry_get)(void *db, int64_t tid, enum ft_kind kind, int num, struct ft_entry *out,
                     int *pos, struct ft_err *err); /* FT_ENOTFOUND when absent */
    /* The next free number and the position after the last entry. */
    int (*entry_next)(void *db, int64_t tid, enum ft_kind kind, int *num, int *pos,
                      struct ft_err *err);
    int (*entry_count)(void *db, int64_t tid, enum ft_kind kind, int *count, struct ft_err *err);
    /* Insert e (its num set) at pos with every time = now; sets e->id. */
    int (*entry_insert)(void *db, int64_t tid, struct ft_entry *e, int pos, int64_t now,
                        struct ft_err *err);
    /* Write e's title, text, state, detail, date, updated_at and state_at (by e->id). */
    int (*entry_write)(void *db, const struct ft_entry *e, struct ft_err *err);
    /* Add `by` to the position of the entries of (tid, kind) at positions lo..hi. */
    int (*entry_shift)(void *db, int64_t tid, enum ft_kind kind, int by, int lo, int hi,
                       struct ft_err *err);
    int (*entry_set_pos)(void *db, int64_t id, int pos, int64_t now, struct ft_err *err);
    int (*entry_delete)(void *db, int64_t id, struct ft_err *err);
    int (*state_change)(void *db, int64_t entry_id, int state, int64_t at, struct ft_err *err);

    /* Runs. next: the next free number of tracker tid. insert sets r->id. */
    int (*run_next)(void *db, int64_t tid, int *num, struct ft_err *err);
    int (*run_insert)(void *db, int64_t tid, struct ft_run *r, struct ft_err *err);
    int (*run_get)(void *db, int64_t tid, int num, struct ft_run *out,
                   struct ft_err *err); /* FT_ENOTFOUND when absent */

    /* Events. append: the new event's sequence number in *seq (tid 0: about no tracker). */
    int (*event_append)(void *db, int64_t tid, const char *slug, int64_t at, const char *actor,
                        const char *kind, const char *payload, int64_t *seq, struct ft_err *err);
    /* As ft_store_events(). */
    int (*events)(void *db, int64_t tid, const char *kind_prefix, int64_t after_seq, int limit,
                  int newest_first, ft_event_cb cb, void *ctx, struct ft_err *err);
    int (*tracker_version)(void *db, int64_t tid, int64_t *seq, struct ft_err *err);
    int (*last_seq)(void *db, int64_t *seq, struct ft_err *err);

    /* Settings: *val NULL when unset (else the caller frees it); val NULL removes. */
    int (*setting_get)(void *db, const char *key, char **val, struct ft_err *err);
    int (*setting_set)(void *db, const char *key, const char *val, struct ft_err *err);

    /* The change watch, as ft_store_watch_open() and ft_store_watch_read() (which may return
     * FT_WATCH_LOST). */
    int (*watch_open)(void *db, int *fd, struct ft_err *err);
    int (*watch_read)(void *db, int64_t *recheck_ms);
    void (*watch_close)(void *db);
    /* Nonzero when the watch's signal may arrive after the writer's commit has returned (as
     * PostgreSQL delivers notifications), so that it cannot tell a reader of everything
     * written before its question alone; as ft_store_watch_lags(). */
    int watch_lags;
    /* The newest sequence number the last watch_read's signals named, 0 when they did not
     * name one; as ft_store_watch_head(). NULL: never named. */
    int64_t (*watch_head)(void *db);
    /* As ft_store_health(); NULL: always up. */
    void (*health)(void *db, struct ft_store_health *h);
};

extern const struct ft_store_backend ft_store_sqlite;
extern const struct ft_store_backend ft_store_pg;

/* Whether a store path names a PostgreSQL database (postgres:// or postgresql://). */
int ft_pg_is_url(const char *path);
/* The SQL that brings a PostgreSQL store to schema version `version` (for the migration
 * tests); NULL past the last. */
const char *ft__pg_migration(int version);

/*
 * For tracker_load with FT_LOAD_CHANGES: attach state changes to t's items. next() gives one
 * change per call (the item's row id, the state, the time) in order of item id, oldest first
 * for each, and returns 1, or 0 after the last, or a negative ft_code (then returned).
 */
typedef int (*ft_change_next)(void *ctx, int64_t *entry_id, int *state, int64_t *at);
int ft__attach_changes(struct ft_tracker *t, ft_change_next next, void *ctx);

/* The backend of an open store and its connection (for copy.c, which works through the
 * primitives above only). */
const struct ft_store_backend *ft__store_backend(struct ft_store *st, void **db);

#endif
