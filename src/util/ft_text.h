/*
 * ft_text: small text helpers shared by the renderers and importers.
 */
#ifndef FT_TEXT_H
#define FT_TEXT_H

#include <stddef.h>

/* 1 when s[0..n) is valid UTF-8 with no NUL byte, else 0; *bad = offset of the first bad byte. */
int ft_utf8_valid(const char *s, size_t n, size_t *bad);
/*
 * Normalise a text field as stored: CRLF and CR become LF, trailing white space
 * is dropped from every line, runs of blank lines inside become one blank
 * line, and leading and trailing blank space is dropped from the whole. Returns a new string the
 * caller owns.
 */
char *ft_text_norm(const char *s);
/* Make a slug from a title: lowercase ASCII letters, digits and '-', at most max bytes. */
char *ft_slugify(const char *title, size_t max);
/* 1 when s is a valid slug: [a-z0-9][a-z0-9-]*, not all digits, at most 64 bytes. */
int ft_slug_valid(const char *s);

/*
 * A decimal number of at most max_digits digits (no sign, no space, nothing else), or -1.
 * With `hash`, a leading '#' is allowed ("#3", as entries are written).
 */
long long ft_parse_digits(const char *s, int max_digits, int hash);

#endif
