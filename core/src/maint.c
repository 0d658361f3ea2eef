/*
 * maint.c - the background maintenance worker.
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

#include "error.h"
#include "log.h"

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

void tl_maint_notify(tl_log *log)
{
    TL_ASSERT_WLOCKED(log);
    if (log->maint_running)
        pthread_cond_signal(&log->cv);
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
