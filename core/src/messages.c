/* messages.c - every error text the engine and the bindings show, written once. */
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

/* Placeholders are "%s", filled in the order the comment of each id in
 * timelog.h gives (a Python type name is type(obj).__name__). */
const char *tl_message(int msg_id)
{
    switch (msg_id) {
    case TL_MSG_TS_BOOL:         return "timestamp must be an integer, not bool";
    case TL_MSG_TS_OVERFLOW:     return "timestamp out of int64 range";
    case TL_MSG_INT_OVERFLOW:    return "integer out of int64 range";
    case TL_MSG_EXTEND_PAIR:     return "extend() items must be (timestamp, object) pairs, not %s";
    case TL_MSG_EXTEND_LENGTHS:  return "extend(timestamps, objects): the two sequences differ in length";
    case TL_MSG_EXTEND_TS_ARRAY: return "extend(timestamps, objects): a timestamps buffer must be one-dimensional int64";
    case TL_MSG_BATCH_NEGATIVE:  return "next_batch() size must be >= 0";
    case TL_MSG_NO_CONSTRUCT:    return "cannot create '%s' instances directly";
    case TL_MSG_CLOSED:          return "timelog is closed";
    case TL_MSG_SPAN_EXPORTED:   return "cannot close PageSpan while its timestamps buffer is exported";
    case TL_MSG_SPAN_CLOSED:     return "PageSpan is closed";
    case TL_MSG_OPTION_TYPE:     return "%s must be a str, not %s";
    case TL_MSG_INDEX_RANGE:     return "PageSpanObjectsView index out of range";
    case TL_MSG_INDEX_TYPE:      return "PageSpanObjectsView indices must be integers, not %s";
    default:                     return "unknown message";
    }
}
