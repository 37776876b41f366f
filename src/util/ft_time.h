/*
 * ft_time: wall-clock milliseconds, calendar dates and durations.
 * Times are Unix milliseconds (int64_t) in UTC; dates are "YYYY-MM-DD" strings.
 */
#ifndef FT_TIME_H
#define FT_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Current wall-clock time in Unix milliseconds. FLOWTRACK_NOW (ms) overrides it for tests. */
int64_t ft_now_ms(void);
/* Monotonic clock in milliseconds (for measuring, never stored). */
int64_t ft_mono_ms(void);
/* Write "2026-11-25T10:00:00.123Z" into out (at least 25 bytes). */
void ft_time_iso(int64_t ms, char *out, size_t n);
/* Parse a time as ft_time_iso writes it (the fraction is optional): 0 and *ms, or FT_EINVAL. */
int ft_time_parse_iso(const char *s, int64_t *ms);
/* Write the UTC date "2026-11-25" into out (at least 11 bytes). */
void ft_time_date(int64_t ms, char *out, size_t n);
/* 1 when s is a real calendar date "YYYY-MM-DD", else 0. */
int ft_date_valid(const char *s);
/*
 * Parse a duration as coreutils timeout(1) takes it: a non-negative decimal
 * number with an optional unit s, m, h or d (default seconds). Returns 0 and
 * sets *ms, or FT_EINVAL.
 */
int ft_duration_parse(const char *s, int64_t *ms);
/* Format ms compactly: "250ms", "30s", "2.5s", "5m", "1h30m", "3d". */
void ft_duration_fmt(int64_t ms, char *out, size_t n);

#endif
