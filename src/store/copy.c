/*
 * copy.c: the copy of a whole store (copy.h), above the backend seam.
 *
 * The list below is the one description of what a store holds; a backend turns it into its
 * own statements. It follows the schema of sqlite.c's migrations (FT_SCHEMA_VERSION 2): a new
 * column there must be added here, or the copy silently drops it (tests/unit/test_store.c
 * compares every table of a copy with its source).
 */
#include "copy.h"

#include "../util/ft_err.h"

#include <string.h>

#include "../util/banned.h"

_Static_assert(FT_SCHEMA_VERSION == 2, "the copy's table list follows the schema: update it");

static const char *const trackers_cols[] = {
    "id",           "slug",       "org",           "title",         "started",
    "owner",        "objective",  "status",        "repro_command", "repro_timeout_ms",
    "repro_expect", "repro_note", "symptoms_note", "hyps_note",     "results_note",
    "fix_summary",  "fix_why",    "fix_evidence",  "created_at",    "updated_at"};
static const char *const runs_cols[] = {
    "id",          "tracker_id", "num",    "command", "cwd", "label",         "started_at",
    "duration_ms", "exit_code",  "signal", "outcome", "log", "log_truncated", "diagnosis"};
static const char *const entries_cols[] = {"id",         "tracker_id", "kind",       "num",
                                           "pos",        "title",      "text",       "state",
                                           "detail",     "date",       "run_id",     "created_at",
                                           "updated_at", "state_at",   "claimed_by", "claimed_at"};
static const char *const state_changes_cols[] = {"entry_id", "state", "at"};
static const char *const events_cols[] = {"seq",   "tracker_id", "slug",   "at",
                                          "actor", "kind",       "payload"};
static const char *const settings_cols[] = {"key", "value"};

#define TABLE(name, cols, key)                                                                     \
    {                                                                                              \
        name, cols, (int)(sizeof(cols) / sizeof(cols[0])), key                                     \
    }

/* State changes have no key of their own: their insertion order is the order of an item's
 * history, and copying them in that order keeps it. */
static const struct ft_copy_table tables[FT_COPY__COUNT] = {
    [FT_COPY_TRACKERS] = TABLE("trackers", trackers_cols, "id"),
    [FT_COPY_RUNS] = TABLE("runs", runs_cols, "id"),
    [FT_COPY_ENTRIES] = TABLE("entries", entries_cols, "id"),
    [FT_COPY_STATE_CHANGES] = TABLE("state_changes", state_changes_cols, NULL),
    [FT_COPY_EVENTS] = TABLE("events", events_cols, "seq"),
    [FT_COPY_SETTINGS] = TABLE("settings", settings_cols, "key"),
};

const struct ft_copy_table *ft_copy_table(enum ft_copy_tab t)
{
    return &tables[t];
}

int ft_store_copy_out(struct ft_store *st, enum ft_copy_tab t, ft_copy_row_cb cb, void *ctx,
                      struct ft_err *err)
{
    void *db;
    const struct ft_store_backend *be = ft__store_backend(st, &db);
    return be->copy_out(db, &tables[t], cb, ctx, err);
}

static int note_row(const struct ft_cell *cells, int ncols, void *ctx)
{
    (void)cells;
    (void)ncols;
    *(int *)ctx = 1;
    return 1; /* one row is enough */
}

/* FT_EEXIST when any table of the destination has a row. */
static int check_empty(const struct ft_store_backend *be, void *db, const char *where,
                       struct ft_err *err)
{
    for (int t = 0; t < FT_COPY__COUNT; t++) {
        int any = 0;
        int rc = be->copy_out(db, &tables[t], note_row, &any, err);
        if (rc < 0)
            return rc;
        if (any)
            return ft_err_set(err, FT_EEXIST,
                              "the destination '%s' is not empty (it holds %s): copy into a new "
                              "or empty store",
                              where, tables[t].name);
    }
    return 0;
}

/* The rows of one table on their way from copy_out to copy_in. */
struct pump {
    const struct ft_store_backend *be;
    void *db; /* the destination */
    const struct ft_copy_table *tab;
    int64_t rows;
    struct ft_err *err;
};

static int pump_row(const struct ft_cell *cells, int ncols, void *ctx)
{
    struct pump *p = ctx;
    (void)ncols;
    int rc = p->be->copy_in(p->db, p->tab, cells, p->err);
    if (!rc)
        p->rows++;
    return rc; /* an error stops copy_out, which returns it as it is */
}

int ft_store_copy(struct ft_store *from, struct ft_store *to, struct ft_copy_report *rep,
                  struct ft_err *err)
{
    void *src, *dst;
    const struct ft_store_backend *sbe = ft__store_backend(from, &src);
    const struct ft_store_backend *dbe = ft__store_backend(to, &dst);
    struct ft_copy_report r;
    memset(&r, 0, sizeof(r));
    if (from == to)
        return ft_err_set(err, FT_EINVAL, "cannot copy a store onto itself");

    int rc = sbe->begin_read(src, err);
    if (rc) {
        sbe->rollback(src);
        return rc;
    }
    rc = dbe->begin(dst, err);
    char shown[1024];
    ft_store_path_shown(ft_store_path(to), shown, sizeof(shown));
    if (!rc)
        rc = check_empty(dbe, dst, shown, err);
    for (int t = 0; !rc && t < FT_COPY__COUNT; t++) {
        struct pump p = {dbe, dst, &tables[t], 0, err};
        rc = sbe->copy_out(src, &tables[t], pump_row, &p, err);
        r.rows[t] = p.rows;
    }
    if (!rc)
        rc = dbe->commit(dst, err);
    if (rc)
        dbe->rollback(dst);
    sbe->rollback(src); /* the end of the snapshot: nothing was written to undo */
    if (!rc && rep)
        *rep = r;
    return rc;
}
