/*
 * ft_pool: strings allocated together and freed together.
 *
 * For many small strings that live and die as one (a tracker loaded only to be rendered): a
 * copy is a bump of a pointer in a chunk, not a malloc, and the whole pool is freed in one
 * pass over its chunks. A string in a pool is never freed or reallocated on its own.
 */
#ifndef FT_POOL_H
#define FT_POOL_H

#include <stddef.h>

struct ft_pool;

/* An empty pool. Never NULL. */
struct ft_pool *ft_pool_new(void);
/* A copy of the n bytes at s, NUL-terminated, in the pool. An empty string is a shared "". */
char *ft_pool_strndup(struct ft_pool *p, const char *s, size_t n);
/* Free the pool and every string in it. NULL is allowed. */
void ft_pool_free(struct ft_pool *p);

#endif
