/*
 * module.c - timelog._backend_capi: the hand-written CPython C-API binding
 * of the Timelog engine.
 *
 * Exports Timelog, TimelogIter, PageSpan, PageSpanIter, PageSpanObjectsView
 * and re-exports TimelogError / TimelogBusyError from timelog._errors, the
 * classes every backend shares.
 */
#include "capi.h"

PyDoc_STRVAR(module_doc,
"Timelog engine bound with the CPython C-API (payload handle = PyObject*).");

static struct PyModuleDef capi_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = CAPI_MODULE_NAME,
    .m_doc = module_doc,
    .m_size = -1,
};

static int add_type(PyObject *m, const char *name, PyTypeObject *type)
{
    if (PyType_Ready(type) < 0)
        return -1;
    Py_INCREF(type);
    if (PyModule_AddObject(m, name, (PyObject *)type) < 0) {
        Py_DECREF(type);
        return -1;
    }
    return 0;
}

/* The exception classes every backend shares (timelog._errors). */
static int add_errors(PyObject *m)
{
    if (tlpy_init() < 0)
        return -1;
    if (PyModule_AddObject(m, "TimelogError", Py_NewRef(tlpy_TimelogError)) < 0) {
        Py_DECREF(tlpy_TimelogError);
        return -1;
    }
    if (PyModule_AddObject(m, "TimelogBusyError", Py_NewRef(tlpy_TimelogBusyError)) < 0) {
        Py_DECREF(tlpy_TimelogBusyError);
        return -1;
    }
    return 0;
}

PyMODINIT_FUNC PyInit__backend_capi(void)
{
    PyObject *m = PyModule_Create(&capi_module);
    if (m == NULL)
        return NULL;
    if (add_errors(m) < 0
        || add_type(m, "Timelog", &Capi_TimelogType) < 0
        || add_type(m, "TimelogIter", &Capi_IterType) < 0
        || add_type(m, "PageSpan", &Capi_SpanType) < 0
        || add_type(m, "PageSpanIter", &Capi_SpanIterType) < 0
        || add_type(m, "PageSpanObjectsView", &Capi_ObjectsViewType) < 0
        || PyModule_AddStringConstant(m, "BACKEND", "capi") < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
