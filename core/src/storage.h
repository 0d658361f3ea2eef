/*
 * storage.h - the immutable layers below the memtable.
 *
 *  memrun    a sealed memtable: one sorted struct-of-arrays run, waiting in
 *            the sealed queue.  Watermark `seq` (see tombs.h).
 *  segment   a list of pages.  L0 segments are made by flush and simply
 *            re-slice a memrun (no copy; the memrun is their backing).  L1
 *            segments are either such segments moved up unchanged by
 *            compaction, or written by it into one block holding every
 *            page's exact-size arrays.
 *  level     the L1 level: segments ordered by time, pairwise
 *            non-overlapping except that equal timestamps may straddle a
 *            boundary (order then follows the array order), plus a flat
 *            array of all their pages so a reader binary-searches once.
 *  manifest  memruns (oldest first) + L0 segments (oldest first) + L1 level.
 *
 * All of these are refcounted and never change after construction, so a
 * snapshot holds them by reference; the log replaces its manifest pointer
 * under the writer lock.  Insertion order across sources: L1 records are
 * older than L0 records, which are older than memrun records, which are
 * older than the memtable's.
 */
#ifndef TL_STORAGE_H
#define TL_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "page.h"
#include "refcount.h"

/* A slab: one big block that memruns carve their arrays from (sealing then
 * writes into memory that is already mapped, with huge pages when large).
 * Refcounted by the memruns in it and by the log while it is the current
 * one; unmapped when the last goes. */
typedef struct tl_slab {
    tl_rc rc;
    size_t size, used;
    char *base;
} tl_slab;

void tl_slab_release(tl_slab *s);
/* Drop the log's current slab when no memrun uses it any more (only new
 * memruns, created under the writer lock, could add references). */
void tl_slab_trim(tl_slab **cur);

typedef struct tl_memrun {
    tl_rc rc;
    tl_slab *slab;
    uint64_t seq;
    size_t n;
    size_t bytes;
    tl_page page;
    int64_t *ts;
    tl_handle *h;
} tl_memrun;

typedef struct tl_segment {
    tl_rc rc;
    uint64_t seq;
    size_t n;
    int64_t min, max;
    size_t bytes;
    tl_memrun *backing; /* L0: the memrun whose arrays the pages slice */
    void *block;        /* L1: one block holding every page's arrays */
    size_t block_bytes;
    size_t np;
    tl_page pages[];
} tl_segment;

typedef struct tl_level {
    tl_rc rc;
    uint64_t seq;
    size_t nseg;
    tl_segment **seg;
    size_t *first_page; /* index in pages[] of each segment's first page */
    size_t npages;
    tl_page *pages;
    size_t n;
    size_t bytes;
} tl_level;

typedef struct tl_manifest {
    tl_rc rc;
    size_t nmem;
    tl_memrun **mem;
    size_t nl0;
    tl_segment **l0;
    tl_level *l1;
    size_t nrec;          /* records in all layers */
    int64_t min, max;     /* over all records (valid when nrec > 0) */
    size_t bytes;
    size_t mem_records, l0_records, l0_pages;
} tl_manifest;

/* Memrun with room for n records, its arrays carved from *cur (a new slab
 * of slab_bytes replaces *cur when it is full; a run larger than half a
 * slab gets a slab of its own).  NULL on failure, *cur unchanged. */
tl_memrun *tl_memrun_new(size_t n, uint64_t seq, tl_slab **cur, size_t slab_bytes);
/* Set page/min/max once the arrays are filled. */
void tl_memrun_seal(tl_memrun *r);
void tl_memrun_retain(tl_memrun *r);
void tl_memrun_release(tl_memrun *r);

/* L0 segment slicing r into pages of page_records (retains r). */
tl_segment *tl_segment_from_memrun(tl_memrun *r, size_t page_records);
/* Segment owning block (a tl_big_alloc of block_bytes) that holds the
 * arrays of pages[0..np). */
tl_segment *tl_segment_new_owned(const tl_page *pages, size_t np, void *block, size_t block_bytes);
void tl_segment_retain(tl_segment *s);
void tl_segment_release(tl_segment *s);

/* Level from segs (retained), watermark seq. */
tl_level *tl_level_new(tl_segment *const *segs, size_t nseg, uint64_t seq);
void tl_level_release(tl_level *l);

/* Manifest from the concatenations ma+mb and la+lb, and l1 (all retained). */
tl_manifest *tl_manifest_new(tl_memrun *const *ma, size_t na, tl_memrun *const *mb, size_t nb,
                             tl_segment *const *la, size_t nla, tl_segment *const *lb, size_t nlb,
                             tl_level *l1);
void tl_manifest_retain(tl_manifest *m);
void tl_manifest_release(tl_manifest *m);

#endif
