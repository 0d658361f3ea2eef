# cython: language_level=3, cdivision=True, binding=False
"""Timelog over the C engine, written in Cython (timelog._backend_cython).

Payloads.  The engine stores one opaque uint64 handle per record; here a
handle is an index into the log's object table, an ordinary list (`_objs`),
with freed indices on a free stack.  Inserting puts the object in a slot; a
slot is freed only when the engine hands its handle back through
tl_drain_retired(), which it does only once no snapshot can still yield it.
Because the table is a list, the garbage collector sees every payload the log
holds, so a cycle payload -> reader -> log -> table -> payload is collected
with no hand-written traverse.  Retired handles are released at safe points
(start and end of methods, reader cleanup), outside any engine call, each
slot emptied before its payload dies: a payload's __del__ may re-enter the log.

Readers turn handles into objects right after the engine call that produced
them, before anything that allocates (an allocation may run the GC, and a
finalizer may close the reader and free slots), so what they return is always
what the snapshot held.  Every record is a new tuple and every batch a new
list: nothing handed to the caller is reused.

Conversions, error texts and reprs come from backends/shared (pyshared.h,
messages.h), the same code the C-API binding runs, so every message is the
same on every backend.
"""
cimport cython
from cpython.buffer cimport (
    PyBUF_C_CONTIGUOUS, PyBUF_FORMAT, PyBUF_ND, PyBUF_RECORDS_RO, PyBUF_STRIDES,
    PyBUF_WRITABLE, PyBuffer_Release, PyObject_CheckBuffer, PyObject_GetBuffer,
)
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.pythread cimport (
    WAIT_LOCK, PyThread_acquire_lock, PyThread_allocate_lock, PyThread_free_lock,
    PyThread_release_lock, PyThread_type_lock,
)
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE, PyList_New, PyList_SET_ITEM
from cpython.long cimport PyLong_AsLongLongAndOverflow, PyLong_CheckExact
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE
from cpython.ref cimport Py_INCREF, Py_XDECREF, PyObject
from libc.stdint cimport INT64_MAX, int32_t, int64_t, uint64_t
from libc.string cimport memcpy, memset

from timelog_engine cimport *

import gc
from collections.abc import Mapping
from importlib import import_module
from sys import byteorder

from timelog._errors import TimelogBusyError, TimelogError

cdef extern from "Python.h":
    object PySeqIter_New(object seq)
    bint PyIndex_Check(object o)
    Py_ssize_t PyNumber_AsSsize_t(object o, PyObject *exc) except? -1
    void PyObject_GC_Track(object o)
    void PyObject_GC_UnTrack(object o)

__all__ = ["Timelog", "TimelogIter", "PageSpan", "PageSpanIter",
           "PageSpanObjectsView", "TimelogError", "TimelogBusyError"]

BACKEND = "cython"     # this backend's name, as timelog.BACKEND reports it

tlpy_init()

cdef enum:
    CHUNK = 4096        # records moved per engine call on the bulk paths
    ITER_BUF = 24       # records a TimelogIter reads ahead for __next__
    PREFETCH_AHEAD = 16 # records ahead whose payloads the bulk loops prefetch
    DRAIN_CAP = 512     # handles released per tl_drain_retired() call
    NOGIL_MIN = 2048    # engine calls moving this many records drop the GIL
    REPR_CAP = 200

cdef bint _LITTLE = byteorder == "little"


# Only this module makes the reader types (design.md section 9): each is
# made with this literal as its one argument, and refuses construction without
# that very object (a literal Python code writes is another object).  Each
# call spells the literal out, so Cython hands tp_new one cached argument
# tuple instead of building one per reader.
cdef object _TOKEN = b"timelog: made by its log"


cdef inline int _check_token(object self, tuple args) except -1:
    if len(args) != 1 or args[0] is not _TOKEN:
        # type(self).__name__: a subclass is refused under its own name
        raise TypeError(tlb_message(TLB_MSG_NO_CONSTRUCT).decode() % type(self).__name__)
    return 0


cdef int _no_pickle(object self) except -1:
    return tlpy_type_error(TypeError, TLB_MSG_NO_PICKLE, self)


cdef class Timelog


cdef inline void _put(list objs, Py_ssize_t i, object obj) noexcept:
    """objs[i] = obj (i in range) without the generic setitem, for a slot
    whose old value's release runs no code (None, or an object referenced
    elsewhere)."""
    cdef PyObject *old = PyList_GET_ITEM(objs, i)
    Py_INCREF(obj)
    PyList_SET_ITEM(objs, i, obj)
    Py_XDECREF(old)

cdef object _UNUSED = object()     # a query bound the query ignores


@cython.auto_pickle(False)
cdef class _Public:
    """What every public type has: weak references, and no copy or pickle
    (a copy would share engine state)."""

    cdef object __weakref__

    def __reduce__(self):
        _no_pickle(self)

    def __reduce_ex__(self, protocol):
        _no_pickle(self)


@cython.auto_pickle(False)
@cython.no_gc_clear     # its cleanup, not a field clear, lets go of the log
cdef class _Reader:
    """What the readers share: made by a log only, they hold a strong
    reference to it (the log outlives its readers) and a pin until exhausted,
    closed or collected; context managers that close on exit.  What _Public
    gives the other types is repeated here: one base less to deallocate."""

    cdef object __weakref__
    cdef Timelog _owner
    cdef bint _open

    def __reduce__(self):
        _no_pickle(self)

    def __reduce_ex__(self, protocol):
        _no_pickle(self)

    def __cinit__(self, *args):
        _check_token(self, args)

    cdef void _cleanup(self) noexcept:
        pass

    @property
    def closed(self):
        """True once exhausted or closed."""
        return not self._open

    def close(self):
        """Release the snapshot (idempotent)."""
        self._cleanup()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self._cleanup()
        return False


# ---------------------------------------------------------------------------
# Columns: numpy.empty(n, int64) when numpy imports (tried once), else
# array('q').
# ---------------------------------------------------------------------------
cdef object _np_empty = None
cdef object _np_int64 = None
cdef bint _numpy_tried = False


cdef object _new_ts_array(Py_ssize_t n):
    global _np_empty, _np_int64, _numpy_tried
    if not _numpy_tried:
        _numpy_tried = True
        try:
            numpy = import_module("numpy")
        except Exception:
            pass        # no numpy: columns come as array('q')
        else:
            _np_empty = numpy.empty
            _np_int64 = numpy.int64
    if _np_empty is not None:
        return _np_empty(n, _np_int64)
    import array
    return array.array("q", bytes(8 * n))


cdef bint _is_int64_format(const char *f, Py_ssize_t itemsize) noexcept:
    """A buffer format naming a native int64 ('q' or 'l', itemsize 8, with
    an optional native byte-order prefix)."""
    if f == NULL or itemsize != 8:
        return False
    if f[0] == b'@' or f[0] == b'=':
        f += 1
    elif _LITTLE and f[0] == b'<':
        f += 1
    elif not _LITTLE and (f[0] == b'>' or f[0] == b'!'):
        f += 1
    return (f[0] == b'q' or f[0] == b'l') and f[1] == 0


@cython.wraparound(False)
cdef inline object _item(object seq, Py_ssize_t i):
    """seq[i] (i >= 0), inline for a list or a tuple.  A list's size is
    re-read each time: code run for an earlier item may have shrunk it."""
    if type(seq) is list:
        return (<list>seq)[i]
    if type(seq) is tuple:
        return (<tuple>seq)[i]
    return seq[i]


@cython.wraparound(False)
cdef inline bint _exact_ts(object seq, Py_ssize_t i, int64_t *out) noexcept:
    """out[0] = seq[i] (a list or tuple, i >= 0) when that is an int in int64
    range: converting it runs no Python code."""
    cdef object o
    cdef int overflow = 0
    cdef long long v
    if type(seq) is list:
        if i >= PyList_GET_SIZE(seq):
            return False
        o = <object>PyList_GET_ITEM(seq, i)
    else:
        if i >= PyTuple_GET_SIZE(seq):
            return False
        o = <object>PyTuple_GET_ITEM(seq, i)
    if not PyLong_CheckExact(o):
        return False
    v = PyLong_AsLongLongAndOverflow(o, &overflow)
    if overflow:
        return False
    out[0] = <int64_t>v
    return True


cdef int _check_sequence(object o, int32_t msg) except -1:
    """A sequence as design.md section 8.4 defines it: its type has __len__
    and __getitem__, and it is not a Mapping."""
    if type(o) is list or type(o) is tuple:
        return 0
    tp = type(o)
    if hasattr(tp, "__len__") and hasattr(tp, "__getitem__") and not isinstance(o, Mapping):
        return 0
    return tlpy_type_error(TypeError, msg, o)


# ---------------------------------------------------------------------------
# Timelog
# ---------------------------------------------------------------------------
ctypedef tl_status (*_maint_fn)(tl_log *) noexcept nogil


cdef int _set_str_option(tl_config *cfg, const char *name, object value) except -1:
    cdef const char *text
    cdef size_t n
    if value is not None:
        tlpy_str_option(name, value, &text, &n)
        st = tl_config_set_str(cfg, name, text, n)
        if st != TL_OK:
            tlpy_status_error(st)
    return 0


cdef int _set_int_option(tl_config *cfg, const char *name, object value) except -1:
    cdef int64_t v
    if value is not None:
        tlpy_int_option(name, value, &v)
        st = tl_config_set_int(cfg, name, v)
        if st != TL_OK:
            tlpy_status_error(st)
    return 0


cdef struct _Slots:
    tl_handle lo, hi           # free table slots lo .. hi - 1


cdef struct _Chunk:
    size_t n
    int64_t ts[CHUNK]
    tl_handle h[CHUNK]


@cython.auto_pickle(False)
@cython.no_gc_clear     # the table stays while the engine holds its handles
cdef class Timelog(_Public):
    """Timelog(time_unit=None, maintenance=None, memtable_max_bytes=None,
            target_page_bytes=None, sealed_max_runs=None,
            drain_batch_limit=None, busy_policy=None)

    In-memory time index of (int64 timestamp, object) records.
    None means the engine default for every option."""

    cdef tl_log *_log          # opened by __init__, kept until dealloc
    cdef bint _closed          # close() succeeded (or never opened)
    cdef bint _initialized     # __init__ ran (it runs once)
    cdef list _objs            # the object table: handle -> payload
    cdef _Slots *_free         # free table slots: a stack of runs
    cdef size_t _nfree, _free_cap

    def __cinit__(self, *args, **kwargs):
        self._closed = True    # until __init__ opens it
        self._objs = []

    def __init__(self, time_unit=None, maintenance=None, memtable_max_bytes=None,
                 target_page_bytes=None, sealed_max_runs=None,
                 drain_batch_limit=None, busy_policy=None):
        cdef tl_config cfg
        cdef tl_log *log = NULL
        if self._initialized:
            tlpy_message_error(TypeError, TLB_MSG_REINIT)
        tl_config_init(&cfg)
        _set_str_option(&cfg, "time_unit", time_unit)
        _set_str_option(&cfg, "maintenance", maintenance)
        _set_int_option(&cfg, "memtable_max_bytes", memtable_max_bytes)
        _set_int_option(&cfg, "target_page_bytes", target_page_bytes)
        _set_int_option(&cfg, "sealed_max_runs", sealed_max_runs)
        _set_int_option(&cfg, "drain_batch_limit", drain_batch_limit)
        _set_str_option(&cfg, "busy_policy", busy_policy)
        # a failed __init__ may be retried; one that opened the log may not
        with nogil:
            st = tl_log_open(&cfg, &log)
        if st != TL_OK:
            tlpy_status_error(st)
        self._log = log
        self._closed = False
        self._initialized = True

    def __dealloc__(self):
        if self._log != NULL:
            if not self._closed and tl_log_close(self._log) == TL_OK:
                self._closed = True
            if self._closed:
                self._release_all()
            # readers hold a strong reference to their log, so no snapshot is
            # alive here; if one were, destroy refuses and the memory stays
            if tl_log_destroy(self._log) == TL_OK:
                self._log = NULL
        PyMem_Free(self._free)

    # -- the object table ---------------------------------------------------
    @cython.final
    cdef inline tl_handle _store(self, object obj) except? 0xFFFFFFFFFFFFFFFF:
        """Put obj in a free slot, or a new one; its index is the record's
        handle.  Small, so it inlines into the bulk loops."""
        cdef list objs = self._objs
        cdef tl_handle h = <tl_handle>PyList_GET_SIZE(objs)
        if self._nfree == 0:
            objs.append(obj)
            return h
        return self._store_free(obj)

    @cython.final
    cdef tl_handle _store_free(self, object obj) except? 0xFFFFFFFFFFFFFFFF:
        """_store into a slot of the most recently freed run."""
        cdef _Slots *top = &self._free[self._nfree - 1]
        cdef tl_handle h = top.lo
        top.lo += 1
        if top.lo == top.hi:
            self._nfree -= 1
        if h >= <tl_handle>PyList_GET_SIZE(self._objs):
            raise IndexError(h)     # only a table the GC cleared is shorter
        _put(self._objs, h, obj)
        return h

    @cython.final
    cdef inline void _free_slot(self, tl_handle h) noexcept:
        """Push slot h on the free stack.  Retired handles mostly come in
        runs (a compaction drops a time range), so the stack holds runs: it
        stays small and needs few writes.  Out of memory the slot is just
        not reused."""
        cdef _Slots *top
        cdef _Slots *grown
        cdef size_t cap
        if self._nfree > 0:
            top = &self._free[self._nfree - 1]
            if h == top.hi:
                top.hi += 1
                return
            if h + 1 == top.lo:
                top.lo = h
                return
        if self._nfree == self._free_cap:
            cap = self._free_cap * 2 + 16
            grown = <_Slots *>PyMem_Realloc(self._free, cap * sizeof(_Slots))
            if grown == NULL:
                return
            self._free = grown
            self._free_cap = cap
        self._free[self._nfree].lo = h
        self._free[self._nfree].hi = h + 1
        self._nfree += 1

    @cython.final
    cdef void _unstore(self, const tl_handle *h, size_t n) noexcept:
        """Empty n slots and free them.  Each payload dies after its slot is
        free, so a __del__ that re-enters the log finds the table consistent.
        A slot past the end was emptied by the GC clearing the table."""
        cdef list objs = self._objs
        cdef size_t i
        cdef tl_handle j
        cdef PyObject *dead
        for i in range(n):
            j = h[i]
            # size re-read every step: a __del__ may have emptied the table
            if j >= <tl_handle>PyList_GET_SIZE(objs):
                continue
            # the slot's reference moves to dead, None takes its place
            dead = PyList_GET_ITEM(objs, <Py_ssize_t>j)
            Py_INCREF(None)
            PyList_SET_ITEM(objs, <Py_ssize_t>j, None)
            self._free_slot(j)
            Py_XDECREF(dead)

    @cython.final
    cdef void _drain(self) noexcept:
        """One safe point: release the payloads the engine retired and lets
        go of now (it paces drain_batch_limit itself: a short answer ends the
        safe point)."""
        cdef tl_handle buf[DRAIN_CAP]
        cdef size_t n = DRAIN_CAP
        while n == DRAIN_CAP:
            n = 0
            if self._log == NULL or tl_drain_retired(self._log, buf, DRAIN_CAP, &n) != TL_OK:
                return
            if n:
                self._unstore(buf, n)

    @cython.final
    cdef void _release_all(self) noexcept:
        """The log is closed and nothing pins it: the engine lets go of every
        handle it held, so the whole table empties at once (the list is
        emptied before the payloads die)."""
        cdef tl_handle buf[DRAIN_CAP]
        cdef size_t n = DRAIN_CAP
        while n == DRAIN_CAP:
            n = 0
            if tl_drain_retired(self._log, buf, DRAIN_CAP, &n) != TL_OK:
                break
        self._nfree = 0
        self._objs.clear()     # empties the list first, then releases (no copy)

    @cython.final
    cdef inline int _check_open(self) except -1:
        if self._closed:
            return tlpy_closed_error()
        return 0

    # -- writes ---------------------------------------------------------------
    def append(self, ts, obj):
        """Insert one record (late timestamps are fine)."""
        cdef int64_t t
        cdef tl_handle h
        self._drain()
        self._check_open()
        tlpy_ts(ts, &t)
        h = self._store(obj)
        st = tl_append(self._log, t, h)
        if st != TL_OK:
            try:
                tlpy_status_error(st)
            finally:
                if st != TL_EBUSY:      # not accepted
                    self._unstore(&h, 1)

    def extend(self, items, objects=None):
        """extend(items) with (timestamp, object) pairs from any iterable, or
        extend(timestamps, objects) with parallel timestamps (int64 buffer or
        ints) and objects.  On a bad item the records before it are inserted
        and the error raised.  TimelogBusyError (raised once, at the end)
        means every record was accepted."""
        cdef _Chunk *c
        self._drain()
        self._check_open()
        c = <_Chunk *>PyMem_Malloc(sizeof(_Chunk))
        if c == NULL:
            raise MemoryError()
        c.n = 0
        busy = []
        try:
            try:
                if objects is None:
                    self._extend_pairs(c, items, busy)
                else:
                    self._extend_columns(c, items, objects, busy)
            except BaseException:
                # the records before the failing item go in; an engine error
                # then gives way to the original one
                try:
                    self._flush(c, busy)
                except BaseException:
                    pass
                raise
            self._flush(c, busy)
            if busy:
                raise TimelogBusyError(busy[0])
        finally:
            PyMem_Free(c)
            self._drain()

    @cython.final
    cdef int _flush(self, _Chunk *c, list busy) except -1:
        """Insert the chunk; slots of records the engine did not take are
        freed.  A TL_EBUSY (accepted) is remembered in busy, raised later."""
        cdef size_t n = c.n
        cdef size_t accepted = 0
        if n == 0:
            return 0
        c.n = 0
        if n >= NOGIL_MIN:
            with nogil:
                st = tl_append_batch(self._log, c.ts, c.h, n, &accepted)
        else:
            st = tl_append_batch(self._log, c.ts, c.h, n, &accepted)
        if st == TL_OK:
            return 0
        if st == TL_EBUSY:
            if not busy:
                busy.append(tlpy_text(tl_last_error()))
            return 0
        if st != TL_ENOMEM or accepted > n:
            accepted = 0
        try:
            tlpy_status_error(st)
        finally:
            self._unstore(c.h + accepted, n - accepted)

    @cython.final
    cdef Py_ssize_t _extend_bulk(self, _Chunk *c, const char *base, Py_ssize_t stride,
                                 object timestamps, object objects, Py_ssize_t n,
                                 list busy) except -1:
        """The leading records of extend(timestamps, objects) whose reading
        runs no Python code: timestamps from the buffer at base (or, base
        NULL, exact ints of a list or tuple), objects of a list or tuple.
        The objects enter the table in one extend (one pass, one resize),
        then the engine takes them chunk by chunk; slots it never got are
        freed.  Returns how many went in (c is empty before and after)."""
        cdef list objs = self._objs
        cdef Py_ssize_t first, added, done = 0, run, lim, j
        first = PyList_GET_SIZE(objs)
        objs.extend(objects)
        added = PyList_GET_SIZE(objs) - first
        try:
            while done < min(added, n):
                lim = min(min(added, n) - done, <Py_ssize_t>CHUNK)
                if base != NULL:
                    for j in range(lim):
                        memcpy(&c.ts[j], base + (done + j) * stride, sizeof(int64_t))
                    run = lim
                else:
                    run = 0
                    while run < lim and _exact_ts(timestamps, done + run, &c.ts[run]):
                        run += 1
                for j in range(run):
                    c.h[j] = <tl_handle>(first + done + j)
                c.n = <size_t>run
                done += run
                self._flush(c, busy)
                if run < lim:
                    break       # this timestamp needs the general path
        finally:
            self._unstore_range(<tl_handle>(first + done), <tl_handle>(first + added))
        return done

    @cython.final
    cdef void _unstore_range(self, tl_handle lo, tl_handle hi) noexcept:
        """_unstore the slots lo .. hi - 1."""
        cdef tl_handle buf[DRAIN_CAP]
        cdef size_t k
        while lo < hi:
            k = 0
            while k < DRAIN_CAP and lo < hi:
                buf[k] = lo
                k += 1
                lo += 1
            self._unstore(buf, k)

    @cython.final
    cdef inline int _push(self, _Chunk *c, int64_t ts, object obj, list busy) except -1:
        c.ts[c.n] = ts
        c.h[c.n] = self._store(obj)
        c.n += 1
        if c.n == CHUNK:
            self._flush(c, busy)
        return 0

    @cython.final
    cdef int _extend_pairs(self, _Chunk *c, object items, list busy) except -1:
        cdef int64_t ts
        for item in items:
            if type(item) is tuple and PyTuple_GET_SIZE(item) == 2:
                # borrowed: the loop owns the tuple, which cannot drop them
                tlpy_ts(<object>PyTuple_GET_ITEM(item, 0), &ts)
                self._push(c, ts, <object>PyTuple_GET_ITEM(item, 1), busy)
            else:
                self._push_pair(c, item, busy)
        return 0

    @cython.final
    @cython.boundscheck(False)      # indexes only pairs of checked length
    cdef int _push_pair(self, _Chunk *c, object item, list busy) except -1:
        """_push any other item: a tuple subclass or a list of two, else
        TypeError.  Kept out of the loop above, whose one _push then inlines."""
        cdef int64_t ts
        if isinstance(item, tuple):
            if len(<tuple>item) != 2:
                tlpy_type_error(TypeError, TLB_MSG_EXTEND_PAIR, item)
            tso = (<tuple>item)[0]
            obj = (<tuple>item)[1]
        elif isinstance(item, list) and len(<list>item) == 2:
            tso = (<list>item)[0]
            obj = (<list>item)[1]
        else:
            tlpy_type_error(TypeError, TLB_MSG_EXTEND_PAIR, item)
        tlpy_ts(tso, &ts)     # both halves are owned here: __index__ may
        return self._push(c, ts, obj, busy)     # mutate the pair

    @cython.wraparound(False)
    @cython.final
    cdef int _extend_columns(self, _Chunk *c, object timestamps, object objects,
                             list busy) except -1:
        """extend(timestamps, objects): lengths are checked before anything
        is inserted; item i is read as timestamp i, then object i."""
        cdef Py_buffer view
        cdef bint have_view = False
        cdef Py_ssize_t n, i, stride = 0
        cdef const char *base = NULL
        cdef int64_t ts
        if (not isinstance(timestamps, (list, tuple))
                and PyObject_CheckBuffer(timestamps)):
            PyObject_GetBuffer(timestamps, &view, PyBUF_RECORDS_RO)
            if view.ndim != 1:
                PyBuffer_Release(&view)
                tlpy_message_error(TypeError, TLB_MSG_EXTEND_TS_ARRAY)
            if _is_int64_format(view.format, view.itemsize):
                have_view = True
            else:
                PyBuffer_Release(&view)   # other formats: read as a sequence
        try:
            if not have_view:
                _check_sequence(timestamps, TLB_MSG_EXTEND_TS_TYPE)
            _check_sequence(objects, TLB_MSG_EXTEND_OBJS_TYPE)
            n = view.shape[0] if have_view else len(timestamps)
            if n != len(objects):
                tlpy_message_error(ValueError, TLB_MSG_EXTEND_LENGTHS)
            if have_view:
                base = <const char *>view.buf
                # exporters may leave strides NULL for contiguous data (ctypes)
                stride = view.strides[0] if view.strides != NULL else view.itemsize
            i = 0
            # the fast path when nothing read runs Python code (a list of
            # ints is taken for one when its first item is an int)
            if n > 0 and (type(objects) is list or type(objects) is tuple) and (
                    have_view or ((type(timestamps) is list or type(timestamps) is tuple)
                                  and _exact_ts(timestamps, 0, &ts))):
                i = self._extend_bulk(c, base, stride, timestamps, objects, n, busy)
            while i < n:
                # one record the general way: timestamp i, then object i
                if have_view:
                    memcpy(&ts, base + i * stride, sizeof(int64_t))
                else:
                    tlpy_ts(_item(timestamps, i), &ts)
                self._push(c, ts, _item(objects, i), busy)
                i += 1
            # the last chunk goes in while the view is held
            self._flush(c, busy)
        finally:
            if have_view:
                PyBuffer_Release(&view)
        return 0

    def delete_range(self, t1, t2):
        """Hide every record in [t1, t2) inserted so far."""
        cdef int64_t a, b
        self._drain()
        self._check_open()
        tlpy_ts(t1, &a)
        tlpy_ts(t2, &b)
        st = tl_delete_range(self._log, a, b)
        if st != TL_OK:
            tlpy_status_error(st)

    def delete_before(self, cutoff):
        """Hide every record older than cutoff."""
        cdef int64_t a
        self._drain()
        self._check_open()
        tlpy_ts(cutoff, &a)
        st = tl_delete_before(self._log, a)
        if st != TL_OK:
            tlpy_status_error(st)

    # -- maintenance: the engine runs without the GIL (it touches no Python
    # object); payloads it retires are released afterwards, with the GIL.
    @cython.final
    cdef int _maintain(self, _maint_fn fn) except -1:
        self._drain()
        self._check_open()
        with nogil:
            st = fn(self._log)
        if st != TL_OK:
            tlpy_status_error(st)
        self._drain()
        return 0

    def flush(self):
        """Seal the memtable and write sealed runs to segments."""
        self._maintain(tl_flush)

    def compact(self):
        """Flush, then merge segments and apply deletes."""
        self._maintain(tl_compact)

    def start_maintenance(self):
        """Start the background maintenance worker."""
        self._maintain(tl_maint_start)

    def stop_maintenance(self):
        """Stop and join the background worker."""
        self._maintain(tl_maint_stop)

    def close(self):
        """Release everything; TimelogBusyError while readers are open."""
        if self._log == NULL:
            return
        if not self._closed:
            with nogil:
                st = tl_log_close(self._log)   # joins the maintenance worker
            if st == TL_EBUSY:
                # readers that are unreachable but not yet collected (a
                # reference cycle) still pin the log: collect once, retry
                gc.collect()
                if self._closed:               # a finalizer closed it
                    return
                with nogil:
                    st = tl_log_close(self._log)
            if st != TL_OK:
                tlpy_status_error(st)
            self._closed = True
        self._release_all()

    def __enter__(self):
        self._check_open()
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        # with an exception in flight, a refused close is swallowed so that
        # exception propagates unchanged (the log stays open)
        try:
            self.close()
        except TimelogBusyError:
            if exc_type is None:
                raise
        return False

    # -- readers ----------------------------------------------------------------
    @cython.final
    cdef TimelogIter _iter(self, int32_t query, int64_t t1, int64_t t2):
        cdef TimelogIter it
        self._check_open()
        # allocate first: it may run the GC; nothing to undo if it fails
        it = TimelogIter.__new__(TimelogIter, b"timelog: made by its log")
        st = tl_snapshot_acquire(self._log, &it._snap)
        if st != TL_OK:
            tlpy_status_error(st)
        it._owner = self
        it._objs = self._objs
        it._open = True
        it._query = query
        it._t1 = t1
        it._t2 = t2
        st = tl_iter_open(it._snap, query, t1, t2, &it._it)
        if st != TL_OK:
            tlpy_status_error(st)     # `it` then releases its snapshot
        return it

    @cython.final
    cdef TimelogIter _query(self, int32_t query, object t1, object t2):
        """_iter with the bounds converted (_UNUSED: one the query ignores)."""
        cdef int64_t a = 0, b = 0
        cdef TimelogIter it
        self._drain()
        self._check_open()
        if t1 is not _UNUSED:
            tlpy_ts(t1, &a)
        if t2 is not _UNUSED:
            tlpy_ts(t2, &b)
        it = self._iter(query, a, b)
        # read ahead now: the first payloads' memory loads while the iterator
        # travels to the caller's first next()
        it._fill()
        return it

    def range(self, t1, t2):
        """Iterator over records with t1 <= ts < t2."""
        return self._query(TL_QUERY_RANGE, t1, t2)

    def since(self, t1):
        """Iterator over records with ts >= t1."""
        return self._query(TL_QUERY_SINCE, t1, _UNUSED)

    def until(self, t2):
        """Iterator over records with ts < t2."""
        return self._query(TL_QUERY_UNTIL, _UNUSED, t2)

    def all(self):
        """Iterator over every record."""
        return self._query(TL_QUERY_ALL, _UNUSED, _UNUSED)

    def equal(self, t):
        """Iterator over records with ts == t (same as point)."""
        return self._query(TL_QUERY_POINT, t, _UNUSED)

    def point(self, t):
        """Iterator over records with ts == t."""
        return self._query(TL_QUERY_POINT, t, _UNUSED)

    def page_spans(self, t1, t2, *, kind="segment"):
        """Iterator of zero-copy PageSpan views of [t1, t2)."""
        cdef int64_t a, b
        cdef int32_t k = TL_SPANS_SEGMENT
        cdef const char *text
        cdef size_t n
        cdef PageSpanIter sp
        self._drain()
        self._check_open()
        tlpy_ts(t1, &a)
        tlpy_ts(t2, &b)
        tlpy_str_option("kind", kind, &text, &n)
        st = tl_parse_span_kind(text, n, &k)
        if st != TL_OK:
            tlpy_status_error(st)
        sp = PageSpanIter.__new__(PageSpanIter, b"timelog: made by its log")
        st = tl_snapshot_acquire(self._log, &sp._snap)
        if st != TL_OK:
            tlpy_status_error(st)
        sp._owner = self
        sp._open = True
        sp._t1 = a
        sp._t2 = b
        sp._kind = k
        st = tl_spans_open(sp._snap, a, b, k, &sp._spans)
        if st != TL_OK:
            tlpy_status_error(st)
        return sp

    # -- columnar reads: the bounds given select all / since / until / range
    @cython.final
    cdef int32_t _bounds(self, object t1, object t2, int64_t *a, int64_t *b) except -1:
        a[0] = b[0] = 0
        if t1 is not None:
            tlpy_ts(t1, a)
        if t2 is not None:
            tlpy_ts(t2, b)
        self._drain()
        self._check_open()
        if t1 is None:
            return TL_QUERY_ALL if t2 is None else TL_QUERY_UNTIL
        return TL_QUERY_SINCE if t2 is None else TL_QUERY_RANGE

    def count(self, t1=None, t2=None):
        """Number of records the query would yield (all / since / until /
        range), counted without making them."""
        cdef int64_t a, b
        cdef uint64_t n
        query = self._bounds(t1, t2, &a, &b)
        st = tl_log_count(self._log, query, a, b, &n)
        if st != TL_OK:
            tlpy_status_error(st)
        return n

    def arrays(self, t1=None, t2=None):
        """(int64 timestamps array, list of objects) of the query's records."""
        cdef int64_t a, b
        cdef TimelogIter it
        query = self._bounds(t1, t2, &a, &b)
        it = self._iter(query, a, b)
        try:
            return it._columns(INT64_MAX)
        finally:
            it._cleanup()

    # -- introspection: properties never raise, also after close -----------
    def stats(self):
        """Engine counters as a dict."""
        cdef tl_stats s
        self._drain()
        self._check_open()
        st = tl_log_stats(self._log, &s)
        if st != TL_OK:
            tlpy_status_error(st)
        return {
            "memtable_records": s.memtable_records, "memrun_records": s.memrun_records,
            "l0_records": s.l0_records, "l1_records": s.l1_records,
            "memruns": s.memruns, "l0_segments": s.l0_segments,
            "l1_segments": s.l1_segments, "pages": s.pages, "tombstones": s.tombstones,
            "retired_len": s.retired_len, "live_snapshots": s.live_snapshots,
            "bytes_used": s.bytes_used, "alloc_failures": s.alloc_failures,
            "flushes": s.flushes, "compactions": s.compactions,
        }

    @cython.final
    cdef object _option(self, const char *name):
        cdef const char *v = tl_log_option_str(self._log, name) if self._log != NULL else NULL
        return None if v == NULL else tlpy_text(v)

    @property
    def closed(self):
        """True once close() succeeded."""
        return self._closed

    @property
    def time_unit(self):
        """Timestamp unit."""
        return self._option("time_unit")

    @property
    def maintenance_mode(self):
        """'disabled' or 'background'."""
        return self._option("maintenance")

    @property
    def busy_policy(self):
        """'raise', 'silent' or 'flush'."""
        return self._option("busy_policy")

    @property
    def retired_queue_len(self):
        """Payloads waiting to be released."""
        cdef tl_stats s
        return s.retired_len if self._log != NULL and tl_log_stats(self._log, &s) == TL_OK else 0

    @property
    def alloc_failures(self):
        """Allocations that failed and were survived."""
        cdef tl_stats s
        return s.alloc_failures if self._log != NULL and tl_log_stats(self._log, &s) == TL_OK else 0

    def __repr__(self):
        cdef char buf[REPR_CAP]
        cdef uint64_t n = 0
        cdef bint closed = self._closed
        cdef const char *unit = "?"
        if self._log != NULL and tl_log_option_str(self._log, "time_unit") != NULL:
            unit = tl_log_option_str(self._log, "time_unit")
        if not closed and tl_log_count(self._log, TL_QUERY_ALL, 0, 0, &n) != TL_OK:
            closed = True
        tlb_repr_log(buf, REPR_CAP, "cython", unit, n, closed)
        return tlpy_text(buf)


# ---------------------------------------------------------------------------
# TimelogIter
# ---------------------------------------------------------------------------
@cython.auto_pickle(False)
@cython.no_gc_clear     # its cleanup, not a field clear, lets go of the log
cdef class TimelogIter(_Reader):
    """Snapshot iterator over (ts, obj) records of a Timelog.

    __next__ serves records from a small read-ahead buffer filled by
    tl_iter_next_batch; buffered handles stay valid because the pin is kept
    until the buffer is consumed.  The GIL serializes everything except large
    fills, which run without it under `_lock` with `_in_use` set; every other
    entry point that would touch the core iterator waits for them."""

    cdef list _objs            # the owner's object table
    cdef tl_snapshot *_snap    # the pin
    cdef tl_iter *_it
    cdef bint _eof             # engine exhausted; the buffer may hold records
    cdef bint _in_use          # an engine fill runs without the GIL
    cdef PyThread_type_lock _lock
    cdef int32_t _query        # query and bounds (repr, counting)
    cdef int64_t _t1, _t2
    cdef uint64_t _taken       # records handed out so far
    cdef Py_ssize_t _pos, _len # read-ahead window
    cdef int64_t _ts_buf[ITER_BUF]
    cdef tl_handle _h_buf[ITER_BUF]

    def __dealloc__(self):
        if self._owner is not None:     # else exhaustion or close cleaned up
            self._cleanup()
        if self._lock != NULL:
            PyThread_free_lock(self._lock)

    @cython.final
    cdef void _wait_idle(self) noexcept:
        cdef PyThread_type_lock lock
        while self._in_use:
            lock = self._lock
            with nogil:
                PyThread_acquire_lock(lock, WAIT_LOCK)
                PyThread_release_lock(lock)

    cdef void _cleanup(self) noexcept:
        """The one cleanup (close, exhaustion, error, dealloc): mark closed,
        clear fields, destroy the core iterator, release the snapshot, then
        the payloads that made releasable (which may run Python code)."""
        cdef tl_iter *it
        cdef tl_snapshot *snap
        cdef Timelog owner
        self._wait_idle()
        it = self._it
        snap = self._snap
        owner = self._owner
        self._open = False
        self._eof = True
        self._pos = self._len = 0
        self._it = NULL
        self._snap = NULL
        self._owner = None
        tl_iter_destroy(it)
        tl_snapshot_release(snap)
        if owner is not None:
            owner._drain()

    @cython.final
    cdef int _fail(self, tl_status st) except -1:
        try:
            tlpy_status_error(st)
        finally:
            self._cleanup()

    @cython.final
    cdef int _fill(self) except -1:
        """One engine batch into the (empty) read-ahead buffer; the payloads'
        headers are asked for, to arrive by the time they are returned."""
        cdef size_t n = 0
        cdef Py_ssize_t i
        cdef list objs = self._objs
        st = tl_iter_next_batch(self._it, self._ts_buf, self._h_buf, ITER_BUF, &n)
        if st != TL_OK and st != TL_EOF:
            self._fail(st)
        self._eof = st == TL_EOF
        self._pos = 0
        self._len = <Py_ssize_t>n
        for i in range(<Py_ssize_t>n):
            TLPY_PREFETCH_ITEM(objs, self._h_buf[i])
        return 0

    @cython.final
    cdef int _refill(self) except -1:
        """Refill the read-ahead buffer: 1 with records, 0 at the end (the
        iterator is then cleaned up)."""
        self._wait_idle()
        if self._pos < self._len:
            return 1
        if not self._open:
            return 0
        if not self._eof:
            self._fill()
        if self._pos >= self._len:
            self._cleanup()
            return 0
        return 1

    def __iter__(self):
        return self

    def __next__(self):
        cdef Py_ssize_t i
        if self._pos >= self._len and not self._refill():
            raise StopIteration
        i = self._pos
        self._pos = i + 1
        self._taken += 1
        return (self._ts_buf[i], self._objs[self._h_buf[i]])

    @cython.final
    cdef Py_ssize_t _take(self, int64_t *ts, tl_handle *h, list out, Py_ssize_t off,
                          Py_ssize_t cap) except -1:
        """Move up to cap records: timestamps into ts[0:k], payloads into
        out[off:off + k] (out already has the room, holding NULL or None);
        returns k (< cap only at the end).  Nothing allocates between the
        engine call and the table read, so no finalizer can free a slot in
        between."""
        cdef Py_ssize_t k = 0
        cdef Py_ssize_t i
        cdef tl_handle j
        cdef size_t n = 0
        cdef size_t want
        cdef tl_iter *core
        cdef PyThread_type_lock lock
        cdef tl_status st
        cdef list objs = self._objs
        self._wait_idle()
        while k < cap and self._pos < self._len:
            ts[k] = self._ts_buf[self._pos]
            h[k] = self._h_buf[self._pos]
            self._pos += 1
            k += 1
        if k < cap and not self._eof and self._open:
            want = <size_t>(cap - k)
            core = self._it
            if want >= NOGIL_MIN and self._lock == NULL:
                self._lock = PyThread_allocate_lock()
            if want >= NOGIL_MIN and self._lock != NULL:
                lock = self._lock
                self._in_use = True
                with nogil:
                    PyThread_acquire_lock(lock, WAIT_LOCK)
                    st = tl_iter_next_batch(core, ts + k, h + k, want, &n)
                    PyThread_release_lock(lock)
                self._in_use = False
            else:
                st = tl_iter_next_batch(core, ts + k, h + k, want, &n)
            if st != TL_OK and st != TL_EOF:
                self._fail(st)
            self._eof = st == TL_EOF
            k += <Py_ssize_t>n
        for i in range(k):
            if i + PREFETCH_AHEAD < k:
                TLPY_PREFETCH_ITEM(objs, h[i + PREFETCH_AHEAD])
            j = h[i]
            if j >= <tl_handle>PyList_GET_SIZE(objs):
                raise IndexError(j)     # only a table the GC cleared is shorter
            _put(out, off + i, <object>PyList_GET_ITEM(objs, <Py_ssize_t>j))
        self._taken += <uint64_t>k
        return k

    def next_batch(self, n):
        """Up to n records as a list of (ts, obj); [] once exhausted or closed.
        A short batch means the end was reached (the iterator is closed)."""
        cdef int64_t want, left
        cdef Py_ssize_t cap, part, k, i
        cdef list result = None
        cdef list chunk
        cdef object obj
        cdef tuple rec
        cdef int64_t *ts
        tlpy_size("next_batch", n, &want)
        self._wait_idle()
        if want == 0 or not self._open:
            return []
        # small batches go through the read-ahead buffer
        if want < ITER_BUF and self._pos >= self._len and not self._eof:
            self._refill()
        cap = <Py_ssize_t>want if want < CHUNK else CHUNK
        ts = <int64_t *>PyMem_Malloc(cap * (sizeof(int64_t) + sizeof(tl_handle)))
        if ts == NULL:
            raise MemoryError()
        try:
            left = want
            while left > 0:
                part = <Py_ssize_t>left if left < cap else cap
                # out of the GC while it fills: its items are NULL until set
                # (gc.get_objects() in a finalizer must not see it), and the
                # collections its tuples trigger would walk it again and again
                chunk = PyList_New(part)
                PyObject_GC_UnTrack(chunk)
                k = self._take(ts, <tl_handle *>(ts + cap), chunk, 0, part)
                if k < part:
                    del chunk[k:]
                for i in range(k):
                    obj = <object>PyList_GET_ITEM(chunk, i)
                    rec = (ts[i], obj)
                    tlpy_settle_record(rec, obj)
                    _put(chunk, i, rec)     # rec holds obj: its release runs no code
                PyObject_GC_Track(chunk)
                if result is None:
                    result = chunk
                else:
                    result += chunk
                left -= k
                if k < part:
                    self._cleanup()     # the end: the pin goes at once
                    break
        finally:
            PyMem_Free(ts)
        return result

    @cython.final
    cdef tuple _columns(self, int64_t n):
        """(timestamps, objects) of up to n more records.  The exact size is
        known in advance (what the snapshot holds for the query, less what
        this iterator handed out), so both are allocated once."""
        cdef uint64_t total = 0
        cdef uint64_t left
        cdef Py_buffer view
        cdef Py_ssize_t want, got = 0, part, k
        cdef tl_handle *h = NULL
        cdef list objs
        self._wait_idle()
        if self._open and n > 0:
            st = tl_count(self._snap, self._query, self._t1, self._t2, &total)
            if st != TL_OK:
                tlpy_status_error(st)
        left = total - self._taken if total > self._taken else 0
        want = <Py_ssize_t>n if <uint64_t>n < left else <Py_ssize_t>left
        arr = _new_ts_array(want)
        PyObject_GetBuffer(arr, &view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS)
        try:
            # NULL items until filled: out of the GC (so out of reach of
            # gc.get_objects() in a finalizer) until then
            objs = PyList_New(want)
            PyObject_GC_UnTrack(objs)
            if want > 0:
                h = <tl_handle *>PyMem_Malloc(min(want, CHUNK) * sizeof(tl_handle))
                if h == NULL:
                    raise MemoryError()
            while got < want:
                part = min(want - got, CHUNK)
                k = self._take(<int64_t *>view.buf + got, h, objs, got, part)
                got += k
                if k < part:
                    break
        finally:
            PyMem_Free(h)
            PyBuffer_Release(&view)
        if got < want:
            # the snapshot held fewer records than it counted: an engine bug
            raise SystemError("timelog: tl_count disagrees with the iterator")
        PyObject_GC_Track(objs)
        # a short result means the end, as with next_batch: release the pin
        if want < n and self._open:
            self._cleanup()
        return (arr, objs)

    def next_arrays(self, n):
        """Up to n records as (int64 timestamps array, list of objects).
        A short result means the end was reached (the iterator is closed)."""
        cdef int64_t want
        tlpy_size("next_arrays", n, &want)
        return self._columns(want)

    def __repr__(self):
        cdef char buf[REPR_CAP]
        tlb_repr_iter(buf, REPR_CAP, self._query, self._t1, self._t2, not self._open)
        return tlpy_text(buf)


# ---------------------------------------------------------------------------
# Page spans.  No engine call here drops the GIL, so the GIL alone keeps two
# threads from running one tl_spans at once.
# ---------------------------------------------------------------------------
@cython.auto_pickle(False)
@cython.no_gc_clear
cdef class PageSpanIter(_Reader):
    """Iterator of the PageSpan views of a snapshot and a time range."""

    cdef tl_snapshot *_snap
    cdef tl_spans *_spans
    cdef int64_t _t1, _t2      # for repr
    cdef int32_t _kind

    def __dealloc__(self):
        self._cleanup()

    cdef void _cleanup(self) noexcept:
        cdef tl_spans *spans = self._spans
        cdef tl_snapshot *snap = self._snap
        cdef Timelog owner = self._owner
        self._open = False
        self._spans = NULL
        self._snap = NULL
        self._owner = None
        tl_spans_destroy(spans)
        tl_snapshot_release(snap)
        if owner is not None:
            owner._drain()

    def __iter__(self):
        return self

    def __next__(self):
        cdef PageSpan span
        if not self._open:
            raise StopIteration
        # allocate before the engine call: the allocation may run the GC (and
        # finalizers that close this iterator); after it no Python code runs
        # until the new object owns the span
        span = PageSpan.__new__(PageSpan, b"timelog: made by its log")
        if not self._open:
            raise StopIteration
        st = tl_spans_next(self._spans, &span._span)
        if st == TL_EOF:
            self._cleanup()
            raise StopIteration
        if st != TL_OK:
            try:
                tlpy_status_error(st)
            finally:
                self._cleanup()
        span._owner = self._owner
        span._objs = self._owner._objs
        span._shape[0] = <Py_ssize_t>span._span.len
        span._strides[0] = sizeof(int64_t)
        span._open = True
        return span

    def __repr__(self):
        cdef char buf[REPR_CAP]
        tlb_repr_span_iter(buf, REPR_CAP, self._t1, self._t2, self._kind, not self._open)
        return tlpy_text(buf)


@cython.auto_pickle(False)
@cython.no_gc_clear     # an exported buffer must keep pointing at live memory
@cython.freelist(8)
cdef class PageSpan:
    """Zero-copy view of a run of page records: int64 timestamps (buffer
    protocol) and their objects.  Keeps its snapshot (the pin) until closed;
    closing is refused while a buffer of it is exported.  A reader like
    _Reader's subclasses, but a root type: one is made per span, and a root
    type deallocates in one step and can keep a freelist."""

    cdef object __weakref__
    cdef Timelog _owner
    cdef bint _open
    cdef list _objs
    cdef tl_span _span         # _span.owner is the pin
    cdef Py_ssize_t _shape[1]
    cdef Py_ssize_t _strides[1]
    cdef Py_ssize_t _exports   # live buffer exports

    def __dealloc__(self):
        # an exported buffer holds a reference to the span: no export is live
        self._cleanup()

    cdef void _cleanup(self) noexcept:
        cdef tl_span s = self._span
        cdef Timelog owner = self._owner
        self._open = False
        memset(&self._span, 0, sizeof(tl_span))
        self._shape[0] = 0
        self._owner = None
        tl_span_release(&s)
        if owner is not None:
            owner._drain()

    @cython.final
    cdef inline int _check(self) except -1:
        if not self._open:
            tlpy_message_error(ValueError, TLB_MSG_SPAN_CLOSED)
        return 0

    def __cinit__(self, *args):
        _check_token(self, args)

    def __reduce__(self):
        _no_pickle(self)

    def __reduce_ex__(self, protocol):
        _no_pickle(self)

    @property
    def closed(self):
        """True once closed."""
        return not self._open

    def __getbuffer__(self, Py_buffer *buffer, int flags):
        # a read-only, 1-D, C-contiguous int64 ('q') view of engine memory
        self._check()
        if flags & PyBUF_WRITABLE:
            raise BufferError("Object is not writable.")
        buffer.buf = <void *>self._span.ts
        buffer.obj = self
        buffer.len = self._shape[0] * <Py_ssize_t>sizeof(int64_t)
        buffer.readonly = 1
        buffer.ndim = 1
        buffer.shape = NULL
        buffer.strides = NULL
        if flags & PyBUF_FORMAT:
            buffer.itemsize = sizeof(int64_t)
            buffer.format = "q"
            if flags & PyBUF_ND:
                buffer.shape = self._shape
            if (flags & PyBUF_STRIDES) == PyBUF_STRIDES:
                buffer.strides = self._strides
        else:
            # without PyBUF_FORMAT a consumer reads unsigned bytes
            buffer.itemsize = 1
            buffer.format = NULL
            if flags & PyBUF_ND:
                buffer.shape = &buffer.len
            if (flags & PyBUF_STRIDES) == PyBUF_STRIDES:
                buffer.strides = &buffer.itemsize
        buffer.suboffsets = NULL
        buffer.internal = NULL
        self._exports += 1

    def __releasebuffer__(self, Py_buffer *buffer):
        self._exports -= 1

    @property
    def timestamps(self):
        """Read-only int64 memoryview of the timestamps (zero copy)."""
        self._check()
        return memoryview(self)

    @property
    def start_ts(self):
        """First timestamp."""
        self._check()
        return self._span.ts[0]

    @property
    def end_ts(self):
        """Last timestamp."""
        self._check()
        return self._span.ts[self._shape[0] - 1]

    def __len__(self):
        self._check()
        return self._shape[0]

    def objects(self):
        """Lazy sequence of the span's payload objects."""
        cdef PageSpanObjectsView view
        self._check()
        view = PageSpanObjectsView.__new__(PageSpanObjectsView, b"timelog: made by its log")
        view._span = self
        return view

    def copy_timestamps(self):
        """The timestamps as a new list of int."""
        cdef Py_ssize_t i
        out = []
        self._check()       # the allocation may have run a finalizer that closed it
        for i in range(self._shape[0]):
            out.append(self._span.ts[i])
        return out

    def copy(self):
        """Same as copy_timestamps()."""
        return self.copy_timestamps()

    def close(self):
        """Release the snapshot; BufferError while a buffer is exported."""
        self._collect_exports()
        if not self._open:
            return
        if self._exports > 0:
            tlpy_message_error(BufferError, TLB_MSG_SPAN_EXPORTED)
        self._cleanup()

    @cython.final
    cdef int _collect_exports(self) except -1:
        # exports held only by unreachable, not yet collected objects (a
        # numpy array in a reference cycle) count until a collection: collect
        # once before refusing, as Timelog.close() does
        if self._open and self._exports > 0:
            gc.collect()
        return 0

    def __enter__(self):
        self._check()
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        # never raises for a live export: the span just stays open
        self._collect_exports()
        if self._open and self._exports == 0:
            self._cleanup()
        return False

    def __repr__(self):
        cdef char buf[REPR_CAP]
        if not self._open:
            tlb_repr_span(buf, REPR_CAP, 0, 0, 0, 1)
        else:
            tlb_repr_span(buf, REPR_CAP, <uint64_t>self._shape[0], self._span.ts[0],
                          self._span.ts[self._shape[0] - 1], 0)
        return tlpy_text(buf)


@cython.auto_pickle(False)
@cython.no_gc_clear
cdef class PageSpanObjectsView(_Public):
    """Lazy sequence of the payload objects of a PageSpan."""

    cdef PageSpan _span        # strong

    def __cinit__(self, *args):
        _check_token(self, args)

    @cython.final
    cdef PageSpan _open_span(self):
        if self._span is None or not self._span._open:
            tlpy_message_error(ValueError, TLB_MSG_SPAN_CLOSED)
        return self._span

    def __len__(self):
        return self._open_span()._shape[0]

    def __getitem__(self, key):
        cdef Py_ssize_t i
        cdef PageSpan span
        self._open_span()
        if not PyIndex_Check(key):
            tlpy_type_error(TypeError, TLB_MSG_INDEX_TYPE, key)
        # out-of-range huge values clamp, then fail the range check
        i = PyNumber_AsSsize_t(key, NULL)
        span = self._open_span()      # __index__ may have run code that closed it
        if i < 0:
            i += span._shape[0]
        if i < 0 or i >= span._shape[0]:
            tlpy_message_error(IndexError, TLB_MSG_INDEX_RANGE)
        return span._objs[span._span.h[i]]

    def __iter__(self):
        self._open_span()
        return PySeqIter_New(self)

    def copy(self):
        """The objects as a new list."""
        cdef Py_ssize_t i
        cdef PageSpan span
        out = []
        span = self._open_span()    # the allocation may have run a finalizer
        for i in range(span._shape[0]):
            out.append(span._objs[span._span.h[i]])
        return out

    def __repr__(self):
        cdef char buf[REPR_CAP]
        closed = self._span is None or not self._span._open
        tlb_repr_objects(buf, REPR_CAP, 0 if closed else <uint64_t>self._span._shape[0], closed)
        return tlpy_text(buf)
