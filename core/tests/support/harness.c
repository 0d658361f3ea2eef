/* harness.c - counting checks, seeds, scale, a small PRNG. */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Past this many failures only the count grows: a broken invariant in a
 * million-op loop must not bury the first report. */
#define TH_MAX_PRINTED 40

static const char *th_name = "test";
static atomic_ullong th_npass;
static atomic_ullong th_nfail;
static int th_abort;

void th_begin(const char *name)
{
    th_name = name;
    atomic_store(&th_npass, 0);
    atomic_store(&th_nfail, 0);
    setvbuf(stdout, NULL, _IOLBF, 0);
}

int th_end(void)
{
    unsigned long long p = atomic_load(&th_npass);
    unsigned long long f = atomic_load(&th_nfail);
    printf("%s: %llu passed, %llu failed\n", th_name, p, f);
    fflush(stdout);
    return f == 0 && p > 0 ? 0 : 1;
}

void th_set_abort_on_failure(int on) { th_abort = on; }

uint64_t th_passed(void) { return atomic_load(&th_npass); }
uint64_t th_failed(void) { return atomic_load(&th_nfail); }

int th_check(int ok, const char *file, int line, const char *fmt, ...)
{
    if (ok) {
        atomic_fetch_add_explicit(&th_npass, 1, memory_order_relaxed);
        return 1;
    }
    unsigned long long nth = atomic_fetch_add(&th_nfail, 1) + 1;
    if (nth <= TH_MAX_PRINTED || th_abort) {
        char buf[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        fprintf(stderr, "%s:%d: FAIL: %s\n", file, line, buf);
        if (nth == TH_MAX_PRINTED && !th_abort)
            fprintf(stderr, "(further failures are counted, not printed)\n");
        fflush(stderr);
    }
    if (th_abort)
        abort();
    return 0;
}

const char *th_status_name(tl_status st)
{
    switch (st) {
    case TL_OK: return "TL_OK";
    case TL_EOF: return "TL_EOF";
    case TL_EINVAL: return "TL_EINVAL";
    case TL_ESTATE: return "TL_ESTATE";
    case TL_EBUSY: return "TL_EBUSY";
    case TL_ENOMEM: return "TL_ENOMEM";
    case TL_EOVERFLOW: return "TL_EOVERFLOW";
    case TL_EINTERNAL: return "TL_EINTERNAL";
    default: return "(unknown status)";
    }
}

uint64_t th_seed(uint64_t dflt)
{
    uint64_t seed = dflt;
    const char *env = getenv("TL_TEST_SEED");
    if (env && *env)
        seed = strtoull(env, NULL, 0);
    printf("%s: seed=%llu (override with TL_TEST_SEED)\n", th_name,
           (unsigned long long)seed);
    return seed;
}

double th_scale(void)
{
    const char *env = getenv("TL_TEST_SCALE");
    if (!env || !*env)
        return 1.0;
    double s = strtod(env, NULL);
    return s > 0 ? s : 1.0;
}

int64_t th_scaled(int64_t n, int64_t min_at_full)
{
    double s = th_scale();
    int64_t v = (int64_t)((double)n * s);
    if (s >= 1.0 && v < min_at_full)
        v = min_at_full;
    return v < 1 ? 1 : v;
}

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void th_rng_init(th_rng *r, uint64_t seed)
{
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t th_next(th_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t th_below(th_rng *r, uint64_t n)
{
    if (n == 0)
        return 0;
    /* Modulo bias is irrelevant at test sizes. */
    return th_next(r) % n;
}

int64_t th_between(th_rng *r, int64_t lo, int64_t hi)
{
    uint64_t span = (uint64_t)hi - (uint64_t)lo;
    if (span == UINT64_MAX)
        return (int64_t)th_next(r);
    return (int64_t)((uint64_t)lo + th_below(r, span + 1));
}

int th_chance(th_rng *r, unsigned num, unsigned den)
{
    return th_below(r, den) < num;
}

double th_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void *th_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "%s: test-side malloc(%zu) failed\n", th_name, n);
        abort();
    }
    return p;
}

void *th_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "%s: test-side realloc(%zu) failed\n", th_name, n);
        abort();
    }
    return q;
}
