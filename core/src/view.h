/*
 * view.h - a manifest plus, for each of its sources, the coalesced tombstone
 * intervals that still apply to it (tombstones newer than its watermark).
 *
 * Built lazily by the log when a snapshot or a compaction needs it and cached
 * until the manifest or the tombstone list changes; immutable and refcounted
 * like the manifest it holds.
 */
#ifndef TL_VIEW_H
#define TL_VIEW_H

#include "storage.h"
#include "tombs.h"

typedef struct tl_tview {
    const tl_ival *v;
    size_t n;
} tl_tview;

typedef struct tl_view {
    tl_rc rc;
    tl_manifest *m;
    tl_tview l1;
    tl_tview *l0;  /* m->nl0 entries */
    tl_tview *mem; /* m->nmem entries */
    tl_tview *srcs; /* the array l0 and mem point into */
    tl_ival *pool;
} tl_view;

/* Retains m.  TL_ENOMEM on failure. */
tl_status tl_view_build(tl_manifest *m, const tl_tomb *t, size_t nt, tl_view **out);
void tl_view_retain(tl_view *v);
void tl_view_release(tl_view *v);

#endif
