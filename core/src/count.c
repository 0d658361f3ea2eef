/*
 * count.c - how many records a query would yield, without yielding them.
 *
 * Per source: the records in [lo, hi] (binary searches in the first and last
 * page of the range, page sizes in between), minus those inside the source's
 * tombstone intervals (coalesced, so disjoint: each is subtracted once).
 * The memtable needs no filtering (see tombs.h).
 */
#include "alloc.h"
#include "error.h"
#include "reader.h"

/* Records of the sorted pages p[0..np) with lo <= ts <= hi. */
static uint64_t count_pages(const tl_page *p, size_t np, int64_t lo, int64_t hi)
{
    if (lo > hi)
        return 0;
    uint64_t n = 0;
    for (size_t i = tl_pages_find(p, 0, np, lo); i < np && p[i].min <= hi; i++) {
        size_t a = p[i].min >= lo ? 0 : tl_lower_bound(p[i].ts, 0, p[i].n, lo);
        size_t b = p[i].max <= hi ? p[i].n : tl_upper_bound(p[i].ts, a, p[i].n, hi);
        n += b - a;
    }
    return n;
}

/* Visible records of one source in [lo, hi]: tv holds its tombstones. */
static uint64_t count_source(const tl_page *p, size_t np, const tl_ival *tv, size_t nt,
                             int64_t lo, int64_t hi)
{
    uint64_t n = count_pages(p, np, lo, hi);
    for (size_t i = tl_ival_find(tv, nt, lo); i < nt && tv[i].a <= hi; i++) {
        int64_t a = tv[i].a > lo ? tv[i].a : lo;
        int64_t b = tv[i].b - 1 < hi ? tv[i].b - 1 : hi; /* [a, b) -> inclusive */
        uint64_t hidden = count_pages(p, np, a, b);
        /* Coalesced intervals are disjoint: each record is subtracted once. */
        TL_ASSERT(hidden <= n);
        n -= hidden;
    }
    return n;
}

tl_status tl_count(tl_snapshot *snap, int32_t query, int64_t t1, int64_t t2, uint64_t *out)
{
    if (!snap)
        return tl_err_null("snap");
    if (!out)
        return tl_err_null("out");
    *out = 0;
    if (tl_check_query(query) != TL_OK)
        return TL_EINVAL;
    int64_t lo, hi;
    if (!tl_query_bounds(query, t1, t2, &lo, &hi))
        return TL_OK;
    const tl_view *v = snap->view;
    const tl_manifest *m = v->m;
    uint64_t n = count_source(m->l1->pages, m->l1->npages, v->l1.v, v->l1.n, lo, hi);
    for (size_t i = 0; i < m->nl0; i++)
        n += count_source(m->l0[i]->pages, m->l0[i]->np, v->l0[i].v, v->l0[i].n, lo, hi);
    for (size_t i = 0; i < m->nmem; i++)
        n += count_source(&m->mem[i]->page, 1, v->mem[i].v, v->mem[i].n, lo, hi);
    size_t nrp = tl_mtcap_nrun_pages(&snap->mt);
    tl_page *mt = tl_alloc_array(nrp + 1, sizeof *mt);
    if (!mt)
        return tl_log_nomem(snap->log, "counting records");
    tl_mtcap_run_pages(&snap->mt, mt);
    n += count_pages(mt, nrp, lo, hi);
    if (tl_mtcap_ooo_page(&snap->mt, mt))
        n += count_pages(mt, 1, lo, hi);
    tl_free(mt);
    *out = n;
    return TL_OK;
}

tl_status tl_log_count(tl_log *log, int32_t query, int64_t t1, int64_t t2, uint64_t *out)
{
    if (!log)
        return tl_err_null("log");
    if (!out)
        return tl_err_null("out");
    *out = 0;
    tl_snapshot *s;
    tl_status st = tl_snapshot_acquire(log, &s);
    if (st != TL_OK)
        return st;
    st = tl_count(s, query, t1, t2, out);
    tl_snapshot_release(s);
    return st;
}
