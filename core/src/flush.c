/*
 * flush.c - seal (memtable -> memrun) and flush (memruns -> L0 segments).
 *
 * Seal runs under wlock and is the only copy of memtable data: the memrun is
 * already a sorted struct-of-arrays run.  Flush then re-slices each memrun
 * into pages without copying (the L0 segment keeps the memrun as backing),
 * and publishes the new manifest with one swap under wlock.  Only flush
 * removes memruns from the queue, and flushes are serialized by mlock, so the
 * queue still starts with the runs this flush captured when it publishes.
 */
#include <pthread.h>

#include "alloc.h"
#include "error.h"
#include "log.h"

tl_status tl_seal_locked(tl_log *log)
{
    TL_ASSERT_WLOCKED(log);
    if (tl_mt_count(&log->mt) == 0)
        return TL_OK;
    tl_memrun *r;
    if (tl_mt_build_run(&log->mt, log->tomb_seq, &log->slab, log->slab_bytes, &r) != TL_OK)
        return TL_ENOMEM;
    tl_manifest *old = log->man;
    tl_manifest *nm = tl_manifest_new(old->mem, old->nmem, &r, 1, old->l0, old->nl0, NULL, 0, old->l1);
    tl_memrun_release(r);
    if (!nm)
        return TL_ENOMEM;
    TL_ASSERT(nm->nmem == old->nmem + 1 && nm->mem[nm->nmem - 1]->seq == log->tomb_seq);
    tl_replace_manifest(log, nm);
    tl_mt_reset(&log->mt);
    TL_ASSERT(tl_mt_count(&log->mt) == 0);
    if (log->tomb_seq > log->max_wm)
        log->max_wm = log->tomb_seq;
    tl_maint_notify(log);
    return TL_OK;
}

/* The sealed queue of cur starts with the k memruns of m. */
TL_DEBUG_FN int queue_starts_with(const tl_manifest *cur, const tl_manifest *m, size_t k)
{
    if (cur->nmem < k)
        return 0;
    for (size_t i = 0; i < k; i++)
        if (cur->mem[i] != m->mem[i])
            return 0;
    return 1;
}

tl_status tl_flush_mlocked(tl_log *log, int seal)
{
    TL_ASSERT_MLOCKED(log);
    tl_wlock(log);
    if (atomic_load(&log->closed)) {
        tl_wunlock(log);
        return tl_err_closed();
    }
    if (seal && tl_seal_locked(log) != TL_OK) {
        tl_wunlock(log);
        return tl_log_nomem(log, "sealing the memtable");
    }
    tl_manifest *m = log->man;
    tl_manifest_retain(m);
    size_t page_records = log->page_records;
    tl_wunlock(log);

    size_t k = m->nmem;
    if (k == 0) {
        tl_manifest_release(m);
        return TL_OK;
    }
    tl_status st = TL_OK;
    size_t built = 0;
    tl_segment **segs = tl_alloc_array(k, sizeof *segs);
    if (segs)
        for (; built < k; built++) {
            if (!(segs[built] = tl_segment_from_memrun(m->mem[built], page_records)))
                break;
            /* An L0 segment re-slices its memrun: same records, watermark. */
            TL_ASSERT(segs[built]->n == m->mem[built]->n && segs[built]->seq == m->mem[built]->seq);
        }
    if (!segs || built < k) {
        st = tl_log_nomem(log, "flushing");
        goto out;
    }

    tl_wlock(log);
    if (atomic_load(&log->closed)) {
        st = tl_err_closed();
    } else {
        tl_manifest *cur = log->man;
        tl_manifest *nm = NULL;
        /* Only flush removes memruns and flushes hold mlock (top of file). */
        TL_ASSERT(queue_starts_with(cur, m, k));
        if (cur->nmem >= k && cur->mem[0] == m->mem[0])
            nm = tl_manifest_new(cur->mem + k, cur->nmem - k, NULL, 0, cur->l0, cur->nl0, segs, k, cur->l1);
        else
            st = tl_errorf(TL_EINTERNAL, "flush: the sealed queue changed under the maintenance lock");
        if (nm) {
            tl_replace_manifest(log, nm);
            log->flushes++;
            tl_maint_notify(log);
        } else if (st == TL_OK) {
            st = tl_log_nomem(log, "flushing");
        }
    }
    tl_wunlock(log);
out:
    for (size_t i = 0; i < built; i++)
        tl_segment_release(segs[i]);
    tl_free(segs);
    tl_manifest_release(m);
    return st;
}
