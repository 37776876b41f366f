/*
 * faults: storage fault injection for the test builds (FT_FAULTS, docs/operations.md).
 *
 * A SQLite VFS that wraps the default one ("unix") and makes chosen I/O calls on the store's
 * files (the database, its WAL and rollback journal) fail, so that the tests can see what the
 * CLI and the server do when the disk fails or fills up. It is compiled only when the build
 * has FT_FAULTS (the Debug and ASan builds the tests use); a release build has none of it and
 * ft_faults_install() is then a no-op.
 *
 * What to fail is a spec, "KIND=N[,KIND=N...][,times=K]":
 *   write=N   the Nth xWrite after arming returns SQLITE_IOERR_WRITE
 *   full=N    the Nth xWrite returns SQLITE_FULL (ENOSPC: the disk is full)
 *   fsync=N   the Nth xSync returns SQLITE_IOERR_FSYNC
 *   read=N    the Nth xRead returns SQLITE_IOERR_READ (while a read fault is armed, pages are
 *             read with xRead, never through the memory map, so that they can fail)
 *   times=K   each armed fault lasts K calls from its Nth on (default 1; 0: until disarmed)
 * Each kind counts its own calls from the moment the spec was armed. An empty spec arms
 * nothing.
 *
 * The spec comes from the environment, read once, at the first store opened:
 *   FLOWTRACK_FAULTS=SPEC        armed from the start (a command line run)
 *   FLOWTRACK_FAULTS_FILE=PATH   the spec is the file's content, read again whenever the file
 *                                changes (its content, inode, size or times); no file, no faults.
 *                                A test arms and clears faults in a running server with it
 *                                (write the new content elsewhere, then rename it over PATH).
 *                                When both are set, the file is the spec.
 * With neither variable set, nothing is registered and SQLite runs as in a release build.
 *
 * Thread safety: the counters are shared by every connection of the process, under a mutex.
 */
#ifndef FT_STORE_FAULTS_H
#define FT_STORE_FAULTS_H

struct ft_err;

enum ft_fault_kind {
    FT_FAULT_WRITE, /* xWrite: SQLITE_IOERR_WRITE */
    FT_FAULT_FULL,  /* xWrite: SQLITE_FULL */
    FT_FAULT_FSYNC, /* xSync: SQLITE_IOERR_FSYNC */
    FT_FAULT_READ,  /* xRead: SQLITE_IOERR_READ */
    FT_FAULT__COUNT
};

/* A parsed spec: at[k] is the call of kind k that fails first (0: kind k is not armed). */
struct ft_fault_spec {
    long at[FT_FAULT__COUNT];
    long times; /* how many calls fail from at[k] on; 0: every one after it */
};

/* Parse text (see above) into spec. FT_EINVAL with err filled on a malformed spec; spec is then
 * all clear. NULL or "" is the empty spec. */
int ft_faults_parse(const char *text, struct ft_fault_spec *spec, struct ft_err *err);

/* Register the fault VFS as SQLite's default when FLOWTRACK_FAULTS or FLOWTRACK_FAULTS_FILE is
 * set; called before every open, does its work once per process. FT_EINVAL when
 * FLOWTRACK_FAULTS is malformed (every later call fails the same way). */
#ifdef FT_FAULTS
int ft_faults_install(struct ft_err *err);
#else
/* A macro, not an inline function: an unoptimised or sanitised build would keep a function's
 * name in the binary, and the release check (cmake/check-no-faults.cmake) looks for it. */
#define ft_faults_install(err) ((void)(err), 0)
#endif

#endif
