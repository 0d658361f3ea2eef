/*
 * unit_merge.c - cursors and the k-way merge: tie order by source index,
 * tombstone skipping, inclusive bounds, the drop sink, single-source runs.
 */
#include <string.h>

#include "harness.h"
#include "merge.h"

static tl_page mk(const int64_t *ts, const tl_handle *h, size_t n)
{
    return (tl_page){ts, h, n, ts[0], ts[n - 1]};
}

static size_t drain(tl_merge *mg, int64_t *ts, tl_handle *h, size_t maxlen)
{
    const int64_t *pt;
    const tl_handle *ph;
    size_t k, n = 0;
    while (tl_merge_next(mg, maxlen, &pt, &ph, &k)) {
        memcpy(ts + n, pt, k * 8);
        memcpy(h + n, ph, k * 8);
        n += k;
    }
    return n;
}

int main(void)
{
    th_begin("unit_merge");
    /* source A: two pages; source B: one page; equal timestamps across. */
    static const int64_t a1[] = {1, 3, 5}, a2[] = {5, 7, 9};
    static const tl_handle ha1[] = {101, 103, 105}, ha2[] = {205, 207, 209};
    static const int64_t b1[] = {3, 5, 6, 9, 12};
    static const tl_handle hb1[] = {303, 305, 306, 309, 312};
    tl_page pa[2] = {mk(a1, ha1, 3), mk(a2, ha2, 3)};
    tl_page pb[1] = {mk(b1, hb1, 5)};
    tl_cur c[4];
    tl_merge mg;
    int64_t ts[64];
    tl_handle h[64];

    for (size_t maxlen = 1; maxlen <= 64; maxlen *= 4) {
        tl_merge_init(&mg, c, INT64_MAX, NULL);
        tl_merge_add(&mg, pa, 2, NULL, 0, INT64_MIN);
        tl_merge_add(&mg, pb, 1, NULL, 0, INT64_MIN);
        size_t n = drain(&mg, ts, h, maxlen);
        static const tl_handle want[] = {101, 103, 303, 105, 205, 305, 306, 207, 209, 309, 312};
        CHECK_EQ_U(n, 11);
        CHECK(memcmp(h, want, sizeof want) == 0);
    }

    /* Bounds [5, 9] and a tombstone [6, 8) on A only. */
    static const tl_ival tv[] = {{6, 8}};
    tl_merge_init(&mg, c, 9, NULL);
    tl_merge_add(&mg, pa, 2, tv, 1, 5);
    tl_merge_add(&mg, pb, 1, NULL, 0, 5);
    size_t n = drain(&mg, ts, h, 64);
    static const tl_handle want2[] = {105, 205, 305, 306, 209, 309};
    CHECK_EQ_U(n, 6);
    CHECK(memcmp(h, want2, sizeof want2) == 0);

    /* A source with nothing visible takes no slot. */
    static const tl_ival all[] = {{INT64_MIN, INT64_MAX}};
    tl_merge_init(&mg, c, INT64_MAX, NULL);
    tl_merge_add(&mg, pa, 2, all, 1, INT64_MIN);
    CHECK_EQ_U(mg.nc, 0);

    /* Drop sink: a tombstone spanning a page boundary collects handles. */
    static const tl_ival mid[] = {{3, 8}};
    tl_hvec drop = {0};
    tl_merge_init(&mg, c, INT64_MAX, &drop);
    tl_merge_add(&mg, pa, 2, mid, 1, INT64_MIN);
    n = drain(&mg, ts, h, 64);
    CHECK_EQ_U(n, 2);
    CHECK(h[0] == 101 && h[1] == 209);
    CHECK_EQ_U(drop.n, 4);
    CHECK(drop.v[0] == 103 && drop.v[3] == 207);
    tl_hvec_free(&drop);

    /* Single-source runs stop at page ends and tombstones. */
    static const tl_ival t6[] = {{6, 7}};
    tl_merge_init(&mg, c, INT64_MAX, NULL);
    tl_merge_add(&mg, pb, 1, t6, 1, INT64_MIN);
    const int64_t *pt;
    const tl_handle *ph;
    size_t k;
    CHECK(tl_cur_next_run(&mg, &c[0], &pt, &ph, &k) && k == 2 && pt[0] == 3);
    CHECK(tl_cur_next_run(&mg, &c[0], &pt, &ph, &k) && k == 2 && pt[0] == 9);
    CHECK(!tl_cur_next_run(&mg, &c[0], &pt, &ph, &k));
    return th_end();
}
