/*
 * shared.c: the mapping the workers of one server share (shared.h): its layout, the robust
 * lock of the MCP registry, the registry's records.
 *
 * Layout: struct ft_shared, then nslots slots (struct ft_slot and its figures, each rounded
 * to a cache line so that two workers never write the same line), then mcp_cap records.
 * The mapping is made once, before any worker is forked, so every pointer in it is valid in
 * every worker.
 */
#include "shared.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "../util/banned.h"

#define LINE 64

static size_t round_up(size_t n)
{
    return (n + LINE - 1) / LINE * LINE;
}

struct ft_shared *ft_shared_new(int nslots, int mcp_cap, size_t data_size)
{
    size_t head = round_up(sizeof(struct ft_shared));
    size_t slot = round_up(sizeof(struct ft_slot) + data_size);
    size_t recs = sizeof(struct ft_mcp_rec) * (size_t)mcp_cap;
    size_t size = head + slot * (size_t)nslots + recs + round_up((size_t)mcp_cap);
    /* pages are touched only as they are used: a record when its session starts */
    void *p =
        mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    struct ft_shared *sh = p; /* the mapping is zeroed */
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    int rc = pthread_mutex_init(&sh->lock, &a);
    pthread_mutexattr_destroy(&a);
    if (rc) {
        munmap(p, size);
        errno = rc;
        return NULL;
    }
    sh->nslots = nslots;
    sh->mcp_cap = mcp_cap;
    sh->slot_size = slot;
    sh->size = size;
    sh->slots = (unsigned char *)p + head;
    sh->recs = (struct ft_mcp_rec *)(sh->slots + slot * (size_t)nslots);
    sh->used = (unsigned char *)sh->recs + recs;
    return sh;
}

void ft_shared_free(struct ft_shared *sh)
{
    if (sh)
        munmap(sh, sh->size); /* the lock needs no destroy: others may still map it */
}

struct ft_slot *ft_shared_slot(const struct ft_shared *sh, int k)
{
    return (struct ft_slot *)(sh->slots + sh->slot_size * (size_t)k);
}

void ft_shared_lock(struct ft_shared *sh)
{
    if (pthread_mutex_lock(&sh->lock) == EOWNERDEAD)
        pthread_mutex_consistent(&sh->lock); /* a worker died holding it: records are whole
                                              * words, at worst one is half written */
}

void ft_shared_unlock(struct ft_shared *sh)
{
    pthread_mutex_unlock(&sh->lock);
}

static int same_id(const char *a, const char *b)
{
    unsigned char d = 0;
    for (size_t i = 0; i < 32; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

struct ft_mcp_rec *ft_shared_mcp_find(struct ft_shared *sh, const char *id)
{
    unsigned idx = 0;
    if (strlen(id) != 32)
        return NULL;
    for (int i = 24; i < 32; i++) {
        int c = id[i], v = c >= '0' && c <= '9'   ? c - '0'
                           : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                                  : -1;
        if (v < 0)
            return NULL;
        idx = idx << 4 | (unsigned)v;
    }
    if (idx >= (unsigned)sh->mcp_cap || !sh->used[idx] || !same_id(sh->recs[idx].id, id))
        return NULL;
    return &sh->recs[idx];
}

struct ft_mcp_rec *ft_shared_mcp_add(struct ft_shared *sh)
{
    unsigned char r[12];
    for (int i = 0; i < sh->mcp_cap; i++) {
        if (sh->used[i])
            continue;
        if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
            return NULL;
        struct ft_mcp_rec *rec = &sh->recs[i];
        memset(rec, 0, sizeof(*rec));
        for (size_t k = 0; k < sizeof(r); k++)
            snprintf(rec->id + 2 * k, 3, "%02x", r[k]);
        snprintf(rec->id + 24, 9, "%08x", (unsigned)i);
        sh->used[i] = 1;
        sh->mcp_open++;
        return rec;
    }
    errno = EAGAIN;
    return NULL;
}

void ft_shared_mcp_drop(struct ft_shared *sh, struct ft_mcp_rec *rec)
{
    size_t i = (size_t)(rec - sh->recs);
    if (sh->used[i]) {
        sh->used[i] = 0;
        sh->mcp_open--;
    }
    rec->id[0] = '\0';
}

struct ft_mcp_rec *ft_shared_mcp_at(struct ft_shared *sh, int i)
{
    return sh->used[i] ? &sh->recs[i] : NULL;
}
