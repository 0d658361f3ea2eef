/*
 * unit_log.c - log-level rules: the epoch rule of the retired queue, busy
 * policies, sequenced tombstones across layers, config texts and rounding,
 * close/handles/stats bookkeeping.
 */
#include <string.h>

#include "harness.h"
#include "timelog.h"

static tl_log *open_cfg(int64_t mt, int64_t page, int64_t runs, const char *busy)
{
    tl_config c;
    tl_config_init(&c);
    c.memtable_max_bytes = mt;
    c.target_page_bytes = page;
    c.sealed_max_runs = runs;
    CHECK(th_set_str(&c, "busy_policy", busy) == TL_OK);
    tl_log *log = NULL;
    CHECK(tl_log_open(&c, &log) == TL_OK);
    return log;
}

static size_t drain(tl_log *log)
{
    tl_handle b[4096];
    size_t n = 0, k;
    do {
        CHECK(tl_drain_retired(log, b, 4096, &k) == TL_OK);
        n += k;
    } while (k);
    return n;
}

static size_t count_all(tl_log *log)
{
    tl_iter *it;
    int64_t ts[512];
    tl_handle h[512];
    size_t n, total = 0;
    CHECK(tl_log_iter(log, TL_QUERY_ALL, 0, 0, &it) == TL_OK);
    while (tl_iter_next_batch(it, ts, h, 512, &n) == TL_OK)
        total += n;
    total += n;
    tl_iter_destroy(it);
    return total;
}

static void epoch_rule(void)
{
    tl_log *log = open_cfg(4096, 256, 4, "raise"); /* 256-record memtable */
    for (int i = 0; i < 100; i++)
        CHECK(tl_append(log, i, (tl_handle)i + 1) == TL_OK);
    tl_snapshot *old;
    CHECK(tl_snapshot_acquire(log, &old) == TL_OK);
    /* memtable delete retires at once, but old can still yield them */
    CHECK(tl_delete_range(log, 0, 10) == TL_OK);
    tl_stats s;
    tl_log_stats(log, &s);
    CHECK_EQ_U(s.retired_len, 10);
    CHECK_EQ_U(drain(log), 0);
    /* a snapshot taken after the retire does not block it */
    tl_snapshot *young;
    CHECK(tl_snapshot_acquire(log, &young) == TL_OK);
    tl_snapshot_release(old);
    CHECK_EQ_U(drain(log), 10);
    /* compaction drops tombstoned records of segments */
    CHECK(tl_flush(log) == TL_OK);
    CHECK(tl_delete_range(log, 50, 60) == TL_OK);
    CHECK_EQ_U(count_all(log), 80);
    CHECK(tl_compact(log) == TL_OK);
    tl_log_stats(log, &s);
    CHECK_EQ_U(s.retired_len, 10);
    CHECK_EQ_U(s.tombstones, 0);
    CHECK_EQ_U(drain(log), 0); /* young predates the compaction */
    tl_snapshot_release(young);
    CHECK_EQ_U(drain(log), 10);
    CHECK_EQ_U(count_all(log), 80);
    CHECK(tl_log_close(log) == TL_OK);
    CHECK_EQ_U(drain(log), 80);
    CHECK(tl_log_destroy(log) == TL_OK);
}

static void sequenced(void)
{
    tl_log *log = open_cfg(1024, 256, 100, "raise");
    for (int i = 0; i < 300; i++)
        CHECK(tl_append(log, i % 50, (tl_handle)i) == TL_OK);
    CHECK(tl_flush(log) == TL_OK);
    CHECK(tl_append(log, 10, 1000) == TL_OK); /* memtable, before the delete */
    CHECK(tl_delete_range(log, 10, 20) == TL_OK);
    CHECK(tl_append(log, 15, 2000) == TL_OK); /* after: visible */
    tl_iter *it;
    int64_t t;
    tl_handle h;
    CHECK(tl_log_iter(log, TL_QUERY_RANGE, 10, 20, &it) == TL_OK);
    CHECK(tl_iter_next(it, &t, &h) == TL_OK && t == 15 && h == 2000);
    CHECK(tl_iter_next(it, &t, &h) == TL_EOF);
    tl_iter_destroy(it);
    CHECK(tl_compact(log) == TL_OK);
    CHECK(tl_log_iter(log, TL_QUERY_POINT, 15, 0, &it) == TL_OK);
    CHECK(tl_iter_next(it, &t, &h) == TL_OK && h == 2000);
    CHECK(tl_iter_next(it, &t, &h) == TL_EOF);
    tl_iter_destroy(it);
    CHECK_EQ_U(count_all(log), 300 - 60 + 1);
    tl_log_destroy(log);
}

static void busy(void)
{
    /* 64 records per memtable, at most 1 sealed run */
    tl_log *log = open_cfg(1024, 256, 1, "raise");
    int ebusy = 0;
    for (int i = 0; i < 200; i++) {
        tl_status st = tl_append(log, i, (tl_handle)i);
        CHECK(st == TL_OK || st == TL_EBUSY);
        ebusy += st == TL_EBUSY;
    }
    CHECK(ebusy > 0);
    CHECK(strstr(tl_last_error(), "busy") != NULL);
    CHECK_EQ_U(count_all(log), 200);
    tl_log_destroy(log);

    log = open_cfg(1024, 256, 1, "flush");
    for (int i = 0; i < 1000; i++)
        CHECK(tl_append(log, i, (tl_handle)i) == TL_OK);
    tl_stats s;
    tl_log_stats(log, &s);
    CHECK(s.flushes > 0 && s.memruns <= 1);
    CHECK_EQ_U(count_all(log), 1000);
    tl_log_destroy(log);

    log = open_cfg(1024, 256, 1, "silent");
    int64_t ts[1000];
    tl_handle hs[1000];
    for (int i = 0; i < 1000; i++) {
        ts[i] = 1000 - i;
        hs[i] = (tl_handle)i;
    }
    size_t acc;
    CHECK(tl_append_batch(log, ts, hs, 1000, &acc) == TL_OK && acc == 1000);
    CHECK_EQ_U(count_all(log), 1000);
    tl_log_destroy(log);
}

static void config_texts(void)
{
    tl_config c;
    tl_config_init(&c);
    CHECK(th_set_str(&c, "time_unit", "xx") == TL_EINVAL);
    CHECK(strcmp(tl_last_error(), "time_unit must be one of 's', 'ms', 'us', 'ns' (got 'xx')") == 0);
    CHECK(tl_config_set_int(&c, "memtable_max_bytes", -5) == TL_EINVAL);
    CHECK(strcmp(tl_last_error(), "memtable_max_bytes must be > 0 (got -5)") == 0);
    CHECK(tl_config_set_int(&c, "drain_batch_limit", -1) == TL_EINVAL);
    CHECK(tl_config_set_int(&c, "memtable_max_bytes", 1) == TL_OK);
    CHECK(tl_config_set_int(&c, "target_page_bytes", 1) == TL_OK);
    tl_log *log;
    CHECK(tl_log_open(&c, &log) == TL_OK);
    tl_config got;
    CHECK(tl_log_config(log, &got) == TL_OK);
    CHECK(got.memtable_max_bytes == 1024 && got.target_page_bytes == 256);
    CHECK(strcmp(tl_log_option_str(log, "time_unit"), "ms") == 0);
    CHECK(tl_maint_start(log) == TL_OK);
    CHECK(strcmp(tl_log_option_str(log, "maintenance"), "background") == 0);
    CHECK(tl_maint_stop(log) == TL_OK);
    CHECK(strcmp(tl_log_option_str(log, "maintenance"), "disabled") == 0);
    CHECK(tl_log_close(log) == TL_OK);
    CHECK(tl_append(log, 1, 1) == TL_ESTATE);
    CHECK(strcmp(tl_last_error(), "timelog is closed") == 0);
    CHECK(tl_log_close(log) == TL_OK);
    tl_log_destroy(log);
}

static void handles_and_spans(void)
{
    tl_log *log = open_cfg(1024, 256, 100, "raise");
    for (int i = 0; i < 500; i++)
        CHECK(tl_append(log, (i * 7919) % 1000, (tl_handle)i + 1) == TL_OK);
    CHECK(tl_flush(log) == TL_OK);
    for (int i = 500; i < 600; i++)
        CHECK(tl_append(log, i, (tl_handle)i + 1) == TL_OK);
    CHECK(tl_delete_range(log, 100, 200) == TL_OK);
    size_t total;
    CHECK(tl_log_handles(log, NULL, 0, &total) == TL_OK);
    tl_stats s;
    tl_log_stats(log, &s);
    CHECK_EQ_U(total, s.memtable_records + s.memrun_records + s.l0_records + s.l1_records + s.retired_len);
    size_t visible = count_all(log);
    for (int kind = 0; kind < 2; kind++) {
        tl_snapshot *snap;
        tl_spans *sp;
        tl_span span;
        CHECK(tl_snapshot_acquire(log, &snap) == TL_OK);
        CHECK(tl_spans_open(snap, TL_TS_MIN, TL_TS_MAX, kind, &sp) == TL_OK);
        size_t n = 0;
        while (tl_spans_next(sp, &span) == TL_OK) {
            for (size_t i = 0; i < span.len; i++)
                CHECK(span.ts[i] < 100 || span.ts[i] >= 200 || span.h[i] > 500);
            n += span.len;
            tl_span_release(&span);
        }
        tl_spans_destroy(sp);
        tl_snapshot_release(snap);
        if (kind == TL_SPANS_ALL)
            CHECK_EQ_U(n, visible);
        else
            CHECK(n <= visible);
    }
    tl_log_destroy(log);
}

/* In-order ingest with runs of equal timestamps straddling memtable
 * boundaries: compaction moves the segments to L1 without merging, and the
 * order of equal timestamps stays the insertion order; then late records
 * force a real merge. */
static void chained_compaction(void)
{
    tl_log *log = open_cfg(1024, 256, 100, "raise"); /* 64-record memtables */
    for (int i = 0; i < 1000; i++)
        CHECK(tl_append(log, i / 100, (tl_handle)i) == TL_OK);
    CHECK(tl_compact(log) == TL_OK);
    tl_stats s;
    tl_log_stats(log, &s);
    CHECK_EQ_U(s.l1_records, 1000);
    CHECK_EQ_U(s.l0_segments, 0);
    CHECK(s.l1_segments >= 10);
    for (int i = 1000; i < 1100; i++) /* late: lands inside earlier segments */
        CHECK(tl_append(log, (i * 37) % 10, (tl_handle)i) == TL_OK);
    CHECK(tl_compact(log) == TL_OK);
    tl_iter *it;
    int64_t ts[2048];
    tl_handle h[2048];
    size_t n;
    CHECK(tl_log_iter(log, TL_QUERY_ALL, 0, 0, &it) == TL_OK);
    CHECK(tl_iter_next_batch(it, ts, h, 2048, &n) == TL_EOF);
    tl_iter_destroy(it);
    CHECK_EQ_U(n, 1100);
    int ordered = 1;
    for (size_t i = 1; i < n; i++)
        ordered &= ts[i - 1] < ts[i] || (ts[i - 1] == ts[i] && h[i - 1] < h[i]);
    CHECK(ordered);
    tl_log_destroy(log);
}

int main(void)
{
    th_begin("unit_log");
    epoch_rule();
    sequenced();
    busy();
    config_texts();
    handles_and_spans();
    chained_compaction();
    return th_end();
}
