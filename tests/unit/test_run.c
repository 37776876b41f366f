/*
 * Unit tests of the runner's pure parts: /proc parsers, address formatting,
 * UTF-8 sanitizing, the output tail, outcome and exit status, signal names,
 * stack parsing, the choice of the culprit, and what keeps a Node.js process alive.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "core/model.h"
#include "run/diag.h"
#include "run/node.h"
#include "run/proc.h"
#include "run/run.h"

static void test_stat_parse(void **state)
{
    (void)state;
    struct ft_pstat ps;
    const char *line = "4242 (my (odd) name) S 4000 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 "
                       "20 0 3 0 12345 1000 200 18446744073709551615";
    assert_int_equal(ft_proc_stat_parse(line, &ps), 0);
    assert_int_equal(ps.pid, 4242);
    assert_string_equal(ps.comm, "my (odd) name");
    assert_int_equal(ps.state, 'S');
    assert_int_equal(ps.ppid, 4000);
    assert_int_equal(ps.pgid, 4242);
    assert_int_equal(ps.sid, 4242);
    assert_int_equal(ps.nthreads, 3);
    assert_int_equal(ps.start, 12345);
    assert_int_not_equal(ft_proc_stat_parse("garbage", &ps), 0);
    assert_int_not_equal(ft_proc_stat_parse("12 (x", &ps), 0);
}

static void test_addr_fmt(void **state)
{
    (void)state;
    char out[64];
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    assert_int_equal(ft_proc_addr_fmt("0100007F", 8080, out, sizeof(out)), 0);
    assert_string_equal(out, "127.0.0.1:8080");
    assert_int_equal(ft_proc_addr_fmt("0101A8C0", 443, out, sizeof(out)), 0);
    assert_string_equal(out, "192.168.1.1:443");
    assert_int_equal(ft_proc_addr_fmt("00000000000000000000000001000000", 22, out, sizeof(out)), 0);
    assert_string_equal(out, "[::1]:22");
    assert_int_equal(ft_proc_addr_fmt("0000000000000000FFFF00000100007F", 5, out, sizeof(out)), 0);
    assert_string_equal(out, "[::ffff:127.0.0.1]:5");
#endif
    assert_int_equal(ft_proc_addr_fmt("00000000", 0, out, sizeof(out)), 0);
    assert_string_equal(out, "0.0.0.0:0");
    assert_int_not_equal(ft_proc_addr_fmt("123", 1, out, sizeof(out)), 0);
    assert_int_not_equal(ft_proc_addr_fmt("0100007G", 1, out, sizeof(out)), 0);
}

/* connect()'s argument as the runner reads it from the process's memory. */
static void test_sockaddr_fmt(void **state)
{
    (void)state;
    char out[160];
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(8080)};
    in.sin_addr.s_addr = htonl(0x7f000001);
    assert_int_equal(ft_proc_sockaddr_fmt(&in, sizeof(in), out, sizeof(out)), 0);
    assert_string_equal(out, "127.0.0.1:8080");
    assert_int_not_equal(ft_proc_sockaddr_fmt(&in, sizeof(in) - 4, out, sizeof(out)), 0);
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(443)};
    in6.sin6_addr.s6_addr[15] = 1;
    assert_int_equal(ft_proc_sockaddr_fmt(&in6, sizeof(in6), out, sizeof(out)), 0);
    assert_string_equal(out, "[::1]:443");
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    memcpy(un.sun_path, "/run/x.sock", sizeof("/run/x.sock"));
    assert_int_equal(ft_proc_sockaddr_fmt(&un, sizeof(un), out, sizeof(out)), 0);
    assert_string_equal(out, "/run/x.sock");
    /* Abstract: a leading NUL, the name is the bytes the length covers. */
    memcpy(un.sun_path, "\0bus", 4);
    assert_int_equal(
        ft_proc_sockaddr_fmt(&un, offsetof(struct sockaddr_un, sun_path) + 4, out, sizeof(out)), 0);
    assert_string_equal(out, "@bus");
    sa_family_t other = AF_NETLINK;
    assert_int_not_equal(ft_proc_sockaddr_fmt(&other, sizeof(other), out, sizeof(out)), 0);
    assert_int_not_equal(ft_proc_sockaddr_fmt(&other, 1, out, sizeof(out)), 0);
}

/* /proc/locks lines: held and waited for, flock, POSIX and OFD. */
static void test_lock_parse(void **state)
{
    (void)state;
    struct ft_lock lk;
    assert_int_equal(
        ft_proc_lock_parse("1: FLOCK  ADVISORY  WRITE 11497 fe:00:10953522 0 EOF\n", &lk), 0);
    assert_string_equal(lk.kind, "FLOCK");
    assert_string_equal(lk.mode, "WRITE");
    assert_int_equal(lk.pid, 11497);
    assert_int_equal(lk.major, 0xfe);
    assert_int_equal(lk.minor, 0);
    assert_int_equal(lk.inode, 10953522);
    assert_int_equal(lk.waiter, 0);
    assert_int_equal(ft_proc_lock_parse("12: -> POSIX  ADVISORY  READ 77 08:01:42 0 99", &lk), 0);
    assert_int_equal(lk.waiter, 1);
    assert_string_equal(lk.kind, "POSIX");
    assert_string_equal(lk.mode, "READ");
    assert_int_equal(lk.major, 8);
    assert_int_equal(lk.minor, 1);
    assert_int_equal(ft_proc_lock_parse("3: OFDLCK ADVISORY  WRITE -1 00:2d:5 0 EOF", &lk), 0);
    assert_int_equal(lk.pid, -1);
    assert_int_not_equal(ft_proc_lock_parse("garbage", &lk), 0);
    assert_int_not_equal(ft_proc_lock_parse("1: FLOCK ADVISORY", &lk), 0);
}

/* The path argument of the calls a thread can block in on a path, and their names. */
static void test_syscall_patharg(void **state)
{
    (void)state;
    assert_int_equal(ft_proc_syscall_patharg(SYS_openat), 1);
    assert_int_equal(ft_proc_syscall_patharg(SYS_newfstatat), 1);
    assert_int_equal(ft_proc_syscall_patharg(SYS_statx), 1);
    assert_int_equal(ft_proc_syscall_patharg(SYS_execve), 0);
#ifdef SYS_stat
    assert_int_equal(ft_proc_syscall_patharg(SYS_stat), 0);
    assert_string_equal(ft_proc_syscall_name(SYS_stat), "stat");
#endif
    assert_int_equal(ft_proc_syscall_patharg(SYS_read), -1);
    assert_int_equal(ft_proc_syscall_patharg(SYS_connect), -1);
    assert_string_equal(ft_proc_syscall_name(SYS_newfstatat), "newfstatat");
    assert_string_equal(ft_proc_syscall_name(SYS_statx), "statx");
}

static void test_inet_parse(void **state)
{
    (void)state;
    struct ft_sock s;
    assert_int_not_equal(ft_proc_inet_parse("  sl  local_address rem_address   st tx_queue "
                                            "rx_queue tr tm->when retrnsmt   uid  timeout inode",
                                            0, &s),
                         0);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    assert_int_equal(
        ft_proc_inet_parse("   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 "
                           "00000000     0        0 23456 1 0000000000000000 100 0 0 10 0",
                           0, &s),
        0);
    assert_string_equal(s.proto, "tcp");
    assert_string_equal(s.local, "127.0.0.1:3306");
    assert_string_equal(s.remote, "0.0.0.0:0");
    assert_string_equal(s.state, "LISTEN");
    assert_int_equal(s.inode, 23456);
    assert_int_equal(
        ft_proc_inet_parse("  12: 0100007F:9C4A 0100007F:0CEA 01 00000000:00000000 00:00000000 "
                           "00000000  1000        0 99887766 1 0000000000000000 20 4 30 10 -1",
                           0, &s),
        0);
    assert_string_equal(s.local, "127.0.0.1:40010");
    assert_string_equal(s.remote, "127.0.0.1:3306");
    assert_string_equal(s.state, "ESTABLISHED");
    assert_int_equal(s.inode, 99887766);
    assert_int_equal(ft_proc_inet_parse("   3: 00000000000000000000000001000000:0016 "
                                        "00000000000000000000000000000000:0000 0A "
                                        "00000000:00000000 00:00000000 00000000     0        0 "
                                        "12345 1 0000000000000000 100 0 0 10 0",
                                        0, &s),
                     0);
    assert_string_equal(s.proto, "tcp6");
    assert_string_equal(s.local, "[::1]:22");
    assert_string_equal(s.remote, "[::]:0");
    assert_int_equal(ft_proc_inet_parse(" 1234: 00000000:0044 00000000:0000 07 00000000:00000000 "
                                        "00:00000000 00000000     0        0 1111 2 "
                                        "0000000000000000 0",
                                        1, &s),
                     0);
    assert_string_equal(s.proto, "udp");
    assert_string_equal(s.local, "0.0.0.0:68");
    assert_string_equal(s.state, "UNCONN");
    assert_int_equal(
        ft_proc_inet_parse("   1: 0100007F:0050 0100007F:C000 02 00000000:00000000 00:00000000 "
                           "00000000     0        0 777 1",
                           0, &s),
        0);
    assert_string_equal(s.state, "SYN_SENT");
#endif
}

static void test_tcp_state(void **state)
{
    (void)state;
    assert_string_equal(ft_proc_tcp_state(1, 0), "ESTABLISHED");
    assert_string_equal(ft_proc_tcp_state(10, 0), "LISTEN");
    assert_string_equal(ft_proc_tcp_state(8, 0), "CLOSE_WAIT");
    assert_string_equal(ft_proc_tcp_state(7, 0), "CLOSE");
    assert_string_equal(ft_proc_tcp_state(7, 1), "UNCONN");
    assert_string_equal(ft_proc_tcp_state(99, 0), "UNKNOWN");
}

static void test_unix_parse(void **state)
{
    (void)state;
    struct ft_sock s;
    assert_int_not_equal(
        ft_proc_unix_parse("Num       RefCount Protocol Flags    Type St Inode Path", &s), 0);
    assert_int_equal(
        ft_proc_unix_parse("0000000000000000: 00000002 00000000 00010000 0001 01 20012 "
                           "/run/dbus/system_bus_socket\n",
                           &s),
        0);
    assert_string_equal(s.proto, "unix");
    assert_string_equal(s.state, "LISTEN");
    assert_string_equal(s.path, "/run/dbus/system_bus_socket");
    assert_string_equal(s.local, "stream");
    assert_int_equal(s.inode, 20012);
    assert_int_equal(
        ft_proc_unix_parse("0000000000000000: 00000003 00000000 00000000 0001 03 30000\n", &s), 0);
    assert_string_equal(s.state, "CONNECTED");
    assert_string_equal(s.path, "");
    assert_int_equal(ft_proc_unix_parse("ffff8a0c: 00000002 00000000 00000000 0002 01 40000 "
                                        "@/tmp/.X11-unix/X0",
                                        &s),
                     0);
    assert_string_equal(s.local, "dgram");
    assert_string_equal(s.state, "UNCONNECTED");
    assert_string_equal(s.path, "@/tmp/.X11-unix/X0");
}

static void sanitize(const char *in, size_t n, const char *want)
{
    struct ft_buf b;
    ft_buf_init(&b, 0);
    ft_utf8_sanitize(in, n, &b);
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.buf, want, b.len);
    ft_buf_release(&b);
}

#define R "\xef\xbf\xbd"

static void test_utf8_sanitize(void **state)
{
    (void)state;
    sanitize("plain", 5, "plain");
    sanitize("caf\xc3\xa9", 5, "caf\xc3\xa9");
    sanitize("a\xff"
             "b",
             3, "a" R "b");
    sanitize("nul\0x", 5, "nul" R "x");
    sanitize("\xe2\x82", 2, R R);             /* truncated sequence */
    sanitize("\xc0\xaf", 2, R R);             /* overlong */
    sanitize("\xed\xa0\x80", 3, R R R);       /* surrogate */
    sanitize("\xf4\x90\x80\x80", 4, R R R R); /* over U+10FFFF */
    sanitize("\xf0\x9f\x98\x80!", 5, "\xf0\x9f\x98\x80!");
    sanitize("", 0, "");
}

static void test_tail(void **state)
{
    (void)state;
    struct ft_tail t;
    int trunc;
    char *s;
    ft_tail_init(&t, 16);
    ft_tail_add(&t, "hello\n", 6);
    s = ft_tail_text(&t, &trunc);
    assert_string_equal(s, "hello\n");
    assert_int_equal(trunc, 0);
    free(s);
    ft_tail_add(&t, "line two\nthree\n", 15); /* 21 bytes in all: 5 dropped */
    s = ft_tail_text(&t, &trunc);
    assert_int_equal(trunc, 1);
    assert_string_equal(s, "line two\nthree\n"); /* starts at a line start */
    free(s);
    ft_tail_add(&t, "0123456789abcdefXYZ", 19); /* bigger than the ring at once */
    s = ft_tail_text(&t, &trunc);
    assert_int_equal(trunc, 1);
    assert_string_equal(s, "3456789abcdefXYZ");
    free(s);
    ft_tail_release(&t);

    /* A cut in the middle of a character drops its continuation bytes. */
    ft_tail_init(&t, 3);
    ft_tail_add(&t, "a\xc3\xa9\xc3\xa9", 5);
    s = ft_tail_text(&t, &trunc);
    assert_int_equal(trunc, 1);
    assert_string_equal(s, "\xc3\xa9");
    free(s);
    ft_tail_release(&t);
}

static void test_classify(void **state)
{
    (void)state;
    int exited0 = 0, exited3 = 3 << 8, segv = SIGSEGV;
    assert_true(WIFEXITED(exited0) && WIFEXITED(exited3) && WIFSIGNALED(segv));
    assert_int_equal(ft_run_classify(0, 0, 0, exited0, 0), FT_OUT_PASS);
    assert_int_equal(ft_run_classify(0, 0, 0, exited3, 0), FT_OUT_FAIL);
    assert_int_equal(ft_run_classify(0, 0, 0, segv, 0), FT_OUT_CRASH);
    assert_int_equal(ft_run_classify(0, 0, 0, 0, 2), FT_OUT_FAIL);
    assert_int_equal(ft_run_classify(0, 0, 1, exited0, 0), FT_OUT_LEAK);
    assert_int_equal(ft_run_classify(0, 0, 1, segv, 0), FT_OUT_LEAK);
    assert_int_equal(ft_run_classify(0, 1, 0, 0, 0), FT_OUT_HANG);
    assert_int_equal(ft_run_classify(1, 1, 0, 0, 0), FT_OUT_INTERRUPTED);
}

static void test_exit_status(void **state)
{
    (void)state;
    struct ft_run_result r;
    memset(&r, 0, sizeof(r));
    r.outcome = FT_OUT_PASS;
    assert_int_equal(ft_run_exit_status(&r, 0), 0);
    r.outcome = FT_OUT_FAIL;
    r.exit_code = 3;
    assert_int_equal(ft_run_exit_status(&r, 0), 3);
    r.exec_errno = 2; /* ENOENT */
    assert_int_equal(ft_run_exit_status(&r, 0), 127);
    r.exec_errno = 13; /* EACCES */
    assert_int_equal(ft_run_exit_status(&r, 0), 126);
    r.exec_errno = 0;
    r.outcome = FT_OUT_CRASH;
    r.exit_code = -1;
    r.signal = SIGSEGV;
    assert_int_equal(ft_run_exit_status(&r, 0), 139);
    r.outcome = FT_OUT_HANG;
    r.signal = SIGTERM;
    assert_int_equal(ft_run_exit_status(&r, 0), 124);
    r.outcome = FT_OUT_INTERRUPTED;
    r.interrupt = SIGINT;
    assert_int_equal(ft_run_exit_status(&r, 0), 130);
    r.outcome = FT_OUT_LEAK;
    r.signal = 0;
    r.exit_code = 0;
    assert_int_equal(ft_run_exit_status(&r, 0), FT_RUN_EXIT_LEAK);
    assert_int_equal(ft_run_exit_status(&r, 1), 0);
    r.exit_code = 5;
    assert_int_equal(ft_run_exit_status(&r, 1), 5);
}

static void test_signals(void **state)
{
    (void)state;
    char buf[32];
    assert_int_equal(ft_signal_parse("TERM"), SIGTERM);
    assert_int_equal(ft_signal_parse("sigkill"), SIGKILL);
    assert_int_equal(ft_signal_parse("SIGINT"), SIGINT);
    assert_int_equal(ft_signal_parse("9"), 9);
    assert_int_equal(ft_signal_parse("NOPE"), -1);
    assert_int_equal(ft_signal_parse(""), -1);
    assert_int_equal(ft_signal_parse("999"), -1);
    assert_string_equal(ft_signal_name(SIGTERM, buf, sizeof(buf)), "SIGTERM");
}

static void test_parse_stacks(void **state)
{
    (void)state;
    const char *eu = "PID 10 - process\n"
                     "TID 10:\n"
                     "#0  0x00007f67e8fbe12b __GI___lll_lock_wait\n"
                     "#1  0x00007f67e8fc4482 __pthread_mutex_lock@GLIBC_2.2.5\n"
                     "#2  0x000055a5055121e1 main\n"
                     "TID 11:\n"
                     "#0  0x00007f67e8fbe12b\n";
    json_t *m = ft_diag_parse_stacks(eu);
    assert_int_equal(json_array_size(json_object_get(m, "10")), 3);
    assert_string_equal(json_string_value(json_array_get(json_object_get(m, "10"), 1)),
                        "__pthread_mutex_lock@GLIBC_2.2.5");
    /* a frame without a symbol keeps its address */
    assert_string_equal(json_string_value(json_array_get(json_object_get(m, "11"), 0)),
                        "0x00007f67e8fbe12b");
    json_decref(m);
    const char *gdb = "Thread 2 (Thread 0x7f00 (LWP 21) \"w\"):\n"
                      "#0  0x00007f00 in __futex_abstimed_wait_common64 (p=0x0) at x.c:57\n"
                      "#1  worker (arg=0x0) at sc.c:12\n"
                      "\n"
                      "Thread 1 (Thread 0x7f01 (LWP 20) \"m\"):\n"
                      "#0  main () at sc.c:30\n";
    m = ft_diag_parse_stacks(gdb);
    assert_string_equal(json_string_value(json_array_get(json_object_get(m, "21"), 0)),
                        "__futex_abstimed_wait_common64 (p=0x0) at x.c:57");
    assert_string_equal(json_string_value(json_array_get(json_object_get(m, "21"), 1)),
                        "worker (arg=0x0) at sc.c:12");
    assert_int_equal(json_array_size(json_object_get(m, "20")), 1);
    json_decref(m);
}

/*
 * Real gdb output for tests/helpers/sc_py_deadlock.py under Debian's python3.11 with
 * python3.11-dbg: diag.c's script (the walk of the thread states), then py-bt's own.
 */
static const char py_walk[] =
    "[New LWP 16851]\n"
    "[New LWP 16853]\n"
    "[Thread debugging using libthread_db enabled]\n"
    "Using host libthread_db library \"/lib/x86_64-linux-gnu/libthread_db.so.1\".\n"
    "__futex_abstimed_wait_common64 (private=<optimized out>, cancel=true, abstime=0x0, "
    "op=393, expected=0, futex_word=0x7fc0fc000b70) at ./nptl/futex-internal.c:57\n"
    "57\t./nptl/futex-internal.c: No such file or directory.\n"
    "Thread 1 (LWP 16853):\n"
    "Traceback (most recent call first):\n"
    "  File \"/work/wt-py/tests/helpers/sc_py_deadlock.py\", line 36, in thread_b\n"
    "    with lock1:  # blocks: B\n"
    "  File \"/usr/lib/python3.11/threading.py\", line 975, in run\n"
    "    self._target(*self._args, **self._kwargs)\n"
    "  File \"/usr/lib/python3.11/threading.py\", line 1038, in _bootstrap_inner\n"
    "    self.run()\n"
    "  File \"/usr/lib/python3.11/threading.py\", line 995, in _bootstrap\n"
    "    self._bootstrap_inner()\n"
    "Thread 2 (LWP 16851):\n"
    "Traceback (most recent call first):\n"
    "  File \"/work/wt-py/tests/helpers/sc_py_deadlock.py\", line 28, in thread_a\n"
    "    lock2.acquire()  # blocks: A\n"
    "  File \"/usr/lib/python3.11/threading.py\", line 975, in run\n"
    "    self._target(*self._args, **self._kwargs)\n"
    "  File \"/usr/lib/python3.11/threading.py\", line 1038, in _bootstrap_inner\n"
    "    self.run()\n"
    "  File \"/usr/lib/python3.11/threading.py\", line 995, in _bootstrap\n"
    "    self._bootstrap_inner()\n"
    "Thread 3 (LWP 16837):\n"
    "Traceback (most recent call first):\n"
    "  File \"/usr/lib/python3.11/threading.py\", line 1132, in _wait_for_tstate_lock\n"
    "    if lock.acquire(block, timeout):\n"
    "  File \"/usr/lib/python3.11/threading.py\", line 1112, in join\n"
    "    self._wait_for_tstate_lock()\n"
    "  File \"/work/wt-py/tests/helpers/sc_py_deadlock.py\", line 44, in <module>\n"
    "    a.join()\n"
    "ft-py: walked 3 threads\n"
    "[Inferior 1 (process 16837) detached]\n";

static const char py_bt[] =
    "\n"
    "Thread 3 (Thread 0x7fc101d616c0 (LWP 16853) \"python3\"):\n"
    "Traceback (most recent call first):\n"
    "  <built-in method __enter__ of _thread.lock object at remote 0x7fc1025903c0>\n"
    "  File \"/work/wt-py/tests/helpers/sc_py_deadlock.py\", line 36, in thread_b\n"
    "    with lock1:  # blocks: B\n"
    "  File \"/usr/lib/python3.11/threading.py\", line 975, in run\n"
    "    self._target(*self._args, **self._kwargs)\n"
    "\n"
    "Thread 2 (Thread 0x7fc1025666c0 (LWP 16851) \"python3\"):\n"
    "Traceback (most recent call first):\n"
    "  File \"/work/wt-py/tests/helpers/sc_py_deadlock.py\", line 28, in thread_a\n"
    "    lock2.acquire()  # blocks: A\n"
    "\n"
    "Thread 1 (Thread 0x7fc102821040 (LWP 16837) \"python3\"):\n"
    "Unable to locate python frame\n"
    "[Inferior 1 (process 16837) detached]\n";

static const char *frame_str(const json_t *m, const char *tid, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(json_object_get(m, tid), i), key));
}

static int frame_line(const json_t *m, const char *tid, size_t i)
{
    return (int)json_integer_value(
        json_object_get(json_array_get(json_object_get(m, tid), i), "line"));
}

static void test_parse_py_stacks(void **state)
{
    (void)state;
    json_t *m = ft_diag_parse_py_stacks(py_walk);
    assert_int_equal(json_object_size(m), 3);
    assert_int_equal(json_array_size(json_object_get(m, "16853")), 4);
    assert_string_equal(frame_str(m, "16853", 0, "file"),
                        "/work/wt-py/tests/helpers/sc_py_deadlock.py");
    assert_int_equal(frame_line(m, "16853", 0), 36);
    assert_string_equal(frame_str(m, "16853", 0, "function"), "thread_b");
    assert_string_equal(frame_str(m, "16853", 0, "code"), "with lock1:  # blocks: B");
    assert_string_equal(frame_str(m, "16851", 0, "function"), "thread_a");
    assert_int_equal(frame_line(m, "16851", 0), 28);
    assert_string_equal(frame_str(m, "16851", 0, "code"), "lock2.acquire()  # blocks: A");
    assert_string_equal(frame_str(m, "16851", 3, "function"), "_bootstrap");
    assert_string_equal(frame_str(m, "16837", 2, "function"), "<module>");
    assert_string_equal(frame_str(m, "16837", 2, "code"), "a.join()");
    json_decref(m);
    /* the native parser finds no frame in it, and this one none in native output */
    m = ft_diag_parse_stacks(py_walk);
    assert_int_equal(json_object_size(m), 0);
    json_decref(m);
    m = ft_diag_parse_py_stacks("Thread 2 (Thread 0x7f00 (LWP 21) \"w\"):\n"
                                "#0  0x00007f00 in __futex_abstimed_wait_common64 () at x.c:57\n"
                                "#1  worker (arg=0x0) at sc.c:12\n");
    assert_int_equal(json_object_size(m), 0);
    json_decref(m);

    /* py-bt: a built-in frame without a file (its address dropped); no frame for thread 1 */
    m = ft_diag_parse_py_stacks(py_bt);
    assert_int_equal(json_array_size(json_object_get(m, "16853")), 3);
    assert_string_equal(frame_str(m, "16853", 0, "function"),
                        "<built-in method __enter__ of _thread.lock object>");
    assert_null(json_object_get(json_array_get(json_object_get(m, "16853"), 0), "file"));
    assert_null(json_object_get(json_array_get(json_object_get(m, "16853"), 0), "code"));
    assert_string_equal(frame_str(m, "16853", 1, "code"), "with lock1:  # blocks: B");
    assert_int_equal(json_array_size(json_object_get(m, "16851")), 1);
    assert_null(json_object_get(m, "16837"));
    json_decref(m);

    /* an unknown line, a file name holding the separator, a traceback cut short */
    m = ft_diag_parse_py_stacks("Thread 1 (LWP 5):\n"
                                "Traceback (most recent call first):\n"
                                "  File \"<frozen a\", line b>\", line ?, in f\n"
                                "  File \"x.py\", line 3, in g\n"
                                "ft-py: walked 1 threads\n"
                                "  File \"y.py\", line 4, in h\n");
    assert_int_equal(json_array_size(json_object_get(m, "5")), 2);
    assert_string_equal(frame_str(m, "5", 0, "file"), "<frozen a\", line b>");
    assert_null(json_object_get(json_array_get(json_object_get(m, "5"), 0), "line"));
    assert_string_equal(frame_str(m, "5", 1, "function"), "g");
    json_decref(m);
}

static json_t *load(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j)
        fail_msg("bad test JSON: %s", e.text);
    return j;
}

static void test_culprit_deadlock(void **state)
{
    (void)state;
    json_t *d = load(
        "{\"outcome\": \"hang\", \"reason\": \"r\", \"processes\": ["
        " {\"pid\": 5, \"comm\": \"sh\", \"cmdline\": \"sh -c x\", \"state\": \"S\", \"depth\": 1,"
        "  \"threads\": [{\"tid\": 5, \"name\": \"sh\", \"state\": \"S\", \"syscall\": \"wait4\"}],"
        "  \"fds\": []},"
        " {\"pid\": 7, \"comm\": \"app\", \"cmdline\": \"app\", \"state\": \"S\", \"depth\": 2,"
        "  \"threads\": ["
        "   {\"tid\": 7, \"name\": \"app\", \"state\": \"S\", \"syscall\": \"futex\","
        "    \"futex\": \"0xa\", \"mutex_owner\": 8},"
        "   {\"tid\": 8, \"name\": \"app\", \"state\": \"S\", \"syscall\": \"futex\","
        "    \"futex\": \"0xb\", \"mutex_owner\": 7}],"
        "  \"fds\": []}]}");
    ft_diag_analyse(d);
    json_t *c = json_object_get(d, "culprit");
    assert_int_equal(json_integer_value(json_object_get(c, "pid")), 7);
    const char *why = json_string_value(json_object_get(c, "why"));
    assert_non_null(strstr(why, "deadlock"));
    assert_non_null(strstr(why, "thread 7 (app) waits for mutex 0xa held by thread 8"));
    assert_non_null(strstr(why, "thread 8 (app) waits for mutex 0xb held by thread 7"));
    assert_non_null(
        strstr(json_string_value(json_object_get(d, "summary")), "pid 7 (app) deadlock"));
    json_decref(d);
}

static void test_culprit_socket_over_sleep(void **state)
{
    (void)state;
    json_t *d = load(
        "{\"outcome\": \"hang\", \"reason\": \"r\", \"processes\": ["
        " {\"pid\": 5, \"comm\": \"sleeper\", \"state\": \"S\", \"depth\": 2,"
        "  \"threads\": [{\"tid\": 5, \"name\": \"sleeper\", \"state\": \"S\","
        "   \"syscall\": \"clock_nanosleep\"}], \"fds\": []},"
        " {\"pid\": 6, \"comm\": \"client\", \"state\": \"S\", \"depth\": 1,"
        "  \"threads\": [{\"tid\": 6, \"name\": \"client\", \"state\": \"S\", \"syscall\": \"read\","
        "   \"fd\": 3, \"waits_on\": \"tcp 127.0.0.1:1 -> 127.0.0.1:2 ESTABLISHED\"}],"
        "  \"fds\": []}]}");
    ft_diag_analyse(d);
    json_t *c = json_object_get(d, "culprit");
    assert_int_equal(json_integer_value(json_object_get(c, "pid")), 6);
    assert_non_null(strstr(json_string_value(json_object_get(c, "why")),
                           "blocked in read on fd 3: tcp 127.0.0.1:1 -> 127.0.0.1:2 ESTABLISHED"));
    json_decref(d);
}

#define WAIT_CYCLE_FMT                                                                             \
    "{\"outcome\": \"hang\", \"reason\": \"r\", \"processes\": ["                                  \
    " {\"pid\": 10, \"ppid\": 1, \"comm\": \"python3\", \"state\": \"S\", \"depth\": 1,"           \
    "  \"threads\": [{\"tid\": 10, \"name\": \"python3\", \"state\": \"S\","                       \
    "   \"syscall\": \"%s\"}], \"fds\": []},"                                                      \
    " {\"pid\": 11, \"ppid\": 10, \"comm\": \"yes\", \"state\": \"S\", \"depth\": 2,"              \
    "  \"threads\": [{\"tid\": 11, \"name\": \"yes\", \"state\": \"S\", \"syscall\": \"write\","   \
    "   \"fd\": 1, \"waits_on\": \"pipe:[7] (write end)\"}],"                                      \
    "  \"fds\": [{\"fd\": 1, \"type\": \"pipe\", \"end\": \"write\", \"others\": ["                \
    "   {\"pid\": 10, \"fd\": 3, \"end\": \"read\", \"comm\": \"python3\"}]}]}]}"

/* A child blocked writing a pipe that only its parent reads, while the parent waits for it. */
static void test_culprit_wait_cycle(void **state)
{
    (void)state;
    char text[2048];
    snprintf(text, sizeof(text), WAIT_CYCLE_FMT, "wait4");
    json_t *d = load(text);
    ft_diag_analyse(d);
    json_t *c = json_object_get(d, "culprit");
    assert_int_equal(json_integer_value(json_object_get(c, "pid")), 11);
    assert_string_equal(json_string_value(json_object_get(c, "cause")), "wait_cycle");
    assert_non_null(
        strstr(json_string_value(json_object_get(c, "why")),
               "the other side, pid 10 (python3), is waiting for its children (wait4)"));
    json_decref(d);
    /* The same reader busy elsewhere (not waiting for the child) is no cycle. */
    snprintf(text, sizeof(text), WAIT_CYCLE_FMT, "read");
    d = load(text);
    ft_diag_analyse(d);
    c = json_object_get(d, "culprit");
    assert_string_not_equal(json_string_value(json_object_get(c, "cause")), "wait_cycle");
    json_decref(d);
}

static void test_culprit_leak_holder(void **state)
{
    (void)state;
    json_t *d = load(
        "{\"outcome\": \"leak\", \"reason\": \"r\", \"processes\": ["
        " {\"pid\": 9, \"comm\": \"daemon\", \"state\": \"S\", \"depth\": 3, \"sid\": 9,"
        "  \"in_session\": false, \"holds_output\": [],"
        "  \"threads\": [{\"tid\": 9, \"name\": \"daemon\", \"state\": \"S\"}], \"fds\": []},"
        " {\"pid\": 8, \"comm\": \"holder\", \"state\": \"S\", \"depth\": 1, \"sid\": 4,"
        "  \"in_session\": true, \"holds_output\": [\"stdout\"],"
        "  \"threads\": [{\"tid\": 8, \"name\": \"holder\", \"state\": \"S\","
        "   \"syscall\": \"pause\"}],"
        "  \"fds\": [{\"fd\": 1, \"type\": \"pipe\", \"end\": \"write\", \"output\": \"stdout\","
        "   \"target\": \"pipe:[77]\"}]}]}");
    ft_diag_analyse(d);
    json_t *c = json_object_get(d, "culprit");
    assert_int_equal(json_integer_value(json_object_get(c, "pid")), 8);
    const char *why = json_string_value(json_object_get(c, "why"));
    assert_non_null(strstr(why, "keeps the command's output open"));
    assert_non_null(strstr(why, "fd 1 = stdout (pipe:[77])"));
    assert_null(strchr(why, '|'));
    struct ft_buf b;
    ft_buf_init(&b, 0);
    ft_diag_render(d, &b);
    assert_non_null(strstr(b.buf, "likely culprit: pid 8 (holder)"));
    ft_buf_release(&b);
    json_decref(d);
}

static void test_syscall_parse(void **state)
{
    (void)state;
    long nr;
    unsigned long long a[6];
    int ms;
    /* a Node.js main thread in epoll_pwait(14, events, 1024, 999, NULL, 8) */
    assert_int_equal(ft_proc_syscall_parse("281 0xe 0x7ffe2c8d1c00 0x400 0x3e7 0x0 0x8 "
                                           "0x7ffe2c8d0ea0 0x7ffa82926cae",
                                           &nr, a),
                     0);
    assert_int_equal(nr, 281);
    assert_true(a[0] == 14 && a[2] == 1024 && a[3] == 999 && a[5] == 8);
#ifdef SYS_epoll_pwait
    assert_int_equal(ft_proc_wait_timeout(SYS_epoll_pwait, a, &ms), 0);
    assert_int_equal(ms, 999);
    /* no timer: -1, whether the register holds it sign-extended or not */
    a[3] = 0xffffffffffffffffULL;
    assert_int_equal(ft_proc_wait_timeout(SYS_epoll_pwait, a, &ms), 0);
    assert_int_equal(ms, -1);
    a[3] = 0xffffffffULL;
    assert_int_equal(ft_proc_wait_timeout(SYS_epoll_pwait, a, &ms), 0);
    assert_int_equal(ms, -1);
#endif
#ifdef SYS_poll
    a[2] = 250;
    assert_int_equal(ft_proc_wait_timeout(SYS_poll, a, &ms), 0);
    assert_int_equal(ms, 250);
#endif
#ifdef SYS_read
    assert_int_not_equal(ft_proc_wait_timeout(SYS_read, a, &ms), 0);
#endif
    assert_int_not_equal(ft_proc_syscall_parse("running", &nr, a), 0);
    assert_int_not_equal(ft_proc_syscall_parse("-1 0x7ffe2c8d0ea0 0x7ffa82926cae", &nr, a), 0);
    assert_int_not_equal(ft_proc_syscall_parse("7 0x1 0x2", &nr, a), 0);
}

/* The script of a node command line given as "arg\0arg\0..." (sizeof includes the last NUL). */
#define NODE_ARGV(s) s, sizeof(s)

static void test_node_script(void **state)
{
    (void)state;
    char out[256];
    assert_true(ft_node_is_exe("/usr/bin/node"));
    assert_true(ft_node_is_exe("/opt/nodejs/bin/nodejs"));
    assert_true(ft_node_is_exe("/usr/local/bin/node (deleted)"));
    assert_false(ft_node_is_exe("/usr/bin/nodemon"));
    assert_false(ft_node_is_exe("/usr/bin/bun"));

    assert_int_equal(ft_node_script(NODE_ARGV("node\0app.js\0--port\0"
                                              "8080"),
                                    "/srv", out, sizeof(out)),
                     FT_NODE_SCRIPT);
    assert_string_equal(out, "/srv/app.js");
    assert_int_equal(ft_node_script(NODE_ARGV("node\0--inspect\0-r\0dotenv/config\0./srv/main.mjs"),
                                    "/home/u/", out, sizeof(out)),
                     FT_NODE_SCRIPT);
    assert_string_equal(out, "/home/u/srv/main.mjs");
    assert_int_equal(ft_node_script(NODE_ARGV("/usr/bin/node\0--max-old-space-size=512\0--import\0"
                                              "tsx\0/abs/server.js"),
                                    "/", out, sizeof(out)),
                     FT_NODE_SCRIPT);
    assert_string_equal(out, "/abs/server.js");
    /* after "--" the next argument is the script, even when it starts with a dash */
    assert_int_equal(ft_node_script(NODE_ARGV("node\0--\0-odd.js"), "/w", out, sizeof(out)),
                     FT_NODE_SCRIPT);
    assert_string_equal(out, "/w/-odd.js");
    assert_int_equal(
        ft_node_script(NODE_ARGV("node\0-e\0setInterval(f, 1)"), "/", out, sizeof(out)),
        FT_NODE_EVAL);
    assert_int_equal(ft_node_script(NODE_ARGV("node\0--print=1"), "/", out, sizeof(out)),
                     FT_NODE_EVAL);
    assert_int_equal(ft_node_script(NODE_ARGV("node\0-"), "/", out, sizeof(out)), FT_NODE_STDIN);
    assert_int_equal(ft_node_script(NODE_ARGV("node\0--inspect"), "/", out, sizeof(out)),
                     FT_NODE_REPL);
    assert_int_equal(ft_node_script(NODE_ARGV("node"), "/", out, sizeof(out)), FT_NODE_REPL);
    /* a value-taking option at the end, and a last argument cut off without its NUL */
    assert_int_equal(ft_node_script(NODE_ARGV("node\0-r"), "/", out, sizeof(out)), FT_NODE_REPL);
    assert_int_equal(ft_node_script("node\0app.j", 10, "/", out, sizeof(out)), FT_NODE_REPL);
}

static void test_node_perf_line(void **state)
{
    (void)state;
    uint64_t start, size;
    char name[32];
    assert_int_equal(ft_node_perf_line("7f80840237c0 378 JS:~spinHere /tmp/a.js:1:18\n", &start,
                                       &size, name, sizeof(name)),
                     0);
    assert_true(start == 0x7f80840237c0ULL && size == 0x378);
    assert_string_equal(name, "JS:~spinHere /tmp/a.js:1:18");
    /* a name longer than the buffer is cut */
    assert_int_equal(
        ft_node_perf_line("10 4 Builtin:InterpreterEntryTrampolineAndMore", &start, &size, name, 8),
        0);
    assert_string_equal(name, "Builtin");
    assert_int_not_equal(ft_node_perf_line("zz 4 x", &start, &size, name, sizeof(name)), 0);
    assert_int_not_equal(ft_node_perf_line("10 4\n", &start, &size, name, sizeof(name)), 0);
    assert_int_not_equal(ft_node_perf_line("10 0 empty", &start, &size, name, sizeof(name)), 0);
}

static const char node_proc[] =
    "{\"pid\": 40, \"comm\": \"node\", \"cmdline\": \"node app.js\", \"state\": \"S\","
    " \"depth\": 1,"
    " \"node\": {\"pid\": 40, \"entry\": \"script\", \"script\": \"/srv/app.js\","
    "  \"loop\": {\"thread\": 40, \"waiting\": true, \"syscall\": \"epoll_pwait\","
    "   \"epoll_fd\": 14, \"timeout_ms\": 950},"
    "  \"handles\": ["
    "   {\"kind\": \"listen\", \"fd\": 19, \"proto\": \"tcp\", \"address\": \"127.0.0.1:8080\"},"
    "   {\"kind\": \"connection\", \"fd\": 20, \"proto\": \"tcp\", \"local\": \"127.0.0.1:5000\","
    "    \"remote\": \"127.0.0.1:8080\", \"state\": \"ESTABLISHED\","
    "    \"peer\": {\"pid\": 40, \"fd\": 21, \"comm\": \"node\"}},"
    "   {\"kind\": \"connection\", \"fd\": 22, \"proto\": \"unix\", \"address\": \"(unnamed)\","
    "    \"state\": \"CONNECTED\", \"peer\": {\"pid\": 41, \"fd\": 1, \"comm\": \"sleep\"}},"
    "   {\"kind\": \"child\", \"pid\": 41, \"cmdline\": \"sleep 100\"},"
    "   {\"kind\": \"timer\", \"due_ms\": 950}]},"
    " \"threads\": [{\"tid\": 40, \"name\": \"node\", \"state\": \"S\", \"syscall\": \"epoll_pwait\","
    "  \"fd\": 14, \"waits_on\": \"epoll set of 5: ...\"},"
    "  {\"tid\": 43, \"name\": \"node\", \"state\": \"S\", \"syscall\": \"futex\"},"
    "  {\"tid\": 44, \"name\": \"node\", \"state\": \"S\", \"syscall\": \"epoll_pwait\","
    "   \"fd\": 9, \"waits_on\": \"epoll set of 2: ...\"}],"
    " \"fds\": [{\"fd\": 9, \"type\": \"anon\", \"target\": \"anon_inode:[eventpoll]\","
    "   \"epoll_fds\": [11, 13]},"
    "  {\"fd\": 11, \"type\": \"pipe\", \"target\": \"pipe:[5]\", \"others_count\": 1,"
    "   \"others\": [{\"pid\": 40, \"fd\": 12}]},"
    "  {\"fd\": 13, \"type\": \"anon\", \"target\": \"anon_inode:[eventfd]\"}]}";

static void test_node_keeps_alive(void **state)
{
    (void)state;
    json_t *p = load(node_proc);
    struct ft_buf b;
    ft_buf_init(&b, 0);
    ft_node_keeps_alive(json_object_get(p, "node"), &b);
    assert_string_equal(b.buf, "listening 127.0.0.1:8080, connection 127.0.0.1:5000 -> "
                               "127.0.0.1:8080 ESTABLISHED (peer: itself), unix connection "
                               "(unnamed) CONNECTED (peer: pid 41 (sleep)), child pid 41 (sleep "
                               "100), timer due within 950 ms");
    /* no timer, no handle: said so */
    json_t *loop = json_object_get(json_object_get(p, "node"), "loop");
    json_object_set_new(loop, "timeout_ms", json_integer(-1));
    json_array_clear(json_object_get(json_object_get(p, "node"), "handles"));
    ft_buf_reset(&b);
    ft_node_keeps_alive(json_object_get(p, "node"), &b);
    assert_string_equal(b.buf, "no timer (waits forever)");
    ft_buf_release(&b);
    json_decref(p);
}

static void test_culprit_node_loop(void **state)
{
    (void)state;
    struct ft_buf b;
    ft_buf_init(&b, 0);
    json_t *p = load(node_proc);
    ft_node_keeps_alive(json_object_get(p, "node"), &b);
    json_object_set_new(json_object_get(p, "node"), "keeps_alive", json_string(b.buf));
    json_t *d = json_pack("{s:s, s:s, s:[o]}", "outcome", "hang", "reason", "r", "processes", p);
    ft_diag_analyse(d);
    json_t *c = json_object_get(d, "culprit");
    assert_int_equal(json_integer_value(json_object_get(c, "pid")), 40);
    assert_string_equal(json_string_value(json_object_get(c, "cause")), "event_loop_alive");
    const char *why = json_string_value(json_object_get(c, "why"));
    assert_non_null(strstr(why, "thread 40 (node) idle in its Node.js event loop (epoll_pwait on "
                                "fd 14), kept alive by: listening 127.0.0.1:8080, "));
    /* the loop's thread carries the cause; another thread of the process does not */
    json_t *th = json_array_get(json_object_get(p, "threads"), 0);
    assert_string_equal(json_string_value(json_object_get(th, "cause")), "event_loop_alive");
    th = json_array_get(json_object_get(p, "threads"), 1);
    assert_string_equal(json_string_value(json_object_get(th, "cause")), "waiting");
    /* Node's platform thread, idle on a loop of libuv's own descriptors: waiting, not a peer */
    th = json_array_get(json_object_get(p, "threads"), 2);
    assert_string_equal(json_string_value(json_object_get(th, "cause")), "waiting");
    assert_non_null(
        strstr(json_string_value(json_object_get(th, "evidence")), "a Node.js internal loop"));
    ft_buf_reset(&b);
    ft_diag_render(d, &b);
    assert_non_null(strstr(b.buf, "\n    node: script /srv/app.js; keeps the loop alive: listening "
                                  "127.0.0.1:8080, connection"));
    /* a loop that is not waiting (JavaScript runs): no event_loop_alive, and the text says so */
    json_t *loop = json_object_get(json_object_get(p, "node"), "loop");
    json_object_set_new(loop, "waiting", json_false());
    json_object_set_new(loop, "state", json_string("R"));
    th = json_array_get(json_object_get(p, "threads"), 0); /* running: in no system call */
    json_object_set_new(th, "state", json_string("R"));
    json_object_del(th, "syscall");
    json_object_del(th, "fd");
    json_object_del(th, "waits_on");
    ft_diag_analyse(d);
    c = json_object_get(d, "culprit");
    assert_string_equal(json_string_value(json_object_get(c, "cause")), "spinning");
    ft_buf_reset(&b);
    ft_diag_render(d, &b);
    assert_non_null(strstr(b.buf, "; not waiting in its event loop: its main thread runs"));
    ft_buf_release(&b);
    json_decref(d);
}

/* A Python lock-order inversion: its threads are blocked_on_lock, the joining thread is not. */
static void test_culprit_python_lock(void **state)
{
    (void)state;
    json_t *d = load(
        "{\"outcome\": \"hang\", \"reason\": \"r\", \"processes\": ["
        " {\"pid\": 10, \"comm\": \"python3\", \"cmdline\": \"python3 x.py\", \"state\": \"S\","
        "  \"depth\": 1, \"python\": \"3.11\", \"threads\": ["
        "   {\"tid\": 10, \"name\": \"python3\", \"state\": \"S\", \"syscall\": \"futex\","
        "    \"futex\": \"0x1\", \"stack\": [\"__futex_abstimed_wait_common\","
        "     \"PyThread_acquire_lock_timed\"], \"py_stack\": ["
        "     {\"file\": \"/usr/lib/python3.11/threading.py\", \"line\": 1132,"
        "      \"function\": \"_wait_for_tstate_lock\", \"code\": \"if lock.acquire(block, timeout):\"},"
        "     {\"file\": \"/usr/lib/python3.11/threading.py\", \"line\": 1112, \"function\": \"join\"},"
        "     {\"file\": \"/t/x.py\", \"line\": 44, \"function\": \"<module>\", \"code\": \"a.join()\"}]},"
        "   {\"tid\": 11, \"name\": \"python3\", \"state\": \"S\", \"syscall\": \"futex\","
        "    \"futex\": \"0x2\", \"stack\": [\"__futex_abstimed_wait_common\","
        "     \"PyThread_acquire_lock_timed\"], \"py_stack\": ["
        "     {\"file\": \"/t/x.py\", \"line\": 28, \"function\": \"thread_a\","
        "      \"code\": \"lock2.acquire()  # a | b\"}]},"
        "   {\"tid\": 12, \"name\": \"python3\", \"state\": \"S\", \"syscall\": \"futex\","
        "    \"futex\": \"0x3\", \"py_stack\": ["
        "     {\"function\": \"<built-in method __enter__ of _thread.lock object>\"},"
        "     {\"file\": \"/t/x.py\", \"line\": 36, \"function\": \"thread_b\","
        "      \"code\": \"with lock1:\"}]}],"
        "  \"fds\": []}]}");
    ft_diag_analyse(d);
    json_t *threads =
        json_object_get(json_array_get(json_object_get(d, "processes"), 0), "threads");
    const json_t *join = json_array_get(threads, 0);
    assert_string_equal(json_string_value(json_object_get(join, "cause")), "waiting_for_thread");
    assert_non_null(strstr(json_string_value(json_object_get(join, "evidence")),
                           "waits for another thread to end (Python's join); in Python: "
                           "/usr/lib/python3.11/threading.py:1132 in "
                           "_wait_for_tstate_lock: if lock.acquire(block, timeout):, from "
                           "/t/x.py:44 in <module>: a.join()"));
    /* by the native stack, and (without one) by the source line of the with statement */
    assert_string_equal(json_string_value(json_object_get(json_array_get(threads, 1), "cause")),
                        "blocked_on_lock");
    assert_string_equal(json_string_value(json_object_get(json_array_get(threads, 2), "cause")),
                        "blocked_on_lock");
    json_t *c = json_object_get(d, "culprit");
    assert_string_equal(json_string_value(json_object_get(c, "cause")), "blocked_on_lock");
    /* the source line keeps its '|' (the marker of a leak's detail is another one) */
    assert_string_equal(json_string_value(json_object_get(c, "why")),
                        "thread 11 (python3) waits to acquire a Python lock (futex 0x2); in "
                        "Python: /t/x.py:28 in thread_a: lock2.acquire()  # a | b");
    struct ft_buf b;
    ft_buf_init(&b, 0);
    ft_diag_render(d, &b);
    assert_non_null(strstr(b.buf, "      py: thread_a (/t/x.py:28): lock2.acquire()  # a | b\n"));
    assert_non_null(strstr(b.buf, "      py: <built-in method __enter__ of _thread.lock object>\n"
                                  "      py: thread_b (/t/x.py:36): with lock1:\n"));
    ft_buf_release(&b);
    json_decref(d);
}

/* A forgotten non-daemon thread: the interpreter's exit joins it; the thread is the culprit. */
static void test_culprit_python_shutdown(void **state)
{
    (void)state;
    json_t *d =
        load("{\"outcome\": \"hang\", \"reason\": \"r\", \"processes\": ["
             " {\"pid\": 20, \"comm\": \"python3\", \"state\": \"S\", \"depth\": 1,"
             "  \"python\": \"3.11\", \"threads\": ["
             "   {\"tid\": 20, \"name\": \"python3\", \"state\": \"S\", \"syscall\": \"futex\","
             "    \"py_stack\": [{\"file\": \"/usr/lib/python3.11/threading.py\", \"line\": 1583,"
             "     \"function\": \"_shutdown\", \"code\": \"lock.acquire()\"}]},"
             "   {\"tid\": 21, \"name\": \"python3\", \"state\": \"S\", \"syscall\": \"futex\","
             "    \"py_stack\": [{\"file\": \"/usr/lib/python3.11/threading.py\", \"line\": 320,"
             "     \"function\": \"wait\", \"code\": \"waiter.acquire()\"},"
             "     {\"file\": \"/usr/lib/python3.11/threading.py\", \"line\": 622,"
             "      \"function\": \"wait\", \"code\": \"signaled = self._cond.wait(timeout)\"},"
             "     {\"file\": \"/t/w.py\", \"line\": 4, \"function\": \"worker\","
             "      \"code\": \"ready.wait()\"}]}],"
             "  \"fds\": []}]}");
    ft_diag_analyse(d);
    json_t *threads =
        json_object_get(json_array_get(json_object_get(d, "processes"), 0), "threads");
    const json_t *main_th = json_array_get(threads, 0);
    assert_string_equal(json_string_value(json_object_get(main_th, "cause")), "waiting_for_thread");
    assert_non_null(strstr(json_string_value(json_object_get(main_th, "evidence")),
                           "at the interpreter's exit: a non-daemon thread never ended"));
    json_t *c = json_object_get(d, "culprit");
    assert_non_null(strstr(json_string_value(json_object_get(c, "why")),
                           "thread 21 (python3) state S in futex; in Python: "
                           "/usr/lib/python3.11/threading.py:320 in wait: waiter.acquire(), from "
                           "/t/w.py:4 in worker: ready.wait()"));
    json_decref(d);
}

#define IDLE_LOOP_FMT                                                                              \
    "{\"outcome\": \"hang\", \"reason\": \"r\", \"processes\": ["                                  \
    " {\"pid\": 30, \"comm\": \"python3\", \"state\": \"S\", \"depth\": 1, \"threads\": ["         \
    "   {\"tid\": 30, \"name\": \"python3\", \"state\": \"S\", \"syscall\": \"epoll_wait\","       \
    "    \"fd\": 3, \"waits_on\": \"epoll set of 1\", \"timeout_ms\": %d}],"                       \
    "  \"fds\": [{\"fd\": 3, \"type\": \"anon\", \"target\": \"anon_inode:[eventpoll]\","          \
    "    \"epoll_fds\": [4]},"                                                                     \
    "   {\"fd\": 4, \"type\": \"unix\", \"peer\": {\"pid\": %d, \"fd\": 5}}]}]}"

/* An event loop waiting only on its own wakeup socket is idle; one whose peer is elsewhere
 * waits for that peer. */
static void test_culprit_idle_loop(void **state)
{
    (void)state;
    char text[2048];
    snprintf(text, sizeof(text), IDLE_LOOP_FMT, -1, 30);
    json_t *d = load(text);
    ft_diag_analyse(d);
    json_t *c = json_object_get(d, "culprit");
    assert_string_equal(json_string_value(json_object_get(c, "cause")), "event_loop_idle");
    assert_null(strstr(json_string_value(json_object_get(c, "why")), "timer"));
    json_decref(d);
    snprintf(text, sizeof(text), IDLE_LOOP_FMT, 250, 30);
    d = load(text);
    ft_diag_analyse(d);
    c = json_object_get(d, "culprit");
    assert_non_null(strstr(json_string_value(json_object_get(c, "why")),
                           "but its own timer, due within 250 ms"));
    json_decref(d);
    snprintf(text, sizeof(text), IDLE_LOOP_FMT, -1, 31);
    d = load(text);
    ft_diag_analyse(d);
    c = json_object_get(d, "culprit");
    assert_string_equal(json_string_value(json_object_get(c, "cause")), "waiting_for_peer");
    json_decref(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stat_parse),
        cmocka_unit_test(test_addr_fmt),
        cmocka_unit_test(test_sockaddr_fmt),
        cmocka_unit_test(test_lock_parse),
        cmocka_unit_test(test_syscall_patharg),
        cmocka_unit_test(test_inet_parse),
        cmocka_unit_test(test_tcp_state),
        cmocka_unit_test(test_unix_parse),
        cmocka_unit_test(test_utf8_sanitize),
        cmocka_unit_test(test_tail),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_exit_status),
        cmocka_unit_test(test_signals),
        cmocka_unit_test(test_parse_stacks),
        cmocka_unit_test(test_parse_py_stacks),
        cmocka_unit_test(test_culprit_deadlock),
        cmocka_unit_test(test_culprit_socket_over_sleep),
        cmocka_unit_test(test_culprit_leak_holder),
        cmocka_unit_test(test_culprit_wait_cycle),
        cmocka_unit_test(test_syscall_parse),
        cmocka_unit_test(test_node_script),
        cmocka_unit_test(test_node_keeps_alive),
        cmocka_unit_test(test_node_perf_line),
        cmocka_unit_test(test_culprit_node_loop),
        cmocka_unit_test(test_culprit_python_lock),
        cmocka_unit_test(test_culprit_python_shutdown),
        cmocka_unit_test(test_culprit_idle_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
