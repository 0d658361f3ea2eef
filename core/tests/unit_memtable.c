/*
 * unit_memtable.c - memtable: in-order chunks, OOO buffer, captures that
 * stay unchanged while the memtable moves on, seal order, deletes.
 */
#include <string.h>

#include "harness.h"
#include "memtable.h"

/* Flatten a capture: run pages then the OOO page. */
static size_t cap_records(const tl_mtcap *c, int64_t *ts, tl_handle *h)
{
    tl_page pages[256];
    size_t np = tl_mtcap_nrun_pages(c), n = 0;
    tl_mtcap_run_pages(c, pages);
    if (tl_mtcap_ooo_page(c, pages + np))
        np++;
    for (size_t i = 0; i < np; i++) {
        memcpy(ts + n, pages[i].ts, pages[i].n * 8);
        memcpy(h + n, pages[i].h, pages[i].n * 8);
        CHECK(pages[i].min == pages[i].ts[0] && pages[i].max == pages[i].ts[pages[i].n - 1]);
        n += pages[i].n;
    }
    return n;
}

int main(void)
{
    th_begin("unit_memtable");
    tl_memtable m;
    tl_mt_init(&m, 4); /* tiny chunks: many chunk and directory changes */

    for (int i = 0; i < 10; i++)
        CHECK(tl_mt_append(&m, i * 10, (tl_handle)i) == TL_OK);
    CHECK_EQ_U(m.run_n, 10);
    CHECK_EQ_U(m.ooo_n, 0);
    tl_mtcap c1;
    CHECK(tl_mt_capture(&m, &c1) == TL_OK);

    /* Late records go to the OOO buffer; equal to the last goes to the run. */
    CHECK(tl_mt_append(&m, 90, 100) == TL_OK);
    CHECK(tl_mt_append(&m, 5, 101) == TL_OK);
    CHECK(tl_mt_append(&m, 50, 102) == TL_OK);
    CHECK(tl_mt_append(&m, 5, 103) == TL_OK);
    for (int i = 10; i < 40; i++)
        CHECK(tl_mt_append(&m, i * 10, (tl_handle)i) == TL_OK);
    CHECK_EQ_U(m.run_n, 41);
    CHECK_EQ_U(m.ooo_n, 3);

    /* c1 still shows exactly the first 10 records. */
    int64_t ts[256];
    tl_handle h[256];
    size_t n = cap_records(&c1, ts, h);
    CHECK_EQ_U(n, 10);
    CHECK(ts[9] == 90 && h[9] == 9);

    tl_mtcap c2;
    CHECK(tl_mt_capture(&m, &c2) == TL_OK);
    n = cap_records(&c2, ts, h);
    CHECK_EQ_U(n, 44);
    /* the OOO page is stable-sorted: 5(101), 5(103), 50(102) */
    CHECK(ts[41] == 5 && h[41] == 101 && ts[42] == 5 && h[42] == 103 && ts[43] == 50);

    /* Sealing merges with run records first on equal timestamps. */
    tl_memrun *r;
    tl_slab *slab = NULL;
    CHECK(tl_mt_build_run(&m, 7, &slab, 4096, &r) == TL_OK);
    CHECK(r != NULL && r->n == 44 && r->seq == 7);
    int sorted = 1;
    for (size_t i = 1; i < r->n; i++)
        sorted &= r->ts[i - 1] <= r->ts[i];
    CHECK(sorted);
    /* ts 50: run record (h=5) before OOO (h=102); ts 90: run (9) then run (100) */
    size_t p50 = 0;
    while (r->ts[p50] != 50)
        p50++;
    CHECK(r->h[p50] == 5 && r->h[p50 + 1] == 102);
    CHECK(r->page.min == 0 && r->page.max == 390);
    tl_memrun_release(r);
    tl_slab_release(slab);

    /* Delete: records in [5, 60) leave, handles are retired. */
    tl_retired q = {0};
    size_t cnt = tl_mt_count_range(&m, 5, 60);
    CHECK_EQ_U(cnt, 8); /* run 10,20,30,40,50 + OOO 5,5,50 */
    CHECK(tl_retired_reserve(&q, cnt + 1) == TL_OK);
    CHECK(tl_mt_delete(&m, 5, 60, &q, 3) == TL_OK);
    CHECK_EQ_U(tl_retired_len(&q), cnt);
    CHECK_EQ_U(tl_mt_count(&m), 44 - cnt);
    CHECK_EQ_U(tl_mt_count_range(&m, 5, 60), 0);
    /* hwm unchanged: a record below the old last still goes to OOO */
    CHECK(tl_mt_append(&m, 100, 555) == TL_OK);
    CHECK_EQ_U(m.ooo_n, 1);

    /* c2 is unaffected by the delete. */
    n = cap_records(&c2, ts, h);
    CHECK_EQ_U(n, 44);

    tl_handle all[256];
    size_t pos = 0;
    tl_mt_handles(&m, all, 256, &pos);
    CHECK_EQ_U(pos, tl_mt_count(&m));

    tl_mtcap_release(&c1);
    tl_mtcap_release(&c2);
    tl_retired_free(&q);
    tl_mt_free(&m);
    return th_end();
}
