/*
 * test_api.c - every public function of timelog.h: normal behaviour, edge
 * cases and bad input.  Small, deterministic scenarios; the randomized
 * coverage lives in test_differential.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "probe.h"
#include "ref_model.h"
#include "timelog.h"
#include "timelog_testing.h"

/* A failing call must say why, in its thread's detail message. */
#define CHECK_FAILS(expr, want)                                               \
    do {                                                                      \
        tl_status st_f_ = (expr);                                             \
        const char *msg_f_ = tl_last_error();                                 \
        CHECKF(st_f_ == (want), "%s: got %s, want %s", #expr,                 \
               th_status_name(st_f_), th_status_name(want));                  \
        CHECKF(msg_f_ != NULL && msg_f_[0] != '\0',                           \
               "%s: empty tl_last_error()", #expr);                           \
    } while (0)

#define CHECK_INVAL(expr) CHECK_FAILS(expr, TL_EINVAL)

#define CHECK_CLOSED(expr)                                                    \
    do {                                                                      \
        tl_status st_c_ = (expr);                                             \
        const char *msg_c_ = tl_last_error();                                 \
        CHECKF(st_c_ == TL_ESTATE, "%s on a closed log: got %s", #expr,       \
               th_status_name(st_c_));                                        \
        CHECKF(msg_c_ && strcmp(msg_c_, "timelog is closed") == 0,            \
               "%s on a closed log: message \"%s\"", #expr,                   \
               msg_c_ ? msg_c_ : "(null)");                                   \
    } while (0)

/* The detail message of the last call mentions every word given. */
static void check_msg_mentions(const char *file, int line, const char *what,
                               const char *const *words)
{
    const char *msg = tl_last_error();
    for (; *words; words++)
        th_check(msg && strstr(msg, *words) != NULL, file, line,
                 "%s: message \"%s\" does not mention \"%s\"", what,
                 msg ? msg : "(null)", *words);
}
#define CHECK_MSG(what, ...)                                                  \
    do {                                                                      \
        const char *const words_[] = {__VA_ARGS__, NULL};                     \
        check_msg_mentions(__FILE__, __LINE__, what, words_);                 \
    } while (0)

static tl_log *open_small(int32_t busy, int64_t sealed_max_runs,
                          int64_t drain_limit)
{
    tl_config cfg;
    probe_tiny_config(&cfg, busy, TL_MAINT_DISABLED);
    cfg.sealed_max_runs = sealed_max_runs;
    cfg.drain_batch_limit = drain_limit;
    tl_log *log = NULL;
    CHECK_ST(tl_log_open(&cfg, &log), TL_OK);
    CHECK(log != NULL);
    if (!log) {
        fprintf(stderr, "test_api: cannot open a log, stopping\n");
        exit(th_end() ? 1 : 1);
    }
    return log;
}

static tl_log *open_default(void)
{
    return open_small(TL_BUSY_SILENT, 4, 0);
}

static tl_stats stats_of(tl_log *log)
{
    tl_stats s;
    memset(&s, 0xff, sizeof s);
    CHECK_ST(tl_log_stats(log, &s), TL_OK);
    return s;
}

static void read_query(tl_log *log, int32_t kind, int64_t t1, int64_t t2,
                       recbuf *out)
{
    tl_iter *it = NULL;
    rb_clear(out);
    CHECK_ST(tl_log_iter(log, kind, t1, t2, &it), TL_OK);
    if (!it)
        return;
    CHECK_ST(probe_read_iter(it, out, PROBE_NEXT, NULL, __FILE__, __LINE__), TL_EOF);
    tl_iter_destroy(it);
}

static size_t count_query(tl_log *log, int32_t kind, int64_t t1, int64_t t2)
{
    recbuf b;
    rb_init(&b);
    read_query(log, kind, t1, t2, &b);
    size_t n = b.n;
    rb_free(&b);
    return n;
}

typedef struct seen_set {
    uint64_t max_h;
    unsigned char *seen; /* by handle, or NULL */
} seen_set;

/* Each handle is in [1, max_h] and (if tracked) comes back once. */
static void seen_once(void *ctx, tl_handle h)
{
    seen_set *s = ctx;
    if (!CHECKF(h >= 1 && h <= s->max_h, "drained unknown handle %llu",
                (unsigned long long)h) ||
        !s->seen)
        return;
    CHECKF(!s->seen[h], "handle %llu drained twice", (unsigned long long)h);
    s->seen[h] = 1;
}

/* Close an idle log and drain it; returns how many handles came back. */
static size_t close_and_drain(tl_log *log, uint64_t max_h, unsigned char *seen)
{
    CHECK_ST(tl_log_close(log), TL_OK);
    seen_set s = {max_h, seen};
    return probe_drain_all(log, seen_once, &s, __FILE__, __LINE__);
}

/* ------------------------------------------------------------------------ */

static void test_messages(void)
{
    const tl_status codes[] = {TL_OK, TL_EOF, TL_EINVAL, TL_ESTATE, TL_EBUSY,
                               TL_ENOMEM, TL_EOVERFLOW, TL_EINTERNAL, 42, -99};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *m = tl_status_message(codes[i]);
        CHECKF(m != NULL && m[0] != '\0', "tl_status_message(%d)", codes[i]);
    }
    CHECK(tl_last_error() != NULL);
}

static void test_config(void)
{
    tl_config c;
    memset(&c, 0x5a, sizeof c);
    tl_config_init(&c);
    CHECK_EQ_I(c.time_unit, TL_UNIT_MS);
    CHECK_EQ_I(c.maintenance, TL_MAINT_DISABLED);
    CHECK_EQ_I(c.busy_policy, TL_BUSY_FLUSH);
    CHECK_EQ_I(c.reserved, 0);
    CHECK_EQ_I(c.memtable_max_bytes, 1024 * 1024);
    CHECK_EQ_I(c.target_page_bytes, 64 * 1024);
    CHECK_EQ_I(c.sealed_max_runs, 4);
    CHECK_EQ_I(c.drain_batch_limit, 0);

    static const struct {
        const char *name, *value;
        int32_t want;
    } strs[] = {
        {"time_unit", "s", TL_UNIT_S},     {"time_unit", "ms", TL_UNIT_MS},
        {"time_unit", "us", TL_UNIT_US},   {"time_unit", "ns", TL_UNIT_NS},
        {"maintenance", "background", TL_MAINT_BACKGROUND},
        {"maintenance", "disabled", TL_MAINT_DISABLED},
        {"busy_policy", "silent", TL_BUSY_SILENT},
        {"busy_policy", "flush", TL_BUSY_FLUSH},
        {"busy_policy", "raise", TL_BUSY_RAISE},
    };
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        CHECK_ST(th_set_str(&c, strs[i].name, strs[i].value), TL_OK);
        int32_t got = strcmp(strs[i].name, "time_unit") == 0     ? c.time_unit
                      : strcmp(strs[i].name, "maintenance") == 0 ? c.maintenance
                                                                 : c.busy_policy;
        CHECKF(got == strs[i].want, "%s=%s gave %d", strs[i].name, strs[i].value, got);
    }

    /* Bad values: the message names the parameter and the allowed values. */
    tl_config before = c;
    CHECK_INVAL(th_set_str(&c, "time_unit", "xx"));
    CHECK_MSG("time_unit=xx", "time_unit", "s", "ms", "us", "ns");
    CHECK_INVAL(th_set_str(&c, "time_unit", "MS"));
    CHECK_INVAL(th_set_str(&c, "time_unit", ""));
    CHECK_INVAL(th_set_str(&c, "maintenance", "sometimes"));
    CHECK_MSG("maintenance=sometimes", "maintenance", "disabled", "background");
    CHECK_INVAL(th_set_str(&c, "busy_policy", "panic"));
    CHECK_MSG("busy_policy=panic", "busy_policy", "raise", "silent", "flush");
    CHECK_INVAL(th_set_str(&c, "colour", "blue"));
    CHECK_MSG("unknown option", "colour");
    CHECK_INVAL(th_set_str(&c, "memtable_max_bytes", "10"));
    CHECK_INVAL(th_set_str(NULL, "time_unit", "ms"));
    CHECK_INVAL(th_set_str(&c, NULL, "ms"));
    CHECK_INVAL(th_set_str(&c, "time_unit", NULL));
    CHECK(memcmp(&before, &c, sizeof c) == 0);

    static const char *const ints[] = {"memtable_max_bytes", "target_page_bytes",
                                       "sealed_max_runs", "drain_batch_limit"};
    for (size_t i = 0; i < 4; i++) {
        CHECK_ST(tl_config_set_int(&c, ints[i], 7), TL_OK);
        CHECK_INVAL(tl_config_set_int(&c, ints[i], -1));
        CHECK_MSG(ints[i], ints[i]);
        CHECK_INVAL(tl_config_set_int(&c, ints[i], INT64_MIN));
        CHECK_MSG(ints[i], ints[i]);
        if (i < 3) {
            CHECK_INVAL(tl_config_set_int(&c, ints[i], 0));
            CHECK_MSG(ints[i], ints[i]);
        } else {
            CHECK_ST(tl_config_set_int(&c, ints[i], 0), TL_OK);
            CHECK_EQ_I(c.drain_batch_limit, 0);
        }
    }
    CHECK(c.memtable_max_bytes >= 7 && c.target_page_bytes >= 7);
    CHECK_EQ_I(c.sealed_max_runs, 7);
    CHECK_INVAL(tl_config_set_int(&c, "time_unit", 1));
    CHECK_INVAL(tl_config_set_int(&c, "bogus", 1));
    CHECK_MSG("unknown int option", "bogus");
    CHECK_INVAL(tl_config_set_int(NULL, "sealed_max_runs", 1));
    CHECK_INVAL(tl_config_set_int(&c, NULL, 1));

    int32_t kind = -7;
    CHECK_ST(th_span_kind("segment", &kind), TL_OK);
    CHECK_EQ_I(kind, TL_SPANS_SEGMENT);
    CHECK_ST(th_span_kind("all", &kind), TL_OK);
    CHECK_EQ_I(kind, TL_SPANS_ALL);
    CHECK_INVAL(th_span_kind("pages", &kind));
    CHECK_MSG("span kind", "segment", "all");
    CHECK_INVAL(th_span_kind(NULL, &kind));
    CHECK_INVAL(th_span_kind("all", NULL));
}

static void test_open_and_rounding(void)
{
    tl_log *log = NULL;
    CHECK_ST(tl_log_open(NULL, &log), TL_OK);
    CHECK(log != NULL);
    tl_config c;
    CHECK_ST(tl_log_config(log, &c), TL_OK);
    tl_config d;
    tl_config_init(&d);
    CHECK(memcmp(&c, &d, sizeof c) == 0);
    CHECK(strcmp(tl_log_option_str(log, "time_unit"), "ms") == 0);
    CHECK(strcmp(tl_log_option_str(log, "maintenance"), "disabled") == 0);
    CHECK(strcmp(tl_log_option_str(log, "busy_policy"), "flush") == 0);
    CHECK(tl_log_option_str(log, "memtable_max_bytes") == NULL);
    CHECK(tl_log_option_str(log, "nope") == NULL);
    CHECK(tl_log_option_str(log, NULL) == NULL);
    CHECK(tl_log_option_str(NULL, "time_unit") == NULL);
    CHECK_INVAL(tl_log_config(NULL, &c));
    CHECK_INVAL(tl_log_config(log, NULL));
    CHECK_EQ_I(tl_log_is_closed(log), 0);
    CHECK_ST(tl_log_close(log), TL_OK);
    CHECK_ST(tl_log_destroy(log), TL_OK);

    static const struct {
        int64_t mem, page, want_mem, want_page;
    } rnd[] = {
        {1, 1, 1024, 256},
        {1023, 255, 1024, 256},
        {1024, 256, 1024, 256},
    };
    for (size_t i = 0; i < sizeof rnd / sizeof rnd[0]; i++) {
        tl_config_init(&c);
        c.memtable_max_bytes = rnd[i].mem;
        c.target_page_bytes = rnd[i].page;
        log = NULL;
        CHECK_ST(tl_log_open(&c, &log), TL_OK);
        tl_config got;
        CHECK_ST(tl_log_config(log, &got), TL_OK);
        CHECK_EQ_I(got.memtable_max_bytes, rnd[i].want_mem);
        CHECK_EQ_I(got.target_page_bytes, rnd[i].want_page);
        tl_log_destroy(log);
    }
    tl_config_init(&c);
    c.memtable_max_bytes = 5000;
    c.target_page_bytes = 3000;
    c.sealed_max_runs = 3;
    c.drain_batch_limit = 9;
    c.time_unit = TL_UNIT_NS;
    c.busy_policy = TL_BUSY_FLUSH;
    log = NULL;
    CHECK_ST(tl_log_open(&c, &log), TL_OK);
    tl_config got;
    CHECK_ST(tl_log_config(log, &got), TL_OK);
    CHECK(got.memtable_max_bytes >= 5000);
    CHECK(got.target_page_bytes >= 3000);
    CHECK_EQ_I(got.sealed_max_runs, 3);
    CHECK_EQ_I(got.drain_batch_limit, 9);
    CHECK_EQ_I(got.time_unit, TL_UNIT_NS);
    CHECK(strcmp(tl_log_option_str(log, "time_unit"), "ns") == 0);
    CHECK(strcmp(tl_log_option_str(log, "busy_policy"), "flush") == 0);
    tl_log_destroy(log);

    static const char *const units[] = {"s", "ms", "us", "ns"};
    for (int u = 0; u < 4; u++) {
        tl_config_init(&c);
        CHECK_ST(th_set_str(&c, "time_unit", units[u]), TL_OK);
        CHECK_ST(th_set_str(&c, "busy_policy", "silent"), TL_OK);
        log = NULL;
        CHECK_ST(tl_log_open(&c, &log), TL_OK);
        CHECK(strcmp(tl_log_option_str(log, "time_unit"), units[u]) == 0);
        CHECK(strcmp(tl_log_option_str(log, "busy_policy"), "silent") == 0);
        tl_log_destroy(log);
    }

    /* tl_log_open validates the struct itself. */
    for (int bad = 0; bad < 9; bad++) {
        tl_config_init(&c);
        switch (bad) {
        case 0: c.time_unit = 4; break;
        case 1: c.maintenance = 2; break;
        case 2: c.busy_policy = -1; break;
        case 3: c.reserved = 1; break;
        case 4: c.memtable_max_bytes = 0; break;
        case 5: c.target_page_bytes = -4; break;
        case 6: c.sealed_max_runs = 0; break;
        case 7: c.drain_batch_limit = -1; break;
        default: c.time_unit = -1; break;
        }
        log = NULL;
        CHECK_INVAL(tl_log_open(&c, &log));
        CHECKF(log == NULL, "bad config %d produced a log", bad);
        if (log)
            tl_log_destroy(log);
    }
    tl_config_init(&c);
    CHECK_INVAL(tl_log_open(&c, NULL));
    CHECK_ST(tl_log_destroy(NULL), TL_OK);
}

static void test_null_arguments(void)
{
    tl_log *log = open_default();
    int64_t ts[4] = {1, 2, 3, 4};
    tl_handle hs[4] = {1, 2, 3, 4};
    size_t n = 0;
    tl_stats s;
    tl_snapshot *snap = NULL;
    tl_iter *it = NULL;
    tl_spans *sp = NULL;
    tl_span span;

    CHECK_INVAL(tl_log_close(NULL));
    CHECK_INVAL(tl_append(NULL, 1, 1));
    CHECK_INVAL(tl_append_batch(NULL, ts, hs, 4, &n));
    CHECK_INVAL(tl_append_batch(log, NULL, hs, 4, &n));
    CHECK_INVAL(tl_append_batch(log, ts, NULL, 4, &n));
    CHECK_INVAL(tl_append_batch(log, ts, hs, 4, NULL));
    CHECK_INVAL(tl_delete_range(NULL, 1, 2));
    CHECK_INVAL(tl_delete_before(NULL, 1));
    CHECK_INVAL(tl_flush(NULL));
    CHECK_INVAL(tl_compact(NULL));
    CHECK_INVAL(tl_maint_start(NULL));
    CHECK_INVAL(tl_maint_stop(NULL));
    CHECK_INVAL(tl_drain_retired(NULL, hs, 4, &n));
    CHECK_INVAL(tl_drain_retired(log, NULL, 4, &n));
    CHECK_INVAL(tl_drain_retired(log, hs, 4, NULL));
    CHECK_INVAL(tl_log_handles(NULL, hs, 4, &n));
    CHECK_INVAL(tl_log_handles(log, NULL, 4, &n));
    CHECK_INVAL(tl_log_handles(log, hs, 4, NULL));
    CHECK_INVAL(tl_log_stats(NULL, &s));
    CHECK_INVAL(tl_log_stats(log, NULL));
    CHECK_INVAL(tl_snapshot_acquire(NULL, &snap));
    CHECK_INVAL(tl_snapshot_acquire(log, NULL));
    CHECK_INVAL(tl_snapshot_retain(NULL));
    CHECK(tl_snapshot_log(NULL) == NULL);
    tl_snapshot_release(NULL);
    CHECK_INVAL(tl_iter_open(NULL, TL_QUERY_ALL, 0, 0, &it));
    CHECK_INVAL(tl_log_iter(NULL, TL_QUERY_ALL, 0, 0, &it));
    CHECK_INVAL(tl_log_iter(log, TL_QUERY_ALL, 0, 0, NULL));
    CHECK_INVAL(tl_log_iter(log, 5, 0, 10, &it));
    CHECK_INVAL(tl_log_iter(log, -1, 0, 10, &it));
    CHECK_INVAL(tl_iter_next(NULL, &ts[0], &hs[0]));
    CHECK_INVAL(tl_iter_next_batch(NULL, ts, hs, 4, &n));
    tl_iter_destroy(NULL);
    CHECK_INVAL(tl_spans_open(NULL, 0, 10, TL_SPANS_ALL, &sp));
    CHECK_INVAL(tl_spans_next(NULL, &span));
    tl_spans_destroy(NULL);
    tl_span_release(NULL);
    memset(&span, 0, sizeof span);
    tl_span_release(&span);

    /* Arguments that need a live snapshot / iterator / enumerator. */
    CHECK_ST(tl_append(log, 5, 1), TL_OK);
    CHECK_ST(tl_snapshot_acquire(log, &snap), TL_OK);
    CHECK(tl_snapshot_log(snap) == log);
    CHECK_INVAL(tl_iter_open(snap, TL_QUERY_ALL, 0, 0, NULL));
    CHECK_INVAL(tl_iter_open(snap, 9, 0, 0, &it));
    CHECK_INVAL(tl_spans_open(snap, 0, 10, TL_SPANS_ALL, NULL));
    CHECK_INVAL(tl_spans_open(snap, 0, 10, 7, &sp));
    CHECK_ST(tl_iter_open(snap, TL_QUERY_ALL, 0, 0, &it), TL_OK);
    int64_t t;
    tl_handle h;
    CHECK_INVAL(tl_iter_next(it, NULL, &h));
    CHECK_INVAL(tl_iter_next(it, &t, NULL));
    CHECK_INVAL(tl_iter_next_batch(it, NULL, hs, 4, &n));
    CHECK_INVAL(tl_iter_next_batch(it, ts, NULL, 4, &n));
    CHECK_INVAL(tl_iter_next_batch(it, ts, hs, 4, NULL));
    /* The bad calls consumed nothing. */
    CHECK_ST(tl_iter_next(it, &t, &h), TL_OK);
    CHECK(t == 5 && h == 1);
    tl_iter_destroy(it);
    CHECK_ST(tl_spans_open(snap, 0, 10, TL_SPANS_ALL, &sp), TL_OK);
    CHECK_INVAL(tl_spans_next(sp, NULL));
    tl_spans_destroy(sp);
    tl_snapshot_release(snap);
    CHECK_ST(tl_log_close(log), TL_OK);
    tl_log_destroy(log);
}

static void test_closed_log(void)
{
    tl_log *log = open_small(TL_BUSY_SILENT, 4, 2);
    for (uint64_t i = 1; i <= 40; i++)
        CHECK_ST(tl_append(log, (int64_t)(i % 13), i), TL_OK);
    CHECK_ST(tl_flush(log), TL_OK);
    CHECK_ST(tl_log_close(log), TL_OK);
    CHECK_EQ_I(tl_log_is_closed(log), 1);

    int64_t ts[2] = {1, 2};
    tl_handle hs[2] = {100, 101};
    size_t n = 99;
    tl_snapshot *snap = NULL;
    tl_iter *it = NULL;
    CHECK_CLOSED(tl_append(log, 1, 100));
    CHECK_CLOSED(tl_append_batch(log, ts, hs, 2, &n));
    CHECK_CLOSED(tl_delete_range(log, 0, 10));
    CHECK_CLOSED(tl_delete_before(log, 10));
    CHECK_CLOSED(tl_flush(log));
    CHECK_CLOSED(tl_compact(log));
    CHECK_CLOSED(tl_maint_start(log));
    CHECK_CLOSED(tl_maint_stop(log));
    CHECK_CLOSED(tl_snapshot_acquire(log, &snap));
    CHECK(snap == NULL);
    CHECK_CLOSED(tl_log_iter(log, TL_QUERY_ALL, 0, 0, &it));
    CHECK(it == NULL);

    /* Still answered on a closed log. */
    CHECK(strcmp(tl_log_option_str(log, "time_unit"), "ms") == 0);
    CHECK(strcmp(tl_log_option_str(log, "busy_policy"), "silent") == 0);
    tl_stats s = stats_of(log);
    CHECK_EQ_U(s.live_snapshots, 0);
    CHECK_EQ_U(s.retired_len, 40);
    size_t total = 0;
    CHECK_ST(tl_log_handles(log, NULL, 0, &total), TL_OK);
    CHECK_EQ_U(total, 40);
    CHECK_ST(tl_log_close(log), TL_OK); /* a no-op */

    unsigned char seen[41] = {0};
    seen_set ss = {40, seen};
    size_t got = probe_drain_all(log, seen_once, &ss, __FILE__, __LINE__);
    CHECK_EQ_U(got, 40);
    CHECK_ST(tl_log_handles(log, NULL, 0, &total), TL_OK);
    CHECK_EQ_U(total, 0);
    CHECK_EQ_U(stats_of(log).retired_len, 0);
    CHECK_ST(tl_log_destroy(log), TL_OK);
}

static void test_ranges_and_queries(void)
{
    tl_log *log = open_default();
    /* ts:   1  3  3  5  7  9  INT64_MIN  INT64_MAX */
    const int64_t ts[] = {3, 1, 5, 3, 9, 7, TL_TS_MIN, TL_TS_MAX};
    for (uint64_t i = 0; i < 8; i++)
        CHECK_ST(tl_append(log, ts[i], i + 1), TL_OK);
    recbuf b;
    rb_init(&b);

    CHECK_EQ_U(count_query(log, TL_QUERY_RANGE, 5, 5), 0);
    CHECK_EQ_U(count_query(log, TL_QUERY_RANGE, 6, 5), 0);
    CHECK_EQ_U(count_query(log, TL_QUERY_RANGE, TL_TS_MAX, TL_TS_MIN), 0);
    CHECK_EQ_U(count_query(log, TL_QUERY_RANGE, 3, 4), 2);
    CHECK_EQ_U(count_query(log, TL_QUERY_RANGE, 3, 5), 2);   /* half-open */
    CHECK_EQ_U(count_query(log, TL_QUERY_RANGE, 2, 8), 4);
    CHECK_EQ_U(count_query(log, TL_QUERY_RANGE, TL_TS_MIN, TL_TS_MAX), 7);
    CHECK_EQ_U(count_query(log, TL_QUERY_SINCE, 5, -1000), 4);
    CHECK_EQ_U(count_query(log, TL_QUERY_SINCE, TL_TS_MIN, 0), 8);
    CHECK_EQ_U(count_query(log, TL_QUERY_SINCE, TL_TS_MAX, 0), 1);
    CHECK_EQ_U(count_query(log, TL_QUERY_UNTIL, 1000, 5), 4);
    CHECK_EQ_U(count_query(log, TL_QUERY_UNTIL, 0, TL_TS_MIN), 0);
    CHECK_EQ_U(count_query(log, TL_QUERY_UNTIL, 0, TL_TS_MAX), 7);
    CHECK_EQ_U(count_query(log, TL_QUERY_ALL, 100, -100), 8);
    CHECK_EQ_U(count_query(log, TL_QUERY_POINT, 3, -50), 2);
    CHECK_EQ_U(count_query(log, TL_QUERY_POINT, 4, 0), 0);
    CHECK_EQ_U(count_query(log, TL_QUERY_POINT, TL_TS_MAX, 0), 1);
    CHECK_EQ_U(count_query(log, TL_QUERY_POINT, TL_TS_MIN, 0), 1);

    read_query(log, TL_QUERY_ALL, 0, 0, &b);
    const int64_t want_ts[] = {TL_TS_MIN, 1, 3, 3, 5, 7, 9, TL_TS_MAX};
    const tl_handle want_h[] = {7, 2, 1, 4, 3, 6, 5, 8};
    CHECK_EQ_U(b.n, 8);
    for (size_t i = 0; i < 8 && i < b.n; i++)
        CHECKF(b.ts[i] == want_ts[i] && b.h[i] == want_h[i],
               "all()[%zu] = (%lld, %llu)", i, (long long)b.ts[i],
               (unsigned long long)b.h[i]);

    /* Reversed and empty deletes delete nothing. */
    CHECK_ST(tl_delete_range(log, 9, 3), TL_OK);
    CHECK_ST(tl_delete_range(log, 5, 5), TL_OK);
    CHECK_ST(tl_delete_range(log, TL_TS_MAX, TL_TS_MIN), TL_OK);
    CHECK_ST(tl_delete_before(log, TL_TS_MIN), TL_OK);
    CHECK_EQ_U(count_query(log, TL_QUERY_ALL, 0, 0), 8);
    /* Spans of a reversed range are empty too. */
    tl_snapshot *snap = NULL;
    CHECK_ST(tl_snapshot_acquire(log, &snap), TL_OK);
    rb_clear(&b);
    CHECK_ST(probe_collect_spans(snap, 9, 3, TL_SPANS_ALL, &b, __FILE__, __LINE__), TL_EOF);
    CHECK_EQ_U(b.n, 0);
    tl_snapshot_release(snap);

    /* The widest delete cannot reach INT64_MAX (half-open). */
    CHECK_ST(tl_delete_range(log, TL_TS_MIN, TL_TS_MAX), TL_OK);
    read_query(log, TL_QUERY_ALL, 0, 0, &b);
    CHECK(b.n == 1 && b.ts[0] == TL_TS_MAX && b.h[0] == 8);
    /* Records inserted after a delete stay visible. */
    CHECK_ST(tl_append(log, 3, 9), TL_OK);
    CHECK_ST(tl_delete_before(log, 3), TL_OK);
    CHECK_EQ_U(count_query(log, TL_QUERY_POINT, 3, 0), 1);
    CHECK_ST(tl_delete_before(log, 4), TL_OK);
    CHECK_EQ_U(count_query(log, TL_QUERY_POINT, 3, 0), 0);
    CHECK_ST(tl_append(log, 3, 10), TL_OK);
    CHECK_ST(tl_compact(log), TL_OK);
    read_query(log, TL_QUERY_ALL, 0, 0, &b);
    CHECK(b.n == 2 && b.h[0] == 10 && b.h[1] == 8);

    rb_free(&b);
    unsigned char seen[11] = {0};
    size_t drained = close_and_drain(log, 10, seen);
    CHECK_EQ_U(drained, 10);
    tl_log_destroy(log);
}

/* Equal timestamps come back in insertion order, whatever layer holds them. */
static void test_duplicates_order(void)
{
    tl_log *log = open_default();
    recbuf b;
    rb_init(&b);
    uint64_t h = 0;
    CHECK_ST(tl_append(log, 10, ++h), TL_OK); /* 1 */
    CHECK_ST(tl_append(log, 20, ++h), TL_OK); /* 2 */
    CHECK_ST(tl_flush(log), TL_OK);
    CHECK_ST(tl_append(log, 10, ++h), TL_OK); /* 3: late vs the flushed 20 */
    CHECK_ST(tl_compact(log), TL_OK);
    CHECK_ST(tl_append(log, 30, ++h), TL_OK); /* 4 */
    CHECK_ST(tl_append(log, 10, ++h), TL_OK); /* 5: late, out-of-order buffer */
    CHECK_ST(tl_flush(log), TL_OK);
    CHECK_ST(tl_append(log, 10, ++h), TL_OK); /* 6 */
    CHECK_ST(tl_append(log, 40, ++h), TL_OK); /* 7 */
    CHECK_ST(tl_append(log, 10, ++h), TL_OK); /* 8 */
    const tl_handle want[] = {1, 3, 5, 6, 8};
    for (int round = 0; round < 3; round++) {
        read_query(log, TL_QUERY_POINT, 10, 0, &b);
        CHECK_EQ_U(b.n, 5);
        for (size_t i = 0; i < 5 && i < b.n; i++)
            CHECKF(b.ts[i] == 10 && b.h[i] == want[i],
                   "round %d point(10)[%zu] = handle %llu, want %llu", round, i,
                   (unsigned long long)b.h[i], (unsigned long long)want[i]);
        read_query(log, TL_QUERY_RANGE, 10, 11, &b);
        CHECK_EQ_U(b.n, 5);
        for (size_t i = 0; i < 5 && i < b.n; i++)
            CHECKF(b.h[i] == want[i], "round %d range[%zu]", round, i);
        if (round == 0)
            CHECK_ST(tl_flush(log), TL_OK);
        else
            CHECK_ST(tl_compact(log), TL_OK);
    }
    /* A point query across many duplicates spread over pages. */
    for (int i = 0; i < 300; i++)
        CHECK_ST(tl_append(log, 25, ++h), TL_OK);
    CHECK_ST(tl_flush(log), TL_OK);
    for (int i = 0; i < 50; i++)
        CHECK_ST(tl_append(log, 25, ++h), TL_OK);
    read_query(log, TL_QUERY_POINT, 25, 0, &b);
    CHECK_EQ_U(b.n, 350);
    int ordered = 1;
    for (size_t i = 1; i < b.n; i++)
        ordered &= b.h[i - 1] < b.h[i] && b.ts[i] == 25;
    CHECK(ordered);
    CHECK_EQ_U(count_query(log, TL_QUERY_POINT, 24, 0), 0);
    CHECK_EQ_U(count_query(log, TL_QUERY_POINT, 26, 0), 0);
    rb_free(&b);
    CHECK_EQ_U(close_and_drain(log, h, NULL), h);
    tl_log_destroy(log);
}

static void test_iterators(void)
{
    tl_log *log = open_default();
    for (uint64_t i = 1; i <= 10; i++)
        CHECK_ST(tl_append(log, (int64_t)i * 10, i), TL_OK);
    tl_iter *it = NULL;
    int64_t ts[16];
    tl_handle hs[16];
    size_t n;

    /* next until EOF, then EOF forever. */
    CHECK_ST(tl_log_iter(log, TL_QUERY_RANGE, 20, 40, &it), TL_OK);
    int64_t t;
    tl_handle h;
    CHECK_ST(tl_iter_next(it, &t, &h), TL_OK);
    CHECK(t == 20 && h == 2);
    CHECK_ST(tl_iter_next(it, &t, &h), TL_OK);
    CHECK(t == 30 && h == 3);
    for (int i = 0; i < 3; i++)
        CHECK_ST(tl_iter_next(it, &t, &h), TL_EOF);
    n = 7;
    CHECK_ST(tl_iter_next_batch(it, ts, hs, 4, &n), TL_EOF);
    CHECK_EQ_U(n, 0);
    n = 7;
    CHECK_ST(tl_iter_next_batch(it, ts, hs, 0, &n), TL_EOF);
    CHECK_EQ_U(n, 0);
    tl_iter_destroy(it);

    /* cap 0 consumes nothing; exact-cap batch is TL_OK; then TL_EOF, 0. */
    CHECK_ST(tl_log_iter(log, TL_QUERY_ALL, 0, 0, &it), TL_OK);
    n = 7;
    CHECK_ST(tl_iter_next_batch(it, ts, hs, 0, &n), TL_OK);
    CHECK_EQ_U(n, 0);
    n = 0;
    CHECK_ST(tl_iter_next_batch(it, ts, hs, 4, &n), TL_OK);
    CHECK(n == 4 && ts[0] == 10 && ts[3] == 40 && hs[3] == 4);
    CHECK_ST(tl_iter_next(it, &t, &h), TL_OK);
    CHECK(t == 50);
    n = 0;
    CHECK_ST(tl_iter_next_batch(it, ts, hs, 5, &n), TL_OK);
    CHECK(n == 5 && ts[0] == 60 && ts[4] == 100);
    n = 7;
    CHECK_ST(tl_iter_next_batch(it, ts, hs, 5, &n), TL_EOF);
    CHECK_EQ_U(n, 0);
    CHECK_ST(tl_iter_next(it, &t, &h), TL_EOF);
    tl_iter_destroy(it);

    /* A short batch ends with TL_EOF. */
    CHECK_ST(tl_log_iter(log, TL_QUERY_SINCE, 75, 0, &it), TL_OK);
    n = 0;
    CHECK_ST(tl_iter_next_batch(it, ts, hs, 16, &n), TL_EOF);
    CHECK(n == 3 && ts[0] == 80 && ts[2] == 100);
    CHECK_ST(tl_iter_next_batch(it, ts, hs, 16, &n), TL_EOF);
    CHECK_EQ_U(n, 0);
    tl_iter_destroy(it);

    /* An empty query: EOF at once. */
    CHECK_ST(tl_log_iter(log, TL_QUERY_RANGE, 41, 49, &it), TL_OK);
    CHECK_ST(tl_iter_next(it, &t, &h), TL_EOF);
    CHECK_ST(tl_iter_next(it, &t, &h), TL_EOF);
    tl_iter_destroy(it);

    /* Snapshot semantics: an iterator sees the log as it was when opened,
     * through appends, deletes, flush and compaction. */
    tl_iter *old = NULL, *part = NULL;
    CHECK_ST(tl_log_iter(log, TL_QUERY_ALL, 0, 0, &old), TL_OK);
    CHECK_ST(tl_log_iter(log, TL_QUERY_RANGE, 30, 80, &part), TL_OK);
    CHECK_ST(tl_iter_next(part, &t, &h), TL_OK);
    CHECK(t == 30);
    CHECK_ST(tl_delete_range(log, 0, 1000), TL_OK);
    CHECK_ST(tl_append(log, 55, 11), TL_OK);
    CHECK_ST(tl_compact(log), TL_OK);
    recbuf b;
    rb_init(&b);
    CHECK_ST(probe_read_iter(old, &b, 3, NULL, __FILE__, __LINE__), TL_EOF);
    CHECK_EQ_U(b.n, 10);
    for (size_t i = 0; i < b.n; i++)
        CHECK(b.ts[i] == (int64_t)(i + 1) * 10 && b.h[i] == i + 1);
    rb_clear(&b);
    CHECK_ST(probe_read_iter(part, &b, PROBE_NEXT, NULL, __FILE__, __LINE__), TL_EOF);
    CHECK(b.n == 4 && b.ts[0] == 40 && b.ts[3] == 70);
    tl_iter_destroy(old);
    tl_iter_destroy(part);
    read_query(log, TL_QUERY_ALL, 0, 0, &b);
    CHECK(b.n == 1 && b.ts[0] == 55 && b.h[0] == 11);

    /* An iterator keeps its snapshot after the caller drops its own ref. */
    tl_snapshot *snap = NULL;
    CHECK_ST(tl_snapshot_acquire(log, &snap), TL_OK);
    CHECK_ST(tl_snapshot_retain(snap), TL_OK);
    tl_snapshot_release(snap);
    CHECK_ST(tl_iter_open(snap, TL_QUERY_POINT, 55, 0, &it), TL_OK);
    tl_snapshot_release(snap);
    CHECK_ST(tl_append(log, 55, 12), TL_OK);
    CHECK_ST(tl_iter_next(it, &t, &h), TL_OK);
    CHECK(t == 55 && h == 11);
    CHECK_ST(tl_iter_next(it, &t, &h), TL_EOF);
    tl_iter_destroy(it);
    CHECK_EQ_U(stats_of(log).live_snapshots, 0);
    rb_free(&b);
    CHECK_EQ_U(close_and_drain(log, 12, NULL), 12);
    tl_log_destroy(log);
}

static void test_spans(void)
{
    tl_log *log = open_default();
    ref_model m;
    ref_init(&m);
    uint64_t h = 0;
    for (int i = 0; i < 500; i++) {
        int64_t t = (i * 7) % 311;
        CHECK_ST(tl_append(log, t, ++h), TL_OK);
        ref_insert(&m, t, h);
    }
    tl_snapshot *snap = NULL;
    /* Unflushed: SEGMENT may leave records out, ALL must cover them. */
    CHECK_ST(tl_snapshot_acquire(log, &snap), TL_OK);
    probe_spans_all(snap, &m, TL_TS_MIN, TL_TS_MAX, __FILE__, __LINE__);
    probe_spans_all(snap, &m, 17, 200, __FILE__, __LINE__);
    probe_spans_segment(snap, &m, 17, 200, 0, __FILE__, __LINE__);
    tl_snapshot_release(snap);

    CHECK_ST(tl_flush(log), TL_OK);
    CHECK_ST(tl_snapshot_acquire(log, &snap), TL_OK);
    probe_spans_segment(snap, &m, TL_TS_MIN, TL_TS_MAX, 1, __FILE__, __LINE__);
    probe_spans_segment(snap, &m, 100, 101, 1, __FILE__, __LINE__);
    probe_spans_all(snap, &m, 50, 250, __FILE__, __LINE__);
    tl_snapshot_release(snap);

    /* Deleted records never appear: spans split around them. */
    CHECK_ST(tl_delete_range(log, 100, 150), TL_OK);
    ref_delete_range(&m, 100, 150, NULL, NULL);
    for (int i = 0; i < 10; i++) {
        CHECK_ST(tl_delete_range(log, 160 + 3 * i, 161 + 3 * i), TL_OK);
        ref_delete_range(&m, 160 + 3 * i, 161 + 3 * i, NULL, NULL);
    }
    CHECK_ST(tl_append(log, 120, ++h), TL_OK);
    ref_insert(&m, 120, h);
    CHECK_ST(tl_snapshot_acquire(log, &snap), TL_OK);
    probe_spans_segment(snap, &m, TL_TS_MIN, TL_TS_MAX, 0, __FILE__, __LINE__);
    probe_spans_all(snap, &m, TL_TS_MIN, TL_TS_MAX, __FILE__, __LINE__);
    probe_spans_all(snap, &m, 99, 190, __FILE__, __LINE__);

    /* A span keeps its memory valid and unchanged after everything else is
     * gone: the enumerator, the caller's snapshot, the records (deleted and
     * compacted away). */
    tl_spans *sp = NULL;
    CHECK_ST(tl_spans_open(snap, TL_TS_MIN, TL_TS_MAX, TL_SPANS_ALL, &sp), TL_OK);
    tl_span span;
    CHECK_ST(tl_spans_next(sp, &span), TL_OK);
    tl_spans_destroy(sp);
    tl_snapshot_release(snap);
    size_t len = span.len;
    int64_t *copy_ts = th_xmalloc(len * sizeof *copy_ts);
    tl_handle *copy_h = th_xmalloc(len * sizeof *copy_h);
    memcpy(copy_ts, span.ts, len * sizeof *copy_ts);
    memcpy(copy_h, span.h, len * sizeof *copy_h);
    CHECK(stats_of(log).live_snapshots > 0);
    CHECK_FAILS(tl_log_close(log), TL_EBUSY);
    CHECK_ST(tl_delete_before(log, TL_TS_MAX), TL_OK);
    CHECK_ST(tl_compact(log), TL_OK);
    CHECK(memcmp(copy_ts, span.ts, len * sizeof *copy_ts) == 0);
    CHECK(memcmp(copy_h, span.h, len * sizeof *copy_h) == 0);
    tl_span_release(&span);
    tl_span_release(&span); /* cleared: a no-op */
    CHECK_EQ_U(stats_of(log).live_snapshots, 0);
    free(copy_ts);
    free(copy_h);
    ref_free(&m);
    CHECK_EQ_U(close_and_drain(log, h, NULL), h);
    tl_log_destroy(log);
}

/* Deletes that touch, nest, or leave a one-timestamp gap: coalescing must
 * not swallow the gap, and every edge is half-open.  Run with the records in
 * the memtable, in pages, and split between both. */
static void test_tombstone_edges(void)
{
    static const int64_t dels[][2] = {
        {10, 20}, {21, 30}, {30, 31}, {40, 50}, {50, 60}, {62, 61}, {70, 80},
        {75, 76}, {85, 86}, {87, 88}, {89, 89}, {5, 6}, {4, 5}, {92, 95}, {91, 92},
    };
    for (int layout = 0; layout < 3; layout++) {
        tl_log *log = open_default();
        ref_model m;
        ref_init(&m);
        uint64_t h = 0;
        for (int64_t t = 0; t < 100; t++) {
            CHECK_ST(tl_append(log, t, ++h), TL_OK);
            ref_insert(&m, t, h);
            if (layout == 2 && t == 49)
                CHECK_ST(tl_flush(log), TL_OK);
        }
        if (layout == 1)
            CHECK_ST(tl_flush(log), TL_OK);
        for (size_t i = 0; i < sizeof dels / sizeof dels[0]; i++) {
            CHECK_ST(tl_delete_range(log, dels[i][0], dels[i][1]), TL_OK);
            ref_delete_range(&m, dels[i][0], dels[i][1], NULL, NULL);
            tl_snapshot *snap = NULL;
            CHECK_ST(tl_snapshot_acquire(log, &snap), TL_OK);
            if (!PROBE_QUERY(snap, &m, TL_QUERY_ALL, 0, 0, PROBE_NEXT, NULL))
                fprintf(stderr, "  (layout %d, after delete [%lld, %lld))\n", layout,
                        (long long)dels[i][0], (long long)dels[i][1]);
            for (int64_t t = dels[i][0] - 1; t <= dels[i][1] + 1; t++)
                PROBE_QUERY(snap, &m, TL_QUERY_POINT, t, 0, PROBE_NEXT, NULL);
            probe_spans_all(snap, &m, TL_TS_MIN, TL_TS_MAX, __FILE__, __LINE__);
            tl_snapshot_release(snap);
        }
        /* Re-inserted after the deletes: visible. */
        CHECK_ST(tl_append(log, 20, ++h), TL_OK);
        ref_insert(&m, 20, h);
        CHECK_ST(tl_append(log, 15, ++h), TL_OK);
        ref_insert(&m, 15, h);
        for (int step = 0; step < 2; step++) {
            CHECK_ST(step ? tl_compact(log) : tl_flush(log), TL_OK);
            tl_snapshot *snap = NULL;
            CHECK_ST(tl_snapshot_acquire(log, &snap), TL_OK);
            PROBE_QUERY(snap, &m, TL_QUERY_ALL, 0, 0, 9, NULL);
            probe_spans_segment(snap, &m, TL_TS_MIN, TL_TS_MAX, 1, __FILE__, __LINE__);
            tl_snapshot_release(snap);
        }
        ref_free(&m);
        CHECK_EQ_U(close_and_drain(log, h, NULL), h);
        tl_log_destroy(log);
    }
}

static void test_busy_policies(void)
{
    const int32_t policies[] = {TL_BUSY_RAISE, TL_BUSY_SILENT, TL_BUSY_FLUSH};
    for (int p = 0; p < 3; p++) {
        tl_log *log = open_small(policies[p], 1, 0);
        int busy = 0, other = 0;
        const uint64_t n = 5000;
        for (uint64_t i = 1; i <= n; i++) {
            tl_status st = tl_append(log, (int64_t)i, i);
            if (st == TL_EBUSY) {
                busy++;
                CHECK(tl_last_error()[0] != '\0');
            } else if (st != TL_OK) {
                other++;
            }
        }
        /* Batches report backpressure the same way, with all accepted. */
        int64_t ts[100];
        tl_handle hs[100];
        for (int i = 0; i < 100; i++) {
            ts[i] = (int64_t)(n + 100 - (uint64_t)i);
            hs[i] = n + 1 + (uint64_t)i;
        }
        size_t acc = 0;
        tl_status st = tl_append_batch(log, ts, hs, 100, &acc);
        CHECKF(st == TL_OK || (st == TL_EBUSY && policies[p] == TL_BUSY_RAISE),
               "policy %d batch: %s", policies[p], th_status_name(st));
        CHECK_EQ_U(acc, 100);
        busy += st == TL_EBUSY;
        CHECKF(other == 0, "policy %d: %d unexpected statuses", policies[p], other);
        if (policies[p] == TL_BUSY_RAISE)
            CHECKF(busy > 0, "raise: no TL_EBUSY in %llu tiny-memtable appends",
                   (unsigned long long)n);
        else
            CHECKF(busy == 0, "policy %d returned TL_EBUSY %d times", policies[p], busy);
        CHECK_EQ_U(count_query(log, TL_QUERY_ALL, 0, 0), n + 100);
        tl_stats s = stats_of(log);
        if (policies[p] == TL_BUSY_FLUSH)
            CHECKF(s.flushes > 0 && s.l0_records + s.l1_records > 0,
                   "flush policy: flushes %llu", (unsigned long long)s.flushes);
        if (policies[p] == TL_BUSY_RAISE) {
            /* After a flush the queue has room again. */
            CHECK_ST(tl_flush(log), TL_OK);
            CHECK_ST(tl_append(log, 0, n + 101), TL_OK);
        }
        tl_log_destroy(log);
    }
}

static void test_close_busy(void)
{
    tl_log *log = open_default();
    for (uint64_t i = 1; i <= 100; i++)
        CHECK_ST(tl_append(log, (int64_t)i, i), TL_OK);
    CHECK_ST(tl_flush(log), TL_OK);
    uint64_t h = 100;
    for (int holder = 0; holder < 4; holder++) {
        tl_snapshot *snap = NULL;
        tl_iter *it = NULL;
        tl_spans *sp = NULL;
        tl_span span;
        memset(&span, 0, sizeof span);
        switch (holder) {
        case 0:
            CHECK_ST(tl_snapshot_acquire(log, &snap), TL_OK);
            break;
        case 1:
            CHECK_ST(tl_log_iter(log, TL_QUERY_ALL, 0, 0, &it), TL_OK);
            break;
        case 2:
            CHECK_ST(tl_snapshot_acquire(log, &snap), TL_OK);
            CHECK_ST(tl_spans_open(snap, 0, 1000, TL_SPANS_SEGMENT, &sp), TL_OK);
            tl_snapshot_release(snap);
            snap = NULL;
            break;
        default:
            CHECK_ST(tl_snapshot_acquire(log, &snap), TL_OK);
            CHECK_ST(tl_spans_open(snap, 0, 1000, TL_SPANS_SEGMENT, &sp), TL_OK);
            CHECK_ST(tl_spans_next(sp, &span), TL_OK);
            tl_spans_destroy(sp);
            sp = NULL;
            tl_snapshot_release(snap);
            snap = NULL;
            break;
        }
        CHECKF(stats_of(log).live_snapshots > 0, "holder %d: no pin counted", holder);
        CHECK_FAILS(tl_log_close(log), TL_EBUSY);
        CHECK_FAILS(tl_log_destroy(log), TL_EBUSY);
        CHECK_EQ_I(tl_log_is_closed(log), 0);
        /* Still fully usable. */
        CHECK_ST(tl_append(log, 50, ++h), TL_OK);
        CHECK_ST(tl_flush(log), TL_OK);
        CHECK_EQ_U(count_query(log, TL_QUERY_POINT, 50, 0), (size_t)(h - 100 + 1));
        tl_snapshot_release(snap);
        tl_iter_destroy(it);
        tl_spans_destroy(sp);
        tl_span_release(&span);
        CHECK_EQ_U(stats_of(log).live_snapshots, 0);
    }
    unsigned char seen[200] = {0};
    CHECK_EQ_U(close_and_drain(log, h, seen), h);
    CHECK_ST(tl_log_destroy(log), TL_OK);
}

/* Retired handles: given back once, never while a snapshot can see them,
 * respecting drain_batch_limit while open; tl_log_handles counts them. */
static void test_retired(void)
{
    tl_log *log = open_small(TL_BUSY_SILENT, 4, 3);
    const uint64_t n = 200;
    for (uint64_t i = 1; i <= n; i++)
        CHECK_ST(tl_append(log, (int64_t)i, i), TL_OK);
    size_t total = 0;
    tl_handle all[512];
    CHECK_ST(tl_log_handles(log, NULL, 0, &total), TL_OK);
    CHECK_EQ_U(total, n);
    CHECK_ST(tl_log_handles(log, all, 10, &total), TL_OK);
    CHECK_EQ_U(total, n);
    CHECK_ST(tl_log_handles(log, all, 512, &total), TL_OK);
    CHECK_EQ_U(total, n);
    unsigned char seen[256] = {0};
    int once = 1;
    for (size_t i = 0; i < total && i < 512; i++) {
        once &= all[i] >= 1 && all[i] <= n && !seen[all[i]];
        if (all[i] >= 1 && all[i] <= n)
            seen[all[i]] = 1;
    }
    CHECK(once);

    /* A snapshot that can see records pins their handles. */
    tl_snapshot *old = NULL;
    CHECK_ST(tl_snapshot_acquire(log, &old), TL_OK);
    CHECK_ST(tl_delete_range(log, 1, 51), TL_OK); /* handles 1..50 */
    CHECK_ST(tl_compact(log), TL_OK);
    CHECK_ST(tl_log_handles(log, NULL, 0, &total), TL_OK);
    CHECK_EQ_U(total, n);
    tl_stats s = stats_of(log);
    CHECK_EQ_U(s.l1_records, n - 50);
    CHECK_EQ_U(s.retired_len, 50);
    tl_handle buf[16];
    size_t got = 99;
    CHECK_ST(tl_drain_retired(log, buf, 16, &got), TL_OK);
    CHECK_EQ_U(got, 0);
    tl_snapshot_release(old);

    /* A snapshot taken after the retirement does not pin them (epoch rule). */
    tl_snapshot *later = NULL;
    CHECK_ST(tl_snapshot_acquire(log, &later), TL_OK);
    memset(seen, 0, sizeof seen);
    size_t drained = 0;
    int calls = 0;
    for (;;) {
        got = 0;
        CHECK_ST(tl_drain_retired(log, buf, 16, &got), TL_OK);
        if (got == 0)
            break;
        calls++;
        CHECKF(got <= 3, "drain returned %zu > drain_batch_limit 3", got);
        for (size_t i = 0; i < got; i++) {
            CHECKF(buf[i] >= 1 && buf[i] <= 50 && !seen[buf[i]],
                   "drained %llu", (unsigned long long)buf[i]);
            if (buf[i] < 256)
                seen[buf[i]] = 1;
        }
        drained += got;
        if (calls > 1000)
            break;
    }
    CHECK_EQ_U(drained, 50);
    CHECK_EQ_U(stats_of(log).retired_len, 0);
    CHECK_ST(tl_log_handles(log, NULL, 0, &total), TL_OK);
    CHECK_EQ_U(total, n - 50);
    /* cap 1 drains one at a time */
    CHECK_ST(tl_delete_range(log, 51, 53), TL_OK);
    tl_snapshot_release(later);
    CHECK_ST(tl_compact(log), TL_OK);
    got = 0;
    CHECK_ST(tl_drain_retired(log, buf, 1, &got), TL_OK);
    CHECK_EQ_U(got, 1);
    got = 0;
    CHECK_ST(tl_drain_retired(log, buf + 1, 1, &got), TL_OK);
    CHECK_EQ_U(got, 1);
    CHECK((buf[0] == 51 && buf[1] == 52) || (buf[0] == 52 && buf[1] == 51));
    got = 9;
    CHECK_ST(tl_drain_retired(log, buf, 0, &got), TL_OK);
    CHECK_EQ_U(got, 0);

    /* After close: the rest, once each. */
    memset(seen, 0, sizeof seen);
    CHECK_EQ_U(close_and_drain(log, n, seen), n - 52);
    int rest_ok = 1;
    for (uint64_t i = 53; i <= n; i++)
        rest_ok &= seen[i];
    CHECK(rest_ok);
    tl_log_destroy(log);
}

static void test_stats(void)
{
    tl_log *log = open_small(TL_BUSY_SILENT, 4, 0);
    tl_stats s = stats_of(log);
    CHECK(s.memtable_records == 0 && s.memrun_records == 0 && s.l0_records == 0 &&
          s.l1_records == 0 && s.tombstones == 0 && s.retired_len == 0 &&
          s.live_snapshots == 0 && s.alloc_failures == 0 && s.flushes == 0 &&
          s.compactions == 0 && s.pages == 0);
    uint64_t bytes0 = s.bytes_used;
    CHECK(bytes0 > 0);
    /* 20 records fit the smallest memtable whatever the record layout. */
    for (uint64_t i = 1; i <= 20; i++)
        CHECK_ST(tl_append(log, (int64_t)i, i), TL_OK);
    s = stats_of(log);
    CHECK_EQ_U(s.memtable_records + s.memrun_records, 20);
    for (uint64_t i = 21; i <= 1000; i++)
        CHECK_ST(tl_append(log, (int64_t)i, i), TL_OK);
    s = stats_of(log);
    CHECK_EQ_U(s.memtable_records + s.memrun_records + s.l0_records, 1000);
    CHECK(s.bytes_used > bytes0);
    CHECK_ST(tl_flush(log), TL_OK);
    s = stats_of(log);
    CHECK_EQ_U(s.memtable_records, 0);
    CHECK_EQ_U(s.memrun_records, 0);
    CHECK_EQ_U(s.memruns, 0);
    CHECK_EQ_U(s.l0_records, 1000);
    CHECK(s.l0_segments > 0);
    CHECK(s.pages >= 4); /* 1000 records cannot fit in pages of 256 bytes */
    CHECK(s.flushes >= 1);
    uint64_t flushes = s.flushes;
    CHECK_ST(tl_delete_range(log, 1, 101), TL_OK);
    CHECK_ST(tl_delete_range(log, 201, 301), TL_OK);
    s = stats_of(log);
    CHECK(s.tombstones >= 1);
    CHECK_EQ_U(s.l0_records + s.l1_records, 1000); /* not yet applied */
    tl_snapshot *snap = NULL;
    CHECK_ST(tl_snapshot_acquire(log, &snap), TL_OK);
    CHECK_EQ_U(stats_of(log).live_snapshots, 1);
    tl_snapshot_release(snap);
    CHECK_EQ_U(stats_of(log).live_snapshots, 0);
    CHECK_ST(tl_compact(log), TL_OK);
    s = stats_of(log);
    CHECK_EQ_U(s.l0_records, 0);
    CHECK_EQ_U(s.l0_segments, 0);
    CHECK_EQ_U(s.l1_records, 800);
    CHECK(s.l1_segments > 0);
    CHECK(s.compactions >= 1);
    CHECK(s.flushes >= flushes);
    CHECK_EQ_U(s.retired_len, 200);
    CHECK_EQ_U(s.alloc_failures, 0);
    CHECK_EQ_U(close_and_drain(log, 1000, NULL), 1000);
    tl_log_destroy(log);
}

static void test_batch_and_maint(void)
{
    tl_log *log = open_default();
    ref_model m;
    ref_init(&m);
    int64_t ts[300];
    tl_handle hs[300];
    uint64_t h = 0;
    for (int i = 0; i < 300; i++) {
        ts[i] = (i * 37) % 101 - 50; /* unsorted, duplicates, negatives */
        hs[i] = ++h;
        ref_insert(&m, ts[i], hs[i]);
    }
    size_t acc = 0;
    CHECK_ST(tl_append_batch(log, ts, hs, 300, &acc), TL_OK);
    CHECK_EQ_U(acc, 300);
    acc = 9;
    CHECK_ST(tl_append_batch(log, ts, hs, 0, &acc), TL_OK);
    CHECK_EQ_U(acc, 0);
    tl_snapshot *snap = NULL;
    CHECK_ST(tl_snapshot_acquire(log, &snap), TL_OK);
    PROBE_QUERY(snap, &m, TL_QUERY_ALL, 0, 0, PROBE_NEXT, NULL);
    PROBE_QUERY(snap, &m, TL_QUERY_RANGE, -10, 10, 7, NULL);
    tl_snapshot_release(snap);

    /* start / stop are idempotent; close stops a running worker. */
    CHECK_ST(tl_maint_start(log), TL_OK);
    CHECK_ST(tl_maint_start(log), TL_OK);
    /* The option reports the mode in effect. */
    CHECK(strcmp(tl_log_option_str(log, "maintenance"), "background") == 0);
    tl_config c;
    CHECK_ST(tl_log_config(log, &c), TL_OK);
    CHECK_EQ_I(c.maintenance, TL_MAINT_BACKGROUND);
    CHECK_ST(tl_delete_before(log, 0), TL_OK);
    ref_delete_range(&m, TL_TS_MIN, 0, NULL, NULL);
    CHECK_ST(tl_maint_stop(log), TL_OK);
    CHECK_ST(tl_maint_stop(log), TL_OK);
    CHECK(strcmp(tl_log_option_str(log, "maintenance"), "disabled") == 0);
    CHECK_ST(tl_maint_start(log), TL_OK);
    CHECK_ST(tl_snapshot_acquire(log, &snap), TL_OK);
    PROBE_QUERY(snap, &m, TL_QUERY_ALL, 0, 0, 16, NULL);
    tl_snapshot_release(snap);
    ref_free(&m);
    CHECK_EQ_U(close_and_drain(log, h, NULL), h);
    tl_log_destroy(log);

    /* A log opened with background maintenance. */
    tl_config_init(&c);
    CHECK_ST(th_set_str(&c, "maintenance", "background"), TL_OK);
    tl_log *bg = NULL;
    CHECK_ST(tl_log_open(&c, &bg), TL_OK);
    CHECK(strcmp(tl_log_option_str(bg, "maintenance"), "background") == 0);
    CHECK_ST(tl_append(bg, 1, 1), TL_OK);
    CHECK_ST(tl_maint_stop(bg), TL_OK);
    CHECK(strcmp(tl_log_option_str(bg, "maintenance"), "disabled") == 0);
    CHECK_ST(tl_append(bg, 2, 2), TL_OK);
    CHECK_EQ_U(count_query(bg, TL_QUERY_ALL, 0, 0), 2);
    CHECK_ST(tl_maint_start(bg), TL_OK);
    CHECK_EQ_U(close_and_drain(bg, 2, NULL), 2);
    tl_log_destroy(bg);
}

/* One call that crosses many seals: the whole batch is accepted under each
 * busy policy (RAISE reports TL_EBUSY once, at the end). */
static void test_big_batch(void)
{
    const size_t n = 50000;
    int64_t *ts = th_xmalloc(n * sizeof *ts);
    tl_handle *hs = th_xmalloc(n * sizeof *hs);
    const int32_t policies[] = {TL_BUSY_RAISE, TL_BUSY_SILENT, TL_BUSY_FLUSH};
    for (int p = 0; p < 3; p++) {
        tl_log *log = open_small(policies[p], 1, 0);
        ref_model m;
        ref_init(&m);
        for (size_t i = 0; i < n; i++) {
            ts[i] = (int64_t)((i * 7919) % 20011) - 10000; /* unsorted, dups */
            hs[i] = i + 1;
            ref_insert(&m, ts[i], hs[i]);
        }
        size_t acc = 0;
        tl_status st = tl_append_batch(log, ts, hs, n, &acc);
        CHECKF(st == TL_OK || (st == TL_EBUSY && policies[p] == TL_BUSY_RAISE),
               "policy %d: %s", policies[p], th_status_name(st));
        CHECK_EQ_U(acc, n);
        tl_snapshot *snap = NULL;
        CHECK_ST(tl_snapshot_acquire(log, &snap), TL_OK);
        PROBE_QUERY(snap, &m, TL_QUERY_ALL, 0, 0, 64, NULL);
        PROBE_QUERY(snap, &m, TL_QUERY_RANGE, -17, 4000, PROBE_NEXT, NULL);
        probe_spans_all(snap, &m, TL_TS_MIN, TL_TS_MAX, __FILE__, __LINE__);
        tl_snapshot_release(snap);
        ref_free(&m);
        CHECK_EQ_U(close_and_drain(log, n, NULL), n);
        tl_log_destroy(log);
    }
    free(ts);
    free(hs);
}

/* Destroy without close: the worker stops, everything is freed (the
 * handles are forgotten, as documented). */
static void test_destroy_open(void)
{
    tl_config c;
    probe_tiny_config(&c, TL_BUSY_SILENT, TL_MAINT_BACKGROUND);
    tl_log *log = NULL;
    CHECK_ST(tl_log_open(&c, &log), TL_OK);
    for (uint64_t i = 1; i <= 3000; i++)
        CHECK_ST(tl_append(log, (int64_t)(i % 7 ? i : i / 2), i), TL_OK);
    CHECK_ST(tl_delete_range(log, 100, 900), TL_OK);
    tl_iter *it = NULL;
    CHECK_ST(tl_log_iter(log, TL_QUERY_ALL, 0, 0, &it), TL_OK);
    int64_t t;
    tl_handle h;
    CHECK_ST(tl_iter_next(it, &t, &h), TL_OK);
    tl_iter_destroy(it);
    CHECK_ST(tl_log_destroy(log), TL_OK);
}

/* drain_batch_limit bounds one safe point, yet releases keep pace with
 * retirement: steady retention churn with limit 1 keeps the backlog bounded
 * (each safe point may hand out 1 + the records written since the last). */
static void test_drain_pacing(void)
{
    tl_log *log = open_small(TL_BUSY_FLUSH, 4, 1);
    int64_t ts[64];
    tl_handle h[64];
    uint64_t next = 1, drained = 0, worst = 0;
    for (int it = 0; it < 2000; it++) {
        for (int i = 0; i < 64; i++, next++) {
            ts[i] = (int64_t)next;
            h[i] = next;
        }
        size_t acc = 0;
        CHECK_ST(tl_append_batch(log, ts, h, 64, &acc), TL_OK);
        CHECK_ST(tl_delete_before(log, (int64_t)next - 1000), TL_OK);
        if (it % 10 == 9)
            CHECK_ST(tl_compact(log), TL_OK);
        /* One safe point: calls until a short one, at most 1 + 64 handles. */
        tl_handle buf[16];
        size_t got, round = 0;
        do {
            got = 0;
            CHECK_ST(tl_drain_retired(log, buf, 16, &got), TL_OK);
            round += got;
        } while (got == 16);
        CHECKF(round <= 1 + 64, "one safe point released %zu > 1 + 64", round);
        drained += round;
        uint64_t backlog = stats_of(log).retired_len;
        if (backlog > worst)
            worst = backlog;
    }
    /* A compaction every 10 rounds retires up to 640 + what the memtable
     * deletes retired meanwhile: the backlog never exceeds a few rounds. */
    CHECKF(worst < 2000, "retired backlog reached %llu", (unsigned long long)worst);
    CHECK(drained > 100000);
    CHECK_ST(tl_log_close(log), TL_OK);
    CHECK_ST(tl_log_destroy(log), TL_OK);
}

/* A batch cut short by a failure (a seal that cannot allocate while making
 * room, or an append) still counts the records it stored for drain pacing:
 * once retired, all of them can be released at the next safe point
 * (design.md section 6: the limit plus the records written since). */
static void test_drain_pacing_failed_batch(void)
{
    enum { N = 200 };
    int64_t ts[N];
    tl_handle h[N];
    for (int i = 0; i < N; i++) {
        ts[i] = i;
        h[i] = (tl_handle)i + 1;
    }
    int seal_failures = 0, partial = 0;
    for (int64_t k = 1; k <= 80; k++) {
        tl_log *log = open_small(TL_BUSY_FLUSH, 4, 1);
        tl_handle buf[16];
        size_t got = 0, acc = 0;
        CHECK_ST(tl_drain_retired(log, buf, 16, &got), TL_OK); /* a safe point */
        tl_test_alloc_fail_at(k);
        tl_status st = tl_append_batch(log, ts, h, N, &acc);
        tl_test_alloc_fail_at(0);
        if (st == TL_ENOMEM && acc > 0) {
            partial++;
            tl_stats s = stats_of(log);
            /* memtable_max_bytes 1 rounds to 64 records: a full memtable
             * and no memrun means the seal of make_room failed. */
            if (acc == 64 && s.memtable_records == 64 && s.memruns == 0)
                seal_failures++;
            CHECK_ST(tl_delete_range(log, TL_TS_MIN, TL_TS_MAX), TL_OK);
            CHECK_ST(tl_compact(log), TL_OK);
            CHECK_EQ_U(stats_of(log).retired_len, acc);
            size_t round = 0;
            do {
                got = 0;
                CHECK_ST(tl_drain_retired(log, buf, 16, &got), TL_OK);
                round += got;
            } while (got == 16);
            CHECKF(round == acc, "k=%lld: one safe point released %zu of %zu (limit 1 + %zu written)",
                   (long long)k, round, acc, acc);
        }
        CHECK_ST(tl_log_close(log), TL_OK);
        while (tl_drain_retired(log, buf, 16, &got) == TL_OK && got)
            ;
        CHECK_ST(tl_log_destroy(log), TL_OK);
    }
    CHECK(seal_failures > 0);
    CHECK(partial > seal_failures);
}

/* String options are length-delimited: an embedded NUL is part of the value
 * (so never valid), and the message shows it escaped. */
static void test_option_bytes(void)
{
    tl_config c;
    tl_config_init(&c);
    CHECK_INVAL(tl_config_set_str(&c, "time_unit", "ms\0garbage", 10));
    CHECK(strcmp(tl_last_error(),
                 "time_unit must be one of 's', 'ms', 'us', 'ns' (got 'ms\\x00garbage')") == 0);
    CHECK_INVAL(tl_config_set_str(&c, "busy_policy", "flush\0", 6));
    CHECK_ST(tl_config_set_str(&c, "time_unit", "nsXX", 2), TL_OK); /* not NUL-terminated */
    CHECK_EQ_I(c.time_unit, TL_UNIT_NS);
    CHECK_INVAL(tl_config_set_str(&c, "time_unit", "n", 0));
    CHECK_INVAL(tl_config_set_str(&c, "maintenance", "back\\", 5));
    CHECK(strcmp(tl_last_error(),
                 "maintenance must be one of 'disabled', 'background' (got 'back\\\\')") == 0);
    int32_t kind = -1;
    CHECK_INVAL(tl_parse_span_kind("all\0x", 5, &kind));
    CHECK(strcmp(tl_last_error(), "kind must be one of 'segment', 'all' (got 'all\\x00x')") == 0);
    CHECK_ST(tl_parse_span_kind("allx", 3, &kind), TL_OK);
    CHECK_EQ_I(kind, TL_SPANS_ALL);
    /* Long values are cut at 40 bytes, never inside a UTF-8 sequence. */
    char longv[64];
    memset(longv, 'a', 39);
    memcpy(longv + 39, "\xc3\xa9tail", 6);
    CHECK_INVAL(tl_config_set_str(&c, "time_unit", longv, 45));
    const char *m = strstr(tl_last_error(), "(got '");
    CHECK(m != NULL && strlen(m) == strlen("(got '") + 39 + strlen("...')"));
}

int main(void)
{
    th_begin("test_api");
    test_messages();
    test_config();
    test_open_and_rounding();
    test_null_arguments();
    test_closed_log();
    test_ranges_and_queries();
    test_duplicates_order();
    test_iterators();
    test_spans();
    test_tombstone_edges();
    test_busy_policies();
    test_close_busy();
    test_retired();
    test_stats();
    test_batch_and_maint();
    test_big_batch();
    test_destroy_open();
    test_drain_pacing();
    test_drain_pacing_failed_batch();
    test_option_bytes();
    /* Every log above was destroyed: nothing may remain allocated. */
    CHECK_EQ_I(tl_test_alloc_live_bytes(), 0);
    return th_end();
}
