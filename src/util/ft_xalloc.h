/*
 * ft_xalloc: allocation that never returns NULL. On exhaustion the process
 * aborts with a message (as tmux and h2o do): callers never check.
 */
#ifndef FT_XALLOC_H
#define FT_XALLOC_H

#include <stddef.h>

void *ft_xmalloc(size_t n);
void *ft_xcalloc(size_t nmemb, size_t size);
void *ft_xrealloc(void *p, size_t n);
char *ft_xstrdup(const char *s);
/* Copy the first n bytes of s and NUL-terminate. */
char *ft_xstrndup(const char *s, size_t n);
/* Grow *items so that it holds at least `need` elements of `size` bytes. */
void ft_xgrow(void **items, size_t *cap, size_t need, size_t size);

#endif
