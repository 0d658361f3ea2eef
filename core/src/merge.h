/*
 * merge.h - source cursors and the k-way merge every read path shares
 * (iterators, page spans, compaction).
 *
 * A cursor walks one source: a sorted sequence of pages (a memrun, an L0
 * segment, the whole L1 level, the memtable's run chunks or its sorted OOO
 * records) restricted to [lo, hi] (inclusive) and minus its tombstone
 * intervals.  Invariant between calls: a live cursor sits on a visible record
 * (head) <= hi; its tombstone index ti is the first interval ending after
 * head.  Skipping a deleted stretch is one seek (binary search), never a
 * per-record test; with a drop sink the skipped handles are collected
 * (compaction retires them).
 *
 * The merge emits runs: the cursor with the smallest (head, source index) -
 * source index order is insertion-age order, so equal timestamps come out
 * oldest first - yields every record up to the next competing head, the next
 * tombstone, hi and its page end, as a pointer into page memory.  With one
 * live source a run is a whole page stretch (memcpy fast path).
 */
#ifndef TL_MERGE_H
#define TL_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "page.h"
#include "tombs.h"

typedef struct tl_hvec {
    tl_handle *v;
    size_t n, cap;
    int failed; /* an append could not allocate */
} tl_hvec;

typedef struct tl_cur {
    const tl_page *pg;
    size_t np, pi, pos;
    const tl_ival *tv;
    size_t nt, ti;
    int64_t head;
    int live;
} tl_cur;

typedef struct tl_merge {
    tl_cur *c;
    size_t nc;
    int64_t hi;
    tl_hvec *drop;
    tl_cur *run; /* cursor of the current run, NULL if none */
    size_t run_end;
} tl_merge;

void tl_merge_init(tl_merge *mg, tl_cur *c, int64_t hi, tl_hvec *drop);
/* Add a source (appended as mg->c[mg->nc++]; the caller sized c[]). */
void tl_merge_add(tl_merge *mg, const tl_page *pg, size_t np, const tl_ival *tv, size_t nt, int64_t lo);
/* Next run of at most maxlen records; 0 at the end. */
int tl_merge_next(tl_merge *mg, size_t maxlen, const int64_t **ts, const tl_handle **h, size_t *len);
/* Next run of cursor c alone (no merging), for page spans. */
int tl_cur_next_run(tl_merge *mg, tl_cur *c, const int64_t **ts, const tl_handle **h, size_t *len);

void tl_hvec_push(tl_hvec *v, const tl_handle *h, size_t n);
void tl_hvec_free(tl_hvec *v);

#endif
