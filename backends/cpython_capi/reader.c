/*
 * reader.c - what TimelogIter, PageSpanIter and PageSpan share: creation
 * with a pinned snapshot, the tail of the cleanup routine, GC traversal,
 * and the small protocol methods.
 */
#include "capi.h"

#include <string.h>

ReaderObject *capi_reader_new(PyTypeObject *type, size_t init_size,
                              TimelogObject *owner)
{
    /* Allocate first: it may run the GC; nothing to undo if it fails. */
    ReaderObject *self = PyObject_GC_New(ReaderObject, type);
    if (self == NULL)
        return NULL;
    memset((char *)self + sizeof(PyObject), 0, init_size - sizeof(PyObject));
    self->closed = 1;
    if (owner != NULL) {
        tl_status st = tl_snapshot_acquire(owner->log, &self->snap);
        if (st != TL_OK) {
            tlpy_status_error(st);
            Py_DECREF(self);
            return NULL;
        }
        Py_INCREF(owner);
        self->owner = owner;
        self->closed = 0;
    }
    return self;
}

void capi_reader_release(TimelogObject *owner, tl_snapshot *snap)
{
    tl_snapshot_release(snap);
    if (owner != NULL) {
        /* Releasing the pin may have made retired payloads releasable. */
        capi_release_retired(owner);
        Py_DECREF(owner);
    }
}

int capi_reader_traverse(ReaderObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->owner);
    return 0;
}

PyObject *capi_reader_get_closed(ReaderObject *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(self->closed);
}

PyObject *capi_reader_enter(ReaderObject *self, PyObject *Py_UNUSED(ignored))
{
    return Py_NewRef(self);
}

int capi_exit_args(Py_ssize_t nargs)
{
    if (nargs == 3)
        return 0;
    PyErr_Format(PyExc_TypeError,
                 "__exit__() takes exactly 3 arguments (%zd given)", nargs);
    return -1;
}

PyGetSetDef capi_reader_getset[] = {
    {"closed", (getter)capi_reader_get_closed, NULL, "True once exhausted or closed.", NULL},
    {NULL, NULL, NULL, NULL, NULL}
};
