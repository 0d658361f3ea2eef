/*
 * iter_type.c - TimelogIter: records of one snapshot, as (ts, obj) tuples.
 *
 * Three lifetimes are bound together: the owner Timelog (strong reference,
 * so the log outlives the iterator whatever order objects die in), the
 * snapshot (the pin that makes Timelog.close() refuse) and the core
 * iterator.  __next__ serves records from a small read-ahead buffer filled
 * by tl_iter_next_batch; buffered handles stay valid because the pin is
 * kept until the buffer is consumed.
 *
 * Concurrency: the GIL serializes everything except next_batch's large
 * fills, which run without it.  `in_use` marks such a fill; any other entry
 * point that would touch the core iterator waits on `fill_lock` until the
 * fill is over.  Payload references are taken before anything that can run
 * Python code (allocations may trigger the GC and finalizers), so a
 * finalizer closing this iterator midway cannot free what is being returned.
 */
#include "capi.h"

#include <stddef.h>

/* ------------------------------------------------------------------------
 * Lifetime.
 * ---------------------------------------------------------------------- */
static void iter_wait_idle(TimelogIterObject *self)
{
    while (self->in_use) {
        PyThread_type_lock lock = self->fill_lock;
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(lock, WAIT_LOCK);
        PyThread_release_lock(lock);
        Py_END_ALLOW_THREADS
    }
}

/* The one cleanup routine (close, exhaustion, error, dealloc, GC clear):
 * mark closed, clear fields, destroy the core iterator, release the
 * snapshot, release retired payloads, drop the owner.  Fields are cleared
 * before the payload release because that may run arbitrary Python code. */
static void iter_cleanup(TimelogIterObject *self)
{
    iter_wait_idle(self);
    TimelogObject *owner = self->owner;
    tl_snapshot *snap = self->snap;
    tl_iter *core = self->it;
    PyObject *ring[2 * CAPI_ITER_RING];
    for (int j = 0; j < CAPI_ITER_RING; j++) {
        ring[j] = self->ring[j];
        ring[CAPI_ITER_RING + j] = self->batches[j];
        self->ring[j] = self->batches[j] = NULL;
    }

    self->closed = 1;
    self->eof = 1;
    self->it = NULL;
    self->snap = NULL;
    self->owner = NULL;
    self->pos = self->len = 0;

    tl_iter_destroy(core);
    capi_reader_release(owner, snap);
    for (int j = 0; j < 2 * CAPI_ITER_RING; j++)
        Py_XDECREF(ring[j]);
}

PyObject *capi_iter_new(TimelogObject *owner, int32_t query, int64_t t1, int64_t t2)
{
    TimelogIterObject *self = (TimelogIterObject *)capi_reader_new(
        &Capi_IterType, offsetof(TimelogIterObject, ts_buf), owner);
    if (self == NULL)
        return NULL;
    tl_status st = tl_iter_open(self->snap, query, t1, t2, &self->it);
    if (st != TL_OK) {
        capi_status_error(st);
        Py_DECREF(self);
        return NULL;
    }
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static void iter_dealloc(TimelogIterObject *self)
{
    PyObject_GC_UnTrack(self);
    iter_cleanup(self);
    if (self->fill_lock != NULL)
        PyThread_free_lock(self->fill_lock);
    PyObject_GC_Del(self);
}

static int iter_traverse(TimelogIterObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->owner);
    for (int j = 0; j < CAPI_ITER_RING; j++) {
        Py_VISIT(self->ring[j]);
        Py_VISIT(self->batches[j]);
    }
    return 0;
}

static int iter_clear(TimelogIterObject *self)
{
    iter_cleanup(self);
    return 0;
}

/* ------------------------------------------------------------------------
 * Reading.
 * ---------------------------------------------------------------------- */
/* A record whose payload can never reference a container cannot be in a
 * cycle: it stays out of the GC (CPython's own rule for tuples), so large
 * batches do not trigger costly full collections. */
static inline int payload_is_atomic(PyObject *obj)
{
    return !PyType_IS_GC(Py_TYPE(obj))
           || (PyTuple_CheckExact(obj) && !PyObject_GC_IsTracked(obj));
}

/* The timestamp as an int, or NULL after releasing obj (whose reference
 * the caller was about to hand over). */
static inline PyObject *ts_object(int64_t ts, PyObject *obj)
{
    PyObject *t = PyLong_FromLongLong(ts);
    if (t == NULL)
        Py_DECREF(obj);
    return t;
}

/* A new (t, obj) tuple, stealing both references (released on failure). */
static inline PyObject *new_record(PyObject *t, PyObject *obj)
{
    PyObject *rec = PyTuple_New(2);
    if (rec == NULL) {
        Py_DECREF(t);
        Py_DECREF(obj);
        return NULL;
    }
    PyTuple_SET_ITEM(rec, 0, t);
    PyTuple_SET_ITEM(rec, 1, obj);
    return rec;
}

/* A new record, left out of the GC when its payload is atomic. */
static inline PyObject *new_record_untracked(PyObject *t, PyObject *obj)
{
    PyObject *rec = new_record(t, obj);
    if (rec != NULL && payload_is_atomic(obj))
        PyObject_GC_UnTrack(rec);
    return rec;
}

/* Put (t, obj) into rec, a tuple only the caller's iterator holds (as zip()
 * does with its result), stealing both.  The caller keeps its own
 * reference to rec across the call: releasing the old payload comes last
 * and may run arbitrary code, even this iterator again. */
static inline void refill_record(PyObject *rec, PyObject *t, PyObject *obj)
{
    PyObject *old_t = PyTuple_GET_ITEM(rec, 0);
    PyObject *old_obj = PyTuple_GET_ITEM(rec, 1);
    PyTuple_SET_ITEM(rec, 0, t);
    PyTuple_SET_ITEM(rec, 1, obj);
    /* The GC may have untracked it (atomic contents); track it again rather
     * than inspect the new payload, whose header may be a cache miss. */
    if (!PyObject_GC_IsTracked(rec))
        PyObject_GC_Track(rec);
    Py_DECREF(old_t);
    Py_DECREF(old_obj);
}

/* Refill the read-ahead buffer: 1 with records, 0 exhausted (iterator
 * cleaned up, no exception), -1 error (cleaned up, exception set). */
static int iter_refill(TimelogIterObject *self)
{
    iter_wait_idle(self);
    if (self->pos < self->len)
        return 1;
    if (self->closed)
        return 0;
    if (self->eof) {
        iter_cleanup(self);
        return 0;
    }
    size_t n = 0;
    tl_status st = tl_iter_next_batch(self->it, self->ts_buf, self->h_buf,
                                      CAPI_ITER_BUF, &n);
    if (st != TL_OK && st != TL_EOF) {
        capi_status_error(st);
        iter_cleanup(self);
        return -1;
    }
    self->eof = st == TL_EOF;
    self->pos = 0;
    self->len = (Py_ssize_t)n;
    for (size_t j = 0; j < n; j++)
        CAPI_PREFETCH_OBJ(self->h_buf[j]);
    if (n == 0) {
        iter_cleanup(self);
        return 0;
    }
    return 1;
}

static PyObject *iter_next(TimelogIterObject *self)
{
    if (self->pos >= self->len && iter_refill(self) <= 0)
        return NULL;
    Py_ssize_t i = self->pos++;
    PyObject *obj = CAPI_H2O(self->h_buf[i]);
    Py_INCREF(obj);
    PyObject *t = ts_object(self->ts_buf[i], obj);
    if (t == NULL)
        return NULL;
    /* After a miss (every kept tuple was held elsewhere, as with list(it)),
     * look again only once the next swap has refreshed the ring. */
    int scan = self->ring_misses == 0 ? CAPI_ITER_RING : 0;
    for (int j = 0; j < scan; j++) {
        PyObject *rec = self->ring[j];
        if (rec == NULL || Py_REFCNT(rec) != 1)
            continue;
        Py_INCREF(rec);
        refill_record(rec, t, obj);
        return rec;
    }
    PyObject *rec = new_record(t, obj);
    if (rec == NULL)
        return NULL;
    /* Keep it for reuse.  When every kept tuple is held elsewhere (as with
     * list(it)), swap one only now and then: the swap costs more than it
     * saves until the caller starts dropping records again. */
    int j = self->ring_next;
    if (self->ring[j] == NULL || ++self->ring_misses >= CAPI_ITER_RING_RETRY) {
        self->ring_misses = 0;
        self->ring_next = j + 1 < CAPI_ITER_RING ? j + 1 : 0;
        Py_XSETREF(self->ring[j], Py_NewRef(rec));
    }
    return rec;
}

/* Move up to cap records into ts/h, taking a reference to each payload:
 * first from the read-ahead buffer, then from the engine (without the GIL
 * when the fill is large).  Returns the count, or -1 (cleaned up). */
static Py_ssize_t iter_take(TimelogIterObject *self, int64_t *ts, tl_handle *h,
                            Py_ssize_t cap)
{
    Py_ssize_t k = 0;
    /* Code run between two chunks (finalizers) may have let another thread
     * start a GIL-free fill on this iterator. */
    iter_wait_idle(self);
    while (k < cap && self->pos < self->len) {
        ts[k] = self->ts_buf[self->pos];
        h[k] = self->h_buf[self->pos];
        self->pos++;
        k++;
    }
    if (k < cap && !self->eof && !self->closed) {
        size_t want = (size_t)(cap - k), n = 0;
        tl_iter *core = self->it;
        tl_status st;
        if (want >= CAPI_NOGIL_MIN
            && (self->fill_lock != NULL
                || (self->fill_lock = PyThread_allocate_lock()) != NULL)) {
            PyThread_type_lock lock = self->fill_lock;
            self->in_use = 1;
            Py_BEGIN_ALLOW_THREADS
            PyThread_acquire_lock(lock, WAIT_LOCK);
            st = tl_iter_next_batch(core, ts + k, h + k, want, &n);
            PyThread_release_lock(lock);
            Py_END_ALLOW_THREADS
            self->in_use = 0;
        } else {
            st = tl_iter_next_batch(core, ts + k, h + k, want, &n);
        }
        if (st != TL_OK && st != TL_EOF) {
            capi_status_error(st);
            iter_cleanup(self);
            return -1;
        }
        if (st == TL_EOF)
            self->eof = 1;
        k += (Py_ssize_t)n;
    }
    for (Py_ssize_t i = 0; i < k; i++) {
        if (i + CAPI_PREFETCH_AHEAD < k)
            CAPI_PREFETCH_OBJ(h[i + CAPI_PREFETCH_AHEAD]);
        Py_INCREF(CAPI_H2O(h[i]));
    }
    return k;
}

/* A list of (ts, obj) from arrays whose payload references it steals. */
static PyObject *records_list(const int64_t *ts, const tl_handle *h, Py_ssize_t k)
{
    PyObject *list = PyList_New(k);
    if (list == NULL) {
        capi_release_handles(h, (size_t)k);
        return NULL;
    }
    /* Out of the GC while it fills: the collections its tuples trigger
     * would otherwise walk it again and again. */
    PyObject_GC_UnTrack(list);
    for (Py_ssize_t i = 0; i < k; i++) {
        PyObject *obj = CAPI_H2O(h[i]);
        PyObject *t = ts_object(ts[i], obj);
        PyObject *rec = t != NULL ? new_record_untracked(t, obj) : NULL;
        if (rec == NULL) {
            /* h[i] was released with the failure; the rest are still ours. */
            capi_release_handles(h + i + 1, (size_t)(k - i - 1));
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, rec);
    }
    PyObject_GC_Track(list);
    return list;
}

/* A list this iterator returned earlier, of length k, that nobody else
 * holds any more (the caller dropped it, as a `while b := it.next_batch(n)`
 * loop does), refilled in place with the records in ts/h (payload
 * references stolen): the list, its tuples and their allocation and GC
 * costs are saved, as zip() saves its result tuple.  A tuple the caller
 * kept is replaced by a new one.  NULL without an exception when no kept
 * list fits (or on a failure, after which the caller starts over with the
 * references still its own only if *consumed is 0). */
static PyObject *batch_reuse(TimelogIterObject *self, const int64_t *ts,
                             const tl_handle *h, Py_ssize_t k, int *consumed)
{
    *consumed = 0;
    PyObject *list = NULL;
    for (int j = 0; j < CAPI_ITER_RING; j++) {
        PyObject *cand = self->batches[j];
        if (cand != NULL && Py_REFCNT(cand) == 1 && PyList_GET_SIZE(cand) == k) {
            /* Out of the ring while it is refilled: code run by a released
             * payload cannot reach it. */
            self->batches[j] = NULL;
            list = cand;
            break;
        }
    }
    if (list == NULL)
        return NULL;
    *consumed = 1;
    for (Py_ssize_t i = 0; i < k; i++) {
        PyObject *obj = CAPI_H2O(h[i]);
        PyObject *t = ts_object(ts[i], obj);
        if (t == NULL) {
            capi_release_handles(h + i + 1, (size_t)(k - i - 1));
            Py_DECREF(list);
            return NULL;
        }
        PyObject *rec = PyList_GET_ITEM(list, i);
        if (PyTuple_CheckExact(rec) && Py_REFCNT(rec) == 1 && PyTuple_GET_SIZE(rec) == 2) {
            refill_record(rec, t, obj);     /* the private list holds rec */
            continue;
        }
        PyObject *fresh = new_record_untracked(t, obj);
        if (fresh == NULL) {
            capi_release_handles(h + i + 1, (size_t)(k - i - 1));
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, fresh);
        Py_DECREF(rec);
    }
    return list;
}

/* Remember a list next_batch returns, for batch_reuse. */
static void batch_keep(TimelogIterObject *self, PyObject *list)
{
    if (PyList_GET_SIZE(list) > CAPI_BATCH_KEEP_MAX || self->closed)
        return;
    int j = self->batch_next;
    self->batch_next = (unsigned char)(j + 1 < CAPI_ITER_RING ? j + 1 : 0);
    Py_XSETREF(self->batches[j], Py_NewRef(list));
}

static PyObject *iter_next_batch(TimelogIterObject *self, PyObject *const *args,
                                 Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"n", NULL};
    PyObject *a[1];
    int64_t ts_small[CAPI_ITER_BUF];
    tl_handle h_small[CAPI_ITER_BUF];

    if (kwnames == NULL && nargs == 1)
        a[0] = args[0];
    else if (capi_unpack("next_batch", args, nargs, kwnames, names, 1, 1, a) < 0)
        return NULL;

    PyObject *idx = PyNumber_Index(a[0]);
    if (idx == NULL)
        return NULL;
    int overflow = 0;
    long long n = PyLong_AsLongLongAndOverflow(idx, &overflow);
    Py_DECREF(idx);
    if (n == -1 && PyErr_Occurred())
        return NULL;
    if (overflow > 0)
        return capi_message_error(PyExc_OverflowError, TLB_MSG_INT_OVERFLOW), NULL;
    if (overflow < 0 || n < 0)
        return PyErr_Format(PyExc_ValueError, tlb_message(TLB_MSG_SIZE_NEGATIVE), "next_batch");

    iter_wait_idle(self);
    if (n == 0 || self->closed)
        return PyList_New(0);
    /* Small batches go through the read-ahead buffer. */
    if (n < CAPI_ITER_BUF && self->pos >= self->len && !self->eof) {
        if (iter_refill(self) < 0)
            return NULL;
    }

    PyObject *result = NULL;
    int64_t *ts = ts_small;
    tl_handle *h = h_small;
    Py_ssize_t cap = n < CAPI_CHUNK ? (Py_ssize_t)n : CAPI_CHUNK;
    if (cap > CAPI_ITER_BUF) {
        ts = PyMem_Malloc((size_t)cap * sizeof *ts);
        h = PyMem_Malloc((size_t)cap * sizeof *h);
        if (ts == NULL || h == NULL) {
            PyMem_Free(ts);
            PyMem_Free(h);
            return PyErr_NoMemory();
        }
    }

    long long left = n;
    int exhausted = 0;
    while (left > 0) {
        Py_ssize_t want = left < cap ? (Py_ssize_t)left : cap;
        Py_ssize_t k = iter_take(self, ts, h, want);
        if (k < 0)
            goto fail;
        PyObject *part = NULL;
        if (result == NULL && k == n) {
            int consumed;
            part = batch_reuse(self, ts, h, k, &consumed);
            if (part == NULL && consumed)
                goto fail;
        }
        if (part == NULL && (part = records_list(ts, h, k)) == NULL)
            goto fail;
        if (result == NULL) {
            result = part;
        } else {
            Py_ssize_t end = PyList_GET_SIZE(result);
            int r = PyList_SetSlice(result, end, end, part);
            Py_DECREF(part);
            if (r < 0)
                goto fail;
        }
        left -= k;
        if (k < want) {
            exhausted = 1;
            break;
        }
    }
    if (ts != ts_small) {
        PyMem_Free(ts);
        PyMem_Free(h);
    }
    /* A short batch means the end was reached: release the pin at once. */
    if (exhausted)
        iter_cleanup(self);
    else if (result != NULL)
        batch_keep(self, result);
    return result;

fail:
    if (ts != ts_small) {
        PyMem_Free(ts);
        PyMem_Free(h);
    }
    Py_XDECREF(result);
    return NULL;
}

/* ------------------------------------------------------------------------
 * Protocol and context manager.
 * ---------------------------------------------------------------------- */
static PyObject *iter_close(TimelogIterObject *self, PyObject *Py_UNUSED(ignored))
{
    iter_cleanup(self);
    Py_RETURN_NONE;
}

static PyObject *iter_exit(TimelogIterObject *self, PyObject *const *args,
                           Py_ssize_t nargs)
{
    (void)args;
    if (capi_exit_args(nargs) < 0)
        return NULL;
    iter_cleanup(self);
    Py_RETURN_FALSE;
}

static PyMethodDef iter_methods[] = {
    {"next_batch", (PyCFunction)(void (*)(void))iter_next_batch,
     METH_FASTCALL | METH_KEYWORDS,
     "next_batch($self, n)\n--\n\n"
     "Up to n records as a list of (ts, obj); [] once exhausted or closed.\n"
     "A short batch means the end was reached (the iterator is closed)."},
    {"close", (PyCFunction)iter_close, METH_NOARGS,
     "close($self, /)\n--\n\nRelease the snapshot (idempotent)."},
    {"__enter__", (PyCFunction)capi_reader_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))iter_exit, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL}
};

PyTypeObject Capi_IterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = CAPI_MODULE_NAME ".TimelogIter",
    .tp_basicsize = sizeof(TimelogIterObject),
    .tp_dealloc = (destructor)iter_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Snapshot iterator over (ts, obj) records of a Timelog.",
    .tp_traverse = (traverseproc)iter_traverse,
    .tp_clear = (inquiry)iter_clear,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)iter_next,
    .tp_methods = iter_methods,
    .tp_getset = capi_reader_getset,
    .tp_new = capi_no_construct,
};
