/*
 * pyshared.h - what the two bindings written against the CPython C-API (the
 * hand-written one and the Cython one) share: converting Python values to
 * engine values, raising the contract's exceptions, releasing payloads.
 *
 * One implementation, so both convert and fail alike; the cffi binding, which
 * is Python, mirrors it in its own module.  Every text comes from the engine
 * (tl_last_error) or from messages.h.  Only the stable C-API is used.
 *
 * Payload handles of these two bindings are the PyObject* itself: INCREFed
 * when a record is inserted, DECREFed when the engine hands the handle back.
 */
#ifndef TIMELOG_PYSHARED_H
#define TIMELOG_PYSHARED_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

/* Python 3.9 (PyPy's and Debian's oldest supported) lacks these 3.10 calls. */
#if PY_VERSION_HEX < 0x030A0000
static inline PyObject *Py_NewRef(PyObject *o)
{
    Py_INCREF(o);
    return o;
}
static inline PyObject *Py_XNewRef(PyObject *o)
{
    Py_XINCREF(o);
    return o;
}
#endif

#include "messages.h"
#include "timelog.h"

#define TLPY_H2O(h) ((PyObject *)(uintptr_t)(h))
#define TLPY_O2H(o) ((tl_handle)(uintptr_t)(o))

/* timelog._errors.TimelogError and TimelogBusyError, imported by tlpy_init()
 * (module init; idempotent, 0 or -1 with an exception). */
extern PyObject *tlpy_TimelogError;
extern PyObject *tlpy_TimelogBusyError;
int tlpy_init(void);

/* ------------------------------------------------------------------------
 * Errors.  Each returns -1 (or NULL) with the exception set.
 * ---------------------------------------------------------------------- */
/* The exception of a failed engine status, with tl_last_error() as text:
 * call right after the failing engine call. */
int tlpy_status_error(tl_status st);
/* exc(message id) for a message without placeholders. */
int tlpy_message_error(PyObject *exc, int32_t msg_id);
/* exc(message % type(obj).__name__). */
int tlpy_type_error(PyObject *exc, int32_t msg_id, PyObject *obj);
/* exc(message % name). */
int tlpy_name_error(PyObject *exc, int32_t msg_id, const char *name);
/* TimelogError("timelog is closed"). */
int tlpy_closed_error(void);
/* tp_new of the types Python code may not create. */
PyObject *tlpy_no_construct(PyTypeObject *type, PyObject *args, PyObject *kw);
/* __reduce_ex__ / __reduce__ of every public type: copy and pickle refused. */
PyObject *tlpy_no_pickle(PyObject *self, PyObject *ignored);

/* ------------------------------------------------------------------------
 * Conversions.  0 on success, -1 with the exception set.
 * ---------------------------------------------------------------------- */
int tlpy_ts_slow(PyObject *o, int64_t *out);

/* A timestamp: operator.index() semantics, bool refused, int64 range. */
static inline int tlpy_ts(PyObject *o, int64_t *out)
{
    if (PyLong_CheckExact(o)) {
        int overflow = 0;
        long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
        if (overflow)
            return tlpy_message_error(PyExc_OverflowError, TLB_MSG_TS_OVERFLOW);
        *out = (int64_t)v;
        return 0;
    }
    return tlpy_ts_slow(o, out);
}

/* An integer option `name`: as a timestamp, with its own messages. */
int tlpy_int_option(const char *name, PyObject *o, int64_t *out);
/* The size n of `method`(n): an integer option, and >= 0 (ValueError). */
int tlpy_size(const char *method, PyObject *o, int64_t *out);
/* A str option `name` as UTF-8 (borrowed from o, valid while o lives). */
int tlpy_str_option(const char *name, PyObject *o, const char **s, size_t *len);

/* ------------------------------------------------------------------------
 * Payloads.
 * ---------------------------------------------------------------------- */
/* Ask for a payload's header before it is INCREFed.  Records come in time
 * order, payloads sit in insertion order (or anywhere, for a point query):
 * the hardware prefetcher misses them.  Macros: GCC takes a function that
 * only prefetches for one without effect, and drops the calls to it. */
#if defined(__GNUC__) || defined(__clang__)
#define TLPY_PREFETCH(p) __builtin_prefetch((const void *)(p), 1)
#else
#define TLPY_PREFETCH(p) ((void)(p))
#endif

/* The same for item i of a list (the Cython binding's object table), when
 * i is in range. */
#define TLPY_PREFETCH_ITEM(list, i)                                           \
    do {                                                                      \
        if ((uint64_t)(i) < (uint64_t)PyList_GET_SIZE(list))                  \
            TLPY_PREFETCH(PyList_GET_ITEM((list), (Py_ssize_t)(i)));          \
    } while (0)

/* A record whose payload can never reference a container cannot be in a
 * cycle: it stays out of the GC (CPython's own rule for tuples), so large
 * batches do not trigger costly full collections. */
static inline int tlpy_payload_atomic(PyObject *obj)
{
    return !PyType_IS_GC(Py_TYPE(obj))
           || (PyTuple_CheckExact(obj) && !PyObject_GC_IsTracked(obj));
}

/* Take rec, a new (ts, obj) record tuple, out of the GC when obj is atomic. */
static inline void tlpy_settle_record(PyObject *rec, PyObject *obj)
{
    if (tlpy_payload_atomic(obj))
        PyObject_GC_UnTrack(rec);
}

/* DECREF n payload handles, keeping the exception in flight (if any). */
void tlpy_release_handles(const tl_handle *h, size_t n);

/* A str made from a repr buffer (see messages.h). */
PyObject *tlpy_text(const char *buf);

#endif /* TIMELOG_PYSHARED_H */
