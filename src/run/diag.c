/*
 * Diagnosis (see diag.h): native stacks, the likely culprit, the human text.
 *
 * The culprit is chosen by a score per process, highest first:
 *   leak: a process holding the write end of the command's output (it is why
 *         the output never reached EOF), then any process left, deeper first;
 *   hang: a cycle of threads each waiting for a mutex the next one owns, then
 *         a thread blocked on a socket, then one blocked on any descriptor,
 *         then any other leaf; a process waiting for its children (wait4,
 *         waitid) is never preferred, since one of those children is the cause.
 * These are heuristics: the whole snapshot is printed after the culprit.
 */
#include "diag.h"

#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"
#include "node.h"
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../util/banned.h"

extern char **environ;

#define STACK_PROCS_MAX  16
#define STACK_FRAMES_MAX 32
#define STACK_OUT_MAX    (1024 * 1024)
#define TEXT_FDS_MAX     24
#define TEXT_FRAMES_MAX  10
#define TEXT_PROCS_MAX   12

/* ---- native stacks ------------------------------------------------------------------- */

/* Full path of an executable found in PATH, or 0. */
static int find_in_path(const char *name, char *out, size_t n)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t len = strcspn(path, ":");
        snprintf(out, n, "%.*s/%s", (int)len, path, name);
        if (len && access(out, X_OK) == 0)
            return 1;
        path += len;
        if (*path == ':')
            path++;
    }
    return 0;
}

/*
 * Run argv with stdout and stderr into *out until it exits or `until`
 * (monotonic ms); killed at the deadline. Returns its wait status, or -1 when
 * it could not start or had to be killed.
 */
static int run_capture(char *const *argv, int64_t until, struct ft_buf *out)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&fa, p[1], STDERR_FILENO);
    sigset_t none, def;
    sigemptyset(&none);
    sigfillset(&def);
    sigdelset(&def, SIGKILL);
    sigdelset(&def, SIGSTOP);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &def);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(p[1]);
    if (rc != 0) {
        close(p[0]);
        return -1;
    }
    int killed = 0;
    for (;;) {
        int64_t now = ft_mono_ms();
        if (now >= until) {
            kill(pid, SIGKILL);
            killed = 1;
            break;
        }
        struct pollfd pf = {p[0], POLLIN, 0};
        int n = poll(&pf, 1, (int)(until - now));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            continue;
        char buf[8192];
        ssize_t r = read(p[0], buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (out->len + (size_t)r <= STACK_OUT_MAX)
            ft_buf_add(out, buf, (size_t)r);
    }
    close(p[0]);
    int st = 0;
    /* After EOF (or SIGKILL) the tool ends at once; do not wait for it forever anyway. */
    int64_t reap_until = ft_mono_ms() + 500;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (ft_mono_ms() >= reap_until) {
            kill(pid, SIGKILL);
            killed = 1;
            if (ft_mono_ms() >= reap_until + 500)
                return -1; /* left for the runner's reaping */
        }
        struct timespec ts = {0, 2 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return killed ? -1 : st;
}

/* The line at line into buf (cut to n - 1 bytes, NUL-terminated); returns the next line. */
static const char *next_line(const char *line, char *buf, size_t n)
{
    size_t len = strcspn(line, "\n");
    size_t k = len < n - 1 ? len : n - 1;
    memcpy(buf, line, k);
    buf[k] = '\0';
    return line + len + (line[len] == '\n');
}

json_t *ft_diag_parse_stacks(const char *text)
{
    json_t *m = json_object();
    char tid[32] = "?";
    const char *line = text;
    while (*line) {
        char buf[512];
        line = next_line(line, buf, sizeof(buf));
        int v;
        const char *lwp;
        if (sscanf(buf, "TID %d:", &v) == 1) {
            snprintf(tid, sizeof(tid), "%d", v); /* eu-stack */
            continue;
        }
        if (strncmp(buf, "Thread ", 7) == 0 && (lwp = strstr(buf, "(LWP ")) &&
            sscanf(lwp, "(LWP %d)", &v) == 1) {
            snprintf(tid, sizeof(tid), "%d", v); /* gdb */
            continue;
        }
        if (buf[0] != '#')
            continue;
        /* "#3  0x00007f... func" (eu-stack) or "#3  0x00007f... in func (...) at f.c:9" (gdb) */
        char *p = buf + 1;
        while (*p >= '0' && *p <= '9')
            p++;
        while (*p == ' ')
            p++;
        if (p[0] == '0' && p[1] == 'x') {
            char *addr = p;
            p += strspn(p + 2, "0123456789abcdefABCDEF") + 2;
            if (*p == '\0') {
                p = addr; /* no symbol: keep the address */
            } else {
                *p++ = '\0';
                while (*p == ' ')
                    p++;
                if (strncmp(p, "in ", 3) == 0)
                    p += 3;
                if (*p == '\0')
                    p = addr;
            }
        }
        json_t *a = json_object_get(m, tid);
        if (!a) {
            a = json_array();
            json_object_set_new(m, tid, a);
        }
        if (json_array_size(a) < STACK_FRAMES_MAX) {
            struct ft_buf b;
            ft_buf_init(&b, 0);
            ft_utf8_sanitize(p, strlen(p), &b);
            json_array_append_new(a, json_string(b.buf));
            ft_buf_release(&b);
        }
    }
    return m;
}

/* ---- Python stacks ------------------------------------------------------------------- */

#define PY_LINE_MAX 200 /* bytes of a frame's source line kept */

/*
 * What gdb runs in a Python process, given as `python exec("...")` so that it needs no file
 * (in the text, \x22 is a double quote). It walks every thread state of the interpreter from
 * _PyRuntime and prints each thread's Python frames, innermost first, in py-bt's own format
 * ("Thread N (LWP T):", "Traceback (most recent call first):", then `  File "F", line L, in
 * FN` and the source line), decoding each frame with the interpreter's gdb extension
 * (python3.X-gdb.py: PyFramePtr). It does not run py-bt itself because py-bt unwinds every
 * native frame of every thread through gdb: about 0.25 s a thread for Debian's python3.11,
 * so a process with a handful of threads would spend the whole stack budget, where the walk
 * costs tens of milliseconds whatever the number of threads. py-bt still runs when the walk
 * cannot (before 3.11 there is no native_thread_id nor _PyInterpreterFrame). A line starting
 * "ft-py: " says what it did or why it could not (py_why).
 */
static const char py_script[] =
    "python exec(\""
    "def ft_py():\\n"
    "    def runtime():\\n"
    "        try:\\n"
    "            r = gdb.parse_and_eval('_PyRuntime')\\n"
    "            r['interpreters']\\n"
    "            return r, ''\\n"
    "        except gdb.error as e:\\n"
    "            return None, str(e)\\n"
    "    rt, err = runtime()\\n"
    "    if rt is None and 'No symbol' in err:\\n"
    "        try:\\n"
    "            gdb.execute('sharedlibrary libpython3', to_string=True)\\n"
    "        except gdb.error:\\n"
    "            pass\\n"
    "        rt, err = runtime()\\n"
    "    if 'PyBacktrace' not in globals():\\n"
    "        print('ft-py: no-extension')\\n"
    "        return\\n"
    "    if rt is None:\\n"
    "        print('ft-py: ' + ('no-runtime: ' if 'No symbol' in err else 'no-symbols: ') + err)\\n"
    "        return\\n"
    "    out = []\\n"
    "    nt = 0\\n"
    "    try:\\n"
    "        interp = rt['interpreters']['head']\\n"
    "        while int(interp) and nt < 512:\\n"
    "            ts = interp['threads']['head']\\n"
    "            while int(ts) and nt < 512:\\n"
    "                nt += 1\\n"
    "                try:\\n"
    "                    f = ts['cframe']['current_frame']\\n"
    "                except gdb.error:\\n"
    "                    f = ts['current_frame']\\n"
    "                out.append('Thread %d (LWP %d):' % (nt, int(ts['native_thread_id'])))\\n"
    "                out.append('Traceback (most recent call first):')\\n"
    "                n = 0\\n"
    "                while int(f) and n < 64:\\n"
    "                    n += 1\\n"
    "                    p = PyFramePtr(f)\\n"
    "                    f = f['previous']\\n"
    "                    if p.is_optimized_out() or (hasattr(p, 'is_shim') and p.is_shim()):\\n"
    "                        continue\\n"
    "                    line = p.current_line_num()\\n"
    "                    out.append('  File \\x22%s\\x22, line %s, in %s' % (p.filename(),\\n"
    "                               '?' if line is None else line, p.co_name.proxyval(set())))\\n"
    "                    code = p.current_line() if line is not None else None\\n"
    "                    if code:\\n"
    "                        out.append('    ' + code.strip())\\n"
    "                ts = ts['next']\\n"
    "            interp = interp['next']\\n"
    "    except Exception as e:\\n"
    "        print('ft-py: py-bt (no walk: %s)' % e)\\n"
    "        gdb.execute('thread apply all py-bt')\\n"
    "        return\\n"
    "    for l in out:\\n"
    "        print(l)\\n"
    "    print('ft-py: walked %d threads' % nt)\\n"
    "try:\\n"
    "    ft_py()\\n"
    "except Exception as e:\\n"
    "    print('ft-py: failed: %s' % e)\\n"
    "\")";

/*
 * The Python version of a process ("3.11") into ver when it runs a Python 3 interpreter: its
 * executable is named python3* or it maps a libpython3 (an embedded interpreter); when neither
 * can be read (another user's process, or one not dumpable), its name (comm) is python3*, and
 * the version is "3". 0 if not.
 */
static int py_version(int pid, const char *comm, char *ver, size_t n)
{
    char path[64], exe[PATH_MAX], line[PATH_MAX + 128];
    const char *base = NULL;
    snprintf(path, sizeof(path), "/proc/%d/exe", pid);
    ssize_t len = readlink(path, exe, sizeof(exe) - 1);
    if (len > 0) {
        exe[len] = '\0';
        base = strrchr(exe, '/');
        base = base ? base + 1 : exe;
        if (strncmp(base, "python3", 7) != 0)
            base = NULL;
    }
    snprintf(path, sizeof(path), "/proc/%d/maps", pid);
    FILE *f = base ? NULL : fopen(path, "re");
    while (f && !base && fgets(line, sizeof(line), f)) {
        char *nl = strchr(line, '\n'), *file = strchr(line, '/');
        if (nl)
            *nl = '\0';
        const char *b = file ? strrchr(file, '/') + 1 : "";
        if (strncmp(b, "libpython3", 10) == 0) /* an embedded interpreter */
            base = b + 3;
        else if (len <= 0 && strncmp(b, "python3", 7) == 0) /* the executable, unreadable */
            base = b;
    }
    if (f)
        fclose(f);
    if (!base && len <= 0 && strncmp(comm, "python3", 7) == 0)
        base = "python3"; /* neither readable: the name will do */
    if (!base)
        return 0;
    /* "python3.11", "python3.11d", "python3" of libpython3.11.so.1.0: "3.11" */
    size_t vl = strspn(base + 6, "0123456789.");
    if (vl && base[6 + vl - 1] == '.')
        vl--;
    snprintf(ver, n, "%.*s", (int)vl, base + 6);
    return 1;
}

/* A JSON string of the n bytes at s, made valid UTF-8. */
static json_t *py_text(const char *s, size_t n)
{
    struct ft_buf b;
    ft_buf_init(&b, 0);
    ft_utf8_sanitize(s, n, &b);
    json_t *j = json_string(b.buf);
    ft_buf_release(&b);
    return j;
}

/* `File "F", line L, in FN` (after the `  File "`) into a frame, or NULL. */
static json_t *py_file_frame(const char *s)
{
    const char *q = NULL, *hit = s;
    while ((hit = strstr(hit, "\", line "))) /* the last one: a path may hold the text */
        q = hit++;
    if (!q)
        return NULL;
    const char *l = q + 8;
    char *end;
    long line = strtol(l, &end, 10);
    if (end == l && *l == '?')
        end++;
    if (end == l || strncmp(end, ", in ", 5) != 0)
        return NULL;
    json_t *fr = json_object();
    json_object_set_new(fr, "file", py_text(s, (size_t)(q - s)));
    if (*l != '?')
        json_object_set_new(fr, "line", json_integer(line));
    json_object_set_new(fr, "function", py_text(end + 5, strlen(end + 5)));
    return fr;
}

json_t *ft_diag_parse_py_stacks(const char *text)
{
    json_t *m = json_object();
    json_t *frames = NULL; /* the current thread's, from its "Traceback" line */
    json_t *last = NULL;   /* the frame the next source line belongs to */
    char tid[32] = "";
    const char *line = text;
    while (*line) {
        char buf[1024];
        line = next_line(line, buf, sizeof(buf));
        int v;
        const char *lwp;
        if (strncmp(buf, "Thread ", 7) == 0 && (lwp = strstr(buf, "(LWP ")) &&
            sscanf(lwp, "(LWP %d)", &v) == 1) {
            snprintf(tid, sizeof(tid), "%d", v);
            frames = last = NULL;
            continue;
        }
        if (strcmp(buf, "Traceback (most recent call first):") == 0 && *tid) {
            frames = json_object_get(m, tid);
            if (!frames) {
                frames = json_array();
                json_object_set_new(m, tid, frames);
            }
            continue;
        }
        if (!frames)
            continue;
        if (strncmp(buf, "    ", 4) == 0) { /* the source line of the frame above */
            const char *c = buf + strspn(buf, " ");
            size_t cl = strlen(c);
            while (cl && (c[cl - 1] == ' ' || c[cl - 1] == '\r'))
                cl--;
            if (last && cl && !json_object_get(last, "code"))
                json_object_set_new(last, "code", py_text(c, cl < PY_LINE_MAX ? cl : PY_LINE_MAX));
            last = NULL;
            continue;
        }
        json_t *fr = NULL;
        if (strncmp(buf, "  File \"", 8) == 0) {
            fr = py_file_frame(buf + 8);
        } else if (buf[0] == ' ' && buf[1] == ' ' && buf[2] && buf[2] != ' ') {
            /* a frame py-bt names without a file: "<built-in method acquire of _thread.lock
             * object at remote 0x7f...>", "Waiting for the GIL"; the address is dropped */
            char *at = strstr(buf, " at remote 0x");
            if (at && strchr(at, '>'))
                memmove(at, strchr(at, '>'), strlen(strchr(at, '>')) + 1);
            fr = json_pack("{s:o}", "function", py_text(buf + 2, strlen(buf + 2)));
        } else {
            frames = NULL; /* anything else ends the traceback (gdb's own lines) */
        }
        last = NULL;
        if (fr && json_array_size(frames) < STACK_FRAMES_MAX) {
            json_array_append_new(frames, fr);
            last = fr;
        } else {
            json_decref(fr);
        }
    }
    return m;
}

/*
 * Why Python process p (pid, version ver) got no Python stack, from gdb's output and wait
 * status, into msg.
 */
static void py_why(const char *out, int st, int pid, const char *ver, char *msg, size_t n)
{
    const char *declined = strstr(out, "\" auto-loading has been declined");
    char path[PATH_MAX], link[64], exe[PATH_MAX];
    if (strstr(out, "Operation not permitted") || strstr(out, "EPERM")) {
        snprintf(msg, n,
                 "ptrace refused (needs the same user and kernel.yama.ptrace_scope 0, or "
                 "CAP_SYS_PTRACE)");
    } else if (declined) {
        const char *file = declined; /* warning: File "/x/python3.12-gdb.py" auto-loading ... */
        while (file > out && file[-1] != '"' && file[-1] != '\n')
            file--;
        snprintf(msg, n,
                 "gdb declined the interpreter's own extension %.*s: it is outside gdb's "
                 "auto-load safe-path",
                 (int)(declined - file), file);
    } else if (strstr(out, "Python scripting is not supported")) {
        snprintf(msg, n, "this gdb has no Python support");
    } else if (strstr(out, "ft-py: no-extension")) {
        /* installed, but for Debian's own interpreter only (a copy, another build) */
        snprintf(path, sizeof(path), "/usr/share/gdb/auto-load/usr/bin/python%s-gdb.py", ver);
        snprintf(link, sizeof(link), "/proc/%d/exe", pid);
        ssize_t len = readlink(link, exe, sizeof(exe) - 1);
        exe[len > 0 ? len : 0] = '\0';
        if (access(path, R_OK) == 0)
            snprintf(msg, n,
                     "gdb has no Python extension for this interpreter (%.200s): python%s-dbg "
                     "has one for Debian's /usr/bin/python%s and libpython%s only",
                     *exe ? exe : "?", ver, ver, ver);
        else
            snprintf(msg, n,
                     "gdb has no Python extension for this interpreter (%.200s): install "
                     "python%s-dbg, which has python%s-gdb.py and the debug symbols",
                     *exe ? exe : "?", ver, ver);
    } else if (strstr(out, "ft-py: no-symbols"))
        snprintf(msg, n,
                 "no debug symbols for python%s: install python%s-dbg of the same version as "
                 "the interpreter",
                 ver, ver);
    else if (strstr(out, "ft-py: no-runtime"))
        snprintf(msg, n, "no CPython runtime (_PyRuntime) in the process");
    else if (st < 0)
        snprintf(msg, n, "gdb did not finish in time");
    else if (strstr(out, "ft-py: walked") || strstr(out, "ft-py: py-bt"))
        snprintf(msg, n, "no thread was running Python code");
    else {
        const char *why = strstr(out, "ft-py: ");
        snprintf(msg, n, "gdb gave no Python stack: %.200s", why ? why + 7 : out);
    }
}

/*
 * Put the Python stacks in gdb's output on the threads of process p ("py_stack"), or say in
 * p["py_error"] (and in errors, with the pid) why there are none.
 */
static void py_apply(json_t *p, const char *out, int st, json_t *errors)
{
    json_t *m = ft_diag_parse_py_stacks(out);
    size_t k, frames = 0;
    json_t *th;
    json_array_foreach(json_object_get(p, "threads"), k, th)
    {
        char tid[32];
        snprintf(tid, sizeof(tid), "%d", (int)json_integer_value(json_object_get(th, "tid")));
        json_t *a = json_object_get(m, tid);
        if (json_array_size(a)) {
            json_object_set(th, "py_stack", a);
            frames += json_array_size(a);
        }
    }
    json_decref(m);
    if (frames)
        return;
    char msg[400], line[440];
    py_why(out, st, (int)json_integer_value(json_object_get(p, "pid")),
           json_string_value(json_object_get(p, "python")), msg, sizeof(msg));
    json_object_set_new(p, "py_error", json_string(msg));
    snprintf(line, sizeof(line), "pid %d: %s", (int)json_integer_value(json_object_get(p, "pid")),
             msg);
    json_array_append_new(errors, json_string(line));
}

/* 1 when p is a Python process still without a Python stack or the reason it has none. */
static int py_pending(const json_t *p)
{
    if (!json_object_get(p, "python") || json_object_get(p, "py_error"))
        return 0;
    size_t k;
    json_t *th;
    json_array_foreach(json_object_get(p, "threads"), k, th)
    {
        if (json_object_get(th, "py_stack"))
            return 0;
    }
    return 1;
}

/*
 * Mark the Python processes (p["python"] = version; not zombies) and return how many there are.
 */
static size_t py_mark(json_t *procs)
{
    size_t i, n = 0;
    json_t *p;
    json_array_foreach(procs, i, p)
    {
        const char *state = json_string_value(json_object_get(p, "state"));
        char ver[32];
        if (state && (*state == 'Z' || *state == 'X'))
            continue;
        const char *comm = json_string_value(json_object_get(p, "comm"));
        if (py_version((int)json_integer_value(json_object_get(p, "pid")), comm ? comm : "", ver,
                       sizeof(ver))) {
            json_object_set_new(p, "python", json_string(*ver ? ver : "3"));
            n++;
        }
    }
    return n;
}

/*
 * The Python stacks of the Python processes that have none yet (gdb ran the native stacks of
 * the others, with the script added), one gdb each until `until`; stacks["python_*"] say how.
 */
static void py_stacks(json_t *procs, json_t *info, int64_t until)
{
    char gdb[PATH_MAX];
    int64_t t0 = ft_mono_ms();
    size_t i, done = 0, npy = 0;
    json_t *p;
    json_array_foreach(procs, i, p) npy += json_object_get(p, "python") != NULL;
    if (!npy)
        return;
    int have_gdb = find_in_path("gdb", gdb, sizeof(gdb));
    json_t *errors = json_array();
    json_array_foreach(procs, i, p)
    {
        if (!py_pending(p))
            continue;
        char msg[200];
        int pid = (int)json_integer_value(json_object_get(p, "pid"));
        if (!have_gdb || done >= STACK_PROCS_MAX || ft_mono_ms() >= until) {
            snprintf(msg, sizeof(msg), "%s",
                     !have_gdb ? "no gdb installed: no Python stacks (install gdb and "
                                 "python3.X-dbg)"
                               : "time or process budget used up: no Python stack");
            json_object_set_new(p, "py_error", json_string(msg));
            char line[240];
            snprintf(line, sizeof(line), "pid %d: %s", pid, msg);
            json_array_append_new(errors, json_string(line));
            continue;
        }
        char spid[32];
        snprintf(spid, sizeof(spid), "%d", pid);
        char a_p[] = "-p", a_nx[] = "-nx", a_batch[] = "-batch", a_iex[] = "-iex", a_ex[] = "-ex";
        char a_nosolib[] = "set auto-solib-add off", a_script[sizeof(py_script)];
        memcpy(a_script, py_script, sizeof(py_script));
        /* no shared library's symbols but those the script asks for: a third of the time */
        char *const argv[] = {gdb, a_nx, a_batch, a_iex,    a_nosolib,
                              a_p, spid, a_ex,    a_script, NULL};
        struct ft_buf out;
        ft_buf_init(&out, 0);
        int st = run_capture(argv, until, &out);
        done++;
        py_apply(p, out.buf, st, errors);
        ft_buf_release(&out);
    }
    json_object_set_new(info, "python_processes", json_integer((json_int_t)npy));
    json_object_set_new(info, "python_ms", json_integer(ft_mono_ms() - t0));
    /* the errors of the pass with the native stacks (gdb) come first */
    json_t *all = json_object_get(info, "python_errors");
    if (all)
        json_array_extend(all, errors);
    else
        json_object_set(info, "python_errors", errors);
    all = json_object_get(info, "python_errors");
    if (json_array_size(all))
        json_object_set_new(info, "python_error", json_copy(json_array_get(all, 0)));
    json_decref(errors);
}

void ft_diag_stacks(json_t *diag, int64_t budget_ms)
{
    char tool[PATH_MAX];
    const char *name;
    int gdb = 0;
    json_t *info = json_object();
    json_object_set_new(diag, "stacks", info);
    size_t npy = py_mark(json_object_get(diag, "processes"));
    if (find_in_path("eu-stack", tool, sizeof(tool))) {
        name = "eu-stack";
    } else if (find_in_path("gdb", tool, sizeof(tool))) {
        name = "gdb";
        gdb = 1;
    } else {
        json_object_set_new(
            info, "error",
            json_string("no eu-stack (elfutils) or gdb installed: no native stacks"));
        py_stacks(json_object_get(diag, "processes"), info, ft_mono_ms() + budget_ms);
        return;
    }
    json_object_set_new(info, "tool", json_string(name));
    int64_t t0 = ft_mono_ms(), until = t0 + budget_ms;
    size_t i, done = 0;
    json_t *p;
    json_t *errors = json_array();
    json_t *py_errors = json_array(); /* of the Python stacks gdb takes with the native ones */
    if (gdb && npy)
        json_object_set(info, "python_errors", py_errors);
    json_array_foreach(json_object_get(diag, "processes"), i, p)
    {
        const char *state = json_string_value(json_object_get(p, "state"));
        if (state && (*state == 'Z' || *state == 'X'))
            continue;
        if (done >= STACK_PROCS_MAX || ft_mono_ms() >= until) {
            json_array_append_new(errors, json_string("time or process budget used up: later "
                                                      "processes have no stacks"));
            break;
        }
        char pid[32];
        snprintf(pid, sizeof(pid), "%d", (int)json_integer_value(json_object_get(p, "pid")));
        char a_p[] = "-p", a_nx[] = "-nx", a_batch[] = "-batch", a_ex[] = "-ex";
        char a_bt[] = "thread apply all bt";
        char *const eu_argv[] = {tool, a_p, pid, NULL};
        char a_py[sizeof(py_script)];
        memcpy(a_py, py_script, sizeof(py_script));
        /*
         * A Python process's Python stacks too, from the same attach, first: gdb flushes its
         * output after each command, so they are kept if the native ones run out of time.
         */
        char *gdb_argv[] = {tool, a_nx, a_batch, a_p, pid, a_ex, a_py, a_ex, a_bt, NULL};
        if (!json_object_get(p, "python")) {
            gdb_argv[6] = a_bt;
            gdb_argv[7] = NULL;
        }
        struct ft_buf out;
        ft_buf_init(&out, 0);
        int st = run_capture(gdb ? gdb_argv : eu_argv, until, &out);
        done++;
        if (gdb && json_object_get(p, "python"))
            py_apply(p, out.buf, st, py_errors);
        json_t *m = ft_diag_parse_stacks(out.buf);
        if (json_object_size(m) == 0) {
            char msg[300];
            if (strstr(out.buf, "Operation not permitted") || strstr(out.buf, "EPERM"))
                snprintf(msg, sizeof(msg),
                         "pid %s: ptrace refused (needs the same user and "
                         "kernel.yama.ptrace_scope 0, or CAP_SYS_PTRACE)",
                         pid);
            else if (st < 0)
                snprintf(msg, sizeof(msg), "pid %s: %s did not finish in time", pid, name);
            else
                snprintf(msg, sizeof(msg), "pid %s: %s gave no stack: %.200s", pid, name, out.buf);
            json_array_append_new(errors, json_string(msg));
        }
        size_t k;
        json_t *th;
        json_array_foreach(json_object_get(p, "threads"), k, th)
        {
            char tid[32];
            snprintf(tid, sizeof(tid), "%d", (int)json_integer_value(json_object_get(th, "tid")));
            json_t *frames = json_object_get(m, tid);
            if (frames)
                json_object_set(th, "stack", frames);
        }
        json_decref(m);
        ft_buf_release(&out);
    }
    json_decref(py_errors);
    py_stacks(json_object_get(diag, "processes"), info, until);
    ft_node_stacks(diag); /* JavaScript frames, when a Node.js process wrote a perf map */
    json_object_set_new(info, "ms", json_integer(ft_mono_ms() - t0));
    json_object_set_new(info, "processes", json_integer((json_int_t)done));
    if (json_array_size(errors))
        json_object_set_new(info, "error",
                            json_string(json_string_value(json_array_get(errors, 0))));
    json_object_set_new(info, "errors", errors);
}

/* ---- the culprit --------------------------------------------------------------------- */

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static int jint(const json_t *o, const char *key)
{
    return (int)json_integer_value(json_object_get(o, key));
}

static int waits_for_children(const json_t *th)
{
    const char *sc = jstr(th, "syscall");
    return strcmp(sc, "wait4") == 0 || strcmp(sc, "waitid") == 0;
}

static const json_t *thread_by_tid(const json_t *p, int tid)
{
    size_t i;
    json_t *th;
    json_array_foreach(json_object_get(p, "threads"), i, th) if (jint(th, "tid") == tid) return th;
    return NULL;
}

/* A cycle of mutex waits starting at thread th, described into why. 1 when found. */
static int mutex_cycle(const json_t *p, const json_t *th, struct ft_buf *why)
{
    const json_t *cur = th;
    int start = jint(th, "tid");
    for (int steps = 0; steps < 16 && cur; steps++) {
        int owner = jint(cur, "mutex_owner");
        if (!owner)
            return 0;
        if (owner == start) {
            /* Found: describe it from the start. */
            ft_buf_adds(why, "deadlock: ");
            cur = th;
            for (int k = 0; k <= steps; k++) {
                int o = jint(cur, "mutex_owner");
                const json_t *next = thread_by_tid(p, o);
                ft_buf_addf(why, "%sthread %d (%s) waits for mutex %s held by thread %d (%s)",
                            k ? "; " : "", jint(cur, "tid"), jstr(cur, "name"), jstr(cur, "futex"),
                            o, next ? jstr(next, "name") : "?");
                cur = next;
            }
            return 1;
        }
        cur = thread_by_tid(p, owner);
    }
    return 0;
}

static int is_socket_desc(const char *d)
{
    return strncmp(d, "connect to ", 11) == 0 || strncmp(d, "tcp", 3) == 0 ||
           strncmp(d, "udp", 3) == 0 || strncmp(d, "unix", 4) == 0;
}

/* "thread T (name) blocked in SYSCALL on fd N: what" (no fd for poll: its list says). */
static void blocked_in(struct ft_buf *b, const json_t *th, const char *sc, const char *on)
{
    ft_buf_addf(b, "thread %d (%s) blocked in %s", jint(th, "tid"), jstr(th, "name"), sc);
    if (json_object_get(th, "fd"))
        ft_buf_addf(b, " on fd %d", jint(th, "fd"));
    ft_buf_addf(b, ": %s", on);
}

/*
 * The closed list of causes a process or thread is given (docs/runner.md, "cause"): what it
 * is doing, as a word a program can act on, with the evidence beside it.
 */
static void set_cause(json_t *o, const char *cause, const char *evidence)
{
    json_object_set_new(o, "cause", json_string(cause));
    json_object_set_new(o, "evidence", json_string(evidence));
}

/* The innermost frame of a thread's Python stack that has a file (not a built-in), or NULL. */
static const json_t *py_top(const json_t *th, size_t from, size_t *at)
{
    const json_t *a = json_object_get(th, "py_stack");
    for (size_t i = from; i < json_array_size(a); i++) {
        if (*jstr(json_array_get(a, i), "file")) {
            if (at)
                *at = i;
            return json_array_get(a, i);
        }
    }
    return NULL;
}

/* 1 when the frame runs in the standard library's threading.py. */
static int in_threading_py(const json_t *fr)
{
    const char *f = jstr(fr, "file");
    size_t n = strlen(f);
    return n >= 12 && strcmp(f + n - 12, "threading.py") == 0 && (n == 12 || f[n - 13] == '/');
}

/*
 * 1 when a thread waits to acquire a Python lock (threading.Lock or RLock, by acquire() or a
 * with statement): a futex wait on a semaphore, not on a glibc mutex, so it has no owner to
 * follow. Told by PyThread_acquire_lock in its native stack or, without a native stack, by its
 * innermost Python line. Not when that line is in threading.py: Condition.wait (so Event.wait,
 * Queue.get, Semaphore and Barrier), and Thread.join wait for another thread to act or to end,
 * not for a lock it holds.
 */
static int py_lock_wait(const json_t *th)
{
    const json_t *top = py_top(th, 0, NULL);
    if (!top || strcmp(jstr(th, "syscall"), "futex") != 0 || in_threading_py(top))
        return 0;
    const json_t *stack = json_object_get(th, "stack");
    size_t i;
    json_t *f;
    json_array_foreach(stack, i, f)
    {
        if (strncmp(json_string_value(f), "PyThread_acquire_lock", 21) == 0)
            return 1;
    }
    const char *code = jstr(top, "code");
    return !json_array_size(stack) && (strstr(code, ".acquire(") || strncmp(code, "with ", 5) == 0);
}

/*
 * 1 when a Python thread waits for another thread to end: Thread.join, or the interpreter
 * itself at exit (threading._shutdown) waiting for the non-daemon threads a program forgot.
 * The thread it waits for is the cause, as a process's children are for wait4.
 */
static int py_join_wait(const json_t *th)
{
    size_t at = 0;
    const json_t *fr = py_top(th, 0, &at);
    for (; fr && in_threading_py(fr); fr = py_top(th, at + 1, &at)) {
        const char *fn = jstr(fr, "function");
        if (strcmp(fn, "join") == 0 || strcmp(fn, "_shutdown") == 0 ||
            strcmp(fn, "_wait_for_tstate_lock") == 0)
            return 1;
    }
    return 0;
}

/*
 * "; in Python: FILE:LINE in FUNC: CODE" for the innermost Python frame of a thread and, when
 * that frame is in threading.py, ", from ..." the first frame outside it (the caller's line).
 */
static void py_where(struct ft_buf *b, const json_t *th)
{
    size_t at = 0;
    const json_t *fr = py_top(th, 0, &at);
    for (int k = 0; fr && k < 2; k++) {
        ft_buf_addf(b, "%s%s:%d in %s", k ? ", from " : "; in Python: ", jstr(fr, "file"),
                    jint(fr, "line"), jstr(fr, "function"));
        if (*jstr(fr, "code"))
            ft_buf_addf(b, ": %s", jstr(fr, "code"));
        if (!in_threading_py(fr))
            break;
        do {
            fr = py_top(th, at + 1, &at);
        } while (fr && in_threading_py(fr));
    }
}

/* The descriptor fd of process p, or NULL. */
static const json_t *fd_of(const json_t *p, int fd)
{
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(p, "fds"), i, f) if (jint(f, "fd") == fd) return f;
    return NULL;
}

/* 1 when descriptor f can only be made ready by its own process: a socket whose peer it
 * holds itself, a pipe no other process holds, an eventfd (a loop's wakeup channels). */
static int self_only(const json_t *p, const json_t *f)
{
    if (!f)
        return 0;
    const json_t *peer = json_object_get(f, "peer");
    if (peer)
        return jint(peer, "pid") == jint(p, "pid");
    if (strcmp(jstr(f, "type"), "pipe") == 0) {
        size_t i;
        json_t *o;
        json_array_foreach(json_object_get(f, "others"), i,
                           o) if (jint(o, "pid") != jint(p, "pid")) return 0;
        return !*jstr(f, "output");
    }
    return strstr(jstr(f, "target"), "eventfd") != NULL;
}

/*
 * An event loop that waits (epoll or poll) only on descriptors of its own, its wakeup socket
 * or pipe: nothing outside the process can wake it. An asyncio program whose task awaits a
 * future no one completes, or a loop whose work is done but that does not return. With a
 * timeout it wakes for a timer of its own and goes back to sleep. 1, with the text in b.
 */
static int idle_loop(const json_t *p, const json_t *th, struct ft_buf *b)
{
    const json_t *list = json_object_get(th, "poll_fds");
    if (!list) {
        const json_t *ep = json_object_get(th, "fd") ? fd_of(p, jint(th, "fd")) : NULL;
        list = ep ? json_object_get(ep, "epoll_fds") : NULL;
    }
    if (!json_array_size(list))
        return 0;
    size_t i;
    json_t *v;
    json_array_foreach(list, i,
                       v) if (!self_only(p, fd_of(p, (int)json_integer_value(v)))) return 0;
    const json_t *to = json_object_get(th, "timeout_ms");
    ft_buf_addf(b,
                "thread %d (%s) is an idle event loop: in %s on %zu descriptor%s of its own (its "
                "wakeup channel), so nothing outside the process can wake it",
                jint(th, "tid"), jstr(th, "name"), jstr(th, "syscall"), json_array_size(list),
                json_array_size(list) == 1 ? "" : "s");
    if (to && json_integer_value(to) >= 0)
        ft_buf_addf(b, " but its own timer, due within %lld ms", (long long)json_integer_value(to));
    ft_buf_adds(b, ": a task waits for something no one will do, or the loop has no work left "
                   "and does not end");
    return 1;
}

/* A thread's cause from what it waits in (see the scoring below for the same tests). */
static const char *thread_cause(const json_t *th)
{
    const char *sc = jstr(th, "syscall"), *st = jstr(th, "state");
    if (*st == 'R')
        return "spinning";
    if (*st == 'D')
        return "uninterruptible_io";
    if (strcmp(sc, "nanosleep") == 0 || strcmp(sc, "clock_nanosleep") == 0 ||
        strcmp(sc, "pause") == 0 || strcmp(sc, "rt_sigsuspend") == 0 ||
        strcmp(sc, "rt_sigtimedwait") == 0)
        return "sleeping";
    return "waiting";
}

/* Score a process as the culprit and say why; sets the cause of it and of its threads. */
static int score(json_t *p, const char *outcome, struct ft_buf *why)
{
    int best = 0;
    const char *pcause = NULL;
    struct ft_buf tmp;
    ft_buf_init(&tmp, 0);
    const char *state = jstr(p, "state");
    int depth = jint(p, "depth") > 0 ? jint(p, "depth") : 1;
    if (*state == 'Z') {
        ft_buf_reset(why);
        ft_buf_adds(why, "a zombie its parent has not reaped");
        set_cause(p, "zombie", why->buf);
        ft_buf_release(&tmp);
        return 1;
    }
    if (*state == 'T' || *state == 't') { /* nothing it could wait on matters while stopped */
        ft_buf_reset(why);
        if (jint(p, "tracer") > 0)
            ft_buf_addf(why,
                        "is stopped by its tracer (pid %d): it runs again when the tracer "
                        "lets it go",
                        jint(p, "tracer"));
        else
            ft_buf_adds(why, "is stopped by a signal (SIGSTOP or SIGTSTP): it does nothing until "
                             "it gets SIGCONT");
        set_cause(p, jint(p, "tracer") > 0 ? "traced" : "stopped", why->buf);
        ft_buf_release(&tmp);
        return 950 + depth;
    }
    if (strcmp(outcome, "leak") == 0) {
        json_t *holds = json_object_get(p, "holds_output");
        if (json_array_size(holds)) {
            size_t i;
            json_t *f;
            ft_buf_adds(why, "keeps the command's output open after it exited:");
            json_array_foreach(json_object_get(p, "fds"), i, f)
            {
                if (*jstr(f, "output") && strcmp(jstr(f, "end"), "read") != 0)
                    ft_buf_addf(why, " fd %d = %s (%s)", jint(f, "fd"), jstr(f, "output"),
                                jstr(f, "target"));
            }
            best = 1000 + depth;
            pcause = "holding_output";
        } else {
            ft_buf_addf(why, "still running after the command exited (parent %d, session %d%s)",
                        jint(p, "ppid"), jint(p, "sid"),
                        json_is_true(json_object_get(p, "in_session"))
                            ? ""
                            : ", its own: it called setsid, daemonized");
            best = 500 + depth;
            pcause = "left_running";
        }
    }
    size_t i;
    json_t *th;
    int tscore = 0, marked = 0;
    json_array_foreach(json_object_get(p, "threads"), i, th)
    {
        int s;
        const char *cause;
        ft_buf_reset(&tmp);
        const char *sc = jstr(th, "syscall");
        const char *on = jstr(th, "waits_on");
        if (mutex_cycle(p, th, &tmp)) {
            s = 900;
            cause = "deadlock";
        } else if (json_object_get(th, "lock_holder")) {
            blocked_in(&tmp, th, sc, on);
            s = 650;
            cause = "blocked_on_lock";
        } else if ((cause = ft_node_thread_cause(p, th, &tmp, &s))) {
            /* a Node.js loop: what keeps it alive, or Node's own idle thread */
        } else if (idle_loop(p, th, &tmp)) {
            s = 250;
            cause = "event_loop_idle";
        } else if (*jstr(th, "path")) {
            ft_buf_addf(&tmp, "thread %d (%s) blocked in %s of %s%s%s", jint(th, "tid"),
                        jstr(th, "name"), sc, jstr(th, "path"), *on ? ": " : "", on);
            s = *on ? 700 : 400;
            cause = *on ? "waiting_for_peer" : "waiting_for_file";
        } else if (*on && is_socket_desc(on)) {
            blocked_in(&tmp, th, sc, on);
            s = 800;
            cause = "waiting_for_peer";
        } else if (*on) {
            blocked_in(&tmp, th, sc, on);
            s = 600;
            cause = "waiting_for_peer";
        } else if (jint(th, "mutex_owner")) {
            ft_buf_addf(&tmp, "thread %d (%s) waits for mutex %s held by thread %d",
                        jint(th, "tid"), jstr(th, "name"), jstr(th, "futex"),
                        jint(th, "mutex_owner"));
            s = 550;
            cause = "blocked_on_lock";
        } else if (py_lock_wait(th)) {
            ft_buf_addf(&tmp, "thread %d (%s) waits to acquire a Python lock (futex %s)",
                        jint(th, "tid"), jstr(th, "name"), jstr(th, "futex"));
            s = 550;
            cause = "blocked_on_lock";
        } else if (waits_for_children(th)) {
            ft_buf_addf(&tmp, "waits for its children (%s)", sc);
            s = 10;
            cause = "waiting_for_child";
        } else if (py_join_wait(th)) {
            ft_buf_addf(&tmp, "thread %d (%s) waits for another thread to end (Python's join%s)",
                        jint(th, "tid"), jstr(th, "name"),
                        strcmp(jstr(py_top(th, 0, NULL), "function"), "_shutdown") == 0
                            ? ", at the interpreter's exit: a non-daemon thread never ended"
                            : "");
            s = 15;
            cause = "waiting_for_thread";
        } else if (strcmp(jstr(th, "state"), "R") == 0) {
            ft_buf_addf(&tmp, "thread %d (%s) is running on a CPU (busy loop?)", jint(th, "tid"),
                        jstr(th, "name"));
            s = 300;
            cause = "spinning";
        } else {
            cause = thread_cause(th);
            ft_buf_addf(&tmp, "thread %d (%s) state %s%s%s%s%s", jint(th, "tid"), jstr(th, "name"),
                        jstr(th, "state"), *sc ? " in " : "", sc,
                        *jstr(th, "wchan") ? ", wchan " : "", jstr(th, "wchan"));
            s = 200;
        }
        py_where(&tmp, th);
        set_cause(th, cause, tmp.buf);
        if (s > tscore) {
            tscore = s;
            if (!pcause || best < 500)
                json_object_set_new(p, "cause", json_string(cause));
            if (best < 500) { /* not leak-ranked: the thread is the reason */
                ft_buf_reset(why);
                ft_buf_add(why, tmp.buf, tmp.len);
            } else if (s >= 200) {
                /* leak-ranked: say what it is doing too (once, the best thread) */
                size_t cut = strcspn(why->buf, "|");
                why->len = cut;
                why->buf[cut] = '\0';
                ft_buf_addf(why, "|; %s", tmp.buf);
                marked = 1;
            }
        }
    }
    ft_buf_release(&tmp);
    /* The '|' above marks where the thread detail starts; drop the marker. */
    /* (only when set: a thread's Python source line may hold a '|' of its own) */
    char *bar = marked ? strchr(why->buf, '|') : NULL;
    if (bar)
        memmove(bar, bar + 1, strlen(bar));
    if (bar)
        why->len--;
    if (pcause)
        json_object_set_new(p, "cause", json_string(pcause));
    else if (!json_object_get(p, "cause"))
        json_object_set_new(p, "cause", json_string("unknown"));
    json_object_set_new(p, "evidence", json_string(why->buf));
    return best ? best : tscore + depth;
}

static const json_t *proc_by_pid(const json_t *procs, int pid)
{
    size_t i;
    json_t *p;
    json_array_foreach(procs, i, p) if (jint(p, "pid") == pid) return p;
    return NULL;
}

/* pid is an ancestor of p in the snapshot. */
static int is_ancestor(const json_t *procs, const json_t *p, int pid)
{
    for (int steps = 0; p && steps < 64; steps++) {
        if (jint(p, "ppid") == pid)
            return 1;
        p = proc_by_pid(procs, jint(p, "ppid"));
    }
    return 0;
}

/*
 * The other side of what thread th of process p waits on: the holder of the file lock, the
 * processes holding the other end of the pipe, the socket's peer. Up to max pids into out.
 */
static size_t other_side(const json_t *p, const json_t *th, int *out, size_t max)
{
    size_t n = 0;
    const json_t *lh = json_object_get(th, "lock_holder");
    if (lh && jint(lh, "pid") > 0) {
        out[n++] = jint(lh, "pid");
        return n;
    }
    if (!json_object_get(th, "fd"))
        return 0;
    size_t i, k;
    json_t *f, *o;
    json_array_foreach(json_object_get(p, "fds"), i, f)
    {
        if (jint(f, "fd") != jint(th, "fd"))
            continue;
        if (strcmp(jstr(f, "type"), "pipe") == 0) {
            const char *end = jstr(f, "end");
            json_array_foreach(json_object_get(f, "others"), k, o)
            {
                if (n < max && jint(o, "pid") != jint(p, "pid") && strcmp(jstr(o, "end"), end) != 0)
                    out[n++] = jint(o, "pid");
            }
        } else if (json_object_get(f, "peer") && n < max) {
            out[n++] = jint(json_object_get(f, "peer"), "pid");
        }
        break;
    }
    return n;
}

/*
 * A wait across processes that cannot end: the culprit thread waits on a pipe, a socket or a
 * file lock whose every other side is an ancestor waiting for its children (wait4, waitid)
 * instead of acting, so each waits for the other. The classic: a parent that reads a child's
 * output only after waiting for it, while the child blocks writing to the full pipe.
 * Appends the explanation to why and returns 1 when found.
 */
static int wait_cycle(const json_t *procs, const json_t *p, const json_t *th, struct ft_buf *why)
{
    int pids[8];
    size_t n = other_side(p, th, pids, 8);
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *q = proc_by_pid(procs, pids[i]);
        const json_t *qt = q ? json_array_get(json_object_get(q, "threads"), 0) : NULL;
        if (!qt || !waits_for_children(qt) || !is_ancestor(procs, p, pids[i]))
            return 0;
    }
    const json_t *q = proc_by_pid(procs, pids[0]);
    ft_buf_addf(why,
                "; the other side, pid %d (%s)%s, is waiting for its children (%s) instead: each "
                "waits for the other",
                pids[0], jstr(q, "comm"), n > 1 ? " and others" : "",
                jstr(json_array_get(json_object_get(q, "threads"), 0), "syscall"));
    return 1;
}

void ft_diag_analyse(json_t *diag)
{
    const char *outcome = jstr(diag, "outcome");
    json_t *procs = json_object_get(diag, "processes");
    size_t i;
    json_t *p, *best = NULL;
    int top = -1;
    struct ft_buf why, bwhy;
    ft_buf_init(&why, 0);
    ft_buf_init(&bwhy, 0);
    json_array_foreach(procs, i, p)
    {
        /* In a leak, the main process is gone; if it is listed it is a zombie. */
        ft_buf_reset(&why);
        int s = score(p, outcome, &why);
        if (s > top) {
            top = s;
            best = p;
            ft_buf_reset(&bwhy);
            ft_buf_add(&bwhy, why.buf, why.len);
        }
    }
    if (best && strcmp(outcome, "leak") != 0) {
        size_t k;
        json_t *th;
        json_array_foreach(json_object_get(best, "threads"), k, th)
        {
            if (strcmp(jstr(th, "evidence"), bwhy.buf) != 0)
                continue;
            if (wait_cycle(procs, best, th, &bwhy)) {
                set_cause(th, "wait_cycle", bwhy.buf);
                set_cause(best, "wait_cycle", bwhy.buf);
            }
            break;
        }
    }
    struct ft_buf sum;
    ft_buf_init(&sum, 4096);
    if (best) {
        json_object_set_new(diag, "culprit",
                            json_pack("{s:i, s:s, s:s, s:s, s:s}", "pid", jint(best, "pid"), "comm",
                                      jstr(best, "comm"), "cmdline", jstr(best, "cmdline"), "why",
                                      bwhy.buf, "cause", jstr(best, "cause")));
        ft_buf_addf(&sum, "pid %d (%s) %s", jint(best, "pid"), jstr(best, "comm"), bwhy.buf);
        size_t n = json_array_size(procs);
        if (n > 1)
            ft_buf_addf(&sum, " [%zu processes left]", n);
    } else {
        ft_buf_addf(&sum, "%s", jstr(diag, "reason"));
    }
    if (sum.len == 0) /* over the cap: keep a prefix */
        ft_buf_addf(&sum, "%.200s", bwhy.buf);
    json_object_set_new(diag, "summary", json_string(sum.buf));
    ft_buf_release(&sum);
    ft_buf_release(&why);
    ft_buf_release(&bwhy);
}

/* ---- the human text ------------------------------------------------------------------ */

static void pid_list(struct ft_buf *out, const json_t *a)
{
    size_t i;
    json_t *v;
    if (!json_array_size(a)) {
        ft_buf_adds(out, "none");
        return;
    }
    json_array_foreach(a, i, v) ft_buf_addf(out, "%s%d", i ? " " : "", (int)json_integer_value(v));
}

static void render_main(struct ft_buf *out, const json_t *m)
{
    if (!m)
        return;
    ft_buf_addf(out, "  main process: pid %d ", jint(m, "pid"));
    if (json_is_true(json_object_get(m, "running")))
        ft_buf_adds(out, "still running\n");
    else if (json_object_get(m, "exit_code"))
        ft_buf_addf(out, "exited %d\n", jint(m, "exit_code"));
    else
        ft_buf_addf(out, "killed by %s%s\n", jstr(m, "signal"),
                    json_is_true(json_object_get(m, "core_dumped")) ? " (core dumped)" : "");
}

static void render_proc(struct ft_buf *out, const json_t *p)
{
    ft_buf_addf(out, "  pid %d ppid %d pgid %d sid %d state %s%s%s: %s\n", jint(p, "pid"),
                jint(p, "ppid"), jint(p, "pgid"), jint(p, "sid"), jstr(p, "state"),
                json_is_true(json_object_get(p, "main")) ? " [main]" : "",
                json_is_false(json_object_get(p, "in_session")) ? " [other session]" : "",
                *jstr(p, "cmdline") ? jstr(p, "cmdline") : jstr(p, "comm"));
    ft_node_render(p, out);
    size_t k;
    json_t *th;
    json_array_foreach(json_object_get(p, "threads"), k, th)
    {
        ft_buf_addf(out, "    thread %d (%s) state %s", jint(th, "tid"), jstr(th, "name"),
                    jstr(th, "state"));
        if (*jstr(th, "syscall")) {
            ft_buf_addf(out, " in %s", jstr(th, "syscall"));
            if (json_object_get(th, "fd"))
                ft_buf_addf(out, "(fd %d)", jint(th, "fd"));
            if (*jstr(th, "futex"))
                ft_buf_addf(out, "(%s)", jstr(th, "futex"));
            if (*jstr(th, "path"))
                ft_buf_addf(out, "(%s)", jstr(th, "path"));
            if (*jstr(th, "connect_to"))
                ft_buf_addf(out, " to %s", jstr(th, "connect_to"));
        }
        if (*jstr(th, "wchan"))
            ft_buf_addf(out, " wchan %s", jstr(th, "wchan"));
        if (jint(th, "mutex_owner"))
            ft_buf_addf(out, " mutex held by thread %d", jint(th, "mutex_owner"));
        ft_buf_adds(out, "\n");
        size_t f;
        json_t *fr;
        json_array_foreach(json_object_get(th, "stack"), f, fr)
        {
            if (f >= TEXT_FRAMES_MAX) {
                ft_buf_addf(out, "      ... %zu more frames\n",
                            json_array_size(json_object_get(th, "stack")) - f);
                break;
            }
            ft_buf_addf(out, "      #%zu %s\n", f, json_string_value(fr));
        }
        json_array_foreach(json_object_get(th, "py_stack"), f, fr)
        {
            if (f >= TEXT_FRAMES_MAX) {
                ft_buf_addf(out, "      ... %zu more Python frames\n",
                            json_array_size(json_object_get(th, "py_stack")) - f);
                break;
            }
            ft_buf_addf(out, "      py: %s", jstr(fr, "function"));
            if (*jstr(fr, "file"))
                ft_buf_addf(out, " (%s:%d)", jstr(fr, "file"), jint(fr, "line"));
            if (*jstr(fr, "code"))
                ft_buf_addf(out, ": %s", jstr(fr, "code"));
            ft_buf_adds(out, "\n");
        }
    }
    if (*jstr(p, "py_error"))
        ft_buf_addf(out, "    Python stacks: %s\n", jstr(p, "py_error"));
    if (*jstr(p, "fds_error"))
        ft_buf_addf(out, "    descriptors: %s\n", jstr(p, "fds_error"));
    json_t *fd;
    json_array_foreach(json_object_get(p, "fds"), k, fd)
    {
        if (k >= TEXT_FDS_MAX) {
            ft_buf_addf(out, "    ... %zu more descriptors (see --json)\n",
                        json_array_size(json_object_get(p, "fds")) - k);
            break;
        }
        ft_buf_addf(out, "    fd %d: %s\n", jint(fd, "fd"), jstr(fd, "desc"));
    }
}

void ft_diag_render(const json_t *diag, struct ft_buf *out)
{
    const json_t *c = json_object_get(diag, "culprit");
    const json_t *procs = json_object_get(diag, "processes");
    ft_buf_addf(out, "flowtrack: %s: %s\n", jstr(diag, "outcome"), jstr(diag, "reason"));
    render_main(out, json_object_get(diag, "main"));
    if (c)
        ft_buf_addf(out, "  likely culprit: pid %d (%s): %s\n", jint(c, "pid"), jstr(c, "comm"),
                    jstr(c, "why"));
    if (*jstr(diag, "note"))
        ft_buf_addf(out, "  note: %s\n", jstr(diag, "note"));
    if (json_object_get(diag, "snapshot_ms"))
        ft_buf_addf(out, "  %zu process%s left (snapshot before any signal, %d ms):\n",
                    json_array_size(procs), json_array_size(procs) == 1 ? "" : "es",
                    jint(diag, "snapshot_ms"));
    /* Every process up to TEXT_PROCS_MAX, then only the culprit (the JSON has all). */
    size_t i, shown = 0;
    json_t *p;
    json_array_foreach(procs, i, p)
    {
        if (shown < TEXT_PROCS_MAX || (c && jint(p, "pid") == jint(c, "pid"))) {
            render_proc(out, p);
            shown++;
        }
    }
    if (shown < json_array_size(procs))
        ft_buf_addf(out,
                    "  ... %zu more processes (see --json or 'flowtrack runs show N --json')\n",
                    json_array_size(procs) - shown);
    const json_t *st = json_object_get(diag, "stacks");
    if (st && *jstr(st, "tool"))
        ft_buf_addf(out, "  stacks: %s, %d ms%s%s\n", jstr(st, "tool"), jint(st, "ms"),
                    *jstr(st, "error") ? "; " : "", jstr(st, "error"));
    else if (st && *jstr(st, "error"))
        ft_buf_addf(out, "  stacks: %s\n", jstr(st, "error"));
    if (st && json_object_get(st, "python_processes"))
        ft_buf_addf(out, "  Python stacks: %d ms%s%s\n", jint(st, "python_ms"),
                    *jstr(st, "python_error") ? "; " : "", jstr(st, "python_error"));
    const json_t *e = json_object_get(diag, "end");
    if (e) {
        if (json_object_get(diag, "main"))
            ft_buf_addf(out, "  ended: %s to group %d and pids ", jstr(e, "signal"),
                        jint(json_object_get(diag, "main"), "pid"));
        else
            ft_buf_addf(out, "  ended: %s and SIGCONT to pids ", jstr(e, "signal"));
        pid_list(out, json_object_get(e, "signalled"));
        ft_buf_adds(out, "; SIGKILL to ");
        pid_list(out, json_object_get(e, "killed"));
        ft_buf_adds(out, "; survivors: ");
        pid_list(out, json_object_get(e, "survivors"));
        ft_buf_addf(out, " (%d ms)\n", jint(e, "ms"));
    }
}
