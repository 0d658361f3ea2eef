/*
 * convert.c - METH_FASTCALL argument unpacking and the two extend() paths
 * (scalar conversions are in backends/shared/pyshared.c).
 */
#include "capi.h"

#include <string.h>

/* ------------------------------------------------------------------------
 * Argument unpacking for METH_FASTCALL | METH_KEYWORDS.
 * ---------------------------------------------------------------------- */
int capi_unpack(const char *fname, PyObject *const *args, Py_ssize_t nargs,
                PyObject *kwnames, const char *const *names,
                Py_ssize_t min_pos, Py_ssize_t max_pos, PyObject **out)
{
    Py_ssize_t total = 0;
    while (names[total] != NULL)
        total++;
    if (nargs > max_pos) {
        PyErr_Format(PyExc_TypeError,
                     "%s() takes at most %zd positional argument%s (%zd given)",
                     fname, max_pos, max_pos == 1 ? "" : "s", nargs);
        return -1;
    }
    for (Py_ssize_t i = 0; i < total; i++)
        out[i] = i < nargs ? args[i] : NULL;

    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, k);
        Py_ssize_t i = 0;
        while (i < total && PyUnicode_CompareWithASCIIString(key, names[i]) != 0)
            i++;
        if (i == total) {
            PyErr_Format(PyExc_TypeError,
                         "%s() got an unexpected keyword argument '%U'", fname, key);
            return -1;
        }
        if (out[i] != NULL) {
            PyErr_Format(PyExc_TypeError,
                         "%s() got multiple values for argument '%s'", fname, names[i]);
            return -1;
        }
        out[i] = args[nargs + k];
    }
    for (Py_ssize_t i = 0; i < min_pos; i++) {
        if (out[i] == NULL) {
            PyErr_Format(PyExc_TypeError,
                         "%s() missing required argument '%s' (pos %zd)",
                         fname, names[i], i + 1);
            return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * extend(): records are gathered into a chunk (their payloads INCREFed) and
 * inserted with one tl_append_batch per chunk.  A bad item midway inserts
 * the records before it, then raises; payloads the engine did not accept
 * are DECREFed, so nothing leaks.
 * ---------------------------------------------------------------------- */
typedef struct {
    TimelogObject *self;
    const int64_t *ts_ext;     /* timestamps read in place (contiguous buffer) */
    size_t n;
    PyObject *busy_msg;        /* text of the first TL_EBUSY, raised at the end */
    int64_t ts[CAPI_CHUNK];
    tl_handle h[CAPI_CHUNK];
} extend_chunk;

static int chunk_flush(extend_chunk *c)
{
    size_t n = c->n;
    const int64_t *ts = c->ts_ext != NULL ? c->ts_ext : c->ts;
    size_t accepted = 0;
    tl_status st;

    if (n == 0)
        return 0;
    c->n = 0;
    c->ts_ext = NULL;
    if (n >= CAPI_NOGIL_MIN) {
        /* Only engine memory and the chunk are touched: payloads are
         * already owned by the chunk. */
        Py_BEGIN_ALLOW_THREADS
        st = tl_append_batch(c->self->log, ts, c->h, n, &accepted);
        Py_END_ALLOW_THREADS
    } else {
        st = tl_append_batch(c->self->log, ts, c->h, n, &accepted);
    }
    if (st == TL_OK)
        return 0;
    if (st == TL_EBUSY) {
        /* Accepted.  Keep the engine's text: it is raised after the rest. */
        if (c->busy_msg == NULL) {
            c->busy_msg = PyUnicode_FromString(tl_last_error());
            if (c->busy_msg == NULL)
                return -1;
        }
        return 0;
    }
    if (st != TL_ENOMEM || accepted > n)
        accepted = 0;
    tlpy_status_error(st);
    tlpy_release_handles(c->h + accepted, n - accepted);
    return -1;
}

/* Insert what the chunk holds while an exception is in flight (the records
 * before the failing item), keeping that exception. */
static void flush_keeping_error(extend_chunk *c)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *exc = PyErr_GetRaisedException();
    if (chunk_flush(c) < 0)
        PyErr_Clear();
    PyErr_SetRaisedException(exc);
#else
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    if (chunk_flush(c) < 0)
        PyErr_Clear();
    PyErr_Restore(et, ev, tb);
#endif
}

/* Push one record; the chunk takes over the reference to obj. */
static inline int chunk_push(extend_chunk *c, int64_t ts, PyObject *obj)
{
    c->ts[c->n] = ts;
    c->h[c->n] = CAPI_O2H(obj);
    if (++c->n == CAPI_CHUNK)
        return chunk_flush(c);
    return 0;
}

/* One (timestamp, object) pair: a tuple or list of length 2. */
static int chunk_push_pair(extend_chunk *c, PyObject *item)
{
    PyObject *tso, *obj;
    int64_t ts;

    if (PyTuple_Check(item) && PyTuple_GET_SIZE(item) == 2) {
        tso = PyTuple_GET_ITEM(item, 0);
        obj = PyTuple_GET_ITEM(item, 1);
    } else if (PyList_Check(item) && PyList_GET_SIZE(item) == 2) {
        tso = PyList_GET_ITEM(item, 0);
        obj = PyList_GET_ITEM(item, 1);
    } else {
        return tlpy_type_error(PyExc_TypeError, TLB_MSG_EXTEND_PAIR, item);
    }
    if (PyLong_CheckExact(tso)) {
        int overflow = 0;
        ts = (int64_t)PyLong_AsLongLongAndOverflow(tso, &overflow);
        if (overflow)
            return tlpy_message_error(PyExc_OverflowError, TLB_MSG_TS_OVERFLOW);
        Py_INCREF(obj);
    } else {
        /* __index__ may run Python code that mutates the pair or drops the
         * item: own both halves first. */
        Py_INCREF(obj);
        Py_INCREF(tso);
        int r = tlpy_ts(tso, &ts);
        Py_DECREF(tso);
        if (r < 0) {
            Py_DECREF(obj);
            return -1;
        }
    }
    return chunk_push(c, ts, obj);
}

static int extend_pairs(extend_chunk *c, PyObject *items)
{
    if (PyList_Check(items)) {
        /* Size re-read every step: a payload's __index__ or another thread
         * (while a chunk is inserted without the GIL) may resize the list. */
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(items); i++) {
            if (chunk_push_pair(c, PyList_GET_ITEM(items, i)) < 0)
                return -1;
        }
        return 0;
    }
    if (PyTuple_Check(items)) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(items); i++) {
            if (chunk_push_pair(c, PyTuple_GET_ITEM(items, i)) < 0)
                return -1;
        }
        return 0;
    }
    PyObject *it = PyObject_GetIter(items);
    if (it == NULL)
        return -1;
    PyObject *item;
    while ((item = PyIter_Next(it)) != NULL) {
        int r = chunk_push_pair(c, item);
        Py_DECREF(item);
        if (r < 0) {
            Py_DECREF(it);
            return -1;
        }
    }
    Py_DECREF(it);
    return PyErr_Occurred() ? -1 : 0;
}

/* Item i of a sequence as a new reference: seq[i], with lists and tuples
 * read directly. */
static PyObject *seq_item(PyObject *seq, Py_ssize_t i)
{
    if (PyList_CheckExact(seq) && i < PyList_GET_SIZE(seq)) {
        PyObject *o = PyList_GET_ITEM(seq, i);
        Py_INCREF(o);
        return o;
    }
    if (PyTuple_CheckExact(seq)) {
        PyObject *o = PyTuple_GET_ITEM(seq, i);
        Py_INCREF(o);
        return o;
    }
    PyObject *key = PyLong_FromSsize_t(i);
    if (key == NULL)
        return NULL;
    PyObject *o = PyObject_GetItem(seq, key);
    Py_DECREF(key);
    return o;
}

/* 0 if o is a sequence as design.md §8.4 defines it (its type has __len__
 * and __getitem__, and it is not a collections.abc.Mapping); otherwise -1
 * with TypeError(msg % type name). */
static int check_sequence(PyObject *o, int32_t msg)
{
    static PyObject *mapping;   /* collections.abc.Mapping, kept for good */
    if (PyList_CheckExact(o) || PyTuple_CheckExact(o))
        return 0;
    if (mapping == NULL) {
        PyObject *abc = PyImport_ImportModule("collections.abc");
        mapping = abc != NULL ? PyObject_GetAttrString(abc, "Mapping") : NULL;
        Py_XDECREF(abc);
        if (mapping == NULL)
            return -1;
    }
    PyObject *tp = (PyObject *)Py_TYPE(o);
    int ok = PyObject_HasAttrString(tp, "__len__") && PyObject_HasAttrString(tp, "__getitem__");
    if (ok) {
        int is_map = PyObject_IsInstance(o, mapping);
        if (is_map < 0)
            return -1;
        ok = !is_map;
    }
    return ok ? 0 : tlpy_type_error(PyExc_TypeError, msg, o);
}

/* A buffer format naming a native int64: 'q' or 'l' (itemsize 8), with an
 * optional '@', '=' or native-order byte-order prefix. */
static int is_int64_format(const char *f, Py_ssize_t itemsize)
{
    if (f == NULL || itemsize != 8)
        return 0;
#if PY_LITTLE_ENDIAN
    if (*f == '@' || *f == '=' || *f == '<')
        f++;
#else
    if (*f == '@' || *f == '=' || *f == '>' || *f == '!')
        f++;
#endif
    return (f[0] == 'q' || f[0] == 'l') && f[1] == '\0';
}

static int extend_ts_buffer(extend_chunk *c, const Py_buffer *view,
                            PyObject *objects, Py_ssize_t n)
{
    const char *base = (const char *)view->buf;
    /* Some exporters (ctypes) leave strides NULL for contiguous memory. */
    Py_ssize_t stride = view->strides != NULL ? view->strides[0] : view->itemsize;
    int in_place = stride == 8 && ((uintptr_t)base % _Alignof(int64_t)) == 0;

    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *obj = seq_item(objects, i);
        if (obj == NULL)
            return -1;
        if (in_place) {
            /* The exporter's memory stays put while the view is held. */
            if (c->n == 0)
                c->ts_ext = (const int64_t *)(base + i * 8);
            c->h[c->n] = CAPI_O2H(obj);
            if (++c->n == CAPI_CHUNK && chunk_flush(c) < 0)
                return -1;
        } else {
            int64_t ts;
            memcpy(&ts, base + i * stride, sizeof ts);
            if (chunk_push(c, ts, obj) < 0)
                return -1;
        }
    }
    return 0;
}

static int extend_ts_sequence(extend_chunk *c, PyObject *timestamps,
                              PyObject *objects, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t ts;
        PyObject *tso = seq_item(timestamps, i);
        if (tso == NULL)
            return -1;
        int r = tlpy_ts(tso, &ts);
        Py_DECREF(tso);
        if (r < 0)
            return -1;
        PyObject *obj = seq_item(objects, i);
        if (obj == NULL || chunk_push(c, ts, obj) < 0)
            return -1;
    }
    return 0;
}

/* extend(timestamps, objects): lengths are checked before anything is
 * inserted. */
static int extend_columns(extend_chunk *c, PyObject *timestamps, PyObject *objects)
{
    Py_buffer view;
    int have_view = 0;

    if (!PyList_Check(timestamps) && !PyTuple_Check(timestamps)
        && PyObject_CheckBuffer(timestamps)) {
        if (PyObject_GetBuffer(timestamps, &view, PyBUF_RECORDS_RO) < 0)
            return -1;
        if (view.ndim != 1) {
            PyBuffer_Release(&view);
            return tlpy_message_error(PyExc_TypeError, TLB_MSG_EXTEND_TS_ARRAY);
        }
        if (is_int64_format(view.format, view.itemsize))
            have_view = 1;
        else
            PyBuffer_Release(&view); /* other formats: read as a sequence */
    }

    Py_ssize_t n_ts = -1, n_obj = -1;
    if ((have_view || check_sequence(timestamps, TLB_MSG_EXTEND_TS_TYPE) == 0)
        && check_sequence(objects, TLB_MSG_EXTEND_OBJS_TYPE) == 0) {
        if (have_view)
            n_ts = view.shape != NULL ? view.shape[0] : view.len / view.itemsize;
        else
            n_ts = PyObject_Size(timestamps);
        n_obj = n_ts < 0 ? -1 : PyObject_Size(objects);
    }
    int r = -1;
    if (n_ts >= 0 && n_obj >= 0) {
        if (n_ts != n_obj)
            tlpy_message_error(PyExc_ValueError, TLB_MSG_EXTEND_LENGTHS);
        else if (have_view)
            r = extend_ts_buffer(c, &view, objects, n_ts);
        else
            r = extend_ts_sequence(c, timestamps, objects, n_ts);
    }
    if (c->n > 0) {
        /* Insert the last chunk (on failure: what came before the bad
         * item) while the view, which ts_ext may point into, is held. */
        if (r == 0) {
            r = chunk_flush(c);
        } else {
            flush_keeping_error(c);
        }
    }
    if (have_view)
        PyBuffer_Release(&view);
    return r;
}

PyObject *capi_extend(TimelogObject *self, PyObject *items, PyObject *objects)
{
    extend_chunk *c = PyMem_Malloc(sizeof *c);
    if (c == NULL)
        return PyErr_NoMemory();
    c->self = self;
    c->ts_ext = NULL;
    c->n = 0;
    c->busy_msg = NULL;

    int r = objects == NULL ? extend_pairs(c, items)
                            : extend_columns(c, items, objects);
    if (r < 0) {
        /* The records before the failing item are inserted. */
        flush_keeping_error(c);
    } else {
        r = chunk_flush(c);
    }
    if (r == 0 && c->busy_msg != NULL) {
        PyErr_SetObject(tlpy_TimelogBusyError, c->busy_msg);
        r = -1;
    }
    Py_XDECREF(c->busy_msg);
    PyMem_Free(c);
    if (r < 0)
        return NULL;
    Py_RETURN_NONE;
}
