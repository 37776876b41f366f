/*
 * copy: a whole store into an empty one, through the backends' copy primitives (backend.h:
 * begin_read, copy_out, copy_in), so that it works between any two backends. It is the way to
 * move a store from one backend to another, and to make a consistent copy of a live store.
 *
 * Every row of every table is copied with its values as they are: ids, entry numbers and
 * positions, event sequence numbers, times and actors. The tables and their columns are listed
 * once, in copy.c, from the current schema (FT_SCHEMA_VERSION).
 *
 * Errors: 0 or a negative enum ft_code with err filled.
 */
#ifndef FT_STORE_COPY_H
#define FT_STORE_COPY_H

#include "backend.h"

#include <stdint.h>

struct ft_err;
struct ft_store;

/* The tables, in the order they are copied: every foreign key holds while inserting. */
enum ft_copy_tab {
    FT_COPY_TRACKERS,
    FT_COPY_RUNS,
    FT_COPY_ENTRIES, /* results refer to their run */
    FT_COPY_STATE_CHANGES,
    FT_COPY_EVENTS,
    FT_COPY_SETTINGS,
    FT_COPY__COUNT
};

struct ft_copy_report {
    int64_t rows[FT_COPY__COUNT]; /* rows copied, per table */
};

/* Table t as the copy sees it: its name in the schema ("trackers", "state_changes"...) and
 * columns. Static: never freed. */
const struct ft_copy_table *ft_copy_table(enum ft_copy_tab t);

/*
 * Copy every row of `from` into `to`, which must be empty: a store with any row in any table
 * is refused (FT_EEXIST) and nothing is written. `from` is read in one snapshot (begin_read),
 * so a writer meanwhile cannot make the copy inconsistent; `to` is written in one write
 * transaction, so on any error it is left as it was. On success *rep (NULL allowed) holds the
 * rows copied per table.
 */
int ft_store_copy(struct ft_store *from, struct ft_store *to, struct ft_copy_report *rep,
                  struct ft_err *err);

/* Every row of table t of st, in key order, as the copy reads them (cb as copy_out's). */
int ft_store_copy_out(struct ft_store *st, enum ft_copy_tab t, ft_copy_row_cb cb, void *ctx,
                      struct ft_err *err);

#endif
