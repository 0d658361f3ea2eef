/*
 * capi.h - shared declarations of the hand-written CPython binding
 * (module timelog._backend_capi).
 *
 * One file per type (timelog_type.c, iter_type.c, span_types.c), plus the
 * helpers they use: reader.c (what the readers share), convert.c (argument
 * unpacking, the extend paths), columns.c (int64 arrays for columnar reads)
 * and payload.c (releasing retired payload references).  Conversions,
 * errors and texts shared with the Cython binding are in backends/shared.
 *
 * Payload handles are the PyObject* itself: the binding INCREFs an object
 * when a record is inserted and DECREFs it when the engine hands the handle
 * back through tl_drain_retired().
 */
#ifndef TIMELOG_CAPI_H
#define TIMELOG_CAPI_H

#include "pyshared.h"

#include <pythread.h>
#include <stdint.h>

#define CAPI_MODULE_NAME "timelog._backend_capi"
#define CAPI_BACKEND "capi"

/* Records moved per engine call on the bulk paths (extend, next_batch). */
#define CAPI_CHUNK 4096
/* Records a TimelogIter reads ahead per engine call for __next__: 24 keeps
 * the whole object (with its GC header) under pymalloc's 512-byte limit, so
 * short queries never reach malloc. */
#define CAPI_ITER_BUF 24
/* Handles released per tl_drain_retired() call. */
#define CAPI_DRAIN_CAP 512
/* Engine calls moving at least this many records run without the GIL. */
#define CAPI_NOGIL_MIN 2048

#define CAPI_H2O(h) TLPY_H2O(h)
#define CAPI_O2H(o) TLPY_O2H(o)

#define CAPI_PREFETCH_OBJ(h) TLPY_PREFETCH(CAPI_H2O(h))
/* How many records ahead the bulk INCREF loops prefetch. */
#define CAPI_PREFETCH_AHEAD 16

/* ------------------------------------------------------------------------
 * Objects.
 * ---------------------------------------------------------------------- */
typedef struct {
    PyObject_HEAD
    tl_log *log;               /* opened by __init__, kept until dealloc */
    int closed;                /* close() succeeded (or tp_clear closed it) */
    int initialized;           /* __init__ ran (it runs once) */
    PyObject *weakreflist;
} TimelogObject;

/* First fields of every reader (TimelogIter, PageSpanIter, PageSpan), so
 * that reader.c can serve all three. */
#define CAPI_READER_FIELDS                                                    \
    PyObject_HEAD                                                             \
    PyObject *weakreflist;                                                    \
    TimelogObject *owner;      /* strong: the log outlives its readers */     \
    tl_snapshot *snap;         /* the pin (PageSpan: held by its tl_span) */  \
    int closed;

typedef struct {
    CAPI_READER_FIELDS
} ReaderObject;

typedef struct {
    CAPI_READER_FIELDS
    tl_iter *it;
    int32_t query;             /* TL_QUERY_* and bounds (repr, counting) */
    int64_t t1, t2;
    uint64_t taken;            /* records handed out so far */
    unsigned char eof;         /* engine exhausted; buffer may still hold records */
    unsigned char in_use;      /* an engine fill runs without the GIL */
    PyThread_type_lock fill_lock; /* created on the first GIL-free fill */
    Py_ssize_t pos, len;       /* read-ahead buffer window */
    int64_t ts_buf[CAPI_ITER_BUF];
    tl_handle h_buf[CAPI_ITER_BUF];
} TimelogIterObject;

typedef struct {
    CAPI_READER_FIELDS
    tl_spans *spans;
    int64_t t1, t2;            /* for repr */
    int32_t kind;
} PageSpanIterObject;

typedef struct {
    CAPI_READER_FIELDS
    tl_span span;              /* span.owner is the pin */
    Py_ssize_t shape;          /* buffer shape[0] */
    Py_ssize_t stride;         /* buffer strides[0] */
    Py_ssize_t exports;        /* live buffer exports */
} PageSpanObject;

typedef struct {
    PyObject_HEAD
    PyObject *weakreflist;
    PageSpanObject *span;      /* strong */
} ObjectsViewObject;

extern PyTypeObject Capi_TimelogType;
extern PyTypeObject Capi_IterType;
extern PyTypeObject Capi_SpanIterType;
extern PyTypeObject Capi_SpanType;
extern PyTypeObject Capi_ObjectsViewType;

/* ------------------------------------------------------------------------
 * convert.c
 * ---------------------------------------------------------------------- */
/* Unpack METH_FASTCALL|METH_KEYWORDS arguments into out[0..len(names)):
 * at least min_pos positional, at most max_pos positional; names after
 * max_pos are keyword-only.  Missing optional slots are left NULL (borrowed
 * references otherwise).  Returns -1 with TypeError. */
int capi_unpack(const char *fname, PyObject *const *args, Py_ssize_t nargs,
                PyObject *kwnames, const char *const *names,
                Py_ssize_t min_pos, Py_ssize_t max_pos, PyObject **out);
/* Timelog.extend(items) / extend(timestamps, objects). */
PyObject *capi_extend(TimelogObject *self, PyObject *items, PyObject *objects);

/* ------------------------------------------------------------------------
 * payload.c
 * ---------------------------------------------------------------------- */
/* One safe point: release the payloads the engine has retired and lets go
 * of now (GIL held, outside any engine call; the engine paces
 * drain_batch_limit). */
void capi_release_retired(TimelogObject *self);

/* ------------------------------------------------------------------------
 * reader.c: what the three reader types share.
 * ---------------------------------------------------------------------- */
/* A new, untracked reader of `type` holding a new snapshot of owner (and a
 * reference to owner).  Bytes of the object up to init_size are zeroed
 * first, so that dealloc is safe whatever fails afterwards.  NULL with an
 * exception on failure. */
ReaderObject *capi_reader_new(PyTypeObject *type, size_t init_size,
                              TimelogObject *owner);
/* Last steps of every reader cleanup: release the snapshot, release retired
 * payloads, drop the owner (either may be NULL). */
void capi_reader_release(TimelogObject *owner, tl_snapshot *snap);
int capi_reader_traverse(ReaderObject *self, visitproc visit, void *arg);
PyObject *capi_reader_get_closed(ReaderObject *self, void *closure);
PyObject *capi_reader_enter(ReaderObject *self, PyObject *ignored);
/* The methods every public type has: __reduce__ / __reduce_ex__ refuse
 * copy and pickle (PyMethodDef entries, to splice into a method table). */
#define CAPI_NO_PICKLE_METHODS                                                \
    {"__reduce__", (PyCFunction)tlpy_no_pickle, METH_NOARGS, NULL},           \
    {"__reduce_ex__", (PyCFunction)tlpy_no_pickle, METH_O, NULL}
/* The getset table of the two iterators: just `closed`. */
extern PyGetSetDef capi_reader_getset[];
/* Argument check of every __exit__(exc_type, exc_value, traceback). */
int capi_exit_args(Py_ssize_t nargs);

/* A TimelogIter over a new snapshot of self. */
PyObject *capi_iter_new(TimelogObject *self, int32_t query, int64_t t1,
                        int64_t t2);
/* (timestamps, objects) of up to n more records of it (next_arrays). */
PyObject *capi_iter_columns(TimelogIterObject *it, int64_t n);
/* iter_type.c's cleanup routine (close). */
void capi_iter_close(TimelogIterObject *it);

/* ------------------------------------------------------------------------
 * columns.c
 * ---------------------------------------------------------------------- */
/* A new int64 array of n items - numpy's when numpy imports, else
 * array('q') - with its writable buffer in *view (PyBuffer_Release it). */
PyObject *capi_ts_array_new(Py_ssize_t n, Py_buffer *view);
/* A PageSpanIter over a new snapshot of self. */
PyObject *capi_span_iter_new(TimelogObject *self, int64_t t1, int64_t t2,
                             int32_t kind);

/* 0 when the log is usable, else -1 with TimelogError("timelog is closed"). */
static inline int capi_check_open(TimelogObject *self)
{
    if (self->closed || self->log == NULL)
        return tlpy_closed_error();
    return 0;
}

#endif /* TIMELOG_CAPI_H */
