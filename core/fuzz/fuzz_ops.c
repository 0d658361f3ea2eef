/*
 * fuzz_ops.c - libFuzzer target: the input bytes are decoded into a small
 * configuration and a sequence of operations on the public API; every query
 * answer (iterators of every kind, next / next_batch, spans of both kinds,
 * drains, tl_log_handles) is checked against the reference model of
 * core/tests/support.  The first failed check aborts, so libFuzzer saves the
 * input; `./fuzz_ops crash-file` replays it.  Leaks are LeakSanitizer's
 * (and tl_test_alloc_live_bytes() must be 0 after destroy).
 *
 * One operation arms allocation-failure injection (tl_test_alloc_fail_at)
 * for the writes, flushes, compactions and snapshot acquisitions that
 * follow: a call may then return TL_ENOMEM only if the injected failure
 * happened, and a failed write must not be applied (a batch: only its
 * accepted prefix); the reads that check the model run with injection off.
 *
 * Maintenance stays disabled: a background thread would make a replay
 * depend on timing (test_snapshot_maint and test_stress cover it).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "probe.h"
#include "ref_model.h"
#include "timelog.h"
#include "timelog_testing.h"

#define MAX_SNAPS 4

typedef struct input {
    const uint8_t *p;
    size_t n;
} input;

static unsigned get8(input *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

static uint64_t get64(input *in)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | get8(in);
    return v;
}

typedef struct fz {
    tl_log *log;
    ref_model m;
    ledger lg;
    tl_snapshot *snaps[MAX_SNAPS];
    ref_model snap_m[MAX_SNAPS];
    int nsnaps;
    int32_t busy;
    int64_t drain_limit;
    /* Paced drains (design.md section 6): a safe point - the drain calls up
     * to the first short one - releases at most drain_limit plus the records
     * written since the previous safe point began.  owed counts every record
     * a write was asked to store (at least what the engine counts); allow is
     * what the current safe point may still release. */
    uint64_t owed, allow;
    int in_round;
    int64_t cur;
    int paged; /* flushed and no append since: SEGMENT spans are complete */
    int armed; /* injection armed: the inj_k-th allocation after inj_base fails */
    int64_t inj_k, inj_base;
} fz;

static void inj_arm(fz *F, int64_t k)
{
    F->inj_k = k;
    F->inj_base = tl_test_alloc_count();
    F->armed = 1;
    tl_test_alloc_fail_at(k);
}

static int inj_fired(const fz *F)
{
    return F->armed && tl_test_alloc_count() - F->inj_base >= F->inj_k;
}

static void inj_off(fz *F)
{
    tl_test_alloc_fail_at(0);
    F->armed = 0;
}

/* A call that may meet the injected failure: 1 if it took effect. */
static int took_effect(fz *F, tl_status st)
{
    if (st != TL_ENOMEM) {
        if (inj_fired(F))
            inj_off(F); /* survived (an optional allocation) */
        return 1;
    }
    CHECKF(inj_fired(F), "TL_ENOMEM with no injected failure (%s)", tl_last_error());
    inj_off(F);
    tl_stats s;
    CHECK_ST(tl_log_stats(F->log, &s), TL_OK);
    CHECKF(s.alloc_failures > 0, "TL_ENOMEM not counted in alloc_failures");
    return 0;
}

/* Timestamps cluster near a moving point so that duplicates, late records
 * and overlapping deletes are the common case; sometimes anywhere. */
static int64_t get_ts(fz *F, input *in)
{
    unsigned mode = get8(in);
    switch (mode % 8) {
    case 0:
        return (int64_t)get64(in);
    case 1: {
        static const int64_t ext[] = {TL_TS_MIN, TL_TS_MIN + 1, TL_TS_MAX,
                                      TL_TS_MAX - 1, 0, -1};
        return ext[get8(in) % 6];
    }
    case 2:
    case 3:
        F->cur += get8(in) % 4;
        return F->cur;
    default:
        return F->cur - 64 + (int64_t)(get8(in) % 80);
    }
}

static void check_write(fz *F, tl_status st)
{
    CHECKF(st == TL_OK || (st == TL_EBUSY && F->busy == TL_BUSY_RAISE),
           "write: %s (%s)", th_status_name(st), tl_last_error());
}

static size_t live(fz *F, uint64_t *out)
{
    for (int i = 0; i < F->nsnaps; i++)
        out[i] = F->snap_m[i].seq;
    return (size_t)F->nsnaps;
}

static size_t drain(fz *F, size_t cap, int closed)
{
    tl_handle buf[64];
    if (cap > 64)
        cap = 64;
    size_t n = 0;
    CHECK_ST(tl_drain_retired(F->log, buf, cap, &n), TL_OK);
    CHECK(n <= cap);
    if (!closed && F->drain_limit > 0) {
        if (!F->in_round) {
            F->allow = (uint64_t)F->drain_limit + F->owed;
            F->owed = 0;
            F->in_round = 1;
        }
        CHECKF(n <= F->allow, "drained %zu, safe point allowance left %llu", n,
               (unsigned long long)F->allow);
        F->allow -= n < F->allow ? n : F->allow;
        if (n < cap)
            F->in_round = 0;
    }
    uint64_t lv[MAX_SNAPS];
    size_t nl = live(F, lv);
    for (size_t i = 0; i < n && i < cap; i++)
        ledger_drained(&F->lg, buf[i], lv, nl, closed, __FILE__, __LINE__);
    return n;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void check_handles(fz *F)
{
    size_t total = 0;
    CHECK_ST(tl_log_handles(F->log, NULL, 0, &total), TL_OK);
    tl_handle *buf = th_xmalloc((total + 1) * sizeof *buf);
    size_t n = 0;
    CHECK_ST(tl_log_handles(F->log, buf, total + 1, &n), TL_OK);
    CHECK_EQ_U(n, ledger_outstanding(&F->lg));
    if (n <= total + 1) {
        qsort(buf, n, sizeof *buf, cmp_u64);
        for (size_t i = 0; i < n; i++)
            CHECKF(buf[i] > 0 && buf[i] < F->lg.next && F->lg.e[buf[i]].ins &&
                       !F->lg.e[buf[i]].drained && (i == 0 || buf[i] != buf[i - 1]),
                   "tl_log_handles lists %llu", (unsigned long long)buf[i]);
    }
    free(buf);
}

static void query(fz *F, input *in, tl_snapshot *snap, const ref_model *m)
{
    int32_t kind = (int32_t)(get8(in) % 5);
    int64_t t1 = get_ts(F, in), t2 = get_ts(F, in);
    static const int modes[] = {PROBE_NEXT, 1, 3, 16, 64};
    int mode = modes[get8(in) % 5];
    PROBE_QUERY(snap, m, kind, t1, t2, mode, NULL);
}

static void spans(fz *F, input *in, tl_snapshot *snap, const ref_model *m, int paged)
{
    int64_t t1 = get_ts(F, in), t2 = get_ts(F, in);
    if (get8(in) & 1)
        probe_spans_all(snap, m, t1, t2, __FILE__, __LINE__);
    else
        probe_spans_segment(snap, m, t1, t2, paged, __FILE__, __LINE__);
}

static void run(const uint8_t *data, size_t size)
{
    input in = {data, size};
    fz F;
    memset(&F, 0, sizeof F);
    ref_init(&F.m);
    ledger_init(&F.lg);

    tl_config cfg;
    tl_config_init(&cfg);
    unsigned c0 = get8(&in), c1 = get8(&in);
    cfg.memtable_max_bytes = (c0 & 3) ? 1 : 1 + (int64_t)(c1 % 32) * 128;
    cfg.target_page_bytes = (c0 & 4) ? 1 : 1 + (int64_t)(c1 / 32) * 200;
    cfg.sealed_max_runs = 1 + (c0 >> 3) % 4;
    cfg.busy_policy = (int32_t)((c0 >> 5) % 3);
    cfg.drain_batch_limit = (int64_t)(c1 % 4);
    F.busy = cfg.busy_policy;
    F.drain_limit = cfg.drain_batch_limit;
    CHECK_ST(tl_log_open(&cfg, &F.log), TL_OK);
    if (!F.log)
        return;

    int64_t tsb[32];
    tl_handle hb[32];
    while (in.n) {
        unsigned op = get8(&in) % 17;
        switch (op) {
        case 0:
        case 1:
        case 2: {
            int64_t ts = get_ts(&F, &in);
            uint64_t h = ledger_new_handle(&F.lg);
            tl_status st = tl_append(F.log, ts, h);
            F.owed++;
            if (took_effect(&F, st)) {
                check_write(&F, st);
                ledger_inserted(&F.lg, h, ts, ref_insert(&F.m, ts, h));
                F.paged = 0;
            }
            break;
        }
        case 3: {
            size_t n = get8(&in) % 33;
            for (size_t i = 0; i < n; i++) {
                tsb[i] = get_ts(&F, &in);
                hb[i] = ledger_new_handle(&F.lg);
            }
            size_t acc = 0;
            tl_status st = tl_append_batch(F.log, tsb, hb, n, &acc);
            F.owed += n;
            if (took_effect(&F, st)) {
                check_write(&F, st);
                CHECK_EQ_U(acc, n);
            } else {
                CHECKF(acc < n, "failed batch accepted %zu of %zu", acc, n);
            }
            for (size_t i = 0; i < acc && i < n; i++)
                ledger_inserted(&F.lg, hb[i], tsb[i], ref_insert(&F.m, tsb[i], hb[i]));
            F.paged = F.paged && acc == 0;
            break;
        }
        case 4: {
            int64_t t1 = get_ts(&F, &in), t2 = get_ts(&F, &in);
            tl_status st = tl_delete_range(F.log, t1, t2);
            if (took_effect(&F, st)) {
                check_write(&F, st);
                ref_delete_range(&F.m, t1, t2, ledger_on_removed, &F.lg);
            }
            break;
        }
        case 5: {
            int64_t c = get_ts(&F, &in);
            tl_status st = tl_delete_before(F.log, c);
            if (took_effect(&F, st)) {
                check_write(&F, st);
                ref_delete_range(&F.m, TL_TS_MIN, c, ledger_on_removed, &F.lg);
            }
            break;
        }
        case 6: {
            tl_status st = tl_flush(F.log);
            if (took_effect(&F, st)) {
                CHECK_ST(st, TL_OK);
                F.paged = 1;
            }
            break;
        }
        case 7: {
            tl_status st = tl_compact(F.log);
            if (!took_effect(&F, st))
                break;
            CHECK_ST(st, TL_OK);
            F.paged = 1;
            tl_stats s;
            CHECK_ST(tl_log_stats(F.log, &s), TL_OK);
            CHECK_EQ_U(s.l1_records, F.m.n);
            CHECK_EQ_U(s.memtable_records + s.memrun_records + s.l0_records, 0);
            break;
        }
        case 8:
            if (F.nsnaps < MAX_SNAPS) {
                tl_snapshot *s = NULL;
                tl_status st = tl_snapshot_acquire(F.log, &s);
                if (!took_effect(&F, st))
                    break;
                CHECK_ST(st, TL_OK);
                if (s) {
                    F.snaps[F.nsnaps] = s;
                    ref_copy(&F.snap_m[F.nsnaps], &F.m);
                    F.nsnaps++;
                }
            }
            break;
        case 9:
            if (F.nsnaps) {
                int i = (int)(get8(&in) % (unsigned)F.nsnaps);
                tl_snapshot_release(F.snaps[i]);
                ref_free(&F.snap_m[i]);
                F.nsnaps--;
                F.snaps[i] = F.snaps[F.nsnaps];
                F.snap_m[i] = F.snap_m[F.nsnaps];
            }
            break;
        case 10:
        case 11: {
            inj_off(&F);
            tl_snapshot *s = NULL;
            CHECK_ST(tl_snapshot_acquire(F.log, &s), TL_OK);
            if (!s)
                break;
            if (op == 10)
                query(&F, &in, s, &F.m);
            else
                spans(&F, &in, s, &F.m, F.paged);
            tl_snapshot_release(s);
            break;
        }
        case 12:
        case 13:
            inj_off(&F);
            if (F.nsnaps) {
                int i = (int)(get8(&in) % (unsigned)F.nsnaps);
                if (op == 12)
                    query(&F, &in, F.snaps[i], &F.snap_m[i]);
                else
                    spans(&F, &in, F.snaps[i], &F.snap_m[i], 0);
            }
            break;
        case 14:
            inj_off(&F);
            drain(&F, 1 + get8(&in) % 64, 0);
            break;
        case 15:
            inj_off(&F);
            check_handles(&F);
            break;
        default:
            inj_arm(&F, 1 + get8(&in) % 24);
            break;
        }
    }

    inj_off(&F);
    while (F.nsnaps) {
        F.nsnaps--;
        PROBE_QUERY(F.snaps[F.nsnaps], &F.snap_m[F.nsnaps], TL_QUERY_ALL, 0, 0,
                    PROBE_NEXT, NULL);
        tl_snapshot_release(F.snaps[F.nsnaps]);
        ref_free(&F.snap_m[F.nsnaps]);
    }
    {
        tl_snapshot *s = NULL;
        CHECK_ST(tl_snapshot_acquire(F.log, &s), TL_OK);
        if (s) {
            PROBE_QUERY(s, &F.m, TL_QUERY_ALL, 0, 0, 7, NULL);
            tl_snapshot_release(s);
        }
    }
    check_handles(&F);
    CHECK_ST(tl_log_close(F.log), TL_OK);
    while (drain(&F, 64, 1))
        ;
    CHECK_EQ_U(ledger_outstanding(&F.lg), 0);
    CHECK_ST(tl_log_destroy(F.log), TL_OK);
    CHECK_EQ_I(tl_test_alloc_live_bytes(), 0);
    ref_free(&F.m);
    ledger_free(&F.lg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    th_begin("fuzz_ops");
    th_set_abort_on_failure(1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run(data, size);
    return 0;
}
