/*
 * page.h - the unit every read path works on: a sorted, contiguous pair of
 * arrays (struct of arrays) with its min/max.
 *
 * A tl_page never owns its memory; whatever holds it (segment, memrun,
 * snapshot capture) keeps the arrays alive and unchanged.  Invariants:
 * n > 0, ts[] non-decreasing, min == ts[0], max == ts[n-1].
 * The search helpers below assume sorted input.
 */
#ifndef TL_PAGE_H
#define TL_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include "timelog.h"
#include "tl_assert.h"

typedef struct tl_page {
    const int64_t *ts;
    const tl_handle *h;
    size_t n;
    int64_t min, max;
} tl_page;

/* Bytes of page memory per record: its timestamp in one array and its
 * handle in the other (struct of arrays, no padding).  Memory budgets
 * (memtable_max_bytes, target_page_bytes) are converted to records by it. */
#define TL_RECORD_BYTES (sizeof(int64_t) + sizeof(tl_handle))
_Static_assert(TL_RECORD_BYTES == 16, "the documented budgets assume 16-byte records");

/* The O(1) part of the page invariants above (for asserts). */
static inline int tl_page_ok(const tl_page *p)
{
    return p->n > 0 && p->ts && p->h && p->min == p->ts[0] && p->max == p->ts[p->n - 1];
}

/* A record as the out-of-order buffer stores it. */
typedef struct tl_pair {
    int64_t ts;
    tl_handle h;
} tl_pair;

/* First index in [lo, hi) with a[i] >= k (hi if none). */
static inline size_t tl_lower_bound(const int64_t *a, size_t lo, size_t hi, int64_t k)
{
    TL_ASSERT(lo <= hi);
    while (lo < hi) {
        size_t m = lo + (hi - lo) / 2;
        if (a[m] < k)
            lo = m + 1;
        else
            hi = m;
    }
    return lo;
}

/* First index in [lo, hi) with a[i] > k (hi if none). */
static inline size_t tl_upper_bound(const int64_t *a, size_t lo, size_t hi, int64_t k)
{
    TL_ASSERT(lo <= hi);
    while (lo < hi) {
        size_t m = lo + (hi - lo) / 2;
        if (a[m] <= k)
            lo = m + 1;
        else
            hi = m;
    }
    return lo;
}

/* Upper bound searched by galloping from `from`: cheap for short runs. */
static inline size_t tl_gallop_upper_(const int64_t *a, size_t from, size_t n, int64_t k)
{
    if (from >= n || a[from] > k)
        return from;
    size_t lo = from, step = 1;
    while (lo + step < n && a[lo + step] <= k) {
        lo += step;
        step <<= 1;
    }
    size_t hi = lo + step < n ? lo + step : n;
    return tl_upper_bound(a, lo + 1, hi, k);
}

static inline size_t tl_gallop_upper(const int64_t *a, size_t from, size_t n, int64_t k)
{
    size_t r = tl_gallop_upper_(a, from, n, k);
    TL_ASSERT(r >= from && (r >= n || a[r] > k) && (r == from || a[r - 1] <= k));
    return r;
}

/* First page index in [lo, np) whose max >= k (np if none). */
static inline size_t tl_pages_find(const tl_page *p, size_t lo, size_t np, int64_t k)
{
    TL_ASSERT(lo <= np);
    size_t hi = np;
    while (lo < hi) {
        size_t m = lo + (hi - lo) / 2;
        if (p[m].max < k)
            lo = m + 1;
        else
            hi = m;
    }
    return lo;
}

/* Lower bound for a cold lookup: time series are usually close to evenly
 * spaced, so guess the position by interpolation and gallop from there
 * (a few probes in nearby cache lines instead of a dozen dependent misses);
 * the gallop bounds the cost for skewed data to about 2*log2(n). */
static inline size_t tl_seek_lower_(const int64_t *a, size_t n, int64_t k)
{
    if (n == 0 || k <= a[0])
        return 0;
    if (k > a[n - 1])
        return n;
    if (n <= 32)
        return tl_lower_bound(a, 1, n - 1, k);
    /* a[0] < k <= a[n-1] */
    double den = (double)a[n - 1] - (double)a[0];
    double frac = den > 0 ? ((double)k - (double)a[0]) / den : 0.5;
    size_t g = frac > 0 ? (size_t)(frac * (double)(n - 1)) : 0;
    if (g >= n)
        g = n - 1;
    size_t lo, hi, step = 1;
    if (a[g] < k) { /* answer in (g, n) */
        lo = g + 1;
        while (lo + step < n && a[lo + step - 1] < k) {
            lo += step;
            step <<= 1;
        }
        hi = lo + step < n ? lo + step : n;
    } else { /* answer in [0, g] */
        hi = g;
        while (hi >= step && a[hi - step] >= k) {
            hi -= step;
            step <<= 1;
        }
        lo = hi >= step ? hi - step : 0;
    }
    return tl_lower_bound(a, lo, hi, k);
}

static inline size_t tl_seek_lower(const int64_t *a, size_t n, int64_t k)
{
    size_t r = tl_seek_lower_(a, n, k);
    TL_ASSERT(r == tl_lower_bound(a, 0, n, k)); /* same answer, fewer probes */
    return r;
}

static inline size_t tl_pages_seek_(const tl_page *p, size_t np, int64_t k)
{
    if (np == 0 || k <= p[0].max)
        return 0;
    if (k > p[np - 1].max)
        return np;
    if (np <= 16)
        return tl_pages_find(p, 1, np - 1, k);
    double den = (double)p[np - 1].max - (double)p[0].max;
    double frac = den > 0 ? ((double)k - (double)p[0].max) / den : 0.5;
    size_t g = frac > 0 ? (size_t)(frac * (double)(np - 1)) : 0;
    if (g >= np)
        g = np - 1;
    size_t lo, hi, step = 1;
    if (p[g].max < k) {
        lo = g + 1;
        while (lo + step < np && p[lo + step - 1].max < k) {
            lo += step;
            step <<= 1;
        }
        hi = lo + step < np ? lo + step : np;
    } else {
        hi = g;
        while (hi >= step && p[hi - step].max >= k) {
            hi -= step;
            step <<= 1;
        }
        lo = hi >= step ? hi - step : 0;
    }
    return tl_pages_find(p, lo, hi, k);
}

/* tl_pages_find(p, 0, np, k) by interpolation + gallop (see tl_seek_lower). */
static inline size_t tl_pages_seek(const tl_page *p, size_t np, int64_t k)
{
    size_t r = tl_pages_seek_(p, np, k);
    TL_ASSERT(r == tl_pages_find(p, 0, np, k));
    return r;
}

/* Stable sort by ts; tmp must hold n pairs. */
void tl_pairs_sort(tl_pair *a, size_t n, tl_pair *tmp);

#endif
