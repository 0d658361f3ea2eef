/*
 * harness.h - the tiny check harness of the engine tests.
 *
 * Checks count passes and failures (thread-safe), a failure prints file:line
 * and a detail.  Every test main() starts with th_begin() and ends with
 * `return th_end();`, which prints "name: N passed, M failed" and returns
 * nonzero if anything failed.  Randomness comes from th_rng seeded by
 * th_seed() (printed; overridable with TL_TEST_SEED) and sizes are scaled by
 * TL_TEST_SCALE through th_scaled().
 */
#ifndef TL_TEST_HARNESS_H
#define TL_TEST_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "timelog.h"

#include <string.h>

/* tl_config_set_str / tl_parse_span_kind with a NUL-terminated value. */
static inline tl_status th_set_str(tl_config *c, const char *name, const char *v)
{
    return tl_config_set_str(c, name, v, v ? strlen(v) : 0);
}
static inline tl_status th_span_kind(const char *v, int32_t *out)
{
    return tl_parse_span_kind(v, v ? strlen(v) : 0, out);
}

void th_begin(const char *name);
int th_end(void);

/* Abort at the first failed check (fuzz targets: libFuzzer saves the input). */
void th_set_abort_on_failure(int on);

/* Records one check; returns ok so callers can stop a walk at the first
 * mismatch.  The detail is printf-formatted and printed only on failure. */
int th_check(int ok, const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

uint64_t th_passed(void);
uint64_t th_failed(void);

/* "TL_EINVAL" etc. */
const char *th_status_name(tl_status st);

#define CHECK(cond) th_check(!!(cond), __FILE__, __LINE__, "%s", #cond)
#define CHECKF(cond, ...) th_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

/* Evaluate a call once, expect a status; on mismatch show the engine's text. */
#define CHECK_ST(expr, want)                                                  \
    do {                                                                      \
        tl_status th_st_ = (expr);                                            \
        th_check(th_st_ == (want), __FILE__, __LINE__,                        \
                 "%s: got %s, want %s (last_error \"%s\")", #expr,            \
                 th_status_name(th_st_), th_status_name(want),                \
                 th_st_ == (want) ? "" : tl_last_error());                    \
    } while (0)

#define CHECK_EQ_U(a, b)                                                      \
    do {                                                                      \
        unsigned long long th_a_ = (unsigned long long)(a);                   \
        unsigned long long th_b_ = (unsigned long long)(b);                   \
        th_check(th_a_ == th_b_, __FILE__, __LINE__, "%s == %s (%llu vs %llu)", \
                 #a, #b, th_a_, th_b_);                                       \
    } while (0)

#define CHECK_EQ_I(a, b)                                                      \
    do {                                                                      \
        long long th_a_ = (long long)(a);                                     \
        long long th_b_ = (long long)(b);                                     \
        th_check(th_a_ == th_b_, __FILE__, __LINE__, "%s == %s (%lld vs %lld)", \
                 #a, #b, th_a_, th_b_);                                       \
    } while (0)

/* Seed: TL_TEST_SEED if set (decimal or 0x hex), else dflt; printed. */
uint64_t th_seed(uint64_t dflt);
/* TL_TEST_SCALE (default 1). */
double th_scale(void);
/* n * scale, at least 1; never below min_at_full when scale >= 1. */
int64_t th_scaled(int64_t n, int64_t min_at_full);

/* Deterministic generator (splitmix64 seeding a xoshiro256**). */
typedef struct th_rng {
    uint64_t s[4];
} th_rng;

void th_rng_init(th_rng *r, uint64_t seed);
uint64_t th_next(th_rng *r);
/* Uniform in [0, n); n == 0 gives 0. */
uint64_t th_below(th_rng *r, uint64_t n);
/* Uniform in [lo, hi] (inclusive). */
int64_t th_between(th_rng *r, int64_t lo, int64_t hi);
/* True with probability num/den. */
int th_chance(th_rng *r, unsigned num, unsigned den);

/* Monotonic clock in seconds. */
double th_now(void);

/* malloc / realloc that abort the test on failure (test-side memory only). */
void *th_xmalloc(size_t n);
void *th_xrealloc(void *p, size_t n);

#endif
