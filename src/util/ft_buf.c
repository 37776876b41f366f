#include "ft_buf.h"

#include "ft_err.h"
#include "ft_xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char empty[1];

void ft_buf_init(struct ft_buf *b, size_t max)
{
    b->buf = empty;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void ft_buf_release(struct ft_buf *b)
{
    if (!b)
        return;
    if (b->cap)
        free(b->buf);
    ft_buf_init(b, b->max);
}

void ft_buf_reset(struct ft_buf *b)
{
    b->len = 0;
    b->buf[0] = '\0';
}

static int grow(struct ft_buf *b, size_t extra)
{
    if (b->max && (extra > b->max || b->len > b->max - extra))
        return FT_ETOOBIG;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return 0;
    size_t ncap = b->cap ? b->cap : 64;
    while (ncap < need)
        ncap *= 2;
    if (b->cap) {
        b->buf = ft_xrealloc(b->buf, ncap);
    } else {
        b->buf = ft_xmalloc(ncap);
        b->buf[0] = '\0';
    }
    b->cap = ncap;
    return 0;
}

int ft_buf_add(struct ft_buf *b, const void *data, size_t n)
{
    if (n == 0)
        return 0;
    if (grow(b, n))
        return FT_ETOOBIG;
    memcpy(b->buf + b->len, data, n);
    b->len += n;
    b->buf[b->len] = '\0';
    return 0;
}

int ft_buf_adds(struct ft_buf *b, const char *s)
{
    return ft_buf_add(b, s, strlen(s));
}

int ft_buf_addc(struct ft_buf *b, char c)
{
    return ft_buf_add(b, &c, 1);
}

int ft_buf_addu(struct ft_buf *b, unsigned long long v)
{
    char tmp[24], *p = tmp + sizeof(tmp);
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return ft_buf_add(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

int ft_buf_vaddf(struct ft_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    /* first try the space already there: one formatting pass in the common case */
    size_t room = b->cap ? b->cap - b->len : 0;
    int n = vsnprintf(room ? b->buf + b->len : NULL, room, fmt, cp);
    va_end(cp);
    if (n < 0)
        return FT_EINVAL;
    if ((size_t)n < room && (!b->max || b->len + (size_t)n <= b->max)) {
        b->len += (size_t)n;
        return 0;
    }
    if (room)
        b->buf[b->len] = '\0';
    if (grow(b, (size_t)n))
        return FT_ETOOBIG;
    vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int ft_buf_addf(struct ft_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = ft_buf_vaddf(b, fmt, ap);
    va_end(ap);
    return rc;
}

char *ft_buf_detach(struct ft_buf *b, size_t *len)
{
    char *p = b->cap ? b->buf : ft_xstrdup("");
    if (len)
        *len = b->len;
    ft_buf_init(b, b->max);
    return p;
}
