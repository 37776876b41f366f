#include "cache.h"

#include "../util/ft_xalloc.h"

#include <stdlib.h>
#include <string.h>

#include "../util/banned.h"

void ft_cache_init(struct ft_cache *c, size_t max_bytes)
{
    memset(c, 0, sizeof(*c));
    c->max_bytes = max_bytes;
}

void ft_cache_release(struct ft_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].body);
    free(c->v);
    ft_cache_init(c, c->max_bytes);
}

static struct ft_cache_entry *find(struct ft_cache *c, int64_t tid, int fmt)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].tid == tid && c->v[i].fmt == fmt)
            return &c->v[i];
    return NULL;
}

static void drop(struct ft_cache *c, size_t i)
{
    c->bytes -= c->v[i].len;
    free(c->v[i].body);
    c->v[i] = c->v[--c->n];
}

const struct ft_cache_entry *ft_cache_get(struct ft_cache *c, int64_t tid, int fmt, int64_t version)
{
    struct ft_cache_entry *e = find(c, tid, fmt);
    if (!e || e->version != version) {
        c->misses++;
        return NULL;
    }
    c->hits++;
    e->used = ++c->clock;
    return e;
}

void ft_cache_put(struct ft_cache *c, int64_t tid, int fmt, int64_t version, const char *body,
                  size_t len)
{
    struct ft_cache_entry *e = find(c, tid, fmt);
    if (e)
        drop(c, (size_t)(e - c->v));
    if (len > c->max_bytes)
        return; /* too large to keep: served uncached */
    while (c->n && c->bytes + len > c->max_bytes) {
        size_t lru = 0;
        for (size_t i = 1; i < c->n; i++)
            if (c->v[i].used < c->v[lru].used)
                lru = i;
        drop(c, lru);
    }
    ft_xgrow((void **)&c->v, &c->cap, c->n + 1, sizeof(*c->v));
    e = &c->v[c->n++];
    e->tid = tid;
    e->fmt = fmt;
    e->version = version;
    e->body = ft_xstrndup(body, len);
    e->len = len;
    e->used = ++c->clock;
    c->bytes += len;
}
