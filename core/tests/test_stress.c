/*
 * test_stress.c - 1 writer + 3 readers + the maintenance thread + a thread
 * that keeps trying to close the log.
 *
 * The writer appends timestamps 0, 1, 2, ... (handle = ts + 1, some through
 * batches), punches a fixed pattern of holes (block b of BLOCK timestamps,
 * b % 7 == 3: [b*BLOCK + 10, b*BLOCK + 20) deleted once the block is
 * written), trims with delete_before, flushes, compacts and drains.  It
 * publishes how far it got before and after every step, so a reader that
 * loads those counters around tl_snapshot_acquire knows, for every
 * timestamp, whether its snapshot must contain it, must not, or may either.
 * Readers check every answer (iterators of each kind, next/next_batch, both
 * span kinds) for order, range bounds, those presence rules (prefix
 * completeness) and that no record they can see has been drained.  The
 * closer holds a snapshot while calling tl_log_close, which must answer
 * TL_EBUSY every time, and two threads check that tl_last_error() is
 * per-thread.  At the end every handle comes back exactly once.
 *
 * Second phase, the close race: two writers, a reader and a thread toggling
 * maintenance run until another thread's tl_log_close succeeds; from then on
 * they must see TL_ESTATE ("timelog is closed"), and exactly the handles
 * whose append was accepted come back, once each.
 * Must be clean under ThreadSanitizer.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"
#include "probe.h"
#include "timelog.h"

#define BLOCK 100
#define KEEP 5000 /* records behind the head kept by the trim */
#define NREADERS 3

static tl_log *g_log;
static int64_t g_min_total;     /* the writer appends at least this many */
static int64_t g_total;         /* and at most this many (handle array size) */
static double g_deadline;       /* after g_min_total, it goes on until then */
static atomic_llong g_appended; /* what it did append, once it stopped */
static atomic_int g_stop;
static atomic_llong g_attempt;   /* ts of the append in progress, + 1 */
static atomic_llong g_done;      /* every ts < g_done was appended */
static atomic_llong g_cut_start; /* delete_before(c) begun for c <= this */
static atomic_llong g_cut_done;  /* delete_before(c) returned for this c */
static atomic_llong g_hole_start; /* hole deletes begun for blocks < this */
static atomic_llong g_hole_done;  /* hole deletes returned for blocks < this */
static atomic_uint *g_drained;   /* by handle: 0, or the drain round that gave it */
static atomic_uint g_drain_round; /* completed writer drains */
static atomic_ullong g_reads, g_records_seen, g_close_busy;
static uint64_t g_seed;

static int in_hole(int64_t ts)
{
    int64_t b = ts / BLOCK, off = ts % BLOCK;
    return b % 7 == 3 && off >= 10 && off < 20;
}

typedef struct bounds {
    int64_t done0, cut_done0, hole_done0;     /* loaded before the snapshot */
    int64_t attempt1, cut_start1, hole_start1; /* loaded after it */
} bounds;

static int must_absent(const bounds *b, int64_t ts)
{
    return ts >= b->attempt1 || ts < b->cut_done0 ||
           (in_hole(ts) && ts / BLOCK < b->hole_done0);
}

static int must_present(const bounds *b, int64_t ts)
{
    return ts >= 0 && ts < b->done0 && ts >= b->cut_start1 &&
           !(in_hole(ts) && ts / BLOCK < b->hole_start1);
}

static tl_snapshot *acquire(bounds *b)
{
    b->done0 = atomic_load(&g_done);
    b->cut_done0 = atomic_load(&g_cut_done);
    b->hole_done0 = atomic_load(&g_hole_done);
    tl_snapshot *s = NULL;
    CHECK_ST(tl_snapshot_acquire(g_log, &s), TL_OK);
    b->attempt1 = atomic_load(&g_attempt);
    b->cut_start1 = atomic_load(&g_cut_start);
    b->hole_start1 = atomic_load(&g_hole_start);
    return s;
}

/* ts sorted strictly (unique timestamps), inside [q1, q2), the handle of each,
 * presence rules, nothing drained; if complete, no must-present ts missing. */
static void check_view(const bounds *b, const int64_t *ts, const uint64_t *h,
                       size_t n, int64_t q1, int64_t q2, int complete,
                       const char *what)
{
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++) {
        ok &= CHECKF(ts[i] >= q1 && ts[i] < q2, "%s: ts %lld outside [%lld, %lld)",
                     what, (long long)ts[i], (long long)q1, (long long)q2);
        ok &= CHECKF(i == 0 || ts[i] > ts[i - 1], "%s: %lld after %lld", what,
                     (long long)ts[i], (long long)(i ? ts[i - 1] : 0));
        ok &= CHECKF(h[i] == (uint64_t)ts[i] + 1, "%s: ts %lld has handle %llu", what,
                     (long long)ts[i], (unsigned long long)h[i]);
        ok &= CHECKF(!must_absent(b, ts[i]),
                     "%s: ts %lld visible (done %lld..attempt %lld, cut %lld, holes "
                     "done %lld)",
                     what, (long long)ts[i], (long long)b->done0,
                     (long long)b->attempt1, (long long)b->cut_done0,
                     (long long)b->hole_done0);
        if (ok && h[i] <= (uint64_t)g_total)
            ok &= CHECKF(!atomic_load(&g_drained[h[i]]),
                         "%s: handle %llu drained while a snapshot can see it", what,
                         (unsigned long long)h[i]);
    }
    if (!complete || !ok)
        return;
    int64_t lo = q1 > b->cut_start1 ? q1 : b->cut_start1;
    int64_t hi = q2 < b->done0 ? q2 : b->done0;
    size_t j = 0;
    for (int64_t t = lo < 0 ? 0 : lo; t < hi; t++) {
        if (!must_present(b, t))
            continue;
        while (j < n && ts[j] < t)
            j++;
        if (!CHECKF(j < n && ts[j] == t,
                    "%s [%lld, %lld): ts %lld missing (done %lld, cut started %lld)",
                    what, (long long)q1, (long long)q2, (long long)t,
                    (long long)b->done0, (long long)b->cut_start1))
            return;
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void *reader(void *arg)
{
    int id = (int)(intptr_t)arg;
    th_rng r;
    th_rng_init(&r, g_seed * 31 + (uint64_t)id);
    recbuf got;
    rb_init(&got);
    while (!atomic_load(&g_stop) && th_failed() < 50) {
        bounds b;
        tl_snapshot *snap = acquire(&b);
        if (!snap)
            break;
        unsigned k = (unsigned)th_below(&r, 10);
        int64_t q1 = b.cut_done0 - 50 + (int64_t)th_below(&r, (uint64_t)(b.done0 - b.cut_done0 + 150));
        int64_t q2 = q1 + (int64_t)th_below(&r, 2000);
        rb_clear(&got);
        if (k < 5) {
            int32_t kind = k == 0 ? TL_QUERY_ALL : k == 1 ? TL_QUERY_SINCE
                         : k == 2 ? TL_QUERY_UNTIL : TL_QUERY_RANGE;
            int64_t a = kind == TL_QUERY_ALL || kind == TL_QUERY_UNTIL ? TL_TS_MIN : q1;
            int64_t z = kind == TL_QUERY_ALL || kind == TL_QUERY_SINCE ? TL_TS_MAX : q2;
            tl_iter *it = NULL;
            CHECK_ST(tl_iter_open(snap, kind, q1, q2, &it), TL_OK);
            if (it) {
                int mode = th_chance(&r, 1, 3) ? PROBE_NEXT : PROBE_BATCH_RANDOM;
                CHECK_ST(probe_read_iter(it, &got, mode, &r, __FILE__, __LINE__), TL_EOF);
                tl_iter_destroy(it);
                check_view(&b, got.ts, got.h, got.n, a, z, 1, "iterator");
            }
        } else if (k < 6) {
            int64_t t = q1;
            tl_iter *it = NULL;
            CHECK_ST(tl_iter_open(snap, TL_QUERY_POINT, t, 0, &it), TL_OK);
            if (it) {
                CHECK_ST(probe_read_iter(it, &got, PROBE_NEXT, &r, __FILE__, __LINE__),
                         TL_EOF);
                tl_iter_destroy(it);
                CHECK(got.n <= 1);
                check_view(&b, got.ts, got.h, got.n, t, t + 1, 1, "point");
            }
        } else {
            int32_t kind = k < 8 ? TL_SPANS_ALL : TL_SPANS_SEGMENT;
            CHECK_ST(probe_collect_spans(snap, q1, q2, kind, &got, __FILE__, __LINE__),
                     TL_EOF);
            /* Spans of different sources are unordered: check the pairing,
             * then sort the union by ts (the handle follows from it). */
            int paired = 1;
            for (size_t i = 0; i < got.n && paired; i++)
                paired = CHECKF(got.h[i] == (uint64_t)got.ts[i] + 1,
                                "span record ts %lld has handle %llu",
                                (long long)got.ts[i], (unsigned long long)got.h[i]);
            if (got.n)
                qsort(got.ts, got.n, sizeof *got.ts, cmp_i64);
            uint64_t *hs = th_xmalloc((got.n ? got.n : 1) * sizeof *hs);
            for (size_t i = 0; i < got.n; i++)
                hs[i] = (uint64_t)got.ts[i] + 1;
            check_view(&b, got.ts, hs, got.n, q1, q2, kind == TL_SPANS_ALL,
                       kind == TL_SPANS_ALL ? "spans(all)" : "spans(segment)");
            free(hs);
        }
        atomic_fetch_add(&g_records_seen, got.n);
        atomic_fetch_add(&g_reads, 1);
        tl_snapshot_release(snap);
    }
    rb_free(&got);
    return NULL;
}

static void *closer(void *arg)
{
    (void)arg;
    while (!atomic_load(&g_stop)) {
        tl_snapshot *s = NULL;
        CHECK_ST(tl_snapshot_acquire(g_log, &s), TL_OK);
        if (!s)
            break;
        for (int i = 0; i < 5; i++) {
            CHECK_ST(tl_log_close(g_log), TL_EBUSY);
            CHECK_EQ_I(tl_log_is_closed(g_log), 0);
            atomic_fetch_add(&g_close_busy, 1);
        }
        tl_snapshot_release(s);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* Detail messages are per thread: each thread sees the text of its own
 * last failing call, whatever the others do meanwhile. */
static void *errors(void *arg)
{
    int id = (int)(intptr_t)arg;
    char name[32];
    snprintf(name, sizeof name, "bogus_option_%d", id);
    tl_config c;
    tl_config_init(&c);
    while (!atomic_load(&g_stop)) {
        for (int i = 0; i < 100; i++) {
            tl_status st = tl_config_set_int(&c, name, 1);
            const char *msg = tl_last_error();
            CHECKF(st == TL_EINVAL && msg && strstr(msg, name),
                   "thread %d: status %s, message \"%s\"", id, th_status_name(st),
                   msg ? msg : "(null)");
        }
        struct timespec ts = {0, 200000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void writer_drain(int64_t cut, int64_t holes_done)
{
    tl_handle buf[256];
    for (;;) {
        size_t n = 0;
        CHECK_ST(tl_drain_retired(g_log, buf, 256, &n), TL_OK);
        if (n == 0)
            return;
        for (size_t i = 0; i < n; i++) {
            uint64_t h = buf[i];
            if (!CHECKF(h >= 1 && h <= (uint64_t)g_total, "drained %llu",
                        (unsigned long long)h))
                continue;
            int64_t ts = (int64_t)h - 1;
            CHECKF(ts < cut || (in_hole(ts) && ts / BLOCK < holes_done),
                   "handle %llu (ts %lld) drained but never deleted",
                   (unsigned long long)h, (long long)ts);
            CHECKF(atomic_exchange(&g_drained[h], atomic_load(&g_drain_round) + 1) == 0,
                   "handle %llu drained twice", (unsigned long long)h);
        }
        atomic_fetch_add(&g_drain_round, 1);
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* tl_log_handles while everything else runs: no handle twice, none that was
 * never appended, none whose drain had completed before the call began. */
static void *lister(void *arg)
{
    (void)arg;
    size_t cap = 0;
    tl_handle *buf = NULL;
    while (!atomic_load(&g_stop) && th_failed() < 50) {
        size_t total = 0;
        CHECK_ST(tl_log_handles(g_log, NULL, 0, &total), TL_OK);
        if (total + 1024 > cap) {
            cap = total + 1024;
            buf = th_xrealloc(buf, cap * sizeof *buf);
        }
        unsigned round0 = atomic_load(&g_drain_round);
        size_t n = 0;
        CHECK_ST(tl_log_handles(g_log, buf, cap, &n), TL_OK);
        int64_t attempt = atomic_load(&g_attempt);
        if (n > cap)
            n = cap;
        qsort(buf, n, sizeof *buf, cmp_u64);
        int ok = 1;
        for (size_t i = 0; i < n && ok; i++) {
            tl_handle h = buf[i];
            ok &= CHECKF(h >= 1 && h <= (uint64_t)attempt && (i == 0 || buf[i - 1] != h),
                         "tl_log_handles: %llu (appends started: %lld, duplicate: %d)",
                         (unsigned long long)h, (long long)attempt,
                         i > 0 && buf[i - 1] == h);
            unsigned r = ok ? atomic_load(&g_drained[h]) : 0;
            ok &= CHECKF(r == 0 || r > round0,
                         "tl_log_handles lists %llu, drained in round %u before the call "
                         "(round %u)", (unsigned long long)h, r - 1, round0);
        }
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    free(buf);
    return NULL;
}

static void *writer(void *arg)
{
    th_rng r;
    th_rng_init(&r, g_seed);
    (void)arg;
    int64_t ts = 0, cut = 0, holes = 0;
    int64_t tsb[64];
    tl_handle hb[64];
    while (ts < g_total && (ts < g_min_total || th_now() < g_deadline) &&
           th_failed() < 50) {
        if (th_chance(&r, 1, 8)) {
            int64_t n = 1 + (int64_t)th_below(&r, 64);
            if (n > g_total - ts)
                n = g_total - ts;
            for (int64_t i = 0; i < n; i++) {
                tsb[i] = ts + i;
                hb[i] = (tl_handle)(ts + i + 1);
            }
            atomic_store(&g_attempt, ts + n);
            size_t acc = 0;
            CHECK_ST(tl_append_batch(g_log, tsb, hb, (size_t)n, &acc), TL_OK);
            CHECK_EQ_U(acc, (size_t)n);
            ts += n;
        } else {
            atomic_store(&g_attempt, ts + 1);
            CHECK_ST(tl_append(g_log, ts, (tl_handle)(ts + 1)), TL_OK);
            ts++;
        }
        atomic_store(&g_done, ts);
        /* Hole of each finished block b with b % 7 == 3. */
        int64_t finished = ts / BLOCK;
        while (holes < finished) {
            int64_t b = holes++;
            if (b % 7 != 3)
                continue;
            atomic_store(&g_hole_start, b + 1);
            CHECK_ST(tl_delete_range(g_log, b * BLOCK + 10, b * BLOCK + 20), TL_OK);
            atomic_store(&g_hole_done, b + 1);
        }
        if (ts - cut > KEEP + 1000) {
            int64_t c = ts - KEEP;
            atomic_store(&g_cut_start, c);
            CHECK_ST(tl_delete_before(g_log, c), TL_OK);
            atomic_store(&g_cut_done, c);
            cut = c;
        }
        unsigned k = (unsigned)th_below(&r, 4000);
        if (k < 2)
            CHECK_ST(tl_flush(g_log), TL_OK);
        else if (k < 3)
            CHECK_ST(tl_compact(g_log), TL_OK);
        else if (k < 40)
            writer_drain(cut, atomic_load(&g_hole_done));
    }
    writer_drain(cut, atomic_load(&g_hole_done));
    atomic_store(&g_appended, ts);
    return NULL;
}

/* ---- phase 2: the close race ------------------------------------------- */

#define RACE_WRITERS 2

static tl_log *r_log;
static int64_t r_per_writer;
static atomic_uchar *r_accepted[RACE_WRITERS]; /* by index within a writer */
static atomic_uchar *r_drained[RACE_WRITERS];
static atomic_int r_closed;

static tl_handle race_handle(int w, int64_t i) { return ((tl_handle)(w + 1) << 40) | (tl_handle)(i + 1); }

/* Marks a drained handle; it must have been accepted and not drained yet. */
static void race_drained(void *ctx, tl_handle h)
{
    (void)ctx;
    int w = (int)(h >> 40) - 1;
    int64_t i = (int64_t)(h & (((tl_handle)1 << 40) - 1)) - 1;
    if (!CHECKF(w >= 0 && w < RACE_WRITERS && i >= 0 && i < r_per_writer,
                "close race: drained unknown handle %llx", (unsigned long long)h))
        return;
    CHECKF(atomic_load(&r_accepted[w][i]), "close race: drained handle %llx that was "
           "never accepted", (unsigned long long)h);
    CHECKF(atomic_exchange(&r_drained[w][i], 1) == 0, "close race: handle %llx drained twice",
           (unsigned long long)h);
}

static int closed_status(tl_status st, const char *what)
{
    if (st != TL_ESTATE)
        return 0;
    const char *msg = tl_last_error();
    CHECKF(msg && strcmp(msg, "timelog is closed") == 0, "%s after close: \"%s\"", what,
           msg ? msg : "(null)");
    return 1;
}

static void *race_writer(void *arg)
{
    int w = (int)(intptr_t)arg;
    th_rng r;
    th_rng_init(&r, g_seed + 1000 + (uint64_t)w);
    for (int64_t i = 0; i < r_per_writer; i++) {
        /* The flag goes up before the call: a drain may hand the handle back
         * as soon as the engine has it. */
        atomic_store(&r_accepted[w][i], 1);
        tl_status st = tl_append(r_log, i / 4 * 2 + w, race_handle(w, i));
        if (closed_status(st, "tl_append")) {
            atomic_store(&r_accepted[w][i], 0);
            CHECK(atomic_load(&r_closed) || tl_log_is_closed(r_log));
            return NULL;
        }
        CHECK_ST(st, TL_OK);
        unsigned k = (unsigned)th_below(&r, 1000);
        if (k < 5) {
            int64_t t1 = (int64_t)th_below(&r, (uint64_t)i + 1) / 2;
            st = tl_delete_range(r_log, t1, t1 + 50);
            if (!closed_status(st, "tl_delete_range"))
                CHECK_ST(st, TL_OK);
        } else if (k < 7) {
            st = tl_flush(r_log);
            if (!closed_status(st, "tl_flush"))
                CHECK_ST(st, TL_OK);
        } else if (k < 20) {
            tl_handle buf[64];
            size_t n = 0;
            CHECK_ST(tl_drain_retired(r_log, buf, 64, &n), TL_OK);
            for (size_t j = 0; j < n && j < 64; j++)
                race_drained(NULL, buf[j]);
        }
    }
    return NULL;
}

static void *race_reader(void *arg)
{
    (void)arg;
    for (unsigned round = 0;; round++) {
        tl_snapshot *s = NULL;
        tl_status st = tl_snapshot_acquire(r_log, &s);
        if (closed_status(st, "tl_snapshot_acquire"))
            return NULL;
        if (!CHECKF(st == TL_OK && s, "race reader acquire: %s", th_status_name(st)))
            return NULL;
        tl_iter *it = NULL;
        CHECK_ST(tl_iter_open(s, TL_QUERY_SINCE, 0, 0, &it), TL_OK);
        int64_t ts[64], prev = INT64_MIN;
        tl_handle h[64];
        size_t n = 0;
        for (int b = 0; b < 4 && it; b++) {
            st = tl_iter_next_batch(it, ts, h, 64, &n);
            for (size_t j = 0; j < n && j < 64; j++) {
                CHECKF(ts[j] >= prev, "race reader: unsorted");
                prev = ts[j];
            }
            if (st != TL_OK)
                break;
        }
        /* Alternately hold the snapshot through a pause (the closer gets
         * TL_EBUSY) and pause without one (a window for it to succeed). */
        struct timespec gap = {0, 100000};
        if (round % 2)
            nanosleep(&gap, NULL);
        tl_iter_destroy(it);
        tl_snapshot_release(s);
        nanosleep(&gap, NULL);
    }
}

static void *race_maint(void *arg)
{
    (void)arg;
    for (int i = 0;; i++) {
        tl_status st = i % 2 ? tl_maint_stop(r_log) : tl_maint_start(r_log);
        if (closed_status(st, i % 2 ? "tl_maint_stop" : "tl_maint_start"))
            return NULL;
        CHECK_ST(st, TL_OK);
        struct timespec ts = {0, 300000};
        nanosleep(&ts, NULL);
    }
}

static void close_race(void)
{
    r_per_writer = th_scaled(2000000, 2000000);
    for (int w = 0; w < RACE_WRITERS; w++) {
        r_accepted[w] = calloc((size_t)r_per_writer, 1);
        r_drained[w] = calloc((size_t)r_per_writer, 1);
        if (!r_accepted[w] || !r_drained[w])
            abort();
    }
    tl_config cfg;
    probe_tiny_config(&cfg, TL_BUSY_FLUSH, TL_MAINT_BACKGROUND);
    CHECK_ST(tl_log_open(&cfg, &r_log), TL_OK);
    if (!r_log)
        return;
    pthread_t w[RACE_WRITERS], rd, mt;
    for (int i = 0; i < RACE_WRITERS; i++)
        pthread_create(&w[i], NULL, race_writer, (void *)(intptr_t)i);
    pthread_create(&rd, NULL, race_reader, NULL);
    pthread_create(&mt, NULL, race_maint, NULL);

    /* Let them run, then close: refused while the reader holds a snapshot. */
    struct timespec pause = {0, 300000000};
    nanosleep(&pause, NULL);
    int busy = 0;
    for (;;) {
        tl_status st = tl_log_close(r_log);
        if (st == TL_OK)
            break;
        if (!CHECKF(st == TL_EBUSY, "close race: tl_log_close %s", th_status_name(st)))
            break;
        busy++;
        struct timespec ts = {0, 50000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&r_closed, 1);
    for (int i = 0; i < RACE_WRITERS; i++)
        pthread_join(w[i], NULL);
    pthread_join(rd, NULL);
    pthread_join(mt, NULL);
    CHECK_EQ_I(tl_log_is_closed(r_log), 1);
    CHECK_ST(tl_log_close(r_log), TL_OK);

    probe_drain_all(r_log, race_drained, NULL, __FILE__, __LINE__);
    int64_t accepted = 0, missing = 0;
    for (int wi = 0; wi < RACE_WRITERS; wi++)
        for (int64_t i = 0; i < r_per_writer; i++) {
            int a = atomic_load(&r_accepted[wi][i]);
            accepted += a;
            missing += a && !atomic_load(&r_drained[wi][i]);
        }
    CHECKF(missing == 0, "close race: %lld accepted handles never came back",
           (long long)missing);
    size_t total = 1;
    CHECK_ST(tl_log_handles(r_log, NULL, 0, &total), TL_OK);
    CHECK_EQ_U(total, 0);
    CHECK_ST(tl_log_destroy(r_log), TL_OK);
    printf("test_stress: close race: %lld appends accepted before close, %d refused "
           "closes first\n", (long long)accepted, busy);
    CHECK(accepted > 0);
    for (int wi = 0; wi < RACE_WRITERS; wi++) {
        free(r_accepted[wi]);
        free(r_drained[wi]);
    }
}

/* After close: every appended handle, once. */
static void final_drained(void *ctx, tl_handle h)
{
    int64_t appended = *(const int64_t *)ctx;
    if (CHECKF(h >= 1 && h <= (uint64_t)appended, "drained %llu", (unsigned long long)h))
        CHECKF(atomic_exchange(&g_drained[h], 1) == 0, "handle %llu drained twice",
               (unsigned long long)h);
}

int main(void)
{
    th_begin("test_stress");
    g_seed = th_seed(424242);
    g_min_total = th_scaled(300000, 300000);
    g_total = 10 * g_min_total;
    g_drained = calloc((size_t)g_total + 1, sizeof *g_drained);
    if (!g_drained)
        return 1;

    tl_config cfg;
    probe_tiny_config(&cfg, TL_BUSY_SILENT, TL_MAINT_BACKGROUND);
    cfg.sealed_max_runs = 2;
    CHECK_ST(tl_log_open(&cfg, &g_log), TL_OK);
    if (!g_log)
        return th_end();

    double t0 = th_now();
    g_deadline = t0 + 3.0; /* enough for the readers to do thousands of reads */
    pthread_t w, c, rd[NREADERS], er[2], ls;
    pthread_create(&w, NULL, writer, NULL);
    for (int i = 0; i < NREADERS; i++)
        pthread_create(&rd[i], NULL, reader, (void *)(intptr_t)i);
    pthread_create(&c, NULL, closer, NULL);
    for (int i = 0; i < 2; i++)
        pthread_create(&er[i], NULL, errors, (void *)(intptr_t)i);
    pthread_create(&ls, NULL, lister, NULL);
    pthread_join(w, NULL);
    atomic_store(&g_stop, 1);
    for (int i = 0; i < NREADERS; i++)
        pthread_join(rd[i], NULL);
    pthread_join(c, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(er[i], NULL);
    pthread_join(ls, NULL);

    tl_stats s;
    memset(&s, 0, sizeof s);
    CHECK_ST(tl_log_stats(g_log, &s), TL_OK);
    printf("test_stress: %lld appends, %llu reads (%llu records), %llu refused closes, "
           "%.1fs; flushes %llu, compactions %llu\n",
           (long long)atomic_load(&g_appended), (unsigned long long)atomic_load(&g_reads),
           (unsigned long long)atomic_load(&g_records_seen),
           (unsigned long long)atomic_load(&g_close_busy), th_now() - t0,
           (unsigned long long)s.flushes, (unsigned long long)s.compactions);
    CHECK(atomic_load(&g_reads) > 0);
    CHECK(atomic_load(&g_close_busy) > 0);
    CHECK_EQ_U(s.live_snapshots, 0);

    int64_t appended = atomic_load(&g_appended);
    CHECK_ST(tl_log_close(g_log), TL_OK);
    probe_drain_all(g_log, final_drained, &appended, __FILE__, __LINE__);
    int64_t missing = 0;
    for (int64_t h = 1; h <= appended; h++)
        missing += !atomic_load(&g_drained[h]);
    CHECK(appended >= g_min_total);
    CHECKF(missing == 0, "%lld handles never came back", (long long)missing);
    CHECK_ST(tl_log_destroy(g_log), TL_OK);
    free(g_drained);

    close_race();
    return th_end();
}
