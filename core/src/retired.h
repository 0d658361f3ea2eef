/*
 * retired.h - handles the engine has dropped, waiting to be handed back.
 *
 * FIFO of (handle, epoch).  Epochs are non-decreasing from head to tail, so
 * the releasable entries (epoch < oldest live snapshot's epoch) are always a
 * prefix.  Pushing never allocates: callers reserve first, so a retire step
 * can sit inside an operation that must not fail halfway.
 */
#ifndef TL_RETIRED_H
#define TL_RETIRED_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "timelog.h"
#include "tl_assert.h"

typedef struct tl_retired_ent {
    tl_handle h;
    uint64_t epoch;
} tl_retired_ent;

typedef struct tl_retired {
    tl_retired_ent *v;
    size_t head, n, cap; /* live entries are v[head .. n) */
    /* n - head, mirrored so a drain can see "empty" without the lock (the
     * common case at every binding safe point).  Written under the lock. */
    atomic_size_t len;
} tl_retired;

static inline size_t tl_retired_len(const tl_retired *q) { return q->n - q->head; }

tl_status tl_retired_reserve(tl_retired *q, size_t extra);
static inline void tl_retired_push(tl_retired *q, tl_handle h, uint64_t epoch)
{
    TL_ASSERT(q->n < q->cap);                                  /* reserved first */
    TL_ASSERT(q->n == q->head || q->v[q->n - 1].epoch <= epoch); /* FIFO by epoch */
    q->v[q->n].h = h;
    q->v[q->n].epoch = epoch;
    q->n++;
    atomic_store_explicit(&q->len, q->n - q->head, memory_order_relaxed);
}

/* Lock-free hint: 0 when the queue was empty at the last change. */
static inline size_t tl_retired_len_hint(tl_retired *q)
{
    return atomic_load_explicit(&q->len, memory_order_relaxed);
}
/* Pop up to cap entries with epoch < min_epoch into out; returns count. */
size_t tl_retired_drain(tl_retired *q, uint64_t min_epoch, tl_handle *out, size_t cap);
void tl_retired_free(tl_retired *q);

#endif
