/*
 * iter.c - iterators over a snapshot: one cursor per source that has a
 * visible record in range (reader.c adds them, in age order), merged by
 * merge.c.  The range is kept as an inclusive [lo, hi] so no bound can
 * overflow.
 */
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "reader.h"

struct tl_iter {
    tl_snapshot *snap;
    tl_merge mg;
    int eof;
};

tl_status tl_iter_open(tl_snapshot *snap, int32_t query, int64_t t1, int64_t t2, tl_iter **out)
{
    if (!snap)
        return tl_err_null("snap");
    if (!out)
        return tl_err_null("out");
    *out = NULL;
    if (tl_check_query(query) != TL_OK)
        return TL_EINVAL;
    int64_t lo, hi;
    int nonempty = tl_query_bounds(query, t1, t2, &lo, &hi);
    size_t nrp, nsrc = tl_reader_sizes(snap, &nrp);
    tl_iter *it = tl_alloc(sizeof *it + nsrc * sizeof(tl_cur) + (nrp + 1) * sizeof(tl_page));
    if (!it)
        return tl_log_nomem(snap->log, "opening an iterator");
    tl_cur *curs = (tl_cur *)(it + 1);
    tl_page *mtpages = (tl_page *)(curs + nsrc);
    tl_merge_init(&it->mg, curs, hi, NULL);
    if (nonempty)
        tl_reader_add_sources(snap, &it->mg, mtpages, lo, 1);
    TL_ASSERT(it->mg.nc <= nsrc); /* tl_reader_sizes counted every source */
    tl_rc_inc(&snap->rc);
    it->snap = snap;
    it->eof = 0;
    *out = it;
    return TL_OK;
}

tl_status tl_log_iter(tl_log *log, int32_t query, int64_t t1, int64_t t2, tl_iter **out)
{
    if (!log)
        return tl_err_null("log");
    if (!out)
        return tl_err_null("out");
    tl_snapshot *s;
    tl_status st = tl_snapshot_acquire(log, &s);
    if (st != TL_OK)
        return st;
    st = tl_iter_open(s, query, t1, t2, out);
    tl_snapshot_release(s);
    return st;
}

tl_status tl_iter_next(tl_iter *it, int64_t *ts, tl_handle *h)
{
    if (!it)
        return tl_err_null("it");
    if (!ts)
        return tl_err_null("ts");
    if (!h)
        return tl_err_null("h");
    const int64_t *pt;
    const tl_handle *ph;
    size_t k;
    if (it->eof || !tl_merge_next(&it->mg, 1, &pt, &ph, &k)) {
        it->eof = 1;
        return TL_EOF;
    }
    TL_ASSERT(k == 1);
    *ts = *pt;
    *h = *ph;
    return TL_OK;
}

tl_status tl_iter_next_batch(tl_iter *it, int64_t *ts_out, tl_handle *h_out, size_t cap, size_t *n_out)
{
    if (n_out)
        *n_out = 0;
    if (!it)
        return tl_err_null("it");
    if (!n_out)
        return tl_err_null("n_out");
    if (cap && !ts_out)
        return tl_err_null("ts_out");
    if (cap && !h_out)
        return tl_err_null("h_out");
    if (it->eof)
        return TL_EOF;
    size_t n = 0;
    while (n < cap) {
        const int64_t *pt;
        const tl_handle *ph;
        size_t k;
        if (it->eof || !tl_merge_next(&it->mg, cap - n, &pt, &ph, &k)) {
            it->eof = 1;
            *n_out = n;
            return TL_EOF;
        }
        TL_ASSERT(k >= 1 && k <= cap - n);
        if (k == 1) {
            ts_out[n] = *pt;
            h_out[n] = *ph;
        } else {
            memcpy(ts_out + n, pt, k * sizeof *pt);
            memcpy(h_out + n, ph, k * sizeof *ph);
        }
        n += k;
    }
    *n_out = n;
    return TL_OK;
}

void tl_iter_destroy(tl_iter *it)
{
    if (!it)
        return;
    tl_snapshot_release(it->snap);
    tl_free(it);
}
