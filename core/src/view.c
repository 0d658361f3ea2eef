/*
 * view.c - per-source tombstone intervals for a manifest (see view.h).
 * Sources are visited L1, L0 (oldest first), memruns (oldest first).  Along
 * L0 then the memruns watermarks are non-decreasing (asserted by
 * tl_manifest_new), so equal watermarks are adjacent and share one interval
 * list.  L1's watermark may be newer than a memrun's (a run sealed while a
 * compaction ran, before a delete that compaction then applied); such a
 * list is simply built on its own.
 */
#include "view.h"

#include "alloc.h"

tl_status tl_view_build(tl_manifest *m, const tl_tomb *t, size_t nt, tl_view **out)
{
    size_t ns = 1 + m->nl0 + m->nmem;
    tl_view *v = tl_zalloc(sizeof *v);
    tl_tview *tv = tl_alloc_array(ns, sizeof *tv);
    uint64_t *ws = tl_alloc_array(ns, sizeof *ws);
    if (!v || !tv || !ws)
        goto fail;
    ws[0] = m->l1->seq;
    for (size_t i = 0; i < m->nl0; i++)
        ws[1 + i] = m->l0[i]->seq;
    for (size_t i = 0; i < m->nmem; i++)
        ws[1 + m->nl0 + i] = m->mem[i]->seq;

    size_t total = 0;
    for (size_t i = 0; i < ns; i++)
        if (i == 0 || ws[i] != ws[i - 1])
            total += tl_tombs_count_after(t, nt, ws[i]);
    if (total && !(v->pool = tl_alloc_array(total, sizeof *v->pool)))
        goto fail;
    size_t off = 0;
    for (size_t i = 0; i < ns; i++) {
        if (i > 0 && ws[i] == ws[i - 1]) {
            tv[i] = tv[i - 1];
            continue;
        }
        size_t k = tl_tombs_count_after(t, nt, ws[i]);
        tv[i].v = k ? v->pool + off : NULL;
        tv[i].n = k ? tl_tombs_coalesce(t, nt, ws[i], v->pool + off) : 0;
        off += k;
    }
    TL_ASSERT(off == total);
    tl_free(ws);
    tl_rc_init(&v->rc);
    tl_manifest_retain(m);
    v->m = m;
    v->srcs = tv;
    v->l1 = tv[0];
    v->l0 = tv + 1;
    v->mem = tv + 1 + m->nl0;
    *out = v;
    return TL_OK;
fail:
    if (v)
        tl_free(v->pool);
    tl_free(v);
    tl_free(tv);
    tl_free(ws);
    return TL_ENOMEM;
}

void tl_view_retain(tl_view *v) { tl_rc_inc(&v->rc); }

void tl_view_release(tl_view *v)
{
    if (!v || !tl_rc_dec(&v->rc))
        return;
    tl_manifest_release(v->m);
    tl_free(v->srcs);
    tl_free(v->pool);
    tl_free(v);
}
