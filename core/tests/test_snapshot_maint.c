/*
 * test_snapshot_maint.c - snapshot isolation while the background
 * maintenance thread seals, flushes and compacts underneath.
 *
 * One thread writes (appends, late records, duplicates, deletes) into a log
 * with the smallest memtable/pages and maintenance="background"; it keeps up
 * to MAX_HELD snapshots (each with a frozen copy of the model, some with a
 * half-read iterator and a held span) and re-checks every one of them, again
 * and again, while the worker reshapes the layers.  An old snapshot must keep
 * yielding exactly its view; the test also proves that flushes and
 * compactions really happened while snapshots were held.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "probe.h"
#include "ref_model.h"
#include "timelog.h"

#define MAX_HELD 6

typedef struct held {
    tl_snapshot *s;
    ref_model m;
    uint64_t flushes0, compactions0; /* stats when acquired */
    tl_iter *it;                     /* half-read iterator over ALL, or NULL */
    recbuf it_got;
    tl_span span; /* a held span (len 0 if none) */
    int64_t *span_ts;
    tl_handle *span_h;
} held;

static tl_log *g_log;
static ref_model g_m;
static ledger g_lg;
static th_rng g_r;
static held g_held[MAX_HELD];
static int g_nheld;
static int64_t g_cur;
static uint64_t g_maint_seen; /* snapshots that outlived a flush and a compaction */

static tl_stats stats(void)
{
    tl_stats s;
    memset(&s, 0, sizeof s);
    CHECK_ST(tl_log_stats(g_log, &s), TL_OK);
    return s;
}

static void append_one(int64_t ts)
{
    uint64_t h = ledger_new_handle(&g_lg);
    tl_status st = tl_append(g_log, ts, h);
    CHECK_ST(st, TL_OK);
    if (st == TL_OK)
        ledger_inserted(&g_lg, h, ts, ref_insert(&g_m, ts, h));
}

static void write_burst(void)
{
    int n = 100 + (int)th_below(&g_r, 1500);
    for (int i = 0; i < n; i++) {
        unsigned k = (unsigned)th_below(&g_r, 100);
        if (k < 75)
            append_one(g_cur += (int64_t)th_below(&g_r, 3));
        else if (k < 92)
            append_one(g_cur - 1 - (int64_t)th_below(&g_r, 2000));
        else if (k < 97 && g_m.n)
            append_one(g_m.v[th_below(&g_r, g_m.n)].ts);
        else {
            int64_t t1 = g_cur - (int64_t)th_below(&g_r, 3000);
            int64_t t2 = t1 + (int64_t)th_below(&g_r, 100);
            CHECK_ST(tl_delete_range(g_log, t1, t2), TL_OK);
            ref_delete_range(&g_m, t1, t2, ledger_on_removed, &g_lg);
        }
    }
    if (g_m.n > 4000) {
        int64_t cutoff = g_m.v[g_m.n / 2].ts;
        CHECK_ST(tl_delete_before(g_log, cutoff), TL_OK);
        ref_delete_range(&g_m, TL_TS_MIN, cutoff, ledger_on_removed, &g_lg);
    }
}

static size_t live_seqs(uint64_t *out)
{
    for (int i = 0; i < g_nheld; i++)
        out[i] = g_held[i].m.seq;
    return (size_t)g_nheld;
}

static int g_closed;

/* Checked against the ledger and the snapshots held right now. */
static void drained_one(void *ctx, tl_handle h)
{
    (void)ctx;
    uint64_t live[MAX_HELD];
    size_t nl = live_seqs(live);
    ledger_drained(&g_lg, h, live, nl, g_closed, __FILE__, __LINE__);
}

static void drain(void)
{
    probe_drain_all(g_log, drained_one, NULL, __FILE__, __LINE__);
}

static void take_snapshot(void)
{
    held *hd = &g_held[g_nheld];
    memset(hd, 0, sizeof *hd);
    tl_stats s = stats();
    CHECK_ST(tl_snapshot_acquire(g_log, &hd->s), TL_OK);
    if (!hd->s)
        return;
    ref_copy(&hd->m, &g_m);
    hd->flushes0 = s.flushes;
    hd->compactions0 = s.compactions;
    rb_init(&hd->it_got);
    if (th_chance(&g_r, 1, 2)) {
        CHECK_ST(tl_iter_open(hd->s, TL_QUERY_ALL, 0, 0, &hd->it), TL_OK);
        if (hd->it) {
            int64_t ts[50];
            tl_handle h[50];
            size_t n = 0;
            tl_status st = tl_iter_next_batch(hd->it, ts, h, 50, &n);
            CHECK(st == TL_OK || st == TL_EOF);
            for (size_t i = 0; i < n && i < 50; i++)
                rb_push(&hd->it_got, ts[i], h[i]);
        }
    }
    if (th_chance(&g_r, 1, 2)) {
        tl_spans *sp = NULL;
        CHECK_ST(tl_spans_open(hd->s, TL_TS_MIN, TL_TS_MAX, TL_SPANS_ALL, &sp), TL_OK);
        if (sp) {
            tl_status st = tl_spans_next(sp, &hd->span);
            CHECK(st == TL_OK || st == TL_EOF);
            if (st == TL_OK) {
                hd->span_ts = th_xmalloc(hd->span.len * sizeof *hd->span_ts);
                hd->span_h = th_xmalloc(hd->span.len * sizeof *hd->span_h);
                memcpy(hd->span_ts, hd->span.ts, hd->span.len * sizeof *hd->span_ts);
                memcpy(hd->span_h, hd->span.h, hd->span.len * sizeof *hd->span_h);
            } else {
                memset(&hd->span, 0, sizeof hd->span);
            }
            tl_spans_destroy(sp);
        }
    }
    g_nheld++;
}

static void verify(held *hd, int full)
{
    int32_t kind;
    int64_t t1, t2;
    probe_random_query(&g_r, &hd->m, g_cur - 5000, g_cur, &kind, &t1, &t2);
    PROBE_QUERY(hd->s, &hd->m, kind, t1, t2, PROBE_BATCH_RANDOM, &g_r);
    if (full) {
        PROBE_QUERY(hd->s, &hd->m, TL_QUERY_ALL, 0, 0, 256, &g_r);
        probe_spans_all(hd->s, &hd->m, TL_TS_MIN, TL_TS_MAX, __FILE__, __LINE__);
        probe_spans_segment(hd->s, &hd->m, TL_TS_MIN, TL_TS_MAX, 0, __FILE__, __LINE__);
    } else {
        probe_random_query(&g_r, &hd->m, g_cur - 5000, g_cur, &kind, &t1, &t2);
        probe_spans_all(hd->s, &hd->m, t1, t2, __FILE__, __LINE__);
    }
    if (hd->span.len) {
        CHECK(memcmp(hd->span_ts, hd->span.ts, hd->span.len * sizeof *hd->span_ts) == 0);
        CHECK(memcmp(hd->span_h, hd->span.h, hd->span.len * sizeof *hd->span_h) == 0);
    }
}

static void release(int i)
{
    held *hd = &g_held[i];
    verify(hd, 1);
    tl_stats s = stats();
    if (s.flushes > hd->flushes0 && s.compactions > hd->compactions0)
        g_maint_seen++;
    if (hd->it) {
        /* The half-read iterator finishes with exactly the frozen view. */
        CHECK_ST(probe_read_iter(hd->it, &hd->it_got, PROBE_BATCH_RANDOM, &g_r,
                                 __FILE__, __LINE__),
                 TL_EOF);
        char why[200];
        CHECKF(ref_match(hd->m.v, hd->m.n, hd->it_got.ts, hd->it_got.h,
                         hd->it_got.n, why, sizeof why),
               "half-read iterator finished after maintenance: %s", why);
        tl_iter_destroy(hd->it);
    }
    rb_free(&hd->it_got);
    tl_span_release(&hd->span);
    free(hd->span_ts);
    free(hd->span_h);
    tl_snapshot_release(hd->s);
    ref_free(&hd->m);
    g_held[i] = g_held[--g_nheld];
}

static void pause_briefly(void)
{
    struct timespec ts = {0, 200000}; /* 0.2 ms: let the worker in */
    nanosleep(&ts, NULL);
}

int main(void)
{
    th_begin("test_snapshot_maint");
    th_rng_init(&g_r, th_seed(7771));
    ref_init(&g_m);
    ledger_init(&g_lg);
    g_cur = 1000000;

    tl_config cfg;
    probe_tiny_config(&cfg, TL_BUSY_SILENT, TL_MAINT_BACKGROUND);
    cfg.sealed_max_runs = 2;
    CHECK_ST(tl_log_open(&cfg, &g_log), TL_OK);
    if (!g_log)
        return th_end();

    const int64_t rounds = th_scaled(600, 600);
    double t0 = th_now();
    for (int64_t round = 0; round < rounds && th_failed() < 100; round++) {
        write_burst();
        if (g_nheld < MAX_HELD && th_chance(&g_r, 1, 2))
            take_snapshot();
        for (int i = 0; i < g_nheld; i++)
            verify(&g_held[i], th_chance(&g_r, 1, 8));
        if (g_nheld && th_chance(&g_r, 1, 4))
            release((int)th_below(&g_r, (uint64_t)g_nheld));
        if (th_chance(&g_r, 1, 3))
            drain();
        pause_briefly();
    }

    /* Give the worker time to catch up while snapshots are still held, then
     * check them once more. */
    double deadline = th_now() + 10.0;
    tl_stats s = stats();
    uint64_t f0 = s.flushes, c0 = s.compactions;
    while (th_now() < deadline) {
        write_burst();
        s = stats();
        if (s.flushes > f0 && s.compactions > c0)
            break;
        pause_briefly();
    }
    while (g_nheld)
        release(g_nheld - 1);
    s = stats();
    printf("test_snapshot_maint: %lld rounds in %.1fs; flushes %llu, compactions %llu, "
           "snapshots that outlived both %llu\n",
           (long long)rounds, th_now() - t0, (unsigned long long)s.flushes,
           (unsigned long long)s.compactions, (unsigned long long)g_maint_seen);
    CHECKF(s.flushes > 0, "the background worker never flushed");
    CHECKF(s.compactions > 0, "the background worker never compacted");
    CHECKF(g_maint_seen > 0, "no snapshot was held across a flush and a compaction");

    /* The live view is right too, then close gives every handle back once. */
    tl_snapshot *snap = NULL;
    CHECK_ST(tl_snapshot_acquire(g_log, &snap), TL_OK);
    if (snap) {
        PROBE_QUERY(snap, &g_m, TL_QUERY_ALL, 0, 0, 512, &g_r);
        tl_snapshot_release(snap);
    }
    drain();
    CHECK_ST(tl_log_close(g_log), TL_OK);
    g_closed = 1;
    drain();
    CHECK_EQ_U(ledger_outstanding(&g_lg), 0);
    CHECK_ST(tl_log_destroy(g_log), TL_OK);
    ref_free(&g_m);
    ledger_free(&g_lg);
    return th_end();
}
