/*
 * bench.c - engine throughput figures, printed as ONE JSON line.
 *
 * N records (BENCH_N, default 10,000,000), every figure the best of 3 runs
 * (BENCH_RUNS overrides), wall clock unless BENCH_CLOCK=cpu.  Timestamps are dense (i * 10) so range queries of
 * 100 records span 1000 ticks.
 *   append_rps                tl_append per record, in order (busy policy
 *                             "flush": synchronous seal+flush included)
 *   append_ooo10_rps          same with 10% late records
 *   append_batch_rps          tl_append_batch in chunks of 8192
 *   scan_batch_rps            next_batch(4096) over all, after flush+compact
 *   scan_unflushed_ooo10_rps  next_batch(4096) over a memtable holding all N
 *                             records, 10% of them late (run + OOO merge)
 *   point_ns_median           snapshot + point iterator + next + release
 *   range100_ns_median        tl_log_iter over ~100 records + next_batch
 *   bytes_per_record          stats.bytes_used / N after flush+compact
 *   scan_deleted1000_*        full scan with 1000 deleted ranges (N/10000
 *                             records each), before and after compact
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timelog.h"

static tl_status tl_config_set_str_z(tl_config *c, const char *name, const char *v)
{
    return tl_config_set_str(c, name, v, strlen(v));
}

static size_t N;
static int RUNS = 3;
static int64_t *g_ts, *g_ooo;
static tl_handle *g_h;

/* BENCH_CLOCK=cpu times with the process CPU clock instead of the wall
 * clock: on a shared, loaded machine that measures the engine's own cost. */
static clockid_t g_clock = CLOCK_MONOTONIC;

static double now(void)
{
    struct timespec t;
    clock_gettime(g_clock, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void die(const char *what, tl_status st)
{
    fprintf(stderr, "bench: %s failed: %d %s\n", what, st, tl_last_error());
    exit(1);
}

static tl_log *open_log(int64_t memtable_bytes, const char *busy)
{
    tl_config c;
    tl_config_init(&c);
    if (memtable_bytes)
        c.memtable_max_bytes = memtable_bytes;
    tl_status st = tl_config_set_str_z(&c, "busy_policy", busy);
    if (st != TL_OK)
        die("config", st);
    tl_log *log;
    if ((st = tl_log_open(&c, &log)) != TL_OK)
        die("open", st);
    return log;
}

static void drain_all(tl_log *log)
{
    tl_handle buf[4096];
    size_t n;
    do {
        tl_drain_retired(log, buf, 4096, &n);
    } while (n);
}

static void close_log(tl_log *log)
{
    tl_status st = tl_log_close(log);
    if (st != TL_OK)
        die("close", st);
    drain_all(log);
    tl_log_destroy(log);
}

static double time_append(const int64_t *ts)
{
    tl_log *log = open_log(0, "flush");
    double t0 = now();
    for (size_t i = 0; i < N; i++) {
        tl_status st = tl_append(log, ts[i], g_h[i]);
        if (st != TL_OK)
            die("append", st);
    }
    double dt = now() - t0;
    close_log(log);
    return (double)N / dt;
}

static double time_batch(void)
{
    tl_log *log = open_log(0, "flush");
    double t0 = now();
    for (size_t i = 0; i < N; i += 8192) {
        size_t k = N - i < 8192 ? N - i : 8192, acc;
        tl_status st = tl_append_batch(log, g_ts + i, g_h + i, k, &acc);
        if (st != TL_OK)
            die("append_batch", st);
    }
    double dt = now() - t0;
    close_log(log);
    return (double)N / dt;
}

static int64_t *sbuf_ts;
static tl_handle *sbuf_h;

/* Full scan with next_batch(4096); returns records/s, *count = records. */
static double time_scan(tl_log *log, size_t *count)
{
    double t0 = now();
    tl_iter *it;
    tl_status st = tl_log_iter(log, TL_QUERY_ALL, 0, 0, &it);
    if (st != TL_OK)
        die("iter", st);
    size_t total = 0, n;
    int64_t check = 0;
    do {
        st = tl_iter_next_batch(it, sbuf_ts, sbuf_h, 4096, &n);
        total += n;
        if (n)
            check += sbuf_ts[n - 1];
    } while (st == TL_OK);
    tl_iter_destroy(it);
    double dt = now() - t0;
    if (check == 42)
        fprintf(stderr, " ");
    *count = total;
    return (double)total / dt;
}

/* The figures are only meaningful if the scans saw the right records. */
static void expect(size_t got, size_t want, const char *what)
{
    if (got != want) {
        fprintf(stderr, "bench: %s returned %zu records, expected %zu\n", what, got, want);
        exit(1);
    }
}

static tl_log *build_compacted(void)
{
    tl_log *log = open_log(0, "flush");
    size_t acc;
    for (size_t i = 0; i < N; i += 8192) {
        size_t k = N - i < 8192 ? N - i : 8192;
        tl_append_batch(log, g_ts + i, g_h + i, k, &acc);
    }
    tl_status st = tl_compact(log);
    if (st != TL_OK)
        die("compact", st);
    return log;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median over groups of 32 operations (per-op ns). */
static double median_ns(tl_log *log, int range)
{
    enum { GROUPS = 4000, PER = 32 };
    static double g[GROUPS];
    int64_t tsb[256];
    tl_handle hb[256];
    int64_t sink = 0;
    for (int gi = 0; gi < GROUPS; gi++) {
        int64_t keys[PER];
        for (int k = 0; k < PER; k++)
            keys[k] = (int64_t)(rnd() % (N - 200)) * 10;
        double t0 = now();
        for (int k = 0; k < PER; k++) {
            tl_iter *it;
            size_t n;
            if (range) {
                tl_log_iter(log, TL_QUERY_RANGE, keys[k], keys[k] + 1000, &it);
                tl_iter_next_batch(it, tsb, hb, 256, &n);
                sink += (int64_t)n;
            } else {
                tl_snapshot *s;
                int64_t t;
                tl_handle h;
                tl_snapshot_acquire(log, &s);
                tl_iter_open(s, TL_QUERY_POINT, keys[k], 0, &it);
                if (tl_iter_next(it, &t, &h) == TL_OK)
                    sink += t;
                tl_iter_destroy(it);
                tl_snapshot_release(s);
                continue;
            }
            tl_iter_destroy(it);
        }
        g[gi] = (now() - t0) * 1e9 / PER;
    }
    if (sink == 42)
        fprintf(stderr, " ");
    qsort(g, GROUPS, sizeof g[0], cmp_d);
    return g[GROUPS / 2];
}

#define BEST(var, expr)                     \
    do {                                    \
        for (int r_ = 0; r_ < RUNS; r_++) { \
            double v_ = (expr);             \
            if (r_ == 0 || v_ > var)        \
                var = v_;                   \
        }                                   \
    } while (0)
#define BEST_MIN(var, expr)                 \
    do {                                    \
        for (int r_ = 0; r_ < RUNS; r_++) { \
            double v_ = (expr);             \
            if (r_ == 0 || v_ < var)        \
                var = v_;                   \
        }                                   \
    } while (0)

int main(void)
{
    const char *e = getenv("BENCH_N");
    N = e ? (size_t)strtoull(e, NULL, 10) : 10000000u;
    if (N < 10000)
        N = 10000;
    if ((e = getenv("BENCH_RUNS")) && atoi(e) > 0)
        RUNS = atoi(e);
    if ((e = getenv("BENCH_CLOCK")) && strcmp(e, "cpu") == 0)
        g_clock = CLOCK_PROCESS_CPUTIME_ID;
    g_ts = malloc(N * sizeof *g_ts);
    g_ooo = malloc(N * sizeof *g_ooo);
    g_h = malloc(N * sizeof *g_h);
    sbuf_ts = malloc(4096 * sizeof *sbuf_ts);
    sbuf_h = malloc(4096 * sizeof *sbuf_h);
    if (!g_ts || !g_ooo || !g_h || !sbuf_ts || !sbuf_h)
        return 1;
    for (size_t i = 0; i < N; i++) {
        g_ts[i] = (int64_t)i * 10;
        g_h[i] = i + 1;
        /* 10% late: up to ~1000 records back */
        g_ooo[i] = (rnd() % 10 == 0 && i > 0) ? g_ts[i] - (int64_t)(rnd() % 10000) - 1 : g_ts[i];
    }

    double append = 0, ooo = 0, batch = 0, scan = 0, unfl = 0, point = 0, range = 0;
    double del_before = 0, del_after = 0, bpr = 0;
    BEST(append, time_append(g_ts));
    BEST(ooo, time_append(g_ooo));
    BEST(batch, time_batch());

    size_t cnt = 0;
    tl_log *log = build_compacted();
    tl_stats s;
    tl_log_stats(log, &s);
    bpr = (double)s.bytes_used / (double)N;
    BEST(scan, time_scan(log, &cnt));
    expect(cnt, N, "scan");
    BEST_MIN(point, median_ns(log, 0));
    BEST_MIN(range, median_ns(log, 1));
    /* 1000 deleted ranges spread evenly, 10% of the records in all (1000
     * records each at N = 10M). */
    size_t stride = N / 1000;
    for (size_t k = 0; k < 1000; k++) {
        int64_t t1 = (int64_t)(k * stride) * 10;
        tl_delete_range(log, t1, t1 + (int64_t)(stride / 10) * 10);
    }
    BEST(del_before, time_scan(log, &cnt));
    expect(cnt, N - 1000 * (stride / 10), "scan with deletes");
    tl_status st = tl_compact(log);
    if (st != TL_OK)
        die("compact", st);
    drain_all(log);
    BEST(del_after, time_scan(log, &cnt));
    expect(cnt, N - 1000 * (stride / 10), "scan after compact");
    close_log(log);

    tl_log *u = open_log((int64_t)N * 32, "silent");
    size_t acc;
    for (size_t i = 0; i < N; i += 8192) {
        size_t k = N - i < 8192 ? N - i : 8192;
        tl_append_batch(u, g_ooo + i, g_h + i, k, &acc);
    }
    BEST(unfl, time_scan(u, &cnt));
    expect(cnt, N, "unflushed scan");
    close_log(u);

    printf("{\"n\": %zu, \"best_of\": %d, \"clock\": \"%s\", \"append_rps\": %.0f, \"append_ooo10_rps\": %.0f, "
           "\"append_batch_rps\": %.0f, \"scan_batch_rps\": %.0f, \"scan_unflushed_ooo10_rps\": %.0f, "
           "\"point_ns_median\": %.1f, \"range100_ns_median\": %.1f, \"bytes_per_record\": %.3f, "
           "\"scan_deleted1000_before_compact_rps\": %.0f, \"scan_deleted1000_after_compact_rps\": %.0f}\n",
           N, RUNS, g_clock == CLOCK_MONOTONIC ? "wall" : "cpu", append, ooo, batch, scan, unfl, point, range, bpr, del_before, del_after);
    free(g_ts);
    free(g_ooo);
    free(g_h);
    free(sbuf_ts);
    free(sbuf_h);
    return 0;
}
