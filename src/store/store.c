/*
 * store.c: the part of the store every backend shares.
 *
 * Each public call validates and normalises its input, runs the storage
 * primitives of the backend (backend.h) inside one write transaction, and
 * closes the transaction through write_end(), which touches the tracker and
 * appends the one event of the change. Entry numbers are stable (max + 1 per
 * tracker and kind) and positions dense (1..n), so moving and removing shift
 * a range. Nothing here knows SQL.
 */
#include "store.h"

#include "backend.h"

#include "../core/patch.h"
#include "../core/render.h"
#include "../util/ft_buf.h"
#include "../util/ft_err.h"
#include "../util/ft_pool.h"
#include "../util/ft_text.h"
#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/banned.h"

struct ft_store {
    const struct ft_store_backend *be;
    void *db; /* the backend's connection */
    char *path;
    char *actor;
    int in_tx;
    int64_t last_seq;       /* the event of the last successful write */
    char *last_slug;        /* the slug of its tracker then (NULL: none) */
    int64_t expect_version; /* precondition of the next write, -1 = none */
    int watching;
};

static atomic_int handles_open;

int ft_store_path_is_url(const char *path)
{
    return ft_pg_is_url(path);
}

void ft_store_path_shown(const char *path, char *buf, size_t n)
{
    /* the user information: up to the last '@' of the authority (before any '/' or '?') */
    const char *scheme = strstr(path, "://");
    const char *auth = scheme ? scheme + 3 : NULL;
    const char *at = NULL;
    for (const char *p = auth; p && *p && *p != '/' && *p != '?'; p++)
        if (*p == '@')
            at = p;
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    struct ft_buf b;
    ft_buf_init(&b, 0);
    if (colon) {
        ft_buf_add(&b, path, (size_t)(colon - path));
        ft_buf_adds(&b, ":***");
        path = at;
    }
    /* and a password=... parameter of the query */
    const char *q = scheme ? strchr(path, '?') : NULL;
    while (q && *q) {
        const char *key = q + 1;
        const char *end = key + strcspn(key, "&");
        if (strncmp(key, "password=", 9) == 0) {
            ft_buf_add(&b, path, (size_t)(key - path));
            ft_buf_adds(&b, "password=***");
            path = end;
        }
        q = *end ? end : NULL;
    }
    ft_buf_adds(&b, path);
    snprintf(buf, n, "%s", b.buf ? b.buf : "");
    ft_buf_release(&b);
}

int ft_store_open(const char *path, int flags, struct ft_store **out, struct ft_err *err)
{
    const struct ft_store_backend *be = ft_pg_is_url(path) ? &ft_store_pg : &ft_store_sqlite;
    void *db = NULL;
    *out = NULL;
    int rc = be->open(path, flags, &db, err);
    if (rc)
        return rc;
    struct ft_store *st = ft_xcalloc(1, sizeof(*st));
    st->be = be;
    st->db = db;
    st->path = ft_xstrdup(path);
    st->actor = ft_xstrdup("unknown");
    st->expect_version = -1;
    atomic_fetch_add(&handles_open, 1);
    *out = st;
    return 0;
}

void ft_store_close(struct ft_store *st)
{
    if (!st)
        return;
    ft_store_watch_close(st);
    st->be->close(st->db);
    free(st->path);
    free(st->actor);
    free(st->last_slug);
    free(st);
    atomic_fetch_sub(&handles_open, 1);
}

int ft_store_handles_open(void)
{
    return atomic_load(&handles_open);
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
    st->be->set_busy_timeout(st->db, ms);
}

int ft_store_open_statements(const struct ft_store *st)
{
    return st->be->open_statements(st->db);
}

int64_t ft_store_last_write(const struct ft_store *st)
{
    return st->last_seq;
}

const char *ft_store_last_write_slug(const struct ft_store *st)
{
    return st->last_slug ? st->last_slug : "";
}

/* A write committed: its event and its tracker's slug. */
static void wrote(struct ft_store *st, int64_t seq, const char *slug)
{
    st->last_seq = seq;
    ft_set_str(&st->last_slug, slug);
}

void ft_store_expect_version(struct ft_store *st, int64_t version)
{
    st->expect_version = version < 0 ? -1 : version;
}

/* ---- the write bracket ---------------------------------------------------------------- */

static int tx_begin(struct ft_store *st, struct ft_err *err)
{
    int rc = st->be->begin(st->db, err);
    if (!rc)
        st->in_tx = 1;
    else /* a BEGIN that failed part way must not leave the next call inside a transaction */
        st->be->rollback(st->db);
    return rc;
}

/* Commit when rc is 0, else roll back; the final code. */
static int tx_end(struct ft_store *st, int rc, struct ft_err *err)
{
    if (!st->in_tx)
        return rc;
    st->in_tx = 0;
    if (!rc)
        rc = st->be->commit(st->db, err);
    if (rc)
        st->be->rollback(st->db);
    return rc;
}

/*
 * Every change to one tracker has the same frame: a write transaction, the
 * tracker's slug (for the event) or whole header (for changes to the header),
 * one clock reading; then, on success, the tracker's updated_at and exactly one
 * event before the commit.
 */
struct write {
    struct ft_store *st;
    struct ft_tracker *t; /* the header as stored at the start (with W_HEADER; else its slug and
                           * id only); owned */
    int64_t now;
    int no_touch; /* the tracker is gone (delete) */
};

enum { W_SLUG, W_HEADER };

/* Start a write on tracker tid. On error the transaction is already over. */
static int write_begin(struct ft_store *st, int64_t tid, int what, struct write *w,
                       struct ft_err *err)
{
    int64_t expect = st->expect_version;
    st->expect_version = -1;
    w->st = st;
    w->t = ft_tracker_new();
    w->now = ft_now_ms();
    w->no_touch = 0;
    int rc = tx_begin(st, err);
    if (!rc && what == W_HEADER) {
        rc = st->be->header_load(st->db, tid, w->t, err);
    } else if (!rc) {
        free(w->t->slug);
        w->t->slug = NULL;
        w->t->id = tid;
        rc = st->be->tracker_slug(st->db, tid, &w->t->slug, err);
        if (!w->t->slug)
            w->t->slug = ft_xstrdup("");
    }
    if (!rc && expect >= 0) {
        int64_t v = 0;
        rc = st->be->tracker_version(st->db, tid, &v, err);
        if (!rc && v != expect)
            rc = ft_err_field(err, FT_EEXIST, "If-Match",
                              "the tracker changed: expected version \"%lld\", current \"%lld\"",
                              (long long)expect, (long long)v);
    }
    if (rc) {
        ft_tracker_free(w->t);
        w->t = NULL;
        return tx_end(st, rc, err);
    }
    return 0;
}

/*
 * Finish a write begun by write_begin: when rc is 0, touch the tracker and
 * append the event `kind` (taking payload), then commit; otherwise roll back.
 * Returns the final code.
 */
static int write_end(struct write *w, int rc, const char *kind, json_t *payload, struct ft_err *err)
{
    struct ft_store *st = w->st;
    int64_t seq = 0;
    if (!rc && !w->no_touch)
        rc = st->be->tracker_touch(st->db, w->t->id, w->now, err);
    if (!rc) {
        char *text = json_dumps(payload, JSON_COMPACT);
        if (!text)
            rc = ft_err_set(err, FT_ENOMEM, "event payload");
        else
            rc = st->be->event_append(st->db, w->t->id, w->t->slug, w->now, st->actor, kind, text,
                                      &seq, err);
        free(text);
    }
    json_decref(payload);
    rc = tx_end(st, rc, err);
    if (!rc)
        wrote(st, seq, w->t->slug);
    ft_tracker_free(w->t);
    w->t = NULL;
    return rc;
}

/* "item.add", "hyp.update"... */
static const char *event_kind(enum ft_kind kind, const char *verb, char *buf, size_t n)
{
    snprintf(buf, n, "%s.%s", ft_kind_name(kind), verb);
    return buf;
}

/* ---- trackers ------------------------------------------------------------------------ */

int ft_store_tracker_find(struct ft_store *st, const char *ref, int64_t *id, struct ft_err *err)
{
    int numeric = *ref && strspn(ref, "0123456789") == strlen(ref) && strlen(ref) < 18;
    int rc = st->be->tracker_find(st->db, numeric ? NULL : ref,
                                  numeric ? strtoll(ref, NULL, 10) : 0, id, err);
    if (rc == FT_ENOTFOUND)
        return ft_err_set(err, FT_ENOTFOUND, "no tracker '%s'", ref);
    return rc;
}

int ft_store_tracker_single(struct ft_store *st, int64_t *id, int *count, struct ft_err *err)
{
    return st->be->tracker_first_two(st->db, id, count, err);
}

static void list_row(const struct ft_tracker_row *r, void *ctx)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(r->id));
    json_object_set_new(o, "slug", json_string(r->slug));
    json_object_set_new(o, "title", json_string(r->title));
    json_object_set_new(o, "status", json_string(ft_status_name(r->status)));
    json_object_set_new(o, "updated_at", ft_json_time(r->updated_at));
    json_t *p = json_object();
    for (int k = 0; k < FT_ST__COUNT; k++)
        json_object_set_new(p, ft_state_name(k), json_integer(r->progress[k]));
    json_object_set_new(o, "progress", p);
    json_object_set_new(o, "last_seq", json_integer(r->last_seq));
    json_object_set_new(o, "updated_by",
                        r->last_actor && *r->last_actor ? json_string(r->last_actor) : json_null());
    json_object_set_new(o, "last_event",
                        r->last_kind && *r->last_kind ? json_string(r->last_kind) : json_null());
    json_array_append_new(ctx, o);
}

int ft_store_tracker_list(struct ft_store *st, json_t **out, struct ft_err *err)
{
    json_t *a = json_array();
    int rc = st->be->tracker_rows(st->db, list_row, a, err);
    if (rc) {
        json_decref(a);
        return rc;
    }
    *out = a;
    return 0;
}

int ft_store_tracker_header(struct ft_store *st, int64_t id, struct ft_tracker **out,
                            struct ft_err *err)
{
    struct ft_tracker *t = ft_tracker_new();
    int rc = st->be->header_load(st->db, id, t, err);
    if (rc) {
        ft_tracker_free(t);
        t = NULL;
    }
    *out = t;
    return rc;
}

int ft_store_tracker_load(struct ft_store *st, int64_t id, struct ft_tracker **out,
                          struct ft_err *err)
{
    return ft_store_tracker_load_ex(st, id, FT_LOAD_CHANGES, out, err);
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
    if (flags & FT_LOAD_VIEW)
        t->pool = ft_pool_new();
    int rc = st->be->header_load(st->db, id, t, err);
    if (!rc)
        rc = st->be->tracker_load(st->db, t, flags, err);
    if (rc) {
        ft_tracker_free(t);
        *out = NULL;
        return rc;
    }
    link_results_to_runs(t);
    *out = t;
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
        if ((rc = st->be->slug_taken(st->db, t->slug, &taken, err)))
            return rc;
        return taken
                   ? ft_err_field(err, FT_EEXIST, "slug", "a tracker '%s' already exists", t->slug)
                   : 0;
    }
    char *base = ft_slugify(t->title, 40);
    char cand[64];
    snprintf(cand, sizeof(cand), "%s", base);
    for (int i = 2; (rc = st->be->slug_taken(st->db, cand, &taken, err)) == 0 && taken; i++)
        snprintf(cand, sizeof(cand), "%s-%d", base, i);
    free(base);
    if (!rc)
        ft_set_str(&t->slug, cand);
    return rc;
}

/* Insert e as entry number num at position pos; items also get their first state change. */
static int entry_insert(struct ft_store *st, int64_t tid, struct ft_entry *e, int num, int pos,
                        int64_t now, struct ft_err *err)
{
    e->num = num;
    int rc = st->be->entry_insert(st->db, tid, e, pos, now, err);
    if (rc)
        return rc;
    e->created_at = e->updated_at = e->state_at = now;
    if (e->kind == FT_K_ITEM)
        return st->be->state_change(st->db, e->id, e->state, now, err);
    return 0;
}

/*
 * An imported item brings its history: its state changes (the last one is its state; one at
 * `now` is added when it is not) and its claim. A new item has neither.
 */
static int entry_insert_history(struct ft_store *st, int64_t tid, struct ft_entry *e, int num,
                                int pos, int64_t now, struct ft_err *err)
{
    if (e->kind != FT_K_ITEM || (!e->nchanges && !e->claimed_by))
        return entry_insert(st, tid, e, num, pos, now, err);
    e->num = num;
    int rc = st->be->entry_insert(st->db, tid, e, pos, now, err);
    if (rc)
        return rc;
    e->created_at = e->updated_at = e->state_at = now;
    for (size_t i = 0; i < e->nchanges && !rc; i++)
        rc = st->be->state_change(st->db, e->id, e->changes[i].state,
                                  e->changes[i].at ? e->changes[i].at : now, err);
    if (!rc && e->nchanges && e->changes[e->nchanges - 1].at)
        e->state_at = e->changes[e->nchanges - 1].at;
    if (!rc && (!e->nchanges || e->changes[e->nchanges - 1].state != e->state)) {
        rc = st->be->state_change(st->db, e->id, e->state, now, err);
        e->state_at = now;
    }
    if (!rc && e->claimed_by && e->state == FT_ST_DOING) {
        if (!e->claimed_at)
            e->claimed_at = now;
        rc = st->be->entry_write(st->db, e, err);
    } else if (!rc) {
        rc = st->be->entry_write(st->db, e, err); /* state_at */
    }
    return rc;
}

/* Insert e after the last entry of its kind, with the next free number. */
static int entry_append(struct ft_store *st, int64_t tid, struct ft_entry *e, int64_t now,
                        struct ft_err *err)
{
    int num, pos;
    int rc = st->be->entry_next(st->db, tid, e->kind, &num, &pos, err);
    return rc ? rc : entry_insert(st, tid, e, num, pos, now, err);
}

int ft_store_tracker_create(struct ft_store *st, struct ft_tracker *t, const char *event_kind,
                            struct ft_err *err)
{
    int rc = ft_tracker_validate(t, err);
    for (int k = 0; k < FT_K__COUNT && !rc; k++)
        for (size_t i = 0; i < t->lists[k].n && !rc; i++)
            rc = ft_entry_validate(&t->lists[k].v[i], err);
    if (rc)
        return rc;
    st->expect_version = -1;
    if ((rc = tx_begin(st, err)))
        return rc;
    int64_t now = ft_now_ms(), seq = 0;
    if ((rc = pick_slug(st, t, err)) || (rc = st->be->tracker_insert(st->db, t, now, err)))
        goto out;
    t->created_at = t->updated_at = now;
    /* A new tracker's positions are 1..n in each kind, and so are its numbers unless the
     * entries bring their own (an import of JSON: the caller made them unique). */
    for (int k = 0; k < FT_K__COUNT && !rc; k++)
        for (size_t i = 0; i < t->lists[k].n && !rc; i++) {
            struct ft_entry *e = &t->lists[k].v[i];
            rc = entry_insert_history(st, t->id, e, e->num > 0 ? e->num : (int)i + 1, (int)i + 1,
                                      now, err);
        }
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
    char *text = json_dumps(p, JSON_COMPACT);
    json_decref(p);
    rc = st->be->event_append(st->db, t->id, t->slug, now, st->actor, event_kind, text, &seq, err);
    free(text);
out:
    rc = tx_end(st, rc, err);
    if (!rc)
        wrote(st, seq, t->slug);
    return rc;
}

int ft_store_tracker_update(struct ft_store *st, int64_t id, json_t *patch, struct ft_err *err)
{
    struct write w;
    json_t *changed = json_object();
    int rc = write_begin(st, id, W_HEADER, &w, err);
    if (rc)
        goto done;
    char *old_slug = ft_xstrdup(w.t->slug);
    rc = ft_tracker_patch(w.t, patch, changed, err);
    if (!rc && strcmp(old_slug, w.t->slug) != 0) {
        int taken;
        rc = st->be->slug_taken(st->db, w.t->slug, &taken, err);
        if (!rc && taken)
            rc = ft_err_field(err, FT_EEXIST, "slug", "a tracker '%s' already exists", w.t->slug);
    }
    free(old_slug);
    if (!rc)
        rc = st->be->tracker_write(st->db, w.t, w.now, err);
    w.no_touch = 1; /* tracker_write set updated_at */
    rc = write_end(&w, rc, "tracker.update", rc ? NULL : json_pack("{s:O}", "changed", changed),
                   err);
done:
    json_decref(changed);
    return rc;
}

int ft_store_tracker_delete(struct ft_store *st, int64_t id, struct ft_err *err)
{
    struct write w;
    int rc = write_begin(st, id, W_HEADER, &w, err);
    if (rc)
        return rc;
    w.no_touch = 1;
    rc = st->be->tracker_delete(st->db, id, err);
    return write_end(&w, rc, "tracker.delete",
                     rc ? NULL : json_pack("{s:s, s:s}", "slug", w.t->slug, "title", w.t->title),
                     err);
}

/* ---- entries ------------------------------------------------------------------------- */

static int norm_entry(struct ft_entry *e, struct ft_err *err)
{
    ft_entry_norm(e);
    return ft_entry_validate(e, err);
}

int ft_store_entry_add(struct ft_store *st, int64_t tid, struct ft_entry *e, struct ft_err *err)
{
    struct write w;
    char ek[32];
    int rc = norm_entry(e, err);
    if (rc || (rc = write_begin(st, tid, W_SLUG, &w, err)))
        return rc;
    rc = entry_append(st, tid, e, w.now, err);
    return write_end(&w, rc, event_kind(e->kind, "add", ek, sizeof(ek)),
                     rc ? NULL : ft_entry_to_json(e), err);
}

int ft_store_entry_get(struct ft_store *st, int64_t tid, enum ft_kind kind, int num,
                       struct ft_entry *out, struct ft_err *err)
{
    return st->be->entry_get(st->db, tid, kind, num, out, NULL, err);
}

int ft_store_entry_update(struct ft_store *st, int64_t tid, enum ft_kind kind, int num,
                          json_t *patch, struct ft_entry *out, struct ft_err *err)
{
    struct write w;
    struct ft_entry e;
    char ek[32];
    json_t *payload = NULL;

    if (!json_is_object(patch) || json_object_size(patch) == 0)
        return ft_err_set(err, FT_EINVAL, "nothing to change");
    int rc = write_begin(st, tid, W_SLUG, &w, err);
    if (rc)
        return rc;
    if ((rc = st->be->entry_get(st->db, tid, kind, num, &e, NULL, err)))
        return write_end(&w, rc, NULL, NULL, err);
    int old_state = e.state;
    if ((rc = ft_entry_patch(&e, patch, err)) || (rc = norm_entry(&e, err)))
        goto out;
    if (e.state != old_state)
        e.state_at = w.now;
    if (e.state != FT_ST_DOING && e.claimed_by) { /* out of progress: the claim ends */
        free(e.claimed_by);
        e.claimed_by = NULL;
        e.claimed_at = 0;
    }
    e.updated_at = w.now;
    if ((rc = st->be->entry_write(st->db, &e, err)))
        goto out;
    if (e.state != old_state && kind == FT_K_ITEM &&
        (rc = st->be->state_change(st->db, e.id, e.state, w.now, err)))
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

/* FT_EEXIST: item num is held by e->claimed_by (with how long, and what --steal would do). */
static int claimed_error(const struct ft_entry *e, int64_t now, enum ft_claim_how how,
                         int64_t stale_ms, struct ft_err *err)
{
    char age[32], stale[32];
    ft_duration_fmt(now > e->claimed_at ? now - e->claimed_at : 0, age, sizeof(age));
    ft_duration_fmt(stale_ms, stale, sizeof(stale));
    if (how == FT_CLAIM_STEAL)
        return ft_err_set(err, FT_EEXIST,
                          "item %d is claimed by %s (for %s; a claim can be stolen after %s)",
                          e->num, e->claimed_by, age, stale);
    if (how == FT_CLAIM)
        return ft_err_set(err, FT_EEXIST,
                          "item %d is claimed by %s (for %s; --steal takes over a claim older "
                          "than %s)",
                          e->num, e->claimed_by, age, stale);
    return ft_err_set(err, FT_EEXIST, "item %d is claimed by %s (--force releases it anyway)",
                      e->num, e->claimed_by);
}

int ft_store_item_claim(struct ft_store *st, int64_t tid, int num, enum ft_claim_how how,
                        int64_t stale_ms, struct ft_entry *out, char **previous, struct ft_err *err)
{
    struct write w;
    struct ft_entry e;
    char *prev = NULL;
    const char *actor = st->actor ? st->actor : "";
    int release = how == FT_CLAIM_RELEASE || how == FT_CLAIM_RELEASE_FORCE;
    int rc = write_begin(st, tid, W_SLUG, &w, err);
    if (rc)
        return rc;
    if ((rc = st->be->entry_get(st->db, tid, FT_K_ITEM, num, &e, NULL, err)))
        return write_end(&w, rc, NULL, NULL, err);
    int mine = e.claimed_by && strcmp(e.claimed_by, actor) == 0;
    int old_state = e.state;
    if (release) {
        if (!e.claimed_by)
            rc = ft_err_set(err, FT_EEXIST, "item %d is not claimed", num);
        else if (!mine && how != FT_CLAIM_RELEASE_FORCE)
            rc = claimed_error(&e, w.now, how, stale_ms, err);
        if (!rc) {
            prev = e.claimed_by;
            e.claimed_by = NULL;
            e.claimed_at = 0;
            if (e.state == FT_ST_DOING)
                e.state = FT_ST_PENDING;
        }
    } else {
        if (e.state == FT_ST_DONE || e.state == FT_ST_DROPPED)
            rc = ft_err_set(err, FT_EEXIST, "item %d is %s: only a pending item can be claimed",
                            num, ft_state_name(e.state));
        else if (e.claimed_by && !mine &&
                 (how != FT_CLAIM_STEAL || w.now - e.claimed_at < stale_ms))
            rc = claimed_error(&e, w.now, how, stale_ms, err);
        if (!rc) {
            if (e.claimed_by && !mine)
                prev = e.claimed_by;
            else
                free(e.claimed_by);
            e.claimed_by = ft_xstrdup(actor);
            e.claimed_at = w.now;
            e.state = FT_ST_DOING;
        }
    }
    json_t *payload = NULL;
    if (!rc) {
        e.updated_at = w.now;
        if (e.state != old_state)
            e.state_at = w.now;
        rc = st->be->entry_write(st->db, &e, err);
        if (!rc && e.state != old_state)
            rc = st->be->state_change(st->db, e.id, e.state, w.now, err);
    }
    if (!rc) {
        payload = ft_entry_to_json(&e);
        if (prev)
            json_object_set_new(payload, release ? "released_from" : "stolen_from",
                                json_string(prev));
    }
    rc = write_end(&w, rc, release ? "item.release" : "item.claim", payload, err);
    if (!rc && out)
        *out = e;
    else
        ft_entry_release(&e);
    if (!rc && previous)
        *previous = prev;
    else
        free(prev);
    return rc;
}

int ft_store_entry_move(struct ft_store *st, int64_t tid, enum ft_kind kind, int num, int pos,
                        struct ft_err *err)
{
    struct write w;
    struct ft_entry e;
    char ek[32];
    int from = 0, count = 0;
    int rc = write_begin(st, tid, W_SLUG, &w, err);
    if (rc)
        return rc;
    if ((rc = st->be->entry_get(st->db, tid, kind, num, &e, &from, err)))
        return write_end(&w, rc, NULL, NULL, err);
    if ((rc = st->be->entry_count(st->db, tid, kind, &count, err)))
        goto out;
    pos = pos < 1 ? 1 : pos > count ? count : pos;
    if (pos < from)
        rc = st->be->entry_shift(st->db, tid, kind, 1, pos, from - 1, err);
    else if (pos > from)
        rc = st->be->entry_shift(st->db, tid, kind, -1, from + 1, pos, err);
    if (!rc)
        rc = st->be->entry_set_pos(st->db, e.id, pos, w.now, err);
out:
    ft_entry_release(&e);
    return write_end(&w, rc, event_kind(kind, "move", ek, sizeof(ek)),
                     rc ? NULL
                        : json_pack("{s:i, s:s, s:i, s:i}", "num", num, "kind", ft_kind_name(kind),
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
    int rc = write_begin(st, tid, W_SLUG, &w, err);
    if (rc)
        return rc;
    if ((rc = st->be->entry_get(st->db, tid, kind, num, &e, &from, err)))
        return write_end(&w, rc, NULL, NULL, err);
    rc = st->be->entry_delete(st->db, e.id, err);
    if (!rc)
        rc = st->be->entry_shift(st->db, tid, kind, -1, from + 1, INT32_MAX, err);
    json_t *payload = rc ? NULL : ft_entry_to_json(&e);
    ft_entry_release(&e);
    return write_end(&w, rc, event_kind(kind, "remove", ek, sizeof(ek)), payload, err);
}

/* ---- runs ---------------------------------------------------------------------------- */

int ft_store_run_record(struct ft_store *st, int64_t tid, struct ft_run *r, struct ft_entry *result,
                        struct ft_err *err)
{
    struct write w;
    int rc = 0;
    if (result && (rc = norm_entry(result, err)))
        return rc;
    if ((rc = write_begin(st, tid, W_SLUG, &w, err)))
        return rc;
    if ((rc = st->be->run_next(st->db, tid, &r->num, err)) ||
        (rc = st->be->run_insert(st->db, tid, r, err)))
        return write_end(&w, rc, NULL, NULL, err);
    if (result) {
        result->run_id = r->id;
        result->run_num = r->num;
        if ((rc = entry_append(st, tid, result, w.now, err)))
            return write_end(&w, rc, NULL, NULL, err);
    }
    json_t *p = ft_run_to_json(r, 0);
    if (result)
        json_object_set_new(p, "result", ft_entry_to_json(result));
    return write_end(&w, 0, "run.record", p, err);
}

int ft_store_run_get(struct ft_store *st, int64_t tid, int num, struct ft_run *out,
                     struct ft_err *err)
{
    return st->be->run_get(st->db, tid, num, out, err);
}

/* ---- events, settings, watch ------------------------------------------------------------ */

int ft_store_events(struct ft_store *st, int64_t tid, const char *kind_prefix, int64_t after_seq,
                    int limit, int newest_first, ft_event_cb cb, void *ctx, struct ft_err *err)
{
    return st->be->events(st->db, tid, kind_prefix, after_seq, limit, newest_first, cb, ctx, err);
}

int ft_store_tracker_version(struct ft_store *st, int64_t tid, int64_t *seq, struct ft_err *err)
{
    return st->be->tracker_version(st->db, tid, seq, err);
}

int ft_store_last_seq(struct ft_store *st, int64_t *seq, struct ft_err *err)
{
    return st->be->last_seq(st->db, seq, err);
}

int ft_store_setting_get(struct ft_store *st, const char *key, char **val, struct ft_err *err)
{
    return st->be->setting_get(st->db, key, val, err);
}

int ft_store_setting_set(struct ft_store *st, const char *key, const char *val, struct ft_err *err)
{
    return st->be->setting_set(st->db, key, val, err);
}

int ft_store_watch_open(struct ft_store *st, int *fd, struct ft_err *err)
{
    int rc = st->be->watch_open(st->db, fd, err);
    st->watching = rc == 0;
    return rc;
}

int ft_store_watch_read(struct ft_store *st, int64_t *recheck_ms)
{
    *recheck_ms = 0;
    return st->watching ? st->be->watch_read(st->db, recheck_ms) : 1;
}

int64_t ft_store_watch_head(struct ft_store *st)
{
    return st->watching && st->be->watch_head ? st->be->watch_head(st->db) : 0;
}

int ft_store_watch_lags(struct ft_store *st)
{
    return st->be->watch_lags;
}

void ft_store_health(struct ft_store *st, struct ft_store_health *h)
{
    memset(h, 0, sizeof(*h));
    h->up = 1;
    if (st && st->be->health)
        st->be->health(st->db, h);
}

void ft_store_watch_close(struct ft_store *st)
{
    if (st && st->watching) {
        st->be->watch_close(st->db);
        st->watching = 0;
    }
}

static int cmp_entry_id(const void *a, const void *b)
{
    const struct ft_entry *x = *(const struct ft_entry *const *)a;
    const struct ft_entry *y = *(const struct ft_entry *const *)b;
    return x->id < y->id ? -1 : x->id > y->id;
}

int ft__attach_changes(struct ft_tracker *t, ft_change_next next, void *ctx)
{
    struct ft_entry_list *items = &t->lists[FT_K_ITEM];
    struct ft_entry **by_id = ft_xmalloc((items->n ? items->n : 1) * sizeof(*by_id));
    for (size_t i = 0; i < items->n; i++)
        by_id[i] = &items->v[i];
    qsort(by_id, items->n, sizeof(*by_id), cmp_entry_id);
    size_t ii = 0, cap = 0;
    int64_t eid, at;
    int state, rc;
    while ((rc = next(ctx, &eid, &state, &at)) == 1) {
        while (ii < items->n && by_id[ii]->id < eid) {
            ii++;
            cap = 0;
        }
        if (ii == items->n || by_id[ii]->id != eid)
            continue;
        struct ft_entry *e = by_id[ii];
        ft_xgrow((void **)&e->changes, &cap, e->nchanges + 1, sizeof(*e->changes));
        e->changes[e->nchanges].state = state;
        e->changes[e->nchanges++].at = at;
    }
    free(by_id);
    return rc < 0 ? rc : 0;
}

/* For copy.c, which sits above the seam like this file but drives two stores at once. */
const struct ft_store_backend *ft__store_backend(struct ft_store *st, void **db)
{
    *db = st->db;
    return st->be;
}
