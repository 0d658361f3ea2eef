/*
 * test_allocfail.c - allocation-failure injection over every API.
 *
 * One scripted scenario (open, appends, batch, deletes, seal and flush,
 * snapshot, iterators with next and next_batch, spans of both kinds, compact,
 * drain, handles, maintenance start/stop, close, destroy) is run again and
 * again with tl_test_alloc_fail_at(k) for k = 1, 2, ... until a run performs
 * fewer than k allocations.  In each run exactly one engine allocation
 * fails.  Rules checked:
 *   - a call returns TL_ENOMEM only if the injected failure happened, and at
 *     most one call per run does (the failure is one-shot);
 *   - a write that returned TL_ENOMEM was not applied (a batch: exactly its
 *     `accepted` prefix was), anything else was; reads are retried and must
 *     then give the right answer (a failed next / spans_next loses nothing);
 *   - after every step the log matches the reference model, exactly, and
 *     keeps working; stats.alloc_failures counts the failure;
 *   - every accepted handle comes back once after close, and
 *     tl_test_alloc_live_bytes() is 0 after destroy (no leak).
 * Checks that read the engine back run with injection suspended, so they
 * never absorb the failure meant for the scenario.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "probe.h"
#include "ref_model.h"
#include "timelog.h"
#include "timelog_testing.h"

/* ---- injection bookkeeping ---------------------------------------------- */

static int64_t g_k;        /* the failing allocation, counted from g_base */
static int64_t g_base;
static int g_armed, g_suspended, g_fired;
static int g_enomem;       /* TL_ENOMEM returns in this run */
static uint64_t g_total_enomem, g_total_survived;
static tl_log *g_log; /* the scenario's open log, for the alloc_failures check */

static void inj_arm(int64_t k)
{
    g_k = k;
    g_base = tl_test_alloc_count();
    g_armed = 1;
    g_suspended = 0;
    g_fired = 0;
    g_enomem = 0;
    tl_test_alloc_fail_at(k);
}

static void inj_update(void)
{
    if (g_armed && !g_suspended && !g_fired &&
        tl_test_alloc_count() - g_base >= g_k)
        g_fired = 1;
}

/* Verification reads must not take the failure meant for the scenario. */
static void inj_suspend(void)
{
    inj_update();
    if (!g_armed || g_fired || g_suspended)
        return;
    g_k -= tl_test_alloc_count() - g_base;
    tl_test_alloc_fail_at(0);
    g_suspended = 1;
}

static void inj_resume(void)
{
    if (!g_suspended)
        return;
    g_suspended = 0;
    g_base = tl_test_alloc_count();
    tl_test_alloc_fail_at(g_k);
}

static void inj_disarm(void)
{
    inj_update();
    tl_test_alloc_fail_at(0);
    g_armed = 0;
    g_suspended = 0;
}

/* Every scenario call goes through here. */
static tl_status seen(tl_status st, const char *what, const char *file, int line)
{
    int was_fired = g_fired;
    inj_update();
    if (g_fired && !was_fired && st != TL_ENOMEM)
        g_total_survived++;
    if (st == TL_ENOMEM) {
        g_enomem++;
        g_total_enomem++;
        th_check(g_fired, file, line, "%s: TL_ENOMEM with no injected failure", what);
        th_check(g_enomem == 1, file, line, "%s: TL_ENOMEM again after the one-shot "
                 "failure (%d in this run)", what, g_enomem);
        const char *msg = tl_last_error();
        th_check(msg && msg[0], file, line, "%s: TL_ENOMEM without a message", what);
        if (g_log) {
            tl_stats s;
            memset(&s, 0, sizeof s);
            inj_suspend();
            th_check(tl_log_stats(g_log, &s) == TL_OK && s.alloc_failures >= 1, file,
                     line, "%s: TL_ENOMEM but stats.alloc_failures is %llu", what,
                     (unsigned long long)s.alloc_failures);
            inj_resume();
        }
    }
    return st;
}
#define SEEN(expr) seen((expr), #expr, __FILE__, __LINE__)

/* A call that may fail once with TL_ENOMEM and must then succeed. */
#define RETRY(expr, want)                                                     \
    do {                                                                      \
        tl_status rt_ = SEEN(expr);                                           \
        if (rt_ == TL_ENOMEM)                                                 \
            rt_ = SEEN(expr);                                                 \
        CHECKF(rt_ == (want), "%s: %s, want %s (%s)", #expr,                  \
               th_status_name(rt_), th_status_name(want), tl_last_error());   \
    } while (0)

/* ---- scenario state ----------------------------------------------------- */

typedef struct scen {
    tl_log *log;
    ref_model m;
    ledger lg;
    tl_snapshot *snap;
    ref_model snap_m;
    int64_t k;
} scen;

/* The whole visible content equals the model (injection suspended). */
static void verify(scen *S, const char *where)
{
    inj_suspend();
    tl_snapshot *snap = NULL;
    CHECK_ST(tl_snapshot_acquire(S->log, &snap), TL_OK);
    if (snap) {
        if (!PROBE_QUERY(snap, &S->m, TL_QUERY_ALL, 0, 0, 33, NULL))
            fprintf(stderr, "  (k=%lld, after %s)\n", (long long)S->k, where);
        tl_snapshot_release(snap);
    }
    inj_resume();
}

static void append_one(scen *S, int64_t ts)
{
    uint64_t h = ledger_new_handle(&S->lg);
    tl_status st = SEEN(tl_append(S->log, ts, h));
    CHECKF(st == TL_OK || st == TL_ENOMEM, "k=%lld append: %s", (long long)S->k,
           th_status_name(st));
    if (st == TL_OK) {
        ledger_inserted(&S->lg, h, ts, ref_insert(&S->m, ts, h));
    } else if (st == TL_ENOMEM) {
        verify(S, "a failed append");
    }
}

static void batch(scen *S, size_t n, int64_t start, int64_t step)
{
    int64_t ts[128];
    tl_handle h[128];
    for (size_t i = 0; i < n; i++) {
        ts[i] = start + (int64_t)i * step;
        h[i] = ledger_new_handle(&S->lg);
    }
    size_t acc = (size_t)-1;
    tl_status st = SEEN(tl_append_batch(S->log, ts, h, n, &acc));
    CHECKF(st == TL_OK || st == TL_ENOMEM, "k=%lld batch: %s", (long long)S->k,
           th_status_name(st));
    if (st == TL_OK)
        CHECK_EQ_U(acc, n);
    else
        CHECKF(acc < n, "k=%lld batch TL_ENOMEM with accepted %zu of %zu",
               (long long)S->k, acc, n);
    if (acc > n)
        acc = 0;
    for (size_t i = 0; i < acc; i++)
        ledger_inserted(&S->lg, h[i], ts[i], ref_insert(&S->m, ts[i], h[i]));
    if (st == TL_ENOMEM)
        verify(S, "a failed batch");
}

static void del(scen *S, int64_t t1, int64_t t2)
{
    tl_status st = SEEN(tl_delete_range(S->log, t1, t2));
    CHECKF(st == TL_OK || st == TL_ENOMEM, "k=%lld delete: %s", (long long)S->k,
           th_status_name(st));
    if (st == TL_OK)
        ref_delete_range(&S->m, t1, t2, ledger_on_removed, &S->lg);
    else if (st == TL_ENOMEM)
        verify(S, "a failed delete");
}

static void del_before(scen *S, int64_t cutoff)
{
    tl_status st = SEEN(tl_delete_before(S->log, cutoff));
    CHECKF(st == TL_OK || st == TL_ENOMEM, "k=%lld delete_before: %s", (long long)S->k,
           th_status_name(st));
    if (st == TL_OK)
        ref_delete_range(&S->m, TL_TS_MIN, cutoff, ledger_on_removed, &S->lg);
    else if (st == TL_ENOMEM)
        verify(S, "a failed delete_before");
}

/* Read an iterator to the end, retrying a failed step once. */
static void read_iter_retrying(scen *S, tl_iter *it, int batch_cap, recbuf *out)
{
    for (int steps = 0; steps < 100000; steps++) {
        int64_t ts[16];
        tl_handle h[16];
        size_t n = 0;
        tl_status st;
        if (batch_cap == 0) {
            st = SEEN(tl_iter_next(it, &ts[0], &h[0]));
            if (st == TL_ENOMEM)
                st = SEEN(tl_iter_next(it, &ts[0], &h[0]));
            n = st == TL_OK;
        } else {
            st = SEEN(tl_iter_next_batch(it, ts, h, (size_t)batch_cap, &n));
            if (st == TL_ENOMEM)
                st = SEEN(tl_iter_next_batch(it, ts, h, (size_t)batch_cap, &n));
        }
        if (st != TL_OK && st != TL_EOF) {
            CHECKF(0, "k=%lld iterator step: %s", (long long)S->k, th_status_name(st));
            return;
        }
        for (size_t i = 0; i < n && i < 16; i++)
            rb_push(out, ts[i], h[i]);
        if (st == TL_EOF)
            return;
    }
}

static void spans_retrying(scen *S, tl_snapshot *snap, int32_t kind, recbuf *out)
{
    tl_spans *sp = NULL;
    RETRY(tl_spans_open(snap, TL_TS_MIN, TL_TS_MAX, kind, &sp), TL_OK);
    if (!sp)
        return;
    for (int steps = 0; steps < 100000; steps++) {
        tl_span span;
        tl_status st = SEEN(tl_spans_next(sp, &span));
        if (st == TL_ENOMEM)
            st = SEEN(tl_spans_next(sp, &span));
        if (st == TL_EOF)
            break;
        if (!CHECKF(st == TL_OK, "k=%lld spans_next: %s", (long long)S->k,
                    th_status_name(st)))
            break;
        for (size_t i = 0; i < span.len; i++)
            rb_push(out, span.ts[i], span.h[i]);
        tl_span_release(&span);
    }
    tl_spans_destroy(sp);
}

static void drain(scen *S, int closed)
{
    tl_handle buf[64];
    uint64_t live[1];
    size_t nl = 0;
    if (S->snap)
        live[nl++] = S->snap_m.seq;
    for (int i = 0; i < 100000; i++) {
        size_t n = 0;
        tl_status st = SEEN(tl_drain_retired(S->log, buf, 64, &n));
        if (st == TL_ENOMEM)
            continue;
        CHECKF(st == TL_OK, "k=%lld drain: %s", (long long)S->k, th_status_name(st));
        if (st != TL_OK || n == 0)
            return;
        for (size_t j = 0; j < n; j++)
            ledger_drained(&S->lg, buf[j], live, nl, closed, __FILE__, __LINE__);
    }
}

/* Returns 1 if the injected failure happened during this run. */
static int run_scenario(int64_t k, uint64_t *max_allocs)
{
    scen S;
    memset(&S, 0, sizeof S);
    S.k = k;
    ref_init(&S.m); /* snap_m stays zeroed until ref_copy fills it */
    ledger_init(&S.lg);
    CHECKF(tl_test_alloc_live_bytes() == 0, "k=%lld: %lld bytes live before the run",
           (long long)k, (long long)tl_test_alloc_live_bytes());
    int64_t start = tl_test_alloc_count();
    inj_arm(k);

    tl_config cfg;
    /* backpressure flushes synchronously: that path fails too */
    probe_tiny_config(&cfg, TL_BUSY_FLUSH, TL_MAINT_DISABLED);
    cfg.sealed_max_runs = 2;
    tl_status st = SEEN(tl_log_open(&cfg, &S.log));
    if (st == TL_ENOMEM) {
        CHECKF(S.log == NULL, "k=%lld: failed open returned a log", (long long)k);
        CHECKF(tl_test_alloc_live_bytes() == 0, "k=%lld: failed open leaked %lld bytes",
               (long long)k, (long long)tl_test_alloc_live_bytes());
        S.log = NULL;
        st = SEEN(tl_log_open(&cfg, &S.log));
    }
    CHECK_ST(st, TL_OK);
    if (!S.log) {
        inj_disarm();
        return 0;
    }
    g_log = S.log;

    /* Writes: in order, late, duplicates (crossing seals and busy flushes). */
    for (int i = 0; i < 120; i++)
        append_one(&S, i % 9 == 0 ? i / 2 : i);
    batch(&S, 100, 500, -3); /* descending: all late */
    batch(&S, 40, 1000, 1);
    verify(&S, "the writes");
    del(&S, 10, 30);
    del(&S, 40, 39); /* reversed: nothing */
    del(&S, 300, 400);
    del_before(&S, 5);
    verify(&S, "the deletes");

    /* A snapshot, then more writes, flush, and reads of the old view. */
    st = SEEN(tl_snapshot_acquire(S.log, &S.snap));
    if (st == TL_ENOMEM) {
        CHECK(S.snap == NULL);
        st = SEEN(tl_snapshot_acquire(S.log, &S.snap));
    }
    CHECK_ST(st, TL_OK);
    if (S.snap)
        ref_copy(&S.snap_m, &S.m);
    for (int i = 0; i < 30; i++)
        append_one(&S, 1040 + i);
    del(&S, 1000, 1010);
    RETRY(tl_flush(S.log), TL_OK);
    verify(&S, "flush");

    recbuf got;
    rb_init(&got);
    char why[200];
    if (S.snap) {
        tl_iter *it = NULL;
        RETRY(tl_iter_open(S.snap, TL_QUERY_ALL, 0, 0, &it), TL_OK);
        if (it) {
            read_iter_retrying(&S, it, 0, &got);
            tl_iter_destroy(it);
            CHECKF(ref_match(S.snap_m.v, S.snap_m.n, got.ts, got.h, got.n, why,
                             sizeof why),
                   "k=%lld snapshot iterator (next): %s", (long long)k, why);
        }
        rb_clear(&got);
        spans_retrying(&S, S.snap, TL_SPANS_ALL, &got);
        CHECKF(ref_match_set(S.snap_m.v, S.snap_m.n, got.ts, got.h, got.n, why,
                             sizeof why),
               "k=%lld snapshot spans(all): %s", (long long)k, why);
    }
    {
        tl_iter *it = NULL;
        RETRY(tl_log_iter(S.log, TL_QUERY_RANGE, 50, 1050, &it), TL_OK);
        rb_clear(&got);
        if (it) {
            read_iter_retrying(&S, it, 7, &got);
            tl_iter_destroy(it);
            size_t lo, hi;
            ref_query(&S.m, TL_QUERY_RANGE, 50, 1050, &lo, &hi);
            CHECKF(ref_match(S.m.v + lo, hi - lo, got.ts, got.h, got.n, why, sizeof why),
                   "k=%lld range iterator (next_batch): %s", (long long)k, why);
        }
        it = NULL;
        RETRY(tl_log_iter(S.log, TL_QUERY_POINT, 60, 0, &it), TL_OK);
        rb_clear(&got);
        if (it) {
            read_iter_retrying(&S, it, 0, &got);
            tl_iter_destroy(it);
            size_t lo, hi;
            ref_query(&S.m, TL_QUERY_POINT, 60, 0, &lo, &hi);
            CHECKF(ref_match(S.m.v + lo, hi - lo, got.ts, got.h, got.n, why, sizeof why),
                   "k=%lld point iterator: %s", (long long)k, why);
        }
    }
    {
        tl_snapshot *now = NULL;
        RETRY(tl_snapshot_acquire(S.log, &now), TL_OK);
        if (now) {
            /* After the flush every record is paged: SEGMENT covers all. */
            rb_clear(&got);
            spans_retrying(&S, now, TL_SPANS_SEGMENT, &got);
            CHECKF(ref_match_set(S.m.v, S.m.n, got.ts, got.h, got.n, why, sizeof why),
                   "k=%lld spans(segment) after flush: %s", (long long)k, why);
            tl_snapshot_release(now);
        }
    }

    /* Compact while the old snapshot lives; drain must respect it. */
    for (int i = 0; i < 20; i++)
        append_one(&S, 2000 - i * 7);
    RETRY(tl_compact(S.log), TL_OK);
    verify(&S, "compact");
    drain(&S, 0);
    tl_snapshot_release(S.snap);
    S.snap = NULL;

    /* Every layer at once (L1, L0, memruns, memtable) for the merging reads,
     * then a compaction that rewrites the L1 segments they overlap. */
    for (int i = 0; i < 70; i++)
        append_one(&S, 40 + (i * 13) % 900);
    RETRY(tl_flush(S.log), TL_OK);
    for (int i = 0; i < 150; i++)
        append_one(&S, 45 + (i * 7) % 950);
    del(&S, 100, 120);
    {
        tl_iter *it = NULL;
        RETRY(tl_log_iter(S.log, TL_QUERY_SINCE, 30, 0, &it), TL_OK);
        rb_clear(&got);
        if (it) {
            read_iter_retrying(&S, it, 5, &got);
            tl_iter_destroy(it);
            size_t lo, hi;
            ref_query(&S.m, TL_QUERY_SINCE, 30, 0, &lo, &hi);
            CHECKF(ref_match(S.m.v + lo, hi - lo, got.ts, got.h, got.n, why, sizeof why),
                   "k=%lld merged since() iterator: %s", (long long)k, why);
        }
        tl_snapshot *now = NULL;
        RETRY(tl_snapshot_acquire(S.log, &now), TL_OK);
        if (now) {
            rb_clear(&got);
            spans_retrying(&S, now, TL_SPANS_ALL, &got);
            CHECKF(ref_match_set(S.m.v, S.m.n, got.ts, got.h, got.n, why, sizeof why),
                   "k=%lld spans(all) over every layer: %s", (long long)k, why);
            tl_snapshot_release(now);
        }
    }
    RETRY(tl_compact(S.log), TL_OK);
    verify(&S, "the second compact");
    drain(&S, 0);
    inj_suspend();
    CHECKF(ledger_deleted_outstanding(&S.lg) == 0,
           "k=%lld: %zu deleted handles not drained after compact, no snapshot alive",
           (long long)k, ledger_deleted_outstanding(&S.lg));
    inj_resume();

    /* Maintenance start/stop and handles. */
    RETRY(tl_maint_start(S.log), TL_OK);
    append_one(&S, 3000);
    RETRY(tl_maint_stop(S.log), TL_OK);
    {
        size_t total = 0;
        RETRY(tl_log_handles(S.log, NULL, 0, &total), TL_OK);
        tl_handle *hb = th_xmalloc((total + 1) * sizeof *hb);
        size_t n2 = 0;
        RETRY(tl_log_handles(S.log, hb, total + 1, &n2), TL_OK);
        CHECKF(n2 == ledger_outstanding(&S.lg), "k=%lld: tl_log_handles %zu, outstanding %zu",
               (long long)k, n2, ledger_outstanding(&S.lg));
        free(hb);
    }
    verify(&S, "maintenance");

    /* Close (retried), drain everything, destroy, nothing left. */
    RETRY(tl_log_close(S.log), TL_OK);
    drain(&S, 1);
    CHECKF(ledger_outstanding(&S.lg) == 0, "k=%lld: %zu handles never came back",
           (long long)k, ledger_outstanding(&S.lg));
    inj_disarm();
    g_log = NULL;
    CHECK_ST(tl_log_destroy(S.log), TL_OK);
    CHECKF(tl_test_alloc_live_bytes() == 0, "k=%lld: %lld bytes leaked", (long long)k,
           (long long)tl_test_alloc_live_bytes());
    uint64_t allocs = (uint64_t)(tl_test_alloc_count() - start);
    if (allocs > *max_allocs)
        *max_allocs = allocs;
    rb_free(&got);
    ref_free(&S.m);
    ref_free(&S.snap_m);
    ledger_free(&S.lg);
    return g_fired;
}

int main(void)
{
    th_begin("test_allocfail");
    uint64_t max_allocs = 0;
    int64_t k = 1;
    double t0 = th_now();
    /* Until a run completes without reaching its k-th allocation. */
    for (; k < 1000000 && th_failed() < 100; k++)
        if (!run_scenario(k, &max_allocs))
            break;
    printf("test_allocfail: %lld runs (one per allocation site visit), up to %llu "
           "allocations per run, %llu TL_ENOMEM returns, %llu failures survived "
           "silently, %.1fs\n",
           (long long)k, (unsigned long long)max_allocs,
           (unsigned long long)g_total_enomem, (unsigned long long)g_total_survived,
           th_now() - t0);
    CHECKF(k > 1, "the scenario made no engine allocation at all");
    CHECK(g_total_enomem > 0);
    return th_end();
}
