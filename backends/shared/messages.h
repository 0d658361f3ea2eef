/*
 * messages.h - the text every binding shows, written once: the messages of
 * errors a binding detects itself (while converting Python values) and the
 * repr of each public type.  The engine's own errors come from
 * tl_last_error(); these complete them, so that all three bindings raise and
 * print exactly the same text.
 *
 * Plain C (no Python.h) and cffi-parsable, like timelog.h: the cffi binding
 * declares it from this file, the C bindings compile messages.c in.
 */
#ifndef TIMELOG_MESSAGES_H
#define TIMELOG_MESSAGES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Message ids.  A message may contain "%s" placeholders, filled in the order
 * its comment gives; a type name is type(obj).__name__ of the value. */
enum {
    TLB_MSG_TS_BOOL          = 1,  /* TypeError: bool given as a timestamp */
    TLB_MSG_TS_OVERFLOW      = 2,  /* OverflowError: timestamp outside int64 */
    TLB_MSG_INT_OVERFLOW     = 3,  /* OverflowError: size or option outside int64 */
    TLB_MSG_EXTEND_PAIR      = 4,  /* TypeError: extend() item not a pair; %s=type */
    TLB_MSG_EXTEND_LENGTHS   = 5,  /* ValueError: extend(ts, objs) lengths differ */
    TLB_MSG_EXTEND_TS_ARRAY  = 6,  /* TypeError: timestamps buffer not 1-D */
    TLB_MSG_SIZE_NEGATIVE    = 7,  /* ValueError: %s=method, size n < 0 */
    TLB_MSG_NO_CONSTRUCT     = 8,  /* TypeError: internal type instantiated; %s=class */
    TLB_MSG_CLOSED           = 9,  /* TimelogError: the log is closed */
    TLB_MSG_SPAN_EXPORTED    = 10, /* BufferError: span.close() while exported */
    TLB_MSG_SPAN_CLOSED      = 11, /* ValueError: use of a closed span */
    TLB_MSG_OPTION_TYPE      = 12, /* TypeError: option not a str; %s=name, %s=type */
    TLB_MSG_INDEX_RANGE      = 13, /* IndexError: objects view index */
    TLB_MSG_INDEX_TYPE       = 14, /* TypeError: objects view index not int; %s=type */
    TLB_MSG_OPTION_BOOL      = 15, /* TypeError: integer option given a bool; %s=name */
    TLB_MSG_EXTEND_TS_TYPE   = 16, /* TypeError: timestamps not a sequence; %s=type */
    TLB_MSG_EXTEND_OBJS_TYPE = 17, /* TypeError: objects not a sequence; %s=type */
    TLB_MSG_NO_PICKLE        = 18, /* TypeError: copy/pickle refused; %s=class */
    TLB_MSG_REINIT           = 19  /* TypeError: __init__ on a made log */
};
/* The text of a message id ("unknown message" for an unknown id). */
const char *tlb_message(int32_t msg_id);

/* Reprs, written into buf (cap bytes, always NUL-terminated, truncated if
 * need be); each returns the length it needed, like snprintf.
 *   <timelog.Timelog backend=capi unit=ms records=3 open>
 *   <timelog.Timelog backend=capi unit=ms closed>          (records unknown)
 *   <timelog.TimelogIter range [10, 20) open>   (also since 10, until 20,
 *                                                all, point 5; closed)
 *   <timelog.PageSpanIter [10, 20) kind=segment open>
 *   <timelog.PageSpan len=3 first=10 last=12>   (or <timelog.PageSpan closed>)
 *   <timelog.PageSpanObjectsView len=3>         (or ... closed span>)
 * query is a TL_QUERY_*, kind a TL_SPANS_* value (timelog.h). */
int32_t tlb_repr_log(char *buf, size_t cap, const char *backend, const char *unit,
                     uint64_t records, int32_t closed);
int32_t tlb_repr_iter(char *buf, size_t cap, int32_t query, int64_t t1, int64_t t2,
                      int32_t closed);
int32_t tlb_repr_span_iter(char *buf, size_t cap, int64_t t1, int64_t t2, int32_t kind,
                           int32_t closed);
int32_t tlb_repr_span(char *buf, size_t cap, uint64_t len, int64_t first, int64_t last,
                      int32_t closed);
int32_t tlb_repr_objects(char *buf, size_t cap, uint64_t len, int32_t closed);

#ifdef __cplusplus
}
#endif

#endif /* TIMELOG_MESSAGES_H */
