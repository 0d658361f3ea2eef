/*
 * iter.c - iterators over a snapshot: one cursor per source that has a
 * visible record in range, merged by merge.c.  Sources in age order (oldest
 * first): L1 level, L0 segments, memruns, memtable run, memtable OOO.
 * The range is kept as an inclusive [lo, hi] so no bound can overflow.
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

int tl_query_bounds(int32_t q, int64_t t1, int64_t t2, int64_t *lo, int64_t *hi)
{
    *lo = INT64_MIN;
    *hi = INT64_MAX;
    switch (q) {
    case TL_QUERY_RANGE:
        if (t1 >= t2)
            return 0;
        *lo = t1;
        *hi = t2 - 1;
        return 1;
    case TL_QUERY_SINCE:
        *lo = t1;
        return 1;
    case TL_QUERY_UNTIL:
        if (t2 == INT64_MIN)
            return 0;
        *hi = t2 - 1;
        return 1;
    case TL_QUERY_POINT:
        *lo = *hi = t1;
        return 1;
    default: /* TL_QUERY_ALL */
        return 1;
    }
}

tl_status tl_check_query(int32_t query)
{
    if (query < TL_QUERY_RANGE || query > TL_QUERY_POINT)
        return tl_errorf(TL_EINVAL,
                         "query must be one of TL_QUERY_RANGE (0), TL_QUERY_SINCE (1), "
                         "TL_QUERY_UNTIL (2), TL_QUERY_ALL (3), TL_QUERY_POINT (4) (got %d)",
                         (int)query);
    return TL_OK;
}

size_t tl_reader_sizes(const tl_snapshot *snap, size_t *nrun_pages)
{
    const tl_manifest *m = snap->view->m;
    *nrun_pages = tl_mtcap_nrun_pages(&snap->mt);
    return 1 + m->nl0 + m->nmem + 2;
}

void tl_reader_add_sources(const tl_snapshot *snap, tl_merge *mg, tl_page *mtpages, int64_t lo, int all)
{
    const tl_view *v = snap->view;
    const tl_manifest *m = v->m;
    if (m->l1->npages)
        tl_merge_add(mg, m->l1->pages, m->l1->npages, v->l1.v, v->l1.n, lo);
    for (size_t i = 0; i < m->nl0; i++)
        tl_merge_add(mg, m->l0[i]->pages, m->l0[i]->np, v->l0[i].v, v->l0[i].n, lo);
    if (!all)
        return;
    for (size_t i = 0; i < m->nmem; i++)
        tl_merge_add(mg, &m->mem[i]->page, 1, v->mem[i].v, v->mem[i].n, lo);
    size_t nrp = tl_mtcap_nrun_pages(&snap->mt);
    if (nrp) {
        tl_mtcap_run_pages(&snap->mt, mtpages);
        tl_merge_add(mg, mtpages, nrp, NULL, 0, lo);
    }
    if (tl_mtcap_ooo_page(&snap->mt, mtpages + nrp))
        tl_merge_add(mg, mtpages + nrp, 1, NULL, 0, lo);
}

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
