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

static int has_work(const tl_log *log, int *compact)
{
    const tl_manifest *m = log->man;
    *compact = m->nl0 >= TL_L0_TRIGGER || log->tombs.n >= TL_TOMB_TRIGGER;
    return m->nmem > 0 || *compact;
}

static void *worker(void *arg)
{
    tl_log *log = arg;
    pthread_mutex_lock(&log->wlock);
    while (!log->maint_stop) {
        int compact;
        if (atomic_load(&log->closed) || !has_work(log, &compact)) {
            pthread_cond_wait(&log->cv, &log->wlock);
            continue;
        }
        pthread_mutex_unlock(&log->wlock);
        tl_status st = tl_maintain(log, compact, 0);
        pthread_mutex_lock(&log->wlock);
        if (st != TL_OK && !log->maint_stop) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_nsec += 20 * 1000 * 1000;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&log->cv, &log->wlock, &ts);
        }
    }
    pthread_mutex_unlock(&log->wlock);
    return NULL;
}

void tl_maint_notify(tl_log *log)
{
    if (log->maint_running)
        pthread_cond_signal(&log->cv);
}

tl_status tl_maint_start(tl_log *log)
{
    if (!log)
        return tl_err_null("log");
    pthread_mutex_lock(&log->tlock);
    pthread_mutex_lock(&log->wlock);
    if (atomic_load(&log->closed)) {
        pthread_mutex_unlock(&log->wlock);
        pthread_mutex_unlock(&log->tlock);
        return tl_err_closed();
    }
    int running = log->maint_running;
    log->maint_stop = 0;
    pthread_mutex_unlock(&log->wlock);
    if (running) {
        pthread_mutex_unlock(&log->tlock);
        return TL_OK;
    }
    if (pthread_create(&log->thread, NULL, worker, log) != 0) {
        pthread_mutex_unlock(&log->tlock);
        return tl_log_nomem(log, "starting the maintenance thread");
    }
    pthread_mutex_lock(&log->wlock);
    log->maint_running = 1;
    atomic_store(&log->maint_mode, TL_MAINT_BACKGROUND);
    pthread_cond_signal(&log->cv);
    pthread_mutex_unlock(&log->wlock);
    pthread_mutex_unlock(&log->tlock);
    return TL_OK;
}

void tl_maint_stop_internal(tl_log *log)
{
    pthread_mutex_lock(&log->tlock);
    pthread_mutex_lock(&log->wlock);
    if (!log->maint_running) {
        pthread_mutex_unlock(&log->wlock);
        pthread_mutex_unlock(&log->tlock);
        return;
    }
    log->maint_stop = 1;
    pthread_cond_broadcast(&log->cv);
    pthread_mutex_unlock(&log->wlock);
    pthread_join(log->thread, NULL);
    pthread_mutex_lock(&log->wlock);
    log->maint_running = 0;
    atomic_store(&log->maint_mode, TL_MAINT_DISABLED);
    pthread_mutex_unlock(&log->wlock);
    pthread_mutex_unlock(&log->tlock);
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
