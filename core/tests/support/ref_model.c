/* ref_model.c - sorted-array reference model and handle ledger. */
#include "ref_model.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "timelog.h"

void ref_init(ref_model *m)
{
    /* Never a NULL array, so `m->v + lo` is defined even when empty. */
    memset(m, 0, sizeof *m);
    m->cap = 256;
    m->v = th_xmalloc(m->cap * sizeof(ref_rec));
}

void ref_free(ref_model *m)
{
    free(m->v);
    memset(m, 0, sizeof *m);
}

void ref_copy(ref_model *dst, const ref_model *src)
{
    dst->n = src->n;
    dst->cap = src->n ? src->n : 1;
    dst->seq = src->seq;
    dst->v = th_xmalloc((src->n ? src->n : 1) * sizeof(ref_rec));
    if (src->n)
        memcpy(dst->v, src->v, src->n * sizeof(ref_rec));
}

/* First index whose ts >= t. */
static size_t lower(const ref_model *m, int64_t t)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->v[mid].ts < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* First index whose ts > t. */
static size_t upper(const ref_model *m, int64_t t)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->v[mid].ts <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

uint64_t ref_insert(ref_model *m, int64_t ts, uint64_t h)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 256;
        m->v = th_xrealloc(m->v, m->cap * sizeof(ref_rec));
    }
    /* The new seq is the largest, so it goes after every equal timestamp. */
    size_t at = upper(m, ts);
    memmove(&m->v[at + 1], &m->v[at], (m->n - at) * sizeof(ref_rec));
    m->v[at].ts = ts;
    m->v[at].h = h;
    m->v[at].seq = ++m->seq;
    m->n++;
    return m->seq;
}

size_t ref_delete_range(ref_model *m, int64_t t1, int64_t t2,
                        ref_removed_fn on_removed, void *ctx)
{
    uint64_t seq = ++m->seq;
    if (t1 >= t2)
        return 0;
    size_t lo = lower(m, t1), hi = lower(m, t2);
    if (on_removed)
        for (size_t i = lo; i < hi; i++)
            on_removed(ctx, &m->v[i], seq);
    if (hi > lo)
        memmove(&m->v[lo], &m->v[hi], (m->n - hi) * sizeof(ref_rec));
    m->n -= hi - lo;
    return hi - lo;
}

void ref_query(const ref_model *m, int32_t kind, int64_t t1, int64_t t2,
               size_t *lo, size_t *hi)
{
    switch (kind) {
    case TL_QUERY_RANGE:
        if (t1 >= t2) {
            *lo = *hi = 0;
        } else {
            *lo = lower(m, t1);
            *hi = lower(m, t2);
        }
        break;
    case TL_QUERY_SINCE:
        *lo = lower(m, t1);
        *hi = m->n;
        break;
    case TL_QUERY_UNTIL:
        *lo = 0;
        *hi = lower(m, t2);
        break;
    case TL_QUERY_POINT:
        *lo = lower(m, t1);
        *hi = upper(m, t1);
        break;
    default: /* TL_QUERY_ALL */
        *lo = 0;
        *hi = m->n;
        break;
    }
}

size_t ref_count_range(const ref_model *m, int64_t t1, int64_t t2)
{
    size_t lo, hi;
    ref_query(m, TL_QUERY_RANGE, t1, t2, &lo, &hi);
    return hi - lo;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

typedef struct pair {
    int64_t ts;
    uint64_t h;
} pair;

static int cmp_pair(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    if (x->ts != y->ts)
        return (x->ts > y->ts) - (x->ts < y->ts);
    return (x->h > y->h) - (x->h < y->h);
}

static void say(char *why, size_t len, const char *fmt, int64_t a, int64_t b,
                int64_t c)
{
    if (why && len)
        snprintf(why, len, fmt, a, b, c);
}

int ref_match(const ref_rec *exp, size_t n_exp, const int64_t *ts,
              const uint64_t *h, size_t n, char *why, size_t why_len)
{
    if (n != n_exp) {
        say(why, why_len, "got %" PRId64 " records, want %" PRId64 " (%" PRId64 ")",
            (int64_t)n, (int64_t)n_exp, 0);
        return 0;
    }
    uint64_t *ga = NULL, *gb = NULL;
    size_t gcap = 0;
    int ok = 1;
    for (size_t i = 0; i < n && ok;) {
        size_t j = i + 1;
        while (j < n && exp[j].ts == exp[i].ts)
            j++;
        for (size_t k = i; k < j; k++)
            if (ts[k] != exp[i].ts) {
                say(why, why_len,
                    "at %" PRId64 ": ts %" PRId64 ", want %" PRId64,
                    (int64_t)k, ts[k], exp[i].ts);
                ok = 0;
                break;
            }
        if (!ok)
            break;
        if (j - i == 1) {
            if (h[i] != exp[i].h) {
                say(why, why_len,
                    "at %" PRId64 ": handle %" PRId64 ", want %" PRId64,
                    (int64_t)i, (int64_t)h[i], (int64_t)exp[i].h);
                ok = 0;
            }
        } else {
            size_t g = j - i;
            if (g > gcap) {
                gcap = g;
                ga = th_xrealloc(ga, gcap * sizeof *ga);
                gb = th_xrealloc(gb, gcap * sizeof *gb);
            }
            for (size_t k = 0; k < g; k++) {
                ga[k] = exp[i + k].h;
                gb[k] = h[i + k];
            }
            qsort(ga, g, sizeof *ga, cmp_u64);
            qsort(gb, g, sizeof *gb, cmp_u64);
            if (memcmp(ga, gb, g * sizeof *ga) != 0) {
                say(why, why_len,
                    "handles of ts %" PRId64 " (%" PRId64
                    " records from index %" PRId64 ") differ",
                    exp[i].ts, (int64_t)g, (int64_t)i);
                ok = 0;
            }
        }
        i = j;
    }
    free(ga);
    free(gb);
    return ok;
}

static pair *pairs_of_exp(const ref_rec *exp, size_t n)
{
    pair *a = th_xmalloc((n ? n : 1) * sizeof *a);
    for (size_t i = 0; i < n; i++) {
        a[i].ts = exp[i].ts;
        a[i].h = exp[i].h;
    }
    qsort(a, n, sizeof *a, cmp_pair);
    return a;
}

static pair *pairs_of_got(const int64_t *ts, const uint64_t *h, size_t n)
{
    pair *b = th_xmalloc((n ? n : 1) * sizeof *b);
    for (size_t i = 0; i < n; i++) {
        b[i].ts = ts[i];
        b[i].h = h[i];
    }
    qsort(b, n, sizeof *b, cmp_pair);
    return b;
}

int ref_match_set(const ref_rec *exp, size_t n_exp, const int64_t *ts,
                  const uint64_t *h, size_t n, char *why, size_t why_len)
{
    if (n != n_exp) {
        say(why, why_len, "got %" PRId64 " records, want %" PRId64 " (%" PRId64 ")",
            (int64_t)n, (int64_t)n_exp, 0);
        return 0;
    }
    return ref_match_subset(exp, n_exp, ts, h, n, why, why_len);
}

int ref_match_subset(const ref_rec *exp, size_t n_exp, const int64_t *ts,
                     const uint64_t *h, size_t n, char *why, size_t why_len)
{
    pair *a = pairs_of_exp(exp, n_exp);
    pair *b = pairs_of_got(ts, h, n);
    int ok = 1;
    size_t i = 0;
    for (size_t k = 0; k < n && ok; k++) {
        if (k > 0 && b[k].ts == b[k - 1].ts && b[k].h == b[k - 1].h) {
            say(why, why_len, "(%" PRId64 ", h%" PRId64 ") appears twice (%" PRId64 ")",
                b[k].ts, (int64_t)b[k].h, 0);
            ok = 0;
            break;
        }
        while (i < n_exp && cmp_pair(&a[i], &b[k]) < 0)
            i++;
        if (i == n_exp || cmp_pair(&a[i], &b[k]) != 0) {
            say(why, why_len,
                "(%" PRId64 ", h%" PRId64 ") is not a visible record of the range (%" PRId64 ")",
                b[k].ts, (int64_t)b[k].h, 0);
            ok = 0;
        }
    }
    free(a);
    free(b);
    return ok;
}

/* ------------------------------------------------------------------------ */

void ledger_init(ledger *lg)
{
    memset(lg, 0, sizeof *lg);
    lg->next = 1;
}

void ledger_free(ledger *lg)
{
    free(lg->e);
    memset(lg, 0, sizeof *lg);
}

uint64_t ledger_new_handle(ledger *lg)
{
    uint64_t h = lg->next++;
    if (h >= lg->cap) {
        size_t cap = lg->cap ? lg->cap * 2 : 4096;
        while (cap <= h)
            cap *= 2;
        lg->e = th_xrealloc(lg->e, cap * sizeof(ledger_ent));
        memset(&lg->e[lg->cap], 0, (cap - lg->cap) * sizeof(ledger_ent));
        lg->cap = cap;
    }
    return h;
}

void ledger_inserted(ledger *lg, uint64_t h, int64_t ts, uint64_t seq)
{
    lg->e[h].ts = ts;
    lg->e[h].ins = seq;
}

void ledger_on_removed(void *ctx, const ref_rec *r, uint64_t del_seq)
{
    ledger *lg = ctx;
    lg->e[r->h].del = del_seq;
}

int ledger_visible_at(const ledger *lg, uint64_t h, uint64_t snap_seq)
{
    const ledger_ent *e = &lg->e[h];
    return e->ins != 0 && e->ins <= snap_seq && (e->del == 0 || e->del > snap_seq);
}

int ledger_drained(ledger *lg, uint64_t h, const uint64_t *live, size_t n_live,
                   int closed, const char *file, int line)
{
    if (!th_check(h > 0 && h < lg->next && lg->e[h].ins != 0, file, line,
                  "drained handle %llu was never accepted", (unsigned long long)h))
        return 0;
    ledger_ent *e = &lg->e[h];
    int ok = th_check(e->drained == 0, file, line,
                      "handle %llu drained twice", (unsigned long long)h);
    e->drained++;
    if (closed)
        return ok;
    ok &= th_check(e->del != 0, file, line,
                   "handle %llu (ts %lld) drained while still visible in the log",
                   (unsigned long long)h, (long long)e->ts);
    for (size_t i = 0; i < n_live; i++)
        ok &= th_check(!ledger_visible_at(lg, h, live[i]), file, line,
                       "handle %llu (ts %lld, ins %llu, del %llu) drained while a "
                       "snapshot at seq %llu that sees it is alive",
                       (unsigned long long)h, (long long)e->ts,
                       (unsigned long long)e->ins, (unsigned long long)e->del,
                       (unsigned long long)live[i]);
    return ok;
}

size_t ledger_outstanding(const ledger *lg)
{
    size_t n = 0;
    for (uint64_t h = 1; h < lg->next; h++)
        n += lg->e[h].ins != 0 && lg->e[h].drained == 0;
    return n;
}

size_t ledger_deleted_outstanding(const ledger *lg)
{
    size_t n = 0;
    for (uint64_t h = 1; h < lg->next; h++)
        n += lg->e[h].ins != 0 && lg->e[h].del != 0 && lg->e[h].drained == 0;
    return n;
}
