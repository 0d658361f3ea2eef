/*
 * log.c - open, close, destroy, configuration, stats, handle enumeration and
 * the retired-queue drain.
 *
 * Close is all-or-nothing: it reserves room in the retired queue for every
 * stored handle before marking the log closed, so it either fails with
 * nothing changed (TL_EBUSY, TL_ENOMEM) or completes.  Once closed, the
 * writer paths and maintenance refuse to publish anything, so the stored set
 * it moves to the retired queue is exactly the one it counted.
 */
#include <pthread.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "error.h"
#include "log.h"

/* A chunk (header + ts/h arrays) then fills exactly 64 KiB of mapped pages. */
#define TL_MAX_CHUNK_RECORDS ((65536 - 64) / TL_RECORD_BYTES)

static void free_data(tl_log *log)
{
    tl_mt_free(&log->mt);
    tl_view_release(log->view);
    log->view = NULL;
    tl_manifest_release(log->man);
    log->man = NULL;
    tl_tombs_free(&log->tombs);
    tl_slab_release(log->slab);
    log->slab = NULL;
}

static void free_log(tl_log *log)
{
    /* Destroyed only with no snapshot left and no lock held by anyone. */
    TL_ASSERT(log->live_snaps == 0 && !log->snap_head);
    for (int i = 0; i < TL_LK_COUNT; i++)
        TL_ASSERT(atomic_load(&log->lk_owner[i]) == 0);
    free_data(log);
    tl_retired_free(&log->ret);
    pthread_cond_destroy(&log->cv);
    pthread_mutex_destroy(&log->wlock);
    pthread_mutex_destroy(&log->mlock);
    pthread_mutex_destroy(&log->tlock);
    tl_free(log);
}

tl_status tl_log_open(const tl_config *cfg, tl_log **out)
{
    if (!out)
        return tl_err_null("out");
    *out = NULL;
    tl_config c, def;
    if (!cfg) {
        tl_config_init(&def);
        cfg = &def;
    }
    tl_status st = tl_config_normalize(cfg, &c);
    if (st != TL_OK)
        return st;
    tl_log *log = tl_zalloc(sizeof *log);
    if (!log)
        return tl_err_nomem("opening a log");
    pthread_mutex_init(&log->wlock, NULL);
    pthread_mutex_init(&log->mlock, NULL);
    pthread_mutex_init(&log->tlock, NULL);
    pthread_cond_init(&log->cv, NULL);
    for (int i = 0; i < TL_LK_COUNT; i++)
        atomic_init(&log->lk_owner[i], 0);
    log->cfg = c;
    const int64_t rec = (int64_t)TL_RECORD_BYTES;
    log->mt_max_records = (size_t)(c.memtable_max_bytes / rec + (c.memtable_max_bytes % rec != 0));
    log->page_records = (size_t)(c.target_page_bytes / rec);
    /* a few memtables per slab, at most 8 MiB */
    int64_t sb = c.memtable_max_bytes < ((int64_t)2 << 20) ? 4 * c.memtable_max_bytes : ((int64_t)8 << 20);
    log->slab_bytes = (size_t)sb;
    size_t chunk = log->mt_max_records < TL_MAX_CHUNK_RECORDS ? log->mt_max_records : TL_MAX_CHUNK_RECORDS;
    tl_mt_init(&log->mt, chunk);
    atomic_init(&log->closed, 0);
    atomic_init(&log->maint_mode, TL_MAINT_DISABLED);
    atomic_init(&log->alloc_failures, 0);
    atomic_init(&log->drain_in_round, 0);
    atomic_init(&log->drain_owed, 0);
    tl_level *l1 = tl_level_new(NULL, 0, 0);
    log->man = l1 ? tl_manifest_new(NULL, 0, NULL, 0, NULL, 0, NULL, 0, l1) : NULL;
    tl_level_release(l1);
    if (!log->man) {
        free_log(log);
        return tl_err_nomem("opening a log");
    }
    if (c.maintenance == TL_MAINT_BACKGROUND && (st = tl_maint_start(log)) != TL_OK) {
        free_log(log);
        return st;
    }
    *out = log;
    return TL_OK;
}

static void push_pages(tl_retired *q, const tl_page *p, size_t np, uint64_t e)
{
    for (size_t i = 0; i < np; i++)
        for (size_t j = 0; j < p[i].n; j++)
            tl_retired_push(q, p[i].h[j], e);
}

tl_status tl_log_close(tl_log *log)
{
    if (!log)
        return tl_err_null("log");
    tl_wlock(log);
    if (atomic_load(&log->closed)) {
        tl_wunlock(log);
        return TL_OK;
    }
    if (log->live_snaps) {
        size_t n = log->live_snaps;
        tl_wunlock(log);
        return tl_errorf(TL_EBUSY,
                         "cannot close the log: %zu reader snapshot(s) still open (iterators, page "
                         "span iterators or page spans not yet exhausted or closed). Close them, or "
                         "use them in a 'with' block; at the interactive prompt, '_' may still hold "
                         "the last one",
                         n);
    }
    if (tl_retired_reserve(&log->ret, tl_mt_count(&log->mt) + log->man->nrec) != TL_OK) {
        tl_wunlock(log);
        return tl_log_nomem(log, "closing the log");
    }
    atomic_store(&log->closed, 1);
    tl_wunlock(log);

    tl_maint_stop_internal(log);

    tl_mlock(log);
    tl_wlock(log);
    uint64_t e = log->epoch++;
    size_t before = tl_retired_len(&log->ret);
    tl_mt_retire_all(&log->mt, &log->ret, e);
    const tl_manifest *m = log->man;
    for (size_t i = 0; i < m->nmem; i++)
        push_pages(&log->ret, &m->mem[i]->page, 1, e);
    for (size_t i = 0; i < m->nl0; i++)
        push_pages(&log->ret, m->l0[i]->pages, m->l0[i]->np, e);
    push_pages(&log->ret, m->l1->pages, m->l1->npages, e);
    /* Exactly the stored set counted when reserving (top of file). */
    TL_ASSERT(tl_retired_len(&log->ret) == before + tl_mt_count(&log->mt) + m->nrec);
    free_data(log);
    tl_wunlock(log);
    tl_munlock(log);
    return TL_OK;
}

tl_status tl_log_destroy(tl_log *log)
{
    if (!log)
        return TL_OK;
    tl_wlock(log);
    size_t live = log->live_snaps;
    tl_wunlock(log);
    if (live)
        return tl_errorf(TL_EBUSY, "cannot destroy the log: %zu snapshot(s) still alive", live);
    tl_status st = tl_log_close(log);
    if (st == TL_EBUSY)
        return st; /* a snapshot was taken meanwhile */
    if (st != TL_OK) {
        /* Close could not reserve the retired queue; the handles are
         * forgotten anyway, so close without moving them. */
        tl_wlock(log);
        if (log->live_snaps) {
            tl_wunlock(log);
            return tl_errorf(TL_EBUSY, "cannot destroy the log: snapshots still alive");
        }
        atomic_store(&log->closed, 1);
        tl_wunlock(log);
        tl_maint_stop_internal(log);
        tl_mlock(log); /* let an in-flight flush finish */
        tl_munlock(log);
    }
    free_log(log);
    return TL_OK;
}

int32_t tl_log_is_closed(const tl_log *log)
{
    return log ? atomic_load(&((tl_log *)log)->closed) : 1;
}

tl_status tl_log_config(const tl_log *clog, tl_config *out)
{
    tl_log *log = (tl_log *)clog;
    if (!log)
        return tl_err_null("log");
    if (!out)
        return tl_err_null("out");
    if (atomic_load(&log->closed))
        return tl_err_closed();
    *out = log->cfg;
    out->maintenance = atomic_load(&log->maint_mode);
    return TL_OK;
}

const char *tl_log_option_str(const tl_log *clog, const char *name)
{
    tl_log *log = (tl_log *)clog;
    if (!log || !name)
        return NULL;
    if (strcmp(name, "time_unit") == 0)
        return tl_unit_name(log->cfg.time_unit);
    if (strcmp(name, "maintenance") == 0)
        return tl_maint_name(atomic_load(&log->maint_mode));
    if (strcmp(name, "busy_policy") == 0)
        return tl_busy_name(log->cfg.busy_policy);
    return NULL;
}

tl_status tl_log_stats(const tl_log *clog, tl_stats *out)
{
    tl_log *log = (tl_log *)clog;
    if (!log)
        return tl_err_null("log");
    if (!out)
        return tl_err_null("out");
    memset(out, 0, sizeof *out);
    tl_wlock(log);
    size_t bytes = sizeof *log + log->ret.cap * sizeof(tl_retired_ent);
    if (!atomic_load(&log->closed)) {
        const tl_manifest *m = log->man;
        out->memtable_records = tl_mt_count(&log->mt);
        out->memrun_records = m->mem_records;
        out->l0_records = m->l0_records;
        out->l1_records = m->l1->n;
        out->memruns = m->nmem;
        out->l0_segments = m->nl0;
        out->l1_segments = m->l1->nseg;
        out->pages = m->l0_pages + m->l1->npages;
        out->tombstones = log->tombs.n;
        /* The unused tail of the current memrun slab is not counted: it is
         * mapped but never touched, so it takes no memory until used. */
        bytes += tl_mt_bytes(&log->mt) + m->bytes + log->tombs.cap * sizeof(tl_tomb);
    }
    out->retired_len = tl_retired_len(&log->ret);
    out->live_snapshots = log->live_snaps;
    out->bytes_used = bytes;
    out->alloc_failures = atomic_load(&log->alloc_failures);
    out->flushes = log->flushes;
    out->compactions = log->compactions;
    tl_wunlock(log);
    return TL_OK;
}

static void copy_pages(const tl_page *p, size_t np, tl_handle *out, size_t cap, size_t *pos)
{
    for (size_t i = 0; i < np; i++) {
        if (*pos < cap) {
            size_t k = cap - *pos < p[i].n ? cap - *pos : p[i].n;
            memcpy(out + *pos, p[i].h, k * sizeof *out);
        }
        *pos += p[i].n;
    }
}

tl_status tl_log_handles(tl_log *log, tl_handle *out, size_t cap, size_t *n_total)
{
    if (!log)
        return tl_err_null("log");
    if (!n_total)
        return tl_err_null("n_total");
    *n_total = 0;
    if (cap && !out)
        return tl_err_null("out");
    tl_wlock(log);
    size_t pos = 0;
    if (log->man) {
        const tl_manifest *m = log->man;
        tl_mt_handles(&log->mt, out, cap, &pos);
        for (size_t i = 0; i < m->nmem; i++)
            copy_pages(&m->mem[i]->page, 1, out, cap, &pos);
        for (size_t i = 0; i < m->nl0; i++)
            copy_pages(m->l0[i]->pages, m->l0[i]->np, out, cap, &pos);
        copy_pages(m->l1->pages, m->l1->npages, out, cap, &pos);
    }
    for (size_t i = log->ret.head; i < log->ret.n; i++, pos++)
        if (pos < cap)
            out[pos] = log->ret.v[i].h;
    *n_total = pos;
    tl_wunlock(log);
    return TL_OK;
}

tl_status tl_drain_retired(tl_log *log, tl_handle *out, size_t cap, size_t *n_out)
{
    if (n_out)
        *n_out = 0;
    if (!log)
        return tl_err_null("log");
    if (!n_out)
        return tl_err_null("n_out");
    if (cap && !out)
        return tl_err_null("out");
    /* Nothing retired (the usual case): no lock, and the safe point ends
     * here.  A handle retired concurrently is left for the next one. */
    if (tl_retired_len_hint(&log->ret) == 0) {
        atomic_store_explicit(&log->drain_in_round, 0, memory_order_relaxed);
        atomic_store_explicit(&log->drain_owed, 0, memory_order_relaxed);
        return TL_OK;
    }
    tl_wlock(log);
    /* Epoch rule (design.md section 6): the list head is the oldest live
     * snapshot; handles retired before it was taken are releasable. */
    TL_ASSERT(!log->snap_head || !log->snap_head->prev);
    TL_ASSERT(!log->snap_head || log->snap_head->epoch <= log->epoch);
    uint64_t min_epoch = log->snap_head ? log->snap_head->epoch : UINT64_MAX;
    size_t lim = cap;
    uint64_t limit = log->cfg.drain_batch_limit > 0 ? (uint64_t)log->cfg.drain_batch_limit : 0;
    if (!atomic_load(&log->closed) && limit > 0) {
        /* A safe point is the run of calls up to the first short one; its
         * allowance is the limit plus what was written since the last. */
        if (!atomic_load_explicit(&log->drain_in_round, memory_order_relaxed)) {
            log->drain_left = limit + atomic_exchange_explicit(&log->drain_owed, 0,
                                                               memory_order_relaxed);
            atomic_store_explicit(&log->drain_in_round, 1, memory_order_relaxed);
        }
        if (log->drain_left < lim)
            lim = (size_t)log->drain_left;
    }
    size_t n = tl_retired_drain(&log->ret, min_epoch, out, lim);
    TL_ASSERT(n <= lim && lim <= cap);
    if (limit > 0)
        log->drain_left -= n < log->drain_left ? n : log->drain_left;
    if (n < cap)
        atomic_store_explicit(&log->drain_in_round, 0, memory_order_relaxed);
    *n_out = n;
    tl_wunlock(log);
    return TL_OK;
}
