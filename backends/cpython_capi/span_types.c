/*
 * span_types.c - zero-copy page spans: PageSpanIter (enumerates spans of a
 * snapshot), PageSpan (one span: an int64 timestamp buffer plus payloads)
 * and PageSpanObjectsView (lazy sequence of a span's payloads).
 *
 * A PageSpan owns one reference to its snapshot (tl_span.owner): the engine
 * memory behind its buffer stays valid and unchanged until the span is
 * closed, which is refused while a buffer of it is exported.  No engine call
 * here runs without the GIL, so the GIL alone keeps two threads from using
 * one tl_spans at once.
 */
#include "capi.h"

#include <stddef.h>
#include <string.h>

/* ========================================================================
 * PageSpanIter
 * ====================================================================== */

/* Cleanup order: mark closed, clear fields, destroy the enumerator, release
 * the snapshot, release retired payloads, drop the owner. */
static void span_iter_cleanup(PageSpanIterObject *self)
{
    TimelogObject *owner = self->owner;
    tl_snapshot *snap = self->snap;
    tl_spans *spans = self->spans;

    self->closed = 1;
    self->spans = NULL;
    self->snap = NULL;
    self->owner = NULL;

    tl_spans_destroy(spans);
    capi_reader_release(owner, snap);
}

PyObject *capi_span_iter_new(TimelogObject *owner, int64_t t1, int64_t t2,
                             int32_t kind)
{
    PageSpanIterObject *self = (PageSpanIterObject *)capi_reader_new(
        &Capi_SpanIterType, sizeof(PageSpanIterObject), owner);
    if (self == NULL)
        return NULL;
    self->t1 = t1;
    self->t2 = t2;
    self->kind = kind;
    tl_status st = tl_spans_open(self->snap, t1, t2, kind, &self->spans);
    if (st != TL_OK) {
        tlpy_status_error(st);
        Py_DECREF(self);
        return NULL;
    }
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static void span_iter_dealloc(PageSpanIterObject *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    span_iter_cleanup(self);
    PyObject_GC_Del(self);
}

static int span_iter_clear(PageSpanIterObject *self)
{
    span_iter_cleanup(self);
    return 0;
}

static PyObject *span_iter_next(PageSpanIterObject *self)
{
    if (self->closed)
        return NULL;
    /* Allocate before the engine call: the allocation may run the GC (and
     * finalizers that close this iterator), after which no Python code
     * runs until the span is owned by the new object. */
    PageSpanObject *span = (PageSpanObject *)capi_reader_new(
        &Capi_SpanType, sizeof(PageSpanObject), NULL);
    if (span == NULL)
        return NULL;
    if (self->closed) {
        Py_DECREF(span);
        return NULL;
    }
    tl_span s;
    tl_status st = tl_spans_next(self->spans, &s);
    if (st != TL_OK) {
        if (st != TL_EOF)
            tlpy_status_error(st);
        Py_DECREF(span);
        span_iter_cleanup(self);
        return NULL;
    }
    Py_INCREF(self->owner);
    span->owner = self->owner;
    span->span = s;
    span->shape = (Py_ssize_t)s.len;
    span->stride = (Py_ssize_t)sizeof(int64_t);
    span->closed = 0;
    PyObject_GC_Track(span);
    return (PyObject *)span;
}

static PyObject *span_iter_close(PageSpanIterObject *self, PyObject *Py_UNUSED(ignored))
{
    span_iter_cleanup(self);
    Py_RETURN_NONE;
}

static PyObject *span_iter_exit(PageSpanIterObject *self, PyObject *const *args,
                                Py_ssize_t nargs)
{
    (void)args;
    if (capi_exit_args(nargs) < 0)
        return NULL;
    span_iter_cleanup(self);
    Py_RETURN_FALSE;
}

static PyObject *span_iter_repr(PageSpanIterObject *self)
{
    char buf[160];
    tlb_repr_span_iter(buf, sizeof buf, self->t1, self->t2, self->kind, self->closed);
    return tlpy_text(buf);
}

static PyMethodDef span_iter_methods[] = {
    {"close", (PyCFunction)span_iter_close, METH_NOARGS,
     "close($self, /)\n--\n\nRelease the snapshot (idempotent)."},
    {"__enter__", (PyCFunction)capi_reader_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))span_iter_exit, METH_FASTCALL, NULL},
    CAPI_NO_PICKLE_METHODS,
    {NULL, NULL, 0, NULL}
};

PyTypeObject Capi_SpanIterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = CAPI_MODULE_NAME ".PageSpanIter",
    .tp_basicsize = sizeof(PageSpanIterObject),
    .tp_dealloc = (destructor)span_iter_dealloc,
    .tp_repr = (reprfunc)span_iter_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_BASETYPE,
    .tp_weaklistoffset = offsetof(PageSpanIterObject, weakreflist),
    .tp_doc = "Iterator of the PageSpan views of a snapshot and a time range.",
    .tp_traverse = (traverseproc)capi_reader_traverse,
    .tp_clear = (inquiry)span_iter_clear,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)span_iter_next,
    .tp_methods = span_iter_methods,
    .tp_getset = capi_reader_getset,
    .tp_new = tlpy_no_construct,
};

/* ========================================================================
 * PageSpan
 * ====================================================================== */

static int span_check_open(PageSpanObject *self)
{
    if (self->closed)
        return tlpy_message_error(PyExc_ValueError, TLB_MSG_SPAN_CLOSED);
    return 0;
}

/* Cleanup order: mark closed, clear fields, release the span's snapshot
 * reference, release retired payloads, drop the owner.  Callers make sure
 * no buffer is exported. */
static void span_cleanup(PageSpanObject *self)
{
    TimelogObject *owner = self->owner;
    tl_span s = self->span;

    self->closed = 1;
    memset(&self->span, 0, sizeof self->span);
    self->shape = 0;
    self->owner = NULL;

    tl_span_release(&s);
    capi_reader_release(owner, NULL);
}

static void span_dealloc(PageSpanObject *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    /* An exported buffer holds a reference to the span, so exports is 0. */
    span_cleanup(self);
    PyObject_GC_Del(self);
}

static int span_clear(PageSpanObject *self)
{
    /* With a buffer still exported (its memoryview is garbage too and not
     * yet cleared) the memory must stay valid: keep everything; the next
     * collection finds the span again once the view is gone. */
    if (self->exports == 0)
        span_cleanup(self);
    return 0;
}

/* Buffer protocol: a read-only, 1-D, C-contiguous int64 ('q') view of the
 * engine's timestamps. */
static int span_getbuffer(PageSpanObject *self, Py_buffer *view, int flags)
{
    if (self->closed) {
        view->obj = NULL;
        return span_check_open(self);
    }
    /* A plain byte view, refusing PyBUF_WRITABLE ... */
    if (PyBuffer_FillInfo(view, (PyObject *)self, (void *)self->span.ts,
                          self->shape * (Py_ssize_t)sizeof(int64_t), 1, flags) < 0)
        return -1;
    /* ... made an int64 view for consumers that read the format (a request
     * without PyBUF_FORMAT means unsigned bytes). */
    if (flags & PyBUF_FORMAT) {
        view->format = "q";
        view->itemsize = (Py_ssize_t)sizeof(int64_t);
        if (flags & PyBUF_ND)
            view->shape = &self->shape;
        if ((flags & PyBUF_STRIDES) == PyBUF_STRIDES)
            view->strides = &self->stride;
    }
    self->exports++;
    return 0;
}

static void span_releasebuffer(PageSpanObject *self, Py_buffer *Py_UNUSED(view))
{
    self->exports--;
}

static PyBufferProcs span_as_buffer = {
    .bf_getbuffer = (getbufferproc)span_getbuffer,
    .bf_releasebuffer = (releasebufferproc)span_releasebuffer,
};

static Py_ssize_t span_length(PageSpanObject *self)
{
    if (span_check_open(self) < 0)
        return -1;
    return self->shape;
}

static PySequenceMethods span_as_sequence = {
    .sq_length = (lenfunc)span_length,
};

static PyObject *span_get_timestamps(PageSpanObject *self, void *Py_UNUSED(c))
{
    if (span_check_open(self) < 0)
        return NULL;
    return PyMemoryView_FromObject((PyObject *)self);
}

static PyObject *span_get_start_ts(PageSpanObject *self, void *Py_UNUSED(c))
{
    if (span_check_open(self) < 0)
        return NULL;
    return PyLong_FromLongLong(self->span.ts[0]);
}

static PyObject *span_get_end_ts(PageSpanObject *self, void *Py_UNUSED(c))
{
    if (span_check_open(self) < 0)
        return NULL;
    return PyLong_FromLongLong(self->span.ts[self->shape - 1]);
}

static PyObject *span_copy_timestamps(PageSpanObject *self, PyObject *Py_UNUSED(ignored))
{
    if (span_check_open(self) < 0)
        return NULL;
    PyObject *list = PyList_New(self->shape);
    if (list == NULL)
        return NULL;
    /* The allocation may have run a finalizer that closed the span. */
    if (span_check_open(self) < 0) {
        Py_DECREF(list);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < self->shape; i++) {
        PyObject *v = PyLong_FromLongLong(self->span.ts[i]);
        if (v == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, v);
    }
    return list;
}

static PyObject *span_objects(PageSpanObject *self, PyObject *Py_UNUSED(ignored))
{
    if (span_check_open(self) < 0)
        return NULL;
    ObjectsViewObject *view = PyObject_GC_New(ObjectsViewObject, &Capi_ObjectsViewType);
    if (view == NULL)
        return NULL;
    Py_INCREF(self);
    view->weakreflist = NULL;
    view->span = self;
    PyObject_GC_Track(view);
    return (PyObject *)view;
}

/* Exports held only by unreachable, not yet collected objects (a numpy
 * array in a reference cycle; anything on PyPy) count until a collection:
 * collect once before refusing, as Timelog.close() does. */
static void span_collect_exports(PageSpanObject *self)
{
    if (!self->closed && self->exports > 0)
        PyGC_Collect();
}

static int span_close_impl(PageSpanObject *self)
{
    span_collect_exports(self);
    if (self->closed)
        return 0;
    if (self->exports > 0)
        return tlpy_message_error(PyExc_BufferError, TLB_MSG_SPAN_EXPORTED);
    span_cleanup(self);
    return 0;
}

static PyObject *span_close(PageSpanObject *self, PyObject *Py_UNUSED(ignored))
{
    if (span_close_impl(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *span_enter(PageSpanObject *self, PyObject *Py_UNUSED(ignored))
{
    if (span_check_open(self) < 0)
        return NULL;
    return Py_NewRef(self);
}

/* Never raises for a live export: the span just stays open. */
static PyObject *span_exit(PageSpanObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)args;
    if (capi_exit_args(nargs) < 0)
        return NULL;
    span_collect_exports(self);
    if (!self->closed && self->exports == 0)
        span_cleanup(self);
    Py_RETURN_FALSE;
}

static PyObject *span_repr(PageSpanObject *self)
{
    char buf[160];
    if (self->closed)
        tlb_repr_span(buf, sizeof buf, 0, 0, 0, 1);
    else
        tlb_repr_span(buf, sizeof buf, (uint64_t)self->shape, self->span.ts[0],
                      self->span.ts[self->shape - 1], 0);
    return tlpy_text(buf);
}

static PyMethodDef span_methods[] = {
    {"objects", (PyCFunction)span_objects, METH_NOARGS,
     "objects($self, /)\n--\n\nLazy sequence of the span's payload objects."},
    {"copy_timestamps", (PyCFunction)span_copy_timestamps, METH_NOARGS,
     "copy_timestamps($self, /)\n--\n\nThe timestamps as a new list of int."},
    {"copy", (PyCFunction)span_copy_timestamps, METH_NOARGS,
     "copy($self, /)\n--\n\nSame as copy_timestamps()."},
    {"close", (PyCFunction)span_close, METH_NOARGS,
     "close($self, /)\n--\n\nRelease the snapshot; BufferError while a buffer is exported."},
    {"__enter__", (PyCFunction)span_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))span_exit, METH_FASTCALL, NULL},
    CAPI_NO_PICKLE_METHODS,
    {NULL, NULL, 0, NULL}
};

static PyGetSetDef span_getset[] = {
    {"timestamps", (getter)span_get_timestamps, NULL,
     "Read-only int64 memoryview of the timestamps (zero copy).", NULL},
    {"start_ts", (getter)span_get_start_ts, NULL, "First timestamp.", NULL},
    {"end_ts", (getter)span_get_end_ts, NULL, "Last timestamp.", NULL},
    {"closed", (getter)capi_reader_get_closed, NULL, "True once closed.", NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

PyTypeObject Capi_SpanType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = CAPI_MODULE_NAME ".PageSpan",
    .tp_basicsize = sizeof(PageSpanObject),
    .tp_dealloc = (destructor)span_dealloc,
    .tp_repr = (reprfunc)span_repr,
    .tp_as_sequence = &span_as_sequence,
    .tp_as_buffer = &span_as_buffer,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_BASETYPE,
    .tp_weaklistoffset = offsetof(PageSpanObject, weakreflist),
    .tp_doc = "Zero-copy view of a run of page records: int64 timestamps "
              "(buffer protocol) and their objects.",
    .tp_traverse = (traverseproc)capi_reader_traverse,
    .tp_clear = (inquiry)span_clear,
    .tp_methods = span_methods,
    .tp_getset = span_getset,
    .tp_new = tlpy_no_construct,
};

/* ========================================================================
 * PageSpanObjectsView
 * ====================================================================== */

/* The span, or NULL with ValueError when it is closed. */
static PageSpanObject *view_span(ObjectsViewObject *self)
{
    PageSpanObject *span = self->span;
    if (span == NULL || span->closed) {
        tlpy_message_error(PyExc_ValueError, TLB_MSG_SPAN_CLOSED);
        return NULL;
    }
    return span;
}

static void view_dealloc(ObjectsViewObject *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    Py_CLEAR(self->span);
    PyObject_GC_Del(self);
}

static int view_traverse(ObjectsViewObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->span);
    return 0;
}

static int view_clear(ObjectsViewObject *self)
{
    Py_CLEAR(self->span);
    return 0;
}

static Py_ssize_t view_length(ObjectsViewObject *self)
{
    PageSpanObject *span = view_span(self);
    return span == NULL ? -1 : span->shape;
}

/* i already made non-negative by the sequence protocol. */
static PyObject *view_item(ObjectsViewObject *self, Py_ssize_t i)
{
    PageSpanObject *span = view_span(self);
    if (span == NULL)
        return NULL;
    if (i < 0 || i >= span->shape)
        return tlpy_message_error(PyExc_IndexError, TLB_MSG_INDEX_RANGE), NULL;
    return Py_NewRef(CAPI_H2O(span->span.h[i]));
}

static PyObject *view_subscript(ObjectsViewObject *self, PyObject *key)
{
    PageSpanObject *span = view_span(self);
    if (span == NULL)
        return NULL;
    if (!PyIndex_Check(key))
        return tlpy_type_error(PyExc_TypeError, TLB_MSG_INDEX_TYPE, key), NULL;
    /* Out-of-range huge values clamp, then fail the range check. */
    Py_ssize_t i = PyNumber_AsSsize_t(key, NULL);
    if (i == -1 && PyErr_Occurred())
        return NULL;
    /* __index__ may have run Python code that closed the span. */
    if ((span = view_span(self)) == NULL)
        return NULL;
    if (i < 0)
        i += span->shape;
    return view_item(self, i);
}

static PyObject *view_iter(ObjectsViewObject *self)
{
    if (view_span(self) == NULL)
        return NULL;
    return PySeqIter_New((PyObject *)self);
}

static PyObject *view_copy(ObjectsViewObject *self, PyObject *Py_UNUSED(ignored))
{
    PageSpanObject *span = view_span(self);
    if (span == NULL)
        return NULL;
    PyObject *list = PyList_New(span->shape);
    if (list == NULL)
        return NULL;
    /* The allocation may have run a finalizer that closed the span. */
    if (view_span(self) == NULL) {
        Py_DECREF(list);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < span->shape; i++)
        PyList_SET_ITEM(list, i, Py_NewRef(CAPI_H2O(span->span.h[i])));
    return list;
}

static PySequenceMethods view_as_sequence = {
    .sq_length = (lenfunc)view_length,
    .sq_item = (ssizeargfunc)view_item,
};

static PyMappingMethods view_as_mapping = {
    .mp_length = (lenfunc)view_length,
    .mp_subscript = (binaryfunc)view_subscript,
};

static PyObject *view_repr(ObjectsViewObject *self)
{
    char buf[120];
    PageSpanObject *span = self->span;
    int closed = span == NULL || span->closed;
    tlb_repr_objects(buf, sizeof buf, closed ? 0 : (uint64_t)span->shape, closed);
    return tlpy_text(buf);
}

static PyMethodDef view_methods[] = {
    {"copy", (PyCFunction)view_copy, METH_NOARGS,
     "copy($self, /)\n--\n\nThe objects as a new list."},
    CAPI_NO_PICKLE_METHODS,
    {NULL, NULL, 0, NULL}
};

PyTypeObject Capi_ObjectsViewType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = CAPI_MODULE_NAME ".PageSpanObjectsView",
    .tp_basicsize = sizeof(ObjectsViewObject),
    .tp_dealloc = (destructor)view_dealloc,
    .tp_repr = (reprfunc)view_repr,
    .tp_as_sequence = &view_as_sequence,
    .tp_as_mapping = &view_as_mapping,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_BASETYPE
#ifdef Py_TPFLAGS_SEQUENCE
                | Py_TPFLAGS_SEQUENCE
#endif
    ,
    .tp_weaklistoffset = offsetof(ObjectsViewObject, weakreflist),
    .tp_doc = "Lazy sequence of the payload objects of a PageSpan.",
    .tp_traverse = (traverseproc)view_traverse,
    .tp_clear = (inquiry)view_clear,
    .tp_iter = (getiterfunc)view_iter,
    .tp_methods = view_methods,
    .tp_getset = NULL,
    .tp_new = tlpy_no_construct,
};
