/*
 * ft_err: error codes and the error detail every library call can fill.
 *
 * Library functions return 0 (FT_OK) or a negative enum ft_code and take a
 * nullable `struct ft_err *err` as their last parameter. ft_err_set() fills it
 * and returns the code, so callers write `return ft_err_set(err, ...)`.
 * errno is never the interface: it is captured where the syscall failed.
 * Only src/cli/ prints errors and exits.
 */
#ifndef FT_ERR_H
#define FT_ERR_H

enum ft_code {
    FT_OK = 0,
    FT_EINVAL = -1,    /* bad input: argument, file content, field value */
    FT_ENOTFOUND = -2, /* unknown tracker, entry, run */
    FT_EEXIST = -3,    /* conflicts with what is stored (slug taken) */
    FT_EIO = -4,       /* filesystem or database failure */
    FT_EBUSY = -5,     /* store locked past the busy timeout */
    FT_EVERSION = -6,  /* store written by a newer flowtrack */
    FT_ETOOBIG = -7,   /* input over a size limit */
    FT_ENOMEM = -8,
    FT_EAMBIGUOUS = -9, /* the request does not say which (several trackers, no default) */
    FT_ENOSPC = -10,    /* the store's disk is full: nothing was written */
};

#define FT_ERR_LEN 256

#define FT_ERR_FIELD_LEN 64

struct ft_err {
    int code;      /* enum ft_code of the failure */
    int sys_errno; /* errno at the failing syscall, or 0 */
    /* The input field the error is about ("state", "title", "If-Match"), "" when none: the
     * API reports it as the error's "field" and nothing recovers it from the message. */
    char field[FT_ERR_FIELD_LEN];
    char msg[FT_ERR_LEN];
};

/* Fill err (when not NULL) with code and a printf-style message, no field; return code. */
int ft_err_set(struct ft_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same, naming the input field the error is about. */
int ft_err_field(struct ft_err *err, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reset err to "no error". NULL is allowed. */
void ft_err_clear(struct ft_err *err);

/* A short fixed name for a code ("not found"), never NULL. */
const char *ft_code_name(int code);

#endif
