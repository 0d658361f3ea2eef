/*
 * alloc.c - the engine's single allocator (see alloc.h).
 *
 * Release builds forward to malloc/free.  With TL_TESTING every block carries
 * a 16-byte header holding its size, so live bytes can be tracked exactly,
 * and a process-wide countdown makes the k-th allocation fail.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* MAP_ANONYMOUS, MADV_HUGEPAGE under -std=c11 */
#endif
#include "alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#ifdef TL_TESTING
#include <stdatomic.h>
#include "timelog_testing.h"

#define TL_HDR 16

static atomic_llong g_count;
static atomic_llong g_live;
static atomic_llong g_fail_at;

void tl_test_alloc_fail_at(int64_t k)
{
    atomic_store(&g_fail_at, k > 0 ? (long long)k : 0);
}

int64_t tl_test_alloc_count(void) { return (int64_t)atomic_load(&g_count); }

int64_t tl_test_alloc_live_bytes(void) { return (int64_t)atomic_load(&g_live); }

/* Counts the allocation; true when this one must fail. */
static int tl_should_fail(void)
{
    atomic_fetch_add(&g_count, 1);
    long long k = atomic_load(&g_fail_at);
    while (k > 0) {
        if (atomic_compare_exchange_weak(&g_fail_at, &k, k - 1))
            return k == 1;
    }
    return 0;
}

void *tl_alloc(size_t n)
{
    if (tl_should_fail() || n > SIZE_MAX - TL_HDR)
        return NULL;
    char *b = malloc(n + TL_HDR);
    if (!b)
        return NULL;
    memcpy(b, &n, sizeof n);
    atomic_fetch_add(&g_live, (long long)n);
    return b + TL_HDR;
}

void *tl_realloc(void *p, size_t n)
{
    if (!p)
        return tl_alloc(n);
    if (tl_should_fail() || n > SIZE_MAX - TL_HDR)
        return NULL;
    char *b = (char *)p - TL_HDR;
    size_t old;
    memcpy(&old, b, sizeof old);
    char *q = realloc(b, n + TL_HDR);
    if (!q)
        return NULL;
    memcpy(q, &n, sizeof n);
    atomic_fetch_add(&g_live, (long long)n - (long long)old);
    return q + TL_HDR;
}

void tl_free(void *p)
{
    if (!p)
        return;
    char *b = (char *)p - TL_HDR;
    size_t old;
    memcpy(&old, b, sizeof old);
    atomic_fetch_sub(&g_live, (long long)old);
    free(b);
}

#else

void *tl_alloc(size_t n) { return malloc(n ? n : 1); }

void *tl_realloc(void *p, size_t n) { return realloc(p, n ? n : 1); }

void tl_free(void *p) { free(p); }

#endif

void *tl_alloc_array(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    return tl_alloc(count * size);
}

void *tl_zalloc(size_t n)
{
    void *p = tl_alloc(n);
    if (p)
        memset(p, 0, n);
    return p;
}

#ifdef TL_TESTING

void *tl_big_alloc(size_t n) { return tl_alloc(n); }

void tl_big_free(void *p, size_t n)
{
    (void)n;
    tl_free(p);
}

void tl_big_release_tail(void *p, size_t n, size_t used)
{
    (void)p;
    (void)n;
    (void)used;
}

void tl_heap_trim(void) {}

#else

/* From 64 KiB on (memtable chunks), mapping beats malloc's heap, which
 * would keep freed blocks resident. */
#define TL_BIG_MIN ((size_t)64 << 10)
#define TL_HUGE ((size_t)2 << 20)

void *tl_big_alloc(size_t n)
{
    if (n < TL_BIG_MIN)
        return tl_alloc(n);
    if (n < TL_HUGE) {
        void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? NULL : p;
    }
    /* Over-map, then trim to a 2 MiB-aligned start so huge pages can back it. */
    if (n > SIZE_MAX - TL_HUGE)
        return NULL;
    size_t len = n + TL_HUGE;
    char *raw = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    uintptr_t a = ((uintptr_t)raw + TL_HUGE - 1) & ~(uintptr_t)(TL_HUGE - 1);
    char *p = (char *)a;
    size_t head = (size_t)(p - raw);
    size_t map_n = (n + 4095) & ~(size_t)4095;
    if (head)
        munmap(raw, head);
    if (len - head > map_n)
        munmap(p + map_n, len - head - map_n);
#ifdef MADV_HUGEPAGE
    madvise(p, map_n, MADV_HUGEPAGE);
#endif
    return p;
}

void tl_big_free(void *p, size_t n)
{
    if (!p)
        return;
    if (n < TL_BIG_MIN) {
        tl_free(p);
        return;
    }
    munmap(p, (n + 4095) & ~(size_t)4095);
}

void tl_big_release_tail(void *p, size_t n, size_t used)
{
    if (!p || n < TL_BIG_MIN)
        return;
    size_t from = (used + 4095) & ~(size_t)4095;
    size_t map_n = (n + 4095) & ~(size_t)4095;
    if (from < map_n)
        madvise((char *)p + from, map_n - from, MADV_DONTNEED);
}

void tl_heap_trim(void)
{
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

#endif
