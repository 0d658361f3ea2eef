/* pyshared.c - see pyshared.h. */
#include "pyshared.h"

PyObject *tlpy_TimelogError;
PyObject *tlpy_TimelogBusyError;

int tlpy_init(void)
{
    if (tlpy_TimelogError != NULL)
        return 0;
    PyObject *mod = PyImport_ImportModule("timelog._errors");
    if (mod == NULL)
        return -1;
    /* References kept for the life of the process: the classes are shared
     * by every backend and never replaced. */
    PyObject *err = PyObject_GetAttrString(mod, "TimelogError");
    PyObject *busy = err ? PyObject_GetAttrString(mod, "TimelogBusyError") : NULL;
    Py_DECREF(mod);
    if (busy == NULL) {
        Py_XDECREF(err);
        return -1;
    }
    tlpy_TimelogError = err;
    tlpy_TimelogBusyError = busy;
    return 0;
}

/* ------------------------------------------------------------------------
 * Errors.
 * ---------------------------------------------------------------------- */
int tlpy_status_error(tl_status st)
{
    PyObject *exc;
    switch (st) {
    case TL_EINVAL:    exc = PyExc_ValueError; break;
    case TL_ESTATE:    exc = tlpy_TimelogError; break;
    case TL_EBUSY:     exc = tlpy_TimelogBusyError; break;
    case TL_ENOMEM:    exc = PyExc_MemoryError; break;
    case TL_EOVERFLOW: exc = PyExc_OverflowError; break;
    default:           exc = PyExc_SystemError; break;
    }
    PyErr_SetString(exc, tl_last_error());
    return -1;
}

int tlpy_message_error(PyObject *exc, int32_t msg_id)
{
    PyErr_SetString(exc, tlb_message(msg_id));
    return -1;
}

int tlpy_name_error(PyObject *exc, int32_t msg_id, const char *name)
{
    PyErr_Format(exc, tlb_message(msg_id), name);
    return -1;
}

/* type(obj).__name__ exactly as Python shows it (heap types may rename). */
int tlpy_type_error(PyObject *exc, int32_t msg_id, PyObject *obj)
{
    PyObject *name = PyObject_GetAttrString((PyObject *)Py_TYPE(obj), "__name__");
    const char *text = name != NULL ? PyUnicode_AsUTF8(name) : NULL;
    if (text != NULL)
        PyErr_Format(exc, tlb_message(msg_id), text);
    Py_XDECREF(name);
    return -1;
}

int tlpy_closed_error(void)
{
    return tlpy_message_error(tlpy_TimelogError, TLB_MSG_CLOSED);
}

PyObject *tlpy_no_construct(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    (void)args;
    (void)kw;
    PyObject *name = PyObject_GetAttrString((PyObject *)type, "__name__");
    const char *text = name != NULL ? PyUnicode_AsUTF8(name) : NULL;
    if (text != NULL)
        PyErr_Format(PyExc_TypeError, tlb_message(TLB_MSG_NO_CONSTRUCT), text);
    Py_XDECREF(name);
    return NULL;
}

PyObject *tlpy_no_pickle(PyObject *self, PyObject *ignored)
{
    (void)ignored;
    tlpy_type_error(PyExc_TypeError, TLB_MSG_NO_PICKLE, self);
    return NULL;
}

/* ------------------------------------------------------------------------
 * Conversions.
 * ---------------------------------------------------------------------- */
/* operator.index(o) as an int64: the exception of __index__ propagates
 * unchanged (even a BaseException); outside the range: overflow_msg. */
static int index_int64(PyObject *o, int32_t overflow_msg, int64_t *out, int *negative_overflow)
{
    PyObject *idx = PyNumber_Index(o);
    if (idx == NULL)
        return -1;
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(idx, &overflow);
    Py_DECREF(idx);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (overflow < 0 && negative_overflow != NULL) {
        *negative_overflow = 1;
        return 0;
    }
    if (overflow)
        return tlpy_message_error(PyExc_OverflowError, overflow_msg);
    *out = (int64_t)v;
    return 0;
}

int tlpy_ts_slow(PyObject *o, int64_t *out)
{
    if (PyBool_Check(o))
        return tlpy_message_error(PyExc_TypeError, TLB_MSG_TS_BOOL);
    return index_int64(o, TLB_MSG_TS_OVERFLOW, out, NULL);
}

int tlpy_int_option(const char *name, PyObject *o, int64_t *out)
{
    if (PyBool_Check(o))
        return tlpy_name_error(PyExc_TypeError, TLB_MSG_OPTION_BOOL, name);
    return index_int64(o, TLB_MSG_INT_OVERFLOW, out, NULL);
}

int tlpy_size(const char *method, PyObject *o, int64_t *out)
{
    int negative_overflow = 0;
    if (PyBool_Check(o))
        return tlpy_name_error(PyExc_TypeError, TLB_MSG_OPTION_BOOL, "n");
    if (index_int64(o, TLB_MSG_INT_OVERFLOW, out, &negative_overflow) < 0)
        return -1;
    if (negative_overflow || *out < 0)
        return tlpy_name_error(PyExc_ValueError, TLB_MSG_SIZE_NEGATIVE, method);
    return 0;
}

int tlpy_str_option(const char *name, PyObject *o, const char **s, size_t *len)
{
    if (!PyUnicode_Check(o)) {
        PyObject *tname = PyObject_GetAttrString((PyObject *)Py_TYPE(o), "__name__");
        const char *text = tname != NULL ? PyUnicode_AsUTF8(tname) : NULL;
        if (text != NULL)
            PyErr_Format(PyExc_TypeError, tlb_message(TLB_MSG_OPTION_TYPE), name, text);
        Py_XDECREF(tname);
        return -1;
    }
    Py_ssize_t n;
    const char *text = PyUnicode_AsUTF8AndSize(o, &n);
    if (text == NULL)
        return -1;
    *s = text;
    *len = (size_t)n;
    return 0;
}

/* ------------------------------------------------------------------------
 * Payloads.
 * ---------------------------------------------------------------------- */
void tlpy_release_handles(const tl_handle *h, size_t n)
{
    if (n == 0)
        return;
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *exc = PyErr_GetRaisedException();
#else
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
#endif
    for (size_t i = 0; i < n; i++)
        Py_DECREF(TLPY_H2O(h[i]));
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(exc);
#else
    PyErr_Restore(et, ev, tb);
#endif
}

PyObject *tlpy_text(const char *buf)
{
    return PyUnicode_FromString(buf);
}
