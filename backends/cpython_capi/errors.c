/*
 * errors.c - engine status and catalog messages -> Python exceptions.
 *
 * Texts come only from the engine (tl_last_error) or from the shared catalog
 * (tl_message), so every backend raises the same message.
 */
#include "capi.h"

#include <string.h>

PyObject *Capi_TimelogError;
PyObject *Capi_TimelogBusyError;

static PyObject *status_exception(tl_status st)
{
    switch (st) {
    case TL_EINVAL:    return PyExc_ValueError;
    case TL_ESTATE:    return Capi_TimelogError;
    case TL_EBUSY:     return Capi_TimelogBusyError;
    case TL_ENOMEM:    return PyExc_MemoryError;
    case TL_EOVERFLOW: return PyExc_OverflowError;
    default:           return PyExc_SystemError;
    }
}

int capi_status_error(tl_status st)
{
    /* Called right after the failing engine call, before any other one. */
    PyErr_SetString(status_exception(st), tl_last_error());
    return -1;
}

int capi_message_error(PyObject *exc, int msg_id)
{
    PyErr_SetString(exc, tlb_message(msg_id));
    return -1;
}

/* type(obj).__name__, computed as type.__name__ does. */
static const char *type_name(PyTypeObject *tp)
{
    if (tp->tp_flags & Py_TPFLAGS_HEAPTYPE) {
        const char *s = PyUnicode_AsUTF8(((PyHeapTypeObject *)tp)->ht_name);
        if (s != NULL)
            return s;
        PyErr_Clear();
    }
    const char *dot = strrchr(tp->tp_name, '.');
    return dot != NULL ? dot + 1 : tp->tp_name;
}

int capi_type_message_error(PyObject *exc, int msg_id, PyObject *obj)
{
    PyErr_Format(exc, tlb_message(msg_id), type_name(Py_TYPE(obj)));
    return -1;
}

int capi_option_type_error(const char *name, PyObject *obj)
{
    PyErr_Format(PyExc_TypeError, tlb_message(TLB_MSG_OPTION_TYPE), name,
                 type_name(Py_TYPE(obj)));
    return -1;
}

int capi_closed_error(void)
{
    return capi_message_error(Capi_TimelogError, TLB_MSG_CLOSED);
}

PyObject *capi_no_construct(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    (void)args;
    (void)kw;
    PyErr_Format(PyExc_TypeError, tlb_message(TLB_MSG_NO_CONSTRUCT), type_name(type));
    return NULL;
}
