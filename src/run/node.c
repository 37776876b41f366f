/*
 * Node.js processes in a snapshot (see node.h).
 *
 * A Node.js process idle in its event loop is its main thread in epoll_pwait on the loop's
 * epoll set (libuv's uv__io_poll), with the time to the next timer as the timeout. What keeps
 * the loop alive is then visible from /proc: the set's descriptors (each already resolved by
 * proc.c), the children, and that timeout. libuv's own descriptors are told apart by what
 * they are, since nothing in /proc says which handle owns a descriptor:
 *   - the epoll set itself;
 *   - an eventfd in the set: libuv's async wakeup (every uv_async_t of the loop shares it;
 *     Node uses them for its platform tasks and worker messages);
 *   - a pipe in the set whose every other holder is the process itself: a self-pipe, which is
 *     how libuv delivers signals to the loop (SIGCHLD for child processes, process.on(sig));
 *   - an io_uring descriptor (libuv's file system ring, when enabled).
 * A user program that makes a pipe to itself or an eventfd would be counted as libuv's.
 * Handles that are open but unref'd (server.unref(), timer.unref()) cannot be told from /proc:
 * they are listed too. libuv also leaves a stopped descriptor in the epoll set until an event
 * arrives for it, so a socket whose reading was stopped can still be listed.
 */
#include "node.h"

#include "../util/ft_err.h"
#include "../util/ft_xalloc.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/banned.h"

#define ARGV_MAX (64 * 1024)
/* Frames named from a perf map per process, and the bytes of the map read at most: it grows
 * with every function V8 compiles, for the life of the process. */
#define PERF_FRAMES_MAX 512
#define PERF_MAP_MAX    (64L * 1024 * 1024)

/* ---- pure helpers ------------------------------------------------------------------- */

int ft_node_is_exe(const char *exe)
{
    const char *base = strrchr(exe, '/');
    base = base ? base + 1 : exe;
    size_t n = strcspn(base, " "); /* "node (deleted)" */
    return (n == 4 && strncmp(base, "node", 4) == 0) || (n == 6 && strncmp(base, "nodejs", 6) == 0);
}

/*
 * Node's options that take their value as the next argument when not written "--opt=value"
 * (node --help, Node.js 18 to 22), and the V8 options people give that way.
 */
static const char *const value_opts[] = {
    "-r",
    "--require",
    "-C",
    "--conditions",
    "--import",
    "--loader",
    "--experimental-loader",
    "--input-type",
    "--inspect-port",
    "--debug-port",
    "--title",
    "--env-file",
    "--icu-data-dir",
    "--openssl-config",
    "--redirect-warnings",
    "--report-dir",
    "--report-directory",
    "--report-filename",
    "--report-signal",
    "--diagnostic-dir",
    "--cpu-prof-dir",
    "--cpu-prof-name",
    "--cpu-prof-interval",
    "--heap-prof-dir",
    "--heap-prof-name",
    "--heap-prof-interval",
    "--heapsnapshot-signal",
    "--heapsnapshot-near-heap-limit",
    "--secure-heap",
    "--secure-heap-min",
    "--tls-cipher-list",
    "--tls-keylog",
    "--unhandled-rejections",
    "--use-largepages",
    "--watch-path",
    "--test-name-pattern",
    "--test-skip-pattern",
    "--test-reporter",
    "--test-reporter-destination",
    "--test-shard",
    "--test-concurrency",
    "--test-timeout",
    "--max-http-header-size",
    "--dns-result-order",
    "--disable-proto",
    "--disable-warning",
    "--experimental-policy",
    "--policy-integrity",
    "--experimental-default-type",
    "--experimental-sea-config",
    "--trace-event-categories",
    "--trace-event-file-pattern",
    "--max-old-space-size",
    "--max-semi-space-size",
    "--stack-size",
    "--stack-trace-limit",
};

static int takes_value(const char *opt)
{
    for (size_t i = 0; i < sizeof(value_opts) / sizeof(value_opts[0]); i++)
        if (strcmp(opt, value_opts[i]) == 0)
            return 1;
    return 0;
}

static int is_eval_opt(const char *a)
{
    return strcmp(a, "-e") == 0 || strcmp(a, "--eval") == 0 || strcmp(a, "-p") == 0 ||
           strcmp(a, "--print") == 0 || strcmp(a, "-pe") == 0 || strncmp(a, "--eval=", 7) == 0 ||
           strncmp(a, "--print=", 8) == 0;
}

static void join_path(const char *cwd, const char *arg, char *out, size_t outn)
{
    if (arg[0] == '/') {
        snprintf(out, outn, "%s", arg);
        return;
    }
    while (strncmp(arg, "./", 2) == 0)
        arg += 2;
    size_t cl = strlen(cwd);
    snprintf(out, outn, "%s%s%s", cwd, cl && cwd[cl - 1] == '/' ? "" : "/", arg);
}

enum ft_node_entry ft_node_script(const char *argv, size_t n, const char *cwd, char *out,
                                  size_t outn)
{
    const char *end = argv + n;
    const char *a = argv;
    int operand = 0; /* after "--": the next argument is the script whatever it looks like */
    out[0] = '\0';
    a += strnlen(a, (size_t)(end - a)) + 1; /* argv[0]: node itself */
    while (a < end) {
        size_t len = strnlen(a, (size_t)(end - a));
        if (len == (size_t)(end - a))
            break; /* the last argument lacks its NUL: cut off, not trusted */
        const char *next = a + len + 1;
        if (!operand && strcmp(a, "--") == 0) {
            operand = 1;
        } else if (!operand && strcmp(a, "-") == 0) {
            return FT_NODE_STDIN;
        } else if (!operand && a[0] == '-' && len > 1) {
            if (is_eval_opt(a))
                return FT_NODE_EVAL;
            if (!strchr(a, '=') && takes_value(a) && next < end)
                next += strnlen(next, (size_t)(end - next)) + 1;
        } else {
            join_path(cwd, a, out, outn);
            return FT_NODE_SCRIPT;
        }
        a = next;
    }
    return FT_NODE_REPL;
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static int jint(const json_t *o, const char *key)
{
    return (int)json_integer_value(json_object_get(o, key));
}

/* Who holds the peer of a socket handle, as the text says it. */
static void add_peer(struct ft_buf *out, const json_t *h, int self)
{
    const json_t *peer = json_object_get(h, "peer");
    if (!peer)
        return;
    if (jint(peer, "pid") == self)
        ft_buf_adds(out, " (peer: itself)");
    else
        ft_buf_addf(out, " (peer: pid %d (%s))", jint(peer, "pid"), jstr(peer, "comm"));
}

void ft_node_keeps_alive(const json_t *node, struct ft_buf *out)
{
    size_t i, shown = 0;
    json_t *h;
    int self = jint(node, "pid");
    json_array_foreach(json_object_get(node, "handles"), i, h)
    {
        const char *kind = jstr(h, "kind");
        ft_buf_adds(out, shown++ ? ", " : "");
        if (strcmp(kind, "listen") == 0) {
            ft_buf_addf(out, "listening %s%s", strcmp(jstr(h, "proto"), "unix") == 0 ? "unix " : "",
                        jstr(h, "address"));
        } else if (strcmp(kind, "connection") == 0) {
            if (strcmp(jstr(h, "proto"), "unix") == 0)
                ft_buf_addf(out, "unix connection %s %s", jstr(h, "address"), jstr(h, "state"));
            else
                ft_buf_addf(out, "connection %s -> %s %s", jstr(h, "local"), jstr(h, "remote"),
                            jstr(h, "state"));
            add_peer(out, h, self);
        } else if (strcmp(kind, "udp") == 0) {
            ft_buf_addf(out, "udp %s", jstr(h, "address"));
        } else if (strcmp(kind, "child") == 0) {
            ft_buf_addf(out, "child pid %d (%s)", jint(h, "pid"), jstr(h, "cmdline"));
        } else if (strcmp(kind, "timer") == 0) {
            if (jint(h, "due_ms") == 0)
                ft_buf_adds(out, "work due now (timeout 0: an expired timer, setImmediate or a "
                                 "closing handle)");
            else
                ft_buf_addf(out, "timer due within %d ms", jint(h, "due_ms"));
        } else if (strcmp(kind, "tty") == 0) {
            ft_buf_addf(out, "tty %s", jstr(h, "path"));
        } else {
            ft_buf_addf(out, "%s fd %d (%.160s)", kind, jint(h, "fd"), jstr(h, "desc"));
        }
    }
    const json_t *loop = json_object_get(node, "loop");
    if (json_is_true(json_object_get(loop, "waiting")) && jint(loop, "timeout_ms") < 0)
        ft_buf_addf(out, "%sno timer (waits forever)", shown ? ", " : "");
    else if (!shown)
        ft_buf_adds(out, "nothing visible");
}

/* ---- reading the snapshot ------------------------------------------------------------ */

static const json_t *fd_by_num(const json_t *p, json_int_t fd)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(p, "fds"), i, f)
    {
        if (json_integer_value(json_object_get(f, "fd")) == fd)
            return f;
    }
    return NULL;
}

/* A pipe whose every other holder is the process itself (and there is one). */
static int self_pipe(const json_t *f, int pid)
{
    const json_t *others = json_object_get(f, "others");
    size_t i, n = json_array_size(others);
    json_t *o;
    if (!n || jint(f, "others_count") != (int)n)
        return 0;
    json_array_foreach(others, i, o)
    {
        if (jint(o, "pid") != pid)
            return 0;
    }
    return 1;
}

/* What libuv's own descriptor f is, or NULL when it is not one (see the top of the file). */
static const char *internal_what(const json_t *f, int pid)
{
    const char *type = jstr(f, "type"), *target = jstr(f, "target");
    if (strcmp(type, "anon") == 0 && strstr(target, "eventfd"))
        return "eventfd: libuv's async wakeup (uv_async_t)";
    if (strcmp(type, "anon") == 0 && strstr(target, "io_uring"))
        return "io_uring: libuv's file system ring";
    if (strcmp(type, "anon") == 0 && strstr(target, "eventpoll"))
        return "epoll set";
    if (strcmp(type, "pipe") == 0 && self_pipe(f, pid))
        return "self-pipe (both ends in this process): libuv's signal pipe (SIGCHLD, "
               "process.on(signal))";
    return NULL;
}

/* A socket descriptor as a handle: listening, connected, or a UDP socket. */
static json_t *socket_handle(const json_t *f)
{
    const char *type = jstr(f, "type"), *state = jstr(f, "state");
    int unix_sock = strcmp(type, "unix") == 0;
    int listen = strcmp(state, "LISTEN") == 0, udp = strncmp(type, "udp", 3) == 0;
    json_t *h = json_object();
    json_object_set_new(h, "kind", json_string(listen ? "listen" : udp ? "udp" : "connection"));
    json_object_set_new(h, "fd", json_integer(jint(f, "fd")));
    json_object_set_new(h, "proto", json_string(type));
    if (unix_sock)
        json_object_set_new(h, "address",
                            json_string(*jstr(f, "path") ? jstr(f, "path") : "(unnamed)"));
    else if (listen || udp)
        json_object_set_new(h, "address", json_string(jstr(f, "local")));
    if (!listen && !udp) {
        if (!unix_sock) {
            json_object_set_new(h, "local", json_string(jstr(f, "local")));
            json_object_set_new(h, "remote", json_string(jstr(f, "remote")));
        }
        json_object_set_new(h, "state", json_string(state));
        if (json_object_get(f, "peer"))
            json_object_set(h, "peer", json_object_get(f, "peer"));
    }
    return h;
}

static int is_socket(const json_t *f)
{
    const char *type = jstr(f, "type");
    return strncmp(type, "tcp", 3) == 0 || strncmp(type, "udp", 3) == 0 ||
           strcmp(type, "unix") == 0;
}

/* Any descriptor of the loop's set that is not libuv's own, as a handle. */
static json_t *fd_handle(const json_t *f)
{
    if (is_socket(f))
        return socket_handle(f);
    const char *type = jstr(f, "type"), *path = jstr(f, "path"), *target = jstr(f, "target");
    json_t *h = json_object();
    const char *kind = strcmp(type, "pipe") == 0 ? "pipe"
                       : strncmp(path, "/dev/pts/", 9) == 0 || strncmp(path, "/dev/tty", 8) == 0
                           ? "tty"
                       : strstr(target, "inotify") ? "watch"
                                                   : "fd";
    json_object_set_new(h, "kind", json_string(kind));
    json_object_set_new(h, "fd", json_integer(jint(f, "fd")));
    if (*path)
        json_object_set_new(h, "path", json_string(path));
    json_object_set_new(h, "desc", json_string(jstr(f, "desc")));
    return h;
}

/* The order handles are listed in: servers first, then connections, other descriptors,
 * children, the timer; by descriptor within a kind. */
static int handle_rank(const json_t *h)
{
    static const char *const kinds[] = {"listen", "udp", "connection", "pipe", "tty",
                                        "watch",  "fd",  "child",      "timer"};
    const char *kind = jstr(h, "kind");
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (strcmp(kind, kinds[i]) == 0)
            return (int)i;
    return (int)(sizeof(kinds) / sizeof(kinds[0]));
}

static int handle_before(const json_t *a, const json_t *b)
{
    int ra = handle_rank(a), rb = handle_rank(b);
    if (ra != rb)
        return ra < rb;
    return jint(a, "fd") < jint(b, "fd");
}

/* Insertion sort: a process has a handful of handles. */
static void sort_handles(json_t *a)
{
    size_t n = json_array_size(a);
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0; k--) {
            json_t *x = json_array_get(a, k - 1), *y = json_array_get(a, k);
            if (!handle_before(y, x))
                break;
            json_incref(x);
            json_array_set(a, k - 1, y);
            json_array_set_new(a, k, x);
        }
}

/* The main thread (tid = pid) and, when it waits in epoll, the loop's facts. */
static json_t *loop_of(const json_t *p, int pid, json_int_t *epfd)
{
    size_t i;
    json_t *th;
    *epfd = -1;
    json_array_foreach(json_object_get(p, "threads"), i, th)
    {
        if (jint(th, "tid") != pid)
            continue;
        const char *sc = jstr(th, "syscall");
        json_t *loop =
            json_pack("{s:i, s:s, s:s}", "thread", pid, "state", jstr(th, "state"), "syscall", sc);
        int in_epoll = (strcmp(sc, "epoll_wait") == 0 || strcmp(sc, "epoll_pwait") == 0) &&
                       json_object_get(th, "fd") && *jstr(th, "state") != 'R';
        json_object_set_new(loop, "waiting", json_boolean(in_epoll));
        if (in_epoll) {
            *epfd = json_integer_value(json_object_get(th, "fd"));
            json_object_set_new(loop, "epoll_fd", json_integer(*epfd));
            if (json_object_get(th, "timeout_ms"))
                json_object_set_new(loop, "timeout_ms", json_integer(jint(th, "timeout_ms")));
        }
        return loop;
    }
    return json_pack("{s:i, s:b}", "thread", pid, "waiting", 0);
}

/* The script, read from /proc/PID/cmdline and /proc/PID/cwd, into node. */
static void node_script(json_t *node, int pid)
{
    static const char *const entries[] = {"script", "eval", "stdin", "repl"};
    char path[64], cwd[PATH_MAX], script[PATH_MAX + 64], real[PATH_MAX];
    snprintf(path, sizeof(path), "/proc/%d/cwd", pid);
    ssize_t k = readlink(path, cwd, sizeof(cwd) - 1);
    cwd[k > 0 ? k : 0] = '\0';
    snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char *argv = ft_xmalloc(ARGV_MAX);
    ssize_t n = read(fd, argv, ARGV_MAX);
    close(fd);
    enum ft_node_entry e = ft_node_script(argv, n > 0 ? (size_t)n : 0, cwd, script, sizeof(script));
    free(argv);
    json_object_set_new(node, "entry", json_string(entries[e]));
    if (e != FT_NODE_SCRIPT) {
        json_object_set_new(node, "script", json_null());
        return;
    }
    /* As Node finds its main module: the path, or with an extension added; then realpath. */
    static const char *const ext[] = {"", ".js", ".mjs", ".cjs"};
    for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
        char cand[PATH_MAX + 80];
        struct stat sb;
        snprintf(cand, sizeof(cand), "%s%s", script, ext[i]);
        if (stat(cand, &sb) == 0 && S_ISREG(sb.st_mode) && realpath(cand, real)) {
            json_object_set_new(node, "script", json_string(real));
            return;
        }
    }
    json_object_set_new(node, "script", json_string(script)); /* gone, or not ours to read */
}

static json_t *node_of(const json_t *p, const json_t *procs, const char *exe)
{
    int pid = jint(p, "pid");
    json_t *node = json_object();
    json_object_set_new(node, "pid", json_integer(pid));
    json_object_set_new(node, "exe", json_string(exe));
    node_script(node, pid);
    json_int_t epfd;
    json_t *loop = loop_of(p, pid, &epfd);
    json_t *handles = json_array(), *internal = json_array();
    const json_t *ep = epfd >= 0 ? fd_by_num(p, epfd) : NULL;
    if (ep) {
        json_array_append_new(
            internal, json_pack("{s:I, s:s}", "fd", epfd, "what", "the event loop's epoll set"));
        size_t i;
        json_t *t;
        json_array_foreach(json_object_get(ep, "epoll_fds"), i, t)
        {
            const json_t *f = fd_by_num(p, json_integer_value(t));
            const char *what = f ? internal_what(f, pid) : NULL;
            if (!f)
                continue; /* closed since it was added, or not readable */
            if (what)
                json_array_append_new(internal,
                                      json_pack("{s:i, s:s}", "fd", jint(f, "fd"), "what", what));
            else
                json_array_append_new(handles, fd_handle(f));
        }
    } else {
        /* The loop is not waiting (JavaScript runs, or a synchronous call blocks it): no
         * epoll set says what it watches; its sockets are what it would serve. */
        size_t i;
        json_t *f;
        json_array_foreach(json_object_get(p, "fds"), i, f)
        {
            if (is_socket(f))
                json_array_append_new(handles, socket_handle(f));
        }
    }
    size_t i;
    json_t *c;
    json_array_foreach(procs, i, c)
    {
        if (jint(c, "ppid") == pid && jint(c, "pid") != pid)
            json_array_append_new(
                handles,
                json_pack("{s:s, s:i, s:s}", "kind", "child", "pid", jint(c, "pid"), "cmdline",
                          /* a zombie has no command line: its name */
                          *jstr(c, "cmdline") ? jstr(c, "cmdline") : jstr(c, "comm")));
    }
    if (json_is_true(json_object_get(loop, "waiting")) && json_object_get(loop, "timeout_ms") &&
        jint(loop, "timeout_ms") >= 0)
        json_array_append_new(
            handles, json_pack("{s:s, s:i}", "kind", "timer", "due_ms", jint(loop, "timeout_ms")));
    sort_handles(handles);
    json_object_set_new(node, "loop", loop);
    json_object_set_new(node, "handles", handles);
    json_object_set_new(node, "internal", internal);
    struct ft_buf b;
    ft_buf_init(&b, 0);
    ft_node_keeps_alive(node, &b);
    json_object_set_new(node, "keeps_alive", json_string(b.buf));
    ft_buf_release(&b);
    return node;
}

void ft_node_annotate(json_t *procs)
{
    size_t i;
    json_t *p;
    json_array_foreach(procs, i, p)
    {
        char path[64], exe[PATH_MAX];
        snprintf(path, sizeof(path), "/proc/%d/exe", jint(p, "pid"));
        ssize_t n = readlink(path, exe, sizeof(exe) - 1);
        if (n <= 0)
            continue; /* a zombie, a kernel thread, or not ours to read */
        exe[n] = '\0';
        if (ft_node_is_exe(exe))
            json_object_set_new(p, "node", node_of(p, procs, exe));
    }
}

/* ---- the diagnosis ------------------------------------------------------------------- */

/* A thread in epoll_wait/epoll_pwait on a set holding only libuv's own descriptors. */
static int idle_internal_loop(const json_t *p, const json_t *th)
{
    const char *sc = jstr(th, "syscall");
    if ((strcmp(sc, "epoll_wait") != 0 && strcmp(sc, "epoll_pwait") != 0) ||
        !json_object_get(th, "fd"))
        return 0;
    const json_t *ep = fd_by_num(p, json_integer_value(json_object_get(th, "fd")));
    const json_t *set = json_object_get(ep, "epoll_fds");
    size_t i;
    json_t *t;
    if (!json_array_size(set))
        return 0;
    json_array_foreach(set, i, t)
    {
        const json_t *f = fd_by_num(p, json_integer_value(t));
        if (!f || !internal_what(f, jint(p, "pid")))
            return 0;
    }
    return 1;
}

const char *ft_node_thread_cause(const json_t *p, const json_t *th, struct ft_buf *why, int *score)
{
    const json_t *node = json_object_get(p, "node");
    const json_t *loop = json_object_get(node, "loop");
    if (!node)
        return NULL;
    if (json_is_true(json_object_get(loop, "waiting")) && jint(loop, "thread") == jint(th, "tid")) {
        ft_buf_addf(
            why, "thread %d (%s) idle in its Node.js event loop (%s on fd %d), kept alive by: %s",
            jint(th, "tid"), jstr(th, "name"), jstr(loop, "syscall"), jint(loop, "epoll_fd"),
            jstr(node, "keeps_alive"));
        *score = 600; /* as a wait on a descriptor: a process blocked on a socket goes first */
        return "event_loop_alive";
    }
    if (jint(th, "tid") != jint(p, "pid") && idle_internal_loop(p, th)) {
        /* Node's platform thread (delayed V8 tasks) runs a loop of its own: it waits for Node,
         * not for anything outside. */
        ft_buf_addf(why,
                    "thread %d (%s) idle in %s on fd %d: a Node.js internal loop (only libuv's own "
                    "descriptors)",
                    jint(th, "tid"), jstr(th, "name"), jstr(th, "syscall"), jint(th, "fd"));
        *score = 200;
        return "waiting";
    }
    return NULL;
}

void ft_node_render(const json_t *p, struct ft_buf *out)
{
    const json_t *node = json_object_get(p, "node");
    if (!node)
        return;
    const char *entry = jstr(node, "entry");
    ft_buf_adds(out, "    node: ");
    if (strcmp(entry, "script") == 0)
        ft_buf_addf(out, "script %s", jstr(node, "script"));
    else if (strcmp(entry, "eval") == 0)
        ft_buf_adds(out, "no script (-e/-p: the program is on the command line)");
    else if (strcmp(entry, "stdin") == 0)
        ft_buf_adds(out, "no script (the program was read from stdin)");
    else
        ft_buf_adds(out, "no script (the REPL, or a program read from stdin)");
    const json_t *loop = json_object_get(node, "loop");
    if (json_is_true(json_object_get(loop, "waiting")))
        ft_buf_addf(out, "; keeps the loop alive: %s\n", jstr(node, "keeps_alive"));
    else if (*jstr(loop, "state") == 'R')
        ft_buf_addf(out,
                    "; not waiting in its event loop: its main thread runs (JavaScript or "
                    "native code holds the loop); open: %s\n",
                    jstr(node, "keeps_alive"));
    else
        ft_buf_addf(out,
                    "; not waiting in its event loop: its main thread is in %s (a synchronous "
                    "call holds the loop); open: %s\n",
                    *jstr(loop, "syscall") ? jstr(loop, "syscall") : "?",
                    jstr(node, "keeps_alive"));
}

/* ---- JavaScript frames from a perf map ---------------------------------------------- */

int ft_node_perf_line(const char *line, uint64_t *start, uint64_t *size, char *name, size_t n)
{
    int pos = 0;
    if (sscanf(line, "%" SCNx64 " %" SCNx64 " %n", start, size, &pos) != 2 || pos == 0)
        return FT_EINVAL;
    const char *p = line + pos;
    size_t len = strcspn(p, "\r\n");
    if (len == 0 || *size == 0)
        return FT_EINVAL;
    if (len >= n)
        len = n - 1;
    memcpy(name, p, len);
    name[len] = '\0';
    return 0;
}

/* The pid of pid in its own namespace (the last NSpid of /proc/PID/status): the map's name. */
static int ns_pid(int pid)
{
    char path[64], line[256];
    int v = pid;
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return pid;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "NSpid:", 6) != 0)
            continue;
        char *p = line + 6, *end;
        for (;;) {
            long x = strtol(p, &end, 10);
            if (end == p)
                break;
            v = (int)x;
            p = end;
        }
        break;
    }
    fclose(f);
    return v;
}

/* A frame that is a bare address, as eu-stack gives an unknown one: its value. */
static int bare_address(const char *frame, uint64_t *addr)
{
    if (strncmp(frame, "0x", 2) != 0 || !frame[2] ||
        strspn(frame + 2, "0123456789abcdefABCDEF") != strlen(frame + 2))
        return 0;
    *addr = strtoull(frame + 2, NULL, 16);
    return 1;
}

struct perf_frame {
    json_t *stack; /* the thread's frames (borrowed) */
    size_t index;
    uint64_t addr;
    char *name; /* from the map: the last entry covering addr wins (code moves, is freed) */
};

/* Read the map once and name every frame; the bytes read are bounded by PERF_MAP_MAX. */
static void perf_names(FILE *f, struct perf_frame *v, size_t n)
{
    char line[1024], name[1024];
    long got = 0;
    while (got < PERF_MAP_MAX && fgets(line, sizeof(line), f)) {
        size_t len = strlen(line);
        got += (long)len;
        if (len && line[len - 1] != '\n') { /* a longer line: its name cut, the rest skipped */
            int c;
            while ((c = fgetc(f)) != EOF && c != '\n')
                got++;
        }
        uint64_t start, size;
        if (ft_node_perf_line(line, &start, &size, name, sizeof(name)))
            continue;
        for (size_t i = 0; i < n; i++) {
            if (v[i].addr < start || v[i].addr - start >= size)
                continue;
            free(v[i].name);
            v[i].name = ft_xstrdup(name);
        }
    }
}

static void node_stack_names(json_t *p, json_t *node)
{
    struct perf_frame *v = NULL;
    size_t n = 0, cap = 0, i, k;
    json_t *th, *fr;
    json_array_foreach(json_object_get(p, "threads"), i, th)
    {
        json_t *stack = json_object_get(th, "stack");
        json_array_foreach(stack, k, fr)
        {
            uint64_t addr;
            if (n >= PERF_FRAMES_MAX ||
                !bare_address(json_string_value(fr) ? json_string_value(fr) : "", &addr))
                continue;
            ft_xgrow((void **)&v, &cap, n + 1, sizeof(*v));
            v[n++] = (struct perf_frame){stack, k, addr, NULL};
        }
    }
    if (!n)
        return;
    int pid = jint(p, "pid");
    char path[128], shown[64];
    /* Through the process's root: the /tmp it wrote to, also in another mount namespace. */
    snprintf(path, sizeof(path), "/proc/%d/root/tmp/perf-%d.map", pid, ns_pid(pid));
    snprintf(shown, sizeof(shown), "/tmp/perf-%d.map", ns_pid(pid));
    FILE *f = fopen(path, "re");
    if (f) {
        perf_names(f, v, n);
        fclose(f);
        size_t named = 0;
        for (i = 0; i < n; i++)
            if (v[i].name) {
                json_array_set_new(v[i].stack, v[i].index, json_string(v[i].name));
                named++;
            }
        json_object_set_new(node, "perf_map", json_string(shown));
        json_object_set_new(node, "js_frames", json_integer((json_int_t)named));
    }
    for (i = 0; i < n; i++)
        free(v[i].name);
    free(v);
}

void ft_node_stacks(json_t *diag)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(diag, "processes"), i, p)
    {
        json_t *node = json_object_get(p, "node");
        if (node)
            node_stack_names(p, node);
    }
}
