/*
 * The unit tests' store fixture: a fresh store in its own temporary directory with a local
 * operations layer acting as "tester", and its removal. Included by the tests that need it.
 */
#ifndef FX_STORE_H
#define FX_STORE_H

#include <stdio.h>
#include <stdlib.h>

#include "ops/ops.h"
#include "store/store.h"
#include "util/ft_err.h"

struct fx_store {
    char dir[64], path[128];
    struct ft_store *st;
    struct ft_ops *ops;
};

/* 0, or -1 when the directory or the store cannot be made. name goes into the directory's. */
static inline int fx_store_open(struct fx_store *s, const char *name)
{
    struct ft_err err;
    snprintf(s->dir, sizeof(s->dir), "/tmp/ft-%s-XXXXXX", name);
    if (!mkdtemp(s->dir))
        return -1;
    snprintf(s->path, sizeof(s->path), "%s/s.db", s->dir);
    if (ft_store_open(s->path, FT_STORE_CREATE, &s->st, &err))
        return -1;
    s->ops = ft_ops_local_new(s->st, "tester");
    return 0;
}

/* 0, or -1 when the directory could not be removed. */
static inline int fx_store_close(struct fx_store *s)
{
    char cmd[256];
    ft_ops_free(s->ops);
    ft_store_close(s->st);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", s->dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
