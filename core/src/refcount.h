/*
 * refcount.h - atomic reference counts of the immutable, shared objects
 * (memruns, segments, levels, manifests, views, snapshots, captures).
 * Retain is relaxed (the caller already holds a reference); the final
 * release is acq_rel so the freeing thread sees every earlier write.
 */
#ifndef TL_REFCOUNT_H
#define TL_REFCOUNT_H

#include <stdatomic.h>
#include <stddef.h>

#include "tl_assert.h"

typedef atomic_size_t tl_rc;

static inline void tl_rc_init(tl_rc *rc) { atomic_init(rc, 1); }
static inline void tl_rc_inc(tl_rc *rc)
{
    size_t old = atomic_fetch_add_explicit(rc, 1, memory_order_relaxed);
    /* Only a holder retains: the count was already > 0 (no resurrection). */
    TL_ASSERT(old > 0);
}
/* True when this was the last reference. */
static inline int tl_rc_dec(tl_rc *rc)
{
    size_t old = atomic_fetch_sub_explicit(rc, 1, memory_order_acq_rel);
    TL_ASSERT(old > 0); /* no release without a reference */
    return old == 1;
}

#endif
