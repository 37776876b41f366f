#include "versions.h"

#include "../util/ft_xalloc.h"

#include <stdlib.h>
#include <string.h>

#include "../util/banned.h"

#define REFS_MAX 4096 /* references kept at most: past that, forgotten and learnt again */

void ft_versions_init(struct ft_versions *vs)
{
    memset(vs, 0, sizeof(*vs));
}

static void refs_clear(struct ft_versions *vs)
{
    for (size_t i = 0; i < vs->rcap; i++) {
        free(vs->r[i].ref);
        vs->r[i].ref = NULL;
    }
    vs->rn = 0;
}

void ft_versions_release(struct ft_versions *vs)
{
    if (!vs)
        return;
    refs_clear(vs);
    free(vs->r);
    free(vs->v);
    ft_versions_init(vs);
}

static size_t hash_id(int64_t id)
{
    uint64_t x = (uint64_t)id * 0x9e3779b97f4a7c15ULL;
    return (size_t)(x ^ (x >> 32));
}

static size_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (size_t)h;
}

/* The slot of tid: its own, or the empty one where it would go (cap is a power of two). */
static struct ft_vslot *vslot(const struct ft_versions *vs, int64_t tid)
{
    size_t mask = vs->cap - 1;
    for (size_t i = hash_id(tid) & mask;; i = (i + 1) & mask)
        if (vs->v[i].tid == tid || vs->v[i].tid == 0)
            return &vs->v[i];
}

static struct ft_vslot *vslot_add(struct ft_versions *vs, int64_t tid)
{
    if ((vs->n + 1) * 2 > vs->cap) {
        struct ft_vslot *old = vs->v;
        size_t ocap = vs->cap;
        vs->cap = ocap ? ocap * 2 : 64;
        vs->v = ft_xcalloc(vs->cap, sizeof(*vs->v));
        for (size_t i = 0; i < ocap; i++)
            if (old[i].tid)
                *vslot(vs, old[i].tid) = old[i];
        free(old);
    }
    struct ft_vslot *s = vslot(vs, tid);
    if (!s->tid) {
        s->tid = tid;
        s->version = -1;
        vs->n++;
    }
    return s;
}

int64_t ft_versions_get(const struct ft_versions *vs, int64_t tid)
{
    if (!vs->cap || tid <= 0)
        return -1;
    const struct ft_vslot *s = vslot(vs, tid);
    return s->tid ? s->version : -1;
}

void ft_versions_note(struct ft_versions *vs, int64_t tid, int64_t version)
{
    if (tid <= 0 || version <= 0) /* every tracker has an event: 0 is a failed read */
        return;
    struct ft_vslot *s = vslot_add(vs, tid);
    if (version > s->version)
        s->version = version;
}

void ft_versions_event(struct ft_versions *vs, int64_t tid, int64_t seq, const char *kind)
{
    if (strncmp(kind, "tracker.", 8) == 0)
        refs_clear(vs);
    if (tid <= 0)
        return;
    struct ft_vslot *s = vslot_add(vs, tid);
    if (strcmp(kind, "tracker.delete") == 0)
        s->version = -1; /* the slot stays (no deletion in open addressing): unknown again */
    else if (seq > s->version)
        s->version = seq;
}

static struct ft_rslot *rslot(const struct ft_versions *vs, const char *ref)
{
    size_t mask = vs->rcap - 1;
    for (size_t i = hash_str(ref) & mask;; i = (i + 1) & mask)
        if (!vs->r[i].ref || strcmp(vs->r[i].ref, ref) == 0)
            return &vs->r[i];
}

int64_t ft_versions_ref(const struct ft_versions *vs, const char *ref)
{
    if (!vs->rcap || !ref)
        return 0;
    const struct ft_rslot *s = rslot(vs, ref);
    return s->ref ? s->tid : 0;
}

void ft_versions_ref_put(struct ft_versions *vs, const char *ref, int64_t tid)
{
    if (!ref || tid <= 0)
        return;
    if (vs->rn >= REFS_MAX)
        refs_clear(vs);
    if ((vs->rn + 1) * 2 > vs->rcap) {
        struct ft_rslot *old = vs->r;
        size_t ocap = vs->rcap;
        vs->rcap = ocap ? ocap * 2 : 64;
        vs->r = ft_xcalloc(vs->rcap, sizeof(*vs->r));
        for (size_t i = 0; i < ocap; i++)
            if (old[i].ref)
                *rslot(vs, old[i].ref) = old[i];
        free(old);
    }
    struct ft_rslot *s = rslot(vs, ref);
    if (!s->ref) {
        s->ref = ft_xstrdup(ref);
        vs->rn++;
    }
    s->tid = tid;
}
