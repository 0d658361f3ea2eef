/*
 * error.h - per-thread detail messages (tl_last_error).
 *
 * Every failing public call returns through tl_errorf() (or a helper), so the
 * calling thread's message always describes the most recent failure.
 */
#ifndef TL_ERROR_H
#define TL_ERROR_H

#include "timelog.h"

#if defined(__GNUC__)
#define TL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define TL_PRINTF(a, b)
#endif

/* Formats the message for this thread and returns st. */
tl_status tl_errorf(tl_status st, const char *fmt, ...) TL_PRINTF(2, 3);
/* "<name> must not be NULL" -> TL_EINVAL */
tl_status tl_err_null(const char *name);
/* "timelog is closed" -> TL_ESTATE */
tl_status tl_err_closed(void);
/* "out of memory while <what>" -> TL_ENOMEM */
tl_status tl_err_nomem(const char *what);

#endif
