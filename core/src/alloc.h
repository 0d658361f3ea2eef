/*
 * alloc.h - the engine's single allocator.
 *
 * Every heap allocation of the engine goes through these functions so that
 * the test build (-DTL_TESTING) can count allocations, track live bytes and
 * inject a failure at the k-th allocation (timelog_testing.h).  A NULL
 * return is always survivable: callers report TL_ENOMEM and leave their
 * structures as they were.
 */
#ifndef TL_ALLOC_H
#define TL_ALLOC_H

#include <stddef.h>

void *tl_alloc(size_t n);
/* count * size with overflow check (overflow returns NULL). */
void *tl_alloc_array(size_t count, size_t size);
/* Zeroed allocation of n bytes. */
void *tl_zalloc(size_t n);
/* Like realloc(); on failure returns NULL and p is untouched. */
void *tl_realloc(void *p, size_t n);
void tl_free(void *p);

/* Large data blocks (slabs, segment blocks): mapped directly from the OS and,
 * from 2 MiB on, 2 MiB-aligned with transparent huge pages requested, so
 * filling them costs a few page faults instead of one per 4 KiB.  The caller
 * remembers the size.  Test builds route them through tl_alloc. */
void *tl_big_alloc(size_t n);
void tl_big_free(void *p, size_t n);
/* Give back to the OS the pages of big block p (n bytes) past its first
 * `used` bytes; they read as zeros when touched again.  A huge page is
 * faulted in whole, so a half-used slab would otherwise stay resident in
 * full.  No-op for blocks that tl_big_alloc did not map. */
void tl_big_release_tail(void *p, size_t n, size_t used);
/* Return the free pages of malloc's heap to the OS (glibc keeps blocks freed
 * below its top resident).  Called where a burst of frees ends. */
void tl_heap_trim(void);

#endif
