/*
 * `flowtrack sync [--watch] [--ours|--theirs] FILE`: keep a Markdown or text file in step
 * with a tracker (docs/sync.md).
 *
 * Three versions meet: the file, the store's tracker, and the sync base, the document as the
 * last sync left it (the store's rendering then, with the store's entry numbers in document
 * order and the tracker's version). The base is a JSON file under the store's directory,
 * sync/<hash of the file's absolute path>.base, or, over --server, under
 * $XDG_STATE_HOME/flowtrack/sync/ (hash of the server's URL and the path): beside the store
 * because its numbers and version only mean something for that store, and in a directory of
 * its own because the store's change watch looks at the store's directory (a subdirectory's
 * files do not wake it). A lock file beside it makes syncs of one file take turns.
 *
 * What changed is told by the file's bytes (their hash against the base's) and the tracker's
 * version (its newest event). Changes of the file go to the store as ordinary operations
 * (src/ops/ops.h: entry add, edit, move, remove and header edits, each its own event with the
 * actor), planned by the three-way merge of src/core/merge.h; each write carries the version
 * the previous one left (if_version), so a concurrent writer makes the sync start over rather
 * than overwrite. The file is written only as the store's rendering, atomically: a temporary
 * file in its directory, fsync, rename, fsync of the directory. The order of writes (store,
 * file, base) makes a crash at any point safe to sync again: the next run finds the same
 * change on both sides, which is no conflict.
 */
#include "cli.h"

#include "../core/import.h"
#include "../core/merge.h"
#include "../util/ft_buf.h"
#include "../util/ft_time.h"
#include "../util/ft_xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../util/banned.h"

#define BASE_FORMAT    1     /* the state file's layout */
#define LOCK_WAIT_MS   10000 /* another sync of the same file holds the lock */
#define LOAD_TRIES     5     /* reads of the store that a concurrent write interleaved */
#define APPLY_TRIES    3     /* merges that a concurrent write made start over */
#define BURST_MAX_MS   1000  /* a burst of changes never delays a sync longer */
#define REMOTE_POLL_MS 1000  /* over a server, how often the tracker's version is read */

struct sync {
    struct ft_ctx *ctx;
    char *path;      /* the file, absolute */
    char *dir;       /* its directory */
    char *name;      /* its name in it */
    char *state_dir; /* where its base and lock live */
    char *key;       /* the hash naming them */
    enum ft_import_fmt fmt;
    enum ft_merge_prefer prefer;
    int watch;
    int paused; /* --watch: the file is gone, and that was said */
};

/* The store's side: the tracker's rendering read back, with its entry numbers. */
struct side {
    int64_t tid, version;
    char *slug;
    struct ft_buf doc;
    struct ft_tracker *t;
    json_t *nums; /* {"item": [numbers in document order], ...} */
};

static const char *const list_key[FT_K__COUNT] = {"rules",      "steps",   "items",     "symptoms",
                                                  "hypotheses", "results", "followups", "notes"};

/* ---- small helpers ------------------------------------------------------------------ */

/* FNV-1a, 64 bits, as 16 hex digits. */
static void hash_hex(const void *data, size_t len, char out[17])
{
    const unsigned char *p = data;
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static void side_release(struct side *sd)
{
    free(sd->slug);
    ft_buf_release(&sd->doc);
    ft_tracker_free(sd->t);
    json_decref(sd->nums);
    memset(sd, 0, sizeof(*sd));
    ft_buf_init(&sd->doc, FT_IMPORT_MAX_BYTES);
}

/* mkdir -p of an absolute path. */
static int make_dirs(const char *path)
{
    char p[PATH_MAX + 64];
    size_t n = strlen(path);
    if (n >= sizeof(p)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(p, path, n + 1);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            return -1;
        *s = '/';
    }
    return mkdir(p, 0777) != 0 && errno != EEXIST ? -1 : 0;
}

/* The temporary file of name in dir: ".NAME.ft-sync-PID.tmp". */
static void temp_name(char *out, size_t n, const char *dir, const char *name)
{
    snprintf(out, n, "%s/.%s.ft-sync-%ld.tmp", dir, name, (long)getpid());
}

/* Remove what a sync of name killed between writing and renaming left in dir (the caller
 * holds the lock, so no other sync of it is writing one now). */
static void clean_temps(const char *dir, const char *name)
{
    char prefix[NAME_MAX + 16];
    snprintf(prefix, sizeof(prefix), ".%s.ft-sync-", name);
    size_t pl = strlen(prefix);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l > pl + 4 && strncmp(de->d_name, prefix, pl) == 0 &&
            strcmp(de->d_name + l - 4, ".tmp") == 0)
            unlinkat(dirfd(d), de->d_name, 0);
    }
    closedir(d);
}

/*
 * Replace dir/name with data, atomically: a temporary file in the same directory, written
 * and fsync'd, renamed over the file, then the directory fsync'd so that the rename lasts.
 * A reader (or a crash) sees the old file or the new one, never a part. The file keeps its
 * mode; a new one gets 0666 less the umask.
 */
static int write_atomic(const char *dir, const char *name, const char *data, size_t len,
                        struct ft_err *err)
{
    char tmp[PATH_MAX + NAME_MAX + 32], path[PATH_MAX + NAME_MAX + 2];
    temp_name(tmp, sizeof(tmp), dir, name);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    struct stat sb;
    int have_mode = stat(path, &sb) == 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0)
        return ft_err_set(err, FT_EIO, "cannot write '%s': %s", tmp, strerror(errno));
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    int ok = off == len && (!have_mode || fchmod(fd, sb.st_mode & 07777) == 0) && fsync(fd) == 0;
    int e = errno;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        e = ok ? errno : e;
        unlink(tmp);
        return ft_err_set(err, FT_EIO, "cannot write '%s': %s", path, strerror(e));
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

/* Take the lock of the file's syncs, waiting a bounded time for another sync to finish. */
static int lock_take(struct sync *s, int *fd, struct ft_err *err)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/%s.lock", s->state_dir, s->key);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (*fd < 0)
        return ft_err_set(err, FT_EIO, "cannot open '%s': %s", path, strerror(errno));
    int64_t until = ft_mono_ms() + LOCK_WAIT_MS;
    while (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            int e = errno;
            close(*fd);
            return ft_err_set(err, FT_EIO, "cannot lock '%s': %s", path, strerror(e));
        }
        if (ft_mono_ms() > until) {
            close(*fd);
            return ft_err_set(err, FT_EBUSY,
                              "another sync of '%s' has held '%s' for %d s: try again later",
                              s->path, path, LOCK_WAIT_MS / 1000);
        }
        usleep(20000);
    }
    return 0;
}

/* ---- the base ----------------------------------------------------------------------- */

static void base_path(const struct sync *s, char *out, size_t n)
{
    snprintf(out, n, "%s/%s.base", s->state_dir, s->key);
}

/* The base, or NULL when there is none (*rc 0) or it cannot be read (*rc set). */
static json_t *base_load(struct sync *s, int *rc, struct ft_err *err)
{
    char path[PATH_MAX + 64];
    struct ft_buf b;
    base_path(s, path, sizeof(path));
    ft_buf_init(&b, 0);
    *rc = cli_read_file(path, CLI_READ_REGULAR, &b, err);
    if (*rc == FT_ENOTFOUND) {
        *rc = 0;
        ft_buf_release(&b);
        return NULL;
    }
    json_t *j = NULL;
    if (!*rc) {
        json_error_t je;
        j = json_loadb(b.buf, b.len, 0, &je);
        if (!j || json_integer_value(json_object_get(j, "flowtrack_sync")) != BASE_FORMAT ||
            !json_is_string(json_object_get(j, "doc"))) {
            json_decref(j);
            j = NULL;
            *rc = ft_err_set(err, FT_EINVAL,
                             "the sync base '%s' is not one this flowtrack wrote: remove it to "
                             "sync '%s' as for the first time",
                             path, s->path);
        }
    }
    ft_buf_release(&b);
    return j;
}

static int base_save(struct sync *s, const struct side *sd, struct ft_err *err)
{
    char hash[17], name[64];
    hash_hex(sd->doc.buf, sd->doc.len, hash);
    json_t *j =
        json_pack("{s:i, s:s, s:I, s:s, s:I, s:s, s:s, s:O, s:o}", "flowtrack_sync", BASE_FORMAT,
                  "file", s->path, "tracker", (json_int_t)sd->tid, "slug", sd->slug, "version",
                  (json_int_t)sd->version, "format", ft_import_fmt_name(s->fmt), "file_hash", hash,
                  "nums", sd->nums, "doc", json_stringn_nocheck(sd->doc.buf, sd->doc.len));
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    snprintf(name, sizeof(name), "%s.base", s->key);
    int rc = write_atomic(s->state_dir, name, text, strlen(text), err);
    free(text);
    return rc;
}

/* ---- the store's side --------------------------------------------------------------- */

/* Give t's entries the numbers of nums (document order); FT_EINVAL when they do not line up. */
static int attach_nums(struct ft_tracker *t, json_t *nums, struct ft_err *err)
{
    for (int k = 0; k < FT_K__COUNT; k++) {
        json_t *a = json_object_get(nums, ft_kind_name((enum ft_kind)k));
        struct ft_entry_list *l = &t->lists[k];
        if (json_array_size(a) != l->n)
            return ft_err_set(err, FT_EINVAL,
                              "the %ss of the rendering do not line up with the store's (%zu, "
                              "%zu)",
                              ft_kind_name((enum ft_kind)k), l->n, json_array_size(a));
        for (size_t i = 0; i < l->n; i++)
            l->v[i].num = (int)json_integer_value(json_array_get(a, i));
    }
    return 0;
}

/* The numbers of show's JSON in the order the layouts write the entries (items by group). */
static json_t *nums_of(json_t *show)
{
    json_t *nums = json_object();
    for (int k = 0; k < FT_K__COUNT; k++) {
        json_t *a = json_object_get(show, list_key[k]), *out = json_array(), *e;
        size_t i;
        for (int st = 0; st < (k == FT_K_ITEM ? FT_ST__COUNT : 1); st++)
            json_array_foreach(a, i, e)
            {
                const char *state = json_string_value(json_object_get(e, "state"));
                if (k == FT_K_ITEM && (!state || strcmp(state, ft_state_name(st)) != 0))
                    continue;
                json_array_append(out, json_object_get(e, "num"));
            }
        json_object_set_new(nums, ft_kind_name((enum ft_kind)k), out);
    }
    return nums;
}

/* The tracker's id, slug and version (cheap: its header). */
static int store_header(struct sync *s, const char *ref, int64_t *tid, int64_t *version,
                        char **slug, struct ft_err *err)
{
    struct ft_result res;
    json_t *args = json_object();
    if (ref)
        json_object_set_new(args, "tracker", json_string(ref));
    int rc = ft_ops_call(s->ctx->ops, FT_OP_TRACKER_HEADER, args, &res, err);
    json_decref(args);
    if (rc)
        return rc;
    *tid = json_integer_value(json_object_get(res.json, "id"));
    *version = json_integer_value(json_object_get(res.json, "version"));
    if (slug) {
        free(*slug);
        *slug = ft_xstrdup(cli_jstr(res.json, "slug"));
    }
    ft_result_release(&res);
    return 0;
}

/* Read the tracker as it is now: its rendering, read back, with its numbers. */
static int store_load(struct sync *s, const char *ref, struct side *sd, struct ft_err *err)
{
    char id[24];
    int rc = 0;
    side_release(sd);
    for (int tries = 0; tries < LOAD_TRIES; tries++) {
        int64_t again = 0, tid2 = 0;
        struct ft_result js, doc;
        if ((rc = store_header(s, ref, &sd->tid, &sd->version, &sd->slug, err)))
            return rc;
        snprintf(id, sizeof(id), "%lld", (long long)sd->tid);
        json_t *a = json_pack("{s:s, s:s}", "tracker", id, "format", "json");
        rc = ft_ops_call(s->ctx->ops, FT_OP_TRACKER_SHOW, a, &js, err);
        json_decref(a);
        if (rc)
            return rc;
        a = json_pack("{s:s, s:s}", "tracker", id, "format",
                      s->fmt == FT_IMPORT_MD ? "md" : "text");
        rc = ft_ops_call(s->ctx->ops, FT_OP_TRACKER_SHOW, a, &doc, err);
        json_decref(a);
        if (!rc)
            rc = store_header(s, id, &tid2, &again, NULL, err);
        if (rc) {
            ft_result_release(&js);
            return rc;
        }
        json_decref(sd->nums);
        sd->nums = nums_of(js.json);
        ft_buf_reset(&sd->doc);
        ft_buf_add(&sd->doc, doc.doc.buf, doc.doc.len);
        ft_result_release(&js);
        ft_result_release(&doc);
        ref = id;
        if (again == sd->version)
            break; /* nothing was written between the two reads */
    }
    ft_tracker_free(sd->t);
    sd->t = NULL;
    if ((rc = ft_import(sd->doc.buf, sd->doc.len, s->fmt, &sd->t, err)) ||
        (rc = attach_nums(sd->t, sd->nums, err)))
        return ft_err_set(err, FT_EIO, "cannot read back the rendering of tracker %s: %s", sd->slug,
                          err->msg);
    return 0;
}

/* ---- applying a plan ---------------------------------------------------------------- */

/* Run the plan's steps on tracker tid, each only while the tracker is at the version the
 * previous one left; *version follows. */
static int apply(struct sync *s, int64_t tid, json_t *plan, int64_t *version, int *applied,
                 struct ft_err *err)
{
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)tid);
    json_t *refs = json_object(), *st;
    size_t i;
    int rc = 0;
    json_array_foreach(plan, i, st)
    {
        const char *op = json_string_value(json_object_get(st, "op"));
        json_t *a = json_pack("{s:s, s:I}", "tracker", id, "if_version", (json_int_t)*version);
        enum ft_op o;
        json_object_update_missing(a, st);
        json_object_del(a, "op");
        json_object_del(a, "ref");
        if (strcmp(op, "tracker.edit") == 0) {
            o = FT_OP_TRACKER_EDIT;
        } else if (strcmp(op, "entry.add") == 0) {
            o = FT_OP_ENTRY_ADD;
        } else if (strcmp(op, "entry.edit") == 0) {
            o = FT_OP_ENTRY_EDIT;
        } else if (strcmp(op, "entry.remove") == 0) {
            o = FT_OP_ENTRY_REMOVE;
        } else {
            o = FT_OP_ENTRY_MOVE;
            json_t *ref = json_object_get(st, "ref");
            if (ref) {
                char rk[24];
                snprintf(rk, sizeof(rk), "%lld", (long long)json_integer_value(ref));
                json_object_set(a, "num", json_object_get(refs, rk));
            }
        }
        struct ft_result res;
        rc = ft_ops_call(s->ctx->ops, o, a, &res, err);
        json_decref(a);
        if (rc)
            break;
        *version = json_integer_value(json_object_get(res.json, "seq"));
        if (o == FT_OP_ENTRY_ADD) {
            char rk[24];
            snprintf(rk, sizeof(rk), "%lld",
                     (long long)json_integer_value(json_object_get(st, "ref")));
            json_object_set(refs, rk, json_object_get(res.json, "num"));
        }
        ft_result_release(&res);
        (*applied)++;
    }
    json_decref(refs);
    return rc;
}

/* ---- reporting ---------------------------------------------------------------------- */

/* s cut to about 60 bytes on a character boundary, quoted, into out. */
static void quoted(char *out, size_t n, const char *s)
{
    size_t len = strlen(s), cut = len;
    if (cut > 60) {
        cut = 60;
        while (cut && ((unsigned char)s[cut] & 0xC0) == 0x80)
            cut--;
    }
    size_t nl = strcspn(s, "\n");
    if (nl < cut)
        cut = nl;
    snprintf(out, n, "\"%.*s%s\"", (int)cut, s, cut < len ? "..." : "");
}

static void print_conflicts(FILE *f, json_t *conflicts)
{
    size_t i;
    json_t *c;
    json_array_foreach(conflicts, i, c)
    {
        const char *kind = cli_jstr(c, "kind"), *field = cli_jstr(c, "field");
        const char *fv = json_string_value(json_object_get(c, "file"));
        const char *sv = json_string_value(json_object_get(c, "store"));
        const char *bv = json_string_value(json_object_get(c, "base"));
        char q1[96], q2[96], q3[96], what[160];
        quoted(q1, sizeof(q1), fv ? fv : "");
        quoted(q2, sizeof(q2), sv ? sv : "");
        quoted(q3, sizeof(q3), bv ? bv : "");
        if (strcmp(field, "order") == 0) {
            fprintf(f, "  the order of the %ss changed differently in the file and the store\n",
                    kind);
            continue;
        }
        if (strcmp(kind, "header") == 0)
            snprintf(what, sizeof(what), "header");
        else if (cli_jint(c, "num"))
            snprintf(what, sizeof(what), "%s %lld", kind, cli_jint(c, "num"));
        else
            snprintf(what, sizeof(what), "%s (new on both sides)", kind);
        if (strcmp(field, "entry") == 0) {
            fprintf(f, "  %s %s: %s\n", what, fv ? q1 : q2,
                    fv ? "changed in the file, removed in the store"
                       : "removed in the file, changed in the store");
            continue;
        }
        char text[96] = "";
        if (strcmp(kind, "header") != 0)
            quoted(text, sizeof(text), cli_jstr(c, "text"));
        fprintf(f, "  %s%s%s %s: file %s, store %s%s%s%s\n", what, *text ? " " : "", text, field,
                q1, q2, bv ? " (was " : "", bv ? q3 : "", bv ? ")" : "");
    }
}

/* One line (or, with --json, one object) saying what the sync did. */
static void report(struct sync *s, const char *action, const struct side *sd, int applied,
                   int written, json_t *conflicts)
{
    if (s->ctx->json) {
        json_t *o = json_pack("{s:s, s:s, s:{s:I, s:s?}, s:I, s:i, s:b, s:O?}", "file", s->path,
                              "action", action, "tracker", "id", (json_int_t)sd->tid, "slug",
                              sd->slug, "version", (json_int_t)sd->version, "applied", applied,
                              "file_written", written, "conflicts", conflicts);
        char *t = json_dumps(o, s->watch ? JSON_COMPACT : JSON_INDENT(2));
        if (t)
            printf("%s\n", t);
        free(t);
        json_decref(o);
    } else if (strcmp(action, "none") == 0) {
        if (!s->watch)
            printf("%s: up to date with tracker %s\n", s->path, sd->slug);
    } else if (strcmp(action, "write") == 0) {
        printf("%s: written from tracker %s (version %lld)\n", s->path, sd->slug,
               (long long)sd->version);
    } else if (strcmp(action, "import") == 0) {
        printf("%s: imported as tracker %s (%lld)%s\n", s->path, sd->slug, (long long)sd->tid,
               written ? "; the file is now in its canonical layout" : "");
    } else if (!applied && !written) {
        printf("%s: in step with tracker %s (version %lld)\n", s->path, sd->slug,
               (long long)sd->version);
    } else {
        printf("%s: %d change%s applied to tracker %s (version %lld)%s\n", s->path, applied,
               applied == 1 ? "" : "s", sd->slug, (long long)sd->version,
               written ? "; file rewritten" : "");
    }
    fflush(stdout);
}

/* ---- one sync ----------------------------------------------------------------------- */

/* Write the store's rendering to the file when the file differs, then the base. */
static int finish(struct sync *s, const struct side *sd, const struct ft_buf *file, int have_file,
                  int *written, struct ft_err *err)
{
    int rc = 0;
    *written =
        !have_file || file->len != sd->doc.len || memcmp(file->buf, sd->doc.buf, sd->doc.len) != 0;
    if (*written)
        rc = write_atomic(s->dir, s->name, sd->doc.buf, sd->doc.len, err);
    return rc ? rc : base_save(s, sd, err);
}

static void print_warnings(struct sync *s, const struct ft_import_report *rep)
{
    for (size_t i = 0; i < rep->n; i++)
        fprintf(stderr, "warning: %s: line %d: %s\n", s->path, rep->v[i].line, rep->v[i].msg);
}

/* Import the file as a new tracker (named by -t when it is a slug). */
static int import_file(struct sync *s, const struct ft_buf *data, char **ref, struct ft_err *err)
{
    const char *t = s->ctx->tracker;
    struct ft_result res;
    json_t *a = json_pack("{s:o, s:s, s:s}", "document", json_stringn_nocheck(data->buf, data->len),
                          "format", ft_import_fmt_name(s->fmt), "mode", "auto");
    if (t && cli_num(t) < 0)
        json_object_set_new(a, "slug", json_string(t));
    int rc = ft_ops_call(s->ctx->ops, FT_OP_TRACKER_IMPORT, a, &res, err);
    json_decref(a);
    if (rc)
        return rc;
    size_t i;
    json_t *w;
    json_array_foreach(json_object_get(res.json, "warnings"), i, w)
    {
        fprintf(stderr, "warning: %s: line %lld: %s\n", s->path, cli_jint(w, "line"),
                cli_jstr(w, "message"));
    }
    char id[24];
    snprintf(id, sizeof(id), "%lld", cli_jint(res.json, "tracker.id"));
    *ref = ft_xstrdup(id);
    ft_result_release(&res);
    return 0;
}

/*
 * Merge the file's changes since the base with the store's, apply them, and leave the file
 * as the store's rendering. 0, FT_EXIT_CONFLICT after the report, or an error.
 */
static int merge_and_apply(struct sync *s, json_t *base, const char *ref, const struct ft_buf *data,
                           struct side *sd, int *applied, json_t **settled, struct ft_err *err)
{
    struct ft_tracker *f = NULL, *b = NULL;
    struct ft_import_report rep;
    int rc = ft_import_read(data->buf, data->len, s->fmt, FT_IMPORT_FALLBACK, &f, &rep, err);
    if (rc) {
        ft_import_report_release(&rep);
        return ft_err_set(err, rc, "cannot read '%s': %s", s->path, err->msg);
    }
    print_warnings(s, &rep);
    ft_import_report_release(&rep);
    if (base) {
        json_t *doc = json_object_get(base, "doc");
        int bf = ft_import_fmt_parse(cli_jstr(base, "format"));
        rc = ft_import(json_string_value(doc), json_string_length(doc),
                       bf > 0 ? (enum ft_import_fmt)bf : s->fmt, &b, err);
        if (!rc)
            rc = attach_nums(b, json_object_get(base, "nums"), err);
        if (rc) {
            rc = ft_err_set(err, FT_EINVAL,
                            "the sync base of '%s' cannot be read (%s): remove it "
                            "to sync as for the first time",
                            s->path, err->msg);
            goto out;
        }
    }
    for (int tries = 0;; tries++) {
        json_t *plan, *conflicts;
        if ((rc = store_load(s, ref, sd, err)))
            goto out;
        ft_merge_plan(b, f, sd->t, s->prefer, &plan, &conflicts);
        if (json_array_size(conflicts) && s->prefer == FT_MERGE_ASK) {
            fprintf(stderr,
                    "flowtrack: conflict: '%s' and tracker %s changed the same thing%s; nothing "
                    "written:\n",
                    s->path, sd->slug, b ? " since the last sync" : " (first sync: no base)");
            print_conflicts(stderr, conflicts);
            fprintf(stderr,
                    "resolve with 'flowtrack sync --ours %s' (the file wins) or "
                    "'--theirs' (the tracker wins), or edit the file\n",
                    s->path);
            if (s->ctx->json)
                report(s, "conflict", sd, 0, 0, conflicts);
            json_decref(plan);
            json_decref(conflicts);
            rc = FT_EXIT_CONFLICT;
            goto out;
        }
        int64_t version = sd->version;
        rc = apply(s, sd->tid, plan, &version, applied, err);
        json_decref(plan);
        json_decref(*settled);
        *settled = conflicts;
        if (rc == FT_EEXIST && strcmp(err->field, "If-Match") == 0 && tries + 1 < APPLY_TRIES)
            continue; /* another writer came in between: merge again with what it wrote */
        if (rc)
            goto out;
        char id[24];
        snprintf(id, sizeof(id), "%lld", (long long)sd->tid);
        rc = *applied ? store_load(s, id, sd, err) : 0;
        break;
    }
out:
    ft_tracker_free(f);
    ft_tracker_free(b);
    return rc;
}

/*
 * One sync of the file and its tracker (the cases are in docs/sync.md). Returns an exit
 * status, having printed what happened.
 */
static int sync_once(struct sync *s)
{
    struct ft_err err;
    struct ft_buf data;
    struct side sd;
    json_t *base = NULL, *settled = NULL;
    char *ref = NULL, hash[17];
    const char *action = "none";
    int lock = -1, rc, have_file, have_store, applied = 0, written = 0;
    int64_t tid = 0, version = 0;

    ft_err_clear(&err);
    ft_buf_init(&data, FT_IMPORT_MAX_BYTES);
    memset(&sd, 0, sizeof(sd));
    ft_buf_init(&sd.doc, FT_IMPORT_MAX_BYTES);
    if ((rc = lock_take(s, &lock, &err)))
        goto fail;
    clean_temps(s->dir, s->name);
    {
        char bn[64];
        snprintf(bn, sizeof(bn), "%s.base", s->key);
        clean_temps(s->state_dir, bn);
    }
    if (!(base = base_load(s, &rc, &err)) && rc)
        goto fail;
    rc = cli_read_file(s->path, CLI_READ_REGULAR, &data, &err);
    if (rc && rc != FT_ENOTFOUND)
        goto fail;
    have_file = rc == 0;
    hash_hex(data.buf, data.len, hash);

    if (s->ctx->tracker) {
        ref = ft_xstrdup(s->ctx->tracker);
    } else if (base) { /* the tracker of the last sync, by number: its slug may change */
        char id[24];
        snprintf(id, sizeof(id), "%lld", cli_jint(base, "tracker"));
        ref = ft_xstrdup(id);
    }
    rc = store_header(s, ref, &tid, &version, NULL, &err);
    if (rc && rc != FT_ENOTFOUND)
        goto fail;
    have_store = rc == 0;
    if (base && have_store && tid != cli_jint(base, "tracker")) {
        json_decref(base); /* -t names another tracker: that base says nothing about it */
        base = NULL;
    }
    if (base && !have_store && !s->ctx->tracker) {
        rc = ft_err_set(&err, FT_ENOTFOUND,
                        "tracker %s, which '%s' was synced with, no longer exists: nothing "
                        "written (give -t SLUG to import the file as a new tracker)",
                        cli_jstr(base, "slug"), s->path);
        goto fail;
    }
    if (base && have_store && have_file && version == cli_jint(base, "version") &&
        strcmp(hash, cli_jstr(base, "file_hash")) == 0) {
        s->paused = 0;
        if (!s->watch) {
            sd.tid = tid;
            sd.slug = ft_xstrdup(cli_jstr(base, "slug"));
            sd.version = version;
            report(s, action, &sd, 0, 0, NULL);
        }
        goto done;
    }

    if (!have_file) {
        if (!have_store) {
            rc = ft_err_set(&err, FT_ENOTFOUND,
                            "'%s' does not exist and there is no tracker to write to it: %s",
                            s->path, err.msg);
            goto fail;
        }
        if (base && s->watch) {
            if (!s->paused)
                fprintf(stderr,
                        "flowtrack: '%s' was deleted: sync paused until it is back (the "
                        "tracker keeps everything; 'flowtrack sync %s' writes it again)\n",
                        s->path, s->path);
            s->paused = 1;
            goto done;
        }
        action = "write";
        if ((rc = store_load(s, ref, &sd, &err)) || (rc = finish(s, &sd, &data, 0, &written, &err)))
            goto fail;
    } else if (!have_store) {
        action = "import";
        free(ref);
        ref = NULL;
        if ((rc = import_file(s, &data, &ref, &err)) || (rc = store_load(s, ref, &sd, &err)) ||
            (rc = finish(s, &sd, &data, 1, &written, &err)))
            goto fail;
    } else if (base && strcmp(hash, cli_jstr(base, "file_hash")) == 0) {
        action = "write"; /* only the store changed */
        if ((rc = store_load(s, ref, &sd, &err)) || (rc = finish(s, &sd, &data, 1, &written, &err)))
            goto fail;
    } else {
        action = "merge";
        rc = merge_and_apply(s, base, ref, &data, &sd, &applied, &settled, &err);
        if (rc == FT_EXIT_CONFLICT)
            goto out;
        if (rc || (rc = finish(s, &sd, &data, 1, &written, &err)))
            goto fail;
        if (json_array_size(settled)) {
            fprintf(stderr, "flowtrack: %zu conflict%s settled for the %s:\n",
                    json_array_size(settled), json_array_size(settled) == 1 ? "" : "s",
                    s->prefer == FT_MERGE_FILE ? "file (--ours)" : "tracker (--theirs)");
            print_conflicts(stderr, settled);
        }
    }
    s->paused = 0;
    report(s, action, &sd, applied, written, NULL);
done:
    rc = 0;
    goto out;
fail:
    if (rc < 0)
        rc = cli_failf(cli_exit_code(rc), "sync '%s': %s", s->path, err.msg);
out:
    if (lock >= 0)
        close(lock); /* and with it the lock */
    json_decref(base);
    json_decref(settled);
    free(ref);
    side_release(&sd);
    ft_buf_release(&sd.doc);
    ft_buf_release(&data);
    return rc;
}

/* ---- --watch ------------------------------------------------------------------------ */

static int64_t later(int64_t a, int64_t b)
{
    return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

/*
 * Follow both sides until SIGINT or SIGTERM (exit 0): inotify on the file's directory (an
 * editor replaces the file by a rename, or deletes it), the store's change watch (over a
 * server, its version read every second). A change starts a sync once nothing more has
 * changed for the debounce time (at most BURST_MAX_MS after the first change). A sync that
 * fails or finds a conflict is reported, and the watch goes on.
 */
static int watch(struct sync *s, int64_t debounce_ms)
{
    struct ft_err err;
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, &old);
    int sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    int ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC), wfd = -1, rc = 0;
    if (sfd < 0 || ifd < 0 ||
        inotify_add_watch(ifd, s->dir,
                          IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                              IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
        rc = cli_failf(FT_EXIT_FAIL, "cannot watch '%s': %s", s->dir, strerror(errno));
        goto out;
    }
    if (s->ctx->st)
        ft_store_watch_open(s->ctx->st, &wfd, &err);
    rc = sync_once(s);
    if (rc == FT_EXIT_USAGE || rc == FT_EXIT_NOTFOUND)
        goto out;
    rc = 0;
    fprintf(stderr, "flowtrack: watching '%s' (SIGINT or SIGTERM ends it)\n", s->path);
    int64_t due = -1, first = -1, recheck = -1;
    int64_t poll_at = wfd < 0 ? ft_mono_ms() + REMOTE_POLL_MS : -1;
    for (;;) {
        int64_t now = ft_mono_ms(), next = later(later(due, recheck), poll_at);
        int timeout = next < 0 ? -1 : next <= now ? 0 : (int)(next - now);
        struct pollfd p[3] = {{sfd, POLLIN, 0}, {ifd, POLLIN, 0}, {wfd, POLLIN, 0}};
        if (poll(p, wfd >= 0 ? 3 : 2, timeout) < 0 && errno != EINTR) {
            rc = cli_failf(FT_EXIT_FAIL, "poll: %s", strerror(errno));
            break;
        }
        if (p[0].revents) { /* SIGINT or SIGTERM: taken here, so it does not fire on exit */
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                ;
            break;
        }
        now = ft_mono_ms();
        int hit = 0;
        if (p[1].revents) {
            char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
            ssize_t n;
            while ((n = read(ifd, buf, sizeof(buf))) > 0) {
                for (char *q = buf; q < buf + n;) {
                    const struct inotify_event *ie = (const struct inotify_event *)(void *)q;
                    if (ie->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
                        rc = cli_failf(FT_EXIT_FAIL, "the directory '%s' is gone", s->dir);
                        goto out;
                    }
                    if (ie->len && strcmp(ie->name, s->name) == 0)
                        hit = 1;
                    q += sizeof(*ie) + ie->len;
                }
            }
        }
        if (wfd >= 0 && p[2].revents) {
            int64_t rch = 0;
            if (ft_store_watch_read(s->ctx->st, &rch)) {
                hit = 1;
                if (rch > 0) /* a commit may become visible a little after its signal */
                    recheck = now + rch;
            }
        }
        if (hit) {
            if (first < 0)
                first = now;
            due =
                first + BURST_MAX_MS < now + debounce_ms ? first + BURST_MAX_MS : now + debounce_ms;
        }
        int run = 0;
        if (due >= 0 && now >= due)
            run = 1, due = -1, first = -1;
        if (recheck >= 0 && now >= recheck)
            run = 1, recheck = -1;
        if (poll_at >= 0 && now >= poll_at)
            run = 1, poll_at = now + REMOTE_POLL_MS;
        if (run)
            sync_once(s);
    }
out:
    if (wfd >= 0)
        ft_store_watch_close(s->ctx->st);
    if (ifd >= 0)
        close(ifd);
    if (sfd >= 0)
        close(sfd);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* ---- the command -------------------------------------------------------------------- */

/* Where the file's base and lock live (see the top of this file); 0 or an exit status. */
static int state_dir(struct sync *s)
{
    char buf[PATH_MAX + 64];
    struct ft_buf key;
    ft_buf_init(&key, 0);
    if (s->ctx->st) {
        char *abs = realpath(ft_store_path(s->ctx->st), NULL);
        const char *p = abs ? abs : ft_store_path(s->ctx->st);
        const char *slash = strrchr(p, '/');
        snprintf(buf, sizeof(buf), "%.*s/sync", slash ? (int)(slash - p) : 1, slash ? p : ".");
        free(abs);
    } else {
        const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
        if (xdg && *xdg == '/')
            snprintf(buf, sizeof(buf), "%s/flowtrack/sync", xdg);
        else
            snprintf(buf, sizeof(buf), "%s/.local/state/flowtrack/sync",
                     home && *home ? home : "/tmp");
        ft_buf_adds(&key, s->ctx->server);
        ft_buf_addc(&key, '\n');
    }
    ft_buf_adds(&key, s->path);
    char hex[17];
    hash_hex(key.buf, key.len, hex);
    ft_buf_release(&key);
    s->key = ft_xstrdup(hex);
    s->state_dir = ft_xstrdup(buf);
    if (make_dirs(buf) != 0)
        return cli_failf(FT_EXIT_FAIL, "cannot create '%s': %s", buf, strerror(errno));
    return 0;
}

/* The file's absolute path (through a symbolic link to what it names), directory and name. */
static int locate(struct sync *s, const char *arg)
{
    char *real = realpath(arg, NULL);
    char dir[PATH_MAX];
    const char *p = real ? real : arg, *slash = strrchr(p, '/');
    if (!real && slash == p + strlen(p) - 1) {
        free(real);
        return cli_failf(FT_EXIT_USAGE, "sync: '%s' names a directory, not a file", arg);
    }
    snprintf(dir, sizeof(dir), "%.*s", slash ? (slash == p ? 1 : (int)(slash - p)) : 1,
             slash ? p : ".");
    char *rdir = realpath(dir, NULL);
    if (!rdir) {
        int e = errno;
        free(real);
        return cli_failf(e == ENOENT ? FT_EXIT_NOTFOUND : FT_EXIT_FAIL,
                         "sync: no directory '%s' for '%s': %s", dir, arg, strerror(e));
    }
    s->dir = rdir;
    s->name = ft_xstrdup(slash ? slash + 1 : p);
    size_t n = strlen(rdir) + strlen(s->name) + 2;
    s->path = ft_xmalloc(n);
    snprintf(s->path, n, "%s%s%s", rdir, strcmp(rdir, "/") ? "/" : "", s->name);
    free(real);
    struct stat sb;
    if (stat(s->path, &sb) == 0 && S_ISDIR(sb.st_mode))
        return cli_failf(FT_EXIT_USAGE, "sync: '%s' is a directory, not a file", arg);
    return 0;
}

int cmd_sync(int argc, char **argv, json_t *opt, struct ft_ctx *ctx)
{
    struct sync s;
    memset(&s, 0, sizeof(s));
    s.ctx = ctx;
    const char *fs = json_string_value(json_object_get(opt, "format"));
    int ours = json_is_true(json_object_get(opt, "ours"));
    int theirs = json_is_true(json_object_get(opt, "theirs"));
    json_t *db = json_object_get(opt, "debounce");
    int64_t debounce = db ? json_integer_value(db) : 100;
    s.watch = json_is_true(json_object_get(opt, "watch"));
    s.prefer = ours ? FT_MERGE_FILE : theirs ? FT_MERGE_STORE : FT_MERGE_ASK;
    if (argc < 1)
        return cli_usage(ctx, "missing the FILE to keep in step with the tracker");
    int rc = cli_operands(ctx, argc, argv, 1);
    if (rc)
        return rc;
    if (ours && theirs)
        return cli_usage(ctx, "--ours and --theirs exclude each other");
    if (fs) {
        int f = ft_import_fmt_parse(fs);
        if (f != FT_IMPORT_TEXT && f != FT_IMPORT_MD)
            return cli_usage(ctx, "format must be md or text, not '%s'", fs);
        s.fmt = (enum ft_import_fmt)f;
    } else {
        const char *dot = strrchr(argv[0], '.');
        s.fmt = dot && (strcmp(dot, ".md") == 0 || strcmp(dot, ".markdown") == 0) ? FT_IMPORT_MD
                                                                                  : FT_IMPORT_TEXT;
    }
    if ((rc = locate(&s, argv[0])) || (rc = cli_ops(ctx, 0)) || (rc = state_dir(&s)))
        goto out;
    rc = s.watch ? watch(&s, debounce) : sync_once(&s);
out:
    free(s.path);
    free(s.dir);
    free(s.name);
    free(s.state_dir);
    free(s.key);
    return rc;
}
