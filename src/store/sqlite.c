/*
 * sqlite.c: the SQLite backend of the store (backend.h): one file in WAL mode
 * with synchronous=FULL, every statement prepared once with bound parameters
 * and cached on the connection (finalized at close).
 *
 * Schema changes are forward migrations keyed on PRAGMA user_version; a file
 * whose version is newer than this build knows is refused before anything is
 * written to it. BEGIN IMMEDIATE takes the one write lock of the file, so
 * writers (in any process) are serialised and AUTOINCREMENT sequence numbers
 * grow in commit order. The change watch is inotify on the file's directory:
 * every commit writes the -wal file.
 */
#include "backend.h"
#include "faults.h"

#include "../util/ft_buf.h"
#include "../util/ft_err.h"
#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"

#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/banned.h"

#define FT_APP_ID      0x466c5472 /* "FlTr" */
#define STMT_CACHE     48
#define COPY_CACHE     8 /* copy_in statements: one per table of copy.c */
#define BUSY_MS        10000
#define WAL_KEEP_PAGES 64   /* a closing connection leaves fewer frames than this in the WAL */
#define WAL_CKPT_PAGES 1000 /* SQLite's automatic checkpoint */

/* One connection. */
struct sq {
    sqlite3 *db;
    struct {
        const char *sql; /* static string: its address is the key */
        sqlite3_stmt *stmt;
    } cache[STMT_CACHE];
    int ncache;
    int busy_ms; /* the busy timeout, for messages */
    char *path;
    int inotify_fd;   /* the change watch, -1 when off */
    char *watch_base; /* the store file's name in its directory */
    struct {
        const struct ft_copy_table *tab; /* copy.c's static description: its address is the key */
        sqlite3_stmt *stmt;
    } copy_in[COPY_CACHE];
    int ncopy_in;
    int wal_pages; /* frames in the WAL after this connection's last commit */
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

    /* 2: claims on items; status 2 (waiting). A CHECK constraint cannot be altered in
     * place: the trackers table is rebuilt (foreign keys are off while migrating). */
    "ALTER TABLE entries ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE entries ADD COLUMN claimed_at INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE trackers_v2 ("
    "  id INTEGER PRIMARY KEY,"
    "  slug TEXT NOT NULL UNIQUE,"
    "  org TEXT NOT NULL DEFAULT '',"
    "  title TEXT NOT NULL,"
    "  started TEXT NOT NULL DEFAULT '',"
    "  owner TEXT NOT NULL DEFAULT '',"
    "  objective TEXT NOT NULL DEFAULT '',"
    "  status INTEGER NOT NULL DEFAULT 0 CHECK (status IN (0, 1, 2)),"
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
    "INSERT INTO trackers_v2 SELECT * FROM trackers;"
    "DROP TABLE trackers;"
    "ALTER TABLE trackers_v2 RENAME TO trackers;",
};
#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

_Static_assert(NMIGRATIONS == FT_SCHEMA_VERSION, "one migration per schema version");

/* ---- statements ---------------------------------------------------------------------- */

/* Which call an I/O error of SQLite's extended code ec failed in, NULL when it does not say. */
static const char *ioerr_call(int ec)
{
    switch (ec) {
    case SQLITE_IOERR_READ:
    case SQLITE_IOERR_SHORT_READ:
        return "read";
    case SQLITE_IOERR_WRITE:
        return "write";
    case SQLITE_IOERR_FSYNC:
    case SQLITE_IOERR_DIR_FSYNC:
        return "fsync";
    case SQLITE_IOERR_TRUNCATE:
        return "truncate";
    case SQLITE_IOERR_FSTAT:
        return "fstat";
    case SQLITE_IOERR_SHMOPEN:
    case SQLITE_IOERR_SHMSIZE:
    case SQLITE_IOERR_SHMMAP:
        return "shared memory";
    case SQLITE_IOERR_MMAP:
        return "mmap";
    }
    return NULL;
}

/*
 * The ft_err of the connection's last failure. A storage failure is named as one ("storage:
 * disk I/O error (fsync)"), and a full disk has its own code (FT_ENOSPC): what a client can do
 * about it differs from a plain I/O error. Only a lock held elsewhere is FT_EBUSY.
 */
static int db_err(struct sq *q, struct ft_err *err, const char *what)
{
    int ec = sqlite3_extended_errcode(q->db);
    int code = (ec & 0xff) == SQLITE_BUSY || (ec & 0xff) == SQLITE_LOCKED ? FT_EBUSY : FT_EIO;
    if ((ec & 0xff) == SQLITE_CONSTRAINT)
        code = FT_EEXIST;
    if (code == FT_EBUSY)
        return ft_err_set(err, code,
                          "%s: the store is locked by another process (waited %d ms); try again",
                          what, q->busy_ms);
    if ((ec & 0xff) == SQLITE_FULL)
        return ft_err_set(err, FT_ENOSPC, "%s: storage full: %s", what, sqlite3_errmsg(q->db));
    if ((ec & 0xff) == SQLITE_IOERR && ioerr_call(ec))
        return ft_err_set(err, code, "%s: storage: %s (%s)", what, sqlite3_errmsg(q->db),
                          ioerr_call(ec));
    if ((ec & 0xff) == SQLITE_IOERR)
        return ft_err_set(err, code, "%s: storage: %s", what, sqlite3_errmsg(q->db));
    return ft_err_set(err, code, "%s: %s", what, sqlite3_errmsg(q->db));
}

/* The cached statement for sql (a string literal), reset and with bindings cleared. */
static sqlite3_stmt *stmt(struct sq *q, const char *sql, struct ft_err *err)
{
    for (int i = 0; i < q->ncache; i++) {
        if (q->cache[i].sql == sql) {
            sqlite3_reset(q->cache[i].stmt);
            sqlite3_clear_bindings(q->cache[i].stmt);
            return q->cache[i].stmt;
        }
    }
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
        db_err(q, err, "prepare");
        return NULL;
    }
    if (q->ncache == STMT_CACHE) {
        /* cannot happen with the fixed set of statements below */
        sqlite3_finalize(s);
        ft_err_set(err, FT_EIO, "statement cache full");
        return NULL;
    }
    q->cache[q->ncache].sql = sql;
    q->cache[q->ncache++].stmt = s;
    return s;
}

static const char *col_text(sqlite3_stmt *s, int i)
{
    const char *v = (const char *)sqlite3_column_text(s, i);
    return v ? v : "";
}

/*
 * Bind a statement's parameters (?1, ?2...) from the arguments, one letter each:
 *   i  int          I  int64_t          n  int64_t row id, NULL when 0
 *   t  const char * (NULL binds '')
 */
static void vbind(sqlite3_stmt *s, const char *fmt, va_list ap)
{
    for (int i = 1; *fmt; fmt++, i++) {
        switch (*fmt) {
        case 'i':
            sqlite3_bind_int(s, i, va_arg(ap, int));
            break;
        case 'I':
            sqlite3_bind_int64(s, i, va_arg(ap, int64_t));
            break;
        case 'n': {
            int64_t id = va_arg(ap, int64_t);
            if (id)
                sqlite3_bind_int64(s, i, id);
            else
                sqlite3_bind_null(s, i);
            break;
        }
        default: {
            const char *v = va_arg(ap, const char *);
            sqlite3_bind_text(s, i, v ? v : "", -1, SQLITE_TRANSIENT);
            break;
        }
        }
    }
}

/* The cached statement for sql, bound from fmt and the arguments (vbind); NULL on error. */
static sqlite3_stmt *prep(struct sq *q, const char *sql, struct ft_err *err, const char *fmt, ...)
{
    va_list ap;
    sqlite3_stmt *s = stmt(q, sql, err);
    if (s) {
        va_start(ap, fmt);
        vbind(s, fmt, ap);
        va_end(ap);
    }
    return s;
}

/*
 * Read the current row's columns from `first` on into the arguments, one letter each:
 *   i  int *   I  int64_t *   s  char ** (a copy replaces the string there, which is freed)
 *   c  const char ** (the column's own text: valid until the statement steps or resets)
 *   -  skip a column (no argument)
 */
static void cols(sqlite3_stmt *s, int first, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (int i = first; *fmt; fmt++, i++) {
        if (*fmt == 'i')
            *va_arg(ap, int *) = sqlite3_column_int(s, i);
        else if (*fmt == 'I')
            *va_arg(ap, int64_t *) = sqlite3_column_int64(s, i);
        else if (*fmt == 's')
            ft_set_str(va_arg(ap, char **), col_text(s, i));
        else if (*fmt == 'c')
            *va_arg(ap, const char **) = col_text(s, i);
    }
    va_end(ap);
}

/* Step a statement that returns no rows. */
static int exec_step(struct sq *q, sqlite3_stmt *s, struct ft_err *err, const char *what)
{
    if (!s)
        return FT_EIO;
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return db_err(q, err, what);
    return 0;
}

/* Run a cached statement that returns no rows, bound from fmt and the arguments (vbind). */
static int execf(struct sq *q, const char *sql, struct ft_err *err, const char *what,
                 const char *fmt, ...)
{
    va_list ap;
    sqlite3_stmt *s = stmt(q, sql, err);
    if (!s)
        return FT_EIO;
    va_start(ap, fmt);
    vbind(s, fmt, ap);
    va_end(ap);
    return exec_step(q, s, err, what);
}

/* Step a statement expected to give one row of one integer: *out, or 0 when no row. */
static int one_int64(struct sq *q, sqlite3_stmt *s, int64_t *out, struct ft_err *err,
                     const char *what)
{
    if (!s)
        return FT_EIO;
    int rc = sqlite3_step(s);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_err(q, err, what);
}

static int exec_sql(struct sq *q, const char *sql, struct ft_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(q->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = db_err(q, err, msg ? msg : "exec");
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

/* ---- transactions -------------------------------------------------------------------- */

static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";

static int sq_begin(void *db, struct ft_err *err)
{
    return execf(db, SQL_BEGIN, err, "begin", "");
}

static int sq_commit(void *db, struct ft_err *err)
{
    return execf(db, SQL_COMMIT, err, "commit", "");
}

static void sq_rollback(void *db)
{
    struct sq *q = db;
    if (!sqlite3_get_autocommit(q->db))
        execf(q, SQL_ROLLBACK, NULL, "rollback", "");
}

static const char SQL_BEGIN_READ[] = "BEGIN DEFERRED";

/* A deferred transaction takes no lock; in WAL mode its first read fixes the snapshot that every
 * later read of the transaction sees, until rollback(). */
static int sq_begin_read(void *db, struct ft_err *err)
{
    return execf(db, SQL_BEGIN_READ, err, "begin read", "");
}

/* ---- open / close -------------------------------------------------------------------- */

static int pragma_int(struct sq *q, const char *sql, int *out, struct ft_err *err)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(q->db, sql, -1, &s, NULL) != SQLITE_OK)
        return db_err(q, err, "open store");
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW)
        return db_err(q, err, "open store");
    return 0;
}

/* Bring the schema from version `from` to FT_SCHEMA_VERSION; foreign keys must be off (a
 * table is rebuilt) and are checked before the commit. */
static int migrate(struct sq *q, int from, struct ft_err *err)
{
    int rc = sq_begin(q, err), bad = 0;
    if (rc)
        return rc;
    /* Re-read inside the lock: another process may have migrated meanwhile. */
    rc = pragma_int(q, "PRAGMA user_version", &from, err);
    for (int v = from; !rc && v < FT_SCHEMA_VERSION; v++)
        rc = exec_sql(q, migrations[v], err);
    if (!rc && from < FT_SCHEMA_VERSION &&
        !(rc = pragma_int(q, "SELECT count(*) FROM pragma_foreign_key_check", &bad, err)) && bad)
        rc = ft_err_set(err, FT_EIO, "migrating the store broke %d references", bad);
    if (!rc) {
        char sql[96];
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d; PRAGMA application_id = %d",
                 FT_SCHEMA_VERSION, FT_APP_ID);
        rc = exec_sql(q, sql, err);
    }
    if (!rc)
        rc = sq_commit(q, err);
    if (rc)
        sq_rollback(q);
    return rc;
}

static void sq_close(void *db);

/* The directory of the file at path ("." for a bare name). */
static void dir_of(const char *path, char *dir, size_t n)
{
    const char *slash = strrchr(path, '/');
    if (slash)
        snprintf(dir, n, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    else
        snprintf(dir, n, ".");
}

/* After each commit: how long the WAL is (sq_close), and SQLite's own automatic checkpoint,
 * which a WAL hook replaces. */
static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
    struct sq *q = arg;
    q->wal_pages = pages;
    if (pages >= WAL_CKPT_PAGES)
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

static int sq_open(const char *path, int flags, void **out, struct ft_err *err)
{
    struct stat sb;
    int exists = stat(path, &sb) == 0;

    *out = NULL;
    if (!exists && !(flags & FT_STORE_CREATE))
        return ft_err_set(err, FT_ENOTFOUND, "no store at '%s' (run 'flowtrack init')", path);
    if (exists && !S_ISREG(sb.st_mode))
        return ft_err_set(err, FT_EINVAL, "'%s' is not a regular file", path);
    /* SQLite would only say "unable to open database file" */
    char dir[PATH_MAX];
    struct stat ds;
    dir_of(path, dir, sizeof(dir));
    if (!exists && (stat(dir, &ds) != 0 || !S_ISDIR(ds.st_mode)))
        return ft_err_set(err, FT_ENOTFOUND, "cannot create store '%s': no directory '%s'", path,
                          dir);

    int rc = ft_faults_install(err); /* test builds only (faults.h) */
    if (rc)
        return rc;
    struct sq *q = ft_xcalloc(1, sizeof(*q));
    q->inotify_fd = -1;
    q->path = ft_xstrdup(path);
    int oflags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (flags & FT_STORE_CREATE)
        oflags |= SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &q->db, oflags, NULL) != SQLITE_OK) {
        char what[PATH_MAX + 32];
        snprintf(what, sizeof(what), "cannot open store '%s'", path);
        rc = q->db ? db_err(q, err, what) : ft_err_set(err, FT_ENOMEM, "%s: out of memory", what);
        goto fail;
    }
    q->busy_ms = BUSY_MS;
    sqlite3_busy_timeout(q->db, BUSY_MS);
    sqlite3_extended_result_codes(q->db, 1);

    int version = 0, app = 0, objects = 0;
    if ((rc = pragma_int(q, "PRAGMA user_version", &version, err)) ||
        (rc = pragma_int(q, "PRAGMA application_id", &app, err)) ||
        (!version && (rc = pragma_int(q, "SELECT count(*) FROM sqlite_schema", &objects, err)))) {
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
    /*
     * The WAL file outlives the connection, and is emptied rather than deleted, so that no
     * command creates, syncs the directory for and deletes the WAL and shm files (persistent
     * WAL with a journal size limit). Every commit is synced (synchronous = FULL).
     *
     * Closing does not checkpoint (SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE): a command that wrote
     * would pay two WAL syncs and a database sync more. Instead the WAL is kept short: a
     * connection that leaves WAL_KEEP_PAGES frames or more behind it checkpoints and empties
     * the WAL as it closes (sq_close), so the next process to open the store, which rebuilds
     * the WAL's index by reading every frame, reads a few dozen at most; and the WAL hook
     * checkpoints at SQLite's usual 1 000 frames for a connection that stays open (a server).
     */
    sqlite3_db_config(q->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    sqlite3_wal_hook(q->db, on_wal_commit, q);
    int persist = 1;
    sqlite3_file_control(q->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    if ((rc = exec_sql(q,
                       "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                       "PRAGMA journal_size_limit = 4194304; PRAGMA mmap_size = 268435456",
                       err)))
        goto fail;
    if (version < FT_SCHEMA_VERSION && (rc = migrate(q, version, err)))
        goto fail;
    int fk = 0; /* PRAGMA foreign_keys = ON, without parsing a statement */
    if (sqlite3_db_config(q->db, SQLITE_DBCONFIG_ENABLE_FKEY, 1, &fk) != SQLITE_OK || !fk) {
        rc = ft_err_set(err, FT_EINVAL, "cannot enable foreign keys on '%s'", path);
        goto fail;
    }
    *out = q;
    return 0;
fail:
    sq_close(q);
    return rc;
}

static void sq_watch_close(void *db);

static void sq_close(void *db)
{
    struct sq *q = db;
    if (!q)
        return;
    if (q->wal_pages >= WAL_KEEP_PAGES) {
        /* without waiting: with a reader in the WAL, the next connection's close does it */
        sqlite3_busy_timeout(q->db, 0);
        sqlite3_wal_checkpoint_v2(q->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    }
    sq_watch_close(q);
    for (int i = 0; i < q->ncache; i++)
        sqlite3_finalize(q->cache[i].stmt);
    q->ncache = 0;
    for (int i = 0; i < q->ncopy_in; i++)
        sqlite3_finalize(q->copy_in[i].stmt);
    q->ncopy_in = 0;
    sqlite3_close(q->db);
    free(q->path);
    free(q);
}

static void sq_set_busy_timeout(void *db, int ms)
{
    struct sq *q = db;
    q->busy_ms = ms;
    sqlite3_busy_timeout(q->db, ms);
}

static int sq_open_statements(void *db)
{
    struct sq *q = db;
    int n = 0;
    for (sqlite3_stmt *s = sqlite3_next_stmt(q->db, NULL); s; s = sqlite3_next_stmt(q->db, s))
        n++;
    return n;
}

/* ---- events -------------------------------------------------------------------------- */

static const char SQL_EVENT_ADD[] =
    "INSERT INTO events (tracker_id, slug, at, actor, kind, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

static int sq_event_append(void *db, int64_t tid, const char *slug, int64_t at, const char *actor,
                           const char *kind, const char *payload, int64_t *seq, struct ft_err *err)
{
    struct sq *q = db;
    int rc =
        execf(q, SQL_EVENT_ADD, err, "append event", "ntIttt", tid, slug, at, actor, kind, payload);
    if (!rc)
        *seq = sqlite3_last_insert_rowid(q->db);
    return rc;
}

static const char SQL_EVENTS_ASC[] =
    "SELECT seq, coalesce(tracker_id, 0), slug, at, actor, kind, payload FROM events"
    " WHERE seq > ?1 AND (?2 = 0 OR tracker_id = ?2) AND (?3 = '' OR substr(kind, 1, length(?3)) = ?3)"
    " ORDER BY seq LIMIT ?4";
static const char SQL_EVENTS_DESC[] =
    "SELECT seq, coalesce(tracker_id, 0), slug, at, actor, kind, payload FROM events"
    " WHERE seq > ?1 AND (?2 = 0 OR tracker_id = ?2) AND (?3 = '' OR substr(kind, 1, length(?3)) = ?3)"
    " ORDER BY seq DESC LIMIT ?4";

static int sq_events(void *db, int64_t tid, const char *kind_prefix, int64_t after_seq, int limit,
                     int newest_first, ft_event_cb cb, void *ctx, struct ft_err *err)
{
    struct sq *q = db;
    sqlite3_stmt *s = prep(q, newest_first ? SQL_EVENTS_DESC : SQL_EVENTS_ASC, err, "IItI",
                           after_seq, tid, kind_prefix, (int64_t)(limit > 0 ? limit : -1));
    if (!s)
        return FT_EIO;
    int rc, ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct ft_event ev;
        cols(s, 0, "IIcIccc", &ev.seq, &ev.tracker_id, &ev.slug, &ev.at, &ev.actor, &ev.kind,
             &ev.payload);
        if ((ret = cb(&ev, ctx)) != 0)
            break;
    }
    if (!ret && rc != SQLITE_DONE)
        ret = db_err(q, err, "read events");
    sqlite3_reset(s);
    return ret;
}

static const char SQL_TRACKER_VERSION[] =
    "SELECT coalesce(max(seq), 0) FROM events WHERE tracker_id = ?1";
static const char SQL_LAST_SEQ[] = "SELECT coalesce(max(seq), 0) FROM events";

static int sq_tracker_version(void *db, int64_t tid, int64_t *seq, struct ft_err *err)
{
    return one_int64(db, prep(db, SQL_TRACKER_VERSION, err, "I", tid), seq, err, "read events");
}

static int sq_last_seq(void *db, int64_t *seq, struct ft_err *err)
{
    return one_int64(db, prep(db, SQL_LAST_SEQ, err, ""), seq, err, "read events");
}

/* ---- trackers ------------------------------------------------------------------------ */

static const char SQL_FIND_SLUG[] = "SELECT id FROM trackers WHERE slug = ?1";
static const char SQL_FIND_ID[] = "SELECT id FROM trackers WHERE id = ?1";

static int sq_tracker_find(void *db, const char *slug, int64_t id, int64_t *out, struct ft_err *err)
{
    sqlite3_stmt *s =
        slug ? prep(db, SQL_FIND_SLUG, err, "t", slug) : prep(db, SQL_FIND_ID, err, "I", id);
    int rc = one_int64(db, s, out, err, "find tracker");
    if (!rc && !*out)
        return ft_err_set(err, FT_ENOTFOUND, "no tracker");
    return rc;
}

static const char SQL_FIRST_TWO[] = "SELECT id FROM trackers ORDER BY id LIMIT 2";

static int sq_tracker_first_two(void *db, int64_t *id, int *count, struct ft_err *err)
{
    sqlite3_stmt *s = stmt(db, SQL_FIRST_TWO, err);
    if (!s)
        return FT_EIO;
    int rc;
    *count = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((*count)++ == 0)
            *id = sqlite3_column_int64(s, 0);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : db_err(db, err, "list trackers");
}

static const char SQL_LIST[] =
    "SELECT t.id, t.slug, t.title, t.status, t.updated_at,"
    " (SELECT count(*) FROM entries e WHERE e.tracker_id = t.id AND e.kind = 2 AND e.state = 0),"
    " (SELECT count(*) FROM entries e WHERE e.tracker_id = t.id AND e.kind = 2 AND e.state = 1),"
    " (SELECT count(*) FROM entries e WHERE e.tracker_id = t.id AND e.kind = 2 AND e.state = 2),"
    " (SELECT count(*) FROM entries e WHERE e.tracker_id = t.id AND e.kind = 2 AND e.state = 3),"
    " v.seq, v.actor, v.kind"
    " FROM trackers t LEFT JOIN events v ON v.seq ="
    "  (SELECT max(seq) FROM events w WHERE w.tracker_id = t.id)"
    " ORDER BY t.id";

static int sq_tracker_rows(void *db, ft_tracker_row_cb cb, void *ctx, struct ft_err *err)
{
    sqlite3_stmt *s = stmt(db, SQL_LIST, err);
    if (!s)
        return FT_EIO;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct ft_tracker_row r;
        cols(s, 0, "IcciI", &r.id, &r.slug, &r.title, &r.status, &r.updated_at);
        for (int k = 0; k < FT_ST__COUNT; k++)
            r.progress[k] = sqlite3_column_int(s, 5 + k);
        cols(s, 5 + FT_ST__COUNT, "Icc", &r.last_seq, &r.last_actor, &r.last_kind);
        cb(&r, ctx);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : db_err(db, err, "list trackers");
}

static const char SQL_SLUG_OF[] = "SELECT slug FROM trackers WHERE id = ?1";

static int sq_tracker_slug(void *db, int64_t id, char **slug, struct ft_err *err)
{
    sqlite3_stmt *s = prep(db, SQL_SLUG_OF, err, "I", id);
    if (!s)
        return FT_EIO;
    int rc = sqlite3_step(s);
    *slug = rc == SQLITE_ROW ? ft_xstrdup(col_text(s, 0)) : NULL;
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return ft_err_set(err, FT_ENOTFOUND, "no tracker with id %lld", (long long)id);
    return rc == SQLITE_ROW ? 0 : db_err(db, err, "find tracker");
}

static const char SQL_TRACKER_GET[] =
    "SELECT id, slug, org, title, started, owner, objective, status, repro_command,"
    " repro_timeout_ms, repro_expect, repro_note, symptoms_note, hyps_note, results_note,"
    " fix_summary, fix_why, fix_evidence, created_at, updated_at FROM trackers WHERE id = ?1";

static int sq_header_load(void *db, int64_t id, struct ft_tracker *t, struct ft_err *err)
{
    sqlite3_stmt *s = prep(db, SQL_TRACKER_GET, err, "I", id);
    if (!s)
        return FT_EIO;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        cols(s, 0, "IssssssisIssssssssII", &t->id, &t->slug, &t->org, &t->title, &t->started,
             &t->owner, &t->objective, &t->status, &t->repro_command, &t->repro_timeout_ms,
             &t->repro_expect, &t->repro_note, &t->symptoms_note, &t->hyps_note, &t->results_note,
             &t->fix_summary, &t->fix_why, &t->fix_evidence, &t->created_at, &t->updated_at);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return ft_err_set(err, FT_ENOTFOUND, "no tracker with id %lld", (long long)id);
    return rc == SQLITE_ROW ? 0 : db_err(db, err, "load tracker");
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
static const char SQL_TRACKER_DELETE[] = "DELETE FROM trackers WHERE id = ?1";

/* The header's 17 fields as ?1..?17 and now as ?18; returns the statement (NULL on error). */
static sqlite3_stmt *prep_header(struct sq *q, const char *sql, const struct ft_tracker *t,
                                 int64_t now, struct ft_err *err)
{
    return prep(q, sql, err, "ttttttitIttttttttI", t->slug, t->org, t->title, t->started, t->owner,
                t->objective, t->status, t->repro_command, t->repro_timeout_ms, t->repro_expect,
                t->repro_note, t->symptoms_note, t->hyps_note, t->results_note, t->fix_summary,
                t->fix_why, t->fix_evidence, now);
}

static int sq_tracker_insert(void *db, struct ft_tracker *t, int64_t now, struct ft_err *err)
{
    struct sq *q = db;
    int rc = exec_step(q, prep_header(q, SQL_TRACKER_INSERT, t, now, err), err, "insert tracker");
    if (!rc)
        t->id = sqlite3_last_insert_rowid(q->db);
    return rc;
}

static int sq_tracker_write(void *db, const struct ft_tracker *t, int64_t now, struct ft_err *err)
{
    sqlite3_stmt *s = prep_header(db, SQL_TRACKER_WRITE, t, now, err);
    if (s)
        sqlite3_bind_int64(s, 19, t->id);
    return exec_step(db, s, err, "update tracker");
}

static int sq_tracker_touch(void *db, int64_t id, int64_t now, struct ft_err *err)
{
    return execf(db, SQL_TOUCH, err, "update tracker", "II", now, id);
}

static int sq_tracker_delete(void *db, int64_t id, struct ft_err *err)
{
    return execf(db, SQL_TRACKER_DELETE, err, "delete tracker", "I", id);
}

static const char SQL_SLUG_TAKEN[] = "SELECT 1 FROM trackers WHERE slug = ?1";

static int sq_slug_taken(void *db, const char *slug, int *taken, struct ft_err *err)
{
    int64_t one = 0;
    int rc = one_int64(db, prep(db, SQL_SLUG_TAKEN, err, "t", slug), &one, err, "check slug");
    *taken = one != 0;
    return rc;
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
static const char SQL_ENTRY_GET[] =
    "SELECT e.id, e.num, e.pos, e.title, e.text, e.state, e.detail, e.date, coalesce(e.run_id, 0),"
    " e.created_at, e.updated_at, e.state_at, coalesce(r.num, 0), e.claimed_by, e.claimed_at"
    " FROM entries e LEFT JOIN runs r ON r.id = e.run_id"
    " WHERE e.tracker_id = ?1 AND e.kind = ?2 AND e.num = ?3";
#define ENTRIES_OF_TRACKER " FROM entries e WHERE e.tracker_id = ?1 ORDER BY e.kind, e.pos"
static const char SQL_ENTRIES_ALL[] =
    "SELECT e.id, e.num, e.pos, e.title, e.text, e.state, e.detail, e.date, coalesce(e.run_id, 0),"
    " e.created_at, e.updated_at, e.state_at, 0, e.claimed_by, e.claimed_at, e.kind" ENTRIES_OF_TRACKER;
/* The same columns with 0 for what no layout shows (row ids, positions, times): FT_LOAD_LAYOUT */
static const char SQL_ENTRIES_LAYOUT[] =
    "SELECT 0, e.num, 0, e.title, e.text, e.state, e.detail, e.date, coalesce(e.run_id, 0),"
    " 0, 0, 0, 0, e.claimed_by, e.claimed_at, e.kind" ENTRIES_OF_TRACKER;
static const char SQL_ENTRY_WRITE[] =
    "UPDATE entries SET title = ?1, text = ?2, state = ?3, detail = ?4, date = ?5,"
    " updated_at = ?6, state_at = ?7, claimed_by = ?8, claimed_at = ?9 WHERE id = ?10";
static const char SQL_COUNT_KIND[] =
    "SELECT count(*) FROM entries WHERE tracker_id = ?1 AND kind = ?2";
static const char SQL_SHIFT[] =
    "UPDATE entries SET pos = pos + ?1 WHERE tracker_id = ?2 AND kind = ?3 AND pos BETWEEN ?4 AND ?5";
static const char SQL_SET_POS[] = "UPDATE entries SET pos = ?1, updated_at = ?2 WHERE id = ?3";
static const char SQL_ENTRY_DELETE[] = "DELETE FROM entries WHERE id = ?1";

static int sq_entry_next(void *db, int64_t tid, enum ft_kind kind, int *num, int *pos,
                         struct ft_err *err)
{
    sqlite3_stmt *s = prep(db, SQL_NEXT_NUM, err, "Ii", tid, (int)kind);
    if (!s)
        return FT_EIO;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        cols(s, 0, "ii", num, pos);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? 0 : db_err(db, err, "number entry");
}

static int sq_entry_insert(void *db, int64_t tid, struct ft_entry *e, int pos, int64_t now,
                           struct ft_err *err)
{
    struct sq *q = db;
    int rc = execf(q, SQL_ENTRY_INSERT, err, "insert entry", "IiiittittnI", tid, (int)e->kind,
                   e->num, pos, e->title, e->text, e->state, e->detail, e->date, e->run_id, now);
    if (!rc)
        e->id = sqlite3_last_insert_rowid(q->db);
    return rc;
}

static int sq_state_change(void *db, int64_t entry_id, int state, int64_t at, struct ft_err *err)
{
    return execf(db, SQL_STATE_CHANGE, err, "record state change", "IiI", entry_id, state, at);
}

/* Fill e's numbers and times from a row (strings are read by the caller). */
/* Called once per entry of a whole tracker: plain column calls, not cols(), which would cost
 * about 5 % of `show` at 10 000 items in its format loop. */
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
    /* most entries have no claim: no allocation for them */
    const char *by = (const char *)sqlite3_column_text(s, 13);
    if (by && *by) {
        free(e->claimed_by);
        e->claimed_by = ft_xstrdup(by);
        e->claimed_at = sqlite3_column_int64(s, 14);
    }
}

static int sq_entry_get(void *db, int64_t tid, enum ft_kind kind, int num, struct ft_entry *out,
                        int *pos, struct ft_err *err)
{
    sqlite3_stmt *s = prep(db, SQL_ENTRY_GET, err, "Iii", tid, (int)kind, num);
    if (!s)
        return FT_EIO;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        memset(out, 0, sizeof(*out));
        out->kind = kind;
        cols(s, 3, "ss-ss", &out->title, &out->text, &out->detail, &out->date);
        entry_nums_from_row(s, out, pos);
    }
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return ft_err_set(err, FT_ENOTFOUND, "no %s %d", ft_kind_name(kind), num);
    return rc == SQLITE_ROW ? 0 : db_err(db, err, "read entry");
}

static int sq_entry_count(void *db, int64_t tid, enum ft_kind kind, int *count, struct ft_err *err)
{
    int64_t n = 0;
    int rc = one_int64(db, prep(db, SQL_COUNT_KIND, err, "Ii", tid, (int)kind), &n, err,
                       "count entries");
    *count = (int)n;
    return rc;
}

static int sq_entry_write(void *db, const struct ft_entry *e, struct ft_err *err)
{
    return execf(db, SQL_ENTRY_WRITE, err, "update entry", "ttittIItII", e->title, e->text,
                 e->state, e->detail, e->date, e->updated_at, e->state_at, e->claimed_by,
                 e->claimed_by ? e->claimed_at : 0, e->id);
}

static int sq_entry_shift(void *db, int64_t tid, enum ft_kind kind, int by, int lo, int hi,
                          struct ft_err *err)
{
    return execf(db, SQL_SHIFT, err, "reorder entries", "iIiii", by, tid, (int)kind, lo, hi);
}

static int sq_entry_set_pos(void *db, int64_t id, int pos, int64_t now, struct ft_err *err)
{
    return execf(db, SQL_SET_POS, err, "move entry", "iII", pos, now, id);
}

static int sq_entry_delete(void *db, int64_t id, struct ft_err *err)
{
    return execf(db, SQL_ENTRY_DELETE, err, "remove entry", "I", id);
}

/* ---- whole tracker ------------------------------------------------------------------- */

static const char SQL_CHANGES_ALL[] =
    "SELECT entry_id, state, at FROM state_changes WHERE entry_id IN"
    " (SELECT id FROM entries WHERE tracker_id = ?1 AND kind = 2) ORDER BY entry_id, rowid";
static const char SQL_RUNS_ALL[] =
    "SELECT id, num, command, cwd, label, started_at, duration_ms, exit_code, signal, outcome,"
    " log_truncated FROM runs WHERE tracker_id = ?1 ORDER BY num";

/* One state change from SQL_CHANGES_ALL (ft__attach_changes). */
static int sq_change_next(void *ctx, int64_t *eid, int *state, int64_t *at)
{
    sqlite3_stmt *s = ctx;
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? 0 : FT_EIO;
    cols(s, 0, "IiI", eid, state, at);
    return 1;
}

/* Attach every item's state changes; they arrive ordered by item id. */
static int load_changes(struct sq *q, struct ft_tracker *t, struct ft_err *err)
{
    if (!t->lists[FT_K_ITEM].n)
        return 0;
    sqlite3_stmt *s = prep(q, SQL_CHANGES_ALL, err, "I", t->id);
    if (!s)
        return FT_EIO;
    int rc = ft__attach_changes(t, sq_change_next, s);
    if (rc)
        rc = db_err(q, err, "load state changes");
    sqlite3_reset(s);
    return rc;
}

/* A run from a row of SQL_RUNS_ALL or (with_log) SQL_RUN_GET. */
static void run_from_row(sqlite3_stmt *s, struct ft_run *r, int with_log)
{
    cols(s, 0,
         "Iisss"
         "IIiiii",
         &r->id, &r->num, &r->command, &r->cwd, &r->label, &r->started_at, &r->duration_ms,
         &r->exit_code, &r->signal, &r->outcome, &r->log_truncated);
    if (with_log)
        cols(s, 11, "ss", &r->log, &r->diagnosis);
}

/* Column i of a row as a string of t's (its pool's when it has one). */
static char *col_copy(struct ft_tracker *t, sqlite3_stmt *s, int i)
{
    const char *v = col_text(s, i); /* before the length: it may convert the value */
    return ft_tracker_str(t, v, (size_t)sqlite3_column_bytes(s, i));
}

static int sq_tracker_load(void *db, struct ft_tracker *t, int flags, struct ft_err *err)
{
    struct sq *q = db;
    sqlite3_stmt *s =
        prep(q, flags & FT_LOAD_LAYOUT ? SQL_ENTRIES_LAYOUT : SQL_ENTRIES_ALL, err, "I", t->id);
    int rc;
    if (!s)
        return FT_EIO;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int kind = sqlite3_column_int(s, 15);
        if (kind < 0 || kind >= FT_K__COUNT)
            continue;
        struct ft_entry *e =
            ft_tracker_push(t, (enum ft_kind)kind, col_copy(t, s, 3), col_copy(t, s, 4),
                            col_copy(t, s, 6), col_copy(t, s, 7));
        entry_nums_from_row(s, e, NULL);
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return db_err(q, err, "load entries");
    if ((flags & FT_LOAD_CHANGES) && (rc = load_changes(q, t, err)))
        return rc;
    if (!(s = prep(q, SQL_RUNS_ALL, err, "I", t->id)))
        return FT_EIO;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        run_from_row(s, ft_tracker_add_run(t), 0);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : db_err(q, err, "load runs");
}

/* ---- runs ---------------------------------------------------------------------------- */

static const char SQL_RUN_NEXT[] =
    "SELECT coalesce(max(num), 0) + 1 FROM runs WHERE tracker_id = ?1";
static const char SQL_RUN_INSERT[] =
    "INSERT INTO runs (tracker_id, num, command, cwd, label, started_at, duration_ms, exit_code,"
    " signal, outcome, log, log_truncated, diagnosis)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
static const char SQL_RUN_GET[] =
    "SELECT id, num, command, cwd, label, started_at, duration_ms, exit_code, signal, outcome,"
    " log_truncated, log, diagnosis FROM runs WHERE tracker_id = ?1 AND num = ?2";

static int sq_run_next(void *db, int64_t tid, int *num, struct ft_err *err)
{
    int64_t n = 0;
    int rc = one_int64(db, prep(db, SQL_RUN_NEXT, err, "I", tid), &n, err, "number run");
    *num = (int)n;
    return rc;
}

static int sq_run_insert(void *db, int64_t tid, struct ft_run *r, struct ft_err *err)
{
    struct sq *q = db;
    int rc = execf(q, SQL_RUN_INSERT, err, "record run", "IitttIIiiitit", tid, r->num, r->command,
                   r->cwd, r->label, r->started_at, r->duration_ms, r->exit_code, r->signal,
                   r->outcome, r->log, r->log_truncated, r->diagnosis);
    if (!rc)
        r->id = sqlite3_last_insert_rowid(q->db);
    return rc;
}

static int sq_run_get(void *db, int64_t tid, int num, struct ft_run *r, struct ft_err *err)
{
    sqlite3_stmt *s = prep(db, SQL_RUN_GET, err, "Ii", tid, num);
    if (!s)
        return FT_EIO;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        memset(r, 0, sizeof(*r));
        run_from_row(s, r, 1);
    }
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return ft_err_set(err, FT_ENOTFOUND, "no run %d", num);
    return rc == SQLITE_ROW ? 0 : db_err(db, err, "read run");
}

/* ---- settings ------------------------------------------------------------------------ */

static const char SQL_SETTING_GET[] = "SELECT value FROM settings WHERE key = ?1";
static const char SQL_SETTING_SET[] =
    "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2";
static const char SQL_SETTING_DEL[] = "DELETE FROM settings WHERE key = ?1";

static int sq_setting_get(void *db, const char *key, char **val, struct ft_err *err)
{
    sqlite3_stmt *s = prep(db, SQL_SETTING_GET, err, "t", key);
    if (!s)
        return FT_EIO;
    int rc = sqlite3_step(s);
    *val = rc == SQLITE_ROW ? ft_xstrdup(col_text(s, 0)) : NULL;
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_err(db, err, "read setting");
}

static int sq_setting_set(void *db, const char *key, const char *val, struct ft_err *err)
{
    if (!val)
        return execf(db, SQL_SETTING_DEL, err, "write setting", "t", key);
    return execf(db, SQL_SETTING_SET, err, "write setting", "tt", key, val);
}

/* ---- copying a store (copy.c) -------------------------------------------------------- */

/*
 * The statement text for tab: a SELECT of its columns in key order (rowid when it has no key),
 * or an INSERT of them as ?1..?n. The identifiers are copy.c's fixed ones, never input; they
 * are quoted all the same, so that a column named like a keyword still works.
 */
static char *copy_sql(const struct ft_copy_table *tab, int insert)
{
    struct ft_buf b;
    ft_buf_init(&b, 0);
    ft_buf_adds(&b, insert ? "INSERT INTO \"" : "SELECT ");
    if (insert)
        ft_buf_addf(&b, "%s\" (", tab->name);
    for (int i = 0; i < tab->ncols; i++)
        ft_buf_addf(&b, "%s\"%s\"", i ? ", " : "", tab->cols[i]);
    if (insert) {
        ft_buf_adds(&b, ") VALUES (");
        for (int i = 0; i < tab->ncols; i++)
            ft_buf_addf(&b, "%s?%d", i ? ", " : "", i + 1);
        ft_buf_adds(&b, ")");
    } else if (tab->key) {
        ft_buf_addf(&b, " FROM \"%s\" ORDER BY \"%s\"", tab->name, tab->key);
    } else {
        ft_buf_addf(&b, " FROM \"%s\" ORDER BY rowid", tab->name);
    }
    return ft_buf_detach(&b, NULL);
}

/* Column i of the current row as a cell; FT_EINVAL for a real or a blob, which no column of
 * the schema holds and which the neutral cells do not carry. */
static int cell_from_col(sqlite3_stmt *s, int i, const struct ft_copy_table *tab, int64_t row,
                         struct ft_cell *c, struct ft_err *err)
{
    memset(c, 0, sizeof(*c));
    switch (sqlite3_column_type(s, i)) {
    case SQLITE_NULL:
        c->type = FT_CELL_NULL;
        return 0;
    case SQLITE_INTEGER:
        c->type = FT_CELL_INT;
        c->i = sqlite3_column_int64(s, i);
        return 0;
    case SQLITE_TEXT:
        c->type = FT_CELL_TEXT;
        c->text = (const char *)sqlite3_column_text(s, i);
        c->len = (size_t)sqlite3_column_bytes(s, i);
        return 0;
    }
    return ft_err_set(err, FT_EINVAL,
                      "%s row %lld: column %s holds a %s, which a store never has and a copy "
                      "cannot carry",
                      tab->name, (long long)row, tab->cols[i],
                      sqlite3_column_type(s, i) == SQLITE_FLOAT ? "real number" : "blob");
}

/* Run once per table and copy: prepared here and finalized at the end, not cached. */
static int sq_copy_out(void *db, const struct ft_copy_table *tab, ft_copy_row_cb cb, void *ctx,
                       struct ft_err *err)
{
    struct sq *q = db;
    char what[64];
    snprintf(what, sizeof(what), "copy from %s", tab->name);
    char *sql = copy_sql(tab, 0);
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(q->db, sql, -1, &s, NULL);
    free(sql);
    if (rc != SQLITE_OK)
        return db_err(q, err, what);
    struct ft_cell *cells = ft_xcalloc((size_t)tab->ncols, sizeof(*cells));
    int ret = 0;
    int64_t row = 0;
    while (!ret && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        row++;
        for (int i = 0; !ret && i < tab->ncols; i++)
            ret = cell_from_col(s, i, tab, row, &cells[i], err);
        if (!ret)
            ret = cb(cells, tab->ncols, ctx);
    }
    if (!ret && rc != SQLITE_DONE)
        ret = db_err(q, err, what);
    sqlite3_finalize(s);
    free(cells);
    return ret;
}

/* The INSERT of tab into *out, prepared at its first row and kept until the connection closes. */
static int copy_in_stmt(struct sq *q, const struct ft_copy_table *tab, sqlite3_stmt **out,
                        struct ft_err *err)
{
    for (int i = 0; i < q->ncopy_in; i++) {
        if (q->copy_in[i].tab == tab) {
            *out = q->copy_in[i].stmt;
            return 0;
        }
    }
    if (q->ncopy_in == COPY_CACHE) /* cannot happen with copy.c's fixed list */
        return ft_err_set(err, FT_EIO, "copy into %s: statement cache full", tab->name);
    char *sql = copy_sql(tab, 1);
    int rc = sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
    free(sql);
    if (rc != SQLITE_OK) {
        char what[64];
        snprintf(what, sizeof(what), "copy into %s", tab->name);
        return db_err(q, err, what);
    }
    q->copy_in[q->ncopy_in].tab = tab;
    q->copy_in[q->ncopy_in++].stmt = *out;
    return 0;
}

/*
 * An explicit seq inserted into events (INTEGER PRIMARY KEY AUTOINCREMENT) also raises
 * sqlite_sequence to it when larger, so the next event_append continues after the largest
 * sequence number copied in: nothing to adjust afterwards.
 */
static int sq_copy_in(void *db, const struct ft_copy_table *tab, const struct ft_cell *cells,
                      struct ft_err *err)
{
    struct sq *q = db;
    sqlite3_stmt *s = NULL;
    int rc = copy_in_stmt(q, tab, &s, err);
    if (rc)
        return rc;
    for (int i = 0; i < tab->ncols; i++) {
        const struct ft_cell *c = &cells[i];
        if (c->type == FT_CELL_INT)
            sqlite3_bind_int64(s, i + 1, c->i);
        else if (c->type == FT_CELL_TEXT)
            sqlite3_bind_text64(s, i + 1, c->text, c->len, SQLITE_TRANSIENT, SQLITE_UTF8);
        else
            sqlite3_bind_null(s, i + 1);
    }
    char what[64];
    snprintf(what, sizeof(what), "copy into %s", tab->name);
    rc = exec_step(q, s, err, what);
    sqlite3_clear_bindings(s);
    return rc;
}

/* ---- the change watch ---------------------------------------------------------------- */

/*
 * inotify on the store's directory: the -wal file changes on every commit, by any process.
 * A directory watch (not a file watch) also sees a WAL file created after the watch started.
 */
static int sq_watch_open(void *db, int *fd, struct ft_err *err)
{
    struct sq *q = db;
    (void)err;
    *fd = -1;
    char *abs = realpath(q->path, NULL);
    const char *p = abs ? abs : q->path;
    const char *slash = strrchr(p, '/');
    char dir[PATH_MAX];
    dir_of(p, dir, sizeof(dir));
    q->watch_base = ft_xstrdup(slash ? slash + 1 : p);
    free(abs);
    q->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (q->inotify_fd >= 0 &&
        inotify_add_watch(q->inotify_fd, dir,
                          IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_TO) < 0) {
        close(q->inotify_fd);
        q->inotify_fd = -1;
    }
    *fd = q->inotify_fd;
    return 0;
}

/* Whether a file named name in the store's directory is the store's: the database (replaced by
 * a rename), its WAL or its rollback journal. Not another file whose name starts the same (a
 * log written beside it would wake the watch at each line). */
static int watch_name(const char *name, const char *base, size_t blen)
{
    if (strncmp(name, base, blen) != 0)
        return 0;
    const char *rest = name + blen;
    return !*rest || strcmp(rest, "-wal") == 0 || strcmp(rest, "-journal") == 0;
}

static int sq_watch_read(void *db, int64_t *recheck_ms)
{
    struct sq *q = db;
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    size_t blen = strlen(q->watch_base);
    int hit = 0;
    for (;;) {
        ssize_t n = read(q->inotify_fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ie = (const struct inotify_event *)(void *)p;
            if (ie->len && watch_name(ie->name, q->watch_base, blen))
                hit = 1;
            p += sizeof(*ie) + ie->len;
        }
    }
    /* The -wal frames are written (and seen here) before the commit is published in the
     * shared-memory index, which inotify does not see: look again over the next 250 ms. */
    *recheck_ms = hit ? 250 : 0;
    return hit;
}

static void sq_watch_close(void *db)
{
    struct sq *q = db;
    if (q->inotify_fd >= 0)
        close(q->inotify_fd);
    q->inotify_fd = -1;
    free(q->watch_base);
    q->watch_base = NULL;
}

const struct ft_store_backend ft_store_sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .set_busy_timeout = sq_set_busy_timeout,
    .open_statements = sq_open_statements,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .begin_read = sq_begin_read,
    .copy_out = sq_copy_out,
    .copy_in = sq_copy_in,
    .tracker_find = sq_tracker_find,
    .tracker_first_two = sq_tracker_first_two,
    .tracker_rows = sq_tracker_rows,
    .tracker_slug = sq_tracker_slug,
    .header_load = sq_header_load,
    .tracker_load = sq_tracker_load,
    .slug_taken = sq_slug_taken,
    .tracker_insert = sq_tracker_insert,
    .tracker_write = sq_tracker_write,
    .tracker_touch = sq_tracker_touch,
    .tracker_delete = sq_tracker_delete,
    .entry_get = sq_entry_get,
    .entry_next = sq_entry_next,
    .entry_count = sq_entry_count,
    .entry_insert = sq_entry_insert,
    .entry_write = sq_entry_write,
    .entry_shift = sq_entry_shift,
    .entry_set_pos = sq_entry_set_pos,
    .entry_delete = sq_entry_delete,
    .state_change = sq_state_change,
    .run_next = sq_run_next,
    .run_insert = sq_run_insert,
    .run_get = sq_run_get,
    .event_append = sq_event_append,
    .events = sq_events,
    .tracker_version = sq_tracker_version,
    .last_seq = sq_last_seq,
    .setting_get = sq_setting_get,
    .setting_set = sq_setting_set,
    .watch_open = sq_watch_open,
    .watch_read = sq_watch_read,
    .watch_close = sq_watch_close,
};
