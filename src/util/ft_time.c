#include "ft_time.h"

#include "ft_err.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t ft_now_ms(void)
{
    const char *fake = getenv("FLOWTRACK_NOW");
    if (fake && *fake) {
        char *end;
        long long v = strtoll(fake, &end, 10);
        if (*end == '\0')
            return v;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ft_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void to_tm(int64_t ms, struct tm *tm)
{
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    gmtime_r(&t, tm);
}

void ft_time_iso(int64_t ms, char *out, size_t n)
{
    struct tm tm;
    to_tm(ms, &tm);
    int frac = (int)(((ms % 1000) + 1000) % 1000);
    snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

int ft_time_parse_iso(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, sec, frac = 0, n = 0, nf = 0;
    char date[11];
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || n != 19)
        return FT_EINVAL;
    if (s[n] == '.' && (sscanf(s + n + 1, "%3d%n", &frac, &nf) != 1 || nf != 3))
        return FT_EINVAL;
    n += s[n] == '.' ? 4 : 0;
    if (strcmp(s + n, "Z") != 0 || h > 23 || mi > 59 || sec > 60)
        return FT_EINVAL;
    snprintf(date, sizeof(date), "%.10s", s);
    if (!ft_date_valid(date))
        return FT_EINVAL;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec};
    *ms = (int64_t)timegm(&tm) * 1000 + frac;
    return 0;
}

void ft_time_date(int64_t ms, char *out, size_t n)
{
    struct tm tm;
    to_tm(ms, &tm);
    snprintf(out, n, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

int ft_date_valid(const char *s)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++) {
        if (i == 4 || i == 7)
            continue;
        if (s[i] < '0' || s[i] > '9')
            return 0;
    }
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return 0;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (m == 2 && d == 29 && !leap)
        return 0;
    return 1;
}

int ft_duration_parse(const char *s, int64_t *ms)
{
    if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
        return FT_EINVAL;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v < 0)
        return FT_EINVAL;
    double mult = 1000;
    if (*end) {
        if (end[1] != '\0' && strcmp(end, "ms") != 0)
            return FT_EINVAL;
        switch (*end) {
        case 's':
            break;
        case 'm':
            mult = end[1] == 's' ? 1 : 60000.0;
            break;
        case 'h':
            mult = 3600000.0;
            break;
        case 'd':
            mult = 86400000.0;
            break;
        default:
            return FT_EINVAL;
        }
    }
    double r = v * mult;
    if (r > 9.0e15)
        return FT_EINVAL;
    *ms = (int64_t)llround(r);
    return 0;
}

void ft_duration_fmt(int64_t ms, char *out, size_t n)
{
    long long v = (long long)ms;
    if (v < 1000 && v % 1000) {
        snprintf(out, n, "%lldms", v);
    } else if (v % 1000) {
        /* seconds with up to three decimals, trailing zeros dropped: 2.5s, 61.25s */
        long long frac = v % 1000;
        int digits = 3;
        while (frac % 10 == 0) {
            frac /= 10;
            digits--;
        }
        snprintf(out, n, "%lld.%0*llds", v / 1000, digits, frac);
    } else if (v % 86400000 == 0 && v) {
        snprintf(out, n, "%lldd", v / 86400000);
    } else if (v % 3600000 == 0 && v) {
        snprintf(out, n, "%lldh", v / 3600000);
    } else if (v % 60000 == 0 && v) {
        snprintf(out, n, "%lldm", v / 60000);
    } else {
        snprintf(out, n, "%llds", v / 1000);
    }
}
