/*
 * error.c - thread-local detail message of the last failing call.
 * The buffer belongs to the calling thread, so no locking is needed and a
 * message read right after a failing call is that call's message.
 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char tl_errbuf[512];

const char *tl_last_error(void) { return tl_errbuf; }

tl_status tl_errorf(tl_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tl_errbuf, sizeof tl_errbuf, fmt, ap);
    va_end(ap);
    return st;
}

tl_status tl_err_null(const char *name)
{
    return tl_errorf(TL_EINVAL, "%s must not be NULL", name);
}

tl_status tl_err_closed(void)
{
    return tl_errorf(TL_ESTATE, "timelog is closed");
}

tl_status tl_err_nomem(const char *what)
{
    return tl_errorf(TL_ENOMEM, "out of memory while %s", what);
}
