/*
 * retired.c - the retired-handle FIFO (see retired.h).
 */
#include "retired.h"

#include <string.h>

#include "alloc.h"

tl_status tl_retired_reserve(tl_retired *q, size_t extra)
{
    TL_ASSERT(q->head <= q->n && q->n <= q->cap);
    if (q->cap - q->n >= extra)
        return TL_OK;
    size_t live = q->n - q->head;
    if (q->head > 0 && q->cap - live >= extra && q->head >= live) {
        /* Reuse the drained prefix instead of growing. */
        memmove(q->v, q->v + q->head, live * sizeof *q->v);
        q->head = 0;
        q->n = live;
        return TL_OK;
    }
    size_t cap = q->cap ? q->cap : 16;
    while (cap - live < extra) {
        if (cap > SIZE_MAX / 2 / sizeof *q->v)
            return TL_ENOMEM;
        cap *= 2;
    }
    tl_retired_ent *v = tl_alloc_array(cap, sizeof *v);
    if (!v)
        return TL_ENOMEM;
    if (live)
        memcpy(v, q->v + q->head, live * sizeof *v);
    tl_free(q->v);
    q->v = v;
    q->cap = cap;
    q->head = 0;
    q->n = live;
    return TL_OK;
}

size_t tl_retired_drain(tl_retired *q, uint64_t min_epoch, tl_handle *out, size_t cap)
{
    size_t k = 0;
    while (k < cap && q->head < q->n && q->v[q->head].epoch < min_epoch)
        out[k++] = q->v[q->head++].h;
    /* Releasable entries are a prefix (epochs non-decreasing, retired.h). */
    TL_ASSERT(k == cap || q->head == q->n || q->v[q->n - 1].epoch >= min_epoch);
    if (q->head == q->n) {
        /* Empty: give the memory back so an idle log holds nothing. */
        tl_free(q->v);
        q->v = NULL;
        q->head = q->n = q->cap = 0;
    }
    atomic_store_explicit(&q->len, q->n - q->head, memory_order_relaxed);
    return k;
}

void tl_retired_free(tl_retired *q)
{
    tl_free(q->v);
    q->v = NULL;
    q->head = q->n = q->cap = 0;
    atomic_store_explicit(&q->len, 0, memory_order_relaxed);
}
