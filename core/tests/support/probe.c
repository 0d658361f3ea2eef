/* probe.c - read the engine back and compare it with the reference model. */
#include "probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rb_init(recbuf *b) { memset(b, 0, sizeof *b); }

void rb_free(recbuf *b)
{
    free(b->ts);
    free(b->h);
    memset(b, 0, sizeof *b);
}

void rb_clear(recbuf *b) { b->n = 0; }

static void rb_reserve(recbuf *b, size_t extra)
{
    if (b->n + extra <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + extra)
        cap *= 2;
    b->ts = th_xrealloc(b->ts, cap * sizeof *b->ts);
    b->h = th_xrealloc(b->h, cap * sizeof *b->h);
    b->cap = cap;
}

void rb_push(recbuf *b, int64_t ts, uint64_t h)
{
    rb_reserve(b, 1);
    b->ts[b->n] = ts;
    b->h[b->n] = h;
    b->n++;
}

#define PROBE_MAX_CAP 70

tl_status probe_read_iter(tl_iter *it, recbuf *out, int mode, th_rng *r,
                          const char *file, int line)
{
    if (mode == PROBE_NEXT) {
        for (;;) {
            int64_t ts;
            tl_handle h;
            tl_status st = tl_iter_next(it, &ts, &h);
            if (st == TL_OK) {
                rb_push(out, ts, h);
                continue;
            }
            if (st == TL_EOF) {
                st = tl_iter_next(it, &ts, &h);
                th_check(st == TL_EOF, file, line,
                         "tl_iter_next after TL_EOF returned %s", th_status_name(st));
                return TL_EOF;
            }
            return st;
        }
    }
    int64_t ts[PROBE_MAX_CAP];
    tl_handle h[PROBE_MAX_CAP];
    for (;;) {
        size_t cap = mode > 0 ? (size_t)mode : (size_t)th_below(r, PROBE_MAX_CAP + 1);
        if (cap > PROBE_MAX_CAP)
            cap = PROBE_MAX_CAP;
        size_t n = (size_t)-1;
        tl_status st = tl_iter_next_batch(it, ts, h, cap, &n);
        if (st == TL_OK) {
            if (!th_check(n == cap, file, line,
                          "next_batch TL_OK with n_out %zu != cap %zu", n, cap))
                return TL_EINTERNAL;
        } else if (st == TL_EOF) {
            if (!th_check(n < cap || (cap == 0 && n == 0), file, line,
                          "next_batch TL_EOF with n_out %zu, cap %zu", n, cap))
                return TL_EINTERNAL;
        } else {
            return st;
        }
        for (size_t i = 0; i < n; i++)
            rb_push(out, ts[i], h[i]);
        if (st == TL_EOF) {
            n = (size_t)-1;
            st = tl_iter_next_batch(it, ts, h, 5, &n);
            th_check(st == TL_EOF && n == 0, file, line,
                     "next_batch after TL_EOF: %s, n_out %zu", th_status_name(st), n);
            return TL_EOF;
        }
    }
}

tl_status probe_collect_spans(tl_snapshot *snap, int64_t t1, int64_t t2,
                              int32_t kind, recbuf *out, const char *file,
                              int line)
{
    tl_spans *sp = NULL;
    tl_status st = tl_spans_open(snap, t1, t2, kind, &sp);
    if (st != TL_OK)
        return st;
    for (;;) {
        tl_span span;
        memset(&span, 0xA5, sizeof span);
        st = tl_spans_next(sp, &span);
        if (st == TL_EOF) {
            st = tl_spans_next(sp, &span);
            th_check(st == TL_EOF, file, line, "tl_spans_next after TL_EOF: %s",
                     th_status_name(st));
            st = TL_EOF;
            break;
        }
        if (st != TL_OK)
            break;
        int ok = th_check(span.len > 0 && span.ts && span.h && span.owner, file,
                          line, "span fields: len %zu ts %p h %p owner %p",
                          span.len, (const void *)span.ts, (const void *)span.h,
                          (void *)span.owner);
        if (ok) {
            ok &= th_check(tl_snapshot_log(span.owner) == tl_snapshot_log(snap),
                           file, line, "span owner belongs to another log");
            ok &= th_check(span.ts[0] >= t1 && span.ts[span.len - 1] < t2, file,
                           line, "span [%lld..%lld] outside [%lld, %lld)",
                           (long long)span.ts[0], (long long)span.ts[span.len - 1],
                           (long long)t1, (long long)t2);
            for (size_t i = 1; i < span.len && ok; i++)
                ok &= th_check(span.ts[i - 1] <= span.ts[i], file, line,
                               "span not sorted at %zu: %lld > %lld", i,
                               (long long)span.ts[i - 1], (long long)span.ts[i]);
            rb_reserve(out, span.len);
            memcpy(out->ts + out->n, span.ts, span.len * sizeof *span.ts);
            memcpy(out->h + out->n, span.h, span.len * sizeof *span.h);
            out->n += span.len;
        }
        tl_span_release(&span);
        th_check(span.owner == NULL && span.len == 0, file, line,
                 "tl_span_release did not clear the span");
    }
    tl_spans_destroy(sp);
    return st;
}

static const char *kind_name(int32_t kind)
{
    switch (kind) {
    case TL_QUERY_RANGE: return "range";
    case TL_QUERY_SINCE: return "since";
    case TL_QUERY_UNTIL: return "until";
    case TL_QUERY_ALL: return "all";
    case TL_QUERY_POINT: return "point";
    default: return "?";
    }
}

int probe_query(tl_snapshot *snap, const ref_model *m, int32_t kind, int64_t t1,
                int64_t t2, int mode, th_rng *r, const char *file, int line)
{
    tl_iter *it = NULL;
    tl_status st = tl_iter_open(snap, kind, t1, t2, &it);
    if (!th_check(st == TL_OK && it, file, line, "tl_iter_open(%s, %lld, %lld): %s %s",
                  kind_name(kind), (long long)t1, (long long)t2,
                  th_status_name(st), tl_last_error()))
        return 0;
    recbuf got;
    rb_init(&got);
    st = probe_read_iter(it, &got, mode, r, file, line);
    tl_iter_destroy(it);
    int ok = th_check(st == TL_EOF, file, line, "reading %s(%lld, %lld): %s",
                      kind_name(kind), (long long)t1, (long long)t2,
                      th_status_name(st));
    if (ok) {
        size_t lo, hi;
        char why[200];
        ref_query(m, kind, t1, t2, &lo, &hi);
        ok = th_check(ref_match(m->v + lo, hi - lo, got.ts, got.h, got.n, why,
                                sizeof why),
                      file, line, "%s(%lld, %lld) mode %d: %s", kind_name(kind),
                      (long long)t1, (long long)t2, mode, why);
        /* tl_count agrees with what the iterator yielded. */
        uint64_t cnt = UINT64_MAX;
        st = tl_count(snap, kind, t1, t2, &cnt);
        ok &= th_check(st == TL_OK && cnt == got.n, file, line,
                       "tl_count(%s, %lld, %lld) = %llu (%s), iterator gave %zu",
                       kind_name(kind), (long long)t1, (long long)t2,
                       (unsigned long long)cnt, th_status_name(st), got.n);
    }
    rb_free(&got);
    return ok;
}

static int spans_check(tl_snapshot *snap, const ref_model *m, int64_t t1,
                       int64_t t2, int32_t kind, int complete, const char *file,
                       int line)
{
    recbuf got;
    rb_init(&got);
    tl_status st = probe_collect_spans(snap, t1, t2, kind, &got, file, line);
    int ok = th_check(st == TL_EOF, file, line, "spans(%lld, %lld, kind %d): %s %s",
                      (long long)t1, (long long)t2, kind, th_status_name(st),
                      st == TL_EOF ? "" : tl_last_error());
    if (ok) {
        size_t lo, hi;
        char why[200];
        ref_query(m, TL_QUERY_RANGE, t1, t2, &lo, &hi);
        int match = complete
                        ? ref_match_set(m->v + lo, hi - lo, got.ts, got.h, got.n,
                                        why, sizeof why)
                        : ref_match_subset(m->v + lo, hi - lo, got.ts, got.h,
                                           got.n, why, sizeof why);
        ok = th_check(match, file, line, "spans(%lld, %lld, kind %d%s): %s",
                      (long long)t1, (long long)t2, kind,
                      complete ? ", complete" : "", why);
    }
    rb_free(&got);
    return ok;
}

int probe_spans_all(tl_snapshot *snap, const ref_model *m, int64_t t1,
                    int64_t t2, const char *file, int line)
{
    return spans_check(snap, m, t1, t2, TL_SPANS_ALL, 1, file, line);
}

int probe_spans_segment(tl_snapshot *snap, const ref_model *m, int64_t t1,
                        int64_t t2, int complete, const char *file, int line)
{
    return spans_check(snap, m, t1, t2, TL_SPANS_SEGMENT, complete, file, line);
}

void probe_tiny_config(tl_config *cfg, int32_t busy, int32_t maintenance)
{
    tl_config_init(cfg);
    cfg->memtable_max_bytes = 1;
    cfg->target_page_bytes = 1;
    cfg->busy_policy = busy;
    cfg->maintenance = maintenance;
}

size_t probe_drain_all(tl_log *log, void (*each)(void *ctx, tl_handle h), void *ctx,
                       const char *file, int line)
{
    tl_handle buf[256];
    size_t total = 0;
    for (;;) {
        size_t n = 0;
        tl_status st = tl_drain_retired(log, buf, 256, &n);
        if (!th_check(st == TL_OK && n <= 256, file, line, "tl_drain_retired: %s, n %zu",
                      th_status_name(st), n) ||
            n == 0)
            return total;
        for (size_t i = 0; i < n; i++)
            each(ctx, buf[i]);
        total += n;
    }
}

void probe_random_query(th_rng *r, const ref_model *m, int64_t lo_ts,
                        int64_t hi_ts, int32_t *kind, int64_t *t1, int64_t *t2)
{
    unsigned pick = (unsigned)th_below(r, 100);
    int64_t span = hi_ts - lo_ts;
    if (span < 1)
        span = 1;
    int64_t a = lo_ts + th_between(r, -10, span + 10);
    int64_t w = th_chance(r, 3, 4) ? th_between(r, 0, 200) : th_between(r, 0, span + 20);
    int64_t b = a + w;
    if (th_chance(r, 1, 40)) {
        /* extremes: the whole domain, reversed, empty */
        switch (th_below(r, 4)) {
        case 0: a = TL_TS_MIN; break;
        case 1: b = TL_TS_MAX; break;
        case 2: { int64_t t = a; a = b + 1; b = t; } break;
        default: b = a; break;
        }
    }
    *t1 = a;
    *t2 = b;
    if (pick < 50) {
        *kind = TL_QUERY_RANGE;
    } else if (pick < 60) {
        *kind = TL_QUERY_SINCE;
        *t2 = 0;
    } else if (pick < 70) {
        *kind = TL_QUERY_UNTIL;
        *t1 = 0;
    } else if (pick < 74) {
        *kind = TL_QUERY_ALL;
    } else {
        *kind = TL_QUERY_POINT;
        if (m->n && th_chance(r, 4, 5))
            *t1 = m->v[th_below(r, m->n)].ts;
    }
}
