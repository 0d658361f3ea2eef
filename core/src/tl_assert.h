/*
 * tl_assert.h - internal invariant checks and lock ownership tracking.
 *
 * TL_ASSERT(cond) is compiled in only when TL_DEBUG is defined (the core
 * test build, the sanitizer builds and the fuzzer: see core/Makefile).  In
 * every other build it expands to nothing that runs: the condition is never
 * evaluated, so asserts may call O(n) checkers, but they must have no side
 * effects.  A failed assert prints the condition, file, line and function to
 * stderr and aborts.
 *
 * Each assert states an invariant that a comment in the code or in
 * docs/design.md already claims; it is a check of that claim, not error
 * handling.  Survivable failures (allocation, bad arguments) keep their
 * status codes.
 *
 * Lock tracking (debug builds only): every engine mutex has an owner word
 * that holds an id of the thread holding it (0 when free), so a function
 * documented as "wlock held" can assert it, and each thread remembers which
 * of one log's locks it holds so that taking them out of the documented
 * order (log.h: tlock, then mlock, then wlock) or twice aborts at once
 * instead of deadlocking some of the time.  The wrappers live in log.h.
 */
#ifndef TL_ASSERT_H
#define TL_ASSERT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
__attribute__((noreturn))
#endif
void tl_assert_fail(const char *expr, const char *file, int line, const char *func);

/* Lock levels, in the only order a thread may take them (log.h). */
enum { TL_LK_TLOCK = 0, TL_LK_MLOCK = 1, TL_LK_WLOCK = 2, TL_LK_COUNT = 3 };

/* Before locking `level` of object obj: not already held by this thread,
 * no lock of obj at or after `level` held, no lock of another object held. */
void tl_lk_before(const void *obj, int level, atomic_uintptr_t *owner);
/* After locking / before unlocking (also around a condition wait). */
void tl_lk_acquired(const void *obj, int level, atomic_uintptr_t *owner);
void tl_lk_releasing(const void *obj, int level, atomic_uintptr_t *owner);
/* True when the calling thread holds the lock whose owner word this is. */
int tl_lk_held(const atomic_uintptr_t *owner);
/* True when the calling thread holds no lock of obj. */
int tl_lk_none_held(const void *obj);

/* True when a[0..n) is non-decreasing (O(n): for asserts only). */
int tl_dbg_sorted(const int64_t *a, size_t n);

/* Helpers used only inside TL_ASSERT: compiled in every build (release
 * builds mention them only in an unevaluated sizeof, and drop them). */
#if defined(__GNUC__)
#define TL_DEBUG_FN __attribute__((unused)) static
#else
#define TL_DEBUG_FN static
#endif

#ifdef TL_DEBUG
#define TL_ASSERT(cond) ((cond) ? (void)0 : tl_assert_fail(#cond, __FILE__, __LINE__, __func__))
#else
/* Not evaluated; sizeof keeps variables used only by asserts "used". */
#define TL_ASSERT(cond) ((void)sizeof((cond) ? 1 : 0))
#endif

#endif
