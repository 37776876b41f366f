/*
 * proc: what the processes of a run are doing, read from /proc.
 *
 * The snapshot covers every process of a run: the descendants of the runner
 * (it is a child subreaper, so double-forked and setsid'd descendants are
 * reparented to it and stay in its tree), every process of the command's
 * session, and any other process holding one of the runner's output pipes.
 * For each: pid, parent, group, session, state, command line; each thread's
 * name, state, wait channel and the system call it is blocked in (with the
 * descriptor it waits on, and for a futex the glibc mutex owner when it can be
 * read); every descriptor resolved (file path, pipe with the other holders of
 * the same pipe and which end each holds, TCP/UDP sockets with addresses and
 * state from /proc/net, unix sockets with their path).
 *
 * The snapshot is a JSON tree (jansson) the caller owns: it is stored as is
 * in the run's diagnosis. Nothing here signals, stops or attaches to a
 * process; a process that exits while it is read is simply left out.
 *
 * The parsing helpers are pure and unit-tested. Errors: 0 or a negative
 * enum ft_code with err filled.
 */
#ifndef FT_PROC_H
#define FT_PROC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct ft_err;

/* One line of /proc/PID/stat. */
struct ft_pstat {
    pid_t pid, ppid, pgid, sid;
    char state;    /* R, S, D, Z, T, t, X, I */
    char comm[64]; /* may contain spaces and parentheses */
    long nthreads;
    unsigned long long start; /* start time in clock ticks after boot: with pid, an identity */
};

/* Parse /proc/PID/stat text. 0 or FT_EINVAL. */
int ft_proc_stat_parse(const char *text, struct ft_pstat *out);

/* Read and parse /proc/PID/stat, or /proc/PID/task/TID/stat when tid > 0. 0, FT_ENOTFOUND
 * (gone) or FT_EINVAL. */
int ft_proc_stat_read(pid_t pid, pid_t tid, struct ft_pstat *out);

/* pid's command line, arguments separated by spaces, into out (NUL-terminated, cut at n - 1;
 * empty for a kernel thread or a process gone). Returns its length. */
size_t ft_proc_cmdline(pid_t pid, char *out, size_t n);
/*
 * Parse /proc/PID/task/TID/syscall text ("nr arg0 ... arg5 sp pc") into the call's number and
 * its six arguments. 0, or FT_EINVAL when the thread is not in a system call ("running", "-1
 * sp pc") or the text is not that.
 */
int ft_proc_syscall_parse(const char *text, long *nr, unsigned long long args[6]);
/*
 * The timeout of a thread blocked in epoll_wait, epoll_pwait (4th argument) or poll (3rd),
 * from its arguments: 0 with *ms set in milliseconds (-1 when it waits without one: any
 * negative value), or FT_EINVAL for another call.
 */
int ft_proc_wait_timeout(long nr, const unsigned long long args[6], int *ms);

/* One socket from /proc/net/{tcp,tcp6,udp,udp6,unix}. */
struct ft_sock {
    uint64_t inode;
    char proto[8];   /* "tcp", "tcp6", "udp", "udp6", "unix" */
    char local[64];  /* "127.0.0.1:8080", "[::1]:53"; unix: "" */
    char remote[64]; /* "0.0.0.0:0" when unconnected; unix: "" */
    char state[16];  /* "ESTABLISHED", "LISTEN", "UNCONN", "CONNECTED"... */
    char path[112];  /* unix: the bound path, "@name" when abstract, "" when unnamed */
    uint64_t peer;   /* unix: the inode of the connected peer (sock_diag), 0 when unknown */
};

/*
 * Parse one data line of /proc/net/tcp (udp = 0) or udp (udp = 1), IPv4 or
 * IPv6 (told apart by the address width). 0 or FT_EINVAL (header line too).
 */
int ft_proc_inet_parse(const char *line, int udp, struct ft_sock *out);
/* Parse one data line of /proc/net/unix. 0 or FT_EINVAL. */
int ft_proc_unix_parse(const char *line, struct ft_sock *out);
/* The kernel's TCP state number as ss(8) names it ("ESTABLISHED"); udp names 7 "UNCONN". */
const char *ft_proc_tcp_state(int st, int udp);
/*
 * Format an address as /proc/net prints it (hex, host byte order words) into
 * "a.b.c.d:port" or "[v6]:port". 0 or FT_EINVAL.
 */
int ft_proc_addr_fmt(const char *hex, unsigned port, char *out, size_t n);

/* Every socket of the network namespace, sorted by inode. */
struct ft_socktab {
    struct ft_sock *v;
    size_t n, cap;
};
/* Read /proc/net/{tcp,tcp6,udp,udp6,unix}; files that cannot be read are skipped. */
void ft_socktab_load(struct ft_socktab *t);
const struct ft_sock *ft_socktab_find(const struct ft_socktab *t, uint64_t inode);
void ft_socktab_release(struct ft_socktab *t);

/* What to snapshot. */
struct ft_snap_opts {
    pid_t runner;          /* the runner: its descendants are taken, itself is not */
    pid_t sid;             /* the command's session (its main pid) */
    pid_t main_pid;        /* marked "main" in the snapshot */
    uint64_t out_inode[2]; /* inodes of the runner's stdout and stderr pipes, 0 = none */
    const pid_t *roots;    /* these processes and their descendants are taken too (diagnose) */
    size_t nroots;
};

/* A live process of a run, as found in /proc. */
struct ft_member {
    pid_t pid;
    unsigned long long start; /* ft_pstat.start */
};

/*
 * The run's live processes (descendants of o->runner and members of session
 * o->sid, zombies left out), for signalling. *out is NULL or an array the
 * caller frees. Returns the count.
 */
size_t ft_proc_members(const struct ft_snap_opts *o, struct ft_member **out);
/*
 * Send sig to m->pid only if it is still the process that was found: a pidfd
 * pins the process, then its start time is compared, so a pid reused since the
 * scan is never signalled. 0 when sent, -1 when it is gone or not the same.
 */
int ft_proc_signal(const struct ft_member *m, int sig);

/*
 * Take the snapshot. Returns a new JSON array of process objects (never NULL;
 * empty when nothing is left), ordered parents before children.
 */
json_t *ft_proc_snapshot(const struct ft_snap_opts *o);

/*
 * A sockaddr of len bytes as text: "a.b.c.d:port", "[v6]:port", a unix path, "@name" for an
 * abstract unix name. 0 or FT_EINVAL (too short, another family).
 */
int ft_proc_sockaddr_fmt(const void *sa, size_t len, char *out, size_t n);

/* One line of /proc/locks: a lock held (waiter 0) or waited for (waiter 1, "->" lines). */
struct ft_lock {
    char kind[8]; /* "FLOCK", "POSIX", "OFDLCK", "LEASE" */
    char mode[8]; /* "READ", "WRITE" */
    pid_t pid;    /* the process that took it; -1 for an OFD lock (held by an open file) */
    unsigned major, minor;
    uint64_t inode;
    int waiter;
};
/* Parse one line of /proc/locks. 0 or FT_EINVAL. */
int ft_proc_lock_parse(const char *line, struct ft_lock *out);

/* Which argument of system call nr is a path (0-based: open 0, openat 1, stat 0...), or -1. */
int ft_proc_syscall_patharg(long nr);

/* The name of system call nr on this architecture, or NULL. */
const char *ft_proc_syscall_name(long nr);

#endif
