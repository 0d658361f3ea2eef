/* messages.c - the generic text of each status code. */
#include "timelog.h"

const char *tl_status_message(tl_status st)
{
    switch (st) {
    case TL_OK:        return "ok";
    case TL_EOF:       return "end of iteration";
    case TL_EINVAL:    return "invalid argument";
    case TL_ESTATE:    return "invalid state";
    case TL_EBUSY:     return "busy: the sealed-run queue is full (the write was accepted)";
    case TL_ENOMEM:    return "out of memory";
    case TL_EOVERFLOW: return "value overflows int64";
    case TL_EINTERNAL: return "internal error";
    default:           return "unknown status";
    }
}
