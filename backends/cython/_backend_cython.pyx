# cython: language_level=3, cdivision=True, binding=False
"""Timelog over the C engine, written in Cython (timelog._backend_cython).

Payload handles are the PyObject* itself: a payload is INCREFed when a record
is inserted and DECREFed when the engine hands its handle back through
tl_drain_retired().  Handles are copied into a local array first and released
after the engine call returned, with the GIL held, so a payload whose __del__
re-enters the same log finds the engine idle and this module's state
consistent.

Every error text comes from the engine (tl_last_error) or the shared catalog
(tl_message), so it is the same on every backend.
"""
cimport cython
from cpython.buffer cimport (
    PyBUF_FORMAT, PyBUF_ND, PyBUF_RECORDS_RO, PyBUF_STRIDES, PyBUF_WRITABLE,
    PyBuffer_Release, PyObject_CheckBuffer, PyObject_GetBuffer,
)
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.ref cimport PyObject
from libc.stdint cimport int32_t, int64_t, uint64_t, uintptr_t
from libc.string cimport memcpy

from timelog_engine cimport *

from timelog._errors import TimelogBusyError, TimelogError

__all__ = ["Timelog", "TimelogIter", "PageSpan", "PageSpanIter",
           "PageSpanObjectsView", "TimelogError", "TimelogBusyError"]

BACKEND = "cython"     # this backend's name, as timelog.BACKEND reports it


# ---------------------------------------------------------------------------
# C-API pieces used on borrowed references, and the type slots replaced at
# module init (end of this file).
# ---------------------------------------------------------------------------
cdef extern from "Python.h":
    ctypedef int (*visitproc)(PyObject *, void *) noexcept
    ctypedef int (*traverseproc)(PyObject *, visitproc, void *) noexcept
    ctypedef int (*inquiry)(PyObject *) noexcept
    ctypedef struct PyTypeObject_ "PyTypeObject":
        traverseproc tp_traverse
        inquiry tp_clear
        void *tp_iternext
        void *tp_new
        void *tp_vectorcall
    void PyType_Modified(PyTypeObject_ *tp)

    void Py_INCREF_ "Py_INCREF"(PyObject *o) noexcept nogil
    void Py_DECREF_ "Py_DECREF"(PyObject *o) noexcept
    void Py_XDECREF_ "Py_XDECREF"(PyObject *o) noexcept
    PyObject *PyTuple_New_ "PyTuple_New"(Py_ssize_t n) noexcept
    void PyTuple_SET_ITEM_ "PyTuple_SET_ITEM"(PyObject *t, Py_ssize_t i, PyObject *o) noexcept
    PyObject *PyLong_FromLongLong_ "PyLong_FromLongLong"(long long v) noexcept
    void PyList_SET_ITEM_ "PyList_SET_ITEM"(object l, Py_ssize_t i, PyObject *o) noexcept
    Py_ssize_t Py_REFCNT_ "Py_REFCNT"(PyObject *o) noexcept
    bint PyType_IS_GC_ "PyType_IS_GC"(void *tp) noexcept
    void *Py_TYPE_ "Py_TYPE"(PyObject *o) noexcept
    bint PyObject_GC_IsTracked_ "PyObject_GC_IsTracked"(PyObject *o) noexcept
    void PyObject_GC_Track_ "PyObject_GC_Track"(void *o) noexcept
    void PyObject_GC_UnTrack_ "PyObject_GC_UnTrack"(void *o) noexcept
    bint PyLong_CheckExact_ "PyLong_CheckExact"(PyObject *o) noexcept nogil
    bint PyTuple_Check_ "PyTuple_Check"(PyObject *o) noexcept nogil
    bint PyList_Check_ "PyList_Check"(PyObject *o) noexcept nogil
    bint PyList_CheckExact_ "PyList_CheckExact"(PyObject *o) noexcept nogil
    bint PyTuple_CheckExact_ "PyTuple_CheckExact"(PyObject *o) noexcept nogil
    bint PyBool_Check(object o)
    Py_ssize_t PyTuple_GET_SIZE_ "PyTuple_GET_SIZE"(PyObject *o) noexcept nogil
    Py_ssize_t PyList_GET_SIZE_ "PyList_GET_SIZE"(PyObject *o) noexcept nogil
    PyObject *PyTuple_GET_ITEM_ "PyTuple_GET_ITEM"(PyObject *o, Py_ssize_t i) noexcept nogil
    PyObject *PyList_GET_ITEM_ "PyList_GET_ITEM"(PyObject *o, Py_ssize_t i) noexcept nogil
    long long PyLong_AsLongLongAndOverflow_ "PyLong_AsLongLongAndOverflow"(
        PyObject *o, int *overflow) noexcept
    long long PyLong_AsLongLongAndOverflow(object o, int *overflow) except? -1
    object PyNumber_Index(object o)
    Py_ssize_t PyNumber_AsSsize_t(object o, PyObject *exc) except? -1
    bint PyIndex_Check(object o)
    object PySequence_GetItem(object o, Py_ssize_t i)
    Py_ssize_t PySequence_Size(object o) except -1
    object PyList_New(Py_ssize_t n)
    object PyMemoryView_FromObject(object o)
    object PySeqIter_New(object seq)
    int PY_LITTLE_ENDIAN

cdef extern from "sched.h" nogil:
    int sched_yield()


cdef enum:
    CHUNK = 4096        # records moved per engine call on the bulk paths
    ITER_BUF = 24       # records a TimelogIter reads ahead for __next__ (a
                        # small object keeps short queries cheap to create)
    DRAIN_CAP = 512     # handles released per tl_drain_retired() call
    NOGIL_MIN = 2048    # engine calls moving this many records drop the GIL
    BUSY_TEXT = 512     # bytes kept of a TL_EBUSY message during extend()

cdef char *_FORMAT_Q = b"q"
cdef object _NOARG = object()   # a query bound the query kind ignores
cdef tuple _EMPTY = ()


# ---------------------------------------------------------------------------
# Errors: engine status -> exception carrying tl_last_error(); catalog texts.
# ---------------------------------------------------------------------------
cdef inline str _text(const char *s):
    return s.decode("utf-8", "replace")


cdef str _msg(int msg_id):
    return _text(tlb_message(msg_id))


cdef object _status_exc(tl_status st):
    """The exception for a failed engine call; build it right after the call."""
    text = _text(tl_last_error())
    if st == TL_EINVAL:
        return ValueError(text)
    if st == TL_ESTATE:
        return TimelogError(text)
    if st == TL_EBUSY:
        return TimelogBusyError(text)
    if st == TL_ENOMEM:
        return MemoryError(text)
    if st == TL_EOVERFLOW:
        return OverflowError(text)
    return SystemError(text)


cdef int _raise_status(tl_status st) except -1:
    raise _status_exc(st)


cdef inline str _tname(object o):
    # type(obj).__name__, which for a heap type may differ from tp_name
    return type(o).__name__


# ---------------------------------------------------------------------------
# Conversions and payload references.
# ---------------------------------------------------------------------------
cdef int64_t _index_int64(object o, int overflow_msg) except? -1:
    """operator.index(o) as an int64; outside the range: OverflowError."""
    cdef int overflow = 0
    cdef long long v = PyLong_AsLongLongAndOverflow(PyNumber_Index(o), &overflow)
    if overflow:
        raise OverflowError(_msg(overflow_msg))
    return v


# Raising lives out of line, so the hot converters stay small.
cdef int _ts_overflow() except -1:
    raise OverflowError(_msg(TLB_MSG_TS_OVERFLOW))


cdef int _not_a_pair(PyObject *item) except -1:
    raise TypeError(_msg(TLB_MSG_EXTEND_PAIR) % _tname(<object>item))


cdef int64_t _ts_slow(object o) except? -1:
    if PyBool_Check(o):
        raise TypeError(_msg(TLB_MSG_TS_BOOL))
    return _index_int64(o, TLB_MSG_TS_OVERFLOW)


cdef inline int64_t _ts(object o) except? -1:
    """A timestamp: bool refused, operator.index semantics, int64 range."""
    cdef int overflow = 0
    cdef long long v
    if PyLong_CheckExact_(<PyObject *>o):
        v = PyLong_AsLongLongAndOverflow_(<PyObject *>o, &overflow)
        if overflow:
            _ts_overflow()
        return v
    return _ts_slow(o)


cdef inline tl_handle _o2h(PyObject *o) noexcept nogil:
    return <tl_handle><uintptr_t>o


cdef inline PyObject *_h2o(tl_handle h) noexcept nogil:
    return <PyObject *><uintptr_t>h


cdef extern from *:
    """
    /* DECREF n payload handles (GIL held), keeping any in-flight exception
     * (PyErr_Fetch is deprecated from 3.12 on). */
    static void tl_cy_release_handles(const uint64_t *h, size_t n)
    {
    #if PY_VERSION_HEX >= 0x030C0000
        PyObject *exc = PyErr_GetRaisedException();
    #else
        PyObject *et, *ev, *tb;
        PyErr_Fetch(&et, &ev, &tb);
    #endif
        for (size_t i = 0; i < n; i++)
            Py_DECREF((PyObject *)(uintptr_t)h[i]);
    #if PY_VERSION_HEX >= 0x030C0000
        PyErr_SetRaisedException(exc);
    #else
        PyErr_Restore(et, ev, tb);
    #endif
    }
    """
    void tl_cy_release_handles(const tl_handle *h, size_t n) noexcept


cdef extern from *:
    """
    /* Ask for payload headers before they are INCREFed: records come in
     * time order, payloads sit in insertion order, so for late records the
     * addresses jump and the hardware prefetcher misses them. */
    static inline void tl_cy_prefetch_payloads(const uint64_t *h, size_t n)
    {
        for (size_t i = 0; i < n; i++) {
    #if defined(__GNUC__) || defined(__clang__)
            __builtin_prefetch((const void *)(uintptr_t)h[i], 1);
    #endif
        }
    }
    """
    void tl_cy_prefetch_payloads(const tl_handle *h, size_t n) noexcept nogil


cdef extern from *:
    """
    /* The GC traverse's temporary copy of every handle (8 bytes a record)
     * comes straight from mmap when large: from malloc, glibc would raise
     * its mmap threshold after the first free and keep that much memory in
     * the heap for good. */
    #if defined(__unix__) || defined(__APPLE__)
    #include <sys/mman.h>
    #define TL_CY_MMAP_MIN (128 * 1024)
    #endif

    static uint64_t *tl_cy_handles_alloc(size_t n)
    {
        if (n > PY_SSIZE_T_MAX / sizeof(uint64_t))
            return NULL;
    #ifdef TL_CY_MMAP_MIN
        if (n * sizeof(uint64_t) >= TL_CY_MMAP_MIN) {
            void *p = mmap(NULL, n * sizeof(uint64_t), PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            return p == MAP_FAILED ? NULL : (uint64_t *)p;
        }
    #endif
        return (uint64_t *)PyMem_RawMalloc(n * sizeof(uint64_t));
    }

    static void tl_cy_handles_free(uint64_t *buf, size_t n)
    {
    #ifdef TL_CY_MMAP_MIN
        if (n * sizeof(uint64_t) >= TL_CY_MMAP_MIN) {
            munmap(buf, n * sizeof(uint64_t));
            return;
        }
    #endif
        PyMem_RawFree(buf);
    }
    """
    tl_handle *tl_cy_handles_alloc(size_t n) noexcept nogil
    void tl_cy_handles_free(tl_handle *buf, size_t n) noexcept nogil


cdef inline void _release_handles(const tl_handle *h, size_t n) noexcept:
    """DECREF n payloads (GIL held), keeping any in-flight exception."""
    if n != 0:
        tl_cy_release_handles(h, n)


cdef inline bint _payload_is_atomic(PyObject *obj) noexcept:
    # A record whose payload can never reference a container cannot be in a
    # cycle: it stays out of the GC (CPython's own rule for tuples), so large
    # batches do not trigger costly collections.
    return (not PyType_IS_GC_(Py_TYPE_(obj))
            or (PyTuple_CheckExact_(obj) and not PyObject_GC_IsTracked_(obj)))


cdef inline int _pending_error() except -1:
    # propagates the exception a C-API call has already set
    return -1


cdef inline PyObject *_make_record(int64_t ts, PyObject *obj) noexcept:
    """A new (ts, obj) tuple, stealing the reference to obj; NULL with
    MemoryError set (and obj released) on failure."""
    return _pack_record(PyLong_FromLongLong_(ts), obj)


cdef inline PyObject *_pack_record(PyObject *t, PyObject *obj) noexcept:
    """A new (t, obj) tuple (t may be NULL: a failed conversion), stealing
    both references; NULL with the error set (and both released) on
    failure.  Out of the GC when the payload is atomic."""
    cdef PyObject *rec = PyTuple_New_(2) if t != NULL else NULL
    if rec == NULL:
        Py_XDECREF_(t)
        Py_DECREF_(obj)
        return NULL
    PyTuple_SET_ITEM_(rec, 0, t)
    PyTuple_SET_ITEM_(rec, 1, obj)
    if _payload_is_atomic(obj):
        PyObject_GC_UnTrack_(rec)
    return rec


cdef list _records(const int64_t *ts, const tl_handle *h, size_t n):
    """[(ts[i], payload(h[i])) ...] as a new list, stealing the payload
    references the caller took (allocations below may run the GC and
    finalizers, which must not free a payload being returned)."""
    cdef size_t i
    cdef PyObject *rec
    cdef list out
    try:
        out = PyList_New(<Py_ssize_t>n)
    except BaseException:
        _release_handles(h, n)
        raise
    # out of the GC while it fills: the collections its tuples trigger would
    # otherwise walk it again and again
    PyObject_GC_UnTrack_(<PyObject *>out)
    for i in range(n):
        rec = _make_record(ts[i], _h2o(h[i]))
        if rec == NULL:
            # _make_record released h[i]; the rest are still ours
            _release_handles(h + i + 1, n - i - 1)
            PyObject_GC_Track_(<PyObject *>out)
            _pending_error()
        PyList_SET_ITEM_(out, <Py_ssize_t>i, rec)
    PyObject_GC_Track_(<PyObject *>out)
    return out


cdef bint _is_int64_format(const char *f, Py_ssize_t itemsize) noexcept:
    """A buffer format naming a native int64 ('q' or 'l', itemsize 8, with
    an optional native byte-order prefix)."""
    if f == NULL or itemsize != 8:
        return False
    if f[0] == b'@' or f[0] == b'=':
        f += 1
    elif PY_LITTLE_ENDIAN and f[0] == b'<':
        f += 1
    elif not PY_LITTLE_ENDIAN and (f[0] == b'>' or f[0] == b'!'):
        f += 1
    return (f[0] == b'q' or f[0] == b'l') and f[1] == 0


# ---------------------------------------------------------------------------
# extend(): records are gathered into a chunk (payloads INCREFed) and
# inserted with one tl_append_batch per chunk.
# ---------------------------------------------------------------------------
cdef struct _Chunk:
    size_t n
    bint busy                      # a chunk came back TL_EBUSY (accepted)
    char busy_text[BUSY_TEXT]      # its tl_last_error(), raised at the end
    int64_t ts[CHUNK]
    tl_handle h[CHUNK]


cdef int _chunk_flush(tl_log *log, _Chunk *c) except -1:
    """Insert the chunk; on failure DECREF what the engine did not take."""
    cdef size_t n = c.n
    cdef size_t accepted = 0
    cdef tl_status st
    cdef const char *text
    cdef size_t k
    if n == 0:
        return 0
    c.n = 0
    if n >= NOGIL_MIN:
        # only engine memory and the chunk (which owns its payload
        # references) are touched
        with nogil:
            st = tl_append_batch(log, c.ts, c.h, n, &accepted)
    else:
        st = tl_append_batch(log, c.ts, c.h, n, &accepted)
    if st == TL_OK:
        return 0
    if st == TL_EBUSY:
        if not c.busy:
            c.busy = True
            text = tl_last_error()
            k = 0
            while text[k] != 0 and k < BUSY_TEXT - 1:
                c.busy_text[k] = text[k]
                k += 1
            c.busy_text[k] = 0
        return 0
    exc = _status_exc(st)
    if st != TL_ENOMEM or accepted > n:
        accepted = 0
    _release_handles(c.h + accepted, n - accepted)
    raise exc


cdef inline int _chunk_push(tl_log *log, _Chunk *c, int64_t ts, PyObject *obj) except -1:
    """Append one record; the chunk takes over the reference to obj."""
    c.ts[c.n] = ts
    c.h[c.n] = _o2h(obj)
    c.n += 1
    if c.n == CHUNK:
        return _chunk_flush(log, c)
    return 0


cdef int64_t _pair_ts_slow(PyObject *tso, PyObject *obj) except? -1:
    # __index__ may run Python code that mutates the pair or drops the item:
    # both halves are owned here (obj by the caller's INCREF).
    cdef object owned = <object>tso
    try:
        return _ts_slow(owned)
    except BaseException:
        Py_DECREF_(obj)
        raise


cdef inline int _chunk_push_pair(tl_log *log, _Chunk *c, PyObject *item) except -1:
    """One (timestamp, object) pair: a tuple or list of length 2."""
    cdef PyObject *tso
    cdef PyObject *obj
    cdef int overflow = 0
    cdef int64_t ts
    if PyTuple_Check_(item) and PyTuple_GET_SIZE_(item) == 2:
        tso = PyTuple_GET_ITEM_(item, 0)
        obj = PyTuple_GET_ITEM_(item, 1)
    elif PyList_Check_(item) and PyList_GET_SIZE_(item) == 2:
        tso = PyList_GET_ITEM_(item, 0)
        obj = PyList_GET_ITEM_(item, 1)
    else:
        return _not_a_pair(item)
    if PyLong_CheckExact_(tso):
        ts = PyLong_AsLongLongAndOverflow_(tso, &overflow)
        if overflow:
            return _ts_overflow()
        Py_INCREF_(obj)
    else:
        Py_INCREF_(obj)
        ts = _pair_ts_slow(tso, obj)
    return _chunk_push(log, c, ts, obj)


cdef int _extend_pairs(tl_log *log, _Chunk *c, object items) except -1:
    cdef PyObject *seq = <PyObject *>items
    cdef Py_ssize_t i = 0
    if PyList_Check_(seq):
        # size re-read every step: a payload's __index__, or another thread
        # while a chunk is inserted without the GIL, may resize the list
        while i < PyList_GET_SIZE_(seq):
            _chunk_push_pair(log, c, PyList_GET_ITEM_(seq, i))
            i += 1
        return 0
    if PyTuple_Check_(seq):
        while i < PyTuple_GET_SIZE_(seq):
            _chunk_push_pair(log, c, PyTuple_GET_ITEM_(seq, i))
            i += 1
        return 0
    for item in items:
        _chunk_push_pair(log, c, <PyObject *>item)
    return 0


cdef inline object _seq_item(object seq, Py_ssize_t i):
    """Item i of a sequence (lists and tuples read directly)."""
    cdef PyObject *s = <PyObject *>seq
    if PyList_CheckExact_(s) and i < PyList_GET_SIZE_(s):
        return <object>PyList_GET_ITEM_(s, i)
    if PyTuple_CheckExact_(s):
        return <object>PyTuple_GET_ITEM_(s, i)
    return PySequence_GetItem(seq, i)


cdef int _extend_columns(tl_log *log, _Chunk *c, object timestamps,
                         object objects) except -1:
    """extend(timestamps, objects): lengths are checked before anything is
    inserted."""
    cdef Py_buffer view
    cdef bint have_view = False
    cdef Py_ssize_t n_ts, n_obj, i, stride
    cdef const char *base
    cdef int64_t ts = 0
    cdef object obj
    if (not isinstance(timestamps, (list, tuple))
            and PyObject_CheckBuffer(timestamps)):
        PyObject_GetBuffer(timestamps, &view, PyBUF_RECORDS_RO)
        if view.ndim != 1:
            PyBuffer_Release(&view)
            raise TypeError(_msg(TLB_MSG_EXTEND_TS_ARRAY))
        if _is_int64_format(view.format, view.itemsize):
            have_view = True
        else:
            PyBuffer_Release(&view)   # other formats: read as a sequence
    try:
        n_ts = view.shape[0] if have_view else PySequence_Size(timestamps)
        n_obj = PySequence_Size(objects)
        if n_ts != n_obj:
            raise ValueError(_msg(TLB_MSG_EXTEND_LENGTHS))
        if have_view:
            base = <const char *>view.buf
            # exporters may leave strides NULL for contiguous data (ctypes)
            stride = view.strides[0] if view.strides != NULL else view.itemsize
            for i in range(n_ts):
                obj = _seq_item(objects, i)
                # the exporter's memory stays put while the view is held
                memcpy(&ts, base + i * stride, sizeof(int64_t))
                Py_INCREF_(<PyObject *>obj)
                _chunk_push(log, c, ts, <PyObject *>obj)
        else:
            for i in range(n_ts):
                ts = _ts(_seq_item(timestamps, i))
                obj = _seq_item(objects, i)
                Py_INCREF_(<PyObject *>obj)
                _chunk_push(log, c, ts, <PyObject *>obj)
    finally:
        if have_view:
            PyBuffer_Release(&view)
    return 0


# ---------------------------------------------------------------------------
# Timelog
# ---------------------------------------------------------------------------
ctypedef tl_status (*_maint_fn)(tl_log *) noexcept nogil


cdef int _set_str_option(tl_config *cfg, const char *cname, str name,
                         object value) except -1:
    cdef tl_status st
    if value is None:
        return 0
    if not isinstance(value, str):
        raise TypeError(_msg(TLB_MSG_OPTION_TYPE) % (name, _tname(value)))
    cdef bytes raw = (<str>value).encode("utf-8")
    st = tl_config_set_str(cfg, cname, raw, len(raw))
    if st != TL_OK:
        _raise_status(st)
    return 0


cdef int _set_int_option(tl_config *cfg, const char *cname, object value) except -1:
    cdef tl_status st
    if value is None:
        return 0
    st = tl_config_set_int(cfg, cname, _index_int64(value, TLB_MSG_INT_OVERFLOW))
    if st != TL_OK:
        _raise_status(st)
    return 0


@cython.auto_pickle(False)
@cython.no_gc_clear
cdef class Timelog:
    """An in-memory time index of (int64 timestamp, object) records.

    Timelog(time_unit=None, maintenance=None, memtable_max_bytes=None,
            target_page_bytes=None, sealed_max_runs=None,
            drain_batch_limit=None, busy_policy=None)
    """

    cdef tl_log *_log          # kept until dealloc, even after close()
    cdef bint _closed          # close() succeeded
    cdef size_t _drain_limit   # drain_batch_limit of the log (0: unlimited)
    # Cython makes a type GC-aware only when it has an object field; the
    # traverse installed at module init also visits the payloads.
    cdef object _gc_anchor
    cdef object __weakref__

    def __cinit__(self, time_unit=None, maintenance=None, memtable_max_bytes=None,
                  target_page_bytes=None, sealed_max_runs=None,
                  drain_batch_limit=None, busy_policy=None):
        cdef tl_config cfg
        cdef tl_status st
        tl_config_init(&cfg)
        _set_str_option(&cfg, b"time_unit", "time_unit", time_unit)
        _set_str_option(&cfg, b"maintenance", "maintenance", maintenance)
        _set_int_option(&cfg, b"memtable_max_bytes", memtable_max_bytes)
        _set_int_option(&cfg, b"target_page_bytes", target_page_bytes)
        _set_int_option(&cfg, b"sealed_max_runs", sealed_max_runs)
        _set_int_option(&cfg, b"drain_batch_limit", drain_batch_limit)
        _set_str_option(&cfg, b"busy_policy", "busy_policy", busy_policy)
        with nogil:
            st = tl_log_open(&cfg, &self._log)
        if st != TL_OK:
            self._log = NULL
            _raise_status(st)
        if tl_log_config(self._log, &cfg) == TL_OK and cfg.drain_batch_limit > 0:
            self._drain_limit = <size_t>cfg.drain_batch_limit

    def __dealloc__(self):
        cdef tl_status st
        if self._log == NULL:
            return
        if not self._closed:
            with nogil:
                st = tl_log_close(self._log)
            self._closed = st == TL_OK
        if self._closed:
            self._release_retired(True)
        # Readers hold a strong reference to their log, so no snapshot can
        # be alive here; if one were, destroy refuses and the memory stays.
        if tl_log_destroy(self._log) == TL_OK:
            self._log = NULL

    cdef void _release_retired(self, bint all) noexcept:
        """Release retired payloads. all=False: one safe point (one engine
        call when drain_batch_limit caps it); all=True: until none is left."""
        cdef tl_handle buf[DRAIN_CAP]
        cdef size_t n
        while self._log != NULL:
            n = 0
            if tl_drain_retired(self._log, buf, DRAIN_CAP, &n) != TL_OK or n == 0:
                return
            _release_handles(buf, n)
            if not all and (self._drain_limit > 0 or n < DRAIN_CAP):
                return

    cdef inline int _check_open(self) except -1:
        if self._closed:
            raise TimelogError(_msg(TLB_MSG_CLOSED))
        return 0

    # -- properties: never raise, also after close() ----------------------
    cdef str _option(self, const char *name):
        cdef const char *v = tl_log_option_str(self._log, name)
        return None if v == NULL else _text(v)

    cdef uint64_t _stat(self, bint retired) noexcept:
        cdef tl_stats s
        if tl_log_stats(self._log, &s) != TL_OK:
            return 0
        return s.retired_len if retired else s.alloc_failures

    @property
    def closed(self):
        return self._closed or self._log == NULL

    @property
    def time_unit(self):
        return self._option(b"time_unit")

    @property
    def maintenance_mode(self):
        return self._option(b"maintenance")

    @property
    def busy_policy(self):
        return self._option(b"busy_policy")

    @property
    def retired_queue_len(self):
        return self._stat(True)

    @property
    def alloc_failures(self):
        return self._stat(False)

    def stats(self):
        """The engine's counters (dict[str, int], tl_stats field names)."""
        cdef tl_stats s
        cdef tl_status st
        self._release_retired(False)
        self._check_open()
        st = tl_log_stats(self._log, &s)
        if st != TL_OK:
            _raise_status(st)
        return {
            "memtable_records": s.memtable_records,
            "memrun_records": s.memrun_records,
            "l0_records": s.l0_records,
            "l1_records": s.l1_records,
            "memruns": s.memruns,
            "l0_segments": s.l0_segments,
            "l1_segments": s.l1_segments,
            "pages": s.pages,
            "tombstones": s.tombstones,
            "retired_len": s.retired_len,
            "live_snapshots": s.live_snapshots,
            "bytes_used": s.bytes_used,
            "alloc_failures": s.alloc_failures,
            "flushes": s.flushes,
            "compactions": s.compactions,
        }

    # -- writes ------------------------------------------------------------
    def append(self, ts, obj):
        """Insert one record. TimelogBusyError means it WAS accepted."""
        cdef int64_t t
        cdef PyObject *o = <PyObject *>obj
        cdef tl_status st
        self._release_retired(False)
        self._check_open()
        t = _ts(ts)
        Py_INCREF_(o)
        st = tl_append(self._log, t, _o2h(o))
        if st != TL_OK:
            exc = _status_exc(st)
            if st != TL_EBUSY:
                Py_DECREF_(o)          # not accepted
            raise exc

    def extend(self, items, objects=None):
        """extend(pairs) or extend(timestamps, objects).

        A bad item midway raises after every record before it is inserted;
        nothing leaks.  TimelogBusyError (raised once, at the end) means
        every record WAS accepted."""
        cdef _Chunk *c
        self._release_retired(False)
        self._check_open()
        c = <_Chunk *>PyMem_Malloc(sizeof(_Chunk))
        if c == NULL:
            raise MemoryError()
        c.n = 0
        c.busy = False
        try:
            try:
                if objects is None:
                    _extend_pairs(self._log, c, items)
                else:
                    _extend_columns(self._log, c, items, objects)
            except BaseException:
                # the records before the failing item are inserted; an
                # engine error then gives way to the original one
                try:
                    _chunk_flush(self._log, c)
                except BaseException:
                    pass
                raise
            _chunk_flush(self._log, c)
            if c.busy:
                raise TimelogBusyError(_text(c.busy_text))
        finally:
            PyMem_Free(c)
            self._release_retired(False)

    def delete_range(self, t1, t2):
        """Hide every record in [t1, t2) inserted before this call."""
        cdef int64_t a, b
        cdef tl_status st
        self._release_retired(False)
        self._check_open()
        a = _ts(t1)
        b = _ts(t2)
        st = tl_delete_range(self._log, a, b)
        if st != TL_OK:
            _raise_status(st)

    def delete_before(self, cutoff):
        """Hide every record with a timestamp < cutoff."""
        cdef int64_t a
        cdef tl_status st
        self._release_retired(False)
        self._check_open()
        a = _ts(cutoff)
        st = tl_delete_before(self._log, a)
        if st != TL_OK:
            _raise_status(st)

    # -- maintenance: the engine works without the GIL (it touches no Python
    # object); payloads it retires are released afterwards, with the GIL.
    cdef int _maintain(self, _maint_fn fn) except -1:
        cdef tl_status st
        self._release_retired(False)
        self._check_open()
        with nogil:
            st = fn(self._log)
        if st != TL_OK:
            _raise_status(st)
        self._release_retired(False)
        return 0

    def flush(self):
        """Seal the memtable and write every sealed run as L0 segments."""
        self._maintain(tl_flush)

    def compact(self):
        """Flush, then merge L0 into L1, applying deletes."""
        self._maintain(tl_compact)

    def start_maintenance(self):
        """Start the background worker (idempotent)."""
        self._maintain(tl_maint_start)

    def stop_maintenance(self):
        """Stop and join the background worker (idempotent)."""
        self._maintain(tl_maint_stop)

    def close(self):
        """Close the log and release every payload. TimelogBusyError (log
        untouched) while an iterator, span or exported buffer pins it."""
        cdef tl_status st
        if not self._closed:
            with nogil:
                st = tl_log_close(self._log)   # joins the maintenance worker
            if st != TL_OK:
                _raise_status(st)
            self._closed = True
        self._release_retired(True)

    def __enter__(self):
        self._check_open()
        return self

    def __exit__(self, et, ev, tb):
        if et is None:
            self.close()
            return False
        try:
            self.close()
        except TimelogBusyError:
            pass    # readers still open: the log stays open
        return False

    # -- readers -----------------------------------------------------------
    cdef TimelogIter _iter(self, int32_t query, object a1, object a2):
        """A TimelogIter over a new snapshot; a1 / a2 are the timestamps the
        query uses (_NOARG for one it ignores)."""
        cdef int64_t t1 = 0
        cdef int64_t t2 = 0
        cdef TimelogIter it
        cdef tl_status st
        self._release_retired(False)
        self._check_open()
        if a1 is not _NOARG:
            t1 = _ts(a1)
        if a2 is not _NOARG:
            t2 = _ts(a2)
        # allocate first: it may run the GC; nothing to undo if it fails
        it = <TimelogIter>_new_internal(_tp_iter_new, TimelogIter)
        st = tl_snapshot_acquire(self._log, &it._snap)
        if st == TL_OK:
            st = tl_iter_open(it._snap, query, t1, t2, &it._it)
        if st != TL_OK:
            _raise_status(st)     # `it` then releases its snapshot
        it._owner = self
        return it

    def range(self, t1, t2):
        """Records with t1 <= ts < t2 (empty when t1 >= t2)."""
        return self._iter(TL_QUERY_RANGE, t1, t2)

    def since(self, t1):
        """Records with ts >= t1."""
        return self._iter(TL_QUERY_SINCE, t1, _NOARG)

    def until(self, t2):
        """Records with ts < t2."""
        return self._iter(TL_QUERY_UNTIL, _NOARG, t2)

    def all(self):
        """Every record."""
        return self._iter(TL_QUERY_ALL, _NOARG, _NOARG)

    def equal(self, t):
        """Records with ts == t (same as point)."""
        return self._iter(TL_QUERY_POINT, t, _NOARG)

    def point(self, t):
        """Records with ts == t."""
        return self._iter(TL_QUERY_POINT, t, _NOARG)

    def page_spans(self, t1, t2, *, kind="segment"):
        """Zero-copy spans of the records in [t1, t2)."""
        cdef int64_t a, b
        cdef int32_t k = 0
        cdef tl_status st
        cdef PageSpanIter sp
        self._release_retired(False)
        self._check_open()
        a = _ts(t1)
        b = _ts(t2)
        if not isinstance(kind, str):
            raise TypeError(_msg(TLB_MSG_OPTION_TYPE) % ("kind", _tname(kind)))
        raw = (<str>kind).encode("utf-8")
        st = tl_parse_span_kind(raw, len(raw), &k)
        if st != TL_OK:
            _raise_status(st)
        sp = <PageSpanIter>_new_internal(_tp_spaniter_new, PageSpanIter)
        st = tl_snapshot_acquire(self._log, &sp._snap)
        if st == TL_OK:
            st = tl_spans_open(sp._snap, a, b, k, &sp._spans)
        if st != TL_OK:
            _raise_status(st)
        sp._owner = self
        return sp


# ---------------------------------------------------------------------------
# Internal types: created only through the constructor slots saved at
# module init (the public slots refuse construction).
# ---------------------------------------------------------------------------
ctypedef object (*_newfunc)(object, object, PyObject *)
ctypedef object (*_vectorcallfunc)(object, PyObject **, size_t, PyObject *)

cdef struct _Maker:
    void *new           # the type's own tp_new
    void *vectorcall    # its tp_vectorcall (Cython sets one on 3.8+), or NULL

cdef _Maker _tp_iter_new
cdef _Maker _tp_spaniter_new
cdef _Maker _tp_span_new
cdef _Maker _tp_view_new


ctypedef PyObject *(*_iternextfunc)(PyObject *) except? NULL


cdef void _reader_release(Timelog owner, tl_snapshot *snap) noexcept:
    """Last steps of a reader's cleanup, after its fields are cleared and
    its engine iterator destroyed: release the snapshot (the pin), then the
    payloads that made releasable (may run Python code)."""
    tl_snapshot_release(snap)
    if owner is not None:
        owner._release_retired(False)


cdef object _next_or_stop(_iternextfunc iternext, object it):
    """__next__ over the tp_iternext installed at module init (for-loops
    call that slot directly and never build a StopIteration)."""
    cdef PyObject *r = iternext(<PyObject *>it)
    if r == NULL:
        raise StopIteration
    obj = <object>r
    Py_DECREF_(r)
    return obj


cdef inline object _new_internal(_Maker m, object tp):
    if m.vectorcall != NULL:
        return (<_vectorcallfunc>m.vectorcall)(tp, NULL, 0, NULL)
    return (<_newfunc>m.new)(tp, _EMPTY, NULL)


cdef object _no_construct(object tp, object args, PyObject *kw):
    raise TypeError(_msg(TLB_MSG_NO_CONSTRUCT) % ((<type>tp).__name__,))


@cython.final
@cython.auto_pickle(False)
@cython.freelist(8)
cdef class TimelogIter:
    """Snapshot iterator over (timestamp, object) records.

    __next__ serves records from a small read-ahead buffer filled by
    tl_iter_next_batch; buffered handles stay valid because the pin is kept
    until the buffer is consumed.  The GIL serializes every use of the core
    iterator except next_batch's large fills, which run without it while
    `_in_use` is set; every other entry point waits for them.
    """

    cdef Timelog _owner        # strong: the log outlives its readers
    cdef tl_snapshot *_snap    # the pin
    cdef tl_iter *_it
    cdef bint _closed
    cdef bint _eof             # engine exhausted; the buffer may hold records
    cdef bint _in_use          # an engine fill runs without the GIL
    cdef Py_ssize_t _pos, _len # read-ahead window
    # The last two tuples __next__ returned, refilled in place once only
    # this iterator holds them: two, because `for rec in it` still holds the
    # previous record during the call.
    cdef object _ring0
    cdef object _ring1
    cdef bint _ring_next       # ring slot a new tuple replaces
    # The same for the last two lists next_batch returned (_reuse_batch).
    cdef object _batch0
    cdef object _batch1
    cdef bint _batch_next
    cdef int64_t _ts_buf[ITER_BUF]
    cdef tl_handle _h_buf[ITER_BUF]

    def __dealloc__(self):
        self._cleanup()

    cdef void _cleanup(self) noexcept:
        """The one cleanup (close, exhaustion, error, dealloc, GC clear):
        mark closed, clear fields, destroy the core iterator, release the
        snapshot, release retired payloads, drop the owner."""
        cdef tl_iter *it
        cdef tl_snapshot *snap
        cdef Timelog owner
        cdef object ring0, ring1, batch0, batch1
        self._wait_idle()
        it = self._it
        snap = self._snap
        owner = self._owner
        ring0 = self._ring0
        ring1 = self._ring1
        batch0 = self._batch0
        batch1 = self._batch1
        self._closed = True
        self._eof = True
        self._pos = self._len = 0
        self._it = NULL
        self._snap = NULL
        self._owner = None
        self._ring0 = None
        self._ring1 = None
        self._batch0 = None
        self._batch1 = None
        tl_iter_destroy(it)
        _reader_release(owner, snap)
        del ring0, ring1, batch0, batch1    # kept records (and payloads) go last

    cdef inline void _wait_idle(self) noexcept:
        # another thread runs an engine fill of this iterator without the GIL
        while self._in_use:
            with nogil:
                sched_yield()

    cdef int _refill(self) except -1:
        """Refill the read-ahead buffer: 1 with records, 0 when exhausted
        (cleaned up); an engine error cleans up and raises."""
        cdef size_t n = 0
        cdef tl_status st
        self._wait_idle()
        if self._pos < self._len:
            return 1
        if self._closed:
            return 0
        if self._eof:
            self._cleanup()
            return 0
        st = tl_iter_next_batch(self._it, self._ts_buf, self._h_buf, ITER_BUF, &n)
        if st != TL_OK and st != TL_EOF:
            exc = _status_exc(st)
            self._cleanup()
            raise exc
        self._eof = st == TL_EOF
        self._pos = 0
        self._len = <Py_ssize_t>n
        tl_cy_prefetch_payloads(self._h_buf, n)
        if n == 0:
            self._cleanup()
            return 0
        return 1

    cdef Py_ssize_t _take(self, int64_t *ts, tl_handle *h, Py_ssize_t cap) except -1:
        """Move up to cap records into ts/h, taking a reference to each
        payload: first from the read-ahead buffer, then from the engine
        (without the GIL when the fill is large)."""
        cdef Py_ssize_t k = 0
        cdef Py_ssize_t i
        cdef size_t n = 0
        cdef size_t want
        cdef tl_iter *core
        cdef tl_status st
        while k < cap and self._pos < self._len:
            ts[k] = self._ts_buf[self._pos]
            h[k] = self._h_buf[self._pos]
            self._pos += 1
            k += 1
        if k < cap and not self._eof and not self._closed:
            want = <size_t>(cap - k)
            core = self._it
            if want >= NOGIL_MIN:
                self._in_use = True
                with nogil:
                    st = tl_iter_next_batch(core, ts + k, h + k, want, &n)
                self._in_use = False
            else:
                st = tl_iter_next_batch(core, ts + k, h + k, want, &n)
            if st != TL_OK and st != TL_EOF:
                exc = _status_exc(st)
                self._cleanup()
                raise exc
            if st == TL_EOF:
                self._eof = True
            k += <Py_ssize_t>n
        for i in range(k):
            Py_INCREF_(_h2o(h[i]))
        return k

    @property
    def closed(self):
        return self._closed

    def close(self):
        """Release the snapshot (idempotent)."""
        self._cleanup()

    def __iter__(self):
        return self

    def __next__(self):
        return _next_or_stop(_iter_iternext, self)

    def next_batch(self, n):
        """Up to n records as a list of (ts, obj); [] once exhausted or
        closed.  A short batch means the end was reached (the iterator is
        closed)."""
        cdef int overflow = 0
        cdef long long want = PyLong_AsLongLongAndOverflow(PyNumber_Index(n), &overflow)
        cdef long long left
        cdef Py_ssize_t cap, part, k
        cdef bint exhausted = False
        cdef int64_t ts_small[ITER_BUF]
        cdef tl_handle h_small[ITER_BUF]
        cdef int64_t *ts = ts_small
        cdef tl_handle *h = h_small
        cdef list result = None
        cdef list chunk
        if overflow < 0 or want < 0:
            raise ValueError(_msg(TLB_MSG_SIZE_NEGATIVE) % "next_batch")
        if overflow > 0:
            raise OverflowError(_msg(TLB_MSG_INT_OVERFLOW))
        self._wait_idle()
        if want == 0 or self._closed:
            return []
        # small batches go through the read-ahead buffer
        if want < ITER_BUF and self._pos >= self._len and not self._eof:
            self._refill()
        cap = <Py_ssize_t>want if want < CHUNK else CHUNK
        if cap > ITER_BUF:
            ts = <int64_t *>PyMem_Malloc(<size_t>cap * (sizeof(int64_t) + sizeof(tl_handle)))
            if ts == NULL:
                raise MemoryError()
            h = <tl_handle *>(ts + cap)
        try:
            left = want
            while left > 0:
                part = <Py_ssize_t>left if left < cap else cap
                k = self._take(ts, h, part)
                chunk = _reuse_batch(self, ts, h, k) if result is None and k == want else None
                if chunk is None:
                    chunk = _records(ts, h, <size_t>k)
                if result is None:
                    result = chunk
                else:
                    result.extend(chunk)
                left -= k
                if k < part:
                    exhausted = True
                    break
        finally:
            if ts != ts_small:
                PyMem_Free(ts)
        if exhausted:
            self._cleanup()     # the end was reached: the pin goes at once
        elif len(result) <= CHUNK:
            # kept for _reuse_batch
            if self._batch_next:
                self._batch1 = result
            else:
                self._batch0 = result
            self._batch_next = not self._batch_next
        return result

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        self._cleanup()
        return False


cdef list _reuse_batch(TimelogIter self, const int64_t *ts, const tl_handle *h, Py_ssize_t k):
    """A list next_batch returned earlier, of length k, that nobody else
    holds any more (the caller dropped it, as `while b := it.next_batch(n)`
    does), refilled in place with the records in ts/h (payload references
    stolen): the list, its tuples and their allocation and GC costs are
    saved, as zip() saves its result tuple.  A tuple the caller kept is
    replaced by a new one.  None when no kept list fits."""
    cdef list out
    cdef Py_ssize_t i
    cdef PyObject *obj
    cdef PyObject *t
    cdef PyObject *rec
    cdef PyObject *old
    # taken out of the ring while it is refilled: code run by a released
    # payload cannot reach it
    if (self._batch0 is not None and Py_REFCNT_(<PyObject *>self._batch0) == 1
            and PyList_GET_SIZE_(<PyObject *>self._batch0) == k):
        out = self._batch0
        self._batch0 = None
    elif (self._batch1 is not None and Py_REFCNT_(<PyObject *>self._batch1) == 1
            and PyList_GET_SIZE_(<PyObject *>self._batch1) == k):
        out = self._batch1
        self._batch1 = None
    else:
        return None
    for i in range(k):
        obj = _h2o(h[i])
        t = PyLong_FromLongLong_(ts[i])
        if t == NULL:
            Py_DECREF_(obj)
            _release_handles(h + i + 1, <size_t>(k - i - 1))
            _pending_error()
        rec = PyList_GET_ITEM_(<PyObject *>out, i)
        if PyTuple_CheckExact_(rec) and Py_REFCNT_(rec) == 1 and PyTuple_GET_SIZE_(rec) == 2:
            _refill_record(rec, t, obj)     # the private list holds rec
            continue
        rec = _pack_record(t, obj)
        if rec == NULL:
            _release_handles(h + i + 1, <size_t>(k - i - 1))
            _pending_error()
        old = PyList_GET_ITEM_(<PyObject *>out, i)
        PyList_SET_ITEM_(out, i, rec)
        Py_DECREF_(old)
    return out


cdef inline void _refill_record(PyObject *rec, PyObject *t, PyObject *obj) noexcept:
    """Put (t, obj) into rec, a tuple only the caller's iterator holds (as
    zip() does), stealing both.  The caller keeps its own reference to rec
    across the call: releasing the old payload comes last and may run
    arbitrary code, even this iterator again."""
    cdef PyObject *old_t = PyTuple_GET_ITEM_(rec, 0)
    cdef PyObject *old_obj = PyTuple_GET_ITEM_(rec, 1)
    PyTuple_SET_ITEM_(rec, 0, t)
    PyTuple_SET_ITEM_(rec, 1, obj)
    # the GC may have untracked it (atomic contents); track it again rather
    # than inspect the new payload, whose header may be a cache miss
    if not PyObject_GC_IsTracked_(rec):
        PyObject_GC_Track_(rec)
    Py_DECREF_(old_t)
    Py_DECREF_(old_obj)


cdef PyObject *_iter_iternext(PyObject *o) except? NULL:
    """tp_iternext of TimelogIter: a (ts, obj) tuple, or NULL without an
    exception when exhausted (no StopIteration object is made)."""
    cdef TimelogIter self = <TimelogIter>o
    cdef Py_ssize_t i
    cdef PyObject *obj
    cdef PyObject *t
    cdef PyObject *rec
    if self._pos >= self._len and not self._refill():
        return NULL
    i = self._pos
    self._pos = i + 1
    obj = _h2o(self._h_buf[i])
    Py_INCREF_(obj)             # before anything that may run the GC
    t = PyLong_FromLongLong_(self._ts_buf[i])
    if t == NULL:
        Py_DECREF_(obj)
        _pending_error()
    rec = <PyObject *>self._ring0
    if self._ring0 is None or Py_REFCNT_(rec) != 1:
        rec = <PyObject *>self._ring1
        if self._ring1 is None or Py_REFCNT_(rec) != 1:
            rec = NULL
    if rec != NULL:
        Py_INCREF_(rec)
        _refill_record(rec, t, obj)
        return rec
    rec = PyTuple_New_(2)
    if rec == NULL:
        Py_DECREF_(t)
        Py_DECREF_(obj)
        _pending_error()
    PyTuple_SET_ITEM_(rec, 0, t)
    PyTuple_SET_ITEM_(rec, 1, obj)
    # kept for reuse; a replaced tuple is still held elsewhere, so dropping
    # our reference frees nothing here
    if self._ring_next:
        self._ring1 = <object>rec
    else:
        self._ring0 = <object>rec
    self._ring_next = not self._ring_next
    return rec


@cython.final
@cython.auto_pickle(False)
cdef class PageSpanIter:
    """Iterator over the PageSpan objects of a snapshot range."""

    cdef Timelog _owner
    cdef tl_snapshot *_snap
    cdef tl_spans *_spans
    cdef bint _closed

    def __dealloc__(self):
        self._cleanup()

    cdef void _cleanup(self) noexcept:
        cdef tl_spans *sp = self._spans
        cdef tl_snapshot *snap = self._snap
        cdef Timelog owner = self._owner
        self._closed = True
        self._spans = NULL
        self._snap = NULL
        self._owner = None
        tl_spans_destroy(sp)
        _reader_release(owner, snap)

    @property
    def closed(self):
        return self._closed

    def close(self):
        if not self._closed:
            self._cleanup()

    def __iter__(self):
        return self

    def __next__(self):
        return _next_or_stop(_spaniter_iternext, self)

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        self.close()
        return False


cdef PyObject *_spaniter_iternext(PyObject *o) except? NULL:
    """tp_iternext of PageSpanIter: a new PageSpan, or NULL when done.  The
    engine calls of one enumerator all run with the GIL held, so two threads
    never run it at once."""
    cdef PageSpanIter self = <PageSpanIter>o
    cdef PageSpan span
    cdef tl_status st
    if self._closed:
        return NULL
    # Allocate before the engine call: the allocation may run the GC (and
    # finalizers that close this iterator); after it no Python code runs
    # until the span is owned by the new object.
    span = <PageSpan>_new_internal(_tp_span_new, PageSpan)
    if self._closed:
        return NULL
    st = tl_spans_next(self._spans, &span._span)
    if st != TL_OK:
        exc = _status_exc(st) if st != TL_EOF else None
        self._cleanup()
        if exc is not None:
            raise exc
        return NULL
    span._owner = self._owner
    Py_INCREF_(<PyObject *>span)
    return <PyObject *>span


@cython.final
@cython.auto_pickle(False)
cdef class PageSpan:
    """A zero-copy, read-only int64 view of contiguous timestamps; keeps its
    snapshot (the pin) until closed or collected."""

    cdef Timelog _owner
    cdef tl_span _span         # _span.owner is the pin
    cdef Py_ssize_t _shape[1]
    cdef Py_ssize_t _strides[1]
    cdef Py_ssize_t _exports   # live buffer exports
    cdef bint _closed

    def __dealloc__(self):
        self._cleanup()

    cdef void _cleanup(self) noexcept:
        cdef Timelog owner = self._owner
        self._closed = True
        self._owner = None
        tl_span_release(&self._span)
        if owner is not None:
            owner._release_retired(False)

    cdef inline int _check(self) except -1:
        if self._closed:
            raise ValueError(_msg(TLB_MSG_SPAN_CLOSED))
        return 0

    def __getbuffer__(self, Py_buffer *buffer, int flags):
        self._check()
        if flags & PyBUF_WRITABLE:
            raise BufferError("Object is not writable.")
        self._shape[0] = <Py_ssize_t>self._span.len
        self._strides[0] = sizeof(int64_t)
        buffer.buf = <void *>self._span.ts
        buffer.obj = self
        buffer.len = <Py_ssize_t>(self._span.len * sizeof(int64_t))
        buffer.readonly = 1
        buffer.itemsize = sizeof(int64_t)
        buffer.format = NULL
        if flags & PyBUF_FORMAT:
            buffer.format = _FORMAT_Q
        buffer.ndim = 1
        buffer.shape = self._shape if flags & PyBUF_ND else NULL
        buffer.strides = self._strides if (flags & PyBUF_STRIDES) == PyBUF_STRIDES else NULL
        buffer.suboffsets = NULL
        buffer.internal = NULL
        self._exports += 1

    def __releasebuffer__(self, Py_buffer *buffer):
        self._exports -= 1

    @property
    def timestamps(self):
        """Read-only 1-D memoryview ('q') over the engine's memory."""
        self._check()
        return PyMemoryView_FromObject(self)

    @property
    def start_ts(self):
        self._check()
        return self._span.ts[0]

    @property
    def end_ts(self):
        self._check()
        return self._span.ts[self._span.len - 1]

    @property
    def closed(self):
        return self._closed

    def __len__(self):
        self._check()
        return <Py_ssize_t>self._span.len

    def objects(self):
        """A lazy sequence of the span's payload objects."""
        self._check()
        cdef PageSpanObjectsView view = <PageSpanObjectsView>_new_internal(
            _tp_view_new, PageSpanObjectsView)
        view._span = self
        return view

    def copy_timestamps(self):
        """The timestamps as a new list[int]."""
        self._check()
        cdef size_t i
        cdef size_t n = self._span.len
        cdef list out = PyList_New(<Py_ssize_t>n)
        cdef object v
        for i in range(n):
            v = self._span.ts[i]
            Py_INCREF_(<PyObject *>v)
            PyList_SET_ITEM_(out, <Py_ssize_t>i, <PyObject *>v)
        return out

    def copy(self):
        """Same as copy_timestamps()."""
        return self.copy_timestamps()

    def close(self):
        """Release the snapshot; BufferError while a buffer is exported."""
        if self._closed:
            return
        if self._exports > 0:
            raise BufferError(_msg(TLB_MSG_SPAN_EXPORTED))
        self._cleanup()

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        if not self._closed and self._exports == 0:
            self._cleanup()
        return False


@cython.final
@cython.auto_pickle(False)
cdef class PageSpanObjectsView:
    """Lazy sequence of a PageSpan's payloads; keeps the span alive."""

    cdef PageSpan _span

    cdef inline size_t _n(self) except? 0:
        self._span._check()
        return self._span._span.len

    def __len__(self):
        return <Py_ssize_t>self._n()

    def __getitem__(self, i):
        cdef Py_ssize_t n = <Py_ssize_t>self._n()
        cdef Py_ssize_t k
        if not PyIndex_Check(i):
            raise TypeError(_msg(TLB_MSG_INDEX_TYPE) % _tname(i))
        # out-of-range huge values clamp, then fail the range check
        k = PyNumber_AsSsize_t(i, NULL)
        n = <Py_ssize_t>self._n()    # __index__ may have closed the span
        if k < 0:
            k += n
        if k < 0 or k >= n:
            raise IndexError(_msg(TLB_MSG_INDEX_RANGE))
        return <object>_h2o(self._span._span.h[k])

    def __iter__(self):
        # a plain sequence iterator: each step checks the span again
        self._n()
        return PySeqIter_New(self)

    def copy(self):
        """The payloads as a new list."""
        cdef size_t n = self._n()
        cdef size_t i
        cdef list out = PyList_New(<Py_ssize_t>n)
        cdef PyObject *o
        for i in range(n):
            o = _h2o(self._span._span.h[i])
            Py_INCREF_(o)
            PyList_SET_ITEM_(out, <Py_ssize_t>i, o)
        return out


# ---------------------------------------------------------------------------
# Slots Cython does not let a class define.
# ---------------------------------------------------------------------------
cdef traverseproc _timelog_traverse_base = NULL
cdef inquiry _iter_clear_base = NULL
cdef inquiry _spaniter_clear_base = NULL
cdef inquiry _span_clear_base = NULL


cdef int _timelog_traverse(PyObject *o, visitproc visit, void *arg) noexcept:
    """Also visit every payload the engine holds for this log, so a cycle
    through a payload (payload -> iterator -> log) can be collected."""
    cdef int r
    cdef tl_log *log
    cdef size_t total = 0
    cdef size_t n = 0
    cdef size_t i
    cdef tl_handle *buf
    if _timelog_traverse_base != NULL:
        r = _timelog_traverse_base(o, visit, arg)
        if r:
            return r
    log = (<Timelog>o)._log
    if log == NULL or tl_log_handles(log, NULL, 0, &total) != TL_OK or total == 0:
        return 0
    buf = tl_cy_handles_alloc(total)
    if buf == NULL:
        return 0   # cannot see them now: the cycle is kept, nothing breaks
    r = 0
    if tl_log_handles(log, buf, total, &n) == TL_OK:
        if n > total:
            n = total
        for i in range(n):
            r = visit(_h2o(buf[i]), arg)
            if r:
                break
    tl_cy_handles_free(buf, total)
    return r


# GC clear of a reader runs its whole cleanup (a plain field clear would drop
# the owner while the snapshot still pins it).
cdef int _iter_clear(PyObject *o) noexcept:
    (<TimelogIter>o)._cleanup()
    return _iter_clear_base(o) if _iter_clear_base != NULL else 0


cdef int _spaniter_clear(PyObject *o) noexcept:
    (<PageSpanIter>o)._cleanup()
    return _spaniter_clear_base(o) if _spaniter_clear_base != NULL else 0


cdef int _span_clear(PyObject *o) noexcept:
    # With a buffer still exported the span stays as is: clearing the
    # memoryview in the same cycle releases the export and then the span.
    if (<PageSpan>o)._exports > 0:
        return 0
    (<PageSpan>o)._cleanup()
    return _span_clear_base(o) if _span_clear_base != NULL else 0


cdef PyTypeObject_ *_tp(object t):
    return <PyTypeObject_ *><PyObject *>t


cdef _Maker _take_new(object t):
    cdef _Maker orig
    orig.new = _tp(t).tp_new
    orig.vectorcall = _tp(t).tp_vectorcall
    _tp(t).tp_new = <void *>_no_construct
    _tp(t).tp_vectorcall = NULL    # calls then go through tp_new
    return orig


_timelog_traverse_base = _tp(Timelog).tp_traverse
_tp(Timelog).tp_traverse = _timelog_traverse

_iter_clear_base = _tp(TimelogIter).tp_clear
_tp(TimelogIter).tp_clear = _iter_clear
_tp(TimelogIter).tp_iternext = <void *>_iter_iternext
_spaniter_clear_base = _tp(PageSpanIter).tp_clear
_tp(PageSpanIter).tp_clear = _spaniter_clear
_tp(PageSpanIter).tp_iternext = <void *>_spaniter_iternext
_span_clear_base = _tp(PageSpan).tp_clear
_tp(PageSpan).tp_clear = _span_clear

_tp_iter_new = _take_new(TimelogIter)
_tp_spaniter_new = _take_new(PageSpanIter)
_tp_span_new = _take_new(PageSpan)
_tp_view_new = _take_new(PageSpanObjectsView)

for _t in (Timelog, TimelogIter, PageSpanIter, PageSpan, PageSpanObjectsView):
    PyType_Modified(_tp(_t))
del _t
