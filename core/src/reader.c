/*
 * reader.c - what iterators, page spans and counts share (see reader.h):
 * query validation and bounds, and a snapshot's sources added to a merge in
 * age order (oldest first): L1 level, L0 segments, memruns, memtable run,
 * memtable OOO.  Equal timestamps then come out in insertion order (merge.h).
 */
#include "reader.h"

#include "error.h"

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
