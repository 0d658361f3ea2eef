/*
 * probe.h - reading the engine back for comparison with the reference:
 * record buffers, draining an iterator (one-by-one or in batches of given /
 * random caps), collecting the spans of a range, and "query == model" checks
 * that report through the harness at the caller's file:line.
 */
#ifndef TL_TEST_PROBE_H
#define TL_TEST_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "ref_model.h"
#include "timelog.h"

typedef struct recbuf {
    int64_t *ts;
    uint64_t *h;
    size_t n, cap;
} recbuf;

void rb_init(recbuf *b);
void rb_free(recbuf *b);
void rb_clear(recbuf *b);
void rb_push(recbuf *b, int64_t ts, uint64_t h);

/* How to read an iterator. */
enum {
    PROBE_NEXT = 0,       /* tl_iter_next until TL_EOF */
    PROBE_BATCH_RANDOM = -1 /* next_batch with random caps 0..70 (0 included) */
    /* > 0: next_batch with that fixed cap */
};

/* Read the rest of it into out.  Checks the next/next_batch contract on the
 * way (n_out == cap with TL_OK, n_out < cap with TL_EOF, EOF repeats).
 * Returns TL_EOF when exhausted normally, else the failing status. */
tl_status probe_read_iter(tl_iter *it, recbuf *out, int mode, th_rng *r,
                          const char *file, int line);

/* Enumerate the spans of [t1, t2) of kind on snap into out.  Checks each span:
 * len > 0, owner set, timestamps sorted and inside [t1, t2); releases every
 * span.  Returns TL_EOF when the enumeration completed, else the status. */
tl_status probe_collect_spans(tl_snapshot *snap, int64_t t1, int64_t t2,
                              int32_t kind, recbuf *out, const char *file,
                              int line);

/* Open an iterator of (kind, t1, t2) on snap, read it with mode, compare with
 * the model's answer.  Returns 1 on a match. */
int probe_query(tl_snapshot *snap, const ref_model *m, int32_t kind, int64_t t1,
                int64_t t2, int mode, th_rng *r, const char *file, int line);

/* Spans of kind ALL on snap over [t1, t2) are exactly the model's records. */
int probe_spans_all(tl_snapshot *snap, const ref_model *m, int64_t t1,
                    int64_t t2, const char *file, int line);
/* Spans of kind SEGMENT: every record is one of the model's records of the
 * range, none twice; if complete, they must also cover all of them. */
int probe_spans_segment(tl_snapshot *snap, const ref_model *m, int64_t t1,
                        int64_t t2, int complete, const char *file, int line);

/* tl_config_init, then the smallest memtable and pages (1 byte each, which
 * the engine rounds up to its minimums), busy policy and maintenance mode. */
void probe_tiny_config(tl_config *cfg, int32_t busy, int32_t maintenance);

/* Drain until tl_drain_retired gives nothing more, calling each(ctx, h) for
 * every handle; returns how many came back. */
size_t probe_drain_all(tl_log *log, void (*each)(void *ctx, tl_handle h), void *ctx,
                       const char *file, int line);

/* Random query arguments with a bias to the populated area [lo_ts, hi_ts]. */
void probe_random_query(th_rng *r, const ref_model *m, int64_t lo_ts,
                        int64_t hi_ts, int32_t *kind, int64_t *t1, int64_t *t2);

#define PROBE_QUERY(snap, m, kind, t1, t2, mode, r)                           \
    probe_query((snap), (m), (kind), (t1), (t2), (mode), (r), __FILE__, __LINE__)

#endif
