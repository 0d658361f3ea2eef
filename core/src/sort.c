/*
 * sort.c - stable merge sort of (ts, handle) pairs.  Stability is what keeps
 * equal timestamps of the out-of-order buffer in insertion order.
 */
#include "page.h"

#include <string.h>

static void insertion(tl_pair *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        tl_pair x = a[i];
        size_t j = i;
        while (j > 0 && a[j - 1].ts > x.ts) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = x;
    }
}

void tl_pairs_sort(tl_pair *a, size_t n, tl_pair *tmp)
{
    const size_t RUN = 32;
    for (size_t i = 0; i < n; i += RUN)
        insertion(a + i, n - i < RUN ? n - i : RUN);
    tl_pair *src = a, *dst = tmp;
    for (size_t w = RUN; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n;
            size_t hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = src[j].ts < src[i].ts ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        tl_pair *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
}
