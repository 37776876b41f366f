/*
 * ft_buf: a growable byte buffer, always NUL-terminated.
 *
 * Invariant: `buf` is never NULL after ft_buf_init (it points at a shared
 * empty string until the first append), and buf[len] == '\0'.
 * An optional cap (`max`, 0 = none) bounds growth: an append past it fails
 * with FT_ETOOBIG and leaves the buffer as it was, so a producer cannot grow
 * memory without bound (curl's dynbuf "toobig").
 */
#ifndef FT_BUF_H
#define FT_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct ft_buf {
    char *buf;  /* contents, NUL-terminated, never NULL */
    size_t len; /* bytes used, not counting the NUL */
    size_t cap; /* bytes allocated, 0 while buf is the shared empty string */
    size_t max; /* largest len allowed, 0 = unbounded */
};

void ft_buf_init(struct ft_buf *b, size_t max);
/* Free the contents and re-initialise (keeps max). NULL is allowed. */
void ft_buf_release(struct ft_buf *b);
/* Empty the buffer, keeping its allocation. */
void ft_buf_reset(struct ft_buf *b);
/* Append; 0 or FT_ETOOBIG (buffer unchanged). */
int ft_buf_add(struct ft_buf *b, const void *data, size_t n);
int ft_buf_adds(struct ft_buf *b, const char *s);
int ft_buf_addc(struct ft_buf *b, char c);
/* The decimal digits of v (no printf: for what runs once per request or per entry). */
int ft_buf_addu(struct ft_buf *b, unsigned long long v);
int ft_buf_addf(struct ft_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int ft_buf_vaddf(struct ft_buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Hand the contents to the caller, who now owns them (free()); re-initialises b. */
char *ft_buf_detach(struct ft_buf *b, size_t *len);

#endif
