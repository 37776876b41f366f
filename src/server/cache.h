/*
 * cache: rendered tracker documents, keyed by tracker, format and version.
 *
 * A tracker's version is the sequence number of its newest event: every
 * change appends exactly one event, so (tracker, version) names one content
 * and a cached rendering is never stale — a GET reads the version from the
 * store (one index lookup) and renders only when it moved. The cache holds at
 * most max_bytes of bodies, evicting the least recently used. Loop thread only.
 */
#ifndef FT_SERVER_CACHE_H
#define FT_SERVER_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct ft_cache_entry {
    int64_t tid, version;
    int fmt;
    char *body;
    size_t len;
    uint64_t used; /* the cache's clock at the last hit */
};

struct ft_cache {
    struct ft_cache_entry *v;
    size_t n, cap;
    size_t bytes, max_bytes;
    uint64_t clock;
    uint64_t hits, misses;
};

void ft_cache_init(struct ft_cache *c, size_t max_bytes);
/* Free every body. NULL is allowed. */
void ft_cache_release(struct ft_cache *c);
/* The cached body of (tid, fmt) at exactly this version, or NULL (counted as a miss). */
const struct ft_cache_entry *ft_cache_get(struct ft_cache *c, int64_t tid, int fmt,
                                          int64_t version);
/* Keep a copy of body for (tid, fmt, version), replacing an older version. */
void ft_cache_put(struct ft_cache *c, int64_t tid, int fmt, int64_t version, const char *body,
                  size_t len);

#endif
