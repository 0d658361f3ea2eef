/*
 * log.h - the log object and the internal operations its units share.
 *
 * Locking (always taken in this order, never the reverse; debug builds
 * check the order and who holds what, see tl_assert.h):
 *   tlock  start/stop of the maintenance thread (held across its join);
 *   mlock  serializes flush and compaction (user calls, the busy "flush"
 *          policy and the worker); the heavy work runs under mlock only;
 *   wlock  everything mutable: memtable, tombstones, manifest pointer,
 *          cached view, retired queue, snapshot registry, counters.
 * Readers take wlock only to acquire/release a snapshot; everything a
 * snapshot reaches is immutable.  Maintenance builds new segments outside
 * wlock and publishes them with one pointer swap under it.
 *
 * Epochs: every retire step stamps its handles with log->epoch and then
 * increments it; a snapshot records log->epoch when acquired.  Snapshots are
 * linked in acquisition order, so the oldest live one is the list head and a
 * retired handle is releasable iff its epoch < head->epoch (or no snapshot).
 */
#ifndef TL_LOG_H
#define TL_LOG_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "error.h"
#include "memtable.h"
#include "retired.h"
#include "storage.h"
#include "tl_assert.h"
#include "tombs.h"
#include "view.h"

/* Background compaction starts at this many L0 segments or tombstones. */
#define TL_L0_TRIGGER 4
#define TL_TOMB_TRIGGER 32
/* Pages per L1 segment written by compaction. */
#define TL_L1_SEG_PAGES 64

struct tl_snapshot {
    tl_rc rc;
    tl_log *log;
    tl_view *view;
    tl_mtcap mt;
    uint64_t epoch;
    struct tl_snapshot *prev, *next;
};

struct tl_log {
    pthread_mutex_t wlock, mlock, tlock;
    /* Debug builds: the holder of each lock, indexed by TL_LK_* (see
     * tl_assert.h); always 0 in release builds.  Take the locks only
     * through the wrappers below. */
    atomic_uintptr_t lk_owner[TL_LK_COUNT];
    pthread_cond_t cv; /* wakes the worker; waited on with wlock */
    tl_config cfg;
    size_t mt_max_records;
    size_t page_records;
    size_t slab_bytes;   /* memrun slab size (see storage.h) */
    tl_slab *slab;       /* current memrun slab */
    atomic_int closed;
    atomic_int maint_mode; /* TL_MAINT_* currently in effect */

    tl_memtable mt;
    tl_tombs tombs;
    uint64_t tomb_seq;   /* seq of the newest tombstone */
    uint64_t max_wm;     /* greatest watermark given to any source */
    tl_manifest *man;
    tl_view *view;       /* cache for snapshots; NULL when stale */
    tl_retired ret;
    uint64_t epoch;
    struct tl_snapshot *snap_head, *snap_tail;
    size_t live_snaps;

    int maint_running, maint_stop;
    pthread_t thread;

    /* Pacing of tl_drain_retired under drain_batch_limit (wlock): records
     * written since the last safe point, and what the current one may still
     * hand out (drain_in_round: a safe point is in progress). */
    atomic_ullong drain_owed;
    uint64_t drain_left;
    atomic_int drain_in_round;

    atomic_ullong alloc_failures;
    uint64_t flushes, compactions;
};

/* The engine's locks (order and roles at the top of this file).  Debug
 * builds check the order and record the holder, so that functions named
 * *_locked / *_mlocked can assert what they rely on. */
static inline pthread_mutex_t *tl_lk_mutex(tl_log *log, int level)
{
    return level == TL_LK_WLOCK ? &log->wlock : level == TL_LK_MLOCK ? &log->mlock : &log->tlock;
}

static inline void tl_lk_lock(tl_log *log, int level)
{
#ifdef TL_DEBUG
    tl_lk_before(log, level, &log->lk_owner[level]);
#endif
    pthread_mutex_lock(tl_lk_mutex(log, level));
#ifdef TL_DEBUG
    tl_lk_acquired(log, level, &log->lk_owner[level]);
#endif
}

static inline void tl_lk_unlock(tl_log *log, int level)
{
#ifdef TL_DEBUG
    tl_lk_releasing(log, level, &log->lk_owner[level]);
#endif
    pthread_mutex_unlock(tl_lk_mutex(log, level));
}

static inline void tl_wlock(tl_log *log) { tl_lk_lock(log, TL_LK_WLOCK); }
static inline void tl_wunlock(tl_log *log) { tl_lk_unlock(log, TL_LK_WLOCK); }
static inline void tl_mlock(tl_log *log) { tl_lk_lock(log, TL_LK_MLOCK); }
static inline void tl_munlock(tl_log *log) { tl_lk_unlock(log, TL_LK_MLOCK); }
static inline void tl_tlock(tl_log *log) { tl_lk_lock(log, TL_LK_TLOCK); }
static inline void tl_tunlock(tl_log *log) { tl_lk_unlock(log, TL_LK_TLOCK); }

/* Wait on log->cv with wlock held (released while waiting); ts: absolute
 * CLOCK_REALTIME deadline or NULL. */
static inline void tl_cv_wait(tl_log *log, const struct timespec *ts)
{
#ifdef TL_DEBUG
    tl_lk_releasing(log, TL_LK_WLOCK, &log->lk_owner[TL_LK_WLOCK]);
#endif
    if (ts)
        pthread_cond_timedwait(&log->cv, &log->wlock, ts);
    else
        pthread_cond_wait(&log->cv, &log->wlock);
#ifdef TL_DEBUG
    tl_lk_acquired(log, TL_LK_WLOCK, &log->lk_owner[TL_LK_WLOCK]);
#endif
}

/* What a function documented as "wlock held" / "mlock held" relies on, and
 * "holds none of this log's locks" (before taking tlock or joining). */
#define TL_ASSERT_WLOCKED(log) TL_ASSERT(tl_lk_held(&(log)->lk_owner[TL_LK_WLOCK]))
#define TL_ASSERT_MLOCKED(log) TL_ASSERT(tl_lk_held(&(log)->lk_owner[TL_LK_MLOCK]))
#define TL_ASSERT_NO_LOCKS(log) TL_ASSERT(tl_lk_none_held(log))

/* Count an allocation failure of this log and set the message.  (Inline,
 * like tl_maint_notify: every unit uses them, so they belong to no unit.) */
static inline tl_status tl_log_nomem(tl_log *log, const char *what)
{
    atomic_fetch_add(&log->alloc_failures, 1);
    return tl_err_nomem(what);
}

/* wlock held: wake the worker (if one runs) to look for work. */
static inline void tl_maint_notify(tl_log *log)
{
    TL_ASSERT_WLOCKED(log);
    if (log->maint_running)
        pthread_cond_signal(&log->cv);
}

/* Units, bottom-up (each calls only units listed before it; make check runs
 * tools/callgraph.py to keep it so):
 *   snapshot.c  the published state (manifest, cached view), snapshots
 *   flush.c     seal and flush
 *   compact.c   compaction (after a flush)
 *   maint.c     dispatch, tl_flush / tl_compact, the background worker
 *   log.c, write.c and the readers (iter.c, spans.c and count.c, over
 *   reader.c) use them. */

/* snapshot.c -- wlock held: publish nm as the manifest (the log's reference
 * moves to it) and drop the cached view. */
void tl_replace_manifest(tl_log *log, tl_manifest *nm);
/* snapshot.c -- wlock held: build log->view if stale. */
tl_status tl_view_current(tl_log *log, tl_view **out);

/* flush.c -- wlock held: seal the memtable into a memrun (no-op when empty). */
tl_status tl_seal_locked(tl_log *log);
/* flush.c -- mlock held: optionally seal, then turn every memrun into an L0
 * segment. */
tl_status tl_flush_mlocked(tl_log *log, int seal);

/* compact.c -- mlock held: flush, then compact L0 (+ overlapping L1) into L1. */
tl_status tl_compact_mlocked(tl_log *log, int seal);

/* maint.c -- takes mlock: flush (compact = 0) or flush + compact; seal first
 * if asked. */
tl_status tl_maintain(tl_log *log, int compact, int seal);
/* maint.c -- stop and join the worker (no-op if not running). */
void tl_maint_stop_internal(tl_log *log);

#endif
