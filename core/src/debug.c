/*
 * debug.c - assertion failure and lock ownership tracking (see tl_assert.h).
 *
 * Compiled in every build so the declarations never dangle, but only debug
 * builds (TL_DEBUG) call into it: release builds neither evaluate asserts
 * nor write the owner words.
 */
#include "tl_assert.h"

#include <stdio.h>
#include <stdlib.h>

void tl_assert_fail(const char *expr, const char *file, int line, const char *func)
{
    fprintf(stderr, "timelog: internal invariant violated: %s\n  at %s:%d in %s()\n", expr, file,
            line, func);
    fflush(stderr);
    abort();
}

/* The address of a thread-local byte is a non-zero id, unique among live
 * threads. */
static _Thread_local char self_tag;
/* Locks of one object held by this thread: bit `level` of held_mask. */
static _Thread_local const void *held_obj;
static _Thread_local unsigned held_mask;

static uintptr_t self_id(void) { return (uintptr_t)&self_tag; }

void tl_lk_before(const void *obj, int level, atomic_uintptr_t *owner)
{
    TL_ASSERT(level >= 0 && level < TL_LK_COUNT);
    /* pthread mutexes are not recursive: a second lock self-deadlocks. */
    TL_ASSERT(atomic_load_explicit(owner, memory_order_relaxed) != self_id());
    /* Engine code never holds two logs' locks at once. */
    TL_ASSERT(held_mask == 0 || held_obj == obj);
    /* log.h: tlock, then mlock, then wlock, never the reverse. */
    TL_ASSERT((held_mask >> level) == 0);
}

void tl_lk_acquired(const void *obj, int level, atomic_uintptr_t *owner)
{
    TL_ASSERT(atomic_load_explicit(owner, memory_order_relaxed) == 0);
    atomic_store_explicit(owner, self_id(), memory_order_relaxed);
    held_obj = obj;
    held_mask |= 1u << level;
}

void tl_lk_releasing(const void *obj, int level, atomic_uintptr_t *owner)
{
    TL_ASSERT(atomic_load_explicit(owner, memory_order_relaxed) == self_id());
    TL_ASSERT(held_obj == obj && (held_mask & (1u << level)));
    atomic_store_explicit(owner, 0, memory_order_relaxed);
    held_mask &= ~(1u << level);
    if (!held_mask)
        held_obj = NULL;
}

int tl_lk_held(const atomic_uintptr_t *owner)
{
    return atomic_load_explicit((atomic_uintptr_t *)owner, memory_order_relaxed) == self_id();
}

int tl_lk_none_held(const void *obj) { return held_mask == 0 || held_obj != obj; }

int tl_dbg_sorted(const int64_t *a, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (a[i] < a[i - 1])
            return 0;
    return 1;
}
