/*
 * The SQLite store. Schema changes are forward migrations keyed on
 * PRAGMA user_version; a file whose version is newer than this build knows is
 * refused before anything is written to it. Positions within a kind are kept
 * dense (1..n) so that moving and removing are single UPDATE statements.
 */
#include "store.h"

#include "../core/patch.h"
#include "../core/render.h"
#include "../util/ft_buf.h"
#include "../util/ft_err.h"
#include "../util/ft_text.h"
#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/banned.h"

#define FT_APP_ID  0x466c5472 /* "FlTr" */
#define STMT_CACHE 48
#define BUSY_MS    10000

struct ft_store {
    sqlite3 *db;
    char *path;
    char *actor;
    struct {
        const char *sql; /* static string: its address is the key */
        sqlite3_stmt *stmt;
    } cache[STMT_CACHE];
    int ncache;
    int in_tx;
    int busy_ms; /* the busy timeout, for messages */
};

static const char *const migrations[] = {
    /* 1: the initial schema */
    "CREATE TABLE trackers ("
    "  id INTEGER PRIMARY KEY,"
    "  slug TEXT NOT NULL UNIQUE,"
    "  org TEXT NOT NULL DEFAULT '',"
    "  title TEXT NOT NULL,"
    "  started TEXT NOT NULL DEFAULT '',"
    "  owner TEXT NOT NULL DEFAULT '',"
    "  objective TEXT NOT NULL DEFAULT '',"
    "  status INTEGER NOT NULL DEFAULT 0 CHECK (status IN (0, 1)),"
    "  repro_command TEXT NOT NULL DEFAULT '',"
    "  repro_timeout_ms INTEGER NOT NULL DEFAULT 0,"
    "  repro_expect TEXT NOT NULL DEFAULT '',"
    "  repro_note TEXT NOT NULL DEFAULT '',"
    "  symptoms_note TEXT NOT NULL DEFAULT '',"
    "  hyps_note TEXT NOT NULL DEFAULT '',"
    "  results_note TEXT NOT NULL DEFAULT '',"
    "  fix_summary TEXT NOT NULL DEFAULT '',"
    "  fix_why TEXT NOT NULL DEFAULT '',"
    "  fix_evidence TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL"
    ");"
    "CREATE TABLE runs ("
    "  id INTEGER PRIMARY KEY,"
    "  tracker_id INTEGER NOT NULL REFERENCES trackers(id) ON DELETE CASCADE,"
    "  num INTEGER NOT NULL,"
    "  command TEXT NOT NULL,"
    "  cwd TEXT NOT NULL DEFAULT '',"
    "  label TEXT NOT NULL DEFAULT '',"
    "  started_at INTEGER NOT NULL,"
    "  duration_ms INTEGER NOT NULL,"
    "  exit_code INTEGER NOT NULL,"
    "  signal INTEGER NOT NULL DEFAULT 0,"
    "  outcome INTEGER NOT NULL,"
    "  log TEXT NOT NULL DEFAULT '',"
    "  log_truncated INTEGER NOT NULL DEFAULT 0,"
    "  diagnosis TEXT NOT NULL DEFAULT '',"
    "  UNIQUE (tracker_id, num)"
    ");"
    "CREATE TABLE entries ("
    "  id INTEGER PRIMARY KEY,"
    "  tracker_id INTEGER NOT NULL REFERENCES trackers(id) ON DELETE CASCADE,"
    "  kind INTEGER NOT NULL,"
    "  num INTEGER NOT NULL,"
    "  pos INTEGER NOT NULL,"
    "  title TEXT NOT NULL DEFAULT '',"
    "  text TEXT NOT NULL,"
    "  state INTEGER NOT NULL DEFAULT 0,"
    "  detail TEXT NOT NULL DEFAULT '',"
    "  date TEXT NOT NULL DEFAULT '',"
    "  run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  state_at INTEGER NOT NULL,"
    "  UNIQUE (tracker_id, kind, num)"
    ");"
    "CREATE INDEX entries_pos ON entries (tracker_id, kind, pos);"
    "CREATE TABLE state_changes ("
    "  entry_id INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,"
    "  state INTEGER NOT NULL,"
    "  at INTEGER NOT NULL"
    ");"
    "CREATE INDEX state_changes_entry ON state_changes (entry_id);"
    "CREATE TABLE events ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  tracker_id INTEGER,"
    "  slug TEXT NOT NULL DEFAULT '',"
    "  at INTEGER NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  payload TEXT NOT NULL"
    ");"
    "CREATE INDEX events_tracker ON events (tracker_id, seq);"
    "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
};
#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

_Static_assert(NMIGRATIONS == FT_SCHEMA_VERSION, "one migration per schema version");

/* ---- statements ---------------------------------------------------------------------- */

static int db_err(struct ft_store *st, struct ft_err *err, const char *what)
{
    int ec = sqlite3_extended_errcode(st->db);
    int code = (ec & 0xff) == SQLITE_BUSY || (ec & 0xff) == SQLITE_LOCKED ? FT_EBUSY : FT_EIO;
    if ((ec & 0xff) == SQLITE_CONSTRAINT)
        code = FT_EEXIST;
    if (code == FT_EBUSY)
        return ft_err_set(err, code,
                          "%s: the store is locked by another process (waited %d ms); try again",
                          what, st->busy_ms);
    return ft_err_set(err, code, "%s: %s", what, sqlite3_errmsg(st->db));
}

/* The cached statement for sql (a string literal), reset and with bindings cleared. */
static sqlite3_stmt *stmt(struct ft_store *st, const char *sql, struct ft_err *err)
{
    for (int i = 0; i < st->ncache; i++) {
        if (st->cache[i].sql == sql) {
            sqlite3_reset(st->cache[i].stmt);
            sqlite3_clear_bindings(st->cache[i].stmt);
            return st->cache[i].stmt;
        }
    }
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
        db_err(st, err, "prepare");
        return NULL;
    }
    if (st->ncache < STMT_CACHE) {
        st->cache[st->ncache].sql = sql;
        st->cache[st->ncache++].stmt = s;
    } else {
        /* cannot happen with the fixed set of statements below */
        sqlite3_finalize(s);
        ft_err_set(err, FT_EIO, "statement cache full");
        return NULL;
    }
    return s;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    sqlite3_bind_text(s, i, v ? v : "", -1, SQLITE_TRANSIENT);
}

static const char *col_text(sqlite3_stmt *s, int i)
{
    const char *v = (const char *)sqlite3_column_text(s, i);
    return v ? v : "";
}

static char *col_dup(sqlite3_stmt *s, int i)
{
    return ft_xstrdup(col_text(s, i));
}

/* Step a statement that returns no rows. */
static int exec_step(struct ft_store *st, sqlite3_stmt *s, struct ft_err *err, const char *what)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return db_err(st, err, what);
    return 0;
}

static int exec_sql(struct ft_store *st, const char *sql, struct ft_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = db_err(st, err, msg ? msg : "exec");
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

/* ---- transactions -------------------------------------------------------------------- */

static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";

static int tx_begin(struct ft_store *st, struct ft_err *err)
{
    sqlite3_stmt *s = stmt(st, SQL_BEGIN, err);
    if (!s)
        return err ? err->code : FT_EIO;
    int rc = exec_step(st, s, err, "begin");
    if (!rc)
        st->in_tx = 1;
    return rc;
}

static int tx_end(struct ft_store *st, int rc, struct ft_err *err)
{
    if (!st->in_tx)
        return rc;
    st->in_tx = 0;
    if (rc) {
        sqlite3_stmt *s = stmt(st, SQL_ROLLBACK, NULL);
        if (s)
            exec_step(st, s, NULL, "rollback");
        return rc;
    }
    sqlite3_stmt *s = stmt(st, SQL_COMMIT, err);
    if (!s)
        return FT_EIO;
    rc = exec_step(st, s, err, "commit");
    if (rc) {
        s = stmt(st, SQL_ROLLBACK, NULL);
        if (s)
            exec_step(st, s, NULL, "rollback");
    }
    return rc;
}

/* ---- open / close -------------------------------------------------------------------- */

static int pragma_int(struct ft_store *st, const char *sql, int *out, struct ft_err *err)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return db_err(st, err, "pragma");
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW)
        return db_err(st, err, "pragma");
    return 0;
}

static int migrate(struct ft_store *st, int from, struct ft_err *err)
{
    int rc = tx_begin(st, err);
    if (rc)
        return rc;
    /* Re-read inside the lock: another process may have migrated meanwhile. */
    rc = pragma_int(st, "PRAGMA user_version", &from, err);
    for (int v = from; !rc && v < FT_SCHEMA_VERSION; v++)
        rc = exec_sql(st, migrations[v], err);
    if (!rc) {
        char sql[96];
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d; PRAGMA application_id = %d",
                 FT_SCHEMA_VERSION, FT_APP_ID);
        rc = exec_sql(st, sql, err);
    }
    return tx_end(st, rc, err);
}

int ft_store_open(const char *path, int flags, struct ft_store **out, struct ft_err *err)
{
    struct stat sb;
    int exists = stat(path, &sb) == 0;

    *out = NULL;
    if (!exists && !(flags & FT_STORE_CREATE))
        return ft_err_set(err, FT_ENOTFOUND, "no store at '%s' (run 'flowtrack init')", path);
    if (exists && !S_ISREG(sb.st_mode))
        return ft_err_set(err, FT_EINVAL, "'%s' is not a regular file", path);

    struct ft_store *st = ft_xcalloc(1, sizeof(*st));
    st->path = ft_xstrdup(path);
    st->actor = ft_xstrdup("unknown");
    int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (flags & FT_STORE_CREATE)
        oflags |= SQLITE_OPEN_CREATE;
    int rc = 0;
    if (sqlite3_open_v2(path, &st->db, oflags, NULL) != SQLITE_OK) {
        rc = ft_err_set(err, FT_EIO, "cannot open store '%s': %s", path,
                        st->db ? sqlite3_errmsg(st->db) : "out of memory");
        goto fail;
    }
    st->busy_ms = BUSY_MS;
    sqlite3_busy_timeout(st->db, BUSY_MS);
    sqlite3_extended_result_codes(st->db, 1);

    int version = 0, app = 0, objects = 0;
    if ((rc = pragma_int(st, "PRAGMA user_version", &version, err)) ||
        (rc = pragma_int(st, "PRAGMA application_id", &app, err)) ||
        (!version && (rc = pragma_int(st, "SELECT count(*) FROM sqlite_schema", &objects, err)))) {
        if (err && strstr(err->msg, "not a database"))
            rc = ft_err_set(err, FT_EINVAL, "'%s' is not a flowtrack store", path);
        goto fail;
    }
    /* ours: our application id; new: version 0 and empty */
    if ((version && app != FT_APP_ID) || (!version && (app || objects))) {
        rc = ft_err_set(err, FT_EINVAL, "'%s' is not a flowtrack store", path);
        goto fail;
    }
    if (version > FT_SCHEMA_VERSION) {
        rc = ft_err_set(err, FT_EVERSION,
                        "store '%s' has schema version %d, newer than this flowtrack knows (%d); "
                        "upgrade flowtrack to use it",
                        path, version, FT_SCHEMA_VERSION);
        goto fail;
    }
    /* The WAL file outlives the connection, emptied rather than deleted: the last
     * connection to close still checkpoints, then truncates the WAL to zero bytes
     * (persistent WAL with a journal size limit), so the next command neither
     * replays old frames nor creates, syncs the directory for and deletes the
     * WAL and shm files. Every commit is still synced (synchronous = FULL). */
    int persist = 1;
    sqlite3_file_control(st->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    if ((rc = exec_sql(st,
                       "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                       "PRAGMA journal_size_limit = 4194304;"
                       "PRAGMA foreign_keys = ON; PRAGMA mmap_size = 268435456",
                       err)))
        goto fail;
    if (version < FT_SCHEMA_VERSION && (rc = migrate(st, version, err)))
        goto fail;
    *out = st;
    return 0;
fail:
    ft_store_close(st);
    return rc;
}

void ft_store_close(struct ft_store *st)
{
    if (!st)
        return;
    for (int i = 0; i < st->ncache; i++)
        sqlite3_finalize(st->cache[i].stmt);
    st->ncache = 0;
    sqlite3_close(st->db);
    free(st->path);
    free(st->actor);
    free(st);
}

const char *ft_store_path(const struct ft_store *st)
{
    return st->path;
}

void ft_store_set_actor(struct ft_store *st, const char *actor)
{
    ft_set_str(&st->actor, actor && *actor ? actor : "unknown");
}

void ft_store_set_busy_timeout(struct ft_store *st, int ms)
{
    st->busy_ms = ms;
    sqlite3_busy_timeout(st->db, ms);
}

int ft_store_open_statements(const struct ft_store *st)
{
    int n = 0;
    for (sqlite3_stmt *s = sqlite3_next_stmt(st->db, NULL); s; s = sqlite3_next_stmt(st->db, s))
        n++;
    return n;
}

/* ---- events -------------------------------------------------------------------------- */

static const char SQL_EVENT_ADD[] =
    "INSERT INTO events (tracker_id, slug, at, actor, kind, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/* Append one event; takes the payload reference. */
static int event_add(struct ft_store *st, int64_t tid, const char *slug, int64_t at,
                     const char *kind, json_t *payload, struct ft_err *err)
{
    char *text = json_dumps(payload, JSON_COMPACT);
    json_decref(payload);
    sqlite3_stmt *s = stmt(st, SQL_EVENT_ADD, err);
    if (!s || !text) {
        free(text);
        return s ? ft_err_set(err, FT_ENOMEM, "event payload") : FT_EIO;
    }
    if (tid)
        sqlite3_bind_int64(s, 1, tid);
    else
        sqlite3_bind_null(s, 1);
    bind_text(s, 2, slug);
    sqlite3_bind_int64(s, 3, at);
    bind_text(s, 4, st->actor);
    bind_text(s, 5, kind);
    bind_text(s, 6, text);
    free(text);
    return exec_step(st, s, err, "append event");
}

static const char SQL_EVENTS_ASC[] =
    "SELECT seq, coalesce(tracker_id, 0), slug, at, actor, kind, payload FROM events"
    " WHERE seq > ?1 AND (?2 = 0 OR tracker_id = ?2) AND (?3 = '' OR substr(kind, 1, length(?3)) = ?3)"
    " ORDER BY seq LIMIT ?4";
static const char SQL_EVENTS_DESC[] =
    "SELECT seq, coalesce(tracker_id, 0), slug, at, actor, kind, payload FROM events"
    " WHERE seq > ?1 AND (?2 = 0 OR tracker_id = ?2) AND (?3 = '' OR substr(kind, 1, length(?3)) = ?3)"
    " ORDER BY seq DESC LIMIT ?4";

int ft_store_events(struct ft_store *st, int64_t tid, const char *kind_prefix, int64_t after_seq,
                    int limit, int newest_first, ft_event_cb cb, void *ctx, struct ft_err *err)
{
    sqlite3_stmt *s = stmt(st, newest_first ? SQL_EVENTS_DESC : SQL_EVENTS_ASC, err);
    if (!s)
        return FT_EIO;
    sqlite3_bind_int64(s, 1, after_seq);
    sqlite3_bind_int64(s, 2, tid);
    bind_text(s, 3, kind_prefix ? kind_prefix : "");
    sqlite3_bind_int64(s, 4, limit > 0 ? limit : -1);
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct ft_event ev = {
            .seq = sqlite3_column_int64(s, 0),
            .tracker_id = sqlite3_column_int64(s, 1),
            .slug = col_text(s, 2),
            .at = sqlite3_column_int64(s, 3),
            .actor = col_text(s, 4),
            .kind = col_text(s, 5),
            .payload = col_text(s, 6),
        };
        if ((ret = cb(&ev, ctx)) != 0)
            break;
    }
    if (!ret && rc != SQLITE_DONE)
        ret = db_err(st, err, "read events");
    sqlite3_reset(s);
    return ret;
}

static const char SQL_TRACKER_VERSION[] =
    "SELECT coalesce(max(seq), 0) FROM events WHERE tracker_id = ?1";

int ft_store_tracker_version(struct ft_store *st, int64_t tid, int64_t *seq, struct ft_err *err)
{
    sqlite3_stmt *s = stmt(st, SQL_TRACKER_VERSION, err);
    if (!s)
        return FT_EIO;
    sqlite3_bind_int64(s, 1, tid);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *seq = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 0 : db_err(st, err, "read events");
}

static const char SQL_LAST_SEQ[] = "SELECT coalesce(max(seq), 0) FROM events";

int ft_store_last_seq(struct ft_store *st, int64_t *seq, struct ft_err *err)
{
    sqlite3_stmt *s = stmt(st, SQL_LAST_SEQ, err);
    if (!s)
        return FT_EIO;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *seq = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 0 : db_err(st, err, "read events");
}

/* ---- trackers ------------------------------------------------------------------------ */

static const char SQL_FIND_SLUG[] = "SELECT id FROM trackers WHERE slug = ?1";
static const char SQL_FIND_ID[] = "SELECT id FROM trackers WHERE id = ?1";

int ft_store_tracker_find(struct ft_store *st, const char *ref, int64_t *id, struct ft_err *err)
{
    int numeric = *ref && strspn(ref, "0123456789") == strlen(ref) && strlen(ref) < 18;
    sqlite3_stmt *s = stmt(st, numeric ? SQL_FIND_ID : SQL_FIND_SLUG, err);
    if (!s)
        return FT_EIO;
    if (numeric)
        sqlite3_bind_int64(s, 1, strtoll(ref, NULL, 10));
    else
        bind_text(s, 1, ref);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc != SQLITE_DONE)
        return db_err(st, err, "find tracker");
    return ft_err_set(err, FT_ENOTFOUND, "no tracker '%s'", ref);
}

static const char SQL_FIRST_TWO[] = "SELECT id FROM trackers ORDER BY id LIMIT 2";

int ft_store_tracker_single(struct ft_store *st, int64_t *id, int *count, struct ft_err *err)
{
    sqlite3_stmt *s = stmt(st, SQL_FIRST_TWO, err);
    if (!s)
        return FT_EIO;
    int rc;
    *count = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((*count)++ == 0)
            *id = sqlite3_column_int64(s, 0);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : db_err(st, err, "list trackers");
}

static const char SQL_LIST[] =
    "SELECT t.id, t.slug, t.title, t.status, t.updated_at,"
    " (SELECT count(*) FROM entries e WHERE e.tracker_id = t.id AND e.kind = 2 AND e.state = 0),"
    " (SELECT count(*) FROM entries e WHERE e.tracker_id = t.id AND e.kind = 2 AND e.state = 1),"
    " (SELECT count(*) FROM entries e WHERE e.tracker_id = t.id AND e.kind = 2 AND e.state = 2),"
    " (SELECT count(*) FROM entries e WHERE e.tracker_id = t.id AND e.kind = 2 AND e.state = 3)"
    " FROM trackers t ORDER BY t.id";

int ft_store_tracker_list(struct ft_store *st, json_t **out, struct ft_err *err)
{
    sqlite3_stmt *s = stmt(st, SQL_LIST, err);
    if (!s)
        return FT_EIO;
    json_t *a = json_array();
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(sqlite3_column_int64(s, 0)));
        json_object_set_new(o, "slug", json_string(col_text(s, 1)));
        json_object_set_new(o, "title", json_string(col_text(s, 2)));
        json_object_set_new(o, "status",
                            json_string(sqlite3_column_int(s, 3) ? "resolved" : "open"));
        json_object_set_new(o, "updated_at", ft_json_time(sqlite3_column_int64(s, 4)));
        json_t *p = json_object();
        for (int k = 0; k < FT_ST__COUNT; k++)
            json_object_set_new(p, ft_state_name(k), json_integer(sqlite3_column_int(s, 5 + k)));
        json_object_set_new(o, "progress", p);
        json_array_append_new(a, o);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        json_decref(a);
        return db_err(st, err, "list trackers");
    }
    *out = a;
    return 0;
}

static const char SQL_TRACKER_GET[] =
    "SELECT id, slug, org, title, started, owner, objective, status, repro_command,"
    " repro_timeout_ms, repro_expect, repro_note, symptoms_note, hyps_note, results_note,"
    " fix_summary, fix_why, fix_evidence, created_at, updated_at FROM trackers WHERE id = ?1";

static int header_load(struct ft_store *st, int64_t id, struct ft_tracker *t, struct ft_err *err)
{
    sqlite3_stmt *s = stmt(st, SQL_TRACKER_GET, err);
    if (!s)
        return FT_EIO;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        t->id = sqlite3_column_int64(s, 0);
        char **strs[] = {&t->slug, &t->org, &t->title, &t->started, &t->owner, &t->objective};
        for (int i = 0; i < 6; i++)
            ft_set_str(strs[i], col_text(s, 1 + i));
        t->status = sqlite3_column_int(s, 7);
        ft_set_str(&t->repro_command, col_text(s, 8));
        t->repro_timeout_ms = sqlite3_column_int64(s, 9);
        char **more[] = {&t->repro_expect, &t->repro_note,  &t->symptoms_note, &t->hyps_note,
                         &t->results_note, &t->fix_summary, &t->fix_why,       &t->fix_evidence};
        for (int i = 0; i < 8; i++)
            ft_set_str(more[i], col_text(s, 10 + i));
        t->created_at = sqlite3_column_int64(s, 18);
        t->updated_at = sqlite3_column_int64(s, 19);
    }
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return ft_err_set(err, FT_ENOTFOUND, "no tracker with id %lld", (long long)id);
    return rc == SQLITE_ROW ? 0 : db_err(st, err, "load tracker");
}

static const char SQL_TRACKER_INSERT[] =
    "INSERT INTO trackers (slug, org, title, started, owner, objective, status, repro_command,"
    " repro_timeout_ms, repro_expect, repro_note, symptoms_note, hyps_note, results_note,"
    " fix_summary, fix_why, fix_evidence, created_at, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?18)";
static const char SQL_TRACKER_WRITE[] =
    "UPDATE trackers SET slug = ?1, org = ?2, title = ?3, started = ?4, owner = ?5, objective = ?6,"
    " status = ?7, repro_command = ?8, repro_timeout_ms = ?9, repro_expect = ?10, repro_note = ?11,"
    " symptoms_note = ?12, hyps_note = ?13, results_note = ?14, fix_summary = ?15, fix_why = ?16,"
    " fix_evidence = ?17, updated_at = ?18 WHERE id = ?19";
static const char SQL_TOUCH[] = "UPDATE trackers SET updated_at = ?1 WHERE id = ?2";

static void bind_header(sqlite3_stmt *s, const struct ft_tracker *t, int64_t now)
{
    bind_text(s, 1, t->slug);
    bind_text(s, 2, t->org);
    bind_text(s, 3, t->title);
    bind_text(s, 4, t->started);
    bind_text(s, 5, t->owner);
    bind_text(s, 6, t->objective);
    sqlite3_bind_int(s, 7, t->status);
    bind_text(s, 8, t->repro_command);
    sqlite3_bind_int64(s, 9, t->repro_timeout_ms);
    bind_text(s, 10, t->repro_expect);
    bind_text(s, 11, t->repro_note);
    bind_text(s, 12, t->symptoms_note);
    bind_text(s, 13, t->hyps_note);
    bind_text(s, 14, t->results_note);
    bind_text(s, 15, t->fix_summary);
    bind_text(s, 16, t->fix_why);
    bind_text(s, 17, t->fix_evidence);
    sqlite3_bind_int64(s, 18, now);
}

static int touch(struct ft_store *st, int64_t tid, int64_t now, struct ft_err *err)
{
    sqlite3_stmt *s = stmt(st, SQL_TOUCH, err);
    if (!s)
        return FT_EIO;
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int64(s, 2, tid);
    return exec_step(st, s, err, "update tracker");
}

static const char SQL_SLUG_TAKEN[] = "SELECT 1 FROM trackers WHERE slug = ?1";

static int slug_taken(struct ft_store *st, const char *slug, int *taken, struct ft_err *err)
{
    sqlite3_stmt *s = stmt(st, SQL_SLUG_TAKEN, err);
    if (!s)
        return FT_EIO;
    bind_text(s, 1, slug);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_err(st, err, "check slug");
    *taken = rc == SQLITE_ROW;
    return 0;
}

/* Choose a free slug for t: its own when given (taken is an error), else from its title. */
static int pick_slug(struct ft_store *st, struct ft_tracker *t, struct ft_err *err)
{
    int taken, rc;
    if (*t->slug) {
        if (!ft_slug_valid(t->slug))
            return ft_err_field(err, FT_EINVAL, "slug",
                                "slug '%s' is not valid: use a-z, 0-9 and '-', not only digits",
                                t->slug);
        if ((rc = slug_taken(st, t->slug, &taken, err)))
            return rc;
        return taken
                   ? ft_err_field(err, FT_EEXIST, "slug", "a tracker '%s' already exists", t->slug)
                   : 0;
    }
    char *base = ft_slugify(t->title, 40);
    char cand[64];
    snprintf(cand, sizeof(cand), "%s", base);
    for (int i = 2; (rc = slug_taken(st, cand, &taken, err)) == 0 && taken; i++)
        snprintf(cand, sizeof(cand), "%s-%d", base, i);
    free(base);
    if (!rc)
        ft_set_str(&t->slug, cand);
    return rc;
}

static int entry_insert(struct ft_store *st, int64_t tid, struct ft_entry *e, int64_t now,
                        struct ft_err *err);

int ft_store_tracker_create(struct ft_store *st, struct ft_tracker *t, const char *event_kind,
                            struct ft_err *err)
{
    int rc = ft_tracker_validate(t, err);
    for (int k = 0; k < FT_K__COUNT && !rc; k++)
        for (size_t i = 0; i < t->lists[k].n && !rc; i++)
            rc = ft_entry_validate(&t->lists[k].v[i], err);
    if (rc)
        return rc;
    if ((rc = tx_begin(st, err)))
        return rc;
    int64_t now = ft_now_ms();
    if ((rc = pick_slug(st, t, err)))
        goto out;
    sqlite3_stmt *s = stmt(st, SQL_TRACKER_INSERT, err);
    if (!s) {
        rc = FT_EIO;
        goto out;
    }
    bind_header(s, t, now);
    if ((rc = exec_step(st, s, err, "insert tracker")))
        goto out;
    t->id = sqlite3_last_insert_rowid(st->db);
    t->created_at = t->updated_at = now;
    for (int k = 0; k < FT_K__COUNT && !rc; k++)
        for (size_t i = 0; i < t->lists[k].n && !rc; i++)
            rc = entry_insert(st, t->id, &t->lists[k].v[i], now, err);
    if (rc)
        goto out;
    json_t *p =
        json_pack("{s:I, s:s, s:s}", "id", (json_int_t)t->id, "slug", t->slug, "title", t->title);
    json_t *n = json_object();
    static const char *const names[FT_K__COUNT] = {"rules",      "steps",   "items",     "symptoms",
                                                   "hypotheses", "results", "followups", "notes"};
    for (int k = 0; k < FT_K__COUNT; k++)
        json_object_set_new(n, names[k], json_integer((json_int_t)t->lists[k].n));
    json_object_set_new(p, "counts", n);
    rc = event_add(st, t->id, t->slug, now, event_kind, p, err);
out:
    return tx_end(st, rc, err);
}

/* ---- header patches ------------------------------------------------------------------ */

int ft_store_tracker_update(struct ft_store *st, int64_t id, json_t *patch, struct ft_err *err)
{
    struct ft_tracker *t = ft_tracker_new();
    json_t *changed = json_object();
    int rc = tx_begin(st, err);
    if (rc)
        goto done;
    if ((rc = header_load(st, id, t, err)))
        goto out;
    char *old_slug = ft_xstrdup(t->slug);
    rc = ft_tracker_patch(t, patch, changed, err);
    if (!rc && strcmp(old_slug, t->slug) != 0) {
        int taken;
        rc = slug_taken(st, t->slug, &taken, err);
        if (!rc && taken)
            rc = ft_err_field(err, FT_EEXIST, "slug", "a tracker '%s' already exists", t->slug);
    }
    free(old_slug);
    if (rc)
        goto out;
    int64_t now = ft_now_ms();
    sqlite3_stmt *s = stmt(st, SQL_TRACKER_WRITE, err);
    if (!s) {
        rc = FT_EIO;
        goto out;
    }
    bind_header(s, t, now);
    sqlite3_bind_int64(s, 19, id);
    if ((rc = exec_step(st, s, err, "update tracker")))
        goto out;
    json_t *p = json_pack("{s:O}", "changed", changed);
    rc = event_add(st, id, t->slug, now, "tracker.update", p, err);
out:
    rc = tx_end(st, rc, err);
done:
    json_decref(changed);
    ft_tracker_free(t);
    return rc;
}

static const char SQL_TRACKER_DELETE[] = "DELETE FROM trackers WHERE id = ?1";

int ft_store_tracker_delete(struct ft_store *st, int64_t id, struct ft_err *err)
{
    struct ft_tracker *t = ft_tracker_new();
    int rc = tx_begin(st, err);
    if (rc)
        goto done;
    if ((rc = header_load(st, id, t, err)))
        goto out;
    sqlite3_stmt *s = stmt(st, SQL_TRACKER_DELETE, err);
    if (!s) {
        rc = FT_EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, id);
    if ((rc = exec_step(st, s, err, "delete tracker")))
        goto out;
    rc = event_add(st, id, t->slug, ft_now_ms(), "tracker.delete",
                   json_pack("{s:s, s:s}", "slug", t->slug, "title", t->title), err);
out:
    rc = tx_end(st, rc, err);
done:
    ft_tracker_free(t);
    return rc;
}

/* ---- writes ------------------------------------------------------------------------ */

/*
 * Every change to one tracker has the same frame: an IMMEDIATE transaction,
 * the tracker's slug for the event, one clock reading; then, on success, the
 * tracker's updated_at and exactly one event before the commit.
 */
struct write {
    struct ft_store *st;
    int64_t tid;
    char *slug; /* owned; freed by write_end */
    int64_t now;
};

static const char SQL_SLUG_OF[] = "SELECT slug FROM trackers WHERE id = ?1";

/* Start a write on tracker tid. On error the transaction is already over. */
static int write_begin(struct ft_store *st, int64_t tid, struct write *w, struct ft_err *err)
{
    w->st = st;
    w->tid = tid;
    w->slug = NULL;
    w->now = ft_now_ms();
    int rc = tx_begin(st, err);
    if (rc)
        return rc;
    sqlite3_stmt *s = stmt(st, SQL_SLUG_OF, err);
    if (!s)
        return tx_end(st, FT_EIO, err);
    sqlite3_bind_int64(s, 1, tid);
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW)
        w->slug = col_dup(s, 0);
    sqlite3_reset(s);
    if (step == SQLITE_DONE)
        rc = ft_err_set(err, FT_ENOTFOUND, "no tracker with id %lld", (long long)tid);
    else if (step != SQLITE_ROW)
        rc = db_err(st, err, "find tracker");
    return rc ? tx_end(st, rc, err) : 0;
}

/*
 * Finish a write begun by write_begin: when rc is 0, touch the tracker and
 * append the event `kind` (taking payload), then commit; otherwise roll back.
 * Returns the final code.
 */
static int write_end(struct write *w, int rc, const char *kind, json_t *payload, struct ft_err *err)
{
    if (!rc)
        rc = touch(w->st, w->tid, w->now, err);
    if (!rc)
        rc = event_add(w->st, w->tid, w->slug, w->now, kind, payload, err);
    else
        json_decref(payload);
    rc = tx_end(w->st, rc, err);
    free(w->slug);
    w->slug = NULL;
    return rc;
}

/* "item.add", "hyp.update"... */
static const char *event_kind(enum ft_kind kind, const char *verb, char *buf, size_t n)
{
    snprintf(buf, n, "%s.%s", ft_kind_name(kind), verb);
    return buf;
}

/* ---- entries ------------------------------------------------------------------------- */

static const char SQL_NEXT_NUM[] =
    "SELECT coalesce(max(num), 0) + 1, (SELECT coalesce(max(pos), 0) + 1 FROM entries"
    " WHERE tracker_id = ?1 AND kind = ?2) FROM entries WHERE tracker_id = ?1 AND kind = ?2";
static const char SQL_ENTRY_INSERT[] =
    "INSERT INTO entries (tracker_id, kind, num, pos, title, text, state, detail, date, run_id,"
    " created_at, updated_at, state_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?11)";
static const char SQL_STATE_CHANGE[] =
    "INSERT INTO state_changes (entry_id, state, at) VALUES (?1, ?2, ?3)";

static int state_change(struct ft_store *st, int64_t entry_id, int state, int64_t at,
                        struct ft_err *err)
{
    sqlite3_stmt *s = stmt(st, SQL_STATE_CHANGE, err);
    if (!s)
        return FT_EIO;
    sqlite3_bind_int64(s, 1, entry_id);
    sqlite3_bind_int(s, 2, state);
    sqlite3_bind_int64(s, 3, at);
    return exec_step(st, s, err, "record state change");
}

/* Insert e at the end of its kind; fills num, id and times. Runs inside a transaction. */
static int entry_insert(struct ft_store *st, int64_t tid, struct ft_entry *e, int64_t now,
                        struct ft_err *err)
{
    sqlite3_stmt *s = stmt(st, SQL_NEXT_NUM, err);
    if (!s)
        return FT_EIO;
    sqlite3_bind_int64(s, 1, tid);
    sqlite3_bind_int(s, 2, e->kind);
    int rc = sqlite3_step(s);
    int num = 0, pos = 0;
    if (rc == SQLITE_ROW) {
        num = sqlite3_column_int(s, 0);
        pos = sqlite3_column_int(s, 1);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_ROW)
        return db_err(st, err, "number entry");

    s = stmt(st, SQL_ENTRY_INSERT, err);
    if (!s)
        return FT_EIO;
    sqlite3_bind_int64(s, 1, tid);
    sqlite3_bind_int(s, 2, e->kind);
    sqlite3_bind_int(s, 3, num);
    sqlite3_bind_int(s, 4, pos);
    bind_text(s, 5, e->title);
    bind_text(s, 6, e->text);
    sqlite3_bind_int(s, 7, e->state);
    bind_text(s, 8, e->detail);
    bind_text(s, 9, e->date);
    if (e->run_id)
        sqlite3_bind_int64(s, 10, e->run_id);
    else
        sqlite3_bind_null(s, 10);
    sqlite3_bind_int64(s, 11, now);
    if ((rc = exec_step(st, s, err, "insert entry")))
        return rc;
    e->id = sqlite3_last_insert_rowid(st->db);
    e->num = num;
    e->created_at = e->updated_at = e->state_at = now;
    if (e->kind == FT_K_ITEM)
        return state_change(st, e->id, e->state, now, err);
    return 0;
}

static int norm_entry(struct ft_entry *e, struct ft_err *err)
{
    char **strs[] = {&e->title, &e->text, &e->detail, &e->date};
    for (size_t i = 0; i < 4; i++) {
        char *n = ft_text_norm(*strs[i] ? *strs[i] : "");
        free(*strs[i]);
        *strs[i] = n;
    }
    if (strcmp(e->date, FT_NO_DATE) == 0)
        e->date[0] = '\0';
    return ft_entry_validate(e, err);
}

int ft_store_entry_add(struct ft_store *st, int64_t tid, struct ft_entry *e, struct ft_err *err)
{
    struct write w;
    char ek[32];
    int rc = norm_entry(e, err);
    if (rc || (rc = write_begin(st, tid, &w, err)))
        return rc;
    rc = entry_insert(st, tid, e, w.now, err);
    return write_end(&w, rc, event_kind(e->kind, "add", ek, sizeof(ek)),
                     rc ? NULL : ft_entry_to_json(e), err);
}

static const char SQL_ENTRY_GET[] =
    "SELECT e.id, e.num, e.pos, e.title, e.text, e.state, e.detail, e.date, coalesce(e.run_id, 0),"
    " e.created_at, e.updated_at, e.state_at, coalesce(r.num, 0)"
    " FROM entries e LEFT JOIN runs r ON r.id = e.run_id"
    " WHERE e.tracker_id = ?1 AND e.kind = ?2 AND e.num = ?3";
static const char SQL_ENTRIES_ALL[] =
    "SELECT e.id, e.num, e.pos, e.title, e.text, e.state, e.detail, e.date, coalesce(e.run_id, 0),"
    " e.created_at, e.updated_at, e.state_at, 0, e.kind"
    " FROM entries e WHERE e.tracker_id = ?1 ORDER BY e.kind, e.pos";

/* Fill e's numbers and times from a row (strings are read by the caller). */
static void entry_nums_from_row(sqlite3_stmt *s, struct ft_entry *e, int *pos)
{
    e->id = sqlite3_column_int64(s, 0);
    e->num = sqlite3_column_int(s, 1);
    if (pos)
        *pos = sqlite3_column_int(s, 2);
    e->state = sqlite3_column_int(s, 5);
    e->run_id = sqlite3_column_int64(s, 8);
    e->created_at = sqlite3_column_int64(s, 9);
    e->updated_at = sqlite3_column_int64(s, 10);
    e->state_at = sqlite3_column_int64(s, 11);
    e->run_num = sqlite3_column_int(s, 12);
}

static void entry_from_row(sqlite3_stmt *s, struct ft_entry *e, enum ft_kind kind, int *pos)
{
    e->kind = kind;
    e->title = col_dup(s, 3);
    e->text = col_dup(s, 4);
    e->detail = col_dup(s, 6);
    e->date = col_dup(s, 7);
    entry_nums_from_row(s, e, pos);
}

static int entry_get(struct ft_store *st, int64_t tid, enum ft_kind kind, int num,
                     struct ft_entry *out, int *pos, struct ft_err *err)
{
    sqlite3_stmt *s = stmt(st, SQL_ENTRY_GET, err);
    if (!s)
        return FT_EIO;
    sqlite3_bind_int64(s, 1, tid);
    sqlite3_bind_int(s, 2, kind);
    sqlite3_bind_int(s, 3, num);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof(*out));
        entry_from_row(s, out, kind, pos);
    }
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return ft_err_set(err, FT_ENOTFOUND, "no %s %d", ft_kind_name(kind), num);
    return rc == SQLITE_ROW ? 0 : db_err(st, err, "read entry");
}

int ft_store_entry_get(struct ft_store *st, int64_t tid, enum ft_kind kind, int num,
                       struct ft_entry *out, struct ft_err *err)
{
    return entry_get(st, tid, kind, num, out, NULL, err);
}

static const char SQL_ENTRY_WRITE[] =
    "UPDATE entries SET title = ?1, text = ?2, state = ?3, detail = ?4, date = ?5,"
    " updated_at = ?6, state_at = ?7 WHERE id = ?8";

int ft_store_entry_update(struct ft_store *st, int64_t tid, enum ft_kind kind, int num,
                          json_t *patch, struct ft_entry *out, struct ft_err *err)
{
    struct write w;
    struct ft_entry e;
    char ek[32];
    json_t *payload = NULL;

    if (!json_is_object(patch) || json_object_size(patch) == 0)
        return ft_err_set(err, FT_EINVAL, "nothing to change");
    int rc = write_begin(st, tid, &w, err);
    if (rc)
        return rc;
    if ((rc = entry_get(st, tid, kind, num, &e, NULL, err)))
        return write_end(&w, rc, NULL, NULL, err);
    int old_state = e.state;
    if ((rc = ft_entry_patch(&e, patch, err)) || (rc = norm_entry(&e, err)))
        goto out;
    if (e.state != old_state)
        e.state_at = w.now;
    e.updated_at = w.now;
    sqlite3_stmt *s = stmt(st, SQL_ENTRY_WRITE, err);
    if (!s) {
        rc = FT_EIO;
        goto out;
    }
    bind_text(s, 1, e.title);
    bind_text(s, 2, e.text);
    sqlite3_bind_int(s, 3, e.state);
    bind_text(s, 4, e.detail);
    bind_text(s, 5, e.date);
    sqlite3_bind_int64(s, 6, w.now);
    sqlite3_bind_int64(s, 7, e.state_at);
    sqlite3_bind_int64(s, 8, e.id);
    if ((rc = exec_step(st, s, err, "update entry")))
        goto out;
    if (e.state != old_state && kind == FT_K_ITEM &&
        (rc = state_change(st, e.id, e.state, w.now, err)))
        goto out;
    payload = ft_entry_to_json(&e);
    json_t *keys = json_array();
    const char *key;
    json_t *v;
    json_object_foreach(patch, key, v)
    {
        json_array_append_new(keys, json_string(key));
    }
    json_object_set_new(payload, "changed", keys);
out:
    rc = write_end(&w, rc, event_kind(kind, "update", ek, sizeof(ek)), payload, err);
    if (!rc && out)
        *out = e;
    else
        ft_entry_release(&e);
    return rc;
}

static const char SQL_COUNT_KIND[] =
    "SELECT count(*) FROM entries WHERE tracker_id = ?1 AND kind = ?2";
static const char SQL_SHIFT[] =
    "UPDATE entries SET pos = pos + ?1 WHERE tracker_id = ?2 AND kind = ?3 AND pos BETWEEN ?4 AND ?5";
static const char SQL_SET_POS[] = "UPDATE entries SET pos = ?1, updated_at = ?2 WHERE id = ?3";
static const char SQL_ENTRY_DELETE[] = "DELETE FROM entries WHERE id = ?1";

static int shift(struct ft_store *st, int64_t tid, int kind, int by, int lo, int hi,
                 struct ft_err *err)
{
    if (lo > hi)
        return 0;
    sqlite3_stmt *s = stmt(st, SQL_SHIFT, err);
    if (!s)
        return FT_EIO;
    sqlite3_bind_int(s, 1, by);
    sqlite3_bind_int64(s, 2, tid);
    sqlite3_bind_int(s, 3, kind);
    sqlite3_bind_int(s, 4, lo);
    sqlite3_bind_int(s, 5, hi);
    return exec_step(st, s, err, "reorder entries");
}

int ft_store_entry_move(struct ft_store *st, int64_t tid, enum ft_kind kind, int num, int pos,
                        struct ft_err *err)
{
    struct write w;
    struct ft_entry e;
    char ek[32];
    int from = 0, count = 0;
    int rc = write_begin(st, tid, &w, err);
    if (rc)
        return rc;
    if ((rc = entry_get(st, tid, kind, num, &e, &from, err)))
        return write_end(&w, rc, NULL, NULL, err);
    sqlite3_stmt *s = stmt(st, SQL_COUNT_KIND, err);
    if (!s) {
        rc = FT_EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, tid);
    sqlite3_bind_int(s, 2, kind);
    if (sqlite3_step(s) == SQLITE_ROW)
        count = sqlite3_column_int(s, 0);
    sqlite3_reset(s);
    pos = pos < 1 ? 1 : pos > count ? count : pos;
    if (pos < from)
        rc = shift(st, tid, kind, 1, pos, from - 1, err);
    else
        rc = shift(st, tid, kind, -1, from + 1, pos, err);
    if (rc)
        goto out;
    if (!(s = stmt(st, SQL_SET_POS, err))) {
        rc = FT_EIO;
        goto out;
    }
    sqlite3_bind_int(s, 1, pos);
    sqlite3_bind_int64(s, 2, w.now);
    sqlite3_bind_int64(s, 3, e.id);
    rc = exec_step(st, s, err, "move entry");
out:
    ft_entry_release(&e);
    return write_end(&w, rc, event_kind(kind, "move", ek, sizeof(ek)),
                     json_pack("{s:i, s:s, s:i, s:i}", "num", num, "kind", ft_kind_name(kind),
                               "from", from, "to", pos),
                     err);
}

int ft_store_entry_remove(struct ft_store *st, int64_t tid, enum ft_kind kind, int num,
                          struct ft_err *err)
{
    struct write w;
    struct ft_entry e;
    char ek[32];
    int from = 0;
    int rc = write_begin(st, tid, &w, err);
    if (rc)
        return rc;
    if ((rc = entry_get(st, tid, kind, num, &e, &from, err)))
        return write_end(&w, rc, NULL, NULL, err);
    sqlite3_stmt *s = stmt(st, SQL_ENTRY_DELETE, err);
    if (!s) {
        rc = FT_EIO;
    } else {
        sqlite3_bind_int64(s, 1, e.id);
        rc = exec_step(st, s, err, "remove entry");
    }
    if (!rc)
        rc = shift(st, tid, kind, -1, from + 1, INT32_MAX, err);
    json_t *payload = rc ? NULL : ft_entry_to_json(&e);
    ft_entry_release(&e);
    return write_end(&w, rc, event_kind(kind, "remove", ek, sizeof(ek)), payload, err);
}

/* ---- whole tracker ------------------------------------------------------------------- */

static const char SQL_CHANGES_ALL[] =
    "SELECT entry_id, state, at FROM state_changes WHERE entry_id IN"
    " (SELECT id FROM entries WHERE tracker_id = ?1 AND kind = 2) ORDER BY entry_id, rowid";
static const char SQL_RUNS_ALL[] =
    "SELECT id, num, command, cwd, label, started_at, duration_ms, exit_code, signal, outcome,"
    " log_truncated FROM runs WHERE tracker_id = ?1 ORDER BY num";

int ft_store_tracker_load(struct ft_store *st, int64_t id, struct ft_tracker **out,
                          struct ft_err *err)
{
    return ft_store_tracker_load_ex(st, id, FT_LOAD_CHANGES, out, err);
}

static int cmp_entry_id(const void *a, const void *b)
{
    const struct ft_entry *x = *(const struct ft_entry *const *)a;
    const struct ft_entry *y = *(const struct ft_entry *const *)b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Attach every item's state changes; they arrive ordered by item id. */
static int load_changes(struct ft_store *st, struct ft_tracker *t, struct ft_err *err)
{
    struct ft_entry_list *items = &t->lists[FT_K_ITEM];
    if (!items->n)
        return 0;
    struct ft_entry **by_id = ft_xmalloc(items->n * sizeof(*by_id));
    for (size_t i = 0; i < items->n; i++)
        by_id[i] = &items->v[i];
    qsort(by_id, items->n, sizeof(*by_id), cmp_entry_id);
    sqlite3_stmt *s = stmt(st, SQL_CHANGES_ALL, err);
    if (!s) {
        free(by_id);
        return FT_EIO;
    }
    sqlite3_bind_int64(s, 1, t->id);
    size_t ii = 0, cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t eid = sqlite3_column_int64(s, 0);
        while (ii < items->n && by_id[ii]->id < eid) {
            ii++;
            cap = 0;
        }
        if (ii == items->n || by_id[ii]->id != eid)
            continue;
        struct ft_entry *e = by_id[ii];
        ft_xgrow((void **)&e->changes, &cap, e->nchanges + 1, sizeof(*e->changes));
        e->changes[e->nchanges].state = sqlite3_column_int(s, 1);
        e->changes[e->nchanges++].at = sqlite3_column_int64(s, 2);
    }
    sqlite3_reset(s);
    free(by_id);
    return rc == SQLITE_DONE ? 0 : db_err(st, err, "load state changes");
}

/* Give each results entry its run's number; runs are loaded in id (and number) order. */
static void link_results_to_runs(struct ft_tracker *t)
{
    struct ft_entry_list *l = &t->lists[FT_K_RESULT];
    for (size_t i = 0; i < l->n; i++) {
        int64_t id = l->v[i].run_id;
        size_t lo = 0, hi = t->nruns;
        while (id && lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (t->runs[mid].id < id) {
                lo = mid + 1;
            } else if (t->runs[mid].id > id) {
                hi = mid;
            } else {
                l->v[i].run_num = t->runs[mid].num;
                break;
            }
        }
    }
}

int ft_store_tracker_load_ex(struct ft_store *st, int64_t id, int flags, struct ft_tracker **out,
                             struct ft_err *err)
{
    struct ft_tracker *t = ft_tracker_new();
    int rc = header_load(st, id, t, err);
    if (rc)
        goto fail;
    sqlite3_stmt *s = stmt(st, SQL_ENTRIES_ALL, err);
    if (!s) {
        rc = FT_EIO;
        goto fail;
    }
    sqlite3_bind_int64(s, 1, id);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int kind = sqlite3_column_int(s, 13);
        if (kind < 0 || kind >= FT_K__COUNT)
            continue;
        struct ft_entry *e = ft_tracker_push(t, (enum ft_kind)kind, col_dup(s, 3), col_dup(s, 4),
                                             col_dup(s, 6), col_dup(s, 7));
        entry_nums_from_row(s, e, NULL);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        rc = db_err(st, err, "load entries");
        goto fail;
    }

    if ((flags & FT_LOAD_CHANGES) && (rc = load_changes(st, t, err)))
        goto fail;

    s = stmt(st, SQL_RUNS_ALL, err);
    if (!s) {
        rc = FT_EIO;
        goto fail;
    }
    sqlite3_bind_int64(s, 1, id);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct ft_run *r = ft_tracker_add_run(t);
        r->id = sqlite3_column_int64(s, 0);
        r->num = sqlite3_column_int(s, 1);
        ft_set_str(&r->command, col_text(s, 2));
        ft_set_str(&r->cwd, col_text(s, 3));
        ft_set_str(&r->label, col_text(s, 4));
        r->started_at = sqlite3_column_int64(s, 5);
        r->duration_ms = sqlite3_column_int64(s, 6);
        r->exit_code = sqlite3_column_int(s, 7);
        r->signal = sqlite3_column_int(s, 8);
        r->outcome = sqlite3_column_int(s, 9);
        r->log_truncated = sqlite3_column_int(s, 10);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) {
        rc = db_err(st, err, "load runs");
        goto fail;
    }
    link_results_to_runs(t);
    *out = t;
    return 0;
fail:
    ft_tracker_free(t);
    *out = NULL;
    return rc;
}

/* ---- runs ---------------------------------------------------------------------------- */

static const char SQL_RUN_NEXT[] =
    "SELECT coalesce(max(num), 0) + 1 FROM runs WHERE tracker_id = ?1";
static const char SQL_RUN_INSERT[] =
    "INSERT INTO runs (tracker_id, num, command, cwd, label, started_at, duration_ms, exit_code,"
    " signal, outcome, log, log_truncated, diagnosis)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

int ft_store_run_record(struct ft_store *st, int64_t tid, struct ft_run *r, struct ft_entry *result,
                        struct ft_err *err)
{
    struct ft_tracker *t = ft_tracker_new();
    int rc = 0;
    if (result && (rc = norm_entry(result, err)))
        goto done;
    if ((rc = tx_begin(st, err)))
        goto done;
    if ((rc = header_load(st, tid, t, err)))
        goto out;
    sqlite3_stmt *s = stmt(st, SQL_RUN_NEXT, err);
    if (!s) {
        rc = FT_EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, tid);
    if (sqlite3_step(s) == SQLITE_ROW)
        r->num = sqlite3_column_int(s, 0);
    sqlite3_reset(s);
    s = stmt(st, SQL_RUN_INSERT, err);
    if (!s) {
        rc = FT_EIO;
        goto out;
    }
    sqlite3_bind_int64(s, 1, tid);
    sqlite3_bind_int(s, 2, r->num);
    bind_text(s, 3, r->command);
    bind_text(s, 4, r->cwd);
    bind_text(s, 5, r->label);
    sqlite3_bind_int64(s, 6, r->started_at);
    sqlite3_bind_int64(s, 7, r->duration_ms);
    sqlite3_bind_int(s, 8, r->exit_code);
    sqlite3_bind_int(s, 9, r->signal);
    sqlite3_bind_int(s, 10, r->outcome);
    bind_text(s, 11, r->log);
    sqlite3_bind_int(s, 12, r->log_truncated);
    bind_text(s, 13, r->diagnosis);
    if ((rc = exec_step(st, s, err, "record run")))
        goto out;
    r->id = sqlite3_last_insert_rowid(st->db);
    int64_t now = ft_now_ms();
    if (result) {
        result->run_id = r->id;
        result->run_num = r->num;
        if ((rc = entry_insert(st, tid, result, now, err)))
            goto out;
    }
    if ((rc = touch(st, tid, now, err)))
        goto out;
    json_t *p = ft_run_to_json(r, 0);
    if (result)
        json_object_set_new(p, "result", ft_entry_to_json(result));
    rc = event_add(st, tid, t->slug, now, "run.record", p, err);
out:
    rc = tx_end(st, rc, err);
done:
    ft_tracker_free(t);
    return rc;
}

static const char SQL_RUN_GET[] =
    "SELECT id, num, command, cwd, label, started_at, duration_ms, exit_code, signal, outcome,"
    " log_truncated, log, diagnosis FROM runs WHERE tracker_id = ?1 AND num = ?2";

int ft_store_run_get(struct ft_store *st, int64_t tid, int num, struct ft_run *r,
                     struct ft_err *err)
{
    sqlite3_stmt *s = stmt(st, SQL_RUN_GET, err);
    if (!s)
        return FT_EIO;
    sqlite3_bind_int64(s, 1, tid);
    sqlite3_bind_int(s, 2, num);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        memset(r, 0, sizeof(*r));
        r->id = sqlite3_column_int64(s, 0);
        r->num = sqlite3_column_int(s, 1);
        r->command = col_dup(s, 2);
        r->cwd = col_dup(s, 3);
        r->label = col_dup(s, 4);
        r->started_at = sqlite3_column_int64(s, 5);
        r->duration_ms = sqlite3_column_int64(s, 6);
        r->exit_code = sqlite3_column_int(s, 7);
        r->signal = sqlite3_column_int(s, 8);
        r->outcome = sqlite3_column_int(s, 9);
        r->log_truncated = sqlite3_column_int(s, 10);
        r->log = col_dup(s, 11);
        r->diagnosis = col_dup(s, 12);
    }
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return ft_err_set(err, FT_ENOTFOUND, "no run %d", num);
    return rc == SQLITE_ROW ? 0 : db_err(st, err, "read run");
}

/* ---- settings ------------------------------------------------------------------------ */

static const char SQL_SETTING_GET[] = "SELECT value FROM settings WHERE key = ?1";
static const char SQL_SETTING_SET[] =
    "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2";
static const char SQL_SETTING_DEL[] = "DELETE FROM settings WHERE key = ?1";

int ft_store_setting_get(struct ft_store *st, const char *key, char **val, struct ft_err *err)
{
    sqlite3_stmt *s = stmt(st, SQL_SETTING_GET, err);
    if (!s)
        return FT_EIO;
    bind_text(s, 1, key);
    int rc = sqlite3_step(s);
    *val = rc == SQLITE_ROW ? col_dup(s, 0) : NULL;
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_err(st, err, "read setting");
}

int ft_store_setting_set(struct ft_store *st, const char *key, const char *val, struct ft_err *err)
{
    sqlite3_stmt *s = stmt(st, val ? SQL_SETTING_SET : SQL_SETTING_DEL, err);
    if (!s)
        return FT_EIO;
    bind_text(s, 1, key);
    if (val)
        bind_text(s, 2, val);
    return exec_step(st, s, err, "write setting");
}
