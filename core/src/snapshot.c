/*
 * snapshot.c - the log's published state and the snapshots taken of it.
 *
 * The log publishes its immutable layers as one manifest pointer plus a
 * cached view (manifest + tombstone intervals); flush, seal and compaction
 * swap the manifest here (tl_replace_manifest), under wlock.  A snapshot
 * holds a view and a capture of the memtable, both by reference.
 *
 * Acquire costs one allocation and a few refcount increments under wlock:
 * the view is cached by the log until something structural changes, and the
 * memtable capture shares its chunks (see memtable.h).  Snapshots are linked
 * in acquisition order for the epoch rule (log.h).
 */
#include <pthread.h>

#include "alloc.h"
#include "error.h"
#include "log.h"

/* tombs.h: watermarks are tombstone seqs already handed out. */
TL_DEBUG_FN int watermarks_issued(const tl_log *log, const tl_manifest *m)
{
    if (m->l1->seq > log->tomb_seq)
        return 0;
    for (size_t i = 0; i < m->nl0; i++)
        if (m->l0[i]->seq > log->tomb_seq)
            return 0;
    for (size_t i = 0; i < m->nmem; i++)
        if (m->mem[i]->seq > log->tomb_seq)
            return 0;
    return 1;
}

void tl_replace_manifest(tl_log *log, tl_manifest *nm)
{
    TL_ASSERT_WLOCKED(log);
    TL_ASSERT(nm && nm != log->man);
    TL_ASSERT(watermarks_issued(log, nm));
    tl_manifest *old = log->man;
    log->man = nm;
    tl_manifest_release(old);
    tl_view_release(log->view);
    log->view = NULL;
}

tl_status tl_view_current(tl_log *log, tl_view **out)
{
    TL_ASSERT_WLOCKED(log);
    if (!log->view && tl_view_build(log->man, log->tombs.v, log->tombs.n, &log->view) != TL_OK)
        return TL_ENOMEM;
    /* The cache is dropped whenever the manifest is replaced. */
    TL_ASSERT(log->view->m == log->man);
    *out = log->view;
    return TL_OK;
}

tl_status tl_snapshot_acquire(tl_log *log, tl_snapshot **out)
{
    if (!log)
        return tl_err_null("log");
    if (!out)
        return tl_err_null("out");
    *out = NULL;
    tl_snapshot *s = tl_alloc(sizeof *s);
    if (!s)
        return tl_log_nomem(log, "acquiring a snapshot");
    tl_wlock(log);
    if (atomic_load_explicit(&log->closed, memory_order_relaxed)) {
        tl_wunlock(log);
        tl_free(s);
        return tl_err_closed();
    }
    tl_view *v;
    if (tl_view_current(log, &v) != TL_OK || tl_mt_capture(&log->mt, &s->mt) != TL_OK) {
        tl_wunlock(log);
        tl_free(s);
        return tl_log_nomem(log, "acquiring a snapshot");
    }
    tl_view_retain(v);
    s->view = v;
    tl_rc_init(&s->rc);
    s->log = log;
    s->epoch = log->epoch;
    /* Linked in acquisition order: epochs are non-decreasing along the
     * list, so the head is the oldest (log.h, epoch rule). */
    TL_ASSERT(!log->snap_tail || log->snap_tail->epoch <= s->epoch);
    TL_ASSERT((log->snap_head == NULL) == (log->snap_tail == NULL));
    s->next = NULL;
    s->prev = log->snap_tail;
    if (log->snap_tail)
        log->snap_tail->next = s;
    else
        log->snap_head = s;
    log->snap_tail = s;
    log->live_snaps++;
    tl_wunlock(log);
    *out = s;
    return TL_OK;
}

tl_status tl_snapshot_retain(tl_snapshot *snap)
{
    if (!snap)
        return tl_err_null("snap");
    tl_rc_inc(&snap->rc);
    return TL_OK;
}

void tl_snapshot_release(tl_snapshot *snap)
{
    if (!snap || !tl_rc_dec(&snap->rc))
        return;
    tl_log *log = snap->log;
    tl_wlock(log);
    TL_ASSERT(log->live_snaps > 0);
    TL_ASSERT(snap->prev ? snap->prev->next == snap : log->snap_head == snap);
    TL_ASSERT(snap->next ? snap->next->prev == snap : log->snap_tail == snap);
    if (snap->prev)
        snap->prev->next = snap->next;
    else
        log->snap_head = snap->next;
    if (snap->next)
        snap->next->prev = snap->prev;
    else
        log->snap_tail = snap->prev;
    log->live_snaps--;
    tl_wunlock(log);
    tl_view_release(snap->view);
    tl_mtcap_release(&snap->mt);
    tl_free(snap);
}

tl_log *tl_snapshot_log(const tl_snapshot *snap) { return snap ? snap->log : NULL; }
