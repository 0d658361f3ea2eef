/*
 * tombs.h - sequenced tombstones.
 *
 * The writer-owned list holds every delete not yet folded by compaction, in
 * ascending seq order.  Each immutable source (memrun, L0 segment, the L1
 * level) carries a watermark `seq`:
 *
 *   INVARIANT: a source already reflects every tombstone with seq <= its
 *   watermark (applied physically, or its records were all inserted after
 *   it); every tombstone with a greater seq applies to all of its records
 *   (they were all inserted before it).
 *
 * The memtable never needs filtering: a delete removes the matching memtable
 * records physically at once (their handles are retired), so a memtable
 * record is always newer than every tombstone, and a memrun sealed from it
 * gets the current seq as watermark.  Readers turn "tombstones with seq > w"
 * into a sorted, coalesced interval list (tl_ival) per distinct watermark.
 */
#ifndef TL_TOMBS_H
#define TL_TOMBS_H

#include <stddef.h>
#include <stdint.h>

#include "timelog.h"
#include "tl_assert.h"

typedef struct tl_tomb {
    int64_t t1, t2; /* [t1, t2), t1 < t2 */
    uint64_t seq;
} tl_tomb;

/* Half-open interval [a, b). */
typedef struct tl_ival {
    int64_t a, b;
} tl_ival;

typedef struct tl_tombs {
    tl_tomb *v;
    size_t n, cap;
} tl_tombs;

tl_status tl_tombs_reserve(tl_tombs *t, size_t extra);
/* Append (capacity reserved).  When merge_ok and the interval overlaps or
 * touches the last entry, that entry is widened instead (safe only when no
 * source has a watermark between the two seqs; the caller knows). */
void tl_tombs_push(tl_tombs *t, int64_t t1, int64_t t2, uint64_t seq, int merge_ok);
/* Drop entries with seq <= upto (they are reflected everywhere). */
void tl_tombs_fold(tl_tombs *t, uint64_t upto);
void tl_tombs_free(tl_tombs *t);

/* Number of entries with seq > w (a suffix of v). */
size_t tl_tombs_count_after(const tl_tomb *v, size_t n, uint64_t w);
/* Write the coalesced sorted intervals of entries with seq > w into out
 * (room for tl_tombs_count_after() entries); returns how many. */
size_t tl_tombs_coalesce(const tl_tomb *v, size_t n, uint64_t w, tl_ival *out);

/* First interval of a sorted coalesced list with b > key (n if none). */
static inline size_t tl_ival_find(const tl_ival *v, size_t n, int64_t key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t m = lo + (hi - lo) / 2;
        if (v[m].b <= key)
            lo = m + 1;
        else
            hi = m;
    }
    TL_ASSERT(lo == n || v[lo].b > key);
    TL_ASSERT(lo == 0 || v[lo - 1].b <= key);
    return lo;
}

#endif
