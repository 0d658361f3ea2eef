/*
 * columns.c - the int64 column of a columnar read: a numpy array when numpy
 * can be imported (tried once, at the first columnar read), otherwise an
 * array('q').  Either way the caller fills it through its buffer.
 */
#include "capi.h"

/* numpy.empty or, without numpy, NULL with no error; imported once. */
static PyObject *numpy_empty, *numpy_int64;
static int numpy_tried;

static int load_numpy(void)
{
    if (numpy_tried)
        return 0;
    numpy_tried = 1;
    PyObject *np = PyImport_ImportModule("numpy");
    if (np == NULL) {
        /* Any failure to import means "no numpy": columns come as array('q'). */
        PyErr_Clear();
        return 0;
    }
    numpy_empty = PyObject_GetAttrString(np, "empty");
    numpy_int64 = numpy_empty ? PyObject_GetAttrString(np, "int64") : NULL;
    Py_DECREF(np);
    if (numpy_int64 == NULL) {
        Py_CLEAR(numpy_empty);
        return -1;
    }
    return 0;
}

static PyObject *new_array_q(Py_ssize_t n)
{
    PyObject *array = PyImport_ImportModule("array");
    if (array == NULL)
        return NULL;
    PyObject *zero = PyBytes_FromStringAndSize(NULL, n * (Py_ssize_t)sizeof(int64_t));
    PyObject *arr = NULL;
    if (zero != NULL)
        arr = PyObject_CallMethod(array, "array", "sO", "q", zero);
    Py_XDECREF(zero);
    Py_DECREF(array);
    return arr;
}

PyObject *capi_ts_array_new(Py_ssize_t n, Py_buffer *view)
{
    if (load_numpy() < 0)
        return NULL;
    PyObject *arr;
    if (numpy_empty != NULL) {
        PyObject *size = PyLong_FromSsize_t(n);
        arr = size ? PyObject_CallFunctionObjArgs(numpy_empty, size, numpy_int64, NULL) : NULL;
        Py_XDECREF(size);
    } else {
        arr = new_array_q(n);
    }
    if (arr == NULL)
        return NULL;
    if (PyObject_GetBuffer(arr, view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS) < 0) {
        Py_DECREF(arr);
        return NULL;
    }
    return arr;
}
