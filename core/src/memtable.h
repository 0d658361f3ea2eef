/*
 * memtable.h - the mutable head of the log (writer lock held for every call
 * except the capture accessors, which work on a capture's own references).
 *
 * In-order run: records with ts >= run_hwm are pushed into fixed-size chunks
 * listed by a refcounted chunk directory.  A chunk slot below the captured
 * count is never written again, so a snapshot captures the run by retaining
 * the directory and remembering the count: appends never move captured data
 * and a late record never shifts the run.
 *
 * Out-of-order buffer: late records (ts < run_hwm) are appended unsorted to
 * a plain array.  A stable-sorted copy is built on demand (capture, seal) and
 * cached; a later capture merges only the new tail into it.
 *
 * run_hwm only grows (also across deletes) so that, for equal timestamps,
 * every run record is older than every out-of-order record: merging "run
 * first" then yields insertion order.
 */
#ifndef TL_MEMTABLE_H
#define TL_MEMTABLE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "page.h"
#include "refcount.h"
#include "retired.h"
#include "storage.h"
#include "tl_assert.h"

/* Chunks are mapped directly (tl_big_alloc), not taken from malloc's heap,
 * so memory a sealed memtable gives back really leaves the process. */
typedef struct tl_chunk {
    tl_rc rc;
    size_t bytes;          /* block size, for tl_big_free */
    struct tl_chunk *next; /* link in the memtable's spare list */
    int64_t *ts;
    tl_handle *h;
} tl_chunk;

typedef struct tl_chunkdir {
    tl_rc rc;
    size_t cap, n; /* n chunks referenced (each retained once by the dir) */
    tl_chunk *c[];
} tl_chunkdir;

/* Stable-sorted copy of the first n out-of-order records. */
typedef struct tl_sorted {
    tl_rc rc;
    size_t n;
    int64_t *ts;
    tl_handle *h;
} tl_sorted;

/* What a snapshot holds of the memtable. */
typedef struct tl_mtcap {
    tl_chunkdir *dir; /* NULL when run_n == 0 */
    size_t run_n;
    size_t chunk_cap;
    tl_sorted *ooo; /* NULL when empty */
} tl_mtcap;

typedef struct tl_memtable {
    size_t chunk_cap;
    tl_chunkdir *dir;
    size_t run_n;
    tl_chunk *tail; /* last chunk, tail_n records used */
    size_t tail_n;
    int64_t run_hwm;
    tl_pair *ooo;
    size_t ooo_n, ooo_cap;
    int64_t ooo_min, ooo_max;
    tl_sorted *sorted;
    /* Chunks of sealed runs no snapshot held, kept for the next run (no
     * allocation, no page faults); dropped by tl_mt_drop_spare. */
    tl_chunk *spare;
} tl_memtable;

/* The shape invariants above, O(1) (for asserts): the run fills its
 * directory's chunks in order, the tail chunk holding tail_n records. */
static inline int tl_mt_ok(const tl_memtable *m)
{
    if (m->chunk_cap == 0 || m->tail_n > m->chunk_cap || m->ooo_n > m->ooo_cap)
        return 0;
    if (m->run_n == 0)
        return m->dir == NULL || m->dir->n == 0;
    return m->dir && m->dir->n > 0 && m->tail == m->dir->c[m->dir->n - 1] &&
           m->run_n == (m->dir->n - 1) * m->chunk_cap + m->tail_n &&
           m->tail->ts[m->tail_n - 1] <= m->run_hwm;
}

void tl_mt_init(tl_memtable *m, size_t chunk_cap);
void tl_mt_free(tl_memtable *m);

tl_status tl_mt_append_slow(tl_memtable *m, int64_t ts, tl_handle h);

/* Append one record; TL_ENOMEM leaves the memtable unchanged. */
static inline tl_status tl_mt_append(tl_memtable *m, int64_t ts, tl_handle h)
{
    TL_ASSERT(tl_mt_ok(m));
    if (ts >= m->run_hwm) {
        if (m->tail_n < m->chunk_cap && m->tail) {
            m->tail->ts[m->tail_n] = ts;
            m->tail->h[m->tail_n] = h;
            m->tail_n++;
            m->run_n++;
            m->run_hwm = ts;
            return TL_OK;
        }
    } else if (m->ooo_n < m->ooo_cap) {
        m->ooo[m->ooo_n++] = (tl_pair){ts, h};
        if (ts < m->ooo_min)
            m->ooo_min = ts;
        if (ts > m->ooo_max)
            m->ooo_max = ts;
        return TL_OK;
    }
    return tl_mt_append_slow(m, ts, h);
}

/* Append the longest prefix of ts/h (n records) that is in order from
 * run_hwm on and fits the tail chunk, with two memcpy instead of a store
 * and a branch per record; returns its length (0: use tl_mt_append). */
static inline size_t tl_mt_append_run(tl_memtable *m, const int64_t *ts, const tl_handle *h,
                                      size_t n)
{
    if (!m->tail)
        return 0;
    size_t room = m->chunk_cap - m->tail_n;
    if (n > room)
        n = room;
    if (n == 0 || ts[0] < m->run_hwm)
        return 0;
    size_t k = 1;
    while (k < n && ts[k] >= ts[k - 1])
        k++;
    TL_ASSERT(k <= room && tl_dbg_sorted(ts, k));
    memcpy(m->tail->ts + m->tail_n, ts, k * sizeof *ts);
    memcpy(m->tail->h + m->tail_n, h, k * sizeof *h);
    m->tail_n += k;
    m->run_n += k;
    m->run_hwm = ts[k - 1];
    return k;
}

static inline size_t tl_mt_count(const tl_memtable *m) { return m->run_n + m->ooo_n; }

/* Bytes of heap the memtable holds. */
size_t tl_mt_bytes(const tl_memtable *m);

/* Capture (retains); TL_ENOMEM if the sorted copy cannot be built. */
tl_status tl_mt_capture(tl_memtable *m, tl_mtcap *out);
void tl_mtcap_release(tl_mtcap *c);
/* The run of a capture as pages (one per chunk), and its sorted OOO
 * records as one page (returns 0 when there are none). */
size_t tl_mtcap_nrun_pages(const tl_mtcap *c);
void tl_mtcap_run_pages(const tl_mtcap *c, tl_page *out);
int tl_mtcap_ooo_page(const tl_mtcap *c, tl_page *out);

/* Build a memrun of every record (run and sorted OOO merged, run first on
 * ties).  The memtable is unchanged; tl_mt_reset() empties it afterwards. */
tl_status tl_mt_build_run(tl_memtable *m, uint64_t seq, tl_slab **slab, size_t slab_bytes,
                          tl_memrun **out);
void tl_mt_reset(tl_memtable *m);
/* Free the spare chunks (an explicit flush: the ingest burst is over). */
void tl_mt_drop_spare(tl_memtable *m);

/* Records in [t1, t2). */
size_t tl_mt_count_range(const tl_memtable *m, int64_t t1, int64_t t2);
/* Remove the records in [t1, t2), pushing their handles to q (capacity
 * reserved by the caller) with epoch.  TL_ENOMEM leaves everything as is. */
tl_status tl_mt_delete(tl_memtable *m, int64_t t1, int64_t t2, tl_retired *q, uint64_t epoch);

/* Push every handle to q (capacity reserved by the caller). */
void tl_mt_retire_all(const tl_memtable *m, tl_retired *q, uint64_t epoch);
/* Copy every handle (up to cap) into out starting at index *pos. */
void tl_mt_handles(const tl_memtable *m, tl_handle *out, size_t cap, size_t *pos);

#endif
