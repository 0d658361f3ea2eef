/* messages.c - the texts of messages.h. */
#include "messages.h"

#include <inttypes.h>
#include <stdio.h>

#include "timelog.h"

const char *tlb_message(int32_t msg_id)
{
    switch (msg_id) {
    case TLB_MSG_TS_BOOL:          return "timestamp must be an integer, not bool";
    case TLB_MSG_TS_OVERFLOW:      return "timestamp out of int64 range";
    case TLB_MSG_INT_OVERFLOW:     return "integer out of int64 range";
    case TLB_MSG_EXTEND_PAIR:      return "extend() items must be (timestamp, object) pairs, not %s";
    case TLB_MSG_EXTEND_LENGTHS:   return "extend(timestamps, objects): the two sequences differ in length";
    case TLB_MSG_EXTEND_TS_ARRAY:  return "extend(timestamps, objects): a timestamps buffer must be one-dimensional int64";
    case TLB_MSG_SIZE_NEGATIVE:    return "%s() size must be >= 0";
    case TLB_MSG_NO_CONSTRUCT:     return "cannot create '%s' instances directly";
    case TLB_MSG_CLOSED:           return "timelog is closed";
    case TLB_MSG_SPAN_EXPORTED:    return "cannot close PageSpan while its timestamps buffer is exported";
    case TLB_MSG_SPAN_CLOSED:      return "PageSpan is closed";
    case TLB_MSG_OPTION_TYPE:      return "%s must be a str, not %s";
    case TLB_MSG_INDEX_RANGE:      return "PageSpanObjectsView index out of range";
    case TLB_MSG_INDEX_TYPE:       return "PageSpanObjectsView indices must be integers, not %s";
    case TLB_MSG_OPTION_BOOL:      return "%s must be an integer, not bool";
    case TLB_MSG_EXTEND_TS_TYPE:   return "extend(timestamps, objects): timestamps must be a sequence of integers or a one-dimensional int64 buffer, not %s";
    case TLB_MSG_EXTEND_OBJS_TYPE: return "extend(timestamps, objects): objects must be a sequence, not %s";
    case TLB_MSG_NO_PICKLE:        return "cannot pickle or copy '%s' object";
    case TLB_MSG_REINIT:           return "Timelog.__init__() cannot be called again: create a new Timelog";
    default:                       return "unknown message";
    }
}

static const char *state(int32_t closed) { return closed ? "closed" : "open"; }

int32_t tlb_repr_log(char *buf, size_t cap, const char *backend, const char *unit,
                     uint64_t records, int32_t closed)
{
    if (closed)
        return snprintf(buf, cap, "<timelog.Timelog backend=%s unit=%s closed>", backend, unit);
    return snprintf(buf, cap, "<timelog.Timelog backend=%s unit=%s records=%" PRIu64 " open>",
                    backend, unit, records);
}

int32_t tlb_repr_iter(char *buf, size_t cap, int32_t query, int64_t t1, int64_t t2,
                      int32_t closed)
{
    const char *st = state(closed);
    switch (query) {
    case TL_QUERY_RANGE:
        return snprintf(buf, cap, "<timelog.TimelogIter range [%" PRId64 ", %" PRId64 ") %s>", t1,
                        t2, st);
    case TL_QUERY_SINCE:
        return snprintf(buf, cap, "<timelog.TimelogIter since %" PRId64 " %s>", t1, st);
    case TL_QUERY_UNTIL:
        return snprintf(buf, cap, "<timelog.TimelogIter until %" PRId64 " %s>", t2, st);
    case TL_QUERY_POINT:
        return snprintf(buf, cap, "<timelog.TimelogIter point %" PRId64 " %s>", t1, st);
    default:
        return snprintf(buf, cap, "<timelog.TimelogIter all %s>", st);
    }
}

int32_t tlb_repr_span_iter(char *buf, size_t cap, int64_t t1, int64_t t2, int32_t kind,
                           int32_t closed)
{
    return snprintf(buf, cap, "<timelog.PageSpanIter [%" PRId64 ", %" PRId64 ") kind=%s %s>", t1,
                    t2, kind == TL_SPANS_ALL ? "all" : "segment", state(closed));
}

int32_t tlb_repr_span(char *buf, size_t cap, uint64_t len, int64_t first, int64_t last,
                      int32_t closed)
{
    if (closed)
        return snprintf(buf, cap, "<timelog.PageSpan closed>");
    return snprintf(buf, cap, "<timelog.PageSpan len=%" PRIu64 " first=%" PRId64 " last=%" PRId64 ">",
                    len, first, last);
}

int32_t tlb_repr_objects(char *buf, size_t cap, uint64_t len, int32_t closed)
{
    if (closed)
        return snprintf(buf, cap, "<timelog.PageSpanObjectsView of a closed span>");
    return snprintf(buf, cap, "<timelog.PageSpanObjectsView len=%" PRIu64 ">", len);
}
