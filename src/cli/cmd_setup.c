/*
 * `flowtrack setup claude|codex [--remove] [--dry-run] [--dir DIR]`: wire the
 * session hooks into a project's agent settings (docs/agents.md).
 *
 * Claude Code reads .claude/settings.json, Codex .codex/hooks.json; both take
 *   {"hooks": {"SessionStart": [{"matcher": "...", "hooks": [{"type": "command",
 *    "command": "...", "timeout": N}]}], "Stop": [{"hooks": [...]}]}}
 * The file belongs to the user: setup merges into it, keeping every other key
 * and hook in its place, and recognises its own hooks by their command
 * ("... hook session-start", "... hook stop") so that running it again changes
 * nothing and --remove takes out exactly what it added. The file is replaced
 * atomically (a temporary file renamed over it, its mode kept).
 */
#include "cli.h"

#include "../util/ft_buf.h"
#include "../util/ft_xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../util/banned.h"

extern char **environ;

#define HOOK_TIMEOUT_S 30

struct agent {
    const char *name;
    const char *file; /* under the project directory */
};

static const struct agent agents[] = {
    {"claude", ".claude/settings.json"},
    {"codex", ".codex/hooks.json"},
};

/* Our hooks: the event, its matcher (NULL: none), and the hook command's verb. */
static const struct {
    const char *event, *matcher, *verb;
} ours[] = {
    {"SessionStart", "startup|resume|clear|compact", "session-start"},
    {"Stop", NULL, "stop"},
};

/* The command the hooks run: "flowtrack" when the flowtrack on PATH is this one, else the
 * absolute path of this binary. */
static char *self_command(void)
{
    char self[PATH_MAX], onpath[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n <= 0)
        return ft_xstrdup("flowtrack");
    self[n] = '\0';
    const char *path = getenv("PATH");
    while (path && *path) {
        size_t len = strcspn(path, ":");
        char cand[PATH_MAX];
        snprintf(cand, sizeof(cand), "%.*s/flowtrack", (int)len, path);
        if (len && realpath(cand, onpath) && strcmp(onpath, self) == 0)
            return ft_xstrdup("flowtrack");
        path += len + (path[len] == ':');
    }
    return ft_xstrdup(self);
}

/* 1 when hook h (one object of a group's "hooks") is ours for verb. */
static int is_ours(json_t *h, const char *verb)
{
    const char *cmd = json_string_value(json_object_get(h, "command"));
    char tail[64];
    if (!cmd)
        return 0;
    snprintf(tail, sizeof(tail), " hook %s", verb);
    size_t n = strlen(cmd), t = strlen(tail);
    if (n < t || strcmp(cmd + n - t, tail) != 0)
        return 0;
    /* the program is flowtrack, by name or by path */
    const char *prog_end = cmd + n - t, *base = prog_end;
    while (base > cmd && base[-1] != '/' && base[-1] != ' ')
        base--;
    return (size_t)(prog_end - base) == 9 && strncmp(base, "flowtrack", 9) == 0;
}

/*
 * Take our hooks out of settings (in place); then, unless removing, put them back as they should
 * be: an existing hook of ours is updated where it stands, a missing one is added in a group of
 * its own at the end of its event.
 */
static void merge(json_t *settings, const char *command, int remove)
{
    json_t *hooks = json_object_get(settings, "hooks");
    if (!json_is_object(hooks)) {
        if (remove)
            return;
        hooks = json_object();
        json_object_set_new(settings, "hooks", hooks);
    }
    for (size_t k = 0; k < sizeof(ours) / sizeof(ours[0]); k++) {
        json_t *groups = json_object_get(hooks, ours[k].event);
        json_t *want = json_pack("{s:s, s:o}", "type", "command", "command",
                                 json_sprintf("%s hook %s", command, ours[k].verb));
        int found = 0;
        size_t g = 0;
        while (json_is_array(groups) && g < json_array_size(groups)) {
            json_t *group = json_array_get(groups, g);
            json_t *list = json_object_get(group, "hooks");
            size_t h = 0;
            while (json_is_array(list) && h < json_array_size(list)) {
                json_t *hk = json_array_get(list, h);
                if (!is_ours(hk, ours[k].verb)) {
                    h++;
                } else if (!remove && !found) {
                    json_object_update(hk, want); /* keeps its other keys (a timeout...) */
                    found = 1;
                    h++;
                } else {
                    json_array_remove(list, h); /* removing, or a duplicate */
                }
            }
            if (json_is_array(list) && json_array_size(list) == 0)
                json_array_remove(groups, g);
            else
                g++;
        }
        if (!remove && !found) {
            if (!json_is_array(groups)) {
                groups = json_array();
                json_object_set_new(hooks, ours[k].event, groups);
            }
            json_t *group = json_object();
            if (ours[k].matcher)
                json_object_set_new(group, "matcher", json_string(ours[k].matcher));
            json_object_set_new(want, "timeout", json_integer(HOOK_TIMEOUT_S));
            json_object_set_new(group, "hooks", json_pack("[O]", want));
            json_array_append_new(groups, group);
        }
        if (json_is_array(groups) && json_array_size(groups) == 0)
            json_object_del(hooks, ours[k].event);
        json_decref(want);
    }
    if (json_object_size(hooks) == 0)
        json_object_del(settings, "hooks");
}

/* The file's text, or NULL with *missing set when it does not exist. */
static char *read_file(const char *path, int *missing, struct ft_ctx *ctx, int *rc)
{
    FILE *f = fopen(path, "re");
    struct ft_buf b;
    char chunk[4096];
    size_t n;
    *missing = 0;
    *rc = 0;
    if (!f) {
        if (errno == ENOENT) {
            *missing = 1;
            return NULL;
        }
        *rc = cli_failf(FT_EXIT_FAIL, "cannot read '%s': %s", path, strerror(errno));
        return NULL;
    }
    (void)ctx;
    ft_buf_init(&b, 16 << 20);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (ft_buf_add(&b, chunk, n)) {
            *rc = cli_failf(FT_EXIT_FAIL, "'%s' is over 16 MiB", path);
            break;
        }
    fclose(f);
    if (*rc) {
        ft_buf_release(&b);
        return NULL;
    }
    return ft_buf_detach(&b, NULL);
}

/* Write text to path through a temporary file renamed over it, with mode. */
static int write_file(const char *path, const char *text, mode_t mode)
{
    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof(tmp), "%s.flowtrack-%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return cli_failf(FT_EXIT_FAIL, "cannot write '%s': %s", tmp, strerror(errno));
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    int ok = off == len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || fchmodat(AT_FDCWD, tmp, mode, 0) || rename(tmp, path)) {
        int e = errno;
        unlink(tmp);
        return cli_failf(FT_EXIT_FAIL, "cannot write '%s': %s", path, strerror(e));
    }
    return 0;
}

/* Print the change as a unified diff (diff(1)); the new text alone when diff is missing. */
static void print_diff(const char *path, const char *old, const char *new)
{
    char a[] = "/tmp/flowtrack-setup-a-XXXXXX", b[] = "/tmp/flowtrack-setup-b-XXXXXX";
    int fa = mkstemp(a), fb = mkstemp(b);
    int ok = fa >= 0 && fb >= 0;
    if (ok) {
        ok = write(fa, old, strlen(old)) == (ssize_t)strlen(old) &&
             write(fb, new, strlen(new)) == (ssize_t)strlen(new);
    }
    if (fa >= 0)
        close(fa);
    if (fb >= 0)
        close(fb);
    char la[PATH_MAX + 8], lb[PATH_MAX + 8];
    snprintf(la, sizeof(la), "a/%s", path);
    snprintf(lb, sizeof(lb), "b/%s", path);
    char arg0[] = "diff", arg1[] = "-u", lab1[] = "--label", lab2[] = "--label";
    char *argv[] = {arg0, arg1, lab1, la, lab2, lb, a, b, NULL};
    pid_t pid;
    int status = -1;
    fflush(stdout);
    if (ok && posix_spawnp(&pid, "diff", NULL, NULL, argv, environ) == 0)
        waitpid(pid, &status, 0);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) <= 1))
        printf("--- %s (as it would be written)\n%s", path, new);
    if (fa >= 0)
        unlink(a);
    if (fb >= 0)
        unlink(b);
}

int cmd_setup(int argc, char **argv, json_t *opt, struct ft_ctx *ctx)
{
    const struct agent *ag = NULL;
    int remove = json_is_true(json_object_get(opt, "remove"));
    int dry = json_is_true(json_object_get(opt, "dry_run"));
    const char *dir = json_string_value(json_object_get(opt, "dir"));
    char path[PATH_MAX], parent[PATH_MAX];
    int rc, missing;

    for (size_t i = 0; argc == 1 && i < sizeof(agents) / sizeof(agents[0]); i++)
        if (strcmp(argv[0], agents[i].name) == 0)
            ag = &agents[i];
    if (!ag)
        return cli_usage(ctx, "give the agent: claude or codex");
    if (dir)
        snprintf(path, sizeof(path), "%s/%s", dir, ag->file);
    else
        snprintf(path, sizeof(path), "%s", ag->file);

    char *text = read_file(path, &missing, ctx, &rc);
    if (rc)
        return rc;
    json_error_t je;
    json_t *settings = missing ? json_object() : json_loads(text, 0, &je);
    if (!settings || !json_is_object(settings)) {
        rc = cli_failf(FT_EXIT_FAIL, "'%s' is not a JSON object%s%s: left as it is", path,
                       settings ? "" : ": ", settings ? "" : je.text);
        json_decref(settings);
        free(text);
        return rc;
    }
    json_t *hooks = json_object_get(settings, "hooks");
    if (hooks && !json_is_object(hooks)) {
        json_decref(settings);
        free(text);
        return cli_failf(FT_EXIT_FAIL, "'%s': \"hooks\" is not an object: left as it is", path);
    }
    json_t *before = json_deep_copy(settings);
    char *command = self_command();
    merge(settings, command, remove);
    free(command);
    int same = json_equal(before, settings); /* a change of layout alone is no change */
    json_decref(before);
    char *dumped = json_dumps(settings, JSON_INDENT(2));
    json_decref(settings);
    struct ft_buf nb;
    ft_buf_init(&nb, 0);
    ft_buf_addf(&nb, "%s\n", dumped ? dumped : "{}");
    free(dumped);
    const char *old = text ? text : "";

    same = same && !(missing && !remove);
    if (dry) {
        if (same)
            printf("%s: no change\n", path);
        else
            print_diff(path, old, nb.buf);
    } else if (same) {
        printf("%s: already %s\n", path, remove ? "without flowtrack's hooks" : "up to date");
    } else {
        struct stat sb;
        mode_t mode = missing || stat(path, &sb) ? 0644 : (sb.st_mode & 07777);
        snprintf(parent, sizeof(parent), "%s", path);
        *strrchr(parent, '/') = '\0'; /* the agent's directory: .claude, .codex */
        if (missing && mkdir(parent, 0755) && errno != EEXIST)
            rc = cli_failf(FT_EXIT_FAIL, "cannot create '%s': %s", parent, strerror(errno));
        if (!rc)
            rc = write_file(path, nb.buf, mode);
        if (!rc)
            printf("%s: %s the session-start and stop hooks\n", path,
                   remove ? "removed" : "installed");
    }
    ft_buf_release(&nb);
    free(text);
    return rc;
}
