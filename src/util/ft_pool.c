#include "ft_pool.h"

#include "ft_xalloc.h"

#include <stdlib.h>
#include <string.h>

#include "banned.h"

#define POOL_CHUNK 65536 /* bytes of a chunk; a string over a quarter of it gets its own */

struct pool_chunk {
    struct pool_chunk *next;
    size_t used, cap;
    char data[];
};

struct ft_pool {
    struct pool_chunk *head; /* the chunk being filled, then older ones */
};

struct ft_pool *ft_pool_new(void)
{
    return ft_xcalloc(1, sizeof(struct ft_pool));
}

static struct pool_chunk *chunk_new(size_t cap)
{
    struct pool_chunk *c = ft_xmalloc(sizeof(*c) + cap);
    c->next = NULL;
    c->used = 0;
    c->cap = cap;
    return c;
}

char *ft_pool_strndup(struct ft_pool *p, const char *s, size_t n)
{
    static char empty[1];
    if (n == 0)
        return empty;
    struct pool_chunk *c = p->head;
    if (n + 1 > POOL_CHUNK / 4) { /* its own chunk, behind the one being filled */
        struct pool_chunk *big = chunk_new(n + 1);
        big->used = n + 1;
        if (c) {
            big->next = c->next;
            c->next = big;
        } else {
            p->head = big;
        }
        c = big;
    } else {
        if (!c || c->cap - c->used < n + 1) {
            c = chunk_new(POOL_CHUNK);
            c->next = p->head;
            p->head = c;
        }
        c->used += n + 1;
    }
    char *d = c->data + c->used - (n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

void ft_pool_free(struct ft_pool *p)
{
    if (!p)
        return;
    for (struct pool_chunk *c = p->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(p);
}
