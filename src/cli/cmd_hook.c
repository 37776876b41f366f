/*
 * `flowtrack hook session-start|stop`: the commands a coding agent's hooks run
 * (docs/agents.md). Each reads the hook's JSON object on stdin (session_id,
 * cwd, source, stop_hook_active...), works in the session's directory, and
 * answers in the agent's contract:
 *  - session-start prints the context the agent starts from: the tracker's
 *    compact view, what fails its checks, and how to keep it current;
 *  - stop runs the checks and, while one fails, blocks the stop with
 *    {"decision": "block", "reason": ...}. It never blocks twice in a row for
 *    the same findings (stop_hook_active), and lets go at once when the
 *    tracker waits for a person (status "waiting").
 *
 * What a session started from is kept in a small state file per session
 * ($XDG_STATE_HOME/flowtrack/sessions/ID.json): the tracker and the version it
 * was at, and the findings the gate last blocked on. session-start removes the
 * files untouched for 30 days. Both hooks run over the
 * store file or a server alike (cli_call).
 */
#include "cli.h"

#include "../core/check.h"
#include "../util/ft_buf.h"
#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../util/banned.h"

#define HOOK_INPUT_MAX (1 << 20)

/* The hook's input: one JSON object on stdin (nothing at all counts as {}). */
static int read_input(json_t **out)
{
    struct ft_buf b;
    char chunk[4096];
    size_t n;
    ft_buf_init(&b, HOOK_INPUT_MAX);
    while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
        if (ft_buf_add(&b, chunk, n)) {
            ft_buf_release(&b);
            return cli_failf(FT_EXIT_USAGE, "hook: the input is over %d bytes", HOOK_INPUT_MAX);
        }
    json_error_t je;
    size_t i = 0;
    while (i < b.len && strchr(" \t\r\n", b.buf[i]))
        i++;
    *out = i == b.len ? json_object() : json_loadb(b.buf, b.len, 0, &je);
    ft_buf_release(&b);
    if (!*out)
        return cli_failf(FT_EXIT_USAGE, "hook: the input is not JSON: %s (line %d)", je.text,
                         je.line);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return cli_failf(FT_EXIT_USAGE, "hook: the input must be a JSON object");
    }
    return 0;
}

/* The session's state file, or "" when the session cannot have one (no usable id or home). */
static void state_path(json_t *in, char *path, size_t n)
{
    const char *id = json_string_value(json_object_get(in, "session_id"));
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char dir[PATH_MAX];
    path[0] = '\0';
    if (!id || !*id || strlen(id) > 128 ||
        strspn(id, "abcdefghijklmnopqrstuvwxyz"
                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != strlen(id) ||
        id[0] == '.')
        return;
    if (xdg && *xdg)
        snprintf(dir, sizeof(dir), "%s/flowtrack/sessions", xdg);
    else if (home && *home)
        snprintf(dir, sizeof(dir), "%s/.local/state/flowtrack/sessions", home);
    else
        return;
    int w = snprintf(path, n, "%s/%s.json", dir, id);
    if (w < 0 || (size_t)w >= n)
        path[0] = '\0';
}

static json_t *state_load(const char *path)
{
    json_t *s = *path ? json_load_file(path, 0, NULL) : NULL;
    if (s && !json_is_object(s)) {
        json_decref(s);
        s = NULL;
    }
    return s ? s : json_object();
}

/* mkdir -p of path's directory, then an atomic replace of the file. Failures only cost the
 * gate its memory (it then never blocks twice): they are not errors of the hook. */
static void state_save(const char *path, json_t *s)
{
    char dir[PATH_MAX], tmp[PATH_MAX + 16];
    if (!*path)
        return;
    snprintf(dir, sizeof(dir), "%s", path);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0700) && errno != EEXIST)
            return;
        *p = '/';
    }
    snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid());
    if (json_dump_file(s, tmp, JSON_COMPACT) == 0 && rename(tmp, path) == 0)
        return;
    unlink(tmp);
}

#define STATE_KEEP_S (30 * 24 * 3600) /* a session's state file outlives it this long */

/* Remove the state files of sessions that ended long ago (path: any file of the directory). */
static void state_prune(const char *path)
{
    char dir[PATH_MAX], file[PATH_MAX + 256];
    const char *slash = strrchr(path, '/');
    if (!*path || !slash)
        return;
    snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    DIR *d = opendir(dir);
    if (!d)
        return;
    time_t now = time(NULL);
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat sb;
        size_t n = strlen(e->d_name);
        if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
            continue;
        snprintf(file, sizeof(file), "%s/%s", dir, e->d_name);
        if (stat(file, &sb) == 0 && S_ISREG(sb.st_mode) && now - sb.st_mtime > STATE_KEEP_S)
            unlink(file);
    }
    closedir(d);
}

/* Work where the session works: the store is found from there. */
static int enter_cwd(json_t *in)
{
    const char *cwd = json_string_value(json_object_get(in, "cwd"));
    if (cwd && *cwd && chdir(cwd))
        return cli_failf(FT_EXIT_FAIL, "hook: cannot enter the session's directory '%s': %s", cwd,
                         strerror(errno));
    return 0;
}

/* The tracker's newest event (its version), 0 when none. */
static int64_t tracker_version(struct ft_ctx *ctx, const char *slug)
{
    struct ft_result res;
    int64_t v = 0;
    if (!cli_call(ctx, FT_OP_HISTORY, json_pack("{s:s, s:i}", "tracker", slug, "limit", 1), &res)) {
        json_t *ev = json_array_get(res.json, json_array_size(res.json) - 1);
        v = json_integer_value(json_object_get(ev, "seq"));
        ft_result_release(&res);
    }
    return v;
}

/* Check findings of the tracker (a new array), NULL on error (printed). */
static json_t *findings_of(struct ft_ctx *ctx, const char *slug)
{
    struct ft_result res;
    if (cli_call(ctx, FT_OP_CHECK, json_pack("{s:s}", "tracker", slug), &res))
        return NULL;
    json_t *f = json_incref(json_object_get(res.json, "findings"));
    ft_result_release(&res);
    return f ? f : json_array();
}

/* The header of the tracker to act on: --tracker, FLOWTRACK_TRACKER, the default, the only one.
 * *quiet is set when there is simply no tracker to speak of (no store, none, several). */
static int header_of(struct ft_ctx *ctx, struct ft_result *res, int *quiet)
{
    struct ft_err err;
    int rc = cli_ops(ctx, 0);
    *quiet = 0;
    ft_result_init(res);
    if (rc)
        return rc;
    json_t *args = ctx->tracker ? json_pack("{s:s}", "tracker", ctx->tracker) : json_object();
    rc = ft_ops_call(ctx->ops, FT_OP_TRACKER_HEADER, args, res, &err);
    json_decref(args);
    if (rc && !ctx->tracker && (err.code == FT_ENOTFOUND || err.code == FT_EAMBIGUOUS)) {
        *quiet = 1;
        fprintf(stderr, "flowtrack hook: %s\n", err.msg);
        return FT_EXIT_OK;
    }
    return rc ? cli_fail(ctx, &err) : 0;
}

static int session_start(struct ft_ctx *ctx, json_t *in)
{
    struct ft_result hdr, view;
    int quiet, rc = header_of(ctx, &hdr, &quiet);
    if (rc || quiet)
        return rc;
    char *slug = ft_xstrdup(cli_jstr(hdr.json, "slug"));
    ft_result_release(&hdr);
    json_t *findings = NULL;
    if ((rc = cli_call(ctx, FT_OP_TRACKER_SHOW,
                       json_pack("{s:s, s:s}", "tracker", slug, "format", "compact"), &view)) ||
        !(findings = findings_of(ctx, slug))) {
        free(slug);
        return rc ? rc : FT_EXIT_FAIL;
    }

    const char *source = json_string_value(json_object_get(in, "source"));
    if (source && strcmp(source, "compact") == 0)
        printf("Your context was compacted: this is where the investigation stands.\n");
    printf("This project records its investigation in a flowtrack tracker: follow its ground\n"
           "rules, keep it current as you work, and record results before you stop.\n\n");
    fwrite(view.doc.buf, 1, view.doc.len, stdout);
    size_t i;
    json_t *f;
    if (json_array_size(findings))
        printf("\nFailing checks (fix them before you stop):\n");
    json_array_foreach(findings, i, f)
    {
        printf("  - %s: %s\n", cli_jstr(f, "rule"), cli_jstr(f, "message"));
    }
    const char *id = json_string_value(json_object_get(in, "session_id"));
    printf(
        "\nUpdating it: 'flowtrack item claim N' before you work on an item (then 'item done N'),\n"
        "'flowtrack run' to rerun the reproducer (its result is logged), 'flowtrack result add\n"
        "--outcome pass|fail ATTEMPT', 'flowtrack hyp rule-out|confirm N --evidence E',\n"
        "'flowtrack edit --status waiting' when only a person can unblock the work.\n");
    if (id && *id)
        printf("Give '--actor agent-%.8s' (this session) to claims and changes.\n", id);
    ft_result_release(&view);

    char path[PATH_MAX];
    state_path(in, path, sizeof(path));
    json_t *st =
        json_pack("{s:s, s:I, s:I}", "tracker", slug, "version",
                  (json_int_t)tracker_version(ctx, slug), "started", (json_int_t)ft_now_ms());
    state_save(path, st);
    state_prune(path);
    json_decref(st);
    json_decref(findings);
    free(slug);
    return 0;
}

/* One key per finding, sorted: what "the same findings" means to the gate. */
static char *fingerprint(json_t *findings)
{
    size_t n = json_array_size(findings);
    char **keys = ft_xcalloc(n ? n : 1, sizeof(*keys));
    struct ft_buf b;
    ft_buf_init(&b, 0);
    for (size_t i = 0; i < n; i++) {
        json_t *f = json_array_get(findings, i);
        ft_buf_addf(&b, "%s:%s:%lld", cli_jstr(f, "rule"), cli_jstr(f, "kind"), cli_jint(f, "num"));
        keys[i] = ft_buf_detach(&b, NULL);
    }
    for (size_t i = 1; i < n; i++) /* insertion sort: a handful of findings */
        for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            char *t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++) {
        ft_buf_addf(&b, "%s%s", i ? " " : "", keys[i]);
        free(keys[i]);
    }
    free(keys);
    return ft_buf_detach(&b, NULL);
}

static int stop(struct ft_ctx *ctx, json_t *in)
{
    struct ft_result hdr;
    int quiet, rc = header_of(ctx, &hdr, &quiet);
    if (rc || quiet)
        return rc;
    char *slug = ft_xstrdup(cli_jstr(hdr.json, "slug"));
    int waiting = strcmp(cli_jstr(hdr.json, "status"), "waiting") == 0;
    ft_result_release(&hdr);
    char path[PATH_MAX];
    state_path(in, path, sizeof(path));
    json_t *st = state_load(path);
    json_t *findings = waiting ? json_array() : findings_of(ctx, slug);
    if (!findings) {
        json_decref(st);
        free(slug);
        return FT_EXIT_FAIL;
    }
    /* Rule "update the tracker before ending a session": known once session-start saw the
     * tracker's version; any change to it since counts. */
    json_t *v0 = json_object_get(st, "version");
    if (!waiting && json_is_integer(v0) && strcmp(cli_jstr(st, "tracker"), slug) == 0 &&
        tracker_version(ctx, slug) == json_integer_value(v0))
        json_array_append_new(
            findings, json_pack("{s:s, s:s}", "rule", "update-before-stop", "message",
                                "this session has not changed the tracker: record what you did, "
                                "failures and rollbacks included ('flowtrack result add', "
                                "'flowtrack item done N', 'flowtrack hyp ...')"));
    char *fp = fingerprint(findings);
    int active = json_is_true(json_object_get(in, "stop_hook_active"));
    int block = *fp && !(active && strcmp(cli_jstr(st, "blocked"), fp) == 0);
    /* with stop_hook_active but no memory of the last block, the same findings cannot be told
     * apart from new ones: let go rather than risk a loop */
    if (block && active && !json_object_get(st, "blocked"))
        block = 0;
    if (block) {
        struct ft_buf r;
        size_t i;
        json_t *f;
        ft_buf_init(&r, 0);
        ft_buf_addf(&r, "The flowtrack tracker '%s' fails %zu check%s of its ground rules:\n", slug,
                    json_array_size(findings), json_array_size(findings) == 1 ? "" : "s");
        json_array_foreach(findings, i, f)
        {
            ft_buf_addf(&r, "- %s: %s\n", cli_jstr(f, "rule"), cli_jstr(f, "message"));
        }
        ft_buf_addf(&r, "Do this before you stop. If only a person can unblock the work, say so "
                        "and run 'flowtrack edit --status waiting'.");
        json_t *out = json_pack("{s:s, s:s}", "decision", "block", "reason", r.buf);
        char *s = json_dumps(out, JSON_COMPACT);
        printf("%s\n", s);
        free(s);
        json_decref(out);
        ft_buf_release(&r);
        json_object_set_new(st, "blocked", json_string(fp));
    } else {
        json_object_del(st, "blocked");
    }
    if (*path && (block || json_object_size(st)))
        state_save(path, st);
    free(fp);
    json_decref(findings);
    json_decref(st);
    free(slug);
    return 0;
}

int cmd_hook(int argc, char **argv, json_t *opt, struct ft_ctx *ctx)
{
    (void)opt;
    json_t *in = NULL;
    int rc;
    if (argc != 1 || (strcmp(argv[0], "session-start") && strcmp(argv[0], "stop")))
        return cli_usage(ctx, "give the hook: session-start or stop");
    if ((rc = read_input(&in)) || (rc = enter_cwd(in))) {
        json_decref(in);
        return rc;
    }
    rc = argv[0][0] == 's' && argv[0][1] == 'e' ? session_start(ctx, in) : stop(ctx, in);
    json_decref(in);
    return rc;
}
