/*
 * maint.c - maintenance: the flush/compact dispatch (tl_maintain), the
 * public tl_flush / tl_compact, and the background worker.
 *
 * This unit sits above flush.c and compact.c (it calls into both; neither
 * calls back), so the call graph between .c files stays acyclic
 * (tools/callgraph.py, run by make check).
 *
 * One thread per log, started by tl_log_open (maintenance=background) or
 * tl_maint_start, stopped (and joined) by tl_maint_stop and tl_log_close.
 * It sleeps on log->cv (with wlock) until there is work: sealed memruns to
 * flush, or enough L0 segments / tombstones to compact.  It never seals the
 * active memtable itself (writers do that when it is full).  After a failure
 * (e.g. out of memory) it waits a little before trying again instead of
 * spinning.
 */
#include <pthread.h>
#include <time.h>

#include "alloc.h"
#include "error.h"
#include "log.h"

tl_status tl_maintain(tl_log *log, int compact, int seal)
{
    tl_mlock(log);
    tl_status st = compact ? tl_compact_mlocked(log, seal) : tl_flush_mlocked(log, seal);
    tl_munlock(log);
    return st;
}

/* An explicit flush/compact usually ends an ingest burst: return the unused
 * tail of the current slab, whose huge page was faulted in whole (up to
 * 2 MiB resident for nothing), and the spare memtable chunks.  Memruns are
 * carved from the slab only under wlock. */
static tl_status trim_slab_tail(tl_log *log, tl_status st)
{
    TL_ASSERT_NO_LOCKS(log);
    tl_wlock(log);
    if (log->slab)
        tl_big_release_tail(log->slab->base, log->slab->size, log->slab->used);
    tl_mt_drop_spare(&log->mt);
    tl_wunlock(log);
    return st;
}

tl_status tl_flush(tl_log *log)
{
    return log ? trim_slab_tail(log, tl_maintain(log, 0, 1)) : tl_err_null("log");
}

tl_status tl_compact(tl_log *log)
{
    if (!log)
        return tl_err_null("log");
    tl_status st = trim_slab_tail(log, tl_maintain(log, 1, 1));
    /* A compaction frees sealed buffers, merge state and old levels to the
     * heap; glibc keeps such blocks resident unless asked.  Only here, not
     * on every flush: trimming walks the heap's free lists. */
    tl_heap_trim();
    return st;
}


/* wlock held. */
static int has_work(tl_log *log, int *compact)
{
    TL_ASSERT_WLOCKED(log);
    const tl_manifest *m = log->man;
    *compact = m->nl0 >= TL_L0_TRIGGER || log->tombs.n >= TL_TOMB_TRIGGER;
    return m->nmem > 0 || *compact;
}

static void *worker(void *arg)
{
    tl_log *log = arg;
    tl_wlock(log);
    while (!log->maint_stop) {
        int compact;
        if (atomic_load(&log->closed) || !has_work(log, &compact)) {
            tl_cv_wait(log, NULL);
            continue;
        }
        tl_wunlock(log);
        tl_status st = tl_maintain(log, compact, 0);
        tl_wlock(log);
        if (st != TL_OK && !log->maint_stop) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 20 * 1000 * 1000;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            tl_cv_wait(log, &ts);
        }
    }
    tl_wunlock(log);
    return NULL;
}

tl_status tl_maint_start(tl_log *log)
{
    if (!log)
        return tl_err_null("log");
    tl_tlock(log);
    tl_wlock(log);
    if (atomic_load(&log->closed)) {
        tl_wunlock(log);
        tl_tunlock(log);
        return tl_err_closed();
    }
    int running = log->maint_running;
    log->maint_stop = 0;
    tl_wunlock(log);
    if (running) {
        tl_tunlock(log);
        return TL_OK;
    }
    if (pthread_create(&log->thread, NULL, worker, log) != 0) {
        tl_tunlock(log);
        return tl_log_nomem(log, "starting the maintenance thread");
    }
    tl_wlock(log);
    log->maint_running = 1;
    atomic_store(&log->maint_mode, TL_MAINT_BACKGROUND);
    pthread_cond_signal(&log->cv);
    tl_wunlock(log);
    tl_tunlock(log);
    return TL_OK;
}

void tl_maint_stop_internal(tl_log *log)
{
    /* Joins the worker, which takes mlock and wlock: holding either here
     * would deadlock. */
    TL_ASSERT_NO_LOCKS(log);
    tl_tlock(log);
    tl_wlock(log);
    if (!log->maint_running) {
        tl_wunlock(log);
        tl_tunlock(log);
        return;
    }
    log->maint_stop = 1;
    pthread_cond_broadcast(&log->cv);
    tl_wunlock(log);
    pthread_join(log->thread, NULL);
    tl_wlock(log);
    TL_ASSERT(log->maint_stop);
    log->maint_running = 0;
    atomic_store(&log->maint_mode, TL_MAINT_DISABLED);
    tl_wunlock(log);
    tl_tunlock(log);
}

tl_status tl_maint_stop(tl_log *log)
{
    if (!log)
        return tl_err_null("log");
    if (atomic_load(&log->closed))
        return tl_err_closed();
    tl_maint_stop_internal(log);
    return TL_OK;
}
