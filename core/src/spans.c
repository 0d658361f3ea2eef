/*
 * spans.c - page spans: each source's visible records in [t1, t2) handed
 * out as pointers into page memory, one contiguous stretch at a time, cut at
 * page ends and around tombstone intervals.  The memtable and memruns are
 * page-shaped in a snapshot (chunks, sorted OOO copy, memrun arrays), so
 * TL_SPANS_ALL needs no flush and no copy.
 */
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "reader.h"

struct tl_spans {
    tl_snapshot *snap;
    tl_merge mg;
    size_t ci;
};

tl_status tl_spans_open(tl_snapshot *snap, int64_t t1, int64_t t2, int32_t kind, tl_spans **out)
{
    if (!snap)
        return tl_err_null("snap");
    if (!out)
        return tl_err_null("out");
    *out = NULL;
    if (kind != TL_SPANS_SEGMENT && kind != TL_SPANS_ALL)
        return tl_errorf(TL_EINVAL, "kind must be TL_SPANS_SEGMENT (0) or TL_SPANS_ALL (1) (got %d)",
                         (int)kind);
    size_t nrp, nsrc = tl_reader_sizes(snap, &nrp);
    tl_spans *sp = tl_alloc(sizeof *sp + nsrc * sizeof(tl_cur) + (nrp + 1) * sizeof(tl_page));
    if (!sp)
        return tl_log_nomem(snap->log, "opening page spans");
    tl_cur *curs = (tl_cur *)(sp + 1);
    tl_page *mtpages = (tl_page *)(curs + nsrc);
    tl_merge_init(&sp->mg, curs, t1 < t2 ? t2 - 1 : INT64_MIN, NULL);
    if (t1 < t2)
        tl_reader_add_sources(snap, &sp->mg, mtpages, t1, kind == TL_SPANS_ALL);
    TL_ASSERT(sp->mg.nc <= nsrc); /* tl_reader_sizes counted every source */
    tl_rc_inc(&snap->rc);
    sp->snap = snap;
    sp->ci = 0;
    *out = sp;
    return TL_OK;
}

tl_status tl_spans_next(tl_spans *sp, tl_span *out)
{
    if (!sp)
        return tl_err_null("sp");
    if (!out)
        return tl_err_null("out");
    memset(out, 0, sizeof *out);
    while (sp->ci < sp->mg.nc) {
        const int64_t *ts;
        const tl_handle *h;
        size_t len;
        if (tl_cur_next_run(&sp->mg, &sp->mg.c[sp->ci], &ts, &h, &len)) {
            /* A span is a non-empty sorted stretch of one page. */
            TL_ASSERT(len > 0 && tl_dbg_sorted(ts, len));
            tl_rc_inc(&sp->snap->rc);
            out->ts = ts;
            out->h = h;
            out->len = len;
            out->owner = sp->snap;
            return TL_OK;
        }
        sp->ci++;
    }
    return TL_EOF;
}

void tl_spans_destroy(tl_spans *sp)
{
    if (!sp)
        return;
    tl_snapshot_release(sp->snap);
    tl_free(sp);
}

void tl_span_release(tl_span *span)
{
    if (!span)
        return;
    tl_snapshot *s = span->owner;
    memset(span, 0, sizeof *span);
    tl_snapshot_release(s);
}
