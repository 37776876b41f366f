/*
 * pg.c: the PostgreSQL backend of the store (backend.h), through libpq.
 *
 * A store is a database named by a URL (postgres://user@host:port/dbname?...). Every
 * statement goes by the extended protocol with its parameters in text form: unnamed at its
 * first run on a connection, prepared under a name (s0, s1...) from its second; results come
 * back as text and are parsed here. Nothing from input is ever put into a statement's text.
 *
 * Round trips: inside a write transaction, what needs no answer (the BEGIN and the write
 * lock, statements whose result is only their success) is held back and sent with the next
 * statement that needs one, in one pipeline (see "pipelines").
 *
 * Writers: begin() opens a transaction and takes one transaction-level advisory lock, so
 * writers (any server, any CLI, on any machine) are serialised exactly as SQLite's one
 * write lock serialises them: event sequence numbers become visible in commit order, and a
 * reader that has seen event N never later finds a new event below N. A writer waits for
 * the lock at most the busy timeout (lock_timeout), then fails with FT_EBUSY.
 *
 * Every wait on the network is bounded, since the caller may be a server's event loop: the
 * connection is non-blocking and each call polls its socket with a deadline of the busy
 * timeout + ANSWER_MS of silence (a connection attempt the same). A database that says
 * nothing for that long (stopped, hung, or cut off without TCP noticing) loses the
 * connection: the call fails with FT_EBUSY, and the next one connects again (mend).
 *
 * Durability: COMMIT returns once the server has flushed its WAL (synchronous_commit is
 * left at the server's setting, on by default).
 *
 * The change watch is a second connection that LISTENs on the channel `flowtrack`; every
 * event appended NOTIFYs it in the same transaction, so the notification arrives only once
 * the event is committed, from whichever process or machine wrote it.
 *
 * Schema changes are forward migrations recorded in the table flowtrack_schema; a database
 * whose version is newer than this build knows is refused before anything is written.
 */
#include "backend.h"
#define FT_PQ_CALLS /* libpq through the table loaded at first use */
#include "pq_dl.h"

#include "../util/ft_buf.h"
#include "../util/ft_err.h"
#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/banned.h"

#define STMT_CACHE 48
#define COPY_CACHE 8
#define MAX_PARAMS 20
#define MAX_DEFER  8
#define BUSY_MS    10000
/* reconnecting after a loss: the first try at once, then waits doubling up to the last */
#define RETRY_FIRST_MS 100
#define RETRY_MAX_MS   5000
/* how long the database may stay silent beyond the busy timeout (a lock wait is silent):
 * then the connection is given up (bounded_wait) */
#define ANSWER_MS 1000
/* the key of the one advisory lock every writer takes ("FlTr" twice) */
#define WRITE_LOCK "4641546672466c54"
#define CHANNEL    "flowtrack"

/* Parameters in text form: values[i] points into num[i] for numbers. */
struct params {
    const char *values[MAX_PARAMS];
    char num[MAX_PARAMS][24];
    int n;
};

/* A statement held back until the next that needs an answer (see "pipelines"). */
struct deferred {
    const char *sql;
    struct params p;
    char *texts[MAX_PARAMS]; /* copies of its text values */
    char what[48];
};

/* One connection. */
struct pq {
    PGconn *conn;
    char *url;
    struct {
        const char *sql; /* static string: its address is the key */
        char name[16];
    } cache[STMT_CACHE];
    int ncache;
    struct {
        const struct ft_copy_table *tab;
        char name[16];
    } copy_in[COPY_CACHE];
    int ncopy_in;
    int busy_ms;
    int in_tx;      /* a transaction is open on conn */
    int copied;     /* copy_in wrote explicit ids in this transaction: move the sequences on */
    PGconn *listen; /* the change watch, NULL when off */
    /* after a lost connection: no try before retry_at (ft_mono_ms), then wait retry_ms more */
    int64_t retry_at, retry_ms;
    uint64_t reconnects;
    int write_tx;        /* in_tx, a write transaction (pg_begin) */
    int64_t tx_last_seq; /* the last event it appended (0: none) */
    int64_t watch_named; /* what the last watch read's notifications named (pg_watch_head) */
    int begin_due;       /* write_tx, and its BEGIN and write lock not sent yet */
    struct deferred defer[MAX_DEFER];
    int ndefer;
    int down;           /* the last statement failed for the connection */
    char down_why[256]; /* and why */
};

/*
 * The schema, one migration per version, as SQLite's (sqlite.c) so that both stores hold
 * the same columns with the same meaning at each version. Integers that hold times, sizes
 * or ids are BIGINT; row ids are identity columns that still accept an explicit value
 * (a copy keeps every id). state_changes has an ordinal of its own: the order of an item's
 * history, which SQLite keeps in its rowid.
 */
static const char *const migrations[] = {
    /* 1: the initial schema */
    "CREATE TABLE trackers ("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  slug TEXT NOT NULL UNIQUE,"
    "  org TEXT NOT NULL DEFAULT '',"
    "  title TEXT NOT NULL,"
    "  started TEXT NOT NULL DEFAULT '',"
    "  owner TEXT NOT NULL DEFAULT '',"
    "  objective TEXT NOT NULL DEFAULT '',"
    "  status INTEGER NOT NULL DEFAULT 0 CONSTRAINT trackers_status CHECK (status IN (0, 1)),"
    "  repro_command TEXT NOT NULL DEFAULT '',"
    "  repro_timeout_ms BIGINT NOT NULL DEFAULT 0,"
    "  repro_expect TEXT NOT NULL DEFAULT '',"
    "  repro_note TEXT NOT NULL DEFAULT '',"
    "  symptoms_note TEXT NOT NULL DEFAULT '',"
    "  hyps_note TEXT NOT NULL DEFAULT '',"
    "  results_note TEXT NOT NULL DEFAULT '',"
    "  fix_summary TEXT NOT NULL DEFAULT '',"
    "  fix_why TEXT NOT NULL DEFAULT '',"
    "  fix_evidence TEXT NOT NULL DEFAULT '',"
    "  created_at BIGINT NOT NULL,"
    "  updated_at BIGINT NOT NULL"
    ");"
    "CREATE TABLE runs ("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  tracker_id BIGINT NOT NULL REFERENCES trackers(id) ON DELETE CASCADE,"
    "  num INTEGER NOT NULL,"
    "  command TEXT NOT NULL,"
    "  cwd TEXT NOT NULL DEFAULT '',"
    "  label TEXT NOT NULL DEFAULT '',"
    "  started_at BIGINT NOT NULL,"
    "  duration_ms BIGINT NOT NULL,"
    "  exit_code INTEGER NOT NULL,"
    "  signal INTEGER NOT NULL DEFAULT 0,"
    "  outcome INTEGER NOT NULL,"
    "  log TEXT NOT NULL DEFAULT '',"
    "  log_truncated INTEGER NOT NULL DEFAULT 0,"
    "  diagnosis TEXT NOT NULL DEFAULT '',"
    "  UNIQUE (tracker_id, num)"
    ");"
    "CREATE TABLE entries ("
    "  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  tracker_id BIGINT NOT NULL REFERENCES trackers(id) ON DELETE CASCADE,"
    "  kind INTEGER NOT NULL,"
    "  num INTEGER NOT NULL,"
    "  pos INTEGER NOT NULL,"
    "  title TEXT NOT NULL DEFAULT '',"
    "  text TEXT NOT NULL,"
    "  state INTEGER NOT NULL DEFAULT 0,"
    "  detail TEXT NOT NULL DEFAULT '',"
    "  date TEXT NOT NULL DEFAULT '',"
    "  run_id BIGINT REFERENCES runs(id) ON DELETE SET NULL,"
    "  created_at BIGINT NOT NULL,"
    "  updated_at BIGINT NOT NULL,"
    "  state_at BIGINT NOT NULL,"
    "  UNIQUE (tracker_id, kind, num)"
    ");"
    "CREATE INDEX entries_pos ON entries (tracker_id, kind, pos);"
    "CREATE TABLE state_changes ("
    "  ord BIGINT GENERATED ALWAYS AS IDENTITY,"
    "  entry_id BIGINT NOT NULL REFERENCES entries(id) ON DELETE CASCADE,"
    "  state INTEGER NOT NULL,"
    "  at BIGINT NOT NULL"
    ");"
    "CREATE INDEX state_changes_entry ON state_changes (entry_id, ord);"
    "CREATE TABLE events ("
    "  seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    "  tracker_id BIGINT,"
    "  slug TEXT NOT NULL DEFAULT '',"
    "  at BIGINT NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  payload TEXT NOT NULL"
    ");"
    "CREATE INDEX events_tracker ON events (tracker_id, seq);"
    "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);",

    /* 2: claims on items; status 2 (waiting) */
    "ALTER TABLE entries ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE entries ADD COLUMN claimed_at BIGINT NOT NULL DEFAULT 0;"
    "ALTER TABLE trackers DROP CONSTRAINT trackers_status;"
    "ALTER TABLE trackers ADD CONSTRAINT trackers_status CHECK (status IN (0, 1, 2));",
};
#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

_Static_assert(NMIGRATIONS == FT_SCHEMA_VERSION, "one migration per schema version");

const char *ft__pg_migration(int version)
{
    return version >= 1 && version <= NMIGRATIONS ? migrations[version - 1] : NULL;
}

/* ---- errors -------------------------------------------------------------------------- */

/* The connection's message without its trailing newline, into buf. */
static const char *conn_msg(PGconn *c, char *buf, size_t n)
{
    snprintf(buf, n, "%s", c ? PQerrorMessage(c) : "out of memory");
    for (char *p = buf; *p; p++) /* one line: libpq's hints come on lines of their own */
        if (*p == '\n' || *p == '\t')
            *p = p[1] && *p == '\n' ? ';' : ' ';
        else if (*p == '"') /* and quotable as a log field */
            *p = '\'';
    size_t len = strlen(buf);
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == ' ' || buf[len - 1] == ';'))
        buf[--len] = '\0';
    return buf;
}

/*
 * The ft_err of a failed statement (res may be NULL: the connection failed). The SQLSTATE
 * class decides the code: a lock not had in time or a serialisation failure is FT_EBUSY, a
 * constraint FT_EEXIST, bad data FT_EINVAL, a full disk FT_ENOSPC; anything else, a lost
 * connection included, FT_EIO.
 */
static int pg_err(struct pq *q, const PGresult *res, struct ft_err *err, const char *what)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *prim = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char buf[512];
    const char *msg = prim ? prim : q->conn ? conn_msg(q->conn, buf, sizeof(buf)) : q->down_why;
    if (!q->conn)
        return ft_err_set(err, FT_EBUSY, "%s: database unavailable: %s", what, msg);
    if (PQstatus(q->conn) == CONNECTION_BAD) {
        q->down = 1;
        if (msg != q->down_why)
            snprintf(q->down_why, sizeof(q->down_why), "%s", msg);
        return ft_err_set(err, FT_EIO, "%s: database connection lost: %s", what, msg);
    }
    if (!state)
        return ft_err_set(err, FT_EIO, "%s: %s", what, msg);
    if (strcmp(state, "55P03") == 0 || strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)
        return ft_err_set(err, FT_EBUSY,
                          "%s: the store is locked by another writer (waited %d ms); try again",
                          what, q->busy_ms);
    if (strncmp(state, "23", 2) == 0)
        return ft_err_set(err, FT_EEXIST, "%s: %s", what, msg);
    if (strncmp(state, "22", 2) == 0)
        return ft_err_set(err, FT_EINVAL, "%s: %s", what, msg);
    if (strcmp(state, "53100") == 0)
        return ft_err_set(err, FT_ENOSPC, "%s: storage full: %s", what, msg);
    return ft_err_set(err, FT_EIO, "%s: %s (SQLSTATE %s)", what, msg, state);
}

/* ---- bounded waits ------------------------------------------------------------------- */

/* libpq's notices (and a server's last words as it shuts down) are not written to stderr:
 * what matters of them comes back as errors of the calls. */
static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* The longest silence a call accepts from the database (see the top of the file). */
static int64_t silence_ms(const struct pq *q)
{
    return (int64_t)q->busy_ms + ANSWER_MS;
}

/* Wait until fd is ready for events, or the deadline (ft_mono_ms) passes: 1 ready (or an
 * error of poll, which libpq then meets itself), 0 when the time ran out. */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - ft_mono_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (n > 0 || (n < 0 && errno != EINTR))
            return 1;
    }
}

/*
 * Connect to url within ms: parameters of our own first, which the URL's own override
 * (application_name, and TCP keepalives so that a peer gone silent between calls is found
 * dead). The connection when it is usable, else NULL with why filled.
 */
static PGconn *connect_within(const char *url, int64_t ms, char *why, size_t n)
{
    const char *keys[] = {"keepalives_idle",
                          "keepalives_interval",
                          "keepalives_count",
                          "tcp_user_timeout",
                          "application_name",
                          "dbname",
                          NULL};
    const char *vals[] = {"5", "2", "3", "10000", "flowtrack", url, NULL};
    PGconn *c = PQconnectStartParams(keys, vals, 1);
    int64_t deadline = ft_mono_ms() + ms;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (c && PQstatus(c) != CONNECTION_BAD && st != PGRES_POLLING_OK &&
           st != PGRES_POLLING_FAILED) {
        if (!wait_fd(PQsocket(c), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline)) {
            snprintf(why, n, "no answer within %lld ms", (long long)ms);
            PQfinish(c);
            return NULL;
        }
        st = PQconnectPoll(c);
    }
    if (PQstatus(c) != CONNECTION_OK || PQsetnonblocking(c, 1) != 0) {
        conn_msg(c, why, n);
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, quiet, NULL);
    return c;
}

/* After a failure of the connection: no new try before the wait, which doubles each time. */
static void back_off(struct pq *q)
{
    q->retry_ms = q->retry_ms ? q->retry_ms * 2 : RETRY_FIRST_MS;
    if (q->retry_ms > RETRY_MAX_MS)
        q->retry_ms = RETRY_MAX_MS;
    q->retry_at = ft_mono_ms() + q->retry_ms;
}

/* Give the connection up: after a wait ran out, what state it is in is unknown. The next
 * call connects again (mend); the database rolls back what was open when it notices. */
static void drop(struct pq *q)
{
    snprintf(q->down_why, sizeof(q->down_why), "no answer within %lld ms",
             (long long)silence_ms(q));
    PQfinish(q->conn);
    q->conn = NULL;
    q->down = 1;
    q->ncache = 0;
    q->ncopy_in = 0;
    back_off(q);
}

/*
 * The result of what a PQsend* call on c just sent, waiting at most silence ms between signs
 * of life. As PQexec's: of several results, the last, unless one failed, then that one. NULL
 * when the connection failed (PQstatus then says so) or went silent (*silent set).
 */
static PGresult *await_result(PGconn *c, int64_t silence, int *silent)
{
    *silent = 0;
    PGresult *keep = NULL, *r;
    int fd = PQsocket(c);
    int64_t deadline = ft_mono_ms() + silence;
    int f;
    while ((f = PQflush(c)) == 1) {
        if (!wait_fd(fd, POLLIN | POLLOUT, deadline))
            goto silent;
        if (!PQconsumeInput(c))
            return NULL;
        deadline = ft_mono_ms() + silence;
    }
    if (f < 0)
        return NULL;
    for (;;) {
        while (PQisBusy(c)) {
            if (!wait_fd(fd, POLLIN, deadline))
                goto silent;
            if (!PQconsumeInput(c) && PQstatus(c) != CONNECTION_BAD)
                goto silent; /* cannot happen: a failed read leaves the connection bad */
            deadline = ft_mono_ms() + silence;
        }
        if (!(r = PQgetResult(c)))
            break;
        if (keep && PQresultStatus(keep) == PGRES_FATAL_ERROR) {
            PQclear(r);
        } else {
            PQclear(keep);
            keep = r;
        }
    }
    return keep;
silent:
    PQclear(keep);
    *silent = 1;
    return NULL;
}

/* The result of what was just sent on the store's connection (sent: the PQsend* call's
 * return value); a connection gone silent is dropped. */
static PGresult *collect(struct pq *q, int sent)
{
    if (!sent)
        return NULL;
    int silent;
    PGresult *r = await_result(q->conn, silence_ms(q), &silent);
    if (silent)
        drop(q);
    return r;
}

/* The blocking calls of libpq, bounded (collect). */
static PGresult *ask(struct pq *q, const char *sql)
{
    return collect(q, q->conn && PQsendQuery(q->conn, sql));
}

static PGresult *ask_params(struct pq *q, const char *sql, int n, const char *const *values)
{
    return collect(q, q->conn && PQsendQueryParams(q->conn, sql, n, NULL, values, NULL, NULL, 0));
}

static PGresult *ask_prepare(struct pq *q, const char *name, const char *sql)
{
    return collect(q, q->conn && PQsendPrepare(q->conn, name, sql, 0, NULL));
}

static PGresult *ask_prepared(struct pq *q, const char *name, int n, const char *const *values)
{
    return collect(q, q->conn && PQsendQueryPrepared(q->conn, name, n, values, NULL, NULL, 0));
}

/* ---- statements ---------------------------------------------------------------------- */

/* The session's wait for another writer's lock: the busy timeout (every connection's first
 * statement, and again when the timeout changes). */
static int set_lock_timeout(struct pq *q, struct ft_err *err, const char *what)
{
    char ms[32];
    snprintf(ms, sizeof(ms), "%d", q->busy_ms);
    const char *v[] = {ms};
    PGresult *r = ask_params(q, "SELECT set_config('lock_timeout', $1, false)", 1, v);
    int rc = PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : pg_err(q, r, err, what);
    PQclear(r);
    return rc;
}

/*
 * A lost connection is mended before the next statement when no transaction was open on
 * it (one that was is lost with it: its caller already had the error). Tries are spaced by
 * a growing wait (RETRY_FIRST_MS doubling to RETRY_MAX_MS) so that a server whose database
 * is away answers at once that it is, rather than blocking its loop on every request; each
 * try is bounded as every wait is (connect_within). The server's prepared statements went with the
 * old session.
 */
static int mend(struct pq *q, struct ft_err *err)
{
    if (PQstatus(q->conn) != CONNECTION_BAD)
        return 0;
    if (q->in_tx)
        return ft_err_set(err, FT_EIO, "database connection lost inside a transaction");
    int64_t now = ft_mono_ms();
    if (now < q->retry_at)
        return ft_err_set(err, FT_EBUSY, "database unavailable (%s); next try in %lld ms",
                          q->down_why, (long long)(q->retry_at - now));
    PQfinish(q->conn);
    q->ncache = 0;
    q->ncopy_in = 0;
    q->conn = connect_within(q->url, silence_ms(q), q->down_why, sizeof(q->down_why));
    if (!q->conn) {
        back_off(q);
        q->down = 1;
        return ft_err_set(err, FT_EBUSY, "database unavailable: %s", q->down_why);
    }
    q->retry_ms = 0;
    q->retry_at = 0;
    q->down = 0;
    q->reconnects++;
    return set_lock_timeout(q, err, "reconnect");
}

/*
 * Parameters from the arguments, one letter each (as sqlite.c's):
 *   i  int          I  int64_t          n  int64_t row id, NULL when 0
 *   t  const char * (NULL gives '')
 */
static void vparams(struct params *p, const char *fmt, va_list ap)
{
    p->n = 0;
    for (; *fmt && p->n < MAX_PARAMS; fmt++, p->n++) {
        int i = p->n;
        switch (*fmt) {
        case 'i':
            snprintf(p->num[i], sizeof(p->num[i]), "%d", va_arg(ap, int));
            p->values[i] = p->num[i];
            break;
        case 'I':
            snprintf(p->num[i], sizeof(p->num[i]), "%" PRId64, va_arg(ap, int64_t));
            p->values[i] = p->num[i];
            break;
        case 'n': {
            int64_t id = va_arg(ap, int64_t);
            snprintf(p->num[i], sizeof(p->num[i]), "%" PRId64, id);
            p->values[i] = id ? p->num[i] : NULL;
            break;
        }
        default: {
            const char *v = va_arg(ap, const char *);
            p->values[i] = v ? v : "";
            break;
        }
        }
    }
}

/*
 * Run sql with parameters p. A statement's first run on a connection goes as an unnamed one
 * (parse, bind and execute in one round trip); at its second it is prepared under a name and
 * run by that name from then on. A command line process, which runs most statements once,
 * so makes one round trip per statement instead of two; a server parses each once.
 */
/* sql's slot in the statement cache, added (*first set) at its first run on the connection;
 * -1 when the cache is full (which the fixed set of statements never fills). */
static int stmt_slot(struct pq *q, const char *sql, int *first)
{
    int i = 0;
    while (i < q->ncache && q->cache[i].sql != sql)
        i++;
    *first = i == q->ncache;
    if (i == STMT_CACHE)
        return -1;
    if (*first) {
        q->cache[i].sql = sql;
        q->cache[i].name[0] = '\0';
        q->ncache++;
    }
    return i;
}

static PGresult *exec_stmt(struct pq *q, const char *sql, const struct params *p,
                           struct ft_err *err)
{
    int first, i = stmt_slot(q, sql, &first);
    if (i < 0) {
        ft_err_set(err, FT_EIO, "statement cache full");
        return NULL;
    }
    if (first)
        return ask_params(q, sql, p->n, p->values);
    char *name = q->cache[i].name;
    if (!name[0]) {
        char n[sizeof(q->cache[0].name)];
        snprintf(n, sizeof(n), "s%d", i);
        PGresult *r = ask_prepare(q, n, sql);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok) {
            pg_err(q, r, err, "prepare");
            PQclear(r);
            return NULL;
        }
        PQclear(r);
        memcpy(name, n, sizeof(n));
    }
    return ask_prepared(q, name, p->n, p->values);
}

/* ---- pipelines ----------------------------------------------------------------------- */

/*
 * Within a write transaction what needs no answer is not sent at once: the transaction's BEGIN
 * and write lock (pg_begin), and the statements whose result is only their success (execf).
 * They wait for the next statement that needs an answer, or the COMMIT, and go with it in one
 * pipeline (libpq's pipeline mode): one round trip for all. A failure among them fails the
 * transaction as it would have, reported under the name of the statement that failed, by the
 * call that sent it.
 */

static const char SQL_WRITE_LOCK[] = "SELECT pg_advisory_xact_lock(x'" WRITE_LOCK "'::bigint)";

/* Hold sql back, with a copy of its parameters (the caller's strings end with its call). */
static void defer_stmt(struct pq *q, const char *sql, const struct params *p, const char *what)
{
    struct deferred *d = &q->defer[q->ndefer++];
    d->sql = sql;
    snprintf(d->what, sizeof(d->what), "%s", what);
    d->p.n = p->n;
    for (int i = 0; i < p->n; i++) {
        d->texts[i] = NULL;
        if (!p->values[i]) {
            d->p.values[i] = NULL;
        } else if (p->values[i] == p->num[i]) {
            memcpy(d->p.num[i], p->num[i], sizeof(p->num[i]));
            d->p.values[i] = d->p.num[i];
        } else {
            d->texts[i] = ft_xstrdup(p->values[i]);
            d->p.values[i] = d->texts[i];
        }
    }
}

static void forget_deferred(struct pq *q)
{
    for (int k = 0; k < q->ndefer; k++)
        for (int i = 0; i < q->defer[k].p.n; i++)
            free(q->defer[k].texts[i]);
    q->ndefer = 0;
    q->begin_due = 0;
}

/* What a pipeline sent, in order; each gives one result. */
enum sent_kind { SENT_BEGIN, SENT_PREPARE, SENT_DEFERRED, SENT_NOW };
struct sent {
    enum sent_kind kind;
    int idx; /* SENT_PREPARE: the statement cache's; SENT_DEFERRED: q->defer's */
};
#define MAX_SENT (2 * MAX_DEFER + 4)

/* Queue sql in the pipeline as exec_stmt runs it (unnamed at its first run, prepared at its
 * second): 0 when libpq refused (the connection failed). */
static int send_stmt(struct pq *q, const char *sql, const struct params *p, struct sent *s, int *ns,
                     enum sent_kind kind, int idx)
{
    int first, i = stmt_slot(q, sql, &first);
    if (i < 0)
        return 0;
    if (first) {
        s[(*ns)++] = (struct sent){kind, idx};
        return PQsendQueryParams(q->conn, sql, p->n, NULL, p->values, NULL, NULL, 0);
    }
    char *name = q->cache[i].name;
    if (!name[0]) {
        snprintf(name, sizeof(q->cache[0].name), "s%d", i);
        s[(*ns)++] = (struct sent){SENT_PREPARE, i};
        if (!PQsendPrepare(q->conn, name, sql, 0, NULL))
            return 0;
    }
    s[(*ns)++] = (struct sent){kind, idx};
    return PQsendQueryPrepared(q->conn, name, p->n, p->values, NULL, NULL, 0);
}

/* Send what is held back, then sql (if any; raw: a fixed text without parameters, never
 * prepared), in one pipeline, and read every result. 0 with *out the result of sql (NULL
 * when none), else an error. A pipeline that begins the transaction is sent once more on a
 * new connection when the old one is found lost: nothing of the transaction had run, or the
 * database rolled it back with the connection (not when it holds the COMMIT). */
static int pipeline(struct pq *q, const char *sql, const struct params *p, int raw, PGresult **out,
                    struct ft_err *err, const char *what)
{
    *out = NULL;
    int retry = q->begin_due && !raw;
    for (;;) {
        struct sent s[MAX_SENT];
        int ns = 0, silent = 0;
        int ok = q->conn && PQenterPipelineMode(q->conn);
        if (ok && q->begin_due) {
            s[ns++] = (struct sent){SENT_BEGIN, 0};
            s[ns++] = (struct sent){SENT_BEGIN, 0};
            ok = PQsendQueryParams(q->conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0) &&
                 PQsendQueryParams(q->conn, SQL_WRITE_LOCK, 0, NULL, NULL, NULL, NULL, 0);
        }
        for (int k = 0; ok && k < q->ndefer; k++)
            ok = send_stmt(q, q->defer[k].sql, &q->defer[k].p, s, &ns, SENT_DEFERRED, k);
        if (ok && sql && raw) {
            s[ns++] = (struct sent){SENT_NOW, 0};
            ok = PQsendQueryParams(q->conn, sql, 0, NULL, NULL, NULL, NULL, 0);
        } else if (ok && sql) {
            ok = send_stmt(q, sql, p, s, &ns, SENT_NOW, 0);
        }
        ok = ok && PQpipelineSync(q->conn);
        PGresult *now = NULL, *bad = NULL;
        const char *bad_what = what;
        for (int k = 0; ok && k < ns; k++) {
            PGresult *r = await_result(q->conn, silence_ms(q), &silent);
            ExecStatusType st = PQresultStatus(r);
            int good = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
            if (!r) {
                ok = 0;
            } else if (!good && s[k].kind == SENT_PREPARE) {
                q->cache[s[k].idx].name[0] = '\0'; /* not prepared after all */
            }
            if (r && !good && !bad && st != PGRES_PIPELINE_ABORTED) {
                bad = r;
                bad_what = s[k].kind == SENT_DEFERRED  ? q->defer[s[k].idx].what
                           : s[k].kind == SENT_BEGIN   ? "begin"
                           : s[k].kind == SENT_PREPARE ? "prepare"
                                                       : what;
            } else if (r && good && s[k].kind == SENT_NOW) {
                now = r;
            } else if (r != bad) {
                PQclear(r);
            }
        }
        if (ok) {
            PGresult *r = await_result(q->conn, silence_ms(q), &silent);
            ok = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
            PQclear(r);
        }
        ok = ok && PQexitPipelineMode(q->conn);
        if (ok) {
            forget_deferred(q);
            if (bad) {
                PQclear(now);
                int rc = pg_err(q, bad, err, bad_what);
                PQclear(bad);
                return rc;
            }
            *out = now;
            return 0;
        }
        PQclear(now);
        PQclear(bad);
        if (silent || (q->conn && PQstatus(q->conn) != CONNECTION_BAD))
            drop(q);            /* silent, or in a state not worth untangling: start afresh */
        if (retry && q->conn) { /* found lost: once more on a new connection */
            retry = 0;
            q->retry_at = 0;
            q->in_tx = 0;
            int rc = mend(q, err);
            q->in_tx = 1;
            if (!rc)
                continue;
        }
        forget_deferred(q);
        return pg_err(q, NULL, err, what);
    }
}

/* Send what is held back, before a statement that does not go through run_params. */
static int settle(struct pq *q, struct ft_err *err)
{
    PGresult *r;
    return q->begin_due || q->ndefer ? pipeline(q, NULL, NULL, 0, &r, err, "write") : 0;
}

/* Run a prepared statement with parameters p: the result when it succeeded, else NULL with
 * err filled. The caller clears the result. */
static PGresult *run_params(struct pq *q, const char *sql, const struct params *p,
                            struct ft_err *err, const char *what)
{
    if (mend(q, err))
        return NULL;
    if (q->begin_due || q->ndefer) {
        PGresult *r;
        return pipeline(q, sql, p, 0, &r, err, what) ? NULL : r;
    }
    PGresult *r = exec_stmt(q, sql, p, err);
    if (!r && PQstatus(q->conn) != CONNECTION_BAD)
        return NULL; /* err says why */
    ExecStatusType s = PQresultStatus(r);
    if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK)
        return r;
    if (q->conn && PQstatus(q->conn) == CONNECTION_BAD && !q->in_tx) {
        /* the connection was found lost by this statement, outside a transaction (a read, or
         * a write of its own): once more on a new connection, else report it down (not when
         * it was given up for its silence: that waited long enough) */
        PQclear(r);
        q->retry_at = 0;
        if (mend(q, err))
            return NULL;
        r = exec_stmt(q, sql, p, err);
        s = PQresultStatus(r);
        if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK)
            return r;
        if (!r && PQstatus(q->conn) != CONNECTION_BAD)
            return NULL;
    }
    pg_err(q, r, err, what);
    PQclear(r);
    return NULL;
}

/* Run sql with parameters from fmt and the arguments (vparams): the result, or NULL. */
static PGresult *vrun(struct pq *q, const char *sql, struct ft_err *err, const char *what,
                      const char *fmt, va_list ap)
{
    struct params p;
    vparams(&p, fmt, ap);
    return run_params(q, sql, &p, err, what);
}

static PGresult *run(struct pq *q, const char *sql, struct ft_err *err, const char *what,
                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PGresult *r = vrun(q, sql, err, what, fmt, ap);
    va_end(ap);
    return r;
}

/* Run a statement that returns no rows; inside a write transaction, held back to go with
 * the next that needs an answer (pipelines). */
static int execf(struct pq *q, const char *sql, struct ft_err *err, const char *what,
                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (q->write_tx && q->conn && q->ndefer < MAX_DEFER) {
        struct params p;
        vparams(&p, fmt, ap);
        va_end(ap);
        defer_stmt(q, sql, &p, what);
        return 0;
    }
    PGresult *r = vrun(q, sql, err, what, fmt, ap);
    va_end(ap);
    PQclear(r);
    return r ? 0 : FT_EIO;
}

static int64_t val64(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static int vali(const PGresult *r, int row, int col)
{
    return (int)val64(r, row, col);
}

/*
 * Read row `row`'s columns from `first` on into the arguments, one letter each:
 *   i  int *   I  int64_t *   s  char ** (a copy replaces the string there, which is freed)
 *   c  const char ** (the result's own text: valid until it is cleared)
 *   -  skip a column (no argument)
 */
static void cols(const PGresult *r, int row, int first, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (int i = first; *fmt; fmt++, i++) {
        if (*fmt == 'i')
            *va_arg(ap, int *) = vali(r, row, i);
        else if (*fmt == 'I')
            *va_arg(ap, int64_t *) = val64(r, row, i);
        else if (*fmt == 's')
            ft_set_str(va_arg(ap, char **), PQgetvalue(r, row, i));
        else if (*fmt == 'c')
            *va_arg(ap, const char **) = PQgetvalue(r, row, i);
    }
    va_end(ap);
}

/* Run a statement expected to give at most one row of one integer: *out, or 0 when none. */
static int one_int64(struct pq *q, const char *sql, int64_t *out, struct ft_err *err,
                     const char *what, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    PGresult *r = vrun(q, sql, err, what, fmt, ap);
    va_end(ap);
    *out = 0;
    if (!r)
        return FT_EIO;
    if (PQntuples(r) > 0)
        *out = val64(r, 0, 0);
    PQclear(r);
    return 0;
}

/* A statement without parameters through the simple protocol (schema, transactions). */
static int exec_simple(struct pq *q, const char *sql, struct ft_err *err, const char *what)
{
    int rc = settle(q, err);
    if (rc)
        return rc;
    PGresult *r = ask(q, sql);
    ExecStatusType s = PQresultStatus(r);
    rc = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ? 0 : pg_err(q, r, err, what);
    PQclear(r);
    return rc;
}

/* ---- transactions -------------------------------------------------------------------- */

static void pg_rollback(void *db)
{
    struct pq *q = db;
    forget_deferred(q); /* what was held back never ran */
    q->tx_last_seq = 0;
    if (PQstatus(q->conn) == CONNECTION_OK && PQtransactionStatus(q->conn) != PQTRANS_IDLE)
        PQclear(ask(q, "ROLLBACK"));
    q->in_tx = 0;
    q->write_tx = 0;
    q->copied = 0;
}

/* A write transaction: its BEGIN and write lock go with its first statement (pipelines). */
static int pg_begin(void *db, struct ft_err *err)
{
    struct pq *q = db;
    int rc = mend(q, err);
    if (rc)
        return rc;
    q->in_tx = 1;
    q->write_tx = 1;
    q->begin_due = 1;
    return 0;
}

/* After a copy wrote explicit ids: each identity continues after the largest value. */
static const char SQL_SEQ_ON[] =
    "SELECT setval(pg_get_serial_sequence('trackers', 'id'), coalesce((SELECT max(id) FROM trackers), 0) + 1, false),"
    " setval(pg_get_serial_sequence('runs', 'id'), coalesce((SELECT max(id) FROM runs), 0) + 1, false),"
    " setval(pg_get_serial_sequence('entries', 'id'), coalesce((SELECT max(id) FROM entries), 0) + 1, false),"
    " setval(pg_get_serial_sequence('events', 'seq'), coalesce((SELECT max(seq) FROM events), 0) + 1, false)";

/* One notification per transaction that appended events, naming its last one: sent at
 * commit, and only if the transaction commits (a listener that has read the log that far
 * need not read it again: pg_watch_read). */
static const char SQL_NOTIFY[] = "SELECT pg_notify('" CHANNEL "', $1)";

static int pg_commit(void *db, struct ft_err *err)
{
    struct pq *q = db;
    int rc = q->copied ? execf(q, SQL_SEQ_ON, err, "commit", "") : 0;
    if (!rc && q->tx_last_seq)
        rc = execf(q, SQL_NOTIFY, err, "commit", "I", q->tx_last_seq);
    q->tx_last_seq = 0;
    PGresult *r = NULL;
    if (!rc && (q->begin_due || q->ndefer))
        rc = pipeline(q, "COMMIT", NULL, 1, &r, err, "commit");
    else if (!rc)
        rc = exec_simple(q, "COMMIT", err, "commit");
    PQclear(r);
    q->in_tx = 0;
    q->write_tx = 0;
    q->copied = 0;
    return rc;
}

/* Repeatable read: every read of the transaction sees the snapshot of its first one. */
static int pg_begin_read(void *db, struct ft_err *err)
{
    struct pq *q = db;
    int rc = mend(q, err);
    if (!rc)
        rc = exec_simple(q, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err, "begin read");
    if (!rc)
        q->in_tx = 1;
    return rc;
}

/* ---- open / close -------------------------------------------------------------------- */

static const char SQL_SCHEMA_STATE[] =
    "SELECT to_regclass('flowtrack_schema') IS NOT NULL,"
    " (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    "  WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'v', 'p'))";
static const char SQL_SCHEMA_VERSION[] = "SELECT max(version) FROM flowtrack_schema";

/* Bring the schema from its version to FT_SCHEMA_VERSION, inside the write lock (another
 * process may be migrating the same database). */
static int migrate(struct pq *q, struct ft_err *err)
{
    int rc = pg_begin(q, err);
    if (rc)
        return rc;
    int64_t version = 0;
    rc = exec_simple(q, "CREATE TABLE IF NOT EXISTS flowtrack_schema (version INTEGER NOT NULL)",
                     err, "create store");
    if (!rc)
        rc = one_int64(q, SQL_SCHEMA_VERSION, &version, err, "create store", "");
    for (int v = (int)version; !rc && v < FT_SCHEMA_VERSION; v++)
        rc = exec_simple(q, migrations[v], err, "migrate store");
    if (!rc && version < FT_SCHEMA_VERSION) {
        char sql[96];
        snprintf(sql, sizeof(sql),
                 "DELETE FROM flowtrack_schema; INSERT INTO flowtrack_schema "
                 "VALUES (%d)",
                 FT_SCHEMA_VERSION);
        rc = exec_simple(q, sql, err, "migrate store");
    }
    if (!rc)
        rc = pg_commit(q, err);
    if (rc)
        pg_rollback(q);
    return rc;
}

static void pg_close(void *db);

int ft_pg_is_url(const char *path)
{
    return strncmp(path, "postgres://", 11) == 0 || strncmp(path, "postgresql://", 13) == 0;
}

static int pg_open(const char *url, int flags, void **out, struct ft_err *err)
{
    *out = NULL;
    int rc = ft_pq_load(err);
    if (rc)
        return rc;
    struct pq *q = ft_xcalloc(1, sizeof(*q));
    q->url = ft_xstrdup(url);
    q->busy_ms = BUSY_MS;
    char buf[512];
    q->conn = connect_within(url, silence_ms(q), buf, sizeof(buf));
    if (!q->conn) {
        rc = ft_err_set(err, FT_EIO, "cannot connect to the store's database: %s", buf);
        goto fail;
    }
    if ((rc = set_lock_timeout(q, err, "open store")))
        goto fail;

    PGresult *r = run(q, SQL_SCHEMA_STATE, err, "open store", "");
    if (!r) {
        rc = FT_EIO;
        goto fail;
    }
    int ours = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    int64_t objects = val64(r, 0, 1);
    PQclear(r);
    int64_t version = 0;
    if (ours && (rc = one_int64(q, SQL_SCHEMA_VERSION, &version, err, "open store", "")))
        goto fail;
    char shown[512];
    ft_store_path_shown(url, shown, sizeof(shown));
    if (!ours && objects) {
        rc = ft_err_set(err, FT_EINVAL,
                        "'%s' is not a flowtrack store (its database holds other tables)", shown);
        goto fail;
    }
    if (!ours && !(flags & FT_STORE_CREATE)) {
        rc = ft_err_set(err, FT_ENOTFOUND, "no store at '%s' (run 'flowtrack init')", shown);
        goto fail;
    }
    if (version > FT_SCHEMA_VERSION) {
        rc = ft_err_set(err, FT_EVERSION,
                        "store '%s' has schema version %d, newer than this flowtrack knows (%d); "
                        "upgrade flowtrack to use it",
                        shown, (int)version, FT_SCHEMA_VERSION);
        goto fail;
    }
    if (version < FT_SCHEMA_VERSION && (rc = migrate(q, err)))
        goto fail;
    *out = q;
    return 0;
fail:
    pg_close(q);
    return rc;
}

static void pg_watch_close(void *db);

static void pg_close(void *db)
{
    struct pq *q = db;
    if (!q)
        return;
    pg_watch_close(q);
    forget_deferred(q); /* a transaction left open: what it held back never ran */
    PQfinish(q->conn);
    free(q->url);
    free(q);
}

static void pg_set_busy_timeout(void *db, int ms)
{
    struct pq *q = db;
    q->busy_ms = ms;
    set_lock_timeout(q, NULL, "set timeout"); /* else the next connection takes it */
}

static int pg_open_statements(void *db)
{
    struct pq *q = db;
    int n = q->ncopy_in;
    for (int i = 0; i < q->ncache; i++)
        n += q->cache[i].name[0] != '\0';
    return n;
}

/* ---- events -------------------------------------------------------------------------- */

static const char SQL_EVENT_ADD[] =
    "INSERT INTO events (tracker_id, slug, at, actor, kind, payload)"
    " VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq";

static int pg_event_append(void *db, int64_t tid, const char *slug, int64_t at, const char *actor,
                           const char *kind, const char *payload, int64_t *seq, struct ft_err *err)
{
    struct pq *q = db;
    int rc = one_int64(q, SQL_EVENT_ADD, seq, err, "append event", "ntIttt", tid, slug, at, actor,
                       kind, payload);
    if (!rc && *seq > q->tx_last_seq)
        q->tx_last_seq = *seq; /* named by the transaction's notification (pg_commit) */
    return rc;
}

static const char SQL_EVENTS_ASC[] =
    "SELECT seq, coalesce(tracker_id, 0), slug, at, actor, kind, payload FROM events"
    " WHERE seq > $1 AND ($2 = 0 OR tracker_id = $2) AND ($3 = '' OR left(kind, length($3)) = $3)"
    " ORDER BY seq LIMIT $4";
static const char SQL_EVENTS_DESC[] =
    "SELECT seq, coalesce(tracker_id, 0), slug, at, actor, kind, payload FROM events"
    " WHERE seq > $1 AND ($2 = 0 OR tracker_id = $2) AND ($3 = '' OR left(kind, length($3)) = $3)"
    " ORDER BY seq DESC LIMIT $4";

static int pg_events(void *db, int64_t tid, const char *kind_prefix, int64_t after_seq, int limit,
                     int newest_first, ft_event_cb cb, void *ctx, struct ft_err *err)
{
    PGresult *r = run(db, newest_first ? SQL_EVENTS_DESC : SQL_EVENTS_ASC, err, "read events",
                      "IItn", after_seq, tid, kind_prefix, (int64_t)(limit > 0 ? limit : 0));
    if (!r)
        return FT_EIO;
    int ret = 0;
    for (int i = 0, n = PQntuples(r); i < n && !ret; i++) {
        struct ft_event ev;
        cols(r, i, 0, "IIcIccc", &ev.seq, &ev.tracker_id, &ev.slug, &ev.at, &ev.actor, &ev.kind,
             &ev.payload);
        ret = cb(&ev, ctx);
    }
    PQclear(r);
    return ret;
}

static const char SQL_TRACKER_VERSION[] =
    "SELECT coalesce(max(seq), 0) FROM events WHERE tracker_id = $1";
static const char SQL_LAST_SEQ[] = "SELECT coalesce(max(seq), 0) FROM events";

static int pg_tracker_version(void *db, int64_t tid, int64_t *seq, struct ft_err *err)
{
    return one_int64(db, SQL_TRACKER_VERSION, seq, err, "read events", "I", tid);
}

static int pg_last_seq(void *db, int64_t *seq, struct ft_err *err)
{
    return one_int64(db, SQL_LAST_SEQ, seq, err, "read events", "");
}

/* ---- trackers ------------------------------------------------------------------------ */

static const char SQL_FIND_SLUG[] = "SELECT id FROM trackers WHERE slug = $1";
static const char SQL_FIND_ID[] = "SELECT id FROM trackers WHERE id = $1";

static int pg_tracker_find(void *db, const char *slug, int64_t id, int64_t *out, struct ft_err *err)
{
    int rc = slug ? one_int64(db, SQL_FIND_SLUG, out, err, "find tracker", "t", slug)
                  : one_int64(db, SQL_FIND_ID, out, err, "find tracker", "I", id);
    if (!rc && !*out)
        return ft_err_set(err, FT_ENOTFOUND, "no tracker");
    return rc;
}

static const char SQL_FIRST_TWO[] = "SELECT id FROM trackers ORDER BY id LIMIT 2";

static int pg_tracker_first_two(void *db, int64_t *id, int *count, struct ft_err *err)
{
    PGresult *r = run(db, SQL_FIRST_TWO, err, "list trackers", "");
    if (!r)
        return FT_EIO;
    *count = PQntuples(r);
    if (*count)
        *id = val64(r, 0, 0);
    PQclear(r);
    return 0;
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

_Static_assert(FT_ST__COUNT == 4, "the tracker list counts four item states");

static int pg_tracker_rows(void *db, ft_tracker_row_cb cb, void *ctx, struct ft_err *err)
{
    PGresult *r = run(db, SQL_LIST, err, "list trackers", "");
    if (!r)
        return FT_EIO;
    for (int i = 0, n = PQntuples(r); i < n; i++) {
        struct ft_tracker_row row;
        cols(r, i, 0, "IcciI", &row.id, &row.slug, &row.title, &row.status, &row.updated_at);
        for (int k = 0; k < FT_ST__COUNT; k++)
            row.progress[k] = vali(r, i, 5 + k);
        cols(r, i, 5 + FT_ST__COUNT, "Icc", &row.last_seq, &row.last_actor, &row.last_kind);
        cb(&row, ctx);
    }
    PQclear(r);
    return 0;
}

static const char SQL_SLUG_OF[] = "SELECT slug FROM trackers WHERE id = $1";

static int pg_tracker_slug(void *db, int64_t id, char **slug, struct ft_err *err)
{
    *slug = NULL;
    PGresult *r = run(db, SQL_SLUG_OF, err, "find tracker", "I", id);
    if (!r)
        return FT_EIO;
    if (PQntuples(r))
        *slug = ft_xstrdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return *slug ? 0 : ft_err_set(err, FT_ENOTFOUND, "no tracker with id %lld", (long long)id);
}

static const char SQL_TRACKER_GET[] =
    "SELECT id, slug, org, title, started, owner, objective, status, repro_command,"
    " repro_timeout_ms, repro_expect, repro_note, symptoms_note, hyps_note, results_note,"
    " fix_summary, fix_why, fix_evidence, created_at, updated_at FROM trackers WHERE id = $1";

static int pg_header_load(void *db, int64_t id, struct ft_tracker *t, struct ft_err *err)
{
    PGresult *r = run(db, SQL_TRACKER_GET, err, "load tracker", "I", id);
    if (!r)
        return FT_EIO;
    int found = PQntuples(r) > 0;
    if (found)
        cols(r, 0, 0, "IssssssisIssssssssII", &t->id, &t->slug, &t->org, &t->title, &t->started,
             &t->owner, &t->objective, &t->status, &t->repro_command, &t->repro_timeout_ms,
             &t->repro_expect, &t->repro_note, &t->symptoms_note, &t->hyps_note, &t->results_note,
             &t->fix_summary, &t->fix_why, &t->fix_evidence, &t->created_at, &t->updated_at);
    PQclear(r);
    return found ? 0 : ft_err_set(err, FT_ENOTFOUND, "no tracker with id %lld", (long long)id);
}

static const char SQL_TRACKER_INSERT[] =
    "INSERT INTO trackers (slug, org, title, started, owner, objective, status, repro_command,"
    " repro_timeout_ms, repro_expect, repro_note, symptoms_note, hyps_note, results_note,"
    " fix_summary, fix_why, fix_evidence, created_at, updated_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18)"
    " RETURNING id";
static const char SQL_TRACKER_WRITE[] =
    "UPDATE trackers SET slug = $1, org = $2, title = $3, started = $4, owner = $5, objective = $6,"
    " status = $7, repro_command = $8, repro_timeout_ms = $9, repro_expect = $10, repro_note = $11,"
    " symptoms_note = $12, hyps_note = $13, results_note = $14, fix_summary = $15, fix_why = $16,"
    " fix_evidence = $17, updated_at = $18 WHERE id = $19";
static const char SQL_TOUCH[] = "UPDATE trackers SET updated_at = $1 WHERE id = $2";
static const char SQL_TRACKER_DELETE[] = "DELETE FROM trackers WHERE id = $1";

/* The header's 17 fields as $1..$17, now as $18 and (with_id, for the update) the id as $19. */
static PGresult *run_header(struct pq *q, const char *sql, const struct ft_tracker *t, int64_t now,
                            int with_id, struct ft_err *err, const char *what)
{
    const char *fmt = with_id ? "ttttttitIttttttttII" : "ttttttitIttttttttI";
    return run(q, sql, err, what, fmt, t->slug, t->org, t->title, t->started, t->owner,
               t->objective, t->status, t->repro_command, t->repro_timeout_ms, t->repro_expect,
               t->repro_note, t->symptoms_note, t->hyps_note, t->results_note, t->fix_summary,
               t->fix_why, t->fix_evidence, now, t->id);
}

static int pg_tracker_insert(void *db, struct ft_tracker *t, int64_t now, struct ft_err *err)
{
    PGresult *r = run_header(db, SQL_TRACKER_INSERT, t, now, 0, err, "insert tracker");
    if (!r)
        return FT_EIO;
    t->id = val64(r, 0, 0);
    PQclear(r);
    return 0;
}

static int pg_tracker_write(void *db, const struct ft_tracker *t, int64_t now, struct ft_err *err)
{
    PGresult *r = run_header(db, SQL_TRACKER_WRITE, t, now, 1, err, "update tracker");
    PQclear(r);
    return r ? 0 : FT_EIO;
}

static int pg_tracker_touch(void *db, int64_t id, int64_t now, struct ft_err *err)
{
    return execf(db, SQL_TOUCH, err, "update tracker", "II", now, id);
}

static int pg_tracker_delete(void *db, int64_t id, struct ft_err *err)
{
    return execf(db, SQL_TRACKER_DELETE, err, "delete tracker", "I", id);
}

static const char SQL_SLUG_TAKEN[] = "SELECT 1 FROM trackers WHERE slug = $1";

static int pg_slug_taken(void *db, const char *slug, int *taken, struct ft_err *err)
{
    int64_t one = 0;
    int rc = one_int64(db, SQL_SLUG_TAKEN, &one, err, "check slug", "t", slug);
    *taken = one != 0;
    return rc;
}

/* ---- entries ------------------------------------------------------------------------- */

static const char SQL_NEXT_NUM[] =
    "SELECT coalesce(max(num), 0) + 1, (SELECT coalesce(max(pos), 0) + 1 FROM entries"
    " WHERE tracker_id = $1 AND kind = $2) FROM entries WHERE tracker_id = $1 AND kind = $2";
static const char SQL_ENTRY_INSERT[] =
    "INSERT INTO entries (tracker_id, kind, num, pos, title, text, state, detail, date, run_id,"
    " created_at, updated_at, state_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $11)"
    " RETURNING id";
static const char SQL_STATE_CHANGE[] =
    "INSERT INTO state_changes (entry_id, state, at) VALUES ($1, $2, $3)";
static const char SQL_ENTRY_GET[] =
    "SELECT e.id, e.num, e.pos, e.title, e.text, e.state, e.detail, e.date, coalesce(e.run_id, 0),"
    " e.created_at, e.updated_at, e.state_at, coalesce(r.num, 0), e.claimed_by, e.claimed_at"
    " FROM entries e LEFT JOIN runs r ON r.id = e.run_id"
    " WHERE e.tracker_id = $1 AND e.kind = $2 AND e.num = $3";
#define ENTRIES_OF_TRACKER " FROM entries e WHERE e.tracker_id = $1 ORDER BY e.kind, e.pos"
static const char SQL_ENTRIES_ALL[] =
    "SELECT e.id, e.num, e.pos, e.title, e.text, e.state, e.detail, e.date, coalesce(e.run_id, 0),"
    " e.created_at, e.updated_at, e.state_at, 0, e.claimed_by, e.claimed_at, e.kind" ENTRIES_OF_TRACKER;
/* The same columns with 0 for what no layout shows (row ids, positions, times): FT_LOAD_LAYOUT */
static const char SQL_ENTRIES_LAYOUT[] =
    "SELECT 0, e.num, 0, e.title, e.text, e.state, e.detail, e.date, coalesce(e.run_id, 0),"
    " 0, 0, 0, 0, e.claimed_by, e.claimed_at, e.kind" ENTRIES_OF_TRACKER;
static const char SQL_ENTRY_WRITE[] =
    "UPDATE entries SET title = $1, text = $2, state = $3, detail = $4, date = $5,"
    " updated_at = $6, state_at = $7, claimed_by = $8, claimed_at = $9 WHERE id = $10";
static const char SQL_COUNT_KIND[] =
    "SELECT count(*) FROM entries WHERE tracker_id = $1 AND kind = $2";
static const char SQL_SHIFT[] =
    "UPDATE entries SET pos = pos + $1 WHERE tracker_id = $2 AND kind = $3 AND pos BETWEEN $4 AND $5";
static const char SQL_SET_POS[] = "UPDATE entries SET pos = $1, updated_at = $2 WHERE id = $3";
static const char SQL_ENTRY_DELETE[] = "DELETE FROM entries WHERE id = $1";

static int pg_entry_next(void *db, int64_t tid, enum ft_kind kind, int *num, int *pos,
                         struct ft_err *err)
{
    PGresult *r = run(db, SQL_NEXT_NUM, err, "number entry", "Ii", tid, (int)kind);
    if (!r)
        return FT_EIO;
    cols(r, 0, 0, "ii", num, pos);
    PQclear(r);
    return 0;
}

static int pg_entry_insert(void *db, int64_t tid, struct ft_entry *e, int pos, int64_t now,
                           struct ft_err *err)
{
    return one_int64(db, SQL_ENTRY_INSERT, &e->id, err, "insert entry", "IiiittittnI", tid,
                     (int)e->kind, e->num, pos, e->title, e->text, e->state, e->detail, e->date,
                     e->run_id, now);
}

static int pg_state_change(void *db, int64_t entry_id, int state, int64_t at, struct ft_err *err)
{
    return execf(db, SQL_STATE_CHANGE, err, "record state change", "IiI", entry_id, state, at);
}

/* e's numbers and times from row i (strings are read by the caller). */
static void entry_nums_from_row(const PGresult *r, int i, struct ft_entry *e, int *pos)
{
    e->id = val64(r, i, 0);
    e->num = vali(r, i, 1);
    if (pos)
        *pos = vali(r, i, 2);
    e->state = vali(r, i, 5);
    e->run_id = val64(r, i, 8);
    e->created_at = val64(r, i, 9);
    e->updated_at = val64(r, i, 10);
    e->state_at = val64(r, i, 11);
    e->run_num = vali(r, i, 12);
    const char *by = PQgetvalue(r, i, 13);
    if (*by) {
        free(e->claimed_by);
        e->claimed_by = ft_xstrdup(by);
        e->claimed_at = val64(r, i, 14);
    }
}

static int pg_entry_get(void *db, int64_t tid, enum ft_kind kind, int num, struct ft_entry *out,
                        int *pos, struct ft_err *err)
{
    PGresult *r = run(db, SQL_ENTRY_GET, err, "read entry", "Iii", tid, (int)kind, num);
    if (!r)
        return FT_EIO;
    int found = PQntuples(r) > 0;
    if (found) {
        memset(out, 0, sizeof(*out));
        out->kind = kind;
        cols(r, 0, 3, "ss-ss", &out->title, &out->text, &out->detail, &out->date);
        entry_nums_from_row(r, 0, out, pos);
    }
    PQclear(r);
    return found ? 0 : ft_err_set(err, FT_ENOTFOUND, "no %s %d", ft_kind_name(kind), num);
}

static int pg_entry_count(void *db, int64_t tid, enum ft_kind kind, int *count, struct ft_err *err)
{
    int64_t n = 0;
    int rc = one_int64(db, SQL_COUNT_KIND, &n, err, "count entries", "Ii", tid, (int)kind);
    *count = (int)n;
    return rc;
}

static int pg_entry_write(void *db, const struct ft_entry *e, struct ft_err *err)
{
    return execf(db, SQL_ENTRY_WRITE, err, "update entry", "ttittIItII", e->title, e->text,
                 e->state, e->detail, e->date, e->updated_at, e->state_at, e->claimed_by,
                 e->claimed_by ? e->claimed_at : 0, e->id);
}

static int pg_entry_shift(void *db, int64_t tid, enum ft_kind kind, int by, int lo, int hi,
                          struct ft_err *err)
{
    return execf(db, SQL_SHIFT, err, "reorder entries", "iIiii", by, tid, (int)kind, lo, hi);
}

static int pg_entry_set_pos(void *db, int64_t id, int pos, int64_t now, struct ft_err *err)
{
    return execf(db, SQL_SET_POS, err, "move entry", "iII", pos, now, id);
}

static int pg_entry_delete(void *db, int64_t id, struct ft_err *err)
{
    return execf(db, SQL_ENTRY_DELETE, err, "remove entry", "I", id);
}

/* ---- whole tracker ------------------------------------------------------------------- */

static const char SQL_CHANGES_ALL[] =
    "SELECT c.entry_id, c.state, c.at FROM state_changes c JOIN entries e ON e.id = c.entry_id"
    " WHERE e.tracker_id = $1 AND e.kind = 2 ORDER BY c.entry_id, c.ord";
static const char SQL_RUNS_ALL[] =
    "SELECT id, num, command, cwd, label, started_at, duration_ms, exit_code, signal, outcome,"
    " log_truncated FROM runs WHERE tracker_id = $1 ORDER BY num";

/* The rows of SQL_CHANGES_ALL, one at a time (ft__attach_changes). */
struct change_rows {
    const PGresult *r;
    int i, n;
};

static int pg_change_next(void *ctx, int64_t *eid, int *state, int64_t *at)
{
    struct change_rows *c = ctx;
    if (c->i == c->n)
        return 0;
    cols(c->r, c->i++, 0, "IiI", eid, state, at);
    return 1;
}

/* Attach every item's state changes; they arrive ordered by item id. */
static int load_changes(struct pq *q, struct ft_tracker *t, struct ft_err *err)
{
    if (!t->lists[FT_K_ITEM].n)
        return 0;
    PGresult *r = run(q, SQL_CHANGES_ALL, err, "load state changes", "I", t->id);
    if (!r)
        return FT_EIO;
    struct change_rows c = {r, 0, PQntuples(r)};
    ft__attach_changes(t, pg_change_next, &c);
    PQclear(r);
    return 0;
}

/* A run from row i of SQL_RUNS_ALL or (with_log) SQL_RUN_GET. */
static void run_from_row(const PGresult *r, int i, struct ft_run *run, int with_log)
{
    cols(r, i, 0, "IisssIIiiii", &run->id, &run->num, &run->command, &run->cwd, &run->label,
         &run->started_at, &run->duration_ms, &run->exit_code, &run->signal, &run->outcome,
         &run->log_truncated);
    if (with_log)
        cols(r, i, 11, "ss", &run->log, &run->diagnosis);
}

/* Field c of row i as a string of t's (its pool's when it has one). */
static char *col_copy(struct ft_tracker *t, const PGresult *r, int i, int c)
{
    return ft_tracker_str(t, PQgetvalue(r, i, c), (size_t)PQgetlength(r, i, c));
}

static int pg_tracker_load(void *db, struct ft_tracker *t, int flags, struct ft_err *err)
{
    struct pq *q = db;
    PGresult *r = run(q, flags & FT_LOAD_LAYOUT ? SQL_ENTRIES_LAYOUT : SQL_ENTRIES_ALL, err,
                      "load entries", "I", t->id);
    if (!r)
        return FT_EIO;
    for (int i = 0, n = PQntuples(r); i < n; i++) {
        int kind = vali(r, i, 15);
        if (kind < 0 || kind >= FT_K__COUNT)
            continue;
        struct ft_entry *e =
            ft_tracker_push(t, (enum ft_kind)kind, col_copy(t, r, i, 3), col_copy(t, r, i, 4),
                            col_copy(t, r, i, 6), col_copy(t, r, i, 7));
        entry_nums_from_row(r, i, e, NULL);
    }
    PQclear(r);
    int rc;
    if ((flags & FT_LOAD_CHANGES) && (rc = load_changes(q, t, err)))
        return rc;
    if (!(r = run(q, SQL_RUNS_ALL, err, "load runs", "I", t->id)))
        return FT_EIO;
    for (int i = 0, n = PQntuples(r); i < n; i++)
        run_from_row(r, i, ft_tracker_add_run(t), 0);
    PQclear(r);
    return 0;
}

/* ---- runs ---------------------------------------------------------------------------- */

static const char SQL_RUN_NEXT[] =
    "SELECT coalesce(max(num), 0) + 1 FROM runs WHERE tracker_id = $1";
static const char SQL_RUN_INSERT[] =
    "INSERT INTO runs (tracker_id, num, command, cwd, label, started_at, duration_ms, exit_code,"
    " signal, outcome, log, log_truncated, diagnosis)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id";
static const char SQL_RUN_GET[] =
    "SELECT id, num, command, cwd, label, started_at, duration_ms, exit_code, signal, outcome,"
    " log_truncated, log, diagnosis FROM runs WHERE tracker_id = $1 AND num = $2";

static int pg_run_next(void *db, int64_t tid, int *num, struct ft_err *err)
{
    int64_t n = 0;
    int rc = one_int64(db, SQL_RUN_NEXT, &n, err, "number run", "I", tid);
    *num = (int)n;
    return rc;
}

static int pg_run_insert(void *db, int64_t tid, struct ft_run *r, struct ft_err *err)
{
    return one_int64(db, SQL_RUN_INSERT, &r->id, err, "record run", "IitttIIiiitit", tid, r->num,
                     r->command, r->cwd, r->label, r->started_at, r->duration_ms, r->exit_code,
                     r->signal, r->outcome, r->log, r->log_truncated, r->diagnosis);
}

static int pg_run_get(void *db, int64_t tid, int num, struct ft_run *out, struct ft_err *err)
{
    PGresult *r = run(db, SQL_RUN_GET, err, "read run", "Ii", tid, num);
    if (!r)
        return FT_EIO;
    int found = PQntuples(r) > 0;
    if (found) {
        memset(out, 0, sizeof(*out));
        run_from_row(r, 0, out, 1);
    }
    PQclear(r);
    return found ? 0 : ft_err_set(err, FT_ENOTFOUND, "no run %d", num);
}

/* ---- settings ------------------------------------------------------------------------ */

static const char SQL_SETTING_GET[] = "SELECT value FROM settings WHERE key = $1";
static const char SQL_SETTING_SET[] =
    "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = $2";
static const char SQL_SETTING_DEL[] = "DELETE FROM settings WHERE key = $1";

static int pg_setting_get(void *db, const char *key, char **val, struct ft_err *err)
{
    *val = NULL;
    PGresult *r = run(db, SQL_SETTING_GET, err, "read setting", "t", key);
    if (!r)
        return FT_EIO;
    if (PQntuples(r))
        *val = ft_xstrdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    return 0;
}

static int pg_setting_set(void *db, const char *key, const char *val, struct ft_err *err)
{
    if (!val)
        return execf(db, SQL_SETTING_DEL, err, "write setting", "t", key);
    return execf(db, SQL_SETTING_SET, err, "write setting", "tt", key, val);
}

/* ---- copying a store (copy.c) -------------------------------------------------------- */

/* A SELECT of tab's columns in key order (the ordinal for state changes), or an INSERT of
 * them as $1..$n. The identifiers are copy.c's fixed ones, never input, quoted all the same. */
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
            ft_buf_addf(&b, "%s$%d", i ? ", " : "", i + 1);
        ft_buf_adds(&b, ")");
    } else {
        ft_buf_addf(&b, " FROM \"%s\" ORDER BY \"%s\"", tab->name, tab->key ? tab->key : "ord");
    }
    return ft_buf_detach(&b, NULL);
}

/* OIDs of the integer types (pg_type.h is a server header: the values are fixed). */
static int int_type(Oid t)
{
    return t == 20 || t == 21 || t == 23; /* int8, int2, int4 */
}

static int pg_copy_out(void *db, const struct ft_copy_table *tab, ft_copy_row_cb cb, void *ctx,
                       struct ft_err *err)
{
    struct pq *q = db;
    char what[64];
    snprintf(what, sizeof(what), "copy from %s", tab->name);
    if (mend(q, err) || settle(q, err))
        return FT_EIO;
    char *sql = copy_sql(tab, 0);
    PGresult *r = ask_params(q, sql, 0, NULL);
    free(sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        int rc = pg_err(q, r, err, what);
        PQclear(r);
        return rc;
    }
    if (PQnfields(r) != tab->ncols) {
        PQclear(r);
        return ft_err_set(err, FT_EIO, "%s: unexpected columns", what);
    }
    struct ft_cell *cells = ft_xcalloc((size_t)tab->ncols, sizeof(*cells));
    int ret = 0;
    for (int i = 0, n = PQntuples(r); !ret && i < n; i++) {
        for (int c = 0; c < tab->ncols; c++) {
            memset(&cells[c], 0, sizeof(cells[c]));
            if (PQgetisnull(r, i, c)) {
                cells[c].type = FT_CELL_NULL;
            } else if (int_type(PQftype(r, c))) {
                cells[c].type = FT_CELL_INT;
                cells[c].i = val64(r, i, c);
            } else {
                cells[c].type = FT_CELL_TEXT;
                cells[c].text = PQgetvalue(r, i, c);
                cells[c].len = (size_t)PQgetlength(r, i, c);
            }
        }
        ret = cb(cells, tab->ncols, ctx);
    }
    free(cells);
    PQclear(r);
    return ret;
}

/* The name of tab's prepared INSERT, prepared at its first row. */
static const char *copy_in_stmt(struct pq *q, const struct ft_copy_table *tab, struct ft_err *err)
{
    for (int i = 0; i < q->ncopy_in; i++)
        if (q->copy_in[i].tab == tab)
            return q->copy_in[i].name;
    if (q->ncopy_in == COPY_CACHE) {
        ft_err_set(err, FT_EIO, "copy into %s: statement cache full", tab->name);
        return NULL;
    }
    char *name = q->copy_in[q->ncopy_in].name;
    snprintf(name, sizeof(q->copy_in[0].name), "c%d", q->ncopy_in);
    char *sql = copy_sql(tab, 1);
    PGresult *r = ask_prepare(q, name, sql);
    free(sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) {
        char what[64];
        snprintf(what, sizeof(what), "copy into %s", tab->name);
        pg_err(q, r, err, what);
    }
    PQclear(r);
    if (!ok)
        return NULL;
    q->copy_in[q->ncopy_in++].tab = tab;
    return name;
}

static int pg_copy_in(void *db, const struct ft_copy_table *tab, const struct ft_cell *cells,
                      struct ft_err *err)
{
    struct pq *q = db;
    if (tab->ncols > MAX_PARAMS)
        return ft_err_set(err, FT_EIO, "copy into %s: too many columns", tab->name);
    int rc = settle(q, err);
    if (rc)
        return rc;
    const char *name = copy_in_stmt(q, tab, err);
    if (!name)
        return FT_EIO;
    struct params p;
    char *texts[MAX_PARAMS] = {0};
    p.n = tab->ncols;
    for (int i = 0; i < tab->ncols; i++) {
        const struct ft_cell *c = &cells[i];
        if (c->type == FT_CELL_INT) {
            snprintf(p.num[i], sizeof(p.num[i]), "%" PRId64, c->i);
            p.values[i] = p.num[i];
        } else if (c->type == FT_CELL_TEXT) {
            if (memchr(c->text, '\0', c->len)) {
                for (int k = 0; k < i; k++)
                    free(texts[k]);
                return ft_err_set(err, FT_EINVAL,
                                  "copy into %s: column %s holds a NUL byte, which PostgreSQL "
                                  "text cannot",
                                  tab->name, tab->cols[i]);
            }
            texts[i] = ft_xstrndup(c->text, c->len);
            p.values[i] = texts[i];
        } else {
            p.values[i] = NULL;
        }
    }
    PGresult *r = ask_prepared(q, name, p.n, p.values);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        char what[64];
        snprintf(what, sizeof(what), "copy into %s", tab->name);
        rc = pg_err(q, r, err, what);
    }
    PQclear(r);
    for (int i = 0; i < tab->ncols; i++)
        free(texts[i]);
    if (!rc)
        q->copied = 1;
    return rc;
}

/* ---- the change watch ---------------------------------------------------------------- */

/* A connection of its own that LISTENs: its socket is readable when a notification (a
 * committed event) arrives. */
static int pg_watch_open(void *db, int *fd, struct ft_err *err)
{
    struct pq *q = db;
    *fd = -1;
    char buf[512];
    PGconn *c = connect_within(q->url, silence_ms(q), buf, sizeof(buf));
    if (!c)
        return ft_err_set(err, FT_EIO, "change watch: cannot connect: %s", buf);
    int silent = 0;
    PGresult *r =
        PQsendQuery(c, "LISTEN " CHANNEL) ? await_result(c, silence_ms(q), &silent) : NULL;
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok) {
        int rc = ft_err_set(err, FT_EIO, "change watch: %s",
                            silent ? "no answer" : conn_msg(c, buf, sizeof(buf)));
        PQfinish(c);
        return rc;
    }
    q->listen = c;
    *fd = PQsocket(c);
    return 0;
}

static int pg_watch_read(void *db, int64_t *recheck_ms)
{
    struct pq *q = db;
    *recheck_ms = 0;
    if (!q->listen)
        return 1;
    int hit = 0, unnamed = 0;
    q->watch_named = 0;
    if (!PQconsumeInput(q->listen) || PQstatus(q->listen) == CONNECTION_BAD)
        return FT_WATCH_LOST; /* its socket stays readable: the caller must stop waiting */
    PGnotify *n;
    while ((n = PQnotifies(q->listen)) != NULL) {
        hit = 1;
        char *end;
        int64_t seq = strtoll(n->extra, &end, 10);
        if (end == n->extra || *end || seq <= 0)
            unnamed = 1; /* a writer that does not say (an older flowtrack): read the log */
        else if (seq > q->watch_named)
            q->watch_named = seq;
        PQfreemem(n);
    }
    if (unnamed)
        q->watch_named = 0;
    return hit;
}

static int64_t pg_watch_head(void *db)
{
    return ((struct pq *)db)->watch_named;
}

static void pg_watch_close(void *db)
{
    struct pq *q = db;
    if (q->listen)
        PQfinish(q->listen);
    q->listen = NULL;
}

/* Down: try to connect again, when the wait after the last try is over. */
static void pg_health(void *db, struct ft_store_health *h)
{
    struct pq *q = db;
    if (q->down && !q->in_tx && PQstatus(q->conn) == CONNECTION_BAD && mend(q, NULL) == 0)
        q->down = 0;
    h->up = !q->down && PQstatus(q->conn) == CONNECTION_OK;
    h->reconnects = q->reconnects;
    if (!h->up)
        snprintf(h->why, sizeof(h->why), "%s", q->down_why[0] ? q->down_why : "connection lost");
}

const struct ft_store_backend ft_store_pg = {
    .name = "postgres",
    .watch_lags = 1, /* a notification is sent to listeners after the commit */
    .watch_head = pg_watch_head,
    .open = pg_open,
    .close = pg_close,
    .set_busy_timeout = pg_set_busy_timeout,
    .open_statements = pg_open_statements,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .begin_read = pg_begin_read,
    .copy_out = pg_copy_out,
    .copy_in = pg_copy_in,
    .tracker_find = pg_tracker_find,
    .tracker_first_two = pg_tracker_first_two,
    .tracker_rows = pg_tracker_rows,
    .tracker_slug = pg_tracker_slug,
    .header_load = pg_header_load,
    .tracker_load = pg_tracker_load,
    .slug_taken = pg_slug_taken,
    .tracker_insert = pg_tracker_insert,
    .tracker_write = pg_tracker_write,
    .tracker_touch = pg_tracker_touch,
    .tracker_delete = pg_tracker_delete,
    .entry_get = pg_entry_get,
    .entry_next = pg_entry_next,
    .entry_count = pg_entry_count,
    .entry_insert = pg_entry_insert,
    .entry_write = pg_entry_write,
    .entry_shift = pg_entry_shift,
    .entry_set_pos = pg_entry_set_pos,
    .entry_delete = pg_entry_delete,
    .state_change = pg_state_change,
    .run_next = pg_run_next,
    .run_insert = pg_run_insert,
    .run_get = pg_run_get,
    .event_append = pg_event_append,
    .events = pg_events,
    .tracker_version = pg_tracker_version,
    .last_seq = pg_last_seq,
    .setting_get = pg_setting_get,
    .setting_set = pg_setting_set,
    .watch_open = pg_watch_open,
    .watch_read = pg_watch_read,
    .watch_close = pg_watch_close,
    .health = pg_health,
};
