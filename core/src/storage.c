/*
 * storage.c - construction and release of memruns, segments, levels and
 * manifests (see storage.h).  Constructors either return a complete object
 * or NULL with nothing retained.
 */
#include "storage.h"

#include <string.h>

#include "alloc.h"
#include "tl_assert.h"

/* Pages p[0..np) are each valid and in time order, one after the other
 * (what a source's cursor assumes, merge.h). */
TL_DEBUG_FN int pages_ordered(const tl_page *p, size_t np)
{
    for (size_t i = 0; i < np; i++)
        if (!tl_page_ok(&p[i]) || (i > 0 && p[i - 1].max > p[i].min))
            return 0;
    return 1;
}

static tl_slab *slab_new(size_t size)
{
    tl_slab *s = tl_alloc(sizeof *s);
    if (!s)
        return NULL;
    if (!(s->base = tl_big_alloc(size))) {
        tl_free(s);
        return NULL;
    }
    tl_rc_init(&s->rc);
    s->size = size;
    s->used = 0;
    return s;
}

void tl_slab_release(tl_slab *s)
{
    if (!s || !tl_rc_dec(&s->rc))
        return;
    tl_big_free(s->base, s->size);
    tl_free(s);
}

void tl_slab_trim(tl_slab **cur)
{
    if (*cur && atomic_load_explicit(&(*cur)->rc, memory_order_acquire) == 1) {
        tl_slab_release(*cur);
        *cur = NULL;
    }
}

tl_memrun *tl_memrun_new(size_t n, uint64_t seq, tl_slab **cur, size_t slab_bytes)
{
    if (n == 0 || n > (SIZE_MAX - 64) / TL_RECORD_BYTES)
        return NULL;
    size_t need = n * TL_RECORD_BYTES;
    tl_memrun *r = tl_alloc(sizeof *r);
    if (!r)
        return NULL;
    tl_slab *s = *cur;
    if (!s || s->size - s->used < need) {
        int own = need > slab_bytes / 2;
        if (!(s = slab_new(own ? need : slab_bytes))) {
            tl_free(r);
            return NULL;
        }
        if (!own) {
            tl_slab_release(*cur);
            *cur = s;
            tl_rc_inc(&s->rc);
        }
    } else {
        tl_rc_inc(&s->rc);
    }
    r->slab = s;
    r->ts = (int64_t *)(s->base + s->used);
    r->h = (tl_handle *)(r->ts + n);
    s->used += need;
    TL_ASSERT(s->used <= s->size);
    tl_rc_init(&r->rc);
    r->seq = seq;
    r->n = n;
    r->bytes = sizeof *r + need;
    memset(&r->page, 0, sizeof r->page);
    return r;
}

void tl_memrun_seal(tl_memrun *r)
{
    /* A memrun is one sorted run (storage.h); empty ones are never made. */
    TL_ASSERT(r->n > 0 && tl_dbg_sorted(r->ts, r->n));
    r->page.ts = r->ts;
    r->page.h = r->h;
    r->page.n = r->n;
    r->page.min = r->n ? r->ts[0] : 0;
    r->page.max = r->n ? r->ts[r->n - 1] : 0;
}

void tl_memrun_retain(tl_memrun *r) { tl_rc_inc(&r->rc); }

void tl_memrun_release(tl_memrun *r)
{
    if (!r || !tl_rc_dec(&r->rc))
        return;
    tl_slab_release(r->slab);
    tl_free(r);
}

static tl_segment *seg_alloc(size_t np)
{
    if (np > (SIZE_MAX - sizeof(tl_segment)) / sizeof(tl_page))
        return NULL;
    tl_segment *s = tl_alloc(sizeof(tl_segment) + np * sizeof(tl_page));
    if (!s)
        return NULL;
    tl_rc_init(&s->rc);
    s->seq = 0;
    s->n = 0;
    s->backing = NULL;
    s->block = NULL;
    s->block_bytes = 0;
    s->np = np;
    s->bytes = sizeof(tl_segment) + np * sizeof(tl_page);
    return s;
}

tl_segment *tl_segment_from_memrun(tl_memrun *r, size_t page_records)
{
    TL_ASSERT(page_records > 0 && r->page.n == r->n && r->n > 0); /* sealed */
    size_t np = (r->n + page_records - 1) / page_records;
    tl_segment *s = seg_alloc(np);
    if (!s)
        return NULL;
    for (size_t i = 0; i < np; i++) {
        size_t off = i * page_records;
        size_t n = r->n - off < page_records ? r->n - off : page_records;
        s->pages[i] = (tl_page){r->ts + off, r->h + off, n, r->ts[off], r->ts[off + n - 1]};
    }
    TL_ASSERT(pages_ordered(s->pages, np));
    tl_memrun_retain(r);
    s->backing = r;
    s->seq = r->seq;
    s->n = r->n;
    s->min = r->page.min;
    s->max = r->page.max;
    s->bytes += r->bytes;
    return s;
}

tl_segment *tl_segment_new_owned(const tl_page *pages, size_t np, void *block, size_t block_bytes)
{
    TL_ASSERT(np > 0 && pages_ordered(pages, np));
    tl_segment *s = seg_alloc(np);
    if (!s)
        return NULL;
    memcpy(s->pages, pages, np * sizeof *pages);
    for (size_t i = 0; i < np; i++)
        s->n += pages[i].n;
    TL_ASSERT(s->n * TL_RECORD_BYTES <= block_bytes); /* the block holds every page */
    s->block = block;
    s->block_bytes = block_bytes;
    s->bytes += block_bytes;
    s->min = pages[0].min;
    s->max = pages[np - 1].max;
    return s;
}

void tl_segment_retain(tl_segment *s) { tl_rc_inc(&s->rc); }

void tl_segment_release(tl_segment *s)
{
    if (!s || !tl_rc_dec(&s->rc))
        return;
    tl_memrun_release(s->backing);
    tl_big_free(s->block, s->block_bytes);
    tl_free(s);
}

tl_level *tl_level_new(tl_segment *const *segs, size_t nseg, uint64_t seq)
{
    size_t np = 0;
    for (size_t i = 0; i < nseg; i++) {
        /* storage.h: ordered by time, non-overlapping except for equal
         * timestamps straddling a boundary. */
        TL_ASSERT(segs[i]->np > 0 && segs[i]->min <= segs[i]->max);
        TL_ASSERT(i == 0 || segs[i - 1]->max <= segs[i]->min);
        np += segs[i]->np;
    }
    tl_level *l = tl_zalloc(sizeof *l);
    if (!l)
        return NULL;
    l->seg = tl_alloc_array(nseg, sizeof *l->seg);
    l->first_page = tl_alloc_array(nseg, sizeof *l->first_page);
    l->pages = tl_alloc_array(np, sizeof *l->pages);
    if (!l->seg || !l->first_page || !l->pages) {
        tl_free(l->seg);
        tl_free(l->first_page);
        tl_free(l->pages);
        tl_free(l);
        return NULL;
    }
    tl_rc_init(&l->rc);
    l->seq = seq;
    l->nseg = nseg;
    l->npages = np;
    l->bytes = sizeof *l + nseg * (sizeof *l->seg + sizeof *l->first_page) + np * sizeof *l->pages;
    size_t p = 0;
    for (size_t i = 0; i < nseg; i++) {
        tl_segment_retain(segs[i]);
        l->seg[i] = segs[i];
        l->first_page[i] = p;
        memcpy(l->pages + p, segs[i]->pages, segs[i]->np * sizeof(tl_page));
        p += segs[i]->np;
        l->n += segs[i]->n;
        l->bytes += segs[i]->bytes;
    }
    /* One binary search over the flat page array must see sorted pages. */
    TL_ASSERT(pages_ordered(l->pages, l->npages));
    return l;
}

void tl_level_release(tl_level *l)
{
    if (!l || !tl_rc_dec(&l->rc))
        return;
    for (size_t i = 0; i < l->nseg; i++)
        tl_segment_release(l->seg[i]);
    tl_free(l->seg);
    tl_free(l->first_page);
    tl_free(l->pages);
    tl_free(l);
}

static void span_minmax(tl_manifest *m, int64_t lo, int64_t hi)
{
    if (m->nrec == 0 || lo < m->min)
        m->min = lo;
    if (m->nrec == 0 || hi > m->max)
        m->max = hi;
}

tl_manifest *tl_manifest_new(tl_memrun *const *ma, size_t na, tl_memrun *const *mb, size_t nb,
                             tl_segment *const *la, size_t nla, tl_segment *const *lb, size_t nlb,
                             tl_level *l1)
{
    tl_manifest *m = tl_zalloc(sizeof *m);
    if (!m)
        return NULL;
    m->nmem = na + nb;
    m->nl0 = nla + nlb;
    m->mem = tl_alloc_array(m->nmem, sizeof *m->mem);
    m->l0 = tl_alloc_array(m->nl0, sizeof *m->l0);
    if (!m->mem || !m->l0) {
        tl_free(m->mem);
        tl_free(m->l0);
        tl_free(m);
        return NULL;
    }
    tl_rc_init(&m->rc);
    if (na)
        memcpy(m->mem, ma, na * sizeof *ma);
    if (nb)
        memcpy(m->mem + na, mb, nb * sizeof *mb);
    if (nla)
        memcpy(m->l0, la, nla * sizeof *la);
    if (nlb)
        memcpy(m->l0 + nla, lb, nlb * sizeof *lb);
    m->l1 = l1;
    tl_rc_inc(&l1->rc);
    m->bytes = sizeof *m + m->nmem * sizeof *m->mem + m->nl0 * sizeof *m->l0 + l1->bytes;
    for (size_t i = 0; i < m->nmem; i++) {
        tl_memrun *r = m->mem[i];
        tl_memrun_retain(r);
        span_minmax(m, r->page.min, r->page.max);
        m->nrec += r->n;
        m->mem_records += r->n;
        m->bytes += r->bytes;
    }
    for (size_t i = 0; i < m->nl0; i++) {
        tl_segment *s = m->l0[i];
        tl_segment_retain(s);
        span_minmax(m, s->min, s->max);
        m->nrec += s->n;
        m->l0_records += s->n;
        m->l0_pages += s->np;
        m->bytes += s->bytes;
    }
    if (l1->n) {
        span_minmax(m, l1->pages[0].min, l1->pages[l1->npages - 1].max);
        m->nrec += l1->n;
    }
    /* Watermarks grow with insertion age within L0 and the sealed queue,
     * and the queue's runs were sealed after every L0 segment's (tombs.h). */
    for (size_t i = 1; i < m->nl0; i++)
        TL_ASSERT(m->l0[i - 1]->seq <= m->l0[i]->seq);
    for (size_t i = 1; i < m->nmem; i++)
        TL_ASSERT(m->mem[i - 1]->seq <= m->mem[i]->seq);
    TL_ASSERT(m->nl0 == 0 || m->nmem == 0 || m->l0[m->nl0 - 1]->seq <= m->mem[0]->seq);
    TL_ASSERT(m->nrec == 0 || m->min <= m->max);
    TL_ASSERT(m->nrec == m->mem_records + m->l0_records + l1->n);
    return m;
}

void tl_manifest_retain(tl_manifest *m) { tl_rc_inc(&m->rc); }

void tl_manifest_release(tl_manifest *m)
{
    if (!m || !tl_rc_dec(&m->rc))
        return;
    for (size_t i = 0; i < m->nmem; i++)
        tl_memrun_release(m->mem[i]);
    for (size_t i = 0; i < m->nl0; i++)
        tl_segment_release(m->l0[i]);
    tl_level_release(m->l1);
    tl_free(m->mem);
    tl_free(m->l0);
    tl_free(m);
}
