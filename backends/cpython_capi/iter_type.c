/*
 * iter_type.c - TimelogIter: records of one snapshot, as (ts, obj) tuples
 * (__next__, next_batch) or as columns (next_arrays).
 *
 * Three lifetimes are bound together: the owner Timelog (strong reference,
 * so the log outlives the iterator whatever order objects die in), the
 * snapshot (the pin that makes Timelog.close() refuse) and the core
 * iterator.  __next__ serves records from a small read-ahead buffer filled
 * by tl_iter_next_batch; buffered handles stay valid because the pin is
 * kept until the buffer is consumed.  Every record returned is a new tuple
 * and every batch a new list: nothing handed to the caller is reused.
 *
 * Concurrency: the GIL serializes everything except large fills, which run
 * without it.  `in_use` marks such a fill; any other entry point that would
 * touch the core iterator waits on `fill_lock` until the fill is over.
 * Payload references are taken before anything that can run Python code
 * (allocations may trigger the GC and finalizers), so a finalizer closing
 * this iterator midway cannot free what is being returned.
 */
#include "capi.h"

#include <stddef.h>
#include <string.h>

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
void capi_iter_close(TimelogIterObject *self)
{
    iter_wait_idle(self);
    TimelogObject *owner = self->owner;
    tl_snapshot *snap = self->snap;
    tl_iter *core = self->it;

    self->closed = 1;
    self->eof = 1;
    self->it = NULL;
    self->snap = NULL;
    self->owner = NULL;
    self->pos = self->len = 0;

    tl_iter_destroy(core);
    capi_reader_release(owner, snap);
}

PyObject *capi_iter_new(TimelogObject *owner, int32_t query, int64_t t1, int64_t t2)
{
    TimelogIterObject *self = (TimelogIterObject *)capi_reader_new(
        &Capi_IterType, offsetof(TimelogIterObject, ts_buf), owner);
    if (self == NULL)
        return NULL;
    self->query = query;
    self->t1 = t1;
    self->t2 = t2;
    tl_status st = tl_iter_open(self->snap, query, t1, t2, &self->it);
    if (st != TL_OK) {
        tlpy_status_error(st);
        Py_DECREF(self);
        return NULL;
    }
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static void iter_dealloc(TimelogIterObject *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    capi_iter_close(self);
    if (self->fill_lock != NULL)
        PyThread_free_lock(self->fill_lock);
    PyObject_GC_Del(self);
}

static int iter_clear(TimelogIterObject *self)
{
    capi_iter_close(self);
    return 0;
}

/* ------------------------------------------------------------------------
 * Reading.
 * ---------------------------------------------------------------------- */
/* A new (ts, obj) tuple, stealing the reference to obj (released on
 * failure). */
static inline PyObject *new_record(int64_t ts, PyObject *obj)
{
    PyObject *t = PyLong_FromLongLong(ts);
    PyObject *rec = t != NULL ? PyTuple_New(2) : NULL;
    if (rec == NULL) {
        Py_XDECREF(t);
        Py_DECREF(obj);
        return NULL;
    }
    PyTuple_SET_ITEM(rec, 0, t);
    PyTuple_SET_ITEM(rec, 1, obj);
    return rec;
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
        capi_iter_close(self);
        return 0;
    }
    size_t n = 0;
    tl_status st = tl_iter_next_batch(self->it, self->ts_buf, self->h_buf,
                                      CAPI_ITER_BUF, &n);
    if (st != TL_OK && st != TL_EOF) {
        tlpy_status_error(st);
        capi_iter_close(self);
        return -1;
    }
    self->eof = st == TL_EOF;
    self->pos = 0;
    self->len = (Py_ssize_t)n;
    for (size_t j = 0; j < n; j++)
        CAPI_PREFETCH_OBJ(self->h_buf[j]);
    if (n == 0) {
        capi_iter_close(self);
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
    self->taken++;
    return new_record(self->ts_buf[i], obj);
}

/* Move up to cap records into ts/h, taking a reference to each payload:
 * first from the read-ahead buffer, then from the engine (without the GIL
 * when the fill is large).  Returns the count (< cap only at the end), or
 * -1 (cleaned up, exception set). */
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
            tlpy_status_error(st);
            capi_iter_close(self);
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
    self->taken += (uint64_t)k;
    return k;
}

/* The size argument of next_batch / next_arrays. */
static int parse_size(const char *fname, PyObject *const *args, Py_ssize_t nargs,
                      PyObject *kwnames, int64_t *n)
{
    static const char *const names[] = {"n", NULL};
    PyObject *a[1];
    if (kwnames == NULL && nargs == 1)
        a[0] = args[0];
    else if (capi_unpack(fname, args, nargs, kwnames, names, 1, 1, a) < 0)
        return -1;
    return tlpy_size(fname, a[0], n);
}

/* A new list of the records of ts/h, stealing their payload references
 * (released on failure). */
static PyObject *records_list(const int64_t *ts, const tl_handle *h, Py_ssize_t k)
{
    PyObject *list = PyList_New(k);
    if (list == NULL) {
        tlpy_release_handles(h, (size_t)k);
        return NULL;
    }
    /* Out of the GC while it fills: the collections its tuples trigger
     * would otherwise walk it again and again. */
    PyObject_GC_UnTrack(list);
    for (Py_ssize_t i = 0; i < k; i++) {
        PyObject *obj = CAPI_H2O(h[i]);
        PyObject *rec = new_record(ts[i], obj);
        if (rec == NULL) {
            /* h[i] was released with the failure; the rest are still ours. */
            tlpy_release_handles(h + i + 1, (size_t)(k - i - 1));
            Py_DECREF(list);
            return NULL;
        }
        tlpy_settle_record(rec, obj);
        PyList_SET_ITEM(list, i, rec);
    }
    PyObject_GC_Track(list);
    return list;
}

static PyObject *iter_next_batch(TimelogIterObject *self, PyObject *const *args,
                                 Py_ssize_t nargs, PyObject *kwnames)
{
    int64_t n;
    if (parse_size("next_batch", args, nargs, kwnames, &n) < 0)
        return NULL;
    iter_wait_idle(self);
    if (n == 0 || self->closed)
        return PyList_New(0);
    /* Small batches go through the read-ahead buffer. */
    if (n < CAPI_ITER_BUF && self->pos >= self->len && !self->eof
        && iter_refill(self) < 0)
        return NULL;

    Py_ssize_t cap = n < CAPI_CHUNK ? (Py_ssize_t)n : CAPI_CHUNK;
    int64_t *ts = PyMem_Malloc((size_t)cap * sizeof *ts);
    tl_handle *h = PyMem_Malloc((size_t)cap * sizeof *h);
    PyObject *result = NULL;
    if (ts == NULL || h == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    int64_t left = n;
    while (left > 0) {
        Py_ssize_t want = left < cap ? (Py_ssize_t)left : cap;
        Py_ssize_t k = iter_take(self, ts, h, want);
        PyObject *part = k < 0 ? NULL : records_list(ts, h, k);
        if (part == NULL) {
            Py_CLEAR(result);
            goto done;
        }
        if (result == NULL) {
            result = part;
        } else {
            Py_ssize_t end = PyList_GET_SIZE(result);
            int r = PyList_SetSlice(result, end, end, part);
            Py_DECREF(part);
            if (r < 0) {
                Py_CLEAR(result);
                goto done;
            }
        }
        left -= k;
        if (k < want) {
            /* A short batch means the end was reached: release the pin. */
            capi_iter_close(self);
            break;
        }
    }
done:
    PyMem_Free(ts);
    PyMem_Free(h);
    return result;
}

/* Columns of up to n more records: a new int64 array and a new list.  The
 * exact size is known in advance (what the snapshot holds for the query,
 * less what this iterator already handed out), so both are allocated once
 * and filled in place. */
PyObject *capi_iter_columns(TimelogIterObject *self, int64_t n)
{
    iter_wait_idle(self);
    uint64_t total = 0;
    if (!self->closed && n > 0) {
        tl_status st = tl_count(self->snap, self->query, self->t1, self->t2, &total);
        if (st != TL_OK)
            return tlpy_status_error(st), NULL;
    }
    uint64_t left = total > self->taken ? total - self->taken : 0;
    Py_ssize_t want = (uint64_t)n < left ? (Py_ssize_t)n : (Py_ssize_t)left;

    Py_buffer view;
    PyObject *arr = capi_ts_array_new(want, &view);
    if (arr == NULL)
        return NULL;
    PyObject *objs = PyList_New(want);
    tl_handle *h = want > 0 ? PyMem_Malloc((size_t)(want < CAPI_CHUNK ? want : CAPI_CHUNK)
                                           * sizeof *h) : NULL;
    Py_ssize_t got = 0;
    if (objs == NULL || (want > 0 && h == NULL)) {
        if (objs != NULL)
            PyErr_NoMemory();
        goto fail;
    }
    while (got < want) {
        Py_ssize_t chunk = want - got < CAPI_CHUNK ? want - got : CAPI_CHUNK;
        Py_ssize_t k = iter_take(self, (int64_t *)view.buf + got, h, chunk);
        if (k < 0)
            goto fail;
        for (Py_ssize_t i = 0; i < k; i++)
            PyList_SET_ITEM(objs, got + i, CAPI_H2O(h[i]));
        got += k;
        if (k < chunk)
            break;
    }
    PyMem_Free(h);
    h = NULL;
    if (got < want) {
        /* The snapshot held fewer records than it counted: an engine bug. */
        PyErr_SetString(PyExc_SystemError, "timelog: tl_count disagrees with the iterator");
        goto fail;
    }
    PyBuffer_Release(&view);
    /* A short result means the end, as with next_batch: release the pin. */
    if (want < n && !self->closed)
        capi_iter_close(self);
    PyObject *pair = PyTuple_Pack(2, arr, objs);
    Py_DECREF(arr);
    Py_DECREF(objs);
    return pair;

fail:
    /* Unfilled list slots are NULL, which list dealloc skips. */
    PyMem_Free(h);
    PyBuffer_Release(&view);
    Py_DECREF(arr);
    Py_XDECREF(objs);
    return NULL;
}

static PyObject *iter_next_arrays(TimelogIterObject *self, PyObject *const *args,
                                  Py_ssize_t nargs, PyObject *kwnames)
{
    int64_t n;
    if (parse_size("next_arrays", args, nargs, kwnames, &n) < 0)
        return NULL;
    return capi_iter_columns(self, n);
}

/* ------------------------------------------------------------------------
 * Protocol, context manager, repr.
 * ---------------------------------------------------------------------- */
static PyObject *iter_close(TimelogIterObject *self, PyObject *Py_UNUSED(ignored))
{
    capi_iter_close(self);
    Py_RETURN_NONE;
}

static PyObject *iter_exit(TimelogIterObject *self, PyObject *const *args,
                           Py_ssize_t nargs)
{
    (void)args;
    if (capi_exit_args(nargs) < 0)
        return NULL;
    capi_iter_close(self);
    Py_RETURN_FALSE;
}

static PyObject *iter_repr(TimelogIterObject *self)
{
    char buf[160];
    tlb_repr_iter(buf, sizeof buf, self->query, self->t1, self->t2, self->closed);
    return tlpy_text(buf);
}

static PyMethodDef iter_methods[] = {
    {"next_batch", (PyCFunction)(void (*)(void))iter_next_batch,
     METH_FASTCALL | METH_KEYWORDS,
     "next_batch($self, n)\n--\n\n"
     "Up to n records as a list of (ts, obj); [] once exhausted or closed.\n"
     "A short batch means the end was reached (the iterator is closed)."},
    {"next_arrays", (PyCFunction)(void (*)(void))iter_next_arrays,
     METH_FASTCALL | METH_KEYWORDS,
     "next_arrays($self, n)\n--\n\n"
     "Up to n records as (int64 timestamps array, list of objects).\n"
     "A short result means the end was reached (the iterator is closed)."},
    {"close", (PyCFunction)iter_close, METH_NOARGS,
     "close($self, /)\n--\n\nRelease the snapshot (idempotent)."},
    {"__enter__", (PyCFunction)capi_reader_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))iter_exit, METH_FASTCALL, NULL},
    CAPI_NO_PICKLE_METHODS,
    {NULL, NULL, 0, NULL}
};

PyTypeObject Capi_IterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = CAPI_MODULE_NAME ".TimelogIter",
    .tp_basicsize = sizeof(TimelogIterObject),
    .tp_dealloc = (destructor)iter_dealloc,
    .tp_repr = (reprfunc)iter_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_BASETYPE,
    .tp_doc = "Snapshot iterator over (ts, obj) records of a Timelog.",
    .tp_traverse = (traverseproc)capi_reader_traverse,
    .tp_clear = (inquiry)iter_clear,
    .tp_weaklistoffset = offsetof(TimelogIterObject, weakreflist),
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)iter_next,
    .tp_methods = iter_methods,
    .tp_getset = capi_reader_getset,
    .tp_new = tlpy_no_construct,
};
