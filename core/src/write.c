/*
 * write.c - appends and deletes (the writer path).
 *
 * Everything here runs under wlock.  The memtable is sealed lazily: the write
 * that finds it full seals it first (so a failed seal leaves the write
 * unperformed and the log unchanged), or, when the sealed queue already holds
 * sealed_max_runs runs, applies the busy policy: RAISE and SILENT let the
 * memtable grow past its size (the record is accepted; RAISE reports
 * TL_EBUSY), FLUSH flushes synchronously first (and compacts once L0 reaches
 * TL_L0_TRIGGER segments).
 *
 * Deletes remove matching memtable records physically right away (handles
 * retired) and add a tombstone only when an immutable source may hold records
 * in the range (see tombs.h for the watermark invariant).
 */
#include <pthread.h>

#include "error.h"
#include "log.h"

static inline int mt_full(const tl_log *log) { return tl_mt_count(&log->mt) >= log->mt_max_records; }

static inline int is_closed(tl_log *log) { return atomic_load_explicit(&log->closed, memory_order_relaxed); }

/* wlock held: n more records written (drain pacing, see tl_drain_retired).
 * A plain load and store: writers hold wlock; a drain that resets the count
 * concurrently only makes the next safe point a little more generous. */
static inline void owe_drain(tl_log *log, uint64_t n)
{
    TL_ASSERT_WLOCKED(log);
    uint64_t v = atomic_load_explicit(&log->drain_owed, memory_order_relaxed);
    atomic_store_explicit(&log->drain_owed, v + n, memory_order_relaxed);
}

/* Take wlock on an open log; on error nothing is held. */
static tl_status lock_open(tl_log *log)
{
    tl_wlock(log);
    if (is_closed(log)) {
        tl_wunlock(log);
        return tl_err_closed();
    }
    return TL_OK;
}

/* wlock held and the memtable full.  On TL_OK wlock is still held and
 * *busy tells whether the queue is full (policy RAISE/SILENT); on error wlock
 * has been released and the message set. */
static tl_status make_room(tl_log *log, int *busy)
{
    TL_ASSERT_WLOCKED(log);
    TL_ASSERT(mt_full(log));
    if (log->man->nmem < (uint64_t)log->cfg.sealed_max_runs) {
        if (tl_seal_locked(log) != TL_OK) {
            tl_wunlock(log);
            return tl_log_nomem(log, "sealing the memtable");
        }
        return TL_OK;
    }
    if (log->cfg.busy_policy == TL_BUSY_FLUSH) {
        /* Compact too once L0 would reach the trigger, so that read fan-out
         * stays bounded without a background worker. */
        int compact = log->man->nl0 + log->man->nmem + 1 >= TL_L0_TRIGGER;
        tl_wunlock(log);
        tl_status st = tl_maintain(log, compact, 1);
        if (st != TL_OK)
            return st;
        return lock_open(log);
    }
    *busy = 1;
    return TL_OK;
}

static tl_status busy_status(const tl_log *log, int busy)
{
    if (busy && log->cfg.busy_policy == TL_BUSY_RAISE)
        return tl_errorf(TL_EBUSY, "%s", tl_status_message(TL_EBUSY));
    return TL_OK;
}

tl_status tl_append(tl_log *log, int64_t ts, tl_handle h)
{
    if (!log)
        return tl_err_null("log");
    if (lock_open(log) != TL_OK)
        return TL_ESTATE;
    int busy = 0;
    if (mt_full(log)) {
        tl_status st = make_room(log, &busy);
        if (st != TL_OK)
            return st;
    }
    if (tl_mt_append(&log->mt, ts, h) != TL_OK) {
        tl_wunlock(log);
        return tl_log_nomem(log, "appending a record");
    }
    owe_drain(log, 1);
    tl_wunlock(log);
    return busy_status(log, busy);
}

tl_status tl_append_batch(tl_log *log, const int64_t *ts, const tl_handle *h, size_t n,
                          size_t *accepted)
{
    if (accepted)
        *accepted = 0;
    if (!log)
        return tl_err_null("log");
    if (n && !ts)
        return tl_err_null("ts");
    if (n && !h)
        return tl_err_null("h");
    if (!accepted)
        return tl_err_null("accepted");
    if (lock_open(log) != TL_OK)
        return TL_ESTATE;
    int busy = 0;
    size_t i = 0, owed = 0; /* records [0, owed) already counted for pacing */
    while (i < n) {
        size_t room;
        int b = 0;
        if (mt_full(log)) {
            /* make_room may drop wlock (and fail without it): count what
             * this batch stored so far while wlock is still held. */
            owe_drain(log, i - owed);
            owed = i;
            tl_status st = make_room(log, &b);
            if (st != TL_OK) {
                if (accepted)
                    *accepted = i;
                return st;
            }
        }
        if (b) {
            busy = 1;
            room = n - i;
        } else {
            room = log->mt_max_records - tl_mt_count(&log->mt);
        }
        size_t end = i + (room < n - i ? room : n - i);
        while (i < end) {
            size_t k = tl_mt_append_run(&log->mt, ts + i, h + i, end - i);
            if (k) {
                i += k;
                continue;
            }
            if (tl_mt_append(&log->mt, ts[i], h[i]) != TL_OK) {
                owe_drain(log, i - owed);
                tl_wunlock(log);
                if (accepted)
                    *accepted = i;
                return tl_log_nomem(log, "appending a batch");
            }
            i++;
        }
    }
    owe_drain(log, n - owed);
    tl_wunlock(log);
    if (accepted)
        *accepted = n;
    return busy_status(log, busy);
}

tl_status tl_delete_range(tl_log *log, int64_t t1, int64_t t2)
{
    if (!log)
        return tl_err_null("log");
    if (lock_open(log) != TL_OK)
        return TL_ESTATE;
    if (t1 >= t2) {
        tl_wunlock(log);
        return TL_OK;
    }
    size_t cnt = tl_mt_count_range(&log->mt, t1, t2);
    size_t ret_before = tl_retired_len(&log->ret);
    const tl_manifest *m = log->man;
    int need_tomb = m->nrec > 0 && m->min < t2 && m->max >= t1;
    if ((cnt && tl_retired_reserve(&log->ret, cnt) != TL_OK) ||
        (need_tomb && tl_tombs_reserve(&log->tombs, 1) != TL_OK) ||
        (cnt && tl_mt_delete(&log->mt, t1, t2, &log->ret, log->epoch) != TL_OK)) {
        tl_wunlock(log);
        return tl_log_nomem(log, "deleting a range");
    }
    /* Unflushed records of the range are removed at once, their handles
     * retired (design.md section 3). */
    TL_ASSERT(tl_mt_count_range(&log->mt, t1, t2) == 0);
    TL_ASSERT(tl_retired_len(&log->ret) == ret_before + cnt);
    if (cnt)
        log->epoch++;
    if (need_tomb) {
        /* Widening the previous tombstone is exact only if no source got a
         * watermark between the two deletes. */
        int merge_ok = log->tombs.n > 0 && log->max_wm < log->tombs.v[log->tombs.n - 1].seq;
        tl_tombs_push(&log->tombs, t1, t2, ++log->tomb_seq, merge_ok);
        tl_view_release(log->view);
        log->view = NULL;
        if (log->tombs.n >= TL_TOMB_TRIGGER)
            tl_maint_notify(log);
    }
    tl_wunlock(log);
    return TL_OK;
}

tl_status tl_delete_before(tl_log *log, int64_t cutoff)
{
    return tl_delete_range(log, TL_TS_MIN, cutoff);
}
