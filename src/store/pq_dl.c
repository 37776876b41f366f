/*
 * pq_dl.c: libpq loaded at first use (pq_dl.h).
 */
#include "pq_dl.h"

#include "../util/ft_err.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../util/banned.h"

struct ft_pq ft_pq;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[256]; /* empty once loaded */

static void load(void)
{
    void *h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(load_error, sizeof(load_error), "%s", e ? e : "libpq.so.5 not found");
        return;
    }
#define FT_PQ_SYM(f)                                                                               \
    if (!load_error[0] && !(*(void **)&ft_pq.f = dlsym(h, #f)))                                    \
        snprintf(load_error, sizeof(load_error), "libpq.so.5 has no %s", #f);
    FT_PQ_FUNCS(FT_PQ_SYM)
#undef FT_PQ_SYM
}

int ft_pq_load(struct ft_err *err)
{
    pthread_once(&once, load);
    if (load_error[0])
        return ft_err_set(err, FT_EIO, "a PostgreSQL store needs libpq (Debian package libpq5): %s",
                          load_error);
    return 0;
}
