#include "ft_text.h"

#include "ft_buf.h"
#include "ft_xalloc.h"

#include <string.h>

int ft_utf8_valid(const char *s, size_t n, size_t *bad)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < n) {
        unsigned c = p[i];
        size_t len;
        unsigned min;
        if (c == 0)
            goto fail;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2, min = 0x80, c &= 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, min = 0x800, c &= 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, min = 0x10000, c &= 0x07;
        } else {
            goto fail;
        }
        if (i + len > n)
            goto fail;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                goto fail;
            c = (c << 6) | (p[i + k] & 0x3f);
        }
        if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
            goto fail;
        i += len;
    }
    return 1;
fail:
    if (bad)
        *bad = i;
    return 0;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

char *ft_text_norm(const char *s)
{
    struct ft_buf b;
    ft_buf_init(&b, 0);

    while (*s && is_blank(*s))
        s++;
    while (*s) {
        const char *eol = s + strcspn(s, "\r\n");
        const char *e = eol;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        /* a run of blank lines inside the text becomes one */
        int blank = e == s;
        if (!(blank && b.len >= 2 && b.buf[b.len - 1] == '\n' && b.buf[b.len - 2] == '\n'))
            ft_buf_add(&b, s, (size_t)(e - s));
        if (!*eol)
            break;
        if (!(blank && b.len >= 2 && b.buf[b.len - 1] == '\n' && b.buf[b.len - 2] == '\n'))
            ft_buf_addc(&b, '\n');
        s = eol + (eol[0] == '\r' && eol[1] == '\n' ? 2 : 1);
    }
    while (b.len && is_blank(b.buf[b.len - 1]))
        b.buf[--b.len] = '\0';
    return ft_buf_detach(&b, NULL);
}

char *ft_slugify(const char *title, size_t max)
{
    struct ft_buf b;
    ft_buf_init(&b, 0);
    int dash = 0;

    for (const char *p = title; *p; p++) {
        char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            if (dash && b.len)
                ft_buf_addc(&b, '-');
            dash = 0;
            ft_buf_addc(&b, c);
        } else {
            dash = 1;
        }
    }
    if (b.len > max) {
        /* cut at the last word boundary that fits */
        size_t cut = max;
        while (cut > 0 && b.buf[cut] != '-')
            cut--;
        b.len = cut ? cut : max;
        b.buf[b.len] = '\0';
    }
    if (b.len == 0 || strspn(b.buf, "0123456789") == b.len) {
        ft_buf_release(&b);
        return ft_xstrdup("tracker");
    }
    return ft_buf_detach(&b, NULL);
}

int ft_slug_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64 || s[0] == '-')
        return 0;
    if (strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
        return 0;
    return strspn(s, "0123456789") != n;
}

long long ft_parse_digits(const char *s, int max_digits, int hash)
{
    long long v = 0;
    if (hash && *s == '#')
        s++;
    size_t n = strlen(s);
    if (n == 0 || n > (size_t)max_digits || strspn(s, "0123456789") != n)
        return -1;
    for (; *s; s++)
        v = v * 10 + (*s - '0');
    return v;
}
