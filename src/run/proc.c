/*
 * The /proc snapshot (see proc.h). One pass reads /proc/PID/stat of every
 * process to find the run's members; a second reads the descriptors of every
 * process, so the other holders of a pipe or the peer of a socket are found
 * even outside the run; a third reads the members in detail. All of it is
 * plain file reads: nothing is stopped or attached.
 *
 * Cost: O(processes + descriptors) on the whole machine, paid only when a run
 * hangs or leaks (a few milliseconds on a small machine, see bench/runner).
 */
#include "proc.h"

#include "node.h"

#include "../util/ft_buf.h"
#include "../util/ft_err.h"
#include "../util/ft_text.h"
#include "../util/ft_xalloc.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "../util/banned.h"

#define MAX_CMDLINE 4096
/* Other holders of a pipe listed in the JSON and in the text; all are counted. */
#define OTHERS_MAX      64
#define OTHERS_TEXT_MAX 4

/* ---- pure parsers ---------------------------------------------------------------------- */

int ft_proc_stat_parse(const char *text, struct ft_pstat *out)
{
    const char *lp = strchr(text, '(');
    const char *rp = strrchr(text, ')');
    memset(out, 0, sizeof(*out));
    if (!lp || !rp || rp < lp || rp[1] != ' ')
        return FT_EINVAL;
    char *end;
    long pid = strtol(text, &end, 10);
    if (end == text || pid <= 0)
        return FT_EINVAL;
    size_t n = (size_t)(rp - lp - 1);
    if (n >= sizeof(out->comm))
        n = sizeof(out->comm) - 1;
    memcpy(out->comm, lp + 1, n);
    out->comm[n] = '\0';
    int ppid, pgid, sid;
    long nthreads;
    unsigned long long start;
    char st;
    /* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
     * cutime cstime priority nice num_threads itrealvalue starttime */
    if (sscanf(rp + 2,
               "%c %d %d %d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %ld %*d %llu", &st,
               &ppid, &pgid, &sid, &nthreads, &start) != 6)
        return FT_EINVAL;
    out->pid = (pid_t)pid;
    out->ppid = ppid;
    out->pgid = pgid;
    out->sid = sid;
    out->state = st;
    out->nthreads = nthreads;
    out->start = start;
    return 0;
}

const char *ft_proc_tcp_state(int st, int udp)
{
    static const char *const names[] = {
        "UNKNOWN", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",    "TIME_WAIT",
        "CLOSE",   "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "CLOSING",   "NEW_SYN_RECV",
    };
    if (udp && st == 7)
        return "UNCONN";
    if (st < 0 || (size_t)st >= sizeof(names) / sizeof(names[0]))
        return "UNKNOWN";
    return names[st];
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Read 8 hex digits as the kernel printed a u32 with %08X. */
static int hex32(const char *s, uint32_t *v)
{
    uint32_t x = 0;
    for (int i = 0; i < 8; i++) {
        int h = hexval(s[i]);
        if (h < 0)
            return FT_EINVAL;
        x = (x << 4) | (uint32_t)h;
    }
    *v = x;
    return 0;
}

int ft_proc_addr_fmt(const char *hex, unsigned port, char *out, size_t n)
{
    size_t len = strspn(hex, "0123456789abcdefABCDEF");
    char ip[INET6_ADDRSTRLEN];
    if (len == 8) {
        /* The kernel prints the address word in host byte order: the bytes in memory are
         * the network-order address again. */
        struct in_addr a;
        uint32_t w;
        if (hex32(hex, &w))
            return FT_EINVAL;
        memcpy(&a.s_addr, &w, 4);
        if (!inet_ntop(AF_INET, &a, ip, sizeof(ip)))
            return FT_EINVAL;
        snprintf(out, n, "%s:%u", ip, port);
        return 0;
    }
    if (len == 32) {
        struct in6_addr a;
        for (int i = 0; i < 4; i++) {
            uint32_t w;
            if (hex32(hex + 8 * i, &w))
                return FT_EINVAL;
            memcpy(&a.s6_addr[4 * i], &w, 4);
        }
        if (!inet_ntop(AF_INET6, &a, ip, sizeof(ip)))
            return FT_EINVAL;
        snprintf(out, n, "[%s]:%u", ip, port);
        return 0;
    }
    return FT_EINVAL;
}

int ft_proc_inet_parse(const char *line, int udp, struct ft_sock *out)
{
    char lhex[40], rhex[40];
    unsigned lport, rport, st;
    uint64_t inode;
    memset(out, 0, sizeof(*out));
    /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
    if (sscanf(line,
               " %*u: %39[0-9A-Fa-f]:%x %39[0-9A-Fa-f]:%x %x %*x:%*x %*x:%*x %*x %*u %*d %" SCNu64,
               lhex, &lport, rhex, &rport, &st, &inode) != 6)
        return FT_EINVAL;
    if (lport > 65535 || rport > 65535)
        return FT_EINVAL;
    if (ft_proc_addr_fmt(lhex, lport, out->local, sizeof(out->local)) ||
        ft_proc_addr_fmt(rhex, rport, out->remote, sizeof(out->remote)))
        return FT_EINVAL;
    int v6 = strlen(lhex) == 32;
    snprintf(out->proto, sizeof(out->proto), "%s%s", udp ? "udp" : "tcp", v6 ? "6" : "");
    snprintf(out->state, sizeof(out->state), "%s", ft_proc_tcp_state((int)st, udp));
    out->inode = inode;
    return 0;
}

int ft_proc_unix_parse(const char *line, struct ft_sock *out)
{
    unsigned flags, type, st;
    uint64_t inode;
    int pos = 0;
    memset(out, 0, sizeof(*out));
    /* Num: RefCount Protocol Flags Type St Inode [Path] */
    if (sscanf(line, " %*x: %*x %*x %x %x %x %" SCNu64 "%n", &flags, &type, &st, &inode, &pos) != 4)
        return FT_EINVAL;
    const char *p = line + pos;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strcspn(p, "\r\n");
    if (n >= sizeof(out->path))
        n = sizeof(out->path) - 1;
    memcpy(out->path, p, n);
    out->path[n] = '\0';
    const char *tname = type == 1 ? "stream" : type == 2 ? "dgram" : type == 5 ? "seqpacket" : "";
    snprintf(out->proto, sizeof(out->proto), "unix");
    snprintf(out->local, sizeof(out->local), "%s", tname);
    /* __SO_ACCEPTCON (0x10000): a listening socket. */
    if (flags & 0x10000)
        snprintf(out->state, sizeof(out->state), "LISTEN");
    else
        snprintf(out->state, sizeof(out->state), "%s",
                 st == 1   ? "UNCONNECTED"
                 : st == 2 ? "CONNECTING"
                 : st == 3 ? "CONNECTED"
                 : st == 4 ? "DISCONNECTING"
                           : "UNKNOWN");
    out->inode = inode;
    return 0;
}

int ft_proc_syscall_parse(const char *text, long *nr, unsigned long long args[6])
{
    char *end;
    errno = 0;
    long n = strtol(text, &end, 10);
    if (end == text || n < 0 || errno)
        return FT_EINVAL;
    for (int i = 0; i < 6; i++) {
        const char *p = end;
        while (*p == ' ')
            p++;
        if (strncmp(p, "0x", 2) != 0)
            return FT_EINVAL;
        args[i] = strtoull(p, &end, 16);
        if (end == p)
            return FT_EINVAL;
    }
    *nr = n;
    return 0;
}

int ft_proc_wait_timeout(long nr, const unsigned long long args[6], int *ms)
{
    int k = -1;
#ifdef SYS_epoll_wait
    if (nr == SYS_epoll_wait)
        k = 3;
#endif
#ifdef SYS_epoll_pwait
    if (nr == SYS_epoll_pwait)
        k = 3;
#endif
#ifdef SYS_poll
    if (nr == SYS_poll)
        k = 2;
#endif
    if (k < 0)
        return FT_EINVAL;
    /* An int in a 64-bit register: the kernel reads the low 32 bits, whatever the caller left
     * in the upper ones (sign-extended or not). */
    int32_t v = (int32_t)(uint32_t)(args[k] & 0xffffffffu);
    *ms = v < 0 ? -1 : (int)v;
    return 0;
}

/* ---- socket table ---------------------------------------------------------------------- */

static int sock_cmp(const void *a, const void *b)
{
    const struct ft_sock *x = a, *y = b;
    return x->inode < y->inode ? -1 : x->inode > y->inode;
}

static void socktab_file(struct ft_socktab *t, const char *path, int kind)
{
    FILE *f = fopen(path, "re");
    char line[512];
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        struct ft_sock s;
        int rc = kind == 2 ? ft_proc_unix_parse(line, &s) : ft_proc_inet_parse(line, kind, &s);
        if (rc || s.inode == 0)
            continue;
        ft_xgrow((void **)&t->v, &t->cap, t->n + 1, sizeof(*t->v));
        t->v[t->n++] = s;
    }
    fclose(f);
}

static void sock_addr(int family, const uint32_t *addr, uint16_t port_be, char *out, size_t n)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    inet_ntop(family, addr, ip, sizeof(ip));
    snprintf(out, n, family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, (unsigned)ntohs(port_be));
}

/*
 * The sockets of one family and protocol through NETLINK_SOCK_DIAG: the same
 * facts as /proc/net/tcp, in binary, and without the TIME_WAIT sockets (which
 * hold no inode); on a machine with tens of thousands of connections this is
 * an order of magnitude faster than reading the text. 0, or -1 when the kernel
 * does not answer (the caller then reads /proc/net).
 */

/* NLMSG_OK and NLMSG_NEXT with unsigned sizes: the macros compare a u32 with an int. */
static int nl_ok(const struct nlmsghdr *h, size_t left)
{
    return left >= sizeof(*h) && h->nlmsg_len >= sizeof(*h) && h->nlmsg_len <= left;
}

static struct nlmsghdr *nl_next(struct nlmsghdr *h, size_t *left)
{
    size_t step = NLMSG_ALIGN(h->nlmsg_len);
    *left = step < *left ? *left - step : 0;
    return (struct nlmsghdr *)((char *)h + step);
}

/*
 * Send one SOCK_DIAG_BY_FAMILY dump request and hand every answer message to
 * each(). 0 when the dump completed, -1 when the kernel did not answer it.
 */
static int diag_dump(void *req, size_t len, void (*each)(const struct nlmsghdr *, void *), void *u)
{
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0)
        return -1;
    struct nlmsghdr *nlh = req;
    nlh->nlmsg_len = (uint32_t)len;
    nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    struct sockaddr_nl nl;
    memset(&nl, 0, sizeof(nl));
    nl.nl_family = AF_NETLINK;
    int rc = -1;
    char *buf = ft_xmalloc(BUFSIZ * 8); /* malloc'd: aligned for the netlink headers */
    if (sendto(fd, req, len, 0, (struct sockaddr *)&nl, sizeof(nl)) < 0)
        goto out;
    for (;;) {
        ssize_t got = recv(fd, buf, BUFSIZ * 8, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            goto out;
        size_t left = (size_t)got;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; nl_ok(h, left); h = nl_next(h, &left)) {
            if (h->nlmsg_type == NLMSG_DONE) {
                rc = 0;
                goto out;
            }
            if (h->nlmsg_type == NLMSG_ERROR)
                goto out;
            each(h, u);
        }
    }
out:
    free(buf);
    close(fd);
    return rc;
}

/* NLMSG_DATA without casting const away. */
static const void *nl_data(const struct nlmsghdr *h)
{
    return (const char *)h + NLMSG_HDRLEN;
}

struct inet_dump {
    struct ft_socktab *t;
    int family, proto;
};

static void inet_diag_one(const struct nlmsghdr *h, void *u)
{
    const struct inet_dump *d = u;
    const struct inet_diag_msg *m = nl_data(h);
    if (m->idiag_inode == 0)
        return;
    struct ft_sock s;
    memset(&s, 0, sizeof(s));
    s.inode = m->idiag_inode;
    int udp = d->proto == IPPROTO_UDP;
    snprintf(s.proto, sizeof(s.proto), "%s%s", udp ? "udp" : "tcp",
             d->family == AF_INET6 ? "6" : "");
    snprintf(s.state, sizeof(s.state), "%s", ft_proc_tcp_state(m->idiag_state, udp));
    sock_addr(d->family, m->id.idiag_src, m->id.idiag_sport, s.local, sizeof(s.local));
    sock_addr(d->family, m->id.idiag_dst, m->id.idiag_dport, s.remote, sizeof(s.remote));
    ft_xgrow((void **)&d->t->v, &d->t->cap, d->t->n + 1, sizeof(*d->t->v));
    d->t->v[d->t->n++] = s;
}

static int socktab_diag(struct ft_socktab *t, int family, int proto)
{
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 r;
    } req;
    memset(&req, 0, sizeof(req));
    req.r.sdiag_family = (uint8_t)family;
    req.r.sdiag_protocol = (uint8_t)proto;
    req.r.idiag_states = ~(1U << TCP_TIME_WAIT);
    struct inet_dump d = {t, family, proto};
    return diag_dump(&req, sizeof(req), inet_diag_one, &d);
}

/* A unix socket's peer, from its UNIX_DIAG_PEER attribute, set on the table's entry. */
static void unix_diag_one(const struct nlmsghdr *h, void *u)
{
    struct ft_socktab *t = u;
    const struct unix_diag_msg *m = nl_data(h);
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
        return;
    /* the attributes follow the message, each a struct nlattr and its payload, aligned */
    const char *p = (const char *)nl_data(h) + NLMSG_ALIGN(sizeof(*m));
    size_t left = h->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(*m)));
    while (left >= sizeof(struct nlattr)) {
        struct nlattr a;
        memcpy(&a, p, sizeof(a));
        if (a.nla_len < sizeof(a) || a.nla_len > left)
            return;
        if (a.nla_type == UNIX_DIAG_PEER && a.nla_len >= sizeof(a) + sizeof(uint32_t)) {
            uint32_t peer;
            memcpy(&peer, p + sizeof(a), sizeof(peer));
            struct ft_sock key = {.inode = m->udiag_ino};
            struct ft_sock *s = t->n ? bsearch(&key, t->v, t->n, sizeof(*t->v), sock_cmp) : NULL;
            if (s && strcmp(s->proto, "unix") == 0)
                s->peer = peer;
            return;
        }
        size_t step = NLA_ALIGN(a.nla_len);
        if (step >= left)
            return;
        p += step;
        left -= step;
    }
}

static void socktab_unix_peers(struct ft_socktab *t)
{
    struct {
        struct nlmsghdr nlh;
        struct unix_diag_req r;
    } req;
    memset(&req, 0, sizeof(req));
    req.r.sdiag_family = AF_UNIX;
    req.r.udiag_states = ~0U;
    req.r.udiag_show = UDIAG_SHOW_PEER;
    diag_dump(&req, sizeof(req), unix_diag_one, t); /* no answer: peers stay unknown */
}

void ft_socktab_load(struct ft_socktab *t)
{
    static const struct {
        int family, proto;
        const char *path;
    } inet[] = {
        {AF_INET, IPPROTO_TCP, "/proc/net/tcp"},
        {AF_INET6, IPPROTO_TCP, "/proc/net/tcp6"},
        {AF_INET, IPPROTO_UDP, "/proc/net/udp"},
        {AF_INET6, IPPROTO_UDP, "/proc/net/udp6"},
    };
    memset(t, 0, sizeof(*t));
    for (size_t i = 0; i < sizeof(inet) / sizeof(inet[0]); i++) {
        size_t before = t->n;
        if (socktab_diag(t, inet[i].family, inet[i].proto) != 0) {
            t->n = before; /* a partial answer: take the text instead */
            socktab_file(t, inet[i].path, inet[i].proto == IPPROTO_UDP);
        }
    }
    socktab_file(t, "/proc/net/unix", 2);
    if (t->n)
        qsort(t->v, t->n, sizeof(*t->v), sock_cmp);
    socktab_unix_peers(t);
}

const struct ft_sock *ft_socktab_find(const struct ft_socktab *t, uint64_t inode)
{
    struct ft_sock key;
    key.inode = inode;
    if (!t->n)
        return NULL;
    return bsearch(&key, t->v, t->n, sizeof(*t->v), sock_cmp);
}

void ft_socktab_release(struct ft_socktab *t)
{
    if (!t)
        return;
    free(t->v);
    memset(t, 0, sizeof(*t));
}

int ft_proc_lock_parse(const char *line, struct ft_lock *out)
{
    /* "1: FLOCK  ADVISORY  WRITE 11497 fe:00:10953522 0 EOF", waiters "1: -> FLOCK ..." */
    char adv[16];
    int pid;
    unsigned long long ino;
    memset(out, 0, sizeof(*out));
    const char *p = strchr(line, ':');
    if (!p)
        return FT_EINVAL;
    p += 1 + strspn(p + 1, " ");
    if (strncmp(p, "->", 2) == 0) {
        out->waiter = 1;
        p += 2;
    }
    if (sscanf(p, " %7s %15s %7s %d %x:%x:%llu", out->kind, adv, out->mode, &pid, &out->major,
               &out->minor, &ino) != 7)
        return FT_EINVAL;
    out->pid = pid;
    out->inode = ino;
    return 0;
}

/* ---- system calls -------------------------------------------------------------------- */

/* fdarg: the first argument is a descriptor. */
static const struct {
    long nr;
    const char *name;
    int fdarg;
} syscalls[] = {
#ifdef SYS_read
    {SYS_read, "read", 1},
#endif
#ifdef SYS_write
    {SYS_write, "write", 1},
#endif
#ifdef SYS_readv
    {SYS_readv, "readv", 1},
#endif
#ifdef SYS_writev
    {SYS_writev, "writev", 1},
#endif
#ifdef SYS_pread64
    {SYS_pread64, "pread64", 1},
#endif
#ifdef SYS_recvfrom
    {SYS_recvfrom, "recvfrom", 1},
#endif
#ifdef SYS_recvmsg
    {SYS_recvmsg, "recvmsg", 1},
#endif
#ifdef SYS_sendto
    {SYS_sendto, "sendto", 1},
#endif
#ifdef SYS_sendmsg
    {SYS_sendmsg, "sendmsg", 1},
#endif
#ifdef SYS_accept
    {SYS_accept, "accept", 1},
#endif
#ifdef SYS_accept4
    {SYS_accept4, "accept4", 1},
#endif
#ifdef SYS_connect
    {SYS_connect, "connect", 1},
#endif
#ifdef SYS_flock
    {SYS_flock, "flock", 1},
#endif
#ifdef SYS_fcntl
    {SYS_fcntl, "fcntl", 1},
#endif
#ifdef SYS_fsync
    {SYS_fsync, "fsync", 1},
#endif
#ifdef SYS_epoll_wait
    {SYS_epoll_wait, "epoll_wait", 1},
#endif
#ifdef SYS_epoll_pwait
    {SYS_epoll_pwait, "epoll_pwait", 1},
#endif
#ifdef SYS_poll
    {SYS_poll, "poll", 0},
#endif
#ifdef SYS_ppoll
    {SYS_ppoll, "ppoll", 0},
#endif
#ifdef SYS_select
    {SYS_select, "select", 0},
#endif
#ifdef SYS_pselect6
    {SYS_pselect6, "pselect6", 0},
#endif
#ifdef SYS_futex
    {SYS_futex, "futex", 0},
#endif
#ifdef SYS_wait4
    {SYS_wait4, "wait4", 0},
#endif
#ifdef SYS_waitid
    {SYS_waitid, "waitid", 0},
#endif
#ifdef SYS_nanosleep
    {SYS_nanosleep, "nanosleep", 0},
#endif
#ifdef SYS_clock_nanosleep
    {SYS_clock_nanosleep, "clock_nanosleep", 0},
#endif
#ifdef SYS_pause
    {SYS_pause, "pause", 0},
#endif
#ifdef SYS_rt_sigsuspend
    {SYS_rt_sigsuspend, "rt_sigsuspend", 0},
#endif
#ifdef SYS_rt_sigtimedwait
    {SYS_rt_sigtimedwait, "rt_sigtimedwait", 0},
#endif
#ifdef SYS_openat
    {SYS_openat, "openat", 0},
#endif
#ifdef SYS_open
    {SYS_open, "open", 0},
#endif
#ifdef SYS_openat2
    {SYS_openat2, "openat2", 0},
#endif
#ifdef SYS_stat
    {SYS_stat, "stat", 0},
#endif
#ifdef SYS_lstat
    {SYS_lstat, "lstat", 0},
#endif
#ifdef SYS_newfstatat
    {SYS_newfstatat, "newfstatat", 0},
#endif
#ifdef SYS_statx
    {SYS_statx, "statx", 0},
#endif
#ifdef SYS_access
    {SYS_access, "access", 0},
#endif
#ifdef SYS_faccessat
    {SYS_faccessat, "faccessat", 0},
#endif
#ifdef SYS_faccessat2
    {SYS_faccessat2, "faccessat2", 0},
#endif
#ifdef SYS_readlink
    {SYS_readlink, "readlink", 0},
#endif
#ifdef SYS_readlinkat
    {SYS_readlinkat, "readlinkat", 0},
#endif
#ifdef SYS_statfs
    {SYS_statfs, "statfs", 0},
#endif
#ifdef SYS_execve
    {SYS_execve, "execve", 0},
#endif
#ifdef SYS_mkdir
    {SYS_mkdir, "mkdir", 0},
#endif
#ifdef SYS_mkdirat
    {SYS_mkdirat, "mkdirat", 0},
#endif
#ifdef SYS_unlink
    {SYS_unlink, "unlink", 0},
#endif
#ifdef SYS_unlinkat
    {SYS_unlinkat, "unlinkat", 0},
#endif
#ifdef SYS_rename
    {SYS_rename, "rename", 0},
#endif
#ifdef SYS_renameat2
    {SYS_renameat2, "renameat2", 0},
#endif
#ifdef SYS_chdir
    {SYS_chdir, "chdir", 0},
#endif
};

static json_t *json_str(const char *s);

/*
 * Which argument of a system call is a path (0-based), or -1: the calls a thread can block in
 * on a path (a FIFO's open; any of them on a network or FUSE file system that does not
 * answer, in state D).
 */
int ft_proc_syscall_patharg(long nr)
{
    static const struct {
        long nr;
        int arg;
    } calls[] = {
#ifdef SYS_open
        {SYS_open, 0},
#endif
#ifdef SYS_openat
        {SYS_openat, 1},
#endif
#ifdef SYS_openat2
        {SYS_openat2, 1},
#endif
#ifdef SYS_stat
        {SYS_stat, 0},
#endif
#ifdef SYS_lstat
        {SYS_lstat, 0},
#endif
#ifdef SYS_newfstatat
        {SYS_newfstatat, 1},
#endif
#ifdef SYS_statx
        {SYS_statx, 1},
#endif
#ifdef SYS_access
        {SYS_access, 0},
#endif
#ifdef SYS_faccessat
        {SYS_faccessat, 1},
#endif
#ifdef SYS_faccessat2
        {SYS_faccessat2, 1},
#endif
#ifdef SYS_readlink
        {SYS_readlink, 0},
#endif
#ifdef SYS_readlinkat
        {SYS_readlinkat, 1},
#endif
#ifdef SYS_statfs
        {SYS_statfs, 0},
#endif
#ifdef SYS_execve
        {SYS_execve, 0},
#endif
#ifdef SYS_mkdir
        {SYS_mkdir, 0},
#endif
#ifdef SYS_mkdirat
        {SYS_mkdirat, 1},
#endif
#ifdef SYS_unlink
        {SYS_unlink, 0},
#endif
#ifdef SYS_unlinkat
        {SYS_unlinkat, 1},
#endif
#ifdef SYS_rename
        {SYS_rename, 0},
#endif
#ifdef SYS_renameat2
        {SYS_renameat2, 1},
#endif
#ifdef SYS_chdir
        {SYS_chdir, 0},
#endif
    };
    for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
        if (calls[i].nr == nr)
            return calls[i].arg;
    return -1;
}

/* The NUL-terminated string at addr in pid's memory, into out; 0 when read. */
/* Up to n bytes at addr in pid's memory (a read: nothing is stopped). Bytes read, or -1. */
static ssize_t mem_read(pid_t pid, unsigned long long addr, void *out, size_t n)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t got = pread(fd, out, n, (off_t)addr);
    close(fd);
    return got;
}

static int mem_string(pid_t pid, unsigned long long addr, char *out, size_t n)
{
    ssize_t got = mem_read(pid, addr, out, n - 1);
    if (got <= 0)
        return -1;
    out[got] = '\0';
    return memchr(out, '\0', (size_t)got) ? 0 : -1;
}

/* A thread blocked in poll/ppoll: the descriptors it polls, each as what it is. */
static void blocked_poll(json_t *th, pid_t pid, long nr, const unsigned long long *args,
                         json_t *fds)
{
    int is_poll = 0;
#ifdef SYS_poll
    is_poll |= nr == SYS_poll;
#endif
#ifdef SYS_ppoll
    is_poll |= nr == SYS_ppoll;
#endif
    if (!is_poll || args[1] == 0 || args[1] > 4096)
        return;
    struct {
        int fd;
        short events, revents;
    } pf[64];
    size_t want = args[1] < 64 ? (size_t)args[1] : 64;
    char desc[1024];
    ssize_t got = mem_read(pid, args[0], pf, want * sizeof(pf[0]));
    if (got < (ssize_t)sizeof(pf[0]))
        return;
    size_t n = (size_t)got / sizeof(pf[0]), len = 0;
    json_t *list = json_array();
    len += (size_t)snprintf(desc, sizeof(desc), "poll on %llu: ", args[1]);
    for (size_t i = 0; i < n; i++) {
        const char *what = "?";
        size_t j;
        json_t *g;
        json_array_append_new(list, json_integer(pf[i].fd));
        json_array_foreach(fds, j, g) if (json_integer_value(json_object_get(g, "fd")) == pf[i].fd)
        {
            what = json_string_value(json_object_get(g, "desc"));
            break;
        }
        if (len < sizeof(desc))
            len += (size_t)snprintf(desc + len, sizeof(desc) - len, "%sfd %d = %.160s",
                                    i ? "; " : "", pf[i].fd, what ? what : "?");
    }
    json_object_set_new(th, "poll_fds", list);
    json_object_set_new(th, "waits_on", json_str(desc));
}

/*
 * A thread blocked opening a path: the path, and when it is a FIFO, what the open waits for
 * (an open for reading waits for a writer, one for writing for a reader).
 */
static void blocked_open(json_t *th, pid_t pid, long nr, const unsigned long long *args)
{
    int k = ft_proc_syscall_patharg(nr);
    char p[1024];
    struct stat sb;
    if (k < 0 || mem_string(pid, args[k], p, sizeof(p)) != 0)
        return;
    json_object_set_new(th, "path", json_str(p));
    int is_open = 0;
#ifdef SYS_open
    is_open |= nr == SYS_open;
#endif
#ifdef SYS_openat
    is_open |= nr == SYS_openat;
#endif
    if (is_open && p[0] == '/' && stat(p, &sb) == 0 && S_ISFIFO(sb.st_mode)) {
        int acc = (int)(args[k + 1] & O_ACCMODE);
        char desc[1200];
        snprintf(desc, sizeof(desc), "FIFO %s (the open for %s waits for a %s)", p,
                 acc == O_RDONLY ? "reading" : "writing", acc == O_RDONLY ? "writer" : "reader");
        json_object_set_new(th, "waits_on", json_str(desc));
    }
}

/*
 * The address a connect() is for, from its sockaddr in the process's memory: "a.b.c.d:port",
 * "[v6]:port", a unix path or "@name" (abstract). Read because a socket that is still
 * connecting may have no remote address in the tables yet (a unix socket never has one until
 * it connects). 0 when decoded.
 */
int ft_proc_sockaddr_fmt(const void *sa, size_t len, char *out, size_t n)
{
    sa_family_t fam;
    if (len < sizeof(fam))
        return FT_EINVAL;
    memcpy(&fam, sa, sizeof(fam));
    if (fam == AF_INET && len >= sizeof(struct sockaddr_in)) {
        struct sockaddr_in in;
        memcpy(&in, sa, sizeof(in));
        sock_addr(AF_INET, &in.sin_addr.s_addr, in.sin_port, out, n);
        return 0;
    }
    if (fam == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 in6;
        uint32_t a[4];
        memcpy(&in6, sa, sizeof(in6));
        memcpy(a, &in6.sin6_addr, sizeof(a));
        sock_addr(AF_INET6, a, in6.sin6_port, out, n);
        return 0;
    }
    if (fam == AF_UNIX && len > sizeof(fam)) {
        const char *path = (const char *)sa + sizeof(fam);
        size_t plen = len - sizeof(fam);
        if (plen > 108)
            plen = 108;
        if (path[0] == '\0') /* abstract: the name is every byte after the NUL */
            snprintf(out, n, "@%.*s", (int)(plen - 1), path + 1);
        else
            snprintf(out, n, "%.*s", (int)strnlen(path, plen), path);
        return 0;
    }
    return FT_EINVAL;
}

/*
 * A thread blocked in epoll_wait, epoll_pwait or poll: its timeout ("timeout_ms", -1 for none).
 * In an event loop (libuv, and so Node.js) it is the time to the next timer when the wait
 * began. The line is parsed again for all six arguments (the caller reads three).
 */
static void blocked_timeout(json_t *th, const char *text)
{
    long nr;
    unsigned long long args[6];
    int ms;
    if (ft_proc_syscall_parse(text, &nr, args) == 0 && ft_proc_wait_timeout(nr, args, &ms) == 0)
        json_object_set_new(th, "timeout_ms", json_integer(ms));
}

static int syscall_fdarg(long nr)
{
    for (size_t i = 0; i < sizeof(syscalls) / sizeof(syscalls[0]); i++)
        if (syscalls[i].nr == nr)
            return syscalls[i].fdarg;
    return 0;
}

const char *ft_proc_syscall_name(long nr)
{
    for (size_t i = 0; i < sizeof(syscalls) / sizeof(syscalls[0]); i++)
        if (syscalls[i].nr == nr)
            return syscalls[i].name;
    return NULL;
}

/* ---- reading /proc ------------------------------------------------------------------- */

/* Read a small file into buf (NUL-terminated). Returns the length, or -1. */
static ssize_t slurp(const char *path, char *buf, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t len = 0;
    while (len + 1 < n) {
        ssize_t r = read(fd, buf + len, n - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    return (ssize_t)len;
}

int ft_proc_stat_read(pid_t pid, pid_t tid, struct ft_pstat *out)
{
    char path[64], buf[1024];
    if (tid > 0)
        snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    else
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (slurp(path, buf, sizeof(buf)) <= 0)
        return FT_ENOTFOUND;
    return ft_proc_stat_parse(buf, out);
}

size_t ft_proc_cmdline(pid_t pid, char *out, size_t n)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    ssize_t len = slurp(path, out, n);
    if (len < 0)
        len = 0;
    while (len > 0 && out[len - 1] == '\0')
        len--;
    for (ssize_t i = 0; i < len; i++)
        if (out[i] == '\0')
            out[i] = ' ';
    out[len] = '\0';
    return (size_t)len;
}

static int is_pid_name(const char *s)
{
    return *s && strspn(s, "0123456789") == strlen(s);
}

struct pent {
    struct ft_pstat st;
    int depth;  /* generations below the runner; -1 = not a descendant */
    int member; /* part of the run */
};

struct ptab {
    struct pent *v;
    size_t n, cap;
};

static int pent_cmp(const void *a, const void *b)
{
    const struct pent *x = a, *y = b;
    return (x->st.pid > y->st.pid) - (x->st.pid < y->st.pid);
}

static struct pent *ptab_find(struct ptab *t, pid_t pid)
{
    struct pent key;
    key.st.pid = pid;
    if (!t->n)
        return NULL;
    return bsearch(&key, t->v, t->n, sizeof(*t->v), pent_cmp);
}

/* Read every process's stat and mark the run's members. */
/* pid is one of the roots the caller named (flowtrack diagnose). */
static int is_root(const struct ft_snap_opts *o, pid_t pid)
{
    for (size_t i = 0; i < o->nroots; i++)
        if (o->roots[i] == pid)
            return 1;
    return 0;
}

static void ptab_load(struct ptab *t, const struct ft_snap_opts *o)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    memset(t, 0, sizeof(*t));
    if (!d)
        return;
    while ((de = readdir(d))) {
        char path[64], buf[1024];
        if (!is_pid_name(de->d_name))
            continue;
        snprintf(path, sizeof(path), "/proc/%.32s/stat", de->d_name);
        if (slurp(path, buf, sizeof(buf)) <= 0)
            continue;
        struct pent e;
        memset(&e, 0, sizeof(e));
        if (ft_proc_stat_parse(buf, &e.st))
            continue;
        ft_xgrow((void **)&t->v, &t->cap, t->n + 1, sizeof(*t->v));
        t->v[t->n++] = e;
    }
    closedir(d);
    qsort(t->v, t->n, sizeof(*t->v), pent_cmp);
    for (size_t i = 0; i < t->n; i++) {
        struct pent *e = &t->v[i];
        e->depth = -1;
        if (e->st.pid == o->runner)
            continue;
        /* Walk up the parents; a chain longer than 128 is not a real tree. */
        pid_t p = e->st.ppid;
        int rooted = is_root(o, e->st.pid);
        for (int depth = 1; depth < 128 && p > 1; depth++) {
            if (p == o->runner) {
                e->depth = depth;
                break;
            }
            rooted |= is_root(o, p);
            struct pent *up = ptab_find(t, p);
            if (!up)
                break;
            p = up->st.ppid;
        }
        e->member = e->depth > 0 || (o->sid > 0 && e->st.sid == o->sid) || rooted;
    }
}

size_t ft_proc_members(const struct ft_snap_opts *o, struct ft_member **out)
{
    struct ptab t;
    size_t n = 0, cap = 0;
    *out = NULL;
    ptab_load(&t, o);
    for (size_t i = 0; i < t.n; i++) {
        if (!t.v[i].member || t.v[i].st.state == 'Z' || t.v[i].st.state == 'X')
            continue;
        ft_xgrow((void **)out, &cap, n + 1, sizeof(**out));
        (*out)[n].pid = t.v[i].st.pid;
        (*out)[n++].start = t.v[i].st.start;
    }
    free(t.v);
    return n;
}

int ft_proc_signal(const struct ft_member *m, int sig)
{
    struct ft_pstat ps;
#ifdef SYS_pidfd_open
    int pfd = (int)syscall(SYS_pidfd_open, m->pid, 0);
    if (pfd < 0 && errno != ENOSYS)
        return -1; /* gone */
#else
    int pfd = -1;
#endif
    /* With the pidfd held, the pid cannot be reused: the start time read now is the one of
     * the process the pidfd pins. */
    int same = ft_proc_stat_read(m->pid, 0, &ps) == 0 && ps.start == m->start;
    int rc = -1;
    if (same) {
#ifdef SYS_pidfd_send_signal
        if (pfd >= 0)
            rc = (int)syscall(SYS_pidfd_send_signal, pfd, sig, NULL, 0);
        else
#endif
            rc = kill(m->pid, sig); /* no pidfds: a tiny window remains */
    }
    if (pfd >= 0)
        close(pfd);
    return rc == 0 ? 0 : -1;
}

/* A descriptor of any process that refers to a pipe or a socket. */
struct holder {
    pid_t pid;
    int fd;
    uint64_t inode;
    int sock;        /* 1 socket, 0 pipe */
    const char *end; /* pipe end, read from fdinfo on first use */
};

struct htab {
    struct holder *v;
    size_t n, cap;
};

/* "pipe:[123]" -> 0 and inode 123, kind 0; "socket:[5]" -> kind 1. */
static int link_inode(const char *target, uint64_t *inode, int *sock)
{
    const char *p;
    if (strncmp(target, "pipe:[", 6) == 0) {
        p = target + 6;
        *sock = 0;
    } else if (strncmp(target, "socket:[", 8) == 0) {
        p = target + 8;
        *sock = 1;
    } else {
        return -1;
    }
    char *end;
    unsigned long long v = strtoull(p, &end, 10);
    if (*end != ']')
        return -1;
    *inode = v;
    return 0;
}

static void htab_load(struct htab *h, const struct ptab *t, pid_t runner)
{
    memset(h, 0, sizeof(*h));
    for (size_t i = 0; i < t->n; i++) {
        pid_t pid = t->v[i].st.pid;
        char path[64];
        if (pid == runner)
            continue;
        snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
        DIR *d = opendir(path);
        struct dirent *de;
        if (!d)
            continue;
        while ((de = readdir(d))) {
            char lpath[96], target[128];
            if (!is_pid_name(de->d_name))
                continue;
            snprintf(lpath, sizeof(lpath), "/proc/%d/fd/%.32s", (int)pid, de->d_name);
            ssize_t n = readlink(lpath, target, sizeof(target) - 1);
            if (n <= 0)
                continue;
            target[n] = '\0';
            uint64_t ino;
            int sock;
            if (link_inode(target, &ino, &sock))
                continue;
            ft_xgrow((void **)&h->v, &h->cap, h->n + 1, sizeof(*h->v));
            h->v[h->n++] = (struct holder){pid, (int)strtol(de->d_name, NULL, 10), ino, sock, NULL};
        }
        closedir(d);
    }
}

/* Which end of a pipe a descriptor is: from the open flags in fdinfo. */
static const char *pipe_end(pid_t pid, int fd)
{
    char path[96], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
    if (slurp(path, buf, sizeof(buf)) <= 0)
        return "unknown";
    const char *f = strstr(buf, "flags:");
    if (!f)
        return "unknown";
    unsigned long flags = strtoul(f + 6, NULL, 8);
    switch (flags & O_ACCMODE) {
    case O_RDONLY:
        return "read";
    case O_WRONLY:
        return "write";
    default:
        return "read-write";
    }
}

static const char *comm_of(struct ptab *t, pid_t pid)
{
    struct pent *e = ptab_find(t, pid);
    return e ? e->st.comm : "?";
}

/* Text of a file as a JSON string made valid UTF-8 (NULs as spaces for cmdline). */
static json_t *json_text(const char *s, size_t n)
{
    struct ft_buf b;
    ft_buf_init(&b, 0);
    size_t i = 0;
    while (i < n) {
        size_t bad;
        if (ft_utf8_valid(s + i, n - i, &bad)) {
            ft_buf_add(&b, s + i, n - i);
            break;
        }
        ft_buf_add(&b, s + i, bad);
        ft_buf_adds(&b, "\xef\xbf\xbd");
        i += bad + 1;
    }
    json_t *j = json_stringn(b.buf, b.len);
    ft_buf_release(&b);
    return j ? j : json_string("");
}

/* The pid tracing pid (TracerPid of /proc/PID/status); 0 when none or unknown. */
static int tracer_of(pid_t pid)
{
    char path[64], line[256];
    int tracer = 0;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "TracerPid: %d", &tracer) == 1)
            break;
    fclose(f);
    return tracer;
}

static json_t *proc_cmdline(pid_t pid)
{
    char *buf = ft_xmalloc(MAX_CMDLINE + 1);
    size_t n = ft_proc_cmdline(pid, buf, MAX_CMDLINE + 1);
    json_t *j = json_text(buf, n);
    free(buf);
    return j;
}

static json_t *json_str(const char *s)
{
    return json_text(s, strlen(s));
}

/* Describe a socket (and who holds its peer, when on this machine). */
static void describe_socket(json_t *f, const struct ft_sock *s, const struct ft_socktab *st,
                            const struct htab *h, struct ptab *t, pid_t self)
{
    char desc[320];
    json_object_set_new(f, "type", json_string(s->proto));
    json_object_set_new(f, "state", json_string(s->state));
    if (strcmp(s->proto, "unix") == 0) {
        json_object_set_new(f, "path", json_str(s->path));
        int n = snprintf(desc, sizeof(desc), "unix %s socket %s %s", s->local, s->state,
                         *s->path ? s->path : "(unnamed)");
        /* The peer's holder: any process (this one included) with the peer's inode open. */
        for (size_t i = 0; i < h->n && s->peer; i++) {
            const struct holder *x = &h->v[i];
            if (!x->sock || x->inode != s->peer)
                continue;
            json_object_set_new(f, "peer",
                                json_pack("{s:i, s:i, s:o}", "pid", (int)x->pid, "fd", x->fd,
                                          "comm", json_str(comm_of(t, x->pid))));
            if (n > 0 && (size_t)n < sizeof(desc))
                snprintf(desc + n, sizeof(desc) - (size_t)n, "; peer held by pid %d (%s)%s",
                         (int)x->pid, comm_of(t, x->pid), x->pid == self ? ", itself" : "");
            break;
        }
        json_object_set_new(f, "desc", json_str(desc));
        return;
    }
    json_object_set_new(f, "local", json_string(s->local));
    json_object_set_new(f, "remote", json_string(s->remote));
    int n = snprintf(desc, sizeof(desc), "%s %s -> %s %s", s->proto, s->local, s->remote, s->state);
    /* The peer on this machine: the socket whose local and remote are ours swapped. */
    const struct ft_sock *peer = NULL, *listener = NULL;
    for (size_t i = 0; i < st->n && strncmp(s->proto, "tcp", 3) == 0; i++) {
        const struct ft_sock *o = &st->v[i];
        if (o == s || strcmp(o->proto, s->proto) != 0)
            continue;
        if (strcmp(o->local, s->remote) == 0 && strcmp(o->remote, s->local) == 0)
            peer = o;
        const char *lp = strrchr(o->local, ':'), *rp = strrchr(s->remote, ':');
        if (strcmp(o->state, "LISTEN") == 0 && lp && rp && strcmp(lp, rp) == 0 &&
            strcmp(s->state, "LISTEN") != 0)
            listener = o;
    }
    const struct holder *ph = NULL;
    for (size_t i = 0; i < h->n && (peer || listener); i++) {
        const struct holder *x = &h->v[i];
        if (x->sock && peer && x->inode == peer->inode) {
            ph = x;
            break;
        }
    }
    if (ph) {
        json_object_set_new(f, "peer",
                            json_pack("{s:i, s:i, s:o}", "pid", (int)ph->pid, "fd", ph->fd, "comm",
                                      json_str(comm_of(t, ph->pid))));
        if (n > 0 && (size_t)n < sizeof(desc))
            snprintf(desc + n, sizeof(desc) - (size_t)n, "; peer held by pid %d (%s)%s",
                     (int)ph->pid, comm_of(t, ph->pid), ph->pid == self ? ", itself" : "");
    } else if (listener) {
        for (size_t i = 0; i < h->n; i++) {
            const struct holder *x = &h->v[i];
            if (x->sock && x->inode == listener->inode) {
                json_object_set_new(f, "peer_listener",
                                    json_pack("{s:i, s:i, s:o}", "pid", (int)x->pid, "fd", x->fd,
                                              "comm", json_str(comm_of(t, x->pid))));
                if (n > 0 && (size_t)n < sizeof(desc))
                    snprintf(desc + n, sizeof(desc) - (size_t)n,
                             "; peer not accepted yet by pid %d (%s) listening on %s", (int)x->pid,
                             comm_of(t, x->pid), listener->local);
                break;
            }
        }
    }
    json_object_set_new(f, "desc", json_str(desc));
}

/* The process's descriptors, resolved. When they cannot be listed, *errnum says why
 * (EACCES: another user's or a non-dumpable process, and no CAP_SYS_PTRACE). */
/* The names of the signals in a signalfd's mask (hex, bit N-1 = signal N), into out. */
static void sigmask_names(const char *hex, char *out, size_t n)
{
    unsigned long long m = strtoull(hex, NULL, 16);
    size_t len = 0;
    out[0] = '\0';
    for (int sig = 1; sig <= 64 && len < n; sig++) {
        if (!(m & (1ULL << (sig - 1))))
            continue;
        const char *name = sigabbrev_np(sig);
        len += (size_t)snprintf(out + len, n - len, "%s%s%s", len ? ", " : "", name ? "SIG" : "",
                                name ? name : "RT");
    }
}

/* A watched inode's path, when one of the process's own paths is it: its cwd, its files and
 * their directories. "" when none is. */
static void inode_path(pid_t pid, unsigned long long ino, char *out, size_t n)
{
    char path[64], cand[PATH_MAX];
    struct stat sb;
    out[0] = '\0';
    snprintf(path, sizeof(path), "/proc/%d/cwd", (int)pid);
    ssize_t k = readlink(path, cand, sizeof(cand) - 1);
    if (k > 0) {
        cand[k] = '\0';
        if (stat(cand, &sb) == 0 && sb.st_ino == ino) {
            snprintf(out, n, "%s", cand);
            return;
        }
    }
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char lp[300];
        snprintf(lp, sizeof(lp), "/proc/%d/fd/%s", (int)pid, de->d_name);
        k = readlink(lp, cand, sizeof(cand) - 1);
        if (k <= 0 || cand[0] != '/')
            continue;
        cand[k] = '\0';
        for (int up = 0; up < 2; up++) { /* the file, then its directory */
            if (stat(cand, &sb) == 0 && sb.st_ino == ino) {
                snprintf(out, n, "%s", cand);
                closedir(d);
                return;
            }
            char *slash = strrchr(cand, '/');
            if (!slash || slash == cand)
                break;
            *slash = '\0';
        }
    }
    if (d)
        closedir(d);
}

/*
 * What an anonymous descriptor is, from /proc/PID/fdinfo/FD: an eventfd's count, a timerfd's
 * clock and next expiry, a signalfd's signals, an inotify descriptor's watches (with the
 * watched path when the process holds it), an epoll set's descriptors (resolved later, by
 * epoll_resolve, once every descriptor is known).
 */
static void anon_detail(json_t *f, pid_t pid, int fd, const char *target)
{
    char path[96], line[512], desc[1024];
    snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, fd);
    FILE *fi = fopen(path, "re");
    size_t len = (size_t)snprintf(desc, sizeof(desc), "%s", target);
    json_t *tfds = NULL;
    int watches = 0;
    while (fi && fgets(line, sizeof(line), fi)) {
        unsigned long long v, v2;
        long long sec, nsec;
        int clk, tfd;
        char hex[64];
        if (sscanf(line, "eventfd-count: %llx", &v) == 1) {
            json_object_set_new(f, "eventfd_count", json_integer((json_int_t)v));
            len += (size_t)snprintf(desc + len, sizeof(desc) - len, " (count %llu)", v);
        } else if (sscanf(line, "clockid: %d", &clk) == 1) {
            json_object_set_new(f, "timerfd_clock", json_integer(clk));
            len += (size_t)snprintf(desc + len, sizeof(desc) - len, " (clock %s",
                                    clk == 1   ? "monotonic"
                                    : clk == 0 ? "realtime"
                                               : "other");
        } else if (sscanf(line, "it_value: (%lld, %lld)", &sec, &nsec) == 2) {
            json_object_set_new(f, "timerfd_next_ms", json_integer(sec * 1000 + nsec / 1000000));
            if (sec || nsec)
                len += (size_t)snprintf(desc + len, sizeof(desc) - len, ", next in %lld ms",
                                        sec * 1000 + nsec / 1000000);
            else
                len += (size_t)snprintf(desc + len, sizeof(desc) - len, ", disarmed");
        } else if (sscanf(line, "it_interval: (%lld, %lld)", &sec, &nsec) == 2) {
            if (sec || nsec)
                len += (size_t)snprintf(desc + len, sizeof(desc) - len, ", every %lld ms)",
                                        sec * 1000 + nsec / 1000000);
            else
                len += (size_t)snprintf(desc + len, sizeof(desc) - len, ")");
        } else if (sscanf(line, "sigmask: %63s", hex) == 1 && strstr(target, "signalfd") != NULL) {
            char names[512];
            sigmask_names(hex, names, sizeof(names));
            json_object_set_new(f, "signals", json_str(names));
            len += (size_t)snprintf(desc + len, sizeof(desc) - len, " (%s)", names);
        } else if (sscanf(line, "inotify wd:%*x ino:%llx sdev:%llx", &v, &v2) == 2) {
            char wp[PATH_MAX];
            inode_path(pid, v, wp, sizeof(wp));
            if (!json_object_get(f, "watches"))
                json_object_set_new(f, "watches", json_array());
            json_array_append_new(json_object_get(f, "watches"),
                                  json_pack("{s:I, s:o}", "inode", (json_int_t)v, "path",
                                            *wp ? json_str(wp) : json_null()));
            if (watches++ < 4 && len < sizeof(desc))
                len += (size_t)snprintf(desc + len, sizeof(desc) - len, "%s%s",
                                        watches == 1 ? " watching " : ", ", *wp ? wp : "?");
        } else if (sscanf(line, "tfd: %d", &tfd) == 1) {
            if (!tfds)
                tfds = json_array();
            json_array_append_new(tfds, json_integer(tfd));
        }
        if (len >= sizeof(desc))
            len = sizeof(desc) - 1;
    }
    if (fi)
        fclose(fi);
    if (watches > 4 && len < sizeof(desc))
        snprintf(desc + len, sizeof(desc) - len, " and %d more", watches - 4);
    if (tfds)
        json_object_set_new(f, "epoll_fds", tfds);
    json_object_set_new(f, "desc", json_str(desc));
}

/* An epoll set's description names what each descriptor it watches is (same process). */
static void epoll_resolve(json_t *fdsj)
{
    size_t i, k;
    json_t *f, *t;
    json_array_foreach(fdsj, i, f)
    {
        json_t *tfds = json_object_get(f, "epoll_fds");
        if (!tfds)
            continue;
        char desc[1024];
        size_t len =
            (size_t)snprintf(desc, sizeof(desc), "epoll set of %zu: ", json_array_size(tfds));
        json_array_foreach(tfds, k, t)
        {
            if (k == 6) {
                snprintf(desc + len, sizeof(desc) - len, "; and %zu more",
                         json_array_size(tfds) - 6);
                break;
            }
            json_int_t want = json_integer_value(t);
            const char *what = "?";
            size_t j;
            json_t *g;
            json_array_foreach(fdsj, j, g) if (json_integer_value(json_object_get(g, "fd")) == want)
            {
                what = json_string_value(json_object_get(g, "desc"));
                break;
            }
            len += (size_t)snprintf(desc + len, sizeof(desc) - len, "%sfd %lld = %.160s",
                                    k ? "; " : "", (long long)want, what ? what : "?");
            if (len >= sizeof(desc)) {
                len = sizeof(desc) - 1;
                break;
            }
        }
        json_object_set_new(f, "desc", json_str(desc));
    }
}

static json_t *proc_fds(pid_t pid, const struct ft_snap_opts *o, const struct ft_socktab *st,
                        struct htab *h, struct ptab *t, json_t *outputs, int *errnum)
{
    json_t *a = json_array();
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    struct dirent *de;
    *errnum = 0;
    if (!d) {
        *errnum = errno;
        return a;
    }
    /* Collect the numbers first so the descriptors come out in order. */
    int *fds = NULL;
    size_t nfds = 0, cap = 0;
    while ((de = readdir(d))) {
        if (!is_pid_name(de->d_name))
            continue;
        ft_xgrow((void **)&fds, &cap, nfds + 1, sizeof(*fds));
        fds[nfds++] = (int)strtol(de->d_name, NULL, 10);
    }
    closedir(d);
    for (size_t i = 1; i < nfds; i++)
        for (size_t k = i; k > 0 && fds[k - 1] > fds[k]; k--) {
            int x = fds[k];
            fds[k] = fds[k - 1];
            fds[k - 1] = x;
        }
    for (size_t i = 0; i < nfds; i++) {
        char lpath[96], target[PATH_MAX];
        snprintf(lpath, sizeof(lpath), "/proc/%d/fd/%d", (int)pid, fds[i]);
        ssize_t n = readlink(lpath, target, sizeof(target) - 1);
        if (n <= 0 && (errno == EACCES || errno == EPERM)) {
            /* listed but not resolvable: root without CAP_SYS_PTRACE on a
             * process that is not dumpable */
            *errnum = errno;
            json_array_append_new(a, json_pack("{s:i, s:s, s:s}", "fd", fds[i], "type", "unknown",
                                               "desc", "not readable"));
            continue;
        }
        if (n <= 0)
            continue;
        target[n] = '\0';
        json_t *f = json_object();
        json_object_set_new(f, "fd", json_integer(fds[i]));
        json_object_set_new(f, "target", json_str(target));
        uint64_t ino;
        int sock;
        char desc[512];
        if (link_inode(target, &ino, &sock) == 0 && !sock) {
            const char *end = pipe_end(pid, fds[i]);
            json_object_set_new(f, "type", json_string("pipe"));
            json_object_set_new(f, "inode", json_integer((json_int_t)ino));
            json_object_set_new(f, "end", json_string(end));
            const char *out = ino == o->out_inode[0]   ? "stdout"
                              : ino == o->out_inode[1] ? "stderr"
                                                       : NULL;
            int len = snprintf(desc, sizeof(desc), "%s (%s end)", target, end);
            if (out) {
                json_object_set_new(f, "output", json_string(out));
                if (strcmp(end, "read") != 0 && !json_array_size(json_object_get(outputs, out)))
                    json_array_append_new(json_object_get(outputs, out), json_string(out));
                len += snprintf(desc + len, sizeof(desc) - (size_t)len,
                                " = the command's %s, read by flowtrack", out);
            }
            json_t *others = json_array();
            size_t nothers = 0;
            for (size_t k = 0; k < h->n; k++) {
                struct holder *x = &h->v[k];
                if (x->sock || x->inode != ino || (x->pid == pid && x->fd == fds[i]))
                    continue;
                /* A pipe shared by a whole fan-out would make this quadratic: list the
                 * first holders, count the rest. */
                if (++nothers > OTHERS_MAX)
                    continue;
                if (!x->end)
                    x->end = pipe_end(x->pid, x->fd);
                json_array_append_new(others, json_pack("{s:i, s:i, s:s, s:o}", "pid", (int)x->pid,
                                                        "fd", x->fd, "end", x->end, "comm",
                                                        json_str(comm_of(t, x->pid))));
                if (nothers <= OTHERS_TEXT_MAX && len > 0 && (size_t)len < sizeof(desc))
                    len +=
                        snprintf(desc + len, sizeof(desc) - (size_t)len, "%s pid %d (%s) fd %d %s",
                                 nothers == 1 ? "; also held by" : ",", (int)x->pid,
                                 comm_of(t, x->pid), x->fd, x->end);
            }
            if (nothers > OTHERS_TEXT_MAX && len > 0 && (size_t)len < sizeof(desc))
                snprintf(desc + len, sizeof(desc) - (size_t)len, " and %zu more",
                         nothers - OTHERS_TEXT_MAX);
            json_object_set_new(f, "others_count", json_integer((json_int_t)nothers));
            json_object_set_new(f, "others", others);
            json_object_set_new(f, "desc", json_str(desc));
        } else if (link_inode(target, &ino, &sock) == 0) {
            const struct ft_sock *s = ft_socktab_find(st, ino);
            json_object_set_new(f, "inode", json_integer((json_int_t)ino));
            if (s) {
                describe_socket(f, s, st, h, t, pid);
            } else {
                json_object_set_new(f, "type", json_string("socket"));
                snprintf(desc, sizeof(desc),
                         "%.400s (not in /proc/net: another namespace or family)", target);
                json_object_set_new(f, "desc", json_str(desc));
            }
        } else if (target[0] == '/') {
            json_object_set_new(f, "type", json_string("file"));
            json_object_set_new(f, "path", json_str(target));
            json_object_set_new(f, "desc", json_str(target));
        } else if (strncmp(target, "anon_inode:", 11) == 0) {
            json_object_set_new(f, "type", json_string("anon"));
            anon_detail(f, pid, fds[i], target);
        } else {
            json_object_set_new(f, "type", json_string("other"));
            json_object_set_new(f, "desc", json_str(target));
        }
        json_array_append_new(a, f);
    }
    free(fds);
    epoll_resolve(a);
    return a;
}

/*
 * The owner of the glibc mutex a thread waits for, or 0. A contended normal
 * mutex is waited for with FUTEX_WAIT on its lock word holding 2 ("locked, with
 * waiters"), and pthread_mutex_t starts {int lock; unsigned count; int owner}.
 * Anything else (a condition variable, a semaphore, a robust or PI mutex) gives
 * 0 rather than a guess; the owner must also be a thread of the same process.
 */
static int mutex_owner(pid_t pid, uint64_t addr, unsigned long long op)
{
    char path[64];
    int w[3];
    if ((op & 127) != 0 /* FUTEX_WAIT, private or not */)
        return 0;
    if (mem_read(pid, addr, w, sizeof(w)) != (ssize_t)sizeof(w) || w[0] != 2 || w[2] <= 0)
        return 0;
    snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)pid, w[2]);
    return access(path, F_OK) == 0 ? w[2] : 0;
}

/* What the snapshot knows of the machine's sockets, for naming the far side of a connect. */
struct sockctx {
    const struct ft_socktab *st;
    const struct htab *h;
    struct ptab *t;
};

/*
 * A thread blocked in connect: the address it connects to (connect_to), and what it waits
 * for. A TCP socket in SYN_SENT is already described with its listener by the descriptor; a
 * unix socket has no address until it connects, so its listener is looked up by path here: a
 * blocking connect to a listening unix socket waits while that socket's backlog is full.
 */
static void blocked_connect(json_t *th, pid_t pid, long nr, const unsigned long long *args,
                            const struct sockctx *c)
{
#ifdef SYS_connect
    if (nr != SYS_connect || args[2] < sizeof(sa_family_t))
        return;
    struct sockaddr_storage ss;
    char addr[160], desc[1200];
    size_t want = args[2] < sizeof(ss) ? (size_t)args[2] : sizeof(ss);
    ssize_t got = mem_read(pid, args[1], &ss, want);
    if (got <= 0 || ft_proc_sockaddr_fmt(&ss, (size_t)got, addr, sizeof(addr)) != 0)
        return;
    json_object_set_new(th, "connect_to", json_str(addr));
    const char *on = json_string_value(json_object_get(th, "waits_on"));
    if (ss.ss_family != AF_UNIX) {
        snprintf(desc, sizeof(desc), "connect to %s: %s", addr, on ? on : "no socket found");
        json_object_set_new(th, "waits_on", json_str(desc));
        return;
    }
    const struct ft_sock *l = NULL;
    for (size_t i = 0; i < c->st->n && !l; i++)
        if (strcmp(c->st->v[i].proto, "unix") == 0 && strcmp(c->st->v[i].state, "LISTEN") == 0 &&
            strcmp(c->st->v[i].path, addr) == 0)
            l = &c->st->v[i];
    const struct holder *x = NULL;
    for (size_t i = 0; l && i < c->h->n && !x; i++)
        if (c->h->v[i].sock && c->h->v[i].inode == l->inode)
            x = &c->h->v[i];
    if (x) {
        snprintf(desc, sizeof(desc),
                 "connect to unix socket %s: its listener, pid %d (%s) fd %d, does not accept "
                 "(backlog full)",
                 addr, (int)x->pid, comm_of(c->t, x->pid), x->fd);
        json_object_set_new(th, "peer_listener",
                            json_pack("{s:i, s:i, s:o}", "pid", (int)x->pid, "fd", x->fd, "comm",
                                      json_str(comm_of(c->t, x->pid))));
    } else {
        snprintf(desc, sizeof(desc), "connect to unix socket %s%s", addr,
                 l ? ": its listener's holder is not readable" : "");
    }
    json_object_set_new(th, "waits_on", json_str(desc));
#else
    (void)th, (void)pid, (void)nr, (void)args, (void)c;
#endif
}

/*
 * A thread waiting for a file lock (flock, or fcntl F_SETLKW / F_OFD_SETLKW): who holds it,
 * from /proc/locks by the file's device and inode. An OFD lock has no pid (-1): it belongs to
 * an open file, so it is named as such.
 */
static void blocked_filelock(json_t *th, pid_t pid, long nr, const unsigned long long *args,
                             const struct sockctx *c)
{
    int waits = 0;
#ifdef SYS_flock
    waits |= nr == SYS_flock;
#endif
#ifdef SYS_fcntl
    waits |= nr == SYS_fcntl && (args[1] == F_SETLKW
#ifdef F_OFD_SETLKW
                                 || args[1] == F_OFD_SETLKW
#endif
                                );
#endif
    char path[96], line[256];
    struct stat sb;
    snprintf(path, sizeof(path), "/proc/%d/fd/%llu", (int)pid, args[0]);
    if (!waits || stat(path, &sb) != 0)
        return;
    FILE *f = fopen("/proc/locks", "re");
    if (!f)
        return;
    struct ft_lock lk;
    int found = 0;
    while (!found && fgets(line, sizeof(line), f))
        found = ft_proc_lock_parse(line, &lk) == 0 && !lk.waiter && lk.inode == sb.st_ino &&
                lk.major == major(sb.st_dev) && lk.minor == minor(sb.st_dev);
    fclose(f);
    if (!found)
        return;
    const char *on = json_string_value(json_object_get(th, "waits_on"));
    char desc[1400];
    if (lk.pid > 0) {
        snprintf(desc, sizeof(desc), "%s: locked (%s %s) by pid %d (%s)", on ? on : path, lk.kind,
                 lk.mode, (int)lk.pid, comm_of(c->t, lk.pid));
        json_object_set_new(th, "lock_holder",
                            json_pack("{s:i, s:o, s:s, s:s}", "pid", (int)lk.pid, "comm",
                                      json_str(comm_of(c->t, lk.pid)), "kind", lk.kind, "mode",
                                      lk.mode));
    } else {
        snprintf(desc, sizeof(desc), "%s: locked (%s %s) through an open file", on ? on : path,
                 lk.kind, lk.mode);
        json_object_set_new(
            th, "lock_holder",
            json_pack("{s:i, s:s, s:s}", "pid", -1, "kind", lk.kind, "mode", lk.mode));
    }
    json_object_set_new(th, "waits_on", json_str(desc));
}

static json_t *proc_threads(pid_t pid, json_t *fds, const struct sockctx *c)
{
    json_t *a = json_array();
    char path[96];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    struct dirent *de;
    if (!d)
        return a;
    while ((de = readdir(d))) {
        char buf[1024];
        if (!is_pid_name(de->d_name))
            continue;
        int tid = (int)strtol(de->d_name, NULL, 10);
        json_t *th = json_object();
        json_object_set_new(th, "tid", json_integer(tid));
        struct ft_pstat ps;
        if (ft_proc_stat_read(pid, tid, &ps) == 0) {
            json_object_set_new(th, "name", json_str(ps.comm));
            json_object_set_new(th, "state", json_stringn(&ps.state, 1));
        }
        snprintf(path, sizeof(path), "/proc/%d/task/%d/wchan", (int)pid, tid);
        if (slurp(path, buf, sizeof(buf)) > 0 && strcmp(buf, "0") != 0)
            json_object_set_new(th, "wchan", json_str(buf));
        snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid, tid);
        if (slurp(path, buf, sizeof(buf)) > 0 && buf[0] != 'r' && buf[0] != '-') {
            /* "nr arg0 arg1 ... sp pc" */
            char *p = buf, *end;
            long nr = strtol(p, &end, 10);
            unsigned long long args[3] = {0, 0, 0};
            p = end;
            for (int i = 0; i < 3; i++) {
                args[i] = strtoull(p, &end, 16);
                p = end;
            }
            const char *name = ft_proc_syscall_name(nr);
            char num[32];
            snprintf(num, sizeof(num), "syscall %ld", nr);
            json_object_set_new(th, "syscall", json_string(name ? name : num));
            if (syscall_fdarg(nr)) {
                json_object_set_new(th, "fd", json_integer((json_int_t)args[0]));
                size_t i;
                json_t *f;
                json_array_foreach(fds, i, f)
                {
                    if (json_integer_value(json_object_get(f, "fd")) == (json_int_t)args[0]) {
                        json_object_set(th, "waits_on", json_object_get(f, "desc"));
                        break;
                    }
                }
            }
            blocked_open(th, pid, nr, args);
            blocked_poll(th, pid, nr, args, fds);
            blocked_connect(th, pid, nr, args, c);
            blocked_filelock(th, pid, nr, args, c);
            blocked_timeout(th, buf);
#ifdef SYS_futex
            if (nr == SYS_futex) {
                char addr[32];
                snprintf(addr, sizeof(addr), "0x%llx", args[0]);
                json_object_set_new(th, "futex", json_string(addr));
                int owner = mutex_owner(pid, args[0], args[1]);
                if (owner && owner != tid)
                    json_object_set_new(th, "mutex_owner", json_integer(owner));
            }
#endif
        }
        json_array_append_new(a, th);
    }
    closedir(d);
    /* Threads in tid order: the main thread first. */
    size_t n = json_array_size(a);
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0; k--) {
            json_t *x = json_array_get(a, k - 1), *y = json_array_get(a, k);
            if (json_integer_value(json_object_get(x, "tid")) <=
                json_integer_value(json_object_get(y, "tid")))
                break;
            json_incref(x);
            json_array_set(a, k - 1, y);
            json_array_set_new(a, k, x);
        }
    return a;
}

static int member_cmp(const void *a, const void *b)
{
    const struct pent *x = *(const struct pent *const *)a, *y = *(const struct pent *const *)b;
    int dx = x->depth > 0 ? x->depth : 1000, dy = y->depth > 0 ? y->depth : 1000;
    if (dx != dy)
        return dx - dy;
    return (x->st.pid > y->st.pid) - (x->st.pid < y->st.pid);
}

json_t *ft_proc_snapshot(const struct ft_snap_opts *o)
{
    struct ptab t;
    struct htab h;
    struct ft_socktab st;
    json_t *procs = json_array();

    ptab_load(&t, o);
    htab_load(&h, &t, o->runner);
    /* Holders of the output pipes are part of the run even outside its tree. */
    for (size_t i = 0; i < h.n; i++) {
        if (h.v[i].sock || !h.v[i].inode ||
            (h.v[i].inode != o->out_inode[0] && h.v[i].inode != o->out_inode[1]))
            continue;
        struct pent *e = ptab_find(&t, h.v[i].pid);
        if (e)
            e->member = 1;
    }
    /* /proc/net/tcp can hold tens of thousands of lines on a busy machine (TIME_WAIT):
     * read the socket tables only when a process of the run holds a socket. */
    memset(&st, 0, sizeof(st));
    for (size_t i = 0; i < h.n; i++) {
        struct pent *e = h.v[i].sock ? ptab_find(&t, h.v[i].pid) : NULL;
        if (e && e->member) {
            ft_socktab_load(&st);
            break;
        }
    }
    struct pent **m = NULL;
    size_t nm = 0;
    for (size_t i = 0; i < t.n; i++) {
        if (!t.v[i].member)
            continue;
        m = ft_xrealloc(m, (nm + 1) * sizeof(*m));
        m[nm++] = &t.v[i];
    }
    if (nm)
        qsort(m, nm, sizeof(*m), member_cmp);
    for (size_t i = 0; i < nm; i++) {
        const struct ft_pstat *ps = &m[i]->st;
        json_t *p = json_object();
        json_object_set_new(p, "pid", json_integer(ps->pid));
        json_object_set_new(p, "ppid", json_integer(ps->ppid));
        json_object_set_new(p, "pgid", json_integer(ps->pgid));
        json_object_set_new(p, "sid", json_integer(ps->sid));
        json_object_set_new(p, "state", json_stringn(&ps->state, 1));
        if (ps->state == 'T' || ps->state == 't') { /* stopped: by a signal, or its tracer */
            int tracer = tracer_of(ps->pid);
            json_object_set_new(p, "stopped", json_string(tracer > 0 ? "tracer" : "signal"));
            if (tracer > 0)
                json_object_set_new(p, "tracer", json_integer(tracer));
        }
        json_object_set_new(p, "comm", json_str(ps->comm));
        json_object_set_new(p, "cmdline", proc_cmdline(ps->pid));
        json_object_set_new(p, "main", json_boolean(ps->pid == o->main_pid));
        if (o->sid > 0) /* a run's session (diagnose without --session has none) */
            json_object_set_new(p, "in_session", json_boolean(ps->sid == o->sid));
        json_object_set_new(p, "depth", json_integer(m[i]->depth));
        json_t *outputs = json_pack("{s:[], s:[]}", "stdout", "stderr");
        int fds_errno;
        json_t *fds = proc_fds(ps->pid, o, &st, &h, &t, outputs, &fds_errno);
        if (fds_errno == EACCES || fds_errno == EPERM)
            json_object_set_new(p, "fds_error",
                                json_string("not readable: permission denied (the process "
                                            "belongs to another user or is not dumpable; "
                                            "flowtrack needs its user or CAP_SYS_PTRACE)"));
        else if (fds_errno && fds_errno != ENOENT)
            json_object_set_new(p, "fds_error",
                                json_sprintf("not readable: %s", strerror(fds_errno)));
        json_t *holds = json_array();
        if (json_array_size(json_object_get(outputs, "stdout")))
            json_array_append_new(holds, json_string("stdout"));
        if (json_array_size(json_object_get(outputs, "stderr")))
            json_array_append_new(holds, json_string("stderr"));
        json_decref(outputs);
        json_object_set_new(p, "holds_output", holds);
        struct sockctx sc = {&st, &h, &t};
        json_object_set_new(p, "threads", proc_threads(ps->pid, fds, &sc));
        json_object_set_new(p, "fds", fds);
        json_array_append_new(procs, p);
    }
    free(m);
    ft_socktab_release(&st);
    free(h.v);
    free(t.v);
    ft_node_annotate(procs);
    return procs;
}
