#include "ft_err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ft_err_set(struct ft_err *err, int code, const char *fmt, ...)
{
    int saved = errno;

    if (!err)
        return code;
    err->code = code;
    err->sys_errno = code == FT_EIO ? saved : 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

void ft_err_clear(struct ft_err *err)
{
    if (!err)
        return;
    err->code = FT_OK;
    err->sys_errno = 0;
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
    }
    return "error";
}
