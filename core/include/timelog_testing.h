/*
 * timelog_testing.h - hooks for the engine's own tests.  Not part of the
 * public API and not declared to bindings.  Available only when the engine
 * is compiled with -DTL_TESTING (the core test build does this).
 */
#ifndef TIMELOG_TESTING_H
#define TIMELOG_TESTING_H

#include <stdint.h>

/* Allocation-failure injection.  Every engine allocation goes through one
 * allocator; after tl_test_alloc_fail_at(k) the k-th allocation from now
 * (k >= 1) fails (returns NULL) and the following ones succeed again.
 * k = 0 disables injection.  The counter is process-wide. */
void tl_test_alloc_fail_at(int64_t k);
/* Allocations performed since the process started (successful or not). */
int64_t tl_test_alloc_count(void);
/* Bytes currently allocated through the engine allocator (leak checks). */
int64_t tl_test_alloc_live_bytes(void);

#endif
