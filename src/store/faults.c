/*
 * faults.c: the fault-injecting SQLite VFS of the test builds (faults.h).
 *
 * The VFS is a shim: every method forwards to the default VFS ("unix") and its files, except
 * that xRead, xWrite and xSync on the store's own files (database, WAL, rollback journal; not
 * temporary files, not the shared-memory index) first ask fault_hit() whether this call is
 * one to fail. A failed call does nothing: the real file is not touched, as if the kernel had
 * refused it, which is what SQLite must survive.
 *
 * The spec is armed from FLOWTRACK_FAULTS at install, or from the file FLOWTRACK_FAULTS_FILE
 * names, which is looked at (stat and a read of at most 255 bytes) at every counted call: the
 * cost is only paid in a test run that asked for it.
 */
#include "faults.h"

#include "../util/ft_err.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../util/banned.h"

/* ---- the spec ------------------------------------------------------------------------- */

static const char *const kind_names[FT_FAULT__COUNT] = {"write", "full", "fsync", "read"};

/* One "key=value" of a spec, value a whole number in [min, 1e9]. */
static int parse_count(const char *key, const char *val, size_t len, long min, long *out,
                       struct ft_err *err)
{
    char buf[16];
    char *end = NULL;
    if (len == 0 || len >= sizeof(buf))
        return ft_err_set(err, FT_EINVAL, "fault spec: '%s' needs a number", key);
    memcpy(buf, val, len);
    buf[len] = '\0';
    errno = 0;
    long n = strtol(buf, &end, 10);
    if (errno || *end || !isdigit((unsigned char)buf[0]) || n < min || n > 1000000000L)
        return ft_err_set(err, FT_EINVAL, "fault spec: '%s=%s' is not a count (%ld or more)", key,
                          buf, min);
    *out = n;
    return 0;
}

int ft_faults_parse(const char *text, struct ft_fault_spec *spec, struct ft_err *err)
{
    int seen_times = 0;
    memset(spec, 0, sizeof(*spec));
    spec->times = 1;
    for (const char *p = text ? text : ""; *p;) {
        size_t n = strcspn(p, ",\n");
        const char *eq = memchr(p, '=', n);
        int rc = 0;
        if (n == 0) { /* "a,,b" and a trailing newline: nothing there */
            p++;
            continue;
        }
        if (!eq) {
            rc = ft_err_set(err, FT_EINVAL, "fault spec: '%.*s' is not KIND=N", (int)n, p);
        } else if ((size_t)(eq - p) == 5 && strncmp(p, "times", 5) == 0 && !seen_times) {
            seen_times = 1;
            rc = parse_count("times", eq + 1, n - 6, 0, &spec->times, err);
        } else {
            int k = 0;
            while (k < FT_FAULT__COUNT && !((size_t)(eq - p) == strlen(kind_names[k]) &&
                                            strncmp(p, kind_names[k], eq - p) == 0))
                k++;
            if (k == FT_FAULT__COUNT || spec->at[k])
                rc = ft_err_set(err, FT_EINVAL,
                                "fault spec: '%.*s' is not one of write, full, fsync, read or "
                                "times, or it is given twice",
                                (int)(eq - p), p);
            else
                rc = parse_count(kind_names[k], eq + 1, n - (size_t)(eq - p) - 1, 1, &spec->at[k],
                                 err);
        }
        if (rc) {
            memset(spec, 0, sizeof(*spec));
            spec->times = 1;
            return rc;
        }
        p += n;
        if (*p)
            p++;
    }
    return 0;
}

/* ---- the armed state ------------------------------------------------------------------ */

static struct {
    pthread_mutex_t lock;
    struct ft_fault_spec spec;
    long calls[FT_FAULT__COUNT]; /* calls of each kind since the spec was armed */
    const char *file;            /* FLOWTRACK_FAULTS_FILE, or NULL */
    struct stat file_sb;         /* the file as last read (st_ino 0: absent) */
    char file_text[256];         /* and its content */
    int installed;
    int install_rc;
    struct ft_err install_err;
} fs = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void arm(const struct ft_fault_spec *spec)
{
    fs.spec = *spec;
    memset(fs.calls, 0, sizeof(fs.calls));
}

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Re-arm from the spec file when it changed since it was last read; under fs.lock. The
 * content is compared too: a file replaced within one tick of the file system's clock can
 * reuse the old inode with the same size and times. */
static void reload_file(void)
{
    struct stat sb;
    struct ft_fault_spec spec;
    struct ft_err err;
    char text[sizeof(fs.file_text)];
    if (stat(fs.file, &sb) != 0)
        memset(&sb, 0, sizeof(sb));
    size_t n = 0;
    FILE *f = sb.st_ino ? fopen(fs.file, "re") : NULL;
    if (f) {
        n = fread(text, 1, sizeof(text) - 1, f);
        fclose(f);
    }
    text[n] = '\0';
    if (same_file(&sb, &fs.file_sb) && strcmp(text, fs.file_text) == 0)
        return;
    fs.file_sb = sb;
    memcpy(fs.file_text, text, n + 1);
    /* A test build's hook, not a user's input: a spec the test got wrong must be seen, and
     * arming nothing would let the test pass for the wrong reason. */
    if (ft_faults_parse(text, &spec, &err) != 0)
        fprintf(stderr, "flowtrack: FLOWTRACK_FAULTS_FILE: %s; no faults armed\n", err.msg);
    arm(&spec);
}

/* Count one call of kind k (and of the kinds sharing its call); 1 when it is to fail. */
static int fault_hit(enum ft_fault_kind k)
{
    int hit = 0;
    pthread_mutex_lock(&fs.lock);
    if (fs.file)
        reload_file();
    long c = ++fs.calls[k];
    long at = fs.spec.at[k];
    hit = at && c >= at && (fs.spec.times == 0 || c < at + fs.spec.times);
    pthread_mutex_unlock(&fs.lock);
    return hit;
}

/* Whether a read fault is armed: reads must then go through xRead. */
static int read_armed(void)
{
    pthread_mutex_lock(&fs.lock);
    if (fs.file)
        reload_file();
    int armed = fs.spec.at[FT_FAULT_READ] != 0;
    pthread_mutex_unlock(&fs.lock);
    return armed;
}

/* ---- the files ------------------------------------------------------------------------ */

struct fault_file {
    sqlite3_file base;  /* pMethods: fault_io, or NULL when the real open failed */
    sqlite3_file *real; /* the default VFS's file, in the same allocation, after this */
    int counted;        /* database, WAL or journal: its calls may fail */
};

static sqlite3_vfs *root; /* the default VFS the shim forwards to */

#define REAL(f) (((struct fault_file *)(f))->real)

static int f_close(sqlite3_file *f)
{
    return REAL(f)->pMethods->xClose(REAL(f));
}

static int f_read(sqlite3_file *f, void *buf, int n, sqlite3_int64 off)
{
    if (((struct fault_file *)f)->counted && fault_hit(FT_FAULT_READ))
        return SQLITE_IOERR_READ;
    return REAL(f)->pMethods->xRead(REAL(f), buf, n, off);
}

static int f_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off)
{
    if (((struct fault_file *)f)->counted) {
        /* both kinds count every write: each its own Nth */
        int full = fault_hit(FT_FAULT_FULL);
        int ioerr = fault_hit(FT_FAULT_WRITE);
        if (full)
            return SQLITE_FULL;
        if (ioerr)
            return SQLITE_IOERR_WRITE;
    }
    return REAL(f)->pMethods->xWrite(REAL(f), buf, n, off);
}

static int f_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    return REAL(f)->pMethods->xTruncate(REAL(f), size);
}

static int f_sync(sqlite3_file *f, int flags)
{
    if (((struct fault_file *)f)->counted && fault_hit(FT_FAULT_FSYNC))
        return SQLITE_IOERR_FSYNC;
    return REAL(f)->pMethods->xSync(REAL(f), flags);
}

static int f_file_size(sqlite3_file *f, sqlite3_int64 *size)
{
    return REAL(f)->pMethods->xFileSize(REAL(f), size);
}

static int f_lock(sqlite3_file *f, int lock)
{
    return REAL(f)->pMethods->xLock(REAL(f), lock);
}

static int f_unlock(sqlite3_file *f, int lock)
{
    return REAL(f)->pMethods->xUnlock(REAL(f), lock);
}

static int f_check_reserved_lock(sqlite3_file *f, int *out)
{
    return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out);
}

static int f_file_control(sqlite3_file *f, int op, void *arg)
{
    return REAL(f)->pMethods->xFileControl(REAL(f), op, arg);
}

static int f_sector_size(sqlite3_file *f)
{
    return REAL(f)->pMethods->xSectorSize(REAL(f));
}

static int f_device_characteristics(sqlite3_file *f)
{
    return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f));
}

static int f_shm_map(sqlite3_file *f, int pg, int pgsz, int extend, void volatile **pp)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, pgsz, extend, pp);
}

static int f_shm_lock(sqlite3_file *f, int offset, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), offset, n, flags);
}

static void f_shm_barrier(sqlite3_file *f)
{
    REAL(f)->pMethods->xShmBarrier(REAL(f));
}

static int f_shm_unmap(sqlite3_file *f, int delete_flag)
{
    return REAL(f)->pMethods->xShmUnmap(REAL(f), delete_flag);
}

/* No page from the memory map while a read fault is armed: SQLite then reads it with xRead. */
static int f_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
    if (((struct fault_file *)f)->counted && read_armed()) {
        *pp = NULL;
        return SQLITE_OK;
    }
    return REAL(f)->pMethods->xFetch(REAL(f), off, n, pp);
}

static int f_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods fault_io = {
    .iVersion = 3,
    .xClose = f_close,
    .xRead = f_read,
    .xWrite = f_write,
    .xTruncate = f_truncate,
    .xSync = f_sync,
    .xFileSize = f_file_size,
    .xLock = f_lock,
    .xUnlock = f_unlock,
    .xCheckReservedLock = f_check_reserved_lock,
    .xFileControl = f_file_control,
    .xSectorSize = f_sector_size,
    .xDeviceCharacteristics = f_device_characteristics,
    .xShmMap = f_shm_map,
    .xShmLock = f_shm_lock,
    .xShmBarrier = f_shm_barrier,
    .xShmUnmap = f_shm_unmap,
    .xFetch = f_fetch,
    .xUnfetch = f_unfetch,
};

/* ---- the VFS -------------------------------------------------------------------------- */

static int v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out)
{
    struct fault_file *f = (struct fault_file *)file;
    (void)vfs;
    f->real = (sqlite3_file *)(f + 1);
    f->counted = (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL)) != 0;
    int rc = root->xOpen(root, name, f->real, flags, out);
    /* The real file's methods may be set even on failure (SQLite then closes it): follow it. */
    f->base.pMethods = f->real->pMethods ? &fault_io : NULL;
    return rc;
}

static int v_delete(sqlite3_vfs *vfs, const char *name, int sync_dir)
{
    (void)vfs;
    return root->xDelete(root, name, sync_dir);
}

static int v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
    (void)vfs;
    return root->xAccess(root, name, flags, out);
}

static int v_full_pathname(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
    (void)vfs;
    return root->xFullPathname(root, name, n, out);
}

static void *v_dl_open(sqlite3_vfs *vfs, const char *name)
{
    (void)vfs;
    return root->xDlOpen(root, name);
}

static void v_dl_error(sqlite3_vfs *vfs, int n, char *msg)
{
    (void)vfs;
    root->xDlError(root, n, msg);
}

static void (*v_dl_sym(sqlite3_vfs *vfs, void *h, const char *sym))(void)
{
    (void)vfs;
    return root->xDlSym(root, h, sym);
}

static void v_dl_close(sqlite3_vfs *vfs, void *h)
{
    (void)vfs;
    root->xDlClose(root, h);
}

static int v_randomness(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return root->xRandomness(root, n, out);
}

static int v_sleep(sqlite3_vfs *vfs, int us)
{
    (void)vfs;
    return root->xSleep(root, us);
}

static int v_current_time(sqlite3_vfs *vfs, double *out)
{
    (void)vfs;
    return root->xCurrentTime(root, out);
}

static int v_get_last_error(sqlite3_vfs *vfs, int n, char *out)
{
    (void)vfs;
    return root->xGetLastError(root, n, out);
}

static int v_current_time_int64(sqlite3_vfs *vfs, sqlite3_int64 *out)
{
    (void)vfs;
    return root->xCurrentTimeInt64(root, out);
}

static sqlite3_vfs fault_vfs = {
    .iVersion = 2,
    .zName = "flowtrack-faults",
    .xOpen = v_open,
    .xDelete = v_delete,
    .xAccess = v_access,
    .xFullPathname = v_full_pathname,
    .xDlOpen = v_dl_open,
    .xDlError = v_dl_error,
    .xDlSym = v_dl_sym,
    .xDlClose = v_dl_close,
    .xRandomness = v_randomness,
    .xSleep = v_sleep,
    .xCurrentTime = v_current_time,
    .xGetLastError = v_get_last_error,
    .xCurrentTimeInt64 = v_current_time_int64,
};

/* Under fs.lock, once: arm from the environment and register the shim as the default VFS. */
static int install_locked(struct ft_err *err)
{
    const char *spec_text = getenv("FLOWTRACK_FAULTS");
    const char *file = getenv("FLOWTRACK_FAULTS_FILE");
    struct ft_fault_spec spec;
    struct ft_err perr;
    if (!(spec_text && *spec_text) && !(file && *file))
        return 0;
    if (ft_faults_parse(spec_text, &spec, &perr) != 0)
        return ft_err_set(err, FT_EINVAL, "FLOWTRACK_FAULTS: %s", perr.msg);
    root = sqlite3_vfs_find(NULL);
    if (!root)
        return ft_err_set(err, FT_EIO, "fault injection: SQLite has no default VFS");
    fault_vfs.mxPathname = root->mxPathname;
    fault_vfs.szOsFile = (int)sizeof(struct fault_file) + root->szOsFile;
    arm(&spec);
    if (file && *file) {
        fs.file = file;
        memset(&fs.file_sb, 0, sizeof(fs.file_sb));
        fs.file_sb.st_ino = (ino_t)-1; /* differs from any file, and from none: read at once */
        reload_file();
    }
    if (sqlite3_vfs_register(&fault_vfs, 1) != SQLITE_OK)
        return ft_err_set(err, FT_EIO, "fault injection: cannot register the VFS");
    return 0;
}

int ft_faults_install(struct ft_err *err)
{
    pthread_mutex_lock(&fs.lock);
    if (!fs.installed) {
        fs.installed = 1;
        ft_err_clear(&fs.install_err);
        fs.install_rc = install_locked(&fs.install_err);
    }
    int rc = fs.install_rc;
    if (rc && err)
        *err = fs.install_err;
    pthread_mutex_unlock(&fs.lock);
    return rc;
}
