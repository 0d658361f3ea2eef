/*
 * timelog.h - the one public header of the Timelog engine.
 *
 * An in-memory, LSM-style time index of (int64 timestamp, uint64 handle)
 * records.  The engine never interprets a handle: bindings store whatever
 * identifies their payload (a PyObject*, an index into a table).
 *
 * Rules every declaration below follows, so that a cffi cdef can parse it
 * and three very different bindings can share it:
 *   - opaque types, int status returns, out-parameters;
 *   - no varargs, no bitfields, no macros in signatures, no callbacks;
 *   - fixed-width integer types only (int32_t, int64_t, uint64_t, size_t).
 *
 * Errors.  Every call that returns a status other than TL_OK / TL_EOF also
 * records a human-readable detail message for the calling thread, read with
 * tl_last_error().  Bindings raise their exception with exactly that text, so
 * the message is the same on every backend.
 *
 * Threads.  Every function may be called from any thread without external
 * locking, except that one tl_iter / tl_spans object must not be used by two
 * threads at once (bindings guard their iterators).  The engine's locks make
 * it memory-safe whatever the call order; a single writer at a time gets the
 * best throughput.
 *
 * Lifetimes.  A tl_snapshot is a refcounted, immutable view of the log.
 * Iterators and span enumerators take their own reference to the snapshot
 * they were opened on.  While any snapshot of a log is alive, tl_log_close()
 * returns TL_EBUSY.  Handles of records the engine has physically dropped are
 * queued as "retired" and handed back by tl_drain_retired() only once no live
 * snapshot can still yield them (epoch rule: a handle retired at epoch E is
 * released when every live snapshot was taken after E).
 */
#ifndef TIMELOG_H
#define TIMELOG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Status codes.
 * ---------------------------------------------------------------------- */
typedef int tl_status;

enum {
    TL_OK        = 0,   /* success */
    TL_EOF       = 1,   /* iterator / enumerator exhausted (not an error) */
    TL_EINVAL    = -1,  /* invalid argument          -> ValueError */
    TL_ESTATE    = -2,  /* wrong state (closed, ...) -> TimelogError */
    TL_EBUSY     = -3,  /* busy; on a write the record WAS accepted */
    TL_ENOMEM    = -4,  /* allocation failed; the log is unchanged -> MemoryError */
    TL_EOVERFLOW = -5,  /* arithmetic / size overflow -> OverflowError */
    TL_EINTERNAL = -6   /* invariant violated (a bug) -> SystemError */
};

/* Generic text for a status ("ok", "invalid argument", ...). Never NULL. */
const char *tl_status_message(tl_status st);

/* Detail message of the last failing call made by this thread (never NULL;
 * "" if none).  Valid until the next engine call on this thread. */
const char *tl_last_error(void);

/* ------------------------------------------------------------------------
 * Records.
 * ---------------------------------------------------------------------- */
typedef uint64_t tl_handle;

#define TL_TS_MIN INT64_MIN   /* (macros here are constants only, never */
#define TL_TS_MAX INT64_MAX   /*  used in a signature) */

/* ------------------------------------------------------------------------
 * Configuration.
 *
 * Fill with tl_config_init(), then change fields through the setters (which
 * validate and record a detail message naming the parameter and the allowed
 * values) or directly; tl_log_open() validates everything again.
 * ---------------------------------------------------------------------- */
enum { TL_UNIT_S = 0, TL_UNIT_MS = 1, TL_UNIT_US = 2, TL_UNIT_NS = 3 };
enum { TL_MAINT_DISABLED = 0, TL_MAINT_BACKGROUND = 1 };
/* What a write does when the sealed-run queue is full (the record is always
 * accepted):  FLUSH (the default) flushes synchronously, and compacts once L0
 * reaches its trigger, then returns TL_OK; RAISE returns TL_EBUSY; SILENT
 * returns TL_OK and lets the memtable grow until the next flush. */
enum { TL_BUSY_RAISE = 0, TL_BUSY_SILENT = 1, TL_BUSY_FLUSH = 2 };
/* Span kinds: pages of segments only, or every visible record (the
 * unflushed ones too). */
enum { TL_SPANS_SEGMENT = 0, TL_SPANS_ALL = 1 };

typedef struct tl_config {
    int32_t time_unit;          /* TL_UNIT_*;  default TL_UNIT_MS */
    int32_t maintenance;        /* TL_MAINT_*; default TL_MAINT_DISABLED */
    int32_t busy_policy;        /* TL_BUSY_*;  default TL_BUSY_FLUSH */
    int32_t reserved;           /* must be 0 */
    int64_t memtable_max_bytes; /* default 1 MiB; > 0, rounded up to 1 KiB */
    int64_t target_page_bytes;  /* default 64 KiB; > 0, rounded up to 256 B
                                   (values above 1 GiB act as 1 GiB) */
    int64_t sealed_max_runs;    /* default 4; > 0 */
    int64_t drain_batch_limit;  /* default 0 = unlimited; >= 0 (see
                                   tl_drain_retired) */
} tl_config;

void tl_config_init(tl_config *cfg);

/* String-valued options by name; the value is value_len bytes of UTF-8 (it
 * need not be NUL-terminated, and an embedded NUL makes it invalid):
 *   "time_unit"   "s" | "ms" | "us" | "ns"
 *   "maintenance" "disabled" | "background"
 *   "busy_policy" "raise" | "silent" | "flush"
 * TL_EINVAL (unknown name or value) with a message naming the parameter, the
 * allowed values and the value given (control bytes escaped as \xNN). */
tl_status tl_config_set_str(tl_config *cfg, const char *name, const char *value,
                            size_t value_len);

/* Integer options by name: "memtable_max_bytes", "target_page_bytes",
 * "sealed_max_runs", "drain_batch_limit".  TL_EINVAL if out of range. */
tl_status tl_config_set_int(tl_config *cfg, const char *name, int64_t value);

/* Parse a span kind name ("segment" | "all"; len bytes, as for
 * tl_config_set_str) into TL_SPANS_*. */
tl_status tl_parse_span_kind(const char *name, size_t len, int32_t *out);

/* ------------------------------------------------------------------------
 * The log.
 * ---------------------------------------------------------------------- */
typedef struct tl_log tl_log;

/* Open a log.  cfg may be NULL for defaults.  With maintenance=background the
 * worker thread starts here. */
tl_status tl_log_open(const tl_config *cfg, tl_log **out);

/* Close: TL_EBUSY (nothing changed) while any snapshot is alive; the message
 * says how many and how to release them.  Otherwise
 * stops maintenance, moves the handle of every stored record and every
 * retired handle to the retired queue (all releasable), and marks the log
 * closed: every later call except tl_drain_retired, tl_log_stats,
 * tl_log_is_closed, tl_log_close (a no-op) and tl_log_destroy returns
 * TL_ESTATE.  The binding then drains until empty. */
tl_status tl_log_close(tl_log *log);

/* Free the log's memory.  Handles not yet drained are forgotten.  Must not be
 * called while snapshots are alive (they would dangle): if any are, the call
 * does nothing and returns TL_EBUSY. NULL is accepted. */
tl_status tl_log_destroy(tl_log *log);

int32_t tl_log_is_closed(const tl_log *log);

/* Current configuration values (after rounding). TL_EINVAL on NULL. */
tl_status tl_log_config(const tl_log *log, tl_config *out);

/* Name of a string option's current value ("ms", "background", "raise");
 * NULL for an unknown name or a NULL log. */
const char *tl_log_option_str(const tl_log *log, const char *name);

/* ------------------------------------------------------------------------
 * Writes.  Each returns TL_OK, TL_EBUSY (accepted; sealed queue full and
 * busy_policy is RAISE), TL_ESTATE (closed), TL_EINVAL (NULL / bad args),
 * TL_ENOMEM (not accepted; for a batch: the first *accepted records were).
 * ---------------------------------------------------------------------- */
tl_status tl_append(tl_log *log, int64_t ts, tl_handle h);

/* Append n records from parallel arrays.  Records need not be sorted. On
 * TL_ENOMEM the prefix ts[0..accepted) is stored and the rest is not. */
tl_status tl_append_batch(tl_log *log, const int64_t *ts, const tl_handle *h,
                          size_t n, size_t *accepted);

/* Sequenced tombstones: hide every record in [t1, t2) inserted before this
 * call; records inserted later stay visible.  t1 >= t2 deletes nothing. */
tl_status tl_delete_range(tl_log *log, int64_t t1, int64_t t2);
/* Same as tl_delete_range(log, TL_TS_MIN, cutoff). */
tl_status tl_delete_before(tl_log *log, int64_t cutoff);

/* ------------------------------------------------------------------------
 * Maintenance.
 * ---------------------------------------------------------------------- */
/* Seal the memtable and turn every sealed memrun into L0 segments. */
tl_status tl_flush(tl_log *log);
/* Flush, then merge L0 into non-overlapping L1 segments, applying and
 * folding tombstones; dropped handles go to the retired queue. */
tl_status tl_compact(tl_log *log);
/* Start / stop the background worker (idempotent). stop joins the thread. */
tl_status tl_maint_start(tl_log *log);
tl_status tl_maint_stop(tl_log *log);

/* Copy up to cap releasable retired handles into out.  *n_out is how many
 * were written.  A binding calls it at each safe point, again and again
 * while *n_out == cap: a call with *n_out < cap ends the safe point.
 *
 * drain_batch_limit = 0 (the default): everything releasable is handed out.
 * drain_batch_limit = L > 0 bounds the pause of one safe point: it hands out
 * at most L + W handles, W being the number of records written since the
 * previous safe point.  Every retired handle was written once, so releases
 * keep pace with retirement however small L is (the backlog stays bounded
 * by what was retired while readers pinned it), and a safe point costs at
 * most L plus the work of the write that led to it.  A closed log ignores
 * the limit. */
tl_status tl_drain_retired(tl_log *log, tl_handle *out, size_t cap,
                           size_t *n_out);

/* Every handle the log holds a reference for, each exactly once: one entry
 * per physically stored record (deleted-but-not-yet-compacted ones included)
 * plus every retired handle not yet drained.  Copies min(cap, total) entries
 * into out, atomically with respect to other engine calls; *n_total is the
 * total.  Bindings use it so a garbage collector can see the references the
 * log owns (call with cap 0 to size the buffer).  Works on a closed log. */
tl_status tl_log_handles(tl_log *log, tl_handle *out, size_t cap,
                         size_t *n_total);

typedef struct tl_stats {
    uint64_t memtable_records;   /* in the mutable memtable */
    uint64_t memrun_records;     /* in sealed memruns */
    uint64_t l0_records;
    uint64_t l1_records;
    uint64_t memruns;
    uint64_t l0_segments;
    uint64_t l1_segments;
    uint64_t pages;
    uint64_t tombstones;         /* coalesced tombstone intervals */
    uint64_t retired_len;        /* handles waiting in the retired queue */
    uint64_t live_snapshots;     /* the pin count */
    uint64_t bytes_used;         /* engine heap bytes held by the log */
    uint64_t alloc_failures;     /* allocations that failed (and were survived) */
    uint64_t flushes;
    uint64_t compactions;
} tl_stats;

tl_status tl_log_stats(const tl_log *log, tl_stats *out);

/* ------------------------------------------------------------------------
 * Snapshots.
 * ---------------------------------------------------------------------- */
typedef struct tl_snapshot tl_snapshot;

/* A new snapshot with one reference.  TL_ESTATE if closed. */
tl_status tl_snapshot_acquire(tl_log *log, tl_snapshot **out);
/* Add a reference (TL_EINVAL on NULL). */
tl_status tl_snapshot_retain(tl_snapshot *snap);
/* Drop a reference; the last one frees the snapshot. NULL is accepted. */
void tl_snapshot_release(tl_snapshot *snap);
/* The log a snapshot belongs to. */
tl_log *tl_snapshot_log(const tl_snapshot *snap);

/* ------------------------------------------------------------------------
 * Iterators: records of a snapshot in timestamp order (equal timestamps in
 * insertion order).
 * ---------------------------------------------------------------------- */
typedef struct tl_iter tl_iter;

enum {
    TL_QUERY_RANGE = 0,  /* [t1, t2) ; t1 >= t2 is empty */
    TL_QUERY_SINCE = 1,  /* [t1, +inf) ; t2 ignored */
    TL_QUERY_UNTIL = 2,  /* (-inf, t2) ; t1 ignored */
    TL_QUERY_ALL   = 3,  /* everything ; t1, t2 ignored */
    TL_QUERY_POINT = 4   /* ts == t1 ; t2 ignored */
};

/* Open an iterator on snap (which it retains). */
tl_status tl_iter_open(tl_snapshot *snap, int32_t query, int64_t t1,
                       int64_t t2, tl_iter **out);
/* Convenience: acquire a snapshot, open, release the snapshot reference. */
tl_status tl_log_iter(tl_log *log, int32_t query, int64_t t1, int64_t t2,
                      tl_iter **out);

/* TL_OK with one record, TL_EOF when exhausted (and on every later call). */
tl_status tl_iter_next(tl_iter *it, int64_t *ts, tl_handle *h);
/* Fill up to cap records.  TL_OK with *n_out == cap, or TL_EOF with
 * *n_out < cap (possibly 0) when the iterator is exhausted. */
tl_status tl_iter_next_batch(tl_iter *it, int64_t *ts_out, tl_handle *h_out,
                             size_t cap, size_t *n_out);
/* Free the iterator and drop its snapshot reference. NULL is accepted. */
void tl_iter_destroy(tl_iter *it);

/* Number of records of snap that an iterator opened with the same query and
 * bounds would yield, without producing them: per source, a binary search
 * of its pages for the bounds, minus the records its tombstone intervals
 * hide (O(sources x (log pages + pages in range + tombstones))). */
tl_status tl_count(tl_snapshot *snap, int32_t query, int64_t t1, int64_t t2,
                   uint64_t *out);
/* Convenience: tl_count on a snapshot taken and released by the call. */
tl_status tl_log_count(tl_log *log, int32_t query, int64_t t1, int64_t t2,
                       uint64_t *out);

/* ------------------------------------------------------------------------
 * Page spans: zero-copy views of contiguous runs of page memory.
 *
 * For a snapshot and [t1, t2) the enumerator yields spans whose records are,
 * together, exactly the visible records of that range (deleted records never
 * appear: spans are split around them).  Spans of different sources are not
 * ordered against each other; within a span timestamps are sorted.
 * TL_SPANS_SEGMENT covers records in L0/L1 pages only; TL_SPANS_ALL also
 * covers the snapshot's unflushed records (memtable and memruns, which the
 * snapshot holds in page-shaped sorted arrays).
 * ---------------------------------------------------------------------- */
typedef struct tl_spans tl_spans;

typedef struct tl_span {
    const int64_t   *ts;     /* len sorted timestamps */
    const tl_handle *h;      /* len handles, parallel to ts */
    size_t           len;    /* > 0 */
    tl_snapshot     *owner;  /* one reference, taken for the caller: the
                                memory above stays valid and unchanged until
                                tl_span_release() */
} tl_span;

tl_status tl_spans_open(tl_snapshot *snap, int64_t t1, int64_t t2,
                        int32_t kind, tl_spans **out);
/* TL_OK with one span (out->owner holds a reference), TL_EOF at the end. */
tl_status tl_spans_next(tl_spans *sp, tl_span *out);
void tl_spans_destroy(tl_spans *sp);
/* Drop the span's reference and clear the struct. NULL / cleared is fine. */
void tl_span_release(tl_span *span);

#ifdef __cplusplus
}
#endif

#endif /* TIMELOG_H */
