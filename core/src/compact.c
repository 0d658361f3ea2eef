/*
 * compact.c - L0 (+ overlapping L1) -> L1, applying and folding tombstones.
 *
 * Plan (all reads from one view captured under wlock; the merge runs with
 * mlock only):
 *   - hull = [min, max] over all L0 segments;  G = the contiguous L1
 *     segments intersecting the hull.  G and every L0 segment are merged
 *     (sources in age order: G, then L0 oldest first, so equal timestamps
 *     keep insertion order) into new L1 segments placed where G was.
 *     Segments outside G never intersect the hull, so the level stays
 *     ordered and non-overlapping.  When G and L0 are already in time order
 *     taken in age order (in-order ingest), nothing is merged: each segment
 *     untouched by tombstones moves to L1 as it is (an L0 segment keeps its
 *     memrun backing), the others are rewritten alone.
 *   - an L1 segment outside G that a pending tombstone touches is rewritten
 *     alone (its output stays inside its own time range);
 *   - every other L1 segment is kept as is.
 * Records hidden by a tombstone are dropped and their handles retired.  The
 * new level reflects every tombstone up to W (the seq when the view was
 * captured), so tombstones with seq <= the smallest watermark left in the
 * manifest are folded away.
 */
#include <pthread.h>
#include <string.h>

#include "alloc.h"
#include "error.h"
#include "log.h"
#include "merge.h"

typedef struct seglist {
    tl_segment **v;
    size_t n, cap;
} seglist;

/* Output of one compaction group: pages carved in order from one block per
 * segment (TL_L1_SEG_PAGES pages of page_records), so every page has
 * exact-size arrays and a segment is one large, huge-page-friendly block.
 * A block holds min(full segment, input records still to come), so only
 * records dropped by tombstones leave slack, in a group's last block. */
typedef struct writer {
    size_t page_records;
    size_t left; /* input records of the group not yet given a block slot */
    char *block;
    size_t block_recs, used;
    int64_t *ts; /* current page: ts[pcap] then h[pcap] at block + used records */
    tl_handle *h;
    size_t n, pcap;
    tl_page pages[TL_L1_SEG_PAGES];
    size_t np;
    seglist *out;
    int failed;
} writer;

static int seglist_push(seglist *l, tl_segment *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        tl_segment **v = tl_realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return 0;
}

static void seglist_free(seglist *l)
{
    for (size_t i = 0; i < l->n; i++)
        tl_segment_release(l->v[i]);
    tl_free(l->v);
    memset(l, 0, sizeof *l);
}

static void w_finish_seg(writer *w)
{
    if (!w->block)
        return;
    tl_segment *s = NULL;
    if (w->np && !w->failed)
        s = tl_segment_new_owned(w->pages, w->np, w->block, w->block_recs * TL_RECORD_BYTES);
    if (!s) {
        tl_big_free(w->block, w->block_recs * TL_RECORD_BYTES);
        if (w->np)
            w->failed = 1;
    } else if (seglist_push(w->out, s) != 0) {
        tl_segment_release(s);
        w->failed = 1;
    }
    w->block = NULL;
    w->np = 0;
    w->used = 0;
}

static void w_finish_page(writer *w)
{
    if (!w->ts)
        return;
    if (w->n < w->pcap) /* close the gap so the page uses n records' bytes */
        memmove(w->ts + w->n, w->h, w->n * sizeof *w->h);
    tl_handle *h = (tl_handle *)(w->ts + w->n);
    /* The merge emits records in timestamp order: every page is sorted and
     * follows the previous one. */
    TL_ASSERT(w->n <= w->pcap && w->used + w->n <= w->block_recs);
    TL_ASSERT(tl_dbg_sorted(w->ts, w->n));
    TL_ASSERT(w->n == 0 || w->np == 0 || w->pages[w->np - 1].max <= w->ts[0]);
    if (w->n)
        w->pages[w->np++] = (tl_page){w->ts, h, w->n, w->ts[0], w->ts[w->n - 1]};
    w->used += w->n;
    w->ts = NULL;
    w->h = NULL;
    w->n = 0;
    if (w->used == w->block_recs || w->np == TL_L1_SEG_PAGES)
        w_finish_seg(w);
}

static void w_put(writer *w, const int64_t *ts, const tl_handle *h, size_t k)
{
    while (k && !w->failed) {
        if (!w->block) {
            size_t cap = TL_L1_SEG_PAGES * w->page_records;
            if (cap > w->left)
                cap = w->left;
            /* never expected: the output cannot exceed the input */
            TL_ASSERT(cap >= k);
            if (cap < k)
                cap = k;
            if (!(w->block = tl_big_alloc(cap * TL_RECORD_BYTES))) {
                w->failed = 1;
                return;
            }
            w->block_recs = cap;
            w->left -= cap < w->left ? cap : w->left;
            w->used = 0;
        }
        if (!w->ts) {
            w->pcap = w->block_recs - w->used < w->page_records ? w->block_recs - w->used : w->page_records;
            w->ts = (int64_t *)(w->block + w->used * TL_RECORD_BYTES);
            w->h = (tl_handle *)(w->ts + w->pcap);
            w->n = 0;
        }
        size_t c = w->pcap - w->n;
        if (c > k)
            c = k;
        memcpy(w->ts + w->n, ts, c * sizeof *ts);
        memcpy(w->h + w->n, h, c * sizeof *h);
        w->n += c;
        ts += c;
        h += c;
        k -= c;
        if (w->n == w->pcap)
            w_finish_page(w);
    }
}

/* Start a group of `total` input records. */
static void w_begin(writer *w, size_t total) { w->left = total; }

/* Close the current page and segment (segment boundaries between groups). */
static void w_close(writer *w)
{
    w_finish_page(w);
    w_finish_seg(w);
}

static void w_abort(writer *w)
{
    w->ts = NULL;
    w->np = 0;
    if (w->block)
        tl_big_free(w->block, w->block_recs * TL_RECORD_BYTES);
    w->block = NULL;
}

static void drain_merge(tl_merge *mg, writer *w)
{
    const int64_t *ts;
    const tl_handle *h;
    size_t k;
    while (!w->failed && tl_merge_next(mg, SIZE_MAX, &ts, &h, &k))
        w_put(w, ts, h, k);
    w_close(w);
}

static int touched(const tl_segment *s, tl_tview tv)
{
    size_t a = tl_ival_find(tv.v, tv.n, s->min);
    return a < tv.n && tv.v[a].a <= s->max;
}

/* True when G (L1 segments g0..gE) followed by the L0 segments, in age
 * order, are also in time order (each max <= the next min): then the group
 * needs no merge and, for in-order ingest, compaction copies nothing. */
static int chained(const tl_level *L, size_t g0, size_t gE, const tl_manifest *m)
{
    const tl_segment *prev = NULL;
    for (size_t j = g0; j < gE + m->nl0; j++) {
        const tl_segment *s = j < gE ? L->seg[j] : m->l0[j - gE];
        if (prev && prev->max > s->min)
            return 0;
        prev = s;
    }
    return 1;
}

/* Output segment s as it is when no pending tombstone touches it (L0
 * segments become L1 segments without a copy), else rewrite it without its
 * deleted records. */
static void keep_or_filter(writer *w, tl_cur *curs, tl_hvec *drop, tl_segment *s, tl_tview tv)
{
    if (w->failed)
        return;
    if (touched(s, tv)) {
        tl_merge mg;
        w_begin(w, s->n);
        tl_merge_init(&mg, curs, INT64_MAX, drop);
        tl_merge_add(&mg, s->pages, s->np, tv.v, tv.n, INT64_MIN);
        drain_merge(&mg, w);
    } else {
        tl_segment_retain(s);
        if (seglist_push(w->out, s) != 0) {
            tl_segment_release(s);
            w->failed = 1;
        }
    }
}

/* wlock held: drop the tombstones every source of the manifest reflects. */
static void fold_locked(tl_log *log)
{
    TL_ASSERT_WLOCKED(log);
    const tl_manifest *m = log->man;
    uint64_t minw = m->l1->seq;
    for (size_t i = 0; i < m->nmem; i++)
        if (m->mem[i]->seq < minw)
            minw = m->mem[i]->seq;
    for (size_t i = 0; i < m->nl0; i++)
        if (m->l0[i]->seq < minw)
            minw = m->l0[i]->seq;
    size_t before = log->tombs.n;
    tl_tombs_fold(&log->tombs, minw);
    if (log->tombs.n != before) {
        tl_view_release(log->view);
        log->view = NULL;
    }
}

/* cur still starts with the L0 segments of m and has the same L1. */
TL_DEBUG_FN int levels_unchanged(const tl_manifest *cur, const tl_manifest *m)
{
    if (cur->nl0 < m->nl0 || cur->l1 != m->l1)
        return 0;
    for (size_t i = 0; i < m->nl0; i++)
        if (cur->l0[i] != m->l0[i])
            return 0;
    return 1;
}

tl_status tl_compact_mlocked(tl_log *log, int seal)
{
    TL_ASSERT_MLOCKED(log);
    tl_status st = tl_flush_mlocked(log, seal);
    if (st != TL_OK)
        return st;

    tl_wlock(log);
    if (atomic_load(&log->closed)) {
        tl_wunlock(log);
        return tl_err_closed();
    }
    tl_view *v;
    if (tl_view_current(log, &v) != TL_OK) {
        tl_wunlock(log);
        return tl_log_nomem(log, "compacting");
    }
    tl_view_retain(v);
    uint64_t W = log->tomb_seq;
    writer w = {.page_records = log->page_records};
    tl_wunlock(log);

    const tl_manifest *m = v->m;
    const tl_level *L = m->l1;
    /* W is the newest tombstone; the level already reflects up to L->seq. */
    TL_ASSERT(L->seq <= W);
    if (m->nl0 == 0 && L->seq == W) {
        /* Nothing to merge or apply; still fold what the sources now allow. */
        tl_wlock(log);
        if (!atomic_load(&log->closed))
            fold_locked(log);
        tl_wunlock(log);
        tl_view_release(v);
        return TL_OK;
    }

    seglist out = {0};
    tl_hvec drop = {0};
    tl_level *nl = NULL;
    w.out = &out;
    tl_cur *curs = tl_alloc_array(1 + m->nl0, sizeof *curs);
    if (!curs)
        goto nomem;

    size_t nseg = L->nseg, g0 = nseg, gE = nseg;
    if (m->nl0) {
        int64_t lo = m->l0[0]->min, hi = m->l0[0]->max;
        for (size_t i = 1; i < m->nl0; i++) {
            if (m->l0[i]->min < lo)
                lo = m->l0[i]->min;
            if (m->l0[i]->max > hi)
                hi = m->l0[i]->max;
        }
        for (g0 = 0; g0 < nseg && L->seg[g0]->max < lo; g0++)
            ;
        for (gE = g0; gE < nseg && L->seg[gE]->min <= hi; gE++)
            ;
        /* Segments outside G do not intersect the hull [lo, hi]. */
        TL_ASSERT(g0 == 0 || L->seg[g0 - 1]->max < lo);
        TL_ASSERT(gE == nseg || L->seg[gE]->min > hi);
    }
    int merged = m->nl0 == 0;
    for (size_t i = 0; !w.failed && (i < nseg || !merged);) {
        if (!merged && i == g0) {
            if (chained(L, g0, gE, m)) {
                for (size_t j = g0; j < gE; j++)
                    keep_or_filter(&w, curs, &drop, L->seg[j], v->l1);
                for (size_t j = 0; j < m->nl0; j++)
                    keep_or_filter(&w, curs, &drop, m->l0[j], v->l0[j]);
            } else {
                size_t total = 0;
                for (size_t j = g0; j < gE; j++)
                    total += L->seg[j]->n;
                for (size_t j = 0; j < m->nl0; j++)
                    total += m->l0[j]->n;
                w_begin(&w, total);
                tl_merge mg;
                tl_merge_init(&mg, curs, INT64_MAX, &drop);
                if (gE > g0) {
                    size_t p0 = L->first_page[g0];
                    size_t p1 = gE < nseg ? L->first_page[gE] : L->npages;
                    tl_merge_add(&mg, L->pages + p0, p1 - p0, v->l1.v, v->l1.n, INT64_MIN);
                }
                for (size_t j = 0; j < m->nl0; j++)
                    tl_merge_add(&mg, m->l0[j]->pages, m->l0[j]->np, v->l0[j].v, v->l0[j].n, INT64_MIN);
                drain_merge(&mg, &w);
            }
            merged = 1;
            i = gE;
            continue;
        }
        keep_or_filter(&w, curs, &drop, L->seg[i++], v->l1);
    }
    if (w.failed || drop.failed)
        goto nomem;
    if (!(nl = tl_level_new(out.v, out.n, W)))
        goto nomem;
    /* Every input record is either in the new level or dropped, once. */
    TL_ASSERT(nl->n + drop.n == L->n + m->l0_records);

    tl_wlock(log);
    if (atomic_load(&log->closed)) {
        st = tl_err_closed();
    } else {
        tl_manifest *cur = log->man;
        tl_manifest *nm = NULL;
        /* Compaction and flush are serialized by mlock (log.h). */
        TL_ASSERT(levels_unchanged(cur, m));
        if (cur->nl0 < m->nl0 || cur->l1 != m->l1)
            st = tl_errorf(TL_EINTERNAL, "compact: the levels changed under the maintenance lock");
        else if (tl_retired_reserve(&log->ret, drop.n) != TL_OK ||
                 !(nm = tl_manifest_new(cur->mem, cur->nmem, NULL, 0, cur->l0 + m->nl0,
                                        cur->nl0 - m->nl0, NULL, 0, nl)))
            st = tl_log_nomem(log, "compacting");
        if (nm) {
            for (size_t i = 0; i < drop.n; i++)
                tl_retired_push(&log->ret, drop.v[i], log->epoch);
            if (drop.n)
                log->epoch++;
            tl_replace_manifest(log, nm);
            fold_locked(log);
            if (W > log->max_wm)
                log->max_wm = W;
            log->compactions++;
        }
    }
    tl_wunlock(log);
    goto done;
nomem:
    st = tl_log_nomem(log, "compacting");
done:
    w_abort(&w);
    tl_level_release(nl);
    seglist_free(&out);
    tl_hvec_free(&drop);
    tl_free(curs);
    tl_view_release(v);
    if (st == TL_OK) {
        /* The consumed memruns are gone now unless a snapshot holds them. */
        tl_wlock(log);
        tl_slab_trim(&log->slab);
        tl_wunlock(log);
    }
    return st;
}

