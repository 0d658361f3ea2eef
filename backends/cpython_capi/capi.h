/*
 * capi.h - shared declarations of the hand-written CPython binding
 * (module timelog._backend_capi).
 *
 * One file per type (timelog_type.c, iter_type.c, span_types.c), plus the
 * helpers every type uses: errors.c (status -> exception), convert.c
 * (timestamp / option coercion, argument unpacking, the extend paths) and
 * payload.c (releasing retired payload references).
 *
 * Payload handles are the PyObject* itself: the binding INCREFs an object
 * when a record is inserted and DECREFs it when the engine hands the handle
 * back through tl_drain_retired().
 */
#ifndef TIMELOG_CAPI_H
#define TIMELOG_CAPI_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pythread.h>
#include <stdint.h>

#include "messages.h"
#include "timelog.h"

#define CAPI_MODULE_NAME "timelog._backend_capi"

/* Records moved per engine call on the bulk paths (extend, next_batch). */
#define CAPI_CHUNK 4096
/* Records a TimelogIter reads ahead per engine call for __next__: 24 keeps
 * the whole object (with its GC header) under pymalloc's 512-byte limit, so
 * short queries never reach malloc. */
#define CAPI_ITER_BUF 24
/* Tuples __next__ (and lists next_batch) keeps for reuse: two, so that
 * `for rec in it` (which still holds the previous record during the call)
 * reuses the one before. */
#define CAPI_ITER_RING 2
/* With every kept tuple shared, one new tuple in this many replaces one. */
#define CAPI_ITER_RING_RETRY 8
/* next_batch keeps (for reuse) only lists of at most this many records. */
#define CAPI_BATCH_KEEP_MAX CAPI_CHUNK
/* Handles released per tl_drain_retired() call. */
#define CAPI_DRAIN_CAP 512
/* Engine calls moving at least this many records run without the GIL. */
#define CAPI_NOGIL_MIN 2048

#define CAPI_H2O(h) ((PyObject *)(uintptr_t)(h))
#define CAPI_O2H(o) ((tl_handle)(uintptr_t)(o))

/* Ask for a payload's header before it is INCREFed.  Records come in time
 * order, payloads sit in insertion order: for late records the addresses
 * jump and the hardware prefetcher misses them. */
#if defined(__GNUC__) || defined(__clang__)
#define CAPI_PREFETCH_OBJ(h) __builtin_prefetch((const void *)(uintptr_t)(h), 1)
#else
#define CAPI_PREFETCH_OBJ(h) ((void)(h))
#endif
/* How many records ahead next_batch's INCREF loop prefetches. */
#define CAPI_PREFETCH_AHEAD 16

/* ------------------------------------------------------------------------
 * Objects.
 * ---------------------------------------------------------------------- */
typedef struct {
    PyObject_HEAD
    tl_log *log;               /* kept until dealloc, even after close() */
    int closed;                /* close() succeeded (or tp_clear closed it) */
    int64_t drain_limit;       /* drain_batch_limit of the open log */
    PyObject *weakreflist;
} TimelogObject;

/* First fields of every reader (TimelogIter, PageSpanIter, PageSpan), so
 * that reader.c can serve all three. */
#define CAPI_READER_FIELDS                                                    \
    PyObject_HEAD                                                             \
    TimelogObject *owner;      /* strong: the log outlives its readers */     \
    tl_snapshot *snap;         /* the pin (PageSpan: held by its tl_span) */  \
    int closed;

typedef struct {
    CAPI_READER_FIELDS
} ReaderObject;

typedef struct {
    CAPI_READER_FIELDS
    tl_iter *it;
    PyObject *ring[CAPI_ITER_RING]; /* recent (ts, obj) tuples, refilled once
                                       only the iterator holds them */
    PyObject *batches[CAPI_ITER_RING]; /* recent next_batch lists, the same */
    unsigned char ring_next;   /* ring slot a new tuple replaces */
    unsigned char ring_misses; /* new tuples since the last swap */
    unsigned char batch_next;  /* batches slot the next kept list replaces */
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
    PageSpanObject *span;      /* strong */
} ObjectsViewObject;

extern PyTypeObject Capi_TimelogType;
extern PyTypeObject Capi_IterType;
extern PyTypeObject Capi_SpanIterType;
extern PyTypeObject Capi_SpanType;
extern PyTypeObject Capi_ObjectsViewType;

/* timelog._errors.TimelogError / TimelogBusyError (set at module init). */
extern PyObject *Capi_TimelogError;
extern PyObject *Capi_TimelogBusyError;

/* ------------------------------------------------------------------------
 * Saving the in-flight exception around code that may run Python (payload
 * releases).  PyErr_Fetch is deprecated from 3.12 on.
 * ---------------------------------------------------------------------- */
typedef struct {
    PyObject *a, *b, *c;
} capi_exc_state;

static inline void capi_exc_save(capi_exc_state *s)
{
#if PY_VERSION_HEX >= 0x030C0000
    s->a = PyErr_GetRaisedException();
    s->b = s->c = NULL;
#else
    PyErr_Fetch(&s->a, &s->b, &s->c);
#endif
}

static inline void capi_exc_restore(capi_exc_state *s)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(s->a);
#else
    PyErr_Restore(s->a, s->b, s->c);
#endif
    s->a = s->b = s->c = NULL;
}

/* ------------------------------------------------------------------------
 * errors.c
 * ---------------------------------------------------------------------- */
/* Raise the exception of an engine status with tl_last_error() as text.
 * Call right after the failing engine call.  Returns -1. */
int capi_status_error(tl_status st);
/* Raise exc with a catalog message that has no placeholder.  Returns -1. */
int capi_message_error(PyObject *exc, int msg_id);
/* Raise exc with a catalog message whose one %s is type(obj).__name__. */
int capi_type_message_error(PyObject *exc, int msg_id, PyObject *obj);
/* TypeError(TLB_MSG_OPTION_TYPE): option `name` is not a str. Returns -1. */
int capi_option_type_error(const char *name, PyObject *obj);
/* TimelogError("timelog is closed"). Returns -1. */
int capi_closed_error(void);
/* tp_new of the internal types: TypeError(TLB_MSG_NO_CONSTRUCT). */
PyObject *capi_no_construct(PyTypeObject *type, PyObject *args, PyObject *kw);

/* ------------------------------------------------------------------------
 * convert.c
 * ---------------------------------------------------------------------- */
/* Timestamp: bool refused, operator.index semantics, int64 range. */
int capi_ts_converter(PyObject *o, int64_t *out);
/* Size / count: operator.index semantics, int64 range. */
int capi_int64_converter(PyObject *o, int64_t *out);
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
/* Release retired payloads of a log (GIL held, outside any engine call).
 * all=0: one safe point (drain_batch_limit respected); all=1: until the
 * engine has nothing left (close / dealloc). */
void capi_release_retired(TimelogObject *self, int all);
/* DECREF n payload handles, keeping any in-flight exception. */
void capi_release_handles(const tl_handle *h, size_t n);

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
/* The getset table of the two iterators: just `closed`. */
extern PyGetSetDef capi_reader_getset[];
/* Argument check of every __exit__(exc_type, exc_value, traceback). */
int capi_exit_args(Py_ssize_t nargs);

/* A TimelogIter over a new snapshot of self. */
PyObject *capi_iter_new(TimelogObject *self, int32_t query, int64_t t1,
                        int64_t t2);
/* A PageSpanIter over a new snapshot of self. */
PyObject *capi_span_iter_new(TimelogObject *self, int64_t t1, int64_t t2,
                             int32_t kind);

/* 0 when the log is usable, else -1 with TimelogError("timelog is closed"). */
static inline int capi_check_open(TimelogObject *self)
{
    if (self->closed || self->log == NULL) {
        capi_closed_error();
        return -1;
    }
    return 0;
}

#endif /* TIMELOG_CAPI_H */
