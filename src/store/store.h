/*
 * store: where trackers live, behind one handle (struct ft_store).
 *
 * This is the public store API. Below it, store.c holds the rules every
 * backend shares (validation, patches, slug choice, numbering, event payloads,
 * the write bracket) and a backend (backend.h; SQLite in sqlite.c) keeps the
 * rows. ft_store_open() picks the backend from the path.
 *
 * What every backend guarantees, and so what every caller may rely on:
 *  - One event per mutation: every call below that changes anything runs in
 *    one write transaction that also appends exactly one event (sequence
 *    number, tracker, time, actor, kind, JSON payload) to the events log, so
 *    the log is the complete history and the source of the live stream.
 *    Settings (the default tracker) are not events.
 *  - Durability on return: a call that returns 0 has committed durably; the
 *    write survives a crash of the process (SQLite: synchronous=FULL, of the
 *    machine too). A call that fails has written nothing.
 *  - Sequence numbers in commit order: a reader that has seen event N never
 *    later finds a new event numbered below N, so "every event after N" is
 *    a complete resume point (Last-Event-ID).
 *
 * Concurrency: several processes may write the same store; a writer waits up
 * to the busy timeout (10 s) for another's lock, then fails with FT_EBUSY.
 * A handle belongs to one thread.
 * Errors: 0 or a negative enum ft_code with err filled.
 */
#ifndef FT_STORE_H
#define FT_STORE_H

#include "../core/model.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct ft_err;
struct ft_store;

#define FT_SCHEMA_VERSION 2

/* Whether path names a database server's store (postgres://...) rather than a file. */
int ft_store_path_is_url(const char *path);
/* path as logs and messages show it: a password in a URL (user:password@) as ***. */
void ft_store_path_shown(const char *path, char *buf, size_t n);

enum ft_store_flags {
    FT_STORE_CREATE = 1, /* create the file (and its schema) when missing */
};

int ft_store_open(const char *path, int flags, struct ft_store **out, struct ft_err *err);
/* Finalize every statement and close the database. NULL is allowed. */
void ft_store_close(struct ft_store *st);
const char *ft_store_path(const struct ft_store *st);
/* Who the events of later writes are attributed to (copied). */
void ft_store_set_actor(struct ft_store *st, const char *actor);
/* How long a write waits for a lock another process holds before failing with
 * FT_EBUSY (default 10 s; the server sets a shorter one: its event loop waits too). */
void ft_store_set_busy_timeout(struct ft_store *st, int ms);
/* Number of statements prepared and not yet finalized (for leak checks). */
int ft_store_open_statements(const struct ft_store *st);
/* Store handles open in this process (opened and not yet closed). */
int ft_store_handles_open(void);
/* The sequence number of the event the last successful write of st appended, 0 before one. */
int64_t ft_store_last_write(const struct ft_store *st);
/* The slug of that write's tracker after it ("" before one); valid until the next write. */
const char *ft_store_last_write_slug(const struct ft_store *st);
/*
 * A precondition for the next write to a tracker: it commits only while that tracker's version
 * (ft_store_tracker_version) is still `version`, checked inside its transaction, and fails with
 * FT_EEXIST (field "If-Match") otherwise. The next write clears it, whatever its outcome;
 * a negative version clears it now.
 */
void ft_store_expect_version(struct ft_store *st, int64_t version);

/* ---- trackers ---- */

/* Resolve a tracker reference (slug, or number) to its id. */
int ft_store_tracker_find(struct ft_store *st, const char *ref, int64_t *id, struct ft_err *err);
/* The number of trackers (up to 2 is enough for callers) and, when 1, its id. */
int ft_store_tracker_single(struct ft_store *st, int64_t *id, int *count, struct ft_err *err);
/*
 * A JSON array of tracker summaries (id, slug, title, status, progress counts,
 * updated_at), oldest first. The caller owns the reference.
 */
int ft_store_tracker_list(struct ft_store *st, json_t **out, struct ft_err *err);
/* Load a tracker's header fields only (no entries, no runs). Caller frees with ft_tracker_free. */
int ft_store_tracker_header(struct ft_store *st, int64_t id, struct ft_tracker **out,
                            struct ft_err *err);
/* Load a whole tracker (runs without their logs). Caller frees with ft_tracker_free. */
int ft_store_tracker_load(struct ft_store *st, int64_t id, struct ft_tracker **out,
                          struct ft_err *err);
enum ft_load_flags {
    FT_LOAD_CHANGES = 1, /* each item's state changes (entry->changes) */
    FT_LOAD_VIEW = 2,    /* to be read only: the entries' strings in one pool (ft_tracker.pool) */
    FT_LOAD_LAYOUT = 4,  /* only what the layouts show: entries' ids, times and positions are 0 */
};
/* The same with a choice of what to load: 0 skips the item state changes; FT_LOAD_VIEW makes a
 * tracker that is rendered and freed, never changed (its strings are allocated together). */
int ft_store_tracker_load_ex(struct ft_store *st, int64_t id, int flags, struct ft_tracker **out,
                             struct ft_err *err);
/*
 * Insert t (header and every entry, in order) as a new tracker. t->slug may be
 * "" (derived from the title). On success t->id, t->slug and the entries'
 * numbers are filled in. event_kind: "tracker.create" or "tracker.import".
 */
int ft_store_tracker_create(struct ft_store *st, struct ft_tracker *t, const char *event_kind,
                            struct ft_err *err);
/*
 * Change header fields from a JSON object: slug, org, title, started, owner,
 * objective, status, repro_command, repro_timeout_ms, repro_expect, repro_note,
 * symptoms_note, hyps_note, results_note, fix_summary, fix_why, fix_evidence.
 * Unknown fields and wrong types are FT_EINVAL naming the field.
 */
int ft_store_tracker_update(struct ft_store *st, int64_t id, json_t *patch, struct ft_err *err);
int ft_store_tracker_delete(struct ft_store *st, int64_t id, struct ft_err *err);

/* ---- entries (rules, steps, items, symptoms, hypotheses, results, follow-ups, notes) ---- */

/*
 * Append e (kind, title, text, state, detail, date, run_id as set by the
 * caller) to tracker tid; e->num, e->id and the times are filled in.
 */
int ft_store_entry_add(struct ft_store *st, int64_t tid, struct ft_entry *e, struct ft_err *err);
/* Load entry `num` of `kind` into *out (release it with ft_entry_release). */
int ft_store_entry_get(struct ft_store *st, int64_t tid, enum ft_kind kind, int num,
                       struct ft_entry *out, struct ft_err *err);
/*
 * Change an entry from a JSON object. Fields by kind: text (all; "attempt" for
 * results), title (step), state (item), verdict and evidence (hyp), outcome,
 * notes and date (result). On success *out (when not NULL) holds the entry.
 */
int ft_store_entry_update(struct ft_store *st, int64_t tid, enum ft_kind kind, int num,
                          json_t *patch, struct ft_entry *out, struct ft_err *err);
/* Move an entry to 1-based position pos among its kind (clamped to the end). */
int ft_store_entry_move(struct ft_store *st, int64_t tid, enum ft_kind kind, int num, int pos,
                        struct ft_err *err);
int ft_store_entry_remove(struct ft_store *st, int64_t tid, enum ft_kind kind, int num,
                          struct ft_err *err);

/*
 * Claims: an item in progress held by one actor (the store's actor), so that many agents can
 * share a tracker. Each call is one write transaction, so of many concurrent claimers of one
 * item exactly one wins.
 *  FT_CLAIM          a pending item (or one in progress that nobody holds) becomes in progress,
 *                    held by the actor; the holder claiming again renews the claim's time;
 *                    held by another: FT_EEXIST "item N is claimed by ACTOR ..."
 *  FT_CLAIM_STEAL    as FT_CLAIM, and a claim of another actor at least stale_ms old is taken
 *                    over (a younger one is FT_EEXIST)
 *  FT_CLAIM_RELEASE  the holder gives the item back: pending again, unclaimed; another actor's
 *                    claim is FT_EEXIST
 *  FT_CLAIM_RELEASE_FORCE  as FT_CLAIM_RELEASE, whoever holds it
 * A done or dropped item cannot be claimed (FT_EEXIST). Moving an item out of progress by
 * ft_store_entry_update ends its claim. On success *out (when not NULL) holds the item, and
 * *previous (when not NULL) the actor whose claim was taken over or released (else NULL; the
 * caller frees it).
 */
enum ft_claim_how { FT_CLAIM, FT_CLAIM_STEAL, FT_CLAIM_RELEASE, FT_CLAIM_RELEASE_FORCE };
int ft_store_item_claim(struct ft_store *st, int64_t tid, int num, enum ft_claim_how how,
                        int64_t stale_ms, struct ft_entry *out, char **previous,
                        struct ft_err *err);

/* ---- runs ---- */

/*
 * Record a run and, when result is not NULL, its results-log entry (linked to
 * the run) in one transaction with one "run.record" event. Fills r->id, r->num
 * and result->num.
 */
int ft_store_run_record(struct ft_store *st, int64_t tid, struct ft_run *r, struct ft_entry *result,
                        struct ft_err *err);
/* Load run `num` of tracker tid, with its log and diagnosis. */
int ft_store_run_get(struct ft_store *st, int64_t tid, int num, struct ft_run *out,
                     struct ft_err *err);

/* ---- events ---- */

struct ft_event {
    int64_t seq;
    int64_t tracker_id; /* 0 for events about no tracker */
    const char *slug;   /* the tracker's slug at the time, "" when none */
    int64_t at;         /* Unix ms */
    const char *actor;
    const char *kind;    /* "item.add", "tracker.update", ... */
    const char *payload; /* JSON text */
};

/* Return non-zero from the callback to stop early (that value is returned). */
typedef int (*ft_event_cb)(const struct ft_event *ev, void *ctx);

/*
 * Call cb for events after `after_seq`, oldest first: of tracker tid (0 = all),
 * whose kind starts with kind_prefix (NULL = any), at most `limit` (0 = no limit).
 * With newest_first, the newest `limit` events are visited, newest first.
 */
int ft_store_events(struct ft_store *st, int64_t tid, const char *kind_prefix, int64_t after_seq,
                    int limit, int newest_first, ft_event_cb cb, void *ctx, struct ft_err *err);
/*
 * A tracker's version: the sequence number of its newest event (every change
 * appends exactly one), 0 when it has none. One index lookup.
 */
int ft_store_tracker_version(struct ft_store *st, int64_t tid, int64_t *seq, struct ft_err *err);
/* The newest sequence number, 0 when the log is empty. */
int ft_store_last_seq(struct ft_store *st, int64_t *seq, struct ft_err *err);

/* ---- change watch ---- */

/*
 * A descriptor that becomes readable when another process (or this one) may have written
 * the store: the server's loop waits on it. *fd is -1 when the backend has none; the caller
 * then polls. Owned by the store (closed by ft_store_watch_close or ft_store_close).
 */
int ft_store_watch_open(struct ft_store *st, int *fd, struct ft_err *err);
/*
 * After the descriptor became readable: drain it and return 1 when the log may have grown,
 * else 0. *recheck_ms is how long to keep re-reading the log now and then after that (a
 * backend may signal a write a little before its commit becomes visible), 0 when not needed.
 */
int ft_store_watch_read(struct ft_store *st, int64_t *recheck_ms);
/* ft_store_watch_read() returns this when the watch is gone (its connection to a database
 * server failed): the caller stops waiting on the descriptor, closes the watch, reads the log
 * by polling and opens the watch again later. */
#define FT_WATCH_LOST (-1)

/* The state of the store's connection, for /healthz and /metrics. A file store is always up. */
struct ft_store_health {
    int up;              /* the last statement reached the store, or it is a file */
    uint64_t reconnects; /* connections to a database server made again after a loss */
    char why[256];       /* when down: the last error */
};
void ft_store_health(struct ft_store *st, struct ft_store_health *h);
/*
 * Nonzero when the watch may signal a write after its writer's commit has returned
 * (PostgreSQL): then a reader that must see every write completed before it asked cannot rely
 * on the watch alone and compares the log's head (ft_store_last_seq) with what it has read.
 * SQLite's watch sees the commit's own file writes: 0.
 */
int ft_store_watch_lags(struct ft_store *st);
/*
 * After ft_store_watch_read() returned 1: the newest sequence number the writes it saw named
 * (PostgreSQL's notifications carry their transaction's last event), 0 when unknown. A reader
 * that has already read the log that far has nothing new to read.
 */
int64_t ft_store_watch_head(struct ft_store *st);
void ft_store_watch_close(struct ft_store *st);

/* ---- settings (default tracker, ...) ---- */

/* *val is NULL when the key is not set; otherwise the caller frees it. */
int ft_store_setting_get(struct ft_store *st, const char *key, char **val, struct ft_err *err);
/* val NULL removes the key. Settings changes are not events. */
int ft_store_setting_set(struct ft_store *st, const char *key, const char *val, struct ft_err *err);

#endif
