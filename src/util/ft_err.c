#include "ft_err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

__attribute__((format(printf, 4, 0))) static int
err_vset(struct ft_err *err, int code, const char *field, const char *fmt, va_list ap)
{
    int saved = errno;

    if (!err)
        return code;
    err->code = code;
    err->sys_errno = code == FT_EIO ? saved : 0;
    snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    return code;
}

int ft_err_set(struct ft_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, code, NULL, fmt, ap);
    va_end(ap);
    return code;
}

int ft_err_field(struct ft_err *err, int code, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(err, code, field, fmt, ap);
    va_end(ap);
    return code;
}

void ft_err_clear(struct ft_err *err)
{
    if (!err)
        return;
    err->code = FT_OK;
    err->sys_errno = 0;
    err->field[0] = '\0';
    err->msg[0] = '\0';
}

const char *ft_code_name(int code)
{
    switch (code) {
    case FT_OK:
        return "ok";
    case FT_EINVAL:
        return "invalid";
    case FT_ENOTFOUND:
        return "not found";
    case FT_EEXIST:
        return "conflict";
    case FT_EIO:
        return "i/o error";
    case FT_EBUSY:
        return "busy";
    case FT_EVERSION:
        return "version";
    case FT_ETOOBIG:
        return "too big";
    case FT_ENOMEM:
        return "out of memory";
    case FT_EAMBIGUOUS:
        return "ambiguous";
    case FT_ENOSPC:
        return "storage full";
    }
    return "error";
}
