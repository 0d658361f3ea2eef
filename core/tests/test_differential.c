/*
 * test_differential.c - randomized differential test of the engine against
 * the reference model (support/ref_model.h).
 *
 * At TL_TEST_SCALE=1 it runs >= 1,000,000 operations, split into runs; each
 * run opens a log with the smallest memtable and pages (sizes of 1, rounded
 * up by the engine) and a random sealed_max_runs in 1..4, busy policy,
 * drain_batch_limit and maintenance mode, so records cross memtable ->
 * memrun -> L0 -> L1 all the time.  Operations: appends (in order, late,
 * duplicates, INT64_MIN/MAX), batches, deletes (small, reversed, empty,
 * huge), delete_before, flush, compact, maintenance start/stop, snapshots,
 * iterators of every kind read at once or much later, spans of both kinds
 * (also held across later writes), drains and handle accounting.  Every
 * answer is compared with the model; at the end of a run every handle ever
 * accepted must come back from tl_drain_retired exactly once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "probe.h"
#include "ref_model.h"
#include "timelog.h"

#define MAX_SNAPS 4
#define MAX_ITERS 3
#define MAX_SPANS 2
#define LIVE_CAP 3000 /* model size that triggers a retention trim */
#define MAX_EXTREMES 8

typedef struct held_snap {
    tl_snapshot *s;
    ref_model m; /* the model frozen at acquire; m.seq is the snapshot seq */
} held_snap;

typedef struct held_iter {
    tl_iter *it;
    ref_rec *exp;
    size_t n_exp;
    recbuf got;
    uint64_t seq;
    int32_t kind;
    int64_t t1, t2;
} held_iter;

typedef struct held_span {
    tl_span sp;
    int64_t *ts;
    tl_handle *h;
    uint64_t seq;
} held_span;

/* Coverage across the whole test: every layer and transition must be seen. */
typedef struct coverage {
    uint64_t ops, runs, ebusy, memruns_seen, l0_seen, l1_seen, retired_seen;
    uint64_t flushes, compactions, drained, held_iter_reads, span_checks;
    uint64_t max_model;
} coverage;

typedef struct run {
    tl_log *log;
    ref_model m;
    ledger lg;
    th_rng *r;
    /* Choices whose outcome depends on the engine's page layout (which the
     * background worker's timing changes) draw from rr, so that a seed
     * always replays the same operations and arguments from r. */
    th_rng rr;
    held_snap snaps[MAX_SNAPS];
    int nsnaps;
    held_iter iters[MAX_ITERS];
    int niters;
    held_span spans[MAX_SPANS];
    int nspans;
    int64_t cur;
    int maint_on;
    int32_t busy;
    int64_t drain_limit;
    /* The pacing rule of tl_drain_retired: a safe point (calls up to the
     * first short one) hands out at most limit + records written since the
     * previous safe point.  owed: written since then; allow/given: the
     * current safe point's bound and total. */
    uint64_t owed, allow, given;
    int in_round;
    int extremes;
    int64_t last_del_t2; /* deletes next to the previous one test coalescing */
    coverage *cov;
} run;

static size_t live_seqs(const run *R, uint64_t *out)
{
    size_t n = 0;
    for (int i = 0; i < R->nsnaps; i++)
        out[n++] = R->snaps[i].m.seq;
    for (int i = 0; i < R->niters; i++)
        out[n++] = R->iters[i].seq;
    for (int i = 0; i < R->nspans; i++)
        out[n++] = R->spans[i].seq;
    return n;
}

static int held_count(const run *R) { return R->nsnaps + R->niters + R->nspans; }

static void check_write_status(run *R, tl_status st, const char *what)
{
    if (st == TL_EBUSY)
        R->cov->ebusy++;
    CHECKF(st == TL_OK || (st == TL_EBUSY && R->busy == TL_BUSY_RAISE),
           "%s returned %s under busy policy %d (%s)", what, th_status_name(st),
           R->busy, tl_last_error());
}

static void do_append(run *R, int64_t ts)
{
    uint64_t h = ledger_new_handle(&R->lg);
    tl_status st = tl_append(R->log, ts, h);
    check_write_status(R, st, "tl_append");
    if (st == TL_OK || st == TL_EBUSY) {
        ledger_inserted(&R->lg, h, ts, ref_insert(&R->m, ts, h));
        R->owed++;
    }
}

static int64_t pick_ts(run *R)
{
    th_rng *r = R->r;
    unsigned k = (unsigned)th_below(r, 100);
    if (k < 70) {
        R->cur += (int64_t)th_below(r, 3);
        return R->cur;
    }
    if (k < 90)
        return R->cur - 1 - (int64_t)th_below(r, 3000);
    if (R->m.n) {
        /* A duplicate of an existing record, but not of the extremes: an
         * INT64_MAX record cannot be deleted ([t1, t2) is half-open), so
         * copying it would let those pile up and crowd out the rest. */
        int64_t t = R->m.v[th_below(r, R->m.n)].ts;
        if (t > TL_TS_MIN + 1 && t < TL_TS_MAX - 1)
            return t;
    }
    return R->cur;
}

static void op_append(run *R)
{
    unsigned k = (unsigned)th_below(R->r, 1000);
    if (k < 3 && R->extremes < MAX_EXTREMES) {
        static const int64_t ext[] = {TL_TS_MIN, TL_TS_MIN + 1, TL_TS_MAX,
                                      TL_TS_MAX - 1};
        R->extremes++;
        do_append(R, ext[th_below(R->r, 4)]);
        return;
    }
    do_append(R, pick_ts(R));
}

static void op_batch(run *R)
{
    size_t n = th_chance(R->r, 1, 10) ? (size_t)th_below(R->r, 400)
                                       : (size_t)th_below(R->r, 40);
    int64_t *ts = th_xmalloc((n ? n : 1) * sizeof *ts);
    tl_handle *h = th_xmalloc((n ? n : 1) * sizeof *h);
    int sorted_run = th_chance(R->r, 1, 2);
    for (size_t i = 0; i < n; i++) {
        ts[i] = sorted_run ? (R->cur += (int64_t)th_below(R->r, 2)) : pick_ts(R);
        h[i] = ledger_new_handle(&R->lg);
    }
    size_t acc = (size_t)-1;
    tl_status st = tl_append_batch(R->log, ts, h, n, &acc);
    check_write_status(R, st, "tl_append_batch");
    CHECKF(acc == n, "batch of %zu accepted %zu", n, acc);
    if (st == TL_OK || st == TL_EBUSY) {
        for (size_t i = 0; i < n && i < acc; i++)
            ledger_inserted(&R->lg, h[i], ts[i], ref_insert(&R->m, ts[i], h[i]));
        R->owed += acc;
    }
    free(ts);
    free(h);
}

static void do_delete(run *R, int64_t t1, int64_t t2)
{
    if (t1 < t2 && t2 != TL_TS_MAX)
        R->last_del_t2 = t2;
    tl_status st = tl_delete_range(R->log, t1, t2);
    check_write_status(R, st, "tl_delete_range");
    if (st == TL_OK || st == TL_EBUSY)
        ref_delete_range(&R->m, t1, t2, ledger_on_removed, &R->lg);
}

static void op_delete(run *R)
{
    th_rng *r = R->r;
    unsigned k = (unsigned)th_below(r, 100);
    int64_t t1 = R->cur - (int64_t)th_below(r, 6000) + 10;
    int64_t t2 = t1 + (int64_t)th_below(r, 300);
    if (k >= 80 && R->last_del_t2) {
        /* touching, overlapping by one, or one timestamp apart */
        t1 = R->last_del_t2 + th_between(r, -1, 1);
        t2 = t1 + 1 + (int64_t)th_below(r, 20);
    } else if (k < 8) {
        int64_t t = t1;
        t1 = t2 + 1; /* reversed */
        t2 = t;
    } else if (k < 12) {
        t2 = t1; /* empty */
    } else if (k < 14) {
        t1 = TL_TS_MIN; /* huge, below */
    } else if (k == 14) {
        t2 = TL_TS_MAX; /* huge, above */
    } else if (k == 15 && th_chance(r, 1, 4)) {
        t1 = TL_TS_MIN; /* everything except INT64_MAX */
        t2 = TL_TS_MAX;
    }
    do_delete(R, t1, t2);
}

static void op_delete_before(run *R)
{
    int64_t cutoff = R->m.n > LIVE_CAP ? R->m.v[R->m.n / 2].ts
                                       : R->cur - 6000 + (int64_t)th_below(R->r, 2000);
    tl_status st = tl_delete_before(R->log, cutoff);
    check_write_status(R, st, "tl_delete_before");
    if (st == TL_OK || st == TL_EBUSY)
        ref_delete_range(&R->m, TL_TS_MIN, cutoff, ledger_on_removed, &R->lg);
}

static tl_stats stats_now(run *R)
{
    tl_stats s;
    memset(&s, 0, sizeof s);
    CHECK_ST(tl_log_stats(R->log, &s), TL_OK);
    if (s.memruns)
        R->cov->memruns_seen++;
    if (s.l0_records)
        R->cov->l0_seen++;
    if (s.l1_records)
        R->cov->l1_seen++;
    if (s.retired_len)
        R->cov->retired_seen++;
    return s;
}

static void random_range(run *R, int64_t *t1, int64_t *t2)
{
    int32_t kind;
    probe_random_query(R->r, &R->m, R->cur - 6000, R->cur, &kind, t1, t2);
}

/* Drain once with a random cap; every handle is checked against the ledger. */
static size_t drain_once(run *R, size_t cap, int closed)
{
    tl_handle buf[128];
    if (cap > 128)
        cap = 128;
    size_t n = (size_t)-1;
    CHECK_ST(tl_drain_retired(R->log, buf, cap, &n), TL_OK);
    if (n == (size_t)-1)
        return 0;
    CHECKF(n <= cap, "drain wrote %zu > cap %zu", n, cap);
    if (!closed && R->drain_limit > 0) {
        /* A sound bound: the engine may start a safe point (and take what
         * is owed) on a call that hands out nothing, the model only on one
         * that hands out something. */
        if (!R->in_round) {
            R->in_round = 1;
            R->allow = (uint64_t)R->drain_limit + R->owed;
            R->given = 0;
            if (n > 0)
                R->owed = 0;
        }
        R->given += n;
        CHECKF(R->given <= R->allow, "safe point gave %llu > limit + written %llu",
               (unsigned long long)R->given, (unsigned long long)R->allow);
    }
    if (n < cap)
        R->in_round = 0;
    uint64_t live[MAX_SNAPS + MAX_ITERS + MAX_SPANS];
    size_t nl = live_seqs(R, live);
    for (size_t i = 0; i < n && i < cap; i++)
        ledger_drained(&R->lg, buf[i], live, nl, closed, __FILE__, __LINE__);
    R->cov->drained += n;
    return n;
}

static void drain_all(run *R, int closed)
{
    for (int guard = 0; guard < 10000000; guard++)
        if (drain_once(R, 128, closed) == 0)
            break;
}

static void op_flush(run *R)
{
    CHECK_ST(tl_flush(R->log), TL_OK);
    R->cov->flushes++;
    tl_stats s = stats_now(R);
    CHECKF(s.memtable_records == 0 && s.memrun_records == 0,
           "after flush: memtable %llu memrun %llu", (unsigned long long)s.memtable_records,
           (unsigned long long)s.memrun_records);
    /* Everything is in pages now: SEGMENT spans cover the whole range. */
    tl_snapshot *snap = NULL;
    CHECK_ST(tl_snapshot_acquire(R->log, &snap), TL_OK);
    if (!snap)
        return;
    int64_t t1, t2;
    random_range(R, &t1, &t2);
    probe_spans_segment(snap, &R->m, t1, t2, 1, __FILE__, __LINE__);
    if (th_chance(R->r, 1, 10))
        probe_spans_segment(snap, &R->m, TL_TS_MIN, TL_TS_MAX, 1, __FILE__, __LINE__);
    R->cov->span_checks++;
    tl_snapshot_release(snap);
}

static void op_compact(run *R)
{
    CHECK_ST(tl_compact(R->log), TL_OK);
    R->cov->compactions++;
    tl_stats s = stats_now(R);
    CHECKF(s.memtable_records == 0 && s.memrun_records == 0 && s.l0_records == 0,
           "after compact: memtable %llu memrun %llu l0 %llu",
           (unsigned long long)s.memtable_records,
           (unsigned long long)s.memrun_records, (unsigned long long)s.l0_records);
    CHECKF(s.l1_records == R->m.n, "after compact: l1_records %llu, visible %zu",
           (unsigned long long)s.l1_records, R->m.n);
    if (held_count(R) == 0) {
        /* Nothing can see the dropped records: all of them are releasable. */
        drain_all(R, 0);
        size_t left = ledger_deleted_outstanding(&R->lg);
        CHECKF(left == 0, "%zu deleted handles not drained after compact with no "
                          "snapshot alive", left);
    }
}

static void op_maint(run *R)
{
    if (R->maint_on)
        CHECK_ST(tl_maint_stop(R->log), TL_OK);
    else
        CHECK_ST(tl_maint_start(R->log), TL_OK);
    R->maint_on = !R->maint_on;
}

static int pick_mode(th_rng *r)
{
    static const int modes[] = {PROBE_NEXT, PROBE_BATCH_RANDOM, PROBE_BATCH_RANDOM,
                                1, 7, 64};
    return modes[th_below(r, 6)];
}

static void op_query_now(run *R)
{
    int32_t kind;
    int64_t t1, t2;
    probe_random_query(R->r, &R->m, R->cur - 6000, R->cur, &kind, &t1, &t2);
    if (th_chance(R->r, 1, 3)) {
        /* Through the tl_log_iter convenience. */
        tl_iter *it = NULL;
        CHECK_ST(tl_log_iter(R->log, kind, t1, t2, &it), TL_OK);
        if (!it)
            return;
        recbuf got;
        rb_init(&got);
        CHECK_ST(probe_read_iter(it, &got, pick_mode(R->r), R->r, __FILE__, __LINE__),
                 TL_EOF);
        tl_iter_destroy(it);
        size_t lo, hi;
        char why[200];
        ref_query(&R->m, kind, t1, t2, &lo, &hi);
        CHECKF(ref_match(R->m.v + lo, hi - lo, got.ts, got.h, got.n, why, sizeof why),
               "tl_log_iter(kind %d, %lld, %lld): %s", kind, (long long)t1,
               (long long)t2, why);
        rb_free(&got);
        return;
    }
    tl_snapshot *snap = NULL;
    CHECK_ST(tl_snapshot_acquire(R->log, &snap), TL_OK);
    if (!snap)
        return;
    PROBE_QUERY(snap, &R->m, kind, t1, t2, pick_mode(R->r), R->r);
    tl_snapshot_release(snap);
}

static void check_snap(run *R, held_snap *hs)
{
    int32_t kind;
    int64_t t1, t2;
    probe_random_query(R->r, &hs->m, R->cur - 6000, R->cur, &kind, &t1, &t2);
    PROBE_QUERY(hs->s, &hs->m, kind, t1, t2, pick_mode(R->r), R->r);
    if (th_chance(R->r, 1, 3)) {
        random_range(R, &t1, &t2);
        probe_spans_all(hs->s, &hs->m, t1, t2, __FILE__, __LINE__);
        probe_spans_segment(hs->s, &hs->m, t1, t2, 0, __FILE__, __LINE__);
        R->cov->span_checks++;
    }
}

static void release_snap(run *R, int i)
{
    tl_snapshot_release(R->snaps[i].s);
    ref_free(&R->snaps[i].m);
    R->snaps[i] = R->snaps[--R->nsnaps];
}

static void op_snapshot(run *R)
{
    unsigned k = (unsigned)th_below(R->r, 3);
    if (R->nsnaps < MAX_SNAPS && (k == 0 || R->nsnaps == 0)) {
        held_snap *hs = &R->snaps[R->nsnaps];
        hs->s = NULL;
        CHECK_ST(tl_snapshot_acquire(R->log, &hs->s), TL_OK);
        if (!hs->s)
            return;
        ref_copy(&hs->m, &R->m);
        R->nsnaps++;
        return;
    }
    int i = (int)th_below(R->r, (uint64_t)R->nsnaps);
    check_snap(R, &R->snaps[i]);
    if (k == 2)
        release_snap(R, i);
}

static void iter_finish(run *R, int i, int read_to_end)
{
    held_iter *hi = &R->iters[i];
    if (read_to_end) {
        CHECK_ST(probe_read_iter(hi->it, &hi->got, pick_mode(R->r), R->r, __FILE__,
                                 __LINE__),
                 TL_EOF);
        char why[200];
        CHECKF(ref_match(hi->exp, hi->n_exp, hi->got.ts, hi->got.h, hi->got.n, why,
                         sizeof why),
               "held iterator (kind %d, %lld, %lld) read later: %s", hi->kind,
               (long long)hi->t1, (long long)hi->t2, why);
        R->cov->held_iter_reads++;
    }
    tl_iter_destroy(hi->it);
    free(hi->exp);
    rb_free(&hi->got);
    R->iters[i] = R->iters[--R->niters];
}

static void op_iter(run *R)
{
    if (R->niters < MAX_ITERS && (R->niters == 0 || th_chance(R->r, 1, 3))) {
        held_iter *hi = &R->iters[R->niters];
        memset(hi, 0, sizeof *hi);
        probe_random_query(R->r, &R->m, R->cur - 6000, R->cur, &hi->kind, &hi->t1,
                           &hi->t2);
        const ref_model *src = &R->m;
        tl_status st;
        if (R->nsnaps && th_chance(R->r, 1, 2)) {
            held_snap *hs = &R->snaps[th_below(R->r, (uint64_t)R->nsnaps)];
            src = &hs->m;
            st = tl_iter_open(hs->s, hi->kind, hi->t1, hi->t2, &hi->it);
        } else {
            st = tl_log_iter(R->log, hi->kind, hi->t1, hi->t2, &hi->it);
        }
        CHECK_ST(st, TL_OK);
        if (!hi->it)
            return;
        size_t lo, hi_i;
        ref_query(src, hi->kind, hi->t1, hi->t2, &lo, &hi_i);
        hi->n_exp = hi_i - lo;
        hi->exp = th_xmalloc((hi->n_exp ? hi->n_exp : 1) * sizeof(ref_rec));
        if (hi->n_exp)
            memcpy(hi->exp, src->v + lo, hi->n_exp * sizeof(ref_rec));
        hi->seq = src->seq;
        rb_init(&hi->got);
        R->niters++;
        return;
    }
    int i = (int)th_below(R->r, (uint64_t)R->niters);
    held_iter *hi = &R->iters[i];
    if (th_chance(R->r, 1, 4)) {
        iter_finish(R, i, th_chance(R->r, 3, 4));
        return;
    }
    /* Read a little; timestamps so far must follow the expected order. */
    size_t want = 1 + (size_t)th_below(R->r, 40);
    size_t before = hi->got.n;
    int eof = 0;
    if (th_chance(R->r, 1, 2)) {
        for (size_t k = 0; k < want; k++) {
            int64_t ts;
            tl_handle h;
            tl_status st = tl_iter_next(hi->it, &ts, &h);
            if (st == TL_EOF) {
                eof = 1;
                break;
            }
            CHECK_ST(st, TL_OK);
            if (st != TL_OK)
                break;
            rb_push(&hi->got, ts, h);
        }
    } else {
        int64_t ts[40];
        tl_handle h[40];
        size_t n = 0;
        tl_status st = tl_iter_next_batch(hi->it, ts, h, want, &n);
        CHECKF((st == TL_OK && n == want) || (st == TL_EOF && n < want),
               "held next_batch(%zu): %s n %zu", want, th_status_name(st), n);
        for (size_t k = 0; k < n && k < want; k++)
            rb_push(&hi->got, ts[k], h[k]);
        eof = st == TL_EOF;
    }
    int ok = 1;
    for (size_t k = before; k < hi->got.n && ok; k++)
        ok = CHECKF(k < hi->n_exp && hi->got.ts[k] == hi->exp[k].ts,
                    "held iterator record %zu: ts %lld, want %s%lld", k,
                    (long long)hi->got.ts[k], k < hi->n_exp ? "" : "nothing; ",
                    k < hi->n_exp ? (long long)hi->exp[k].ts : 0LL);
    if (eof)
        iter_finish(R, i, 1); /* completes the comparison (EOF repeats) */
}

static void op_spans(run *R)
{
    tl_snapshot *snap = NULL;
    CHECK_ST(tl_snapshot_acquire(R->log, &snap), TL_OK);
    if (!snap)
        return;
    int64_t t1, t2;
    random_range(R, &t1, &t2);
    if (th_chance(R->r, 1, 2))
        probe_spans_all(snap, &R->m, t1, t2, __FILE__, __LINE__);
    else
        probe_spans_segment(snap, &R->m, t1, t2, 0, __FILE__, __LINE__);
    R->cov->span_checks++;
    tl_snapshot_release(snap);
}

static void span_release_checked(run *R, int i)
{
    held_span *hs = &R->spans[i];
    CHECK(memcmp(hs->ts, hs->sp.ts, hs->sp.len * sizeof *hs->ts) == 0);
    CHECK(memcmp(hs->h, hs->sp.h, hs->sp.len * sizeof *hs->h) == 0);
    tl_span_release(&hs->sp);
    free(hs->ts);
    free(hs->h);
    R->spans[i] = R->spans[--R->nspans];
}

/* Keep one span while the log moves on; its memory must not change. */
static void op_hold_span(run *R)
{
    if (R->nspans == MAX_SPANS || (R->nspans && th_chance(&R->rr, 1, 2))) {
        span_release_checked(R, (int)th_below(&R->rr, (uint64_t)R->nspans));
        return;
    }
    tl_snapshot *snap = NULL;
    CHECK_ST(tl_snapshot_acquire(R->log, &snap), TL_OK);
    if (!snap)
        return;
    tl_spans *sp = NULL;
    int32_t kind = th_chance(&R->rr, 1, 2) ? TL_SPANS_ALL : TL_SPANS_SEGMENT;
    CHECK_ST(tl_spans_open(snap, TL_TS_MIN, TL_TS_MAX, kind, &sp), TL_OK);
    tl_snapshot_release(snap);
    if (!sp)
        return;
    held_span *hs = &R->spans[R->nspans];
    unsigned skip = (unsigned)th_below(&R->rr, 4);
    tl_status st;
    for (;;) {
        st = tl_spans_next(sp, &hs->sp);
        if (st != TL_OK || skip-- == 0)
            break;
        tl_span_release(&hs->sp);
    }
    tl_spans_destroy(sp);
    if (st != TL_OK) {
        CHECK_ST(st, TL_EOF);
        return;
    }
    hs->ts = th_xmalloc(hs->sp.len * sizeof *hs->ts);
    hs->h = th_xmalloc(hs->sp.len * sizeof *hs->h);
    memcpy(hs->ts, hs->sp.ts, hs->sp.len * sizeof *hs->ts);
    memcpy(hs->h, hs->sp.h, hs->sp.len * sizeof *hs->h);
    hs->seq = R->m.seq;
    /* Every record of the span is visible at its snapshot. */
    int ok = 1;
    for (size_t k = 0; k < hs->sp.len && ok; k++)
        ok = CHECKF(hs->h[k] > 0 && hs->h[k] < R->lg.next &&
                        R->lg.e[hs->h[k]].ts == hs->ts[k] &&
                        ledger_visible_at(&R->lg, hs->h[k], hs->seq),
                    "held span record (%lld, h%llu) is not visible",
                    (long long)hs->ts[k], (unsigned long long)hs->h[k]);
    R->nspans++;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* tl_log_handles lists exactly the handles accepted and not yet drained. */
static void op_handles(run *R)
{
    size_t total = 0;
    CHECK_ST(tl_log_handles(R->log, NULL, 0, &total), TL_OK);
    size_t cap = total + 64;
    tl_handle *buf = th_xmalloc(cap * sizeof *buf);
    size_t n = 0;
    CHECK_ST(tl_log_handles(R->log, buf, cap, &n), TL_OK);
    size_t want = ledger_outstanding(&R->lg);
    CHECKF(n == want, "tl_log_handles total %zu, outstanding %zu", n, want);
    if (n <= cap) {
        qsort(buf, n, sizeof *buf, cmp_u64);
        int ok = 1;
        for (size_t i = 0; i < n && ok; i++) {
            uint64_t h = buf[i];
            ok = CHECKF(h > 0 && h < R->lg.next && R->lg.e[h].ins &&
                            !R->lg.e[h].drained && (i == 0 || buf[i - 1] != h),
                        "tl_log_handles lists %llu (not outstanding or twice)",
                        (unsigned long long)h);
        }
    }
    free(buf);
    if (!R->maint_on) {
        tl_stats s = stats_now(R);
        uint64_t stored = s.memtable_records + s.memrun_records + s.l0_records +
                          s.l1_records;
        CHECKF(stored + s.retired_len == want,
               "stats: stored %llu + retired %llu != outstanding %zu",
               (unsigned long long)stored, (unsigned long long)s.retired_len, want);
        CHECKF(stored >= R->m.n, "stats: stored %llu < visible %zu",
               (unsigned long long)stored, R->m.n);
    }
    tl_stats s = stats_now(R);
    CHECKF((s.live_snapshots > 0) == (held_count(R) > 0),
           "live_snapshots %llu while the test holds %d readers",
           (unsigned long long)s.live_snapshots, held_count(R));
}

static void release_all(run *R)
{
    while (R->niters)
        iter_finish(R, R->niters - 1, 1);
    while (R->nspans)
        span_release_checked(R, R->nspans - 1);
    while (R->nsnaps) {
        check_snap(R, &R->snaps[R->nsnaps - 1]);
        release_snap(R, R->nsnaps - 1);
    }
}

static void one_run(th_rng *r, coverage *cov, int64_t n_ops, uint64_t run_no)
{
    run R;
    memset(&R, 0, sizeof R);
    R.r = r;
    th_rng_init(&R.rr, th_next(r));
    R.cov = cov;
    ref_init(&R.m);
    ledger_init(&R.lg);
    R.cur = th_between(r, -1000000, 1000000);

    tl_config cfg;
    tl_config_init(&cfg);
    int tiny = th_chance(r, 4, 5);
    cfg.memtable_max_bytes = tiny ? 1 : th_between(r, 1, 16384);
    cfg.target_page_bytes = tiny ? 1 : th_between(r, 1, 4096);
    cfg.sealed_max_runs = th_between(r, 1, 4);
    static const int32_t policies[] = {TL_BUSY_RAISE, TL_BUSY_SILENT, TL_BUSY_FLUSH};
    /* Cycled, so every policy runs at any scale (>= 6 runs). */
    cfg.busy_policy = policies[run_no % 3];
    static const int64_t limits[] = {0, 0, 1, 3, 16};
    cfg.drain_batch_limit = limits[th_below(r, 5)];
    cfg.maintenance = run_no > 0 && th_chance(r, 1, 4) ? TL_MAINT_BACKGROUND
                                                        : TL_MAINT_DISABLED;
    R.busy = cfg.busy_policy;
    R.drain_limit = cfg.drain_batch_limit;
    R.maint_on = cfg.maintenance == TL_MAINT_BACKGROUND;
    CHECK_ST(tl_log_open(&cfg, &R.log), TL_OK);
    if (!R.log) {
        ref_free(&R.m);
        ledger_free(&R.lg);
        return;
    }

    /* Weights (per 1000). */
    for (int64_t i = 0; i < n_ops; i++) {
        unsigned k = (unsigned)th_below(r, 1000);
        if (k < 420) op_append(&R);
        else if (k < 480) op_batch(&R);
        else if (k < 530) op_delete(&R);
        else if (k < 540) op_delete_before(&R);
        else if (k < 552) op_flush(&R);
        else if (k < 558) op_compact(&R);
        else if (k < 560) op_maint(&R);
        else if (k < 620) op_snapshot(&R);
        else if (k < 780) op_query_now(&R);
        else if (k < 860) op_iter(&R);
        else if (k < 900) op_spans(&R);
        else if (k < 910) op_hold_span(&R);
        else if (k < 985) drain_once(&R, 1 + th_below(r, 64), 0);
        else op_handles(&R);
        if (R.m.n > LIVE_CAP)
            op_delete_before(&R);
        if (R.m.n > cov->max_model)
            cov->max_model = R.m.n;
        cov->ops++;
        if (th_failed() > 200)
            break; /* the first reports say it all */
    }

    /* Final comparison, then close is refused while a reader lives. */
    op_query_now(&R);
    op_handles(&R);
    if (held_count(&R) > 0)
        CHECK_ST(tl_log_close(R.log), TL_EBUSY);
    release_all(&R);
    CHECK_ST(tl_log_close(R.log), TL_OK);
    drain_all(&R, 1);
    size_t left = ledger_outstanding(&R.lg);
    CHECKF(left == 0, "%zu accepted handles never came back after close", left);
    size_t total = 1;
    CHECK_ST(tl_log_handles(R.log, NULL, 0, &total), TL_OK);
    CHECK_EQ_U(total, 0);
    CHECK_ST(tl_log_destroy(R.log), TL_OK);
    ref_free(&R.m);
    ledger_free(&R.lg);
    cov->runs++;
}

int main(void)
{
    th_begin("test_differential");
    uint64_t seed = th_seed(20261121);
    th_rng r;
    th_rng_init(&r, seed);
    const int64_t total = th_scaled(1000000, 1000000);
    coverage cov;
    memset(&cov, 0, sizeof cov);
    double t0 = th_now();
    while ((int64_t)cov.ops < total && th_failed() <= 200) {
        int64_t left = total - (int64_t)cov.ops;
        /* At least six runs whatever the scale, at most 80k ops each. */
        int64_t hi = total / 6 < 80000 ? total / 6 : 80000;
        if (hi < 1000)
            hi = 1000;
        int64_t n = th_between(&r, hi / 2, hi);
        if (n > left)
            n = left;
        one_run(&r, &cov, n, cov.runs);
    }
    printf("test_differential: %llu ops in %llu runs, %.1fs; ebusy %llu, flushes %llu, "
           "compactions %llu, drained %llu, held-iterator reads %llu, span checks %llu, "
           "max model %llu\n",
           (unsigned long long)cov.ops, (unsigned long long)cov.runs, th_now() - t0,
           (unsigned long long)cov.ebusy, (unsigned long long)cov.flushes,
           (unsigned long long)cov.compactions, (unsigned long long)cov.drained,
           (unsigned long long)cov.held_iter_reads, (unsigned long long)cov.span_checks,
           (unsigned long long)cov.max_model);
    CHECK((int64_t)cov.ops >= total);
    /* Every layer and transition was crossed. */
    CHECK(cov.memruns_seen > 0);
    CHECK(cov.l0_seen > 0);
    CHECK(cov.l1_seen > 0);
    CHECK(cov.retired_seen > 0);
    CHECK(cov.ebusy > 0);
    CHECK(cov.drained > 0);
    CHECK(cov.held_iter_reads > 0);
    return th_end();
}
