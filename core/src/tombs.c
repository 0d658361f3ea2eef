/*
 * tombs.c - the tombstone list and its coalescing (see tombs.h).
 */
#include "tombs.h"

#include "alloc.h"

tl_status tl_tombs_reserve(tl_tombs *t, size_t extra)
{
    if (t->cap - t->n >= extra)
        return TL_OK;
    size_t cap = t->cap ? t->cap * 2 : 8;
    while (cap - t->n < extra)
        cap *= 2;
    tl_tomb *v = tl_realloc(t->v, cap * sizeof *v);
    if (!v)
        return TL_ENOMEM;
    t->v = v;
    t->cap = cap;
    return TL_OK;
}

void tl_tombs_push(tl_tombs *t, int64_t t1, int64_t t2, uint64_t seq, int merge_ok)
{
    TL_ASSERT(t1 < t2);
    TL_ASSERT(t->n == 0 || t->v[t->n - 1].seq < seq); /* ascending seq order */
    if (merge_ok && t->n > 0) {
        tl_tomb *l = &t->v[t->n - 1];
        if (t1 <= l->t2 && t2 >= l->t1) {
            if (t1 < l->t1)
                l->t1 = t1;
            if (t2 > l->t2)
                l->t2 = t2;
            l->seq = seq;
            return;
        }
    }
    TL_ASSERT(t->n < t->cap); /* reserved by the caller */
    t->v[t->n++] = (tl_tomb){t1, t2, seq};
}

void tl_tombs_fold(tl_tombs *t, uint64_t upto)
{
    size_t k = t->n - tl_tombs_count_after(t->v, t->n, upto);
    if (k == 0)
        return;
    for (size_t i = k; i < t->n; i++)
        t->v[i - k] = t->v[i];
    t->n -= k;
    TL_ASSERT(t->n == 0 || t->v[0].seq > upto);
    if (t->n == 0) {
        tl_free(t->v);
        t->v = NULL;
        t->cap = 0;
    }
}

void tl_tombs_free(tl_tombs *t)
{
    tl_free(t->v);
    t->v = NULL;
    t->n = t->cap = 0;
}

size_t tl_tombs_count_after(const tl_tomb *v, size_t n, uint64_t w)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t m = lo + (hi - lo) / 2;
        if (v[m].seq <= w)
            lo = m + 1;
        else
            hi = m;
    }
    return n - lo;
}

static void ival_sort(tl_ival *a, size_t n)
{
    /* Shell sort: lists are short and this needs no scratch memory. */
    static const size_t gaps[] = {701, 301, 132, 57, 23, 10, 4, 1};
    for (size_t g = 0; g < sizeof gaps / sizeof gaps[0]; g++) {
        size_t gap = gaps[g];
        for (size_t i = gap; i < n; i++) {
            tl_ival x = a[i];
            size_t j = i;
            while (j >= gap && a[j - gap].a > x.a) {
                a[j] = a[j - gap];
                j -= gap;
            }
            a[j] = x;
        }
    }
}

size_t tl_tombs_coalesce(const tl_tomb *v, size_t n, uint64_t w, tl_ival *out)
{
    size_t k = tl_tombs_count_after(v, n, w);
    const tl_tomb *s = v + (n - k);
    for (size_t i = 0; i < k; i++)
        out[i] = (tl_ival){s[i].t1, s[i].t2};
    ival_sort(out, k);
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        if (m > 0 && out[i].a <= out[m - 1].b) {
            if (out[i].b > out[m - 1].b)
                out[m - 1].b = out[i].b;
        } else {
            out[m++] = out[i];
        }
    }
    /* Coalesced: sorted, disjoint and not touching (tl_ival_find and the
     * cursors rely on it). */
    for (size_t i = 0; i < m; i++)
        TL_ASSERT(out[i].a < out[i].b && (i == 0 || out[i - 1].b < out[i].a));
    return m;
}
