/*
 * sseload: a load harness for Server-Sent Events servers on loopback.
 *
 * One process opens N concurrent event streams to one URL, then measures, in this order:
 *
 *   1. connect: the time to open the N streams (HTTP 200 headers received), with at most
 *      --window connects in flight, and the server's resident memory (VmRSS of --rss-pid)
 *      before, at N/10 and at N idle streams. Bytes per idle stream is the slope between N/10
 *      and N, so that what the first stream allocates once is not charged to every stream.
 *   2. latency: --paced L events published one at a time; each is awaited on every stream
 *      before the next one goes out. The publisher embeds its send time (CLOCK_MONOTONIC) in
 *      the event as "sseload:t=<ns>:k=<index>" and the receiver parses it back.
 *   3. fan-out: --burst M events published back to back on one keep-alive connection, each
 *      POST waiting for its response; deliveries per second = deliveries / (last delivery -
 *      first publish), and the server's CPU time (/proc/PID/stat of --rss-pid) per delivery.
 *   3b. scrape: --scrapes S requests of the counter URL one after the other with every
 *      stream open (the server's metrics page: what a scrape costs its event loop at N).
 *   4. release: --aborts K idle streams closed abruptly (RST, SO_LINGER 0) and K closed
 *      cleanly (FIN), one at a time; each is timed until the server's open-stream count
 *      (--count-url, a line "KEY <n>" or "KEY: <n>") drops below its value before the close.
 *      With --release-log, first until the server's log has a new line with --release-match
 *      (the log alone is watched then, so that no poll of the counter delays the server).
 *   5. shutdown: SIGTERM to --term-pid with every stream open, timed until every stream has
 *      seen end of file and until the process has exited (pidfd, no need to be its parent).
 *
 * Results go to stdout as "key value" lines, progress and warnings to stderr. Every wait is
 * bounded by --timeout seconds. Only loopback addresses are accepted.
 *
 * Threads: the main thread owns the epoll loop and every stream. A publisher thread (phases
 * 2 and 3) owns its own blocking connection; while it runs it shares only atomics with the
 * main thread (delivered[], done), which reads its other results after joining it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MARKER     "sseload:t="
#define RBUF_SIZE  (256 * 1024)
#define CARRY_MAX  (64 * 1024)
#define HDR_MAX    (16 * 1024)
#define PIDFD_TAG  UINT32_MAX
#define NS_PER_SEC 1000000000ull

/* ---- small utilities ---------------------------------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
    }
}

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("sseload: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

__attribute__((format(printf, 1, 2))) static void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("sseload: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        die("out of memory");
    return p;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of a sorted array, in milliseconds; -1 when there is no sample. */
static double pct_ms(const uint64_t *a, size_t n, double p)
{
    if (n == 0)
        return -1;
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return (double)a[rank - 1] / 1e6;
}

static void put(const char *key, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s ", key);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
    fflush(stdout);
}

/* Prints p50, p99 and max of n samples (sorting them) under the given key prefix. */
static void put_pcts(const char *prefix, uint64_t *a, size_t n)
{
    char key[96];
    qsort(a, n, sizeof(*a), cmp_u64);
    snprintf(key, sizeof(key), "%s_samples", prefix);
    put(key, "%zu", n);
    snprintf(key, sizeof(key), "%s_p50_ms", prefix);
    put(key, "%.3f", pct_ms(a, n, 50));
    snprintf(key, sizeof(key), "%s_p99_ms", prefix);
    put(key, "%.3f", pct_ms(a, n, 99));
    snprintf(key, sizeof(key), "%s_max_ms", prefix);
    put(key, "%.3f", pct_ms(a, n, 100));
}

/* VmRSS of a process in bytes, or -1. */
static long long rss_bytes(pid_t pid)
{
    char path[64], line[256];
    long long kib = -1;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtoll(line + 6, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib < 0 ? -1 : kib * 1024;
}

/* CPU time (user + system) a process has used, in seconds, or -1. */
static double proc_cpu_seconds(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields 14 and 15 (utime, stime) follow the ")" that ends the command name. */
    const char *p = strrchr(buf, ')');
    unsigned long long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Time the process's main thread has spent runnable but waiting for a CPU, in seconds, or -1. */
static double proc_wait_seconds(pid_t pid)
{
    char path[64];
    unsigned long long run, wait;
    snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int n = fscanf(f, "%llu %llu", &run, &wait);
    fclose(f);
    return n == 2 ? (double)wait / 1e9 : -1;
}

/* The server's processes (--rss-pid PID[,PID...]: nginx's workers, flowtrack's workers). */
#define MAX_PIDS 64
static pid_t srv_pids[MAX_PIDS];
static int nsrv_pids;

/* A figure summed over the server's processes; -1 when one of them cannot be read. */
static long long sum_rss(void)
{
    long long t = 0;
    for (int i = 0; i < nsrv_pids; i++) {
        long long v = rss_bytes(srv_pids[i]);
        if (v < 0)
            return -1;
        t += v;
    }
    return t;
}

static double sum_seconds(double (*fn)(pid_t))
{
    double t = 0;
    for (int i = 0; i < nsrv_pids; i++) {
        double v = fn(srv_pids[i]);
        if (v < 0)
            return -1;
        t += v;
    }
    return t;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ---- URLs: http://LOOPBACK-ADDRESS:PORT/path only ---------------------------------- */

struct url {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char hostport[96]; /* for the Host header */
    char path[512];
};

static bool is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
    }
    return false;
}

static void url_parse(struct url *u, const char *s)
{
    char host[64], port[16];
    const char *p = s, *hs, *he, *ps;
    if (strncmp(p, "http://", 7) != 0)
        die("'%s': only http:// URLs are supported", s);
    p += 7;
    if (*p == '[') {
        hs = p + 1;
        he = strchr(hs, ']');
        if (!he)
            die("'%s': unterminated IPv6 address", s);
        ps = he + 1;
    } else {
        hs = p;
        he = p + strcspn(p, ":/");
        ps = he;
    }
    if ((size_t)(he - hs) >= sizeof(host) || he == hs)
        die("'%s': bad host", s);
    memcpy(host, hs, (size_t)(he - hs));
    host[he - hs] = '\0';
    if (*ps != ':')
        die("'%s': a port is required", s);
    ps++;
    size_t plen = strspn(ps, "0123456789");
    if (plen == 0 || plen >= sizeof(port))
        die("'%s': bad port", s);
    memcpy(port, ps, plen);
    port[plen] = '\0';
    const char *path = ps + plen;
    if (*path == '\0')
        path = "/";
    if (*path != '/' || strlen(path) >= sizeof(u->path))
        die("'%s': bad path", s);
    snprintf(u->path, sizeof(u->path), "%s", path);
    snprintf(u->hostport, sizeof(u->hostport), "%.*s", (int)(ps + plen - p), p);

    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0)
        die("'%s': %s (a numeric loopback address is required)", s, gai_strerror(rc));
    if (!is_loopback(res->ai_addr))
        die("'%s': not a loopback address", s);
    memcpy(&u->addr, res->ai_addr, res->ai_addrlen);
    u->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
}

/* ---- a blocking HTTP/1.1 keep-alive client (publisher, counter polls) --------------- */

struct hclient {
    const struct url *u;
    int fd;
    size_t len; /* bytes buffered in buf */
    char buf[65536];
};

static void hc_close(struct hclient *h)
{
    if (h->fd >= 0)
        close(h->fd);
    h->fd = -1;
    h->len = 0;
}

static int hc_connect(struct hclient *h)
{
    struct timeval tv = {.tv_sec = 10, .tv_usec = 0};
    int one = 1;
    h->fd = socket(h->u->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (h->fd < 0)
        return -1;
    setsockopt(h->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(h->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(h->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(h->fd, (const struct sockaddr *)&h->u->addr, h->u->addrlen) < 0) {
        hc_close(h);
        return -1;
    }
    h->len = 0;
    return 0;
}

/* Reads more bytes into h->buf; returns the count, 0 on EOF, -1 on error or a full buffer. */
static ssize_t hc_fill(struct hclient *h)
{
    if (h->len >= sizeof(h->buf))
        return -1;
    ssize_t n;
    do {
        n = recv(h->fd, h->buf + h->len, sizeof(h->buf) - h->len, 0);
    } while (n < 0 && errno == EINTR);
    if (n > 0)
        h->len += (size_t)n;
    return n;
}

static const char *find_header(const char *hdr, size_t hlen, const char *name)
{
    size_t nl = strlen(name);
    const char *p = hdr, *end = hdr + hlen;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            break;
        if ((size_t)(eol - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            return v;
        }
        p = eol + 1;
    }
    return NULL;
}

/*
 * One request, one response. The response body (up to bodycap - 1 bytes, NUL-terminated)
 * goes to body if it is not NULL. Returns the HTTP status, or -1 on a transport error. A
 * request on a kept-alive connection that the server has since closed is retried once.
 */
static int hc_request(struct hclient *h, const char *method, const char *path, const char *ctype,
                      const char *data, size_t dlen, char *body, size_t bodycap)
{
    char req[4096];
    int attempt;
    for (attempt = 0; attempt < 2; attempt++) {
        bool fresh = false;
        if (h->fd < 0) {
            if (hc_connect(h) < 0)
                return -1;
            fresh = true;
        }
        int rl;
        if (data)
            rl = snprintf(req, sizeof(req),
                          "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: sseload\r\n"
                          "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                          method, path, h->u->hostport, ctype, dlen);
        else
            rl = snprintf(req, sizeof(req),
                          "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: sseload\r\n\r\n", method, path,
                          h->u->hostport);
        if (rl < 0 || (size_t)rl + dlen > sizeof(req))
            die("request too large");
        if (data) {
            memcpy(req + rl, data, dlen);
            rl += (int)dlen;
        }
        if (send(h->fd, req, (size_t)rl, MSG_NOSIGNAL) != rl) {
            hc_close(h);
            if (fresh)
                return -1;
            continue;
        }
        /* Headers. */
        char *eoh = NULL;
        h->len = 0;
        while (!(eoh = memmem(h->buf, h->len, "\r\n\r\n", 4))) {
            ssize_t n = hc_fill(h);
            if (n <= 0)
                break;
        }
        if (!eoh) {
            bool retry = h->len == 0 && !fresh;
            hc_close(h);
            if (retry)
                continue;
            return -1;
        }
        size_t hlen = (size_t)(eoh - h->buf) + 4;
        int status = 0;
        if (sscanf(h->buf, "HTTP/%*d.%*d %d", &status) != 1) {
            hc_close(h);
            return -1;
        }
        const char *cl = find_header(h->buf, hlen, "Content-Length");
        const char *te = find_header(h->buf, hlen, "Transfer-Encoding");
        const char *co = find_header(h->buf, hlen, "Connection");
        bool chunked = te && strncasecmp(te, "chunked", 7) == 0;
        bool close_after = co && strncasecmp(co, "close", 5) == 0;
        bool has_length = cl != NULL;
        size_t want = cl ? strtoul(cl, NULL, 10) : 0; /* cl points into buf: read it now */
        size_t blen = 0;
        if (body && bodycap)
            body[0] = '\0';
        /* Body: the bytes after the headers are moved to the front of buf. */
        memmove(h->buf, h->buf + hlen, h->len - hlen);
        h->len -= hlen;
        if (chunked) {
            for (;;) {
                char *eol;
                while (!(eol = memmem(h->buf, h->len, "\r\n", 2)))
                    if (hc_fill(h) <= 0)
                        goto broken;
                unsigned long sz = strtoul(h->buf, NULL, 16);
                size_t skip = (size_t)(eol - h->buf) + 2;
                while (h->len < skip + sz + 2)
                    if (hc_fill(h) <= 0)
                        goto broken;
                if (body && blen + sz < bodycap) {
                    memcpy(body + blen, h->buf + skip, sz);
                    blen += sz;
                    body[blen] = '\0';
                }
                memmove(h->buf, h->buf + skip + sz + 2, h->len - skip - sz - 2);
                h->len -= skip + sz + 2;
                if (sz == 0)
                    break;
            }
        } else if (has_length || status == 204 || status == 304 || status / 100 == 1 ||
                   strcmp(method, "HEAD") == 0) {
            while (h->len < want)
                if (hc_fill(h) <= 0)
                    goto broken;
            if (body && bodycap) {
                blen = want < bodycap - 1 ? want : bodycap - 1;
                memcpy(body, h->buf, blen);
                body[blen] = '\0';
            }
            memmove(h->buf, h->buf + want, h->len - want);
            h->len -= want;
        } else {
            while (hc_fill(h) > 0) {
            }
            if (body && bodycap) {
                blen = h->len < bodycap - 1 ? h->len : bodycap - 1;
                memcpy(body, h->buf, blen);
                body[blen] = '\0';
            }
            close_after = true;
        }
        if (close_after)
            hc_close(h);
        return status;
    broken:
        hc_close(h);
        return -1;
    }
    return -1;
}

/* The value of the first line "KEY <n>", "KEY: <n>" or "KEY{labels} <n>" of text, or -1. */
static double metric_value(const char *text, const char *key)
{
    size_t kl = strlen(key);
    const char *p = text;
    while (p && *p) {
        if (strncmp(p, key, kl) == 0 && p[kl] != '\0' && strchr(" :\t{", p[kl])) {
            const char *v = p + kl;
            if (*v == '{') {
                v = strchr(v, '}');
                if (!v)
                    return -1;
                v++;
            }
            while (*v == ' ' || *v == ':' || *v == '\t')
                v++;
            char *end;
            double d = strtod(v, &end);
            return end == v ? -1 : d;
        }
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return -1;
}

/* ---- the streams ------------------------------------------------------------------- */

enum cstate { C_IDLE, C_CONNECTING, C_HEADERS, C_STREAM, C_CLOSED };
enum chstate { CH_SIZE, CH_EXT, CH_DATA, CH_DATA_CR, CH_DATA_LF, CH_END };

struct conn {
    int fd;
    uint8_t state;   /* enum cstate */
    uint8_t chunked; /* body uses chunked transfer encoding */
    uint8_t ch;      /* enum chstate */
    uint32_t chunk_left;
    uint32_t carry_len; /* a partial line (or partial headers) kept from the last read */
    char *carry;
    uint64_t t_start; /* connect() called */
};

static struct {
    struct url sub;
    struct conn *c;
    unsigned n;
    int ep;
    char *rbuf;
    /* counters, owned by the main thread */
    unsigned inflight, established, failed, alive;
    uint64_t ids, comments, marked, eofs, last_eof_ns, last_delivery_ns;
    uint64_t *connect_lat;
    size_t nconnect_lat;
    /* event accounting: delivered[k] is read by the publisher thread */
    atomic_uint *delivered;
    unsigned nkeys;
    unsigned phase_k0, phase_k1; /* marked events with k in [k0, k1) are sampled */
    uint64_t *samples;
    size_t nsamples, samples_cap;
    uint64_t phase_marked;
    bool pidfd_ready;
} g;

static void conn_close(struct conn *c, bool rst)
{
    if (c->fd >= 0) {
        if (rst) {
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        }
        epoll_ctl(g.ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
    if (c->state == C_STREAM)
        g.alive--;
    if (c->state == C_CONNECTING || c->state == C_HEADERS) {
        g.inflight--;
        g.failed++;
    }
    c->state = C_CLOSED;
    free(c->carry);
    c->carry = NULL;
    c->carry_len = 0;
}

static void conn_start(struct conn *c, unsigned idx)
{
    c->fd = socket(g.sub.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        die("socket: %s (raise the open-file limit)", strerror(errno));
    c->t_start = now_ns();
    c->state = C_CONNECTING;
    g.inflight++;
    struct epoll_event ev = {.events = EPOLLOUT, .data.u32 = idx};
    if (epoll_ctl(g.ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
        die("epoll_ctl: %s", strerror(errno));
    if (connect(c->fd, (const struct sockaddr *)&g.sub.addr, g.sub.addrlen) < 0 &&
        errno != EINPROGRESS) {
        note("connect: %s", strerror(errno));
        conn_close(c, false);
    }
}

static void record(unsigned k, uint64_t t_sent, uint64_t now)
{
    g.marked++;
    g.last_delivery_ns = now;
    if (k < g.nkeys)
        atomic_fetch_add_explicit(&g.delivered[k], 1, memory_order_release);
    if (k >= g.phase_k0 && k < g.phase_k1) {
        g.phase_marked++;
        if (g.nsamples < g.samples_cap)
            g.samples[g.nsamples++] = now > t_sent ? now - t_sent : 0;
    }
}

static void on_line(const char *l, size_t n, uint64_t now)
{
    if (n && l[n - 1] == '\r')
        n--;
    if (n >= 3 && memcmp(l, "id:", 3) == 0) {
        g.ids++;
    } else if (n >= 5 && memcmp(l, "data:", 5) == 0) {
        const char *m = memmem(l, n, MARKER, sizeof(MARKER) - 1);
        if (!m)
            return;
        const char *p = m + sizeof(MARKER) - 1, *end = l + n;
        uint64_t t = 0, k = 0;
        while (p < end && *p >= '0' && *p <= '9')
            t = t * 10 + (uint64_t)(*p++ - '0');
        if (end - p < 3 || memcmp(p, ":k=", 3) != 0)
            return;
        p += 3;
        while (p < end && *p >= '0' && *p <= '9')
            k = k * 10 + (uint64_t)(*p++ - '0');
        record(k > UINT32_MAX ? UINT32_MAX : (unsigned)k, t, now);
    } else if (n >= 1 && l[0] == ':') {
        g.comments++;
    }
}

/* Decodes chunked transfer encoding in place; returns the number of body bytes left. */
static size_t dechunk(struct conn *c, char *b, size_t len)
{
    size_t i = 0, out = 0;
    while (i < len) {
        char ch;
        switch (c->ch) {
        case CH_SIZE:
            ch = b[i++];
            if (ch >= '0' && ch <= '9')
                c->chunk_left = c->chunk_left * 16 + (uint32_t)(ch - '0');
            else if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
                c->chunk_left = c->chunk_left * 16 + (uint32_t)((ch | 0x20) - 'a' + 10);
            else if (ch == '\n')
                c->ch = c->chunk_left ? CH_DATA : CH_END;
            else
                c->ch = CH_EXT;
            break;
        case CH_EXT:
            if (b[i++] == '\n')
                c->ch = c->chunk_left ? CH_DATA : CH_END;
            break;
        case CH_DATA: {
            size_t take = len - i < c->chunk_left ? len - i : c->chunk_left;
            memmove(b + out, b + i, take);
            out += take;
            i += take;
            c->chunk_left -= (uint32_t)take;
            if (c->chunk_left == 0)
                c->ch = CH_DATA_CR;
            break;
        }
        case CH_DATA_CR:
            c->ch = b[i++] == '\r' ? CH_DATA_LF : CH_SIZE;
            break;
        case CH_DATA_LF:
            i++;
            c->ch = CH_SIZE;
            break;
        case CH_END:
        default:
            i = len;
            break;
        }
    }
    return out;
}

/* Keeps b[0..len) as the connection's carry. Returns false if it is too large. */
static bool keep_carry(struct conn *c, const char *b, size_t len, size_t max)
{
    if (len > max)
        return false;
    if (len == 0) {
        c->carry_len = 0;
        return true;
    }
    if (len > c->carry_len || !c->carry) {
        char *p = realloc(c->carry, len);
        if (!p)
            die("out of memory");
        c->carry = p;
    }
    memcpy(c->carry, b, len);
    c->carry_len = (uint32_t)len;
    return true;
}

/* Splits b[0..len) into SSE lines; an incomplete last line becomes the carry. */
static bool on_body(struct conn *c, char *b, size_t len, uint64_t now)
{
    char *p = b, *end = b + len, *nl;
    while (p < end && (nl = memchr(p, '\n', (size_t)(end - p)))) {
        on_line(p, (size_t)(nl - p), now);
        p = nl + 1;
    }
    return keep_carry(c, p, (size_t)(end - p), CARRY_MAX);
}

/* Returns false when the headers are not complete yet; sets *bad on an unusable response. */
static bool on_headers(struct conn *c, char *b, size_t len, size_t *hlen, bool *bad)
{
    char *eoh = memmem(b, len, "\r\n\r\n", 4);
    if (!eoh) {
        *bad = len > HDR_MAX;
        return false;
    }
    *hlen = (size_t)(eoh - b) + 4;
    int status = 0;
    if (sscanf(b, "HTTP/%*d.%*d %d", &status) != 1 || status != 200) {
        if (g.failed < 5)
            note("stream refused: %.*s", (int)strcspn(b, "\r\n"), b);
        *bad = true;
        return false;
    }
    const char *te = find_header(b, *hlen, "Transfer-Encoding");
    c->chunked = te && strncasecmp(te, "chunked", 7) == 0;
    c->ch = CH_SIZE;
    c->chunk_left = 0;
    return true;
}

static void on_readable(struct conn *c)
{
    char *b = g.rbuf;
    for (;;) {
        size_t have = c->carry_len;
        if (have)
            memcpy(b, c->carry, have);
        ssize_t n = read(c->fd, b + have, RBUF_SIZE - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        uint64_t now = now_ns();
        if (n <= 0) {
            if (c->state == C_STREAM) {
                g.eofs++;
                g.last_eof_ns = now;
            }
            conn_close(c, false);
            return;
        }
        size_t len = have + (size_t)n, off = 0;
        bool full = (size_t)n == RBUF_SIZE - have;
        if (c->state == C_HEADERS) {
            size_t hlen = 0;
            bool bad = false;
            if (!on_headers(c, b, len, &hlen, &bad)) {
                if (bad || !keep_carry(c, b, len, HDR_MAX))
                    conn_close(c, false);
                return;
            }
            c->state = C_STREAM;
            c->carry_len = 0;
            g.inflight--;
            g.established++;
            g.alive++;
            g.connect_lat[g.nconnect_lat++] = now - c->t_start;
            off = hlen;
        }
        size_t body = len - off;
        char *bp = b + off;
        if (c->chunked) {
            /* A streaming carry (b[0..have)) is already decoded; header bytes never are. */
            size_t pre = off ? 0 : have;
            body = pre + dechunk(c, bp + pre, body - pre);
        }
        if (!on_body(c, bp, body, now)) {
            conn_close(c, false);
            return;
        }
        if (!full)
            return;
    }
}

static void on_writable(struct conn *c, unsigned idx)
{
    int err = 0;
    socklen_t el = sizeof(err);
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) {
        if (g.failed < 5)
            note("connect: %s", strerror(err));
        conn_close(c, false);
        return;
    }
    char req[1024];
    int rl = snprintf(req, sizeof(req),
                      "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: sseload\r\n"
                      "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n",
                      g.sub.path, g.sub.hostport);
    if (write(c->fd, req, (size_t)rl) != rl) {
        conn_close(c, false);
        return;
    }
    c->state = C_HEADERS;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = idx};
    epoll_ctl(g.ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/* One turn of the event loop: waits at most timeout_ms and handles what is ready. */
static void loop_once(int timeout_ms)
{
    struct epoll_event evs[1024];
    int n = epoll_wait(g.ep, evs, 1024, timeout_ms);
    if (n < 0 && errno != EINTR)
        die("epoll_wait: %s", strerror(errno));
    for (int i = 0; i < n; i++) {
        uint32_t idx = evs[i].data.u32;
        if (idx == PIDFD_TAG) {
            g.pidfd_ready = true;
            continue;
        }
        struct conn *c = &g.c[idx];
        if (c->state == C_CONNECTING)
            on_writable(c, idx);
        else if (c->state == C_HEADERS || c->state == C_STREAM)
            on_readable(c);
    }
}

static int ms_left(uint64_t deadline)
{
    uint64_t t = now_ns();
    if (t >= deadline)
        return 0;
    uint64_t ms = (deadline - t) / 1000000 + 1;
    return ms > 100 ? 100 : (int)ms;
}

/* Opens streams [from, to) with at most window connects in flight. */
static void connect_range(unsigned from, unsigned to, unsigned window, uint64_t deadline)
{
    unsigned next = from;
    while (now_ns() < deadline) {
        while (g.inflight < window && next < to) {
            conn_start(&g.c[next], next);
            next++;
        }
        if (next >= to && g.inflight == 0)
            break;
        loop_once(ms_left(deadline));
    }
}

/* Runs the loop for ms milliseconds, reading whatever arrives. */
static void settle(unsigned ms)
{
    uint64_t deadline = now_ns() + (uint64_t)ms * 1000000;
    while (now_ns() < deadline)
        loop_once(ms_left(deadline));
}

/* ---- publisher ---------------------------------------------------------------------- */

struct publisher {
    struct url u;
    bool json; /* body {"text":"..."} (else the marker as text/plain) */
    unsigned k0, count;
    bool paced;
    unsigned interval_ms, wait_ms;
    unsigned target; /* deliveries per event to wait for when paced */
    /* results */
    uint64_t t_first, t_last;
    unsigned sent, errors;
    int last_status;
    atomic_bool done;
};

static void *publisher_main(void *arg)
{
    struct publisher *p = arg;
    struct hclient *h = xcalloc(1, sizeof(*h));
    h->u = &p->u;
    h->fd = -1;
    for (unsigned k = p->k0; k < p->k0 + p->count; k++) {
        char body[256];
        uint64_t t = now_ns();
        int bl;
        if (p->json)
            bl = snprintf(body, sizeof(body), "{\"text\":\"" MARKER "%" PRIu64 ":k=%u\"}", t, k);
        else
            bl = snprintf(body, sizeof(body), MARKER "%" PRIu64 ":k=%u", t, k);
        if (k == p->k0)
            p->t_first = t;
        int st = hc_request(h, "POST", p->u.path, p->json ? "application/json" : "text/plain", body,
                            (size_t)bl, NULL, 0);
        p->t_last = now_ns();
        p->last_status = st;
        if (st < 200 || st > 299) {
            p->errors++;
            if (p->errors <= 3)
                note("publish %u: status %d", k, st);
            if (p->errors >= 10)
                break;
            continue;
        }
        p->sent++;
        if (p->paced) {
            uint64_t until = now_ns() + (uint64_t)p->wait_ms * 1000000;
            while (atomic_load_explicit(&g.delivered[k], memory_order_acquire) < p->target &&
                   now_ns() < until)
                sleep_ms(1);
            sleep_ms(p->interval_ms);
        }
    }
    hc_close(h);
    free(h);
    atomic_store(&p->done, true);
    return NULL;
}

/*
 * Publishes count events from index k0 and reads the streams until every live stream has
 * every event, or until the deadline (or grace_ms after the last publish). Latency samples
 * land in g.samples.
 */
static void publish_phase(struct publisher *p, unsigned k0, unsigned count, bool paced,
                          uint64_t deadline, unsigned grace_ms)
{
    pthread_t th;
    p->k0 = k0;
    p->count = count;
    p->paced = paced;
    p->target = g.alive;
    p->sent = p->errors = 0;
    atomic_store(&p->done, false);
    g.phase_k0 = k0;
    g.phase_k1 = k0 + count;
    g.phase_marked = 0;
    g.nsamples = 0;
    uint64_t want = (uint64_t)count * g.alive;
    if (pthread_create(&th, NULL, publisher_main, p) != 0)
        die("pthread_create failed");
    uint64_t pub_done_at = 0;
    while (now_ns() < deadline) {
        if (g.phase_marked >= want)
            break;
        if (!pub_done_at && atomic_load(&p->done))
            pub_done_at = now_ns();
        if (pub_done_at && now_ns() - pub_done_at > (uint64_t)grace_ms * 1000000)
            break;
        loop_once(ms_left(deadline));
    }
    pthread_join(th, NULL);
    if (g.phase_marked < want)
        note("%" PRIu64 " of %" PRIu64 " deliveries arrived (%u events published, %u errors)",
             g.phase_marked, want, p->sent, p->errors);
}

/* ---- release and shutdown ---------------------------------------------------------- */

/* Current value of the open-stream counter, or -1. */
static double poll_count(struct hclient *h, const char *key)
{
    static char body[65536];
    int st = hc_request(h, "GET", h->u->path, NULL, NULL, 0, body, sizeof(body));
    if (st != 200)
        return -1;
    return metric_value(body, key);
}

/* Reads whatever is pending on a stream so that close() sends FIN, not RST. */
static void drain(struct conn *c)
{
    char b[4096];
    while (c->fd >= 0 && read(c->fd, b, sizeof(b)) > 0) {
    }
}

/* Where the server says that a stream is released: a counter URL, and optionally a log. */
struct release_probe {
    struct hclient *h;
    const char *key;   /* counter name */
    const char *log;   /* server log file, or NULL */
    const char *match; /* text of the log line written when a stream is released */
    int inotify;       /* watches the log for writes, or -1 */
};

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

/* Whether the log has a complete line containing match past *off; advances *off. */
static bool log_has(const char *path, off_t *off, const char *match)
{
    static char buf[65536];
    bool found = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, *off);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    char *last_nl = memrchr(buf, '\n', (size_t)n);
    if (!last_nl)
        return false;
    *last_nl = '\0';
    found = strstr(buf, match) != NULL;
    *off += last_nl - buf + 1;
    return found;
}

/*
 * Closes k streams one by one (RST or FIN) and times each until a new line of the server's
 * log has the match text (into out_log; with a log), then until the server's counter has
 * dropped below its value before the close (into out_count). Streams are taken from the end of the
 * array. Returns the number of samples.
 */
static size_t release_phase(const struct release_probe *rp, bool rst, unsigned k, unsigned *cursor,
                            uint64_t *out_count, uint64_t *out_log, unsigned timeout_ms)
{
    size_t ns = 0;
    uint64_t limit = (uint64_t)timeout_ms * 1000000;
    for (unsigned s = 0; s < k; s++) {
        struct conn *c = NULL;
        while (*cursor > 0 && !c) {
            struct conn *cand = &g.c[--*cursor];
            if (cand->state == C_STREAM)
                c = cand;
        }
        if (!c)
            break;
        double before = poll_count(rp->h, rp->key);
        if (before < 0) {
            note("cannot read '%s' from the counter URL", rp->key);
            return ns;
        }
        off_t off = rp->log ? file_size(rp->log) : -1;
        drain(c);
        uint64_t t0 = now_ns(), t_count = 0, t_log = off < 0 ? 1 : 0;
        conn_close(c, rst);
        /*
         * The log is watched first, alone: polling the counter URL makes the server's event
         * loop serve requests while it should be noticing the close, which delays what is
         * being measured (by about 1 ms a poll on a server whose metrics page is slow).
         */
        while (!t_log && now_ns() - t0 <= limit) {
            if (log_has(rp->log, &off, rp->match)) {
                t_log = now_ns();
                break;
            }
            /* Sleep until the log is written to (1 ms at most): a busy loop here would take
             * the CPU the server needs to notice the close, on a machine with few cores. */
            struct pollfd pfd = {.fd = rp->inotify, .events = POLLIN};
            if (rp->inotify >= 0 && poll(&pfd, 1, 1) > 0) {
                char ev[4096];
                while (read(rp->inotify, ev, sizeof(ev)) > 0) {
                }
            } else if (rp->inotify < 0) {
                struct timespec ts = {.tv_sec = 0, .tv_nsec = 100000};
                nanosleep(&ts, NULL);
            }
        }
        while (!t_count && now_ns() - t0 <= 2 * limit) { /* its own limit after the log's */
            double v = poll_count(rp->h, rp->key);
            if (v >= 0 && v < before)
                t_count = now_ns();
        }
        if (!t_count)
            note("%s close: counter did not drop within %u ms", rst ? "RST" : "FIN",
                 2 * timeout_ms);
        out_count[ns] = t_count ? t_count - t0 : 2 * limit;
        if (rp->log) {
            if (!t_log)
                note("%s close: no '%s' log line within %u ms", rst ? "RST" : "FIN", rp->match,
                     timeout_ms);
            out_log[ns] = t_log ? t_log - t0 : limit;
        }
        ns++;
        settle(20);
    }
    return ns;
}

static void shutdown_phase(pid_t pid, unsigned timeout_s)
{
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pfd < 0) {
        note("pidfd_open(%d): %s", (int)pid, strerror(errno));
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = PIDFD_TAG};
    epoll_ctl(g.ep, EPOLL_CTL_ADD, pfd, &ev);
    unsigned open_before = g.alive;
    uint64_t eofs_before = g.eofs;
    g.pidfd_ready = false;
    uint64_t t0 = now_ns(), t_exit = 0;
    if (kill(pid, SIGTERM) < 0)
        die("kill(%d): %s", (int)pid, strerror(errno));
    uint64_t deadline = t0 + (uint64_t)timeout_s * NS_PER_SEC;
    while (now_ns() < deadline) {
        loop_once(ms_left(deadline));
        if (g.pidfd_ready && !t_exit)
            t_exit = now_ns();
        if (t_exit && g.alive == 0)
            break;
    }
    close(pfd);
    put("shutdown_streams_open", "%u", open_before);
    put("shutdown_streams_ended", "%" PRIu64, g.eofs - eofs_before);
    put("shutdown_streams_left", "%u", g.alive);
    if (g.eofs > eofs_before)
        put("shutdown_last_stream_end_ms", "%.3f", (double)(g.last_eof_ns - t0) / 1e6);
    if (t_exit)
        put("shutdown_exit_ms", "%.3f", (double)(t_exit - t0) / 1e6);
    else
        put("shutdown_exit_ms", "timeout");
}

/* ---- main -------------------------------------------------------------------------- */

static void raise_nofile(unsigned need)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < (rlim_t)need + 64)
        die("open-file limit %llu is below the %u streams asked for",
            (unsigned long long)rl.rlim_cur, need);
}

static int free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t al = sizeof(a);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) < 0)
        die("cannot find a free port: %s", strerror(errno));
    printf("%d\n", ntohs(a.sin_port));
    close(fd);
    return 0;
}

static void usage(void)
{
    fputs("usage: sseload --url URL -n N [--window W] [--rss-pid PID[,PID...]]\n"
          "               [--pub-url URL [--pub-json] [--paced L] [--interval-ms MS] [--burst M]]\n"
          "               [--count-url URL --count-key KEY [--aborts K] [--scrapes S]\n"
          "                [--release-log FILE --release-match TEXT]] [--term-pid PID]\n"
          "               [--settle-ms MS] [--timeout S]\n"
          "       sseload --free-port\n",
          stderr);
    exit(2);
}

static unsigned arg_uint(const char *s, const char *what)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || end == s || v > UINT32_MAX / 2)
        die("bad %s '%s'", what, s);
    return (unsigned)v;
}

int main(int argc, char **argv)
{
    const char *url = NULL, *pub_url = NULL, *count_url = NULL, *count_key = NULL;
    const char *release_log = NULL, *release_match = NULL;
    unsigned n = 0, window = 128, paced = 20, interval_ms = 50, burst = 100, aborts = 20;
    unsigned settle_ms = 500, timeout_s = 60, scrapes = 0;
    int rss_pid = 0;
    pid_t term_pid = 0;
    bool pub_json = false;
    static const struct option opts[] = {{"url", required_argument, NULL, 'u'},
                                         {"streams", required_argument, NULL, 'n'},
                                         {"window", required_argument, NULL, 'w'},
                                         {"rss-pid", required_argument, NULL, 'r'},
                                         {"pub-url", required_argument, NULL, 'p'},
                                         {"pub-json", no_argument, NULL, 'j'},
                                         {"paced", required_argument, NULL, 'L'},
                                         {"interval-ms", required_argument, NULL, 'i'},
                                         {"burst", required_argument, NULL, 'M'},
                                         {"count-url", required_argument, NULL, 'c'},
                                         {"count-key", required_argument, NULL, 'k'},
                                         {"aborts", required_argument, NULL, 'K'},
                                         {"scrapes", required_argument, NULL, 'S'},
                                         {"term-pid", required_argument, NULL, 't'},
                                         {"settle-ms", required_argument, NULL, 's'},
                                         {"timeout", required_argument, NULL, 'T'},
                                         {"free-port", no_argument, NULL, 'F'},
                                         {"release-log", required_argument, NULL, 'l'},
                                         {"release-match", required_argument, NULL, 'm'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "u:n:", opts, NULL)) != -1) {
        switch (o) {
        case 'u':
            url = optarg;
            break;
        case 'n':
            n = arg_uint(optarg, "stream count");
            break;
        case 'w':
            window = arg_uint(optarg, "window");
            break;
        case 'r':
            for (char *save = NULL, *tok = strtok_r(optarg, ",", &save); tok;
                 tok = strtok_r(NULL, ",", &save)) {
                if (nsrv_pids == MAX_PIDS)
                    die("--rss-pid: at most %d pids", MAX_PIDS);
                srv_pids[nsrv_pids++] = (pid_t)arg_uint(tok, "pid");
            }
            rss_pid = nsrv_pids > 0;
            break;
        case 'p':
            pub_url = optarg;
            break;
        case 'j':
            pub_json = true;
            break;
        case 'L':
            paced = arg_uint(optarg, "event count");
            break;
        case 'i':
            interval_ms = arg_uint(optarg, "interval");
            break;
        case 'M':
            burst = arg_uint(optarg, "event count");
            break;
        case 'c':
            count_url = optarg;
            break;
        case 'k':
            count_key = optarg;
            break;
        case 'K':
            aborts = arg_uint(optarg, "abort count");
            break;
        case 'S':
            scrapes = arg_uint(optarg, "scrape count");
            break;
        case 't':
            term_pid = (pid_t)arg_uint(optarg, "pid");
            break;
        case 's':
            settle_ms = arg_uint(optarg, "settle time");
            break;
        case 'T':
            timeout_s = arg_uint(optarg, "timeout");
            break;
        case 'F':
            return free_port();
        case 'l':
            release_log = optarg;
            break;
        case 'm':
            release_match = optarg;
            break;
        default:
            usage();
        }
    }
    if (!url || n == 0 || optind != argc || (count_url && !count_key) ||
        (release_log && !release_match) || window == 0)
        usage();
    signal(SIGPIPE, SIG_IGN);
    raise_nofile(n);
    url_parse(&g.sub, url);
    g.n = n;
    g.c = xcalloc(n, sizeof(*g.c));
    for (unsigned i = 0; i < n; i++)
        g.c[i].fd = -1;
    g.rbuf = xcalloc(1, RBUF_SIZE);
    g.connect_lat = xcalloc(n, sizeof(uint64_t));
    g.ep = epoll_create1(EPOLL_CLOEXEC);
    if (g.ep < 0)
        die("epoll_create1: %s", strerror(errno));
    uint64_t phase_ns = (uint64_t)timeout_s * NS_PER_SEC;

    /* 1. connect, with memory before, at N/10 and at N */
    put("streams_requested", "%u", n);
    long long rss0 = rss_pid ? sum_rss() : -1;
    unsigned tenth = n >= 10 ? n / 10 : 0;
    uint64_t t0 = now_ns(), tc_ns = 0;
    long long rss1 = -1;
    if (tenth) {
        connect_range(0, tenth, window, t0 + phase_ns);
        tc_ns = now_ns() - t0;
        settle(settle_ms);
        rss1 = rss_pid ? sum_rss() : -1;
    }
    uint64_t t1 = now_ns();
    connect_range(tenth, n, window, t1 + phase_ns);
    tc_ns += now_ns() - t1;
    settle(settle_ms);
    long long rss2 = rss_pid ? sum_rss() : -1;
    put("streams_open", "%u", g.alive);
    put("streams_failed", "%u", g.failed);
    put("connect_all_ms", "%.1f", (double)tc_ns / 1e6);
    put_pcts("connect", g.connect_lat, g.nconnect_lat);
    if (rss_pid) {
        put("rss_before_bytes", "%lld", rss0);
        put("rss_tenth_bytes", "%lld", rss1);
        put("rss_all_bytes", "%lld", rss2);
        if (tenth && rss1 > 0 && rss2 > 0 && g.alive > tenth)
            put("bytes_per_stream", "%.0f", (double)(rss2 - rss1) / (double)(g.alive - tenth));
        if (rss0 > 0 && rss2 > 0 && g.alive)
            put("bytes_per_stream_from_zero", "%.0f", (double)(rss2 - rss0) / (double)g.alive);
    }
    if (g.alive == 0)
        die("no stream could be opened");
    if (g.alive < n)
        note("only %u of %u streams opened", g.alive, n);

    /* 2 and 3: latency (paced) and fan-out (burst) */
    if (pub_url) {
        struct publisher *p = xcalloc(1, sizeof(*p));
        url_parse(&p->u, pub_url);
        p->json = pub_json;
        p->interval_ms = interval_ms;
        p->wait_ms = 5000;
        g.nkeys = paced + burst;
        g.delivered = xcalloc(g.nkeys, sizeof(*g.delivered));
        for (unsigned k = 0; k < g.nkeys; k++)
            atomic_init(&g.delivered[k], 0);
        size_t cap = (size_t)g.alive * (paced > burst ? paced : burst);
        g.samples = xcalloc(cap, sizeof(uint64_t));
        g.samples_cap = cap;

        if (paced) {
            publish_phase(p, 0, paced, true, now_ns() + phase_ns, 5000);
            put("paced_events", "%u", p->sent);
            put("paced_deliveries", "%" PRIu64, g.phase_marked);
            put_pcts("latency", g.samples, g.nsamples);
        }
        if (burst) {
            unsigned streams = g.alive;
            double cpu0 = cpu_seconds();
            double scpu0 = rss_pid ? sum_seconds(proc_cpu_seconds) : -1;
            double swait0 = rss_pid ? sum_seconds(proc_wait_seconds) : -1;
            publish_phase(p, paced, burst, false, now_ns() + phase_ns, 10000);
            uint64_t got = g.phase_marked;
            uint64_t end = g.last_delivery_ns > p->t_first ? g.last_delivery_ns : p->t_first + 1;
            double el = (double)(end - p->t_first) / 1e9;
            put("burst_streams", "%u", streams);
            put("burst_events", "%u", p->sent);
            put("burst_deliveries", "%" PRIu64, got);
            put("burst_deliveries_expected", "%" PRIu64, (uint64_t)streams * burst);
            put("burst_elapsed_ms", "%.1f", el * 1e3);
            put("burst_publish_ms", "%.1f", (double)(p->t_last - p->t_first) / 1e6);
            put("deliveries_per_s", "%.0f", (double)got / el);
            put("harness_cpu_pct", "%.0f", 100.0 * (cpu_seconds() - cpu0) / el);
            double scpu1 = rss_pid ? sum_seconds(proc_cpu_seconds) : -1;
            if (scpu0 >= 0 && scpu1 >= 0 && got) {
                /* Less sensitive to other load on the machine than deliveries per second. */
                put("server_cpu_pct", "%.0f", 100.0 * (scpu1 - scpu0) / el);
                put("server_cpu_us_per_delivery", "%.2f", (scpu1 - scpu0) * 1e6 / (double)got);
            }
            double swait1 = rss_pid ? sum_seconds(proc_wait_seconds) : -1;
            if (swait0 >= 0 && swait1 >= 0) /* how much other load held the server back */
                put("server_runqueue_wait_pct", "%.0f", 100.0 * (swait1 - swait0) / el);
            put_pcts("burst_latency", g.samples, g.nsamples);
        }
        free(g.samples);
        g.samples = NULL;
        g.samples_cap = 0;
        free(p);
    }
    settle(100);

    /* 3b. the cost of a scrape of the counter URL with every stream open: one request at a
     * time on one keep-alive connection, so each one's time is the server's work plus a
     * loopback round trip */
    if (count_url && scrapes) {
        struct url su;
        struct hclient *h = xcalloc(1, sizeof(*h));
        url_parse(&su, count_url);
        h->u = &su;
        h->fd = -1;
        uint64_t *st = xcalloc(scrapes, sizeof(uint64_t));
        size_t k = 0;
        static char body[1 << 20];
        for (unsigned i = 0; i < scrapes; i++) {
            uint64_t t = now_ns();
            if (hc_request(h, "GET", su.path, NULL, NULL, 0, body, sizeof(body)) != 200) {
                note("scrape %u of '%s' failed", i + 1, count_url);
                break;
            }
            st[k++] = now_ns() - t;
        }
        put("scrape_streams_open", "%u", g.alive);
        put_pcts("scrape", st, k);
        hc_close(h);
        free(h);
        free(st);
    }

    /* 4. release of one aborted idle stream among the others */
    if (count_url && aborts) {
        struct url cu;
        struct release_probe rp = {
            .key = count_key, .log = release_log, .match = release_match, .inotify = -1};
        if (release_log) {
            rp.inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
            if (rp.inotify >= 0 && inotify_add_watch(rp.inotify, release_log, IN_MODIFY) < 0) {
                note("inotify on '%s': %s", release_log, strerror(errno));
                close(rp.inotify);
                rp.inotify = -1;
            }
        }
        rp.h = xcalloc(1, sizeof(*rp.h));
        url_parse(&cu, count_url);
        rp.h->u = &cu;
        rp.h->fd = -1;
        uint64_t *sc = xcalloc(aborts, sizeof(uint64_t)), *sl = xcalloc(aborts, sizeof(uint64_t));
        unsigned cursor = n;
        put("release_streams_open", "%u", g.alive);
        for (int rst = 1; rst >= 0; rst--) {
            size_t k = release_phase(&rp, rst, aborts, &cursor, sc, sl, 2000);
            put_pcts(rst ? "release_rst" : "release_fin", sc, k);
            if (release_log)
                put_pcts(rst ? "release_log_rst" : "release_log_fin", sl, k);
        }
        hc_close(rp.h);
        free(rp.h);
        if (rp.inotify >= 0)
            close(rp.inotify);
        free(sc);
        free(sl);
    }

    /* 5. shutdown with every stream open */
    if (term_pid)
        shutdown_phase(term_pid, timeout_s);

    put("events_ids_seen", "%" PRIu64, g.ids);
    put("comments_seen", "%" PRIu64, g.comments);
    for (unsigned i = 0; i < n; i++)
        if (g.c[i].fd >= 0)
            conn_close(&g.c[i], true);
    close(g.ep);
    free(g.c);
    free(g.rbuf);
    free(g.connect_lat);
    free(g.delivered);
    return 0;
}
