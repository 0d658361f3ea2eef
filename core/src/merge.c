/*
 * merge.c - cursors, tombstone skipping and the run-based k-way merge
 * (see merge.h).
 */
#include "merge.h"

#include <string.h>

#include "alloc.h"

void tl_hvec_push(tl_hvec *v, const tl_handle *h, size_t n)
{
    if (n == 0 || v->failed)
        return;
    if (v->cap - v->n < n) {
        size_t cap = v->cap ? v->cap * 2 : 256;
        while (cap - v->n < n)
            cap *= 2;
        tl_handle *p = tl_realloc(v->v, cap * sizeof *p);
        if (!p) {
            v->failed = 1;
            return;
        }
        v->v = p;
        v->cap = cap;
    }
    memcpy(v->v + v->n, h, n * sizeof *h);
    v->n += n;
}

void tl_hvec_free(tl_hvec *v)
{
    tl_free(v->v);
    memset(v, 0, sizeof *v);
}

/* The cursor invariant of merge.h: a live cursor sits on a visible record
 * (head) <= hi, and ti is the first interval ending after head. */
TL_DEBUG_FN int cur_ok(const tl_merge *mg, const tl_cur *c)
{
    if (!c->live)
        return 1;
    if (c->pi >= c->np || c->pos >= c->pg[c->pi].n)
        return 0;
    const tl_page *p = &c->pg[c->pi];
    if (!tl_page_ok(p) || c->head != p->ts[c->pos] || c->head > mg->hi)
        return 0;
    if (c->ti > c->nt || (c->ti > 0 && c->tv[c->ti - 1].b > c->head))
        return 0;
    return c->ti == c->nt || (c->tv[c->ti].b > c->head && c->tv[c->ti].a > c->head);
}

/* Move c to the first record >= key (key > head). */
static void cur_seek(tl_merge *mg, tl_cur *c, int64_t key)
{
    TL_ASSERT(c->pi < c->np && c->pos < c->pg[c->pi].n && key > c->pg[c->pi].ts[c->pos]);
    while (c->pi < c->np) {
        const tl_page *p = &c->pg[c->pi];
        if (p->max >= key) {
            size_t e = tl_lower_bound(p->ts, c->pos, p->n, key);
            if (mg->drop)
                tl_hvec_push(mg->drop, p->h + c->pos, e - c->pos);
            c->pos = e;
            return;
        }
        if (mg->drop) {
            tl_hvec_push(mg->drop, p->h + c->pos, p->n - c->pos);
            c->pi++;
        } else {
            c->pi = tl_pages_find(c->pg, c->pi + 1, c->np, key);
        }
        c->pos = 0;
    }
}

/* Establish the cursor invariant (see merge.h) from any position. */
static void cur_settle(tl_merge *mg, tl_cur *c)
{
    for (;;) {
        if (c->pi < c->np && c->pos >= c->pg[c->pi].n) {
            c->pi++;
            c->pos = 0;
        }
        if (c->pi >= c->np) {
            c->live = 0;
            return;
        }
        int64_t t = c->pg[c->pi].ts[c->pos];
        if (t > mg->hi) {
            c->live = 0;
            return;
        }
        while (c->ti < c->nt && c->tv[c->ti].b <= t)
            c->ti++;
        if (c->ti < c->nt && c->tv[c->ti].a <= t) {
            cur_seek(mg, c, c->tv[c->ti].b);
            continue;
        }
        c->head = t;
        TL_ASSERT(cur_ok(mg, c));
        return;
    }
}

void tl_merge_init(tl_merge *mg, tl_cur *c, int64_t hi, tl_hvec *drop)
{
    mg->c = c;
    mg->nc = 0;
    mg->hi = hi;
    mg->drop = drop;
    mg->run = NULL;
    mg->run_end = 0;
}

void tl_merge_add(tl_merge *mg, const tl_page *pg, size_t np, const tl_ival *tv, size_t nt, int64_t lo)
{
    TL_ASSERT(!mg->run); /* sources are added before the first run */
    TL_ASSERT(np == 0 || (tl_page_ok(&pg[0]) && tl_page_ok(&pg[np - 1]) && pg[0].min <= pg[np - 1].max));
    tl_cur *c = &mg->c[mg->nc++];
    c->pg = pg;
    c->np = np;
    c->pi = tl_pages_seek(pg, np, lo);
    c->pos = c->pi < np ? tl_seek_lower(pg[c->pi].ts, pg[c->pi].n, lo) : 0;
    c->tv = tv;
    c->nt = nt;
    c->ti = tl_ival_find(tv, nt, lo);
    c->live = 1;
    c->head = 0;
    cur_settle(mg, c);
    if (!c->live)
        mg->nc--; /* nothing visible: drop the slot (order of the rest kept) */
}

/* Run of c limited to records <= x (x >= head), within its page. */
static size_t run_end(const tl_cur *c, int64_t x)
{
    TL_ASSERT(c->live && x >= c->head);
    const tl_page *p = &c->pg[c->pi];
    if (c->ti < c->nt && c->tv[c->ti].a - 1 < x)
        x = c->tv[c->ti].a - 1;
    size_t e = p->max <= x ? p->n : tl_gallop_upper(p->ts, c->pos, p->n, x);
    /* head is visible and <= x, so a run has at least one record. */
    TL_ASSERT(e > c->pos && e <= p->n);
    return e;
}

static void take(tl_merge *mg, tl_cur *c, size_t end, size_t maxlen, const int64_t **ts,
                 const tl_handle **h, size_t *len)
{
    const tl_page *p = &c->pg[c->pi];
    TL_ASSERT(maxlen > 0 && end > c->pos && end <= p->n);
    size_t k = end - c->pos;
    if (k > maxlen)
        k = maxlen;
    *ts = p->ts + c->pos;
    *h = p->h + c->pos;
    *len = k;
    c->pos += k;
    if (c->pos == end) {
        mg->run = NULL;
        cur_settle(mg, c);
    } else {
        mg->run = c;
        mg->run_end = end;
    }
}

int tl_merge_next(tl_merge *mg, size_t maxlen, const int64_t **ts, const tl_handle **h, size_t *len)
{
    if (mg->run) {
        TL_ASSERT(mg->run->live && mg->run->pos < mg->run_end);
        take(mg, mg->run, mg->run_end, maxlen, ts, h, len);
        return 1;
    }
    tl_cur *best = NULL, *second = NULL;
    for (size_t i = 0; i < mg->nc; i++) {
        tl_cur *c = &mg->c[i];
        if (!c->live)
            continue;
        if (!best || c->head < best->head) {
            second = best;
            best = c;
        } else if (!second || c->head < second->head) {
            second = c;
        }
    }
    if (!best)
        return 0;
    /* best is the smallest (head, source index): sources are in age order,
     * so ties go to the older one. */
    TL_ASSERT(!second || best->head < second->head || (best->head == second->head && best < second));
    int64_t x = mg->hi;
    if (second) {
        /* Ties go to the older (lower index) source. */
        int64_t bound = second > best ? second->head : second->head - 1;
        if (bound < x)
            x = bound;
    }
    take(mg, best, run_end(best, x), maxlen, ts, h, len);
    return 1;
}

int tl_cur_next_run(tl_merge *mg, tl_cur *c, const int64_t **ts, const tl_handle **h, size_t *len)
{
    TL_ASSERT(c >= mg->c && c < mg->c + mg->nc && !mg->run);
    if (!c->live)
        return 0;
    take(mg, c, run_end(c, mg->hi), SIZE_MAX, ts, h, len);
    mg->run = NULL;
    return 1;
}
