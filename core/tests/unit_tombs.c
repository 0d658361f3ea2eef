/*
 * unit_tombs.c - the tombstone list: seq-suffix selection, coalescing,
 * widening of the last entry, folding.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "tombs.h"

int main(void)
{
    th_begin("unit_tombs");
    tl_tombs t = {0};
    CHECK(tl_tombs_reserve(&t, 4) == TL_OK);
    tl_tombs_push(&t, 10, 20, 1, 0);
    tl_tombs_push(&t, 15, 30, 2, 0); /* overlaps: separate entry (merge not allowed) */
    tl_tombs_push(&t, 40, 50, 3, 0);
    tl_tombs_push(&t, 30, 35, 4, 0);
    CHECK_EQ_U(t.n, 4);

    CHECK_EQ_U(tl_tombs_count_after(t.v, t.n, 0), 4);
    CHECK_EQ_U(tl_tombs_count_after(t.v, t.n, 2), 2);
    CHECK_EQ_U(tl_tombs_count_after(t.v, t.n, 4), 0);

    tl_ival iv[8];
    size_t k = tl_tombs_coalesce(t.v, t.n, 0, iv);
    /* [10,20) [15,30) [30,35) touch -> [10,35); [40,50) */
    CHECK_EQ_U(k, 2);
    CHECK(iv[0].a == 10 && iv[0].b == 35);
    CHECK(iv[1].a == 40 && iv[1].b == 50);
    k = tl_tombs_coalesce(t.v, t.n, 2, iv);
    CHECK_EQ_U(k, 2);
    CHECK(iv[0].a == 30 && iv[0].b == 35 && iv[1].a == 40);
    CHECK_EQ_U(tl_tombs_coalesce(t.v, t.n, 9, iv), 0);

    /* Widening the last entry when allowed. */
    CHECK(tl_tombs_reserve(&t, 2) == TL_OK);
    tl_tombs_push(&t, 33, 38, 5, 1);
    CHECK_EQ_U(t.n, 4);
    CHECK(t.v[3].t1 == 30 && t.v[3].t2 == 38 && t.v[3].seq == 5);
    tl_tombs_push(&t, 100, 200, 6, 1); /* disjoint: appended */
    CHECK_EQ_U(t.n, 5);

    /* Folding drops a seq prefix. */
    tl_tombs_fold(&t, 2);
    CHECK_EQ_U(t.n, 3);
    CHECK(t.v[0].seq == 3);
    tl_tombs_fold(&t, 6);
    CHECK_EQ_U(t.n, 0);
    CHECK(t.v == NULL);

    /* Many entries: coalescing sorts by start. */
    CHECK(tl_tombs_reserve(&t, 1000) == TL_OK);
    for (int i = 999; i >= 0; i--)
        tl_tombs_push(&t, i * 10, i * 10 + 5, (uint64_t)(1000 - i), 0);
    tl_ival *big = th_xmalloc(1000 * sizeof *big);
    k = tl_tombs_coalesce(t.v, t.n, 0, big);
    CHECK_EQ_U(k, 1000);
    int sorted = 1;
    for (size_t i = 1; i < k; i++)
        sorted &= big[i - 1].b < big[i].a;
    CHECK(sorted);
    free(big);
    tl_tombs_free(&t);
    return th_end();
}
