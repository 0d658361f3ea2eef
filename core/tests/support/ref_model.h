/*
 * ref_model.h - the plain reference the engine is compared against.
 *
 * A sorted array of (ts, handle, insertion seq), ordered by (ts, seq).  Every
 * insert and every delete takes the next sequence number.  A delete hides
 * exactly the records of its range inserted before it, so the model applies
 * it at once by removing them (later inserts at those timestamps stay
 * visible); an optional callback learns which records went.  Queries return
 * an index range [lo, hi) of the array: results are in timestamp order and,
 * among equal timestamps, in insertion order.
 *
 * Comparisons: the engine must return timestamps in order; among equal
 * timestamps the handles are compared as a multiset (ref_match).  Span
 * unions are compared as sets of (ts, handle) (ref_match_set).
 *
 * A snapshot is a ref_copy(): an independent model frozen at that moment.
 *
 * The handle ledger tracks, per handle id 1..N, when it was inserted, when it
 * was deleted and whether the engine gave it back through tl_drain_retired.
 */
#ifndef TL_TEST_REF_MODEL_H
#define TL_TEST_REF_MODEL_H

#include <stddef.h>
#include <stdint.h>

typedef struct ref_rec {
    int64_t ts;
    uint64_t h;
    uint64_t seq;
} ref_rec;

typedef struct ref_model {
    ref_rec *v;
    size_t n, cap;
    uint64_t seq; /* last sequence number given */
} ref_model;

typedef void (*ref_removed_fn)(void *ctx, const ref_rec *r, uint64_t del_seq);

void ref_init(ref_model *m);
void ref_free(ref_model *m);
/* Independent copy (a snapshot of the model) into a dst that holds no array
 * (zeroed, or after ref_free). */
void ref_copy(ref_model *dst, const ref_model *src);

/* Insert one record; returns its sequence number. */
uint64_t ref_insert(ref_model *m, int64_t ts, uint64_t h);
/* Sequenced delete of [t1, t2) (t1 >= t2: nothing).  Takes a sequence number
 * even when it removes nothing; returns how many records it removed. */
size_t ref_delete_range(ref_model *m, int64_t t1, int64_t t2,
                        ref_removed_fn on_removed, void *ctx);

/* Records of a query (TL_QUERY_* kind, same t1/t2 meaning as the engine) as
 * the index range [*lo, *hi) of m->v. */
void ref_query(const ref_model *m, int32_t kind, int64_t t1, int64_t t2,
               size_t *lo, size_t *hi);
/* Number of records with lo_ts <= ts < hi_ts (half-open). */
size_t ref_count_range(const ref_model *m, int64_t t1, int64_t t2);

/* Ordered comparison: got must list exp's timestamps in order, and for each
 * timestamp the same multiset of handles.  On mismatch writes a reason into
 * why (if non-NULL) and returns 0. */
int ref_match(const ref_rec *exp, size_t n_exp, const int64_t *ts,
              const uint64_t *h, size_t n, char *why, size_t why_len);
/* Unordered comparison of (ts, handle) pairs (span unions). */
int ref_match_set(const ref_rec *exp, size_t n_exp, const int64_t *ts,
                  const uint64_t *h, size_t n, char *why, size_t why_len);

/* Every (ts, handle) of got is one of exp's, none twice (SEGMENT spans,
 * which may leave out unflushed records). */
int ref_match_subset(const ref_rec *exp, size_t n_exp, const int64_t *ts,
                     const uint64_t *h, size_t n, char *why, size_t why_len);

/* ------------------------------------------------------------------------
 * Handle ledger (handles are dense ids 1..).
 * ---------------------------------------------------------------------- */
typedef struct ledger_ent {
    int64_t ts;
    uint64_t ins;     /* sequence of the insert; 0 = never accepted */
    uint64_t del;     /* sequence of the delete that hid it; 0 = visible */
    uint32_t drained; /* times handed back by tl_drain_retired */
    uint32_t pad;
} ledger_ent;

typedef struct ledger {
    ledger_ent *e; /* indexed by handle */
    size_t cap;
    uint64_t next; /* next unused handle id */
} ledger;

void ledger_init(ledger *lg);
void ledger_free(ledger *lg);
/* A fresh handle id (not yet inserted). */
uint64_t ledger_new_handle(ledger *lg);
void ledger_inserted(ledger *lg, uint64_t h, int64_t ts, uint64_t seq);
/* ref_removed_fn: ctx is the ledger. */
void ledger_on_removed(void *ctx, const ref_rec *r, uint64_t del_seq);
/* Whether a snapshot taken at model sequence snap_seq can see handle h. */
int ledger_visible_at(const ledger *lg, uint64_t h, uint64_t snap_seq);
/* Record one drained handle and check it: a known, inserted handle, drained
 * for the first time, and (unless the log is closed) deleted and invisible
 * to every snapshot sequence in live[0..n_live).  Returns 1 if all hold;
 * failures are reported through the harness at file:line. */
int ledger_drained(ledger *lg, uint64_t h, const uint64_t *live, size_t n_live,
                   int closed, const char *file, int line);
/* Handles inserted and not yet drained. */
size_t ledger_outstanding(const ledger *lg);
/* Handles deleted and not yet drained. */
size_t ledger_deleted_outstanding(const ledger *lg);

#endif
