/*
 * memtable.c - chunked in-order run + out-of-order buffer (see memtable.h).
 */
#include "memtable.h"

#include <string.h>

#include "alloc.h"

static tl_chunk *chunk_new(tl_memtable *m, size_t cap)
{
    tl_chunk *c = m->spare;
    if (c) {
        m->spare = c->next;
        tl_rc_init(&c->rc);
        return c;
    }
    size_t bytes = sizeof *c + cap * TL_RECORD_BYTES;
    if (!(c = tl_big_alloc(bytes)))
        return NULL;
    tl_rc_init(&c->rc);
    c->bytes = bytes;
    c->next = NULL;
    c->ts = (int64_t *)(c + 1);
    c->h = (tl_handle *)(c->ts + cap);
    return c;
}

static void chunk_free(tl_chunk *c) { tl_big_free(c, c->bytes); }

static void chunk_release(tl_chunk *c)
{
    if (tl_rc_dec(&c->rc))
        chunk_free(c);
}

static tl_chunkdir *dir_new(size_t cap)
{
    tl_chunkdir *d = tl_alloc(sizeof *d + cap * sizeof(tl_chunk *));
    if (!d)
        return NULL;
    tl_rc_init(&d->rc);
    d->cap = cap;
    d->n = 0;
    return d;
}

static void dir_release(tl_chunkdir *d)
{
    if (!d || !tl_rc_dec(&d->rc))
        return;
    for (size_t i = 0; i < d->n; i++)
        chunk_release(d->c[i]);
    tl_free(d);
}

static tl_sorted *sorted_new(size_t n)
{
    tl_sorted *s = tl_alloc(sizeof *s + n * TL_RECORD_BYTES);
    if (!s)
        return NULL;
    tl_rc_init(&s->rc);
    s->n = n;
    s->ts = (int64_t *)(s + 1);
    s->h = (tl_handle *)(s->ts + n);
    return s;
}

static void sorted_release(tl_sorted *s)
{
    if (s && tl_rc_dec(&s->rc))
        tl_free(s);
}

void tl_mt_init(tl_memtable *m, size_t chunk_cap)
{
    memset(m, 0, sizeof *m);
    m->chunk_cap = chunk_cap;
    m->run_hwm = INT64_MIN;
    m->ooo_min = INT64_MAX;
    m->ooo_max = INT64_MIN;
}

/* Move the chunks only the memtable still references (no capture holds
 * the directory or an older one sharing them) to the spare list. */
static void dir_recycle(tl_memtable *m)
{
    tl_chunkdir *d = m->dir;
    if (!d)
        return;
    if (atomic_load_explicit(&d->rc, memory_order_acquire) == 1) {
        size_t keep = 0;
        for (size_t i = 0; i < d->n; i++) {
            tl_chunk *c = d->c[i];
            if (atomic_load_explicit(&c->rc, memory_order_acquire) == 1) {
                c->next = m->spare;
                m->spare = c;
            } else {
                d->c[keep++] = c;
            }
        }
        d->n = keep;
    }
    dir_release(d);
}

void tl_mt_reset(tl_memtable *m)
{
    dir_recycle(m);
    tl_free(m->ooo);
    sorted_release(m->sorted);
    tl_chunk *spare = m->spare;
    tl_mt_init(m, m->chunk_cap);
    m->spare = spare;
}

void tl_mt_drop_spare(tl_memtable *m)
{
    while (m->spare) {
        tl_chunk *c = m->spare;
        m->spare = c->next;
        chunk_free(c);
    }
}

void tl_mt_free(tl_memtable *m)
{
    tl_mt_reset(m);
    tl_mt_drop_spare(m);
}

size_t tl_mt_bytes(const tl_memtable *m)
{
    size_t b = m->ooo_cap * sizeof(tl_pair);
    if (m->dir)
        b += sizeof *m->dir + m->dir->cap * sizeof(tl_chunk *) +
             m->dir->n * (sizeof(tl_chunk) + m->chunk_cap * TL_RECORD_BYTES);
    if (m->sorted)
        b += sizeof *m->sorted + m->sorted->n * TL_RECORD_BYTES;
    for (const tl_chunk *c = m->spare; c; c = c->next)
        b += c->bytes;
    return b;
}

tl_status tl_mt_append_slow(tl_memtable *m, int64_t ts, tl_handle h)
{
    if (ts >= m->run_hwm) {
        tl_chunk *c = chunk_new(m, m->chunk_cap);
        if (!c)
            return TL_ENOMEM;
        if (!m->dir || m->dir->n == m->dir->cap) {
            tl_chunkdir *d = dir_new(m->dir ? m->dir->cap * 2 : 8);
            if (!d) {
                chunk_release(c);
                return TL_ENOMEM;
            }
            if (m->dir) {
                /* Snapshots may hold the old directory: share the chunks. */
                for (size_t i = 0; i < m->dir->n; i++) {
                    tl_rc_inc(&m->dir->c[i]->rc);
                    d->c[i] = m->dir->c[i];
                }
                d->n = m->dir->n;
                dir_release(m->dir);
            }
            m->dir = d;
        }
        m->dir->c[m->dir->n++] = c;
        m->tail = c;
        c->ts[0] = ts;
        c->h[0] = h;
        m->tail_n = 1;
        m->run_n++;
        m->run_hwm = ts;
        return TL_OK;
    }
    size_t cap = m->ooo_cap ? m->ooo_cap * 2 : 64;
    tl_pair *v = tl_realloc(m->ooo, cap * sizeof *v);
    if (!v)
        return TL_ENOMEM;
    m->ooo = v;
    m->ooo_cap = cap;
    return tl_mt_append(m, ts, h);
}

/* Make m->sorted cover all ooo_n records (merging only the new tail). */
static tl_status ensure_sorted(tl_memtable *m)
{
    tl_sorted *old = m->sorted;
    size_t on = old ? old->n : 0;
    if (on == m->ooo_n)
        return TL_OK;
    size_t k = m->ooo_n - on;
    tl_pair *tmp = tl_alloc_array(2 * k, sizeof *tmp);
    tl_sorted *s = sorted_new(m->ooo_n);
    if (!tmp || !s) {
        tl_free(tmp);
        tl_free(s);
        return TL_ENOMEM;
    }
    memcpy(tmp, m->ooo + on, k * sizeof *tmp);
    tl_pairs_sort(tmp, k, tmp + k);
    size_t i = 0, j = 0, o = 0;
    while (i < on && j < k) {
        if (old->ts[i] <= tmp[j].ts) {
            s->ts[o] = old->ts[i];
            s->h[o++] = old->h[i++];
        } else {
            s->ts[o] = tmp[j].ts;
            s->h[o++] = tmp[j++].h;
        }
    }
    for (; i < on; i++, o++) {
        s->ts[o] = old->ts[i];
        s->h[o] = old->h[i];
    }
    for (; j < k; j++, o++) {
        s->ts[o] = tmp[j].ts;
        s->h[o] = tmp[j].h;
    }
    tl_free(tmp);
    /* Stable-sorted copy of every OOO record (memtable.h). */
    TL_ASSERT(o == m->ooo_n && tl_dbg_sorted(s->ts, s->n));
    sorted_release(old);
    m->sorted = s;
    return TL_OK;
}

tl_status tl_mt_capture(tl_memtable *m, tl_mtcap *out)
{
    TL_ASSERT(tl_mt_ok(m));
    memset(out, 0, sizeof *out);
    out->chunk_cap = m->chunk_cap;
    if (m->ooo_n) {
        if (ensure_sorted(m) != TL_OK)
            return TL_ENOMEM;
        tl_rc_inc(&m->sorted->rc);
        out->ooo = m->sorted;
    }
    if (m->run_n) {
        tl_rc_inc(&m->dir->rc);
        out->dir = m->dir;
        out->run_n = m->run_n;
    }
    return TL_OK;
}

void tl_mtcap_release(tl_mtcap *c)
{
    dir_release(c->dir);
    sorted_release(c->ooo);
    c->dir = NULL;
    c->ooo = NULL;
    c->run_n = 0;
}

size_t tl_mtcap_nrun_pages(const tl_mtcap *c)
{
    return (c->run_n + c->chunk_cap - 1) / c->chunk_cap;
}

void tl_mtcap_run_pages(const tl_mtcap *c, tl_page *out)
{
    size_t np = tl_mtcap_nrun_pages(c);
    /* (c->dir->n is not read here: the writer appends to a shared directory
     * under wlock; the slots below the captured count never change.) */
    TL_ASSERT(np == 0 || c->dir);
    for (size_t i = 0; i < np; i++) {
        const tl_chunk *k = c->dir->c[i];
        size_t n = i + 1 < np ? c->chunk_cap : c->run_n - i * c->chunk_cap;
        out[i] = (tl_page){k->ts, k->h, n, k->ts[0], k->ts[n - 1]};
        /* The run is in order across chunks (ts >= run_hwm on append). */
        TL_ASSERT(n > 0 && n <= c->chunk_cap && (i == 0 || out[i - 1].max <= out[i].min));
    }
}

int tl_mtcap_ooo_page(const tl_mtcap *c, tl_page *out)
{
    if (!c->ooo)
        return 0;
    const tl_sorted *s = c->ooo;
    TL_ASSERT(s->n > 0);
    *out = (tl_page){s->ts, s->h, s->n, s->ts[0], s->ts[s->n - 1]};
    return 1;
}

tl_status tl_mt_build_run(tl_memtable *m, uint64_t seq, tl_slab **slab, size_t slab_bytes,
                          tl_memrun **out)
{
    *out = NULL;
    size_t n = tl_mt_count(m);
    if (n == 0)
        return TL_OK;
    if (m->ooo_n && ensure_sorted(m) != TL_OK)
        return TL_ENOMEM;
    tl_memrun *r = tl_memrun_new(n, seq, slab, slab_bytes);
    if (!r)
        return TL_ENOMEM;
    /* Copy the run, then merge the sorted OOO records in from the back
     * (an OOO record goes after run records with the same ts). */
    size_t cap = m->chunk_cap, off = 0;
    for (size_t i = 0; off < m->run_n; i++) {
        size_t k = m->run_n - off < cap ? m->run_n - off : cap;
        memcpy(r->ts + off, m->dir->c[i]->ts, k * sizeof *r->ts);
        memcpy(r->h + off, m->dir->c[i]->h, k * sizeof *r->h);
        off += k;
    }
    if (m->ooo_n) {
        const tl_sorted *s = m->sorted;
        size_t i = m->run_n, j = s->n, o = n;
        while (j > 0) {
            if (i > 0 && r->ts[i - 1] > s->ts[j - 1]) {
                o--;
                i--;
                r->ts[o] = r->ts[i];
                r->h[o] = r->h[i];
            } else {
                o--;
                j--;
                r->ts[o] = s->ts[j];
                r->h[o] = s->h[j];
            }
        }
        TL_ASSERT(o == i); /* the rest of the run is already in place */
    }
    tl_memrun_seal(r);
    *out = r;
    return TL_OK;
}

size_t tl_mt_count_range(const tl_memtable *m, int64_t t1, int64_t t2)
{
    size_t cnt = 0, cap = m->chunk_cap, off = 0;
    for (size_t i = 0; off < m->run_n; i++) {
        size_t k = m->run_n - off < cap ? m->run_n - off : cap;
        const int64_t *ts = m->dir->c[i]->ts;
        if (ts[k - 1] >= t1 && ts[0] < t2)
            cnt += tl_lower_bound(ts, 0, k, t2) - tl_lower_bound(ts, 0, k, t1);
        off += k;
    }
    if (m->ooo_n && m->ooo_max >= t1 && m->ooo_min < t2)
        for (size_t i = 0; i < m->ooo_n; i++)
            cnt += m->ooo[i].ts >= t1 && m->ooo[i].ts < t2;
    return cnt;
}

tl_status tl_mt_delete(tl_memtable *m, int64_t t1, int64_t t2, tl_retired *q, uint64_t epoch)
{
    size_t cap = m->chunk_cap;
    size_t drop_run = 0, drop_ooo = 0, off = 0;
    for (size_t i = 0; off < m->run_n; i++) {
        size_t k = m->run_n - off < cap ? m->run_n - off : cap;
        const int64_t *ts = m->dir->c[i]->ts;
        drop_run += tl_lower_bound(ts, 0, k, t2) - tl_lower_bound(ts, 0, k, t1);
        off += k;
    }
    for (size_t i = 0; i < m->ooo_n; i++)
        drop_ooo += m->ooo[i].ts >= t1 && m->ooo[i].ts < t2;
    if (drop_run + drop_ooo == 0)
        return TL_OK;

    /* Allocate the replacement run and buffer first: failure changes nothing. */
    size_t keep_run = m->run_n - drop_run, keep_ooo = m->ooo_n - drop_ooo;
    size_t nch = (keep_run + cap - 1) / cap;
    tl_chunkdir *d = NULL;
    tl_pair *o = NULL;
    if (keep_run) {
        d = dir_new(nch < 8 ? 8 : nch);
        if (!d)
            return TL_ENOMEM;
        for (; d->n < nch; d->n++) {
            if (!(d->c[d->n] = chunk_new(m, cap))) {
                dir_release(d);
                return TL_ENOMEM;
            }
        }
    }
    if (keep_ooo && !(o = tl_alloc_array(keep_ooo, sizeof *o))) {
        dir_release(d);
        return TL_ENOMEM;
    }

    size_t w = 0;
    off = 0;
    for (size_t i = 0; off < m->run_n; i++) {
        size_t k = m->run_n - off < cap ? m->run_n - off : cap;
        const tl_chunk *c = m->dir->c[i];
        for (size_t j = 0; j < k; j++) {
            if (c->ts[j] >= t1 && c->ts[j] < t2) {
                tl_retired_push(q, c->h[j], epoch);
            } else {
                d->c[w / cap]->ts[w % cap] = c->ts[j];
                d->c[w / cap]->h[w % cap] = c->h[j];
                w++;
            }
        }
        off += k;
    }
    size_t wo = 0;
    int64_t omin = INT64_MAX, omax = INT64_MIN;
    for (size_t i = 0; i < m->ooo_n; i++) {
        tl_pair p = m->ooo[i];
        if (p.ts >= t1 && p.ts < t2) {
            tl_retired_push(q, p.h, epoch);
        } else {
            o[wo++] = p;
            if (p.ts < omin)
                omin = p.ts;
            if (p.ts > omax)
                omax = p.ts;
        }
    }

    TL_ASSERT(w == keep_run && wo == keep_ooo);
    int64_t hwm = m->run_hwm;
    tl_mt_reset(m);
    if (keep_run || keep_ooo)
        m->run_hwm = hwm; /* keeps run records older than OOO ones on ties */
    m->dir = d;
    m->run_n = keep_run;
    if (d) {
        m->tail = d->c[nch - 1];
        m->tail_n = keep_run - (nch - 1) * cap;
    }
    m->ooo = o;
    m->ooo_n = m->ooo_cap = keep_ooo;
    m->ooo_min = omin;
    m->ooo_max = omax;
    TL_ASSERT(tl_mt_ok(m));
    return TL_OK;
}

void tl_mt_handles(const tl_memtable *m, tl_handle *out, size_t cap, size_t *pos)
{
    size_t off = 0, cc = m->chunk_cap;
    for (size_t i = 0; off < m->run_n; i++) {
        size_t k = m->run_n - off < cc ? m->run_n - off : cc;
        for (size_t j = 0; j < k; j++, (*pos)++)
            if (*pos < cap)
                out[*pos] = m->dir->c[i]->h[j];
        off += k;
    }
    for (size_t i = 0; i < m->ooo_n; i++, (*pos)++)
        if (*pos < cap)
            out[*pos] = m->ooo[i].h;
}

void tl_mt_retire_all(const tl_memtable *m, tl_retired *q, uint64_t epoch)
{
    size_t off = 0, cc = m->chunk_cap;
    for (size_t i = 0; off < m->run_n; i++) {
        size_t k = m->run_n - off < cc ? m->run_n - off : cc;
        for (size_t j = 0; j < k; j++)
            tl_retired_push(q, m->dir->c[i]->h[j], epoch);
        off += k;
    }
    for (size_t i = 0; i < m->ooo_n; i++)
        tl_retired_push(q, m->ooo[i].h, epoch);
}
