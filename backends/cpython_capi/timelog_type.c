/*
 * timelog_type.c - the Timelog type: configuration, writes, maintenance,
 * reader factories, properties, context manager, GC support.
 *
 * Every method is a safe point: it first releases the payloads the engine
 * has retired (payload.c).  The tl_log* stays allocated until dealloc, so a
 * closed log answers TL_ESTATE / TimelogError instead of dangling.
 */
#include "capi.h"

#include <stddef.h>
#include <string.h>

#if defined(__unix__) || defined(__APPLE__)
#include <sys/mman.h>
#define CAPI_HAVE_MMAP 1
#endif

/* ------------------------------------------------------------------------
 * Construction: __new__ makes an unopened (closed) log, __init__ parses
 * the options and opens it, once.
 * ---------------------------------------------------------------------- */
static int set_str_option(tl_config *cfg, const char *name, PyObject *value)
{
    const char *text;
    size_t len;
    if (value == NULL || value == Py_None)
        return 0;
    if (tlpy_str_option(name, value, &text, &len) < 0)
        return -1;
    tl_status st = tl_config_set_str(cfg, name, text, len);
    return st == TL_OK ? 0 : tlpy_status_error(st);
}

static int set_int_option(tl_config *cfg, const char *name, PyObject *value)
{
    int64_t v;
    if (value == NULL || value == Py_None)
        return 0;
    if (tlpy_int_option(name, value, &v) < 0)
        return -1;
    tl_status st = tl_config_set_int(cfg, name, v);
    return st == TL_OK ? 0 : tlpy_status_error(st);
}

static PyObject *timelog_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    (void)args;
    (void)kwds;
    TimelogObject *self = (TimelogObject *)type->tp_alloc(type, 0);
    if (self != NULL)
        self->closed = 1;  /* until __init__ opens it */
    return (PyObject *)self;
}

static int timelog_init(TimelogObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"time_unit", "maintenance", "memtable_max_bytes",
                             "target_page_bytes", "sealed_max_runs",
                             "drain_batch_limit", "busy_policy", NULL};
    PyObject *time_unit = NULL, *maintenance = NULL, *memtable = NULL;
    PyObject *page = NULL, *sealed = NULL, *drain = NULL, *busy = NULL;
    tl_config cfg;

    if (self->initialized)
        return tlpy_message_error(PyExc_TypeError, TLB_MSG_REINIT);
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|OOOOOOO:Timelog", kwlist,
                                     &time_unit, &maintenance, &memtable,
                                     &page, &sealed, &drain, &busy))
        return -1;
    tl_config_init(&cfg);
    if (set_str_option(&cfg, "time_unit", time_unit) < 0
        || set_str_option(&cfg, "maintenance", maintenance) < 0
        || set_int_option(&cfg, "memtable_max_bytes", memtable) < 0
        || set_int_option(&cfg, "target_page_bytes", page) < 0
        || set_int_option(&cfg, "sealed_max_runs", sealed) < 0
        || set_int_option(&cfg, "drain_batch_limit", drain) < 0
        || set_str_option(&cfg, "busy_policy", busy) < 0)
        return -1;
    /* A failed __init__ may be retried; one that opened the log may not. */
    tl_log *log = NULL;
    tl_status st = tl_log_open(&cfg, &log);
    if (st != TL_OK)
        return tlpy_status_error(st);
    self->log = log;
    self->closed = 0;
    self->initialized = 1;
    return 0;
}

/* ------------------------------------------------------------------------
 * Teardown and GC.
 * ---------------------------------------------------------------------- */
/* Close (if no reader pins the log) and release every payload it held. */
static void timelog_release_all(TimelogObject *self)
{
    if (self->log == NULL)
        return;
    if (!self->closed && tl_log_close(self->log) == TL_OK)
        self->closed = 1;
    if (self->closed)
        capi_release_retired(self);
}

static void timelog_dealloc(TimelogObject *self)
{
    PyObject_GC_UnTrack(self);
    if (self->weakreflist != NULL)
        PyObject_ClearWeakRefs((PyObject *)self);
    timelog_release_all(self);
    /* Readers hold strong references, so nothing pins the log here; if a
     * snapshot did survive, destroy refuses and the memory is left rather
     * than freed under it. */
    if (self->log != NULL && tl_log_destroy(self->log) == TL_OK)
        self->log = NULL;
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The traverse buffer holds one handle per record (8 MB per million).  Large
 * ones are mapped and unmapped directly: a heap block that size would stay
 * in the process after every full collection. */
#ifdef CAPI_HAVE_MMAP
#define CAPI_MMAP_MIN ((size_t)1 << 20)
#endif

static tl_handle *handles_alloc(size_t n)
{
#ifdef CAPI_HAVE_MMAP
    if (n * sizeof(tl_handle) >= CAPI_MMAP_MIN) {
        void *p = mmap(NULL, n * sizeof(tl_handle), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? NULL : (tl_handle *)p;
    }
#endif
    return PyMem_RawMalloc(n * sizeof(tl_handle));
}

static void handles_free(tl_handle *buf, size_t n)
{
#ifdef CAPI_HAVE_MMAP
    if (n * sizeof(tl_handle) >= CAPI_MMAP_MIN) {
        munmap(buf, n * sizeof(tl_handle));
        return;
    }
#endif
    PyMem_RawFree(buf);
}

/* The log owns one reference per stored or retired record: report them all
 * so that a cycle through a payload (payload -> iterator -> log) is found. */
static int timelog_traverse(TimelogObject *self, visitproc visit, void *arg)
{
    size_t total = 0, n = 0;
    if (self->log == NULL
        || tl_log_handles(self->log, NULL, 0, &total) != TL_OK || total == 0
        || total > PY_SSIZE_T_MAX / sizeof(tl_handle))
        return 0;
    tl_handle *buf = handles_alloc(total);
    if (buf == NULL)
        return 0;
    int r = 0;
    if (tl_log_handles(self->log, buf, total, &n) == TL_OK) {
        if (n > total)
            n = total;
        for (size_t i = 0; i < n && r == 0; i++)
            r = visit(CAPI_H2O(buf[i]), arg);
    }
    handles_free(buf, total);
    return r;
}

/* Break a cycle: only when no reader pins the log (tl_log_close refuses
 * and changes nothing otherwise; the readers' own clear breaks it then). */
static int timelog_clear(TimelogObject *self)
{
    timelog_release_all(self);
    return 0;
}

/* ------------------------------------------------------------------------
 * Writes.
 * ---------------------------------------------------------------------- */
static PyObject *timelog_append(TimelogObject *self, PyObject *const *args,
                                Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"ts", "obj", NULL};
    PyObject *a[2];
    int64_t ts;

    if (kwnames == NULL && nargs == 2) {
        a[0] = args[0];
        a[1] = args[1];
    } else if (capi_unpack("append", args, nargs, kwnames, names, 2, 2, a) < 0) {
        return NULL;
    }
    capi_release_retired(self);
    if (capi_check_open(self) < 0 || tlpy_ts(a[0], &ts) < 0)
        return NULL;
    Py_INCREF(a[1]);
    tl_status st = tl_append(self->log, ts, CAPI_O2H(a[1]));
    if (st == TL_OK)
        Py_RETURN_NONE;
    tlpy_status_error(st);
    if (st != TL_EBUSY)          /* not accepted: drop the log's reference */
        Py_DECREF(a[1]);
    return NULL;
}

static PyObject *timelog_extend(TimelogObject *self, PyObject *const *args,
                                Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"items", "objects", NULL};
    PyObject *a[2];

    if (capi_unpack("extend", args, nargs, kwnames, names, 1, 2, a) < 0)
        return NULL;
    capi_release_retired(self);
    if (capi_check_open(self) < 0)
        return NULL;
    PyObject *r = capi_extend(self, a[0], a[1] == Py_None ? NULL : a[1]);
    capi_release_retired(self);
    return r;
}

static PyObject *timelog_delete_range(TimelogObject *self, PyObject *const *args,
                                      Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"t1", "t2", NULL};
    PyObject *a[2];
    int64_t t1, t2;

    if (capi_unpack("delete_range", args, nargs, kwnames, names, 2, 2, a) < 0)
        return NULL;
    capi_release_retired(self);
    if (capi_check_open(self) < 0 || tlpy_ts(a[0], &t1) < 0
        || tlpy_ts(a[1], &t2) < 0)
        return NULL;
    tl_status st = tl_delete_range(self->log, t1, t2);
    if (st != TL_OK)
        return tlpy_status_error(st), NULL;
    Py_RETURN_NONE;
}

static PyObject *timelog_delete_before(TimelogObject *self, PyObject *const *args,
                                       Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"cutoff", NULL};
    PyObject *a[1];
    int64_t cutoff;

    if (capi_unpack("delete_before", args, nargs, kwnames, names, 1, 1, a) < 0)
        return NULL;
    capi_release_retired(self);
    if (capi_check_open(self) < 0 || tlpy_ts(a[0], &cutoff) < 0)
        return NULL;
    tl_status st = tl_delete_before(self->log, cutoff);
    if (st != TL_OK)
        return tlpy_status_error(st), NULL;
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------
 * Maintenance: the engine works without the GIL (it touches no Python
 * object); payloads it retires are released afterwards, with the GIL.
 * ---------------------------------------------------------------------- */
typedef tl_status (*maint_fn)(tl_log *);

static PyObject *run_maintenance(TimelogObject *self, maint_fn fn)
{
    tl_status st;
    capi_release_retired(self);
    if (capi_check_open(self) < 0)
        return NULL;
    tl_log *log = self->log;
    Py_BEGIN_ALLOW_THREADS
    st = fn(log);
    Py_END_ALLOW_THREADS
    if (st != TL_OK)
        return tlpy_status_error(st), NULL;
    capi_release_retired(self);
    Py_RETURN_NONE;
}

static PyObject *timelog_flush(TimelogObject *self, PyObject *Py_UNUSED(ignored))
{
    return run_maintenance(self, tl_flush);
}

static PyObject *timelog_compact(TimelogObject *self, PyObject *Py_UNUSED(ignored))
{
    return run_maintenance(self, tl_compact);
}

static PyObject *timelog_start_maintenance(TimelogObject *self,
                                           PyObject *Py_UNUSED(ignored))
{
    return run_maintenance(self, tl_maint_start);
}

static PyObject *timelog_stop_maintenance(TimelogObject *self,
                                          PyObject *Py_UNUSED(ignored))
{
    return run_maintenance(self, tl_maint_stop);
}

/* close(): refused with TimelogBusyError while a reader pins the log (which
 * then stays fully usable); a no-op once closed. */
static tl_status close_log(tl_log *log)
{
    tl_status st;
    Py_BEGIN_ALLOW_THREADS
    st = tl_log_close(log);   /* joins the maintenance worker */
    Py_END_ALLOW_THREADS
    return st;
}

static int timelog_close_impl(TimelogObject *self)
{
    if (self->log == NULL)
        return 0;
    if (!self->closed) {
        tl_status st = close_log(self->log);
        if (st == TL_EBUSY) {
            /* Readers that are unreachable but not yet collected (a
             * reference cycle) still pin the log: collect once, retry. */
            PyGC_Collect();
            if (self->closed)   /* a finalizer closed it meanwhile */
                return 0;
            st = close_log(self->log);
        }
        if (st != TL_OK)
            return tlpy_status_error(st);
        self->closed = 1;
    }
    capi_release_retired(self);
    return 0;
}

static PyObject *timelog_close(TimelogObject *self, PyObject *Py_UNUSED(ignored))
{
    if (timelog_close_impl(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *timelog_enter(TimelogObject *self, PyObject *Py_UNUSED(ignored))
{
    if (capi_check_open(self) < 0)
        return NULL;
    return Py_NewRef(self);
}

/* With an exception in flight, a refused close is swallowed so that the
 * original exception propagates unchanged (the log stays open). */
static PyObject *timelog_exit(TimelogObject *self, PyObject *const *args,
                              Py_ssize_t nargs)
{
    if (capi_exit_args(nargs) < 0)
        return NULL;
    if (timelog_close_impl(self) < 0) {
        if (args[0] == Py_None || !PyErr_ExceptionMatches(tlpy_TimelogBusyError))
            return NULL;
        PyErr_Clear();
    }
    Py_RETURN_FALSE;
}

/* ------------------------------------------------------------------------
 * Readers.
 * ---------------------------------------------------------------------- */
static PyObject *make_iter(TimelogObject *self, int32_t query, PyObject *a1,
                           PyObject *a2)
{
    int64_t t1 = 0, t2 = 0;
    capi_release_retired(self);
    if (capi_check_open(self) < 0
        || (a1 != NULL && tlpy_ts(a1, &t1) < 0)
        || (a2 != NULL && tlpy_ts(a2, &t2) < 0))
        return NULL;
    return capi_iter_new(self, query, t1, t2);
}

static PyObject *timelog_range(TimelogObject *self, PyObject *const *args,
                               Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"t1", "t2", NULL};
    PyObject *a[2];
    if (kwnames == NULL && nargs == 2) {
        a[0] = args[0];
        a[1] = args[1];
    } else if (capi_unpack("range", args, nargs, kwnames, names, 2, 2, a) < 0) {
        return NULL;
    }
    return make_iter(self, TL_QUERY_RANGE, a[0], a[1]);
}

static PyObject *timelog_since(TimelogObject *self, PyObject *const *args,
                               Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"t1", NULL};
    PyObject *a[1];
    if (capi_unpack("since", args, nargs, kwnames, names, 1, 1, a) < 0)
        return NULL;
    return make_iter(self, TL_QUERY_SINCE, a[0], NULL);
}

static PyObject *timelog_until(TimelogObject *self, PyObject *const *args,
                               Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"t2", NULL};
    PyObject *a[1];
    if (capi_unpack("until", args, nargs, kwnames, names, 1, 1, a) < 0)
        return NULL;
    return make_iter(self, TL_QUERY_UNTIL, NULL, a[0]);
}

static PyObject *timelog_all(TimelogObject *self, PyObject *Py_UNUSED(ignored))
{
    return make_iter(self, TL_QUERY_ALL, NULL, NULL);
}

static PyObject *point_query(TimelogObject *self, const char *fname,
                             PyObject *const *args, Py_ssize_t nargs,
                             PyObject *kwnames)
{
    static const char *const names[] = {"t", NULL};
    PyObject *a[1];
    if (kwnames == NULL && nargs == 1)
        a[0] = args[0];
    else if (capi_unpack(fname, args, nargs, kwnames, names, 1, 1, a) < 0)
        return NULL;
    return make_iter(self, TL_QUERY_POINT, a[0], NULL);
}

static PyObject *timelog_point(TimelogObject *self, PyObject *const *args,
                               Py_ssize_t nargs, PyObject *kwnames)
{
    return point_query(self, "point", args, nargs, kwnames);
}

static PyObject *timelog_equal(TimelogObject *self, PyObject *const *args,
                               Py_ssize_t nargs, PyObject *kwnames)
{
    return point_query(self, "equal", args, nargs, kwnames);
}

static PyObject *timelog_page_spans(TimelogObject *self, PyObject *const *args,
                                    Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"t1", "t2", "kind", NULL};
    PyObject *a[3];
    int64_t t1, t2;
    int32_t kind = TL_SPANS_SEGMENT;

    if (capi_unpack("page_spans", args, nargs, kwnames, names, 2, 2, a) < 0)
        return NULL;
    capi_release_retired(self);
    if (capi_check_open(self) < 0 || tlpy_ts(a[0], &t1) < 0
        || tlpy_ts(a[1], &t2) < 0)
        return NULL;
    if (a[2] != NULL) {
        const char *text;
        size_t len;
        if (tlpy_str_option("kind", a[2], &text, &len) < 0)
            return NULL;
        tl_status st = tl_parse_span_kind(text, len, &kind);
        if (st != TL_OK)
            return tlpy_status_error(st), NULL;
    }
    return capi_span_iter_new(self, t1, t2, kind);
}

/* ------------------------------------------------------------------------
 * Columnar reads: count(t1=None, t2=None), arrays(t1=None, t2=None).  The
 * bounds given select the query: all, since, until or range.
 * ---------------------------------------------------------------------- */
static int parse_bounds(const char *fname, PyObject *const *args, Py_ssize_t nargs,
                        PyObject *kwnames, int32_t *query, int64_t *t1, int64_t *t2)
{
    static const char *const names[] = {"t1", "t2", NULL};
    PyObject *a[2];
    if (capi_unpack(fname, args, nargs, kwnames, names, 0, 2, a) < 0)
        return -1;
    int lo = a[0] != NULL && a[0] != Py_None, hi = a[1] != NULL && a[1] != Py_None;
    *t1 = *t2 = 0;
    if ((lo && tlpy_ts(a[0], t1) < 0) || (hi && tlpy_ts(a[1], t2) < 0))
        return -1;
    *query = lo ? (hi ? TL_QUERY_RANGE : TL_QUERY_SINCE) : (hi ? TL_QUERY_UNTIL : TL_QUERY_ALL);
    return 0;
}

static PyObject *timelog_count(TimelogObject *self, PyObject *const *args,
                               Py_ssize_t nargs, PyObject *kwnames)
{
    int32_t query;
    int64_t t1, t2;
    uint64_t n;
    if (parse_bounds("count", args, nargs, kwnames, &query, &t1, &t2) < 0)
        return NULL;
    capi_release_retired(self);
    if (capi_check_open(self) < 0)
        return NULL;
    tl_status st = tl_log_count(self->log, query, t1, t2, &n);
    if (st != TL_OK)
        return tlpy_status_error(st), NULL;
    return PyLong_FromUnsignedLongLong(n);
}

static PyObject *timelog_arrays(TimelogObject *self, PyObject *const *args,
                                Py_ssize_t nargs, PyObject *kwnames)
{
    int32_t query;
    int64_t t1, t2;
    if (parse_bounds("arrays", args, nargs, kwnames, &query, &t1, &t2) < 0)
        return NULL;
    capi_release_retired(self);
    if (capi_check_open(self) < 0)
        return NULL;
    TimelogIterObject *it = (TimelogIterObject *)capi_iter_new(self, query, t1, t2);
    if (it == NULL)
        return NULL;
    PyObject *columns = capi_iter_columns(it, INT64_MAX);
    capi_iter_close(it);
    Py_DECREF(it);
    return columns;
}

/* ------------------------------------------------------------------------
 * Introspection.
 * ---------------------------------------------------------------------- */
static PyObject *timelog_stats(TimelogObject *self, PyObject *Py_UNUSED(ignored))
{
    tl_stats s;
    capi_release_retired(self);
    if (capi_check_open(self) < 0)
        return NULL;
    tl_status st = tl_log_stats(self->log, &s);
    if (st != TL_OK)
        return tlpy_status_error(st), NULL;
    return Py_BuildValue(
        "{sKsKsKsKsKsKsKsKsKsKsKsKsKsKsK}",
        "memtable_records", (unsigned long long)s.memtable_records,
        "memrun_records", (unsigned long long)s.memrun_records,
        "l0_records", (unsigned long long)s.l0_records,
        "l1_records", (unsigned long long)s.l1_records,
        "memruns", (unsigned long long)s.memruns,
        "l0_segments", (unsigned long long)s.l0_segments,
        "l1_segments", (unsigned long long)s.l1_segments,
        "pages", (unsigned long long)s.pages,
        "tombstones", (unsigned long long)s.tombstones,
        "retired_len", (unsigned long long)s.retired_len,
        "live_snapshots", (unsigned long long)s.live_snapshots,
        "bytes_used", (unsigned long long)s.bytes_used,
        "alloc_failures", (unsigned long long)s.alloc_failures,
        "flushes", (unsigned long long)s.flushes,
        "compactions", (unsigned long long)s.compactions);
}

/* Properties never raise, also after close. */
static PyObject *timelog_get_closed(TimelogObject *self, void *Py_UNUSED(c))
{
    return PyBool_FromLong(self->closed || self->log == NULL);
}

/* closure: the option name given to tl_log_option_str. */
static PyObject *timelog_get_option(TimelogObject *self, void *closure)
{
    const char *v = self->log != NULL ? tl_log_option_str(self->log, closure) : NULL;
    if (v == NULL)
        Py_RETURN_NONE;
    return PyUnicode_FromString(v);
}

/* closure: the offset of a tl_stats field. */
static PyObject *timelog_repr(TimelogObject *self)
{
    char buf[200];
    uint64_t n = 0;
    int closed = self->closed || self->log == NULL;
    const char *unit = self->log != NULL ? tl_log_option_str(self->log, "time_unit") : NULL;
    if (!closed && tl_log_count(self->log, TL_QUERY_ALL, 0, 0, &n) != TL_OK)
        closed = 1;
    tlb_repr_log(buf, sizeof buf, CAPI_BACKEND, unit != NULL ? unit : "?", n, closed);
    return tlpy_text(buf);
}

static PyObject *timelog_get_stat(TimelogObject *self, void *closure)
{
    tl_stats s;
    if (self->log == NULL || tl_log_stats(self->log, &s) != TL_OK)
        return PyLong_FromLong(0);
    uint64_t v;
    memcpy(&v, (const char *)&s + (uintptr_t)closure, sizeof v);
    return PyLong_FromUnsignedLongLong(v);
}

/* ------------------------------------------------------------------------
 * Type.
 * ---------------------------------------------------------------------- */
#define FASTKW (METH_FASTCALL | METH_KEYWORDS)

static PyMethodDef timelog_methods[] = {
    {"append", (PyCFunction)(void (*)(void))timelog_append, FASTKW,
     "append($self, ts, obj)\n--\n\nInsert one record (late timestamps are fine)."},
    {"extend", (PyCFunction)(void (*)(void))timelog_extend, FASTKW,
     "extend($self, items, objects=None)\n--\n\n"
     "Insert (timestamp, object) pairs from any iterable, or, with two\n"
     "arguments, parallel timestamps (int64 buffer or ints) and objects.\n"
     "On a bad item the records before it are inserted and the error raised."},
    {"delete_range", (PyCFunction)(void (*)(void))timelog_delete_range, FASTKW,
     "delete_range($self, t1, t2)\n--\n\nHide every record in [t1, t2) inserted so far."},
    {"delete_before", (PyCFunction)(void (*)(void))timelog_delete_before, FASTKW,
     "delete_before($self, cutoff)\n--\n\nHide every record older than cutoff."},
    {"flush", (PyCFunction)timelog_flush, METH_NOARGS,
     "flush($self, /)\n--\n\nSeal the memtable and write sealed runs to segments."},
    {"compact", (PyCFunction)timelog_compact, METH_NOARGS,
     "compact($self, /)\n--\n\nFlush, then merge segments and apply deletes."},
    {"start_maintenance", (PyCFunction)timelog_start_maintenance, METH_NOARGS,
     "start_maintenance($self, /)\n--\n\nStart the background maintenance worker."},
    {"stop_maintenance", (PyCFunction)timelog_stop_maintenance, METH_NOARGS,
     "stop_maintenance($self, /)\n--\n\nStop and join the background worker."},
    {"close", (PyCFunction)timelog_close, METH_NOARGS,
     "close($self, /)\n--\n\nRelease everything; TimelogBusyError while readers are open."},
    {"range", (PyCFunction)(void (*)(void))timelog_range, FASTKW,
     "range($self, t1, t2)\n--\n\nIterator over records with t1 <= ts < t2."},
    {"since", (PyCFunction)(void (*)(void))timelog_since, FASTKW,
     "since($self, t1)\n--\n\nIterator over records with ts >= t1."},
    {"until", (PyCFunction)(void (*)(void))timelog_until, FASTKW,
     "until($self, t2)\n--\n\nIterator over records with ts < t2."},
    {"all", (PyCFunction)timelog_all, METH_NOARGS,
     "all($self, /)\n--\n\nIterator over every record."},
    {"equal", (PyCFunction)(void (*)(void))timelog_equal, FASTKW,
     "equal($self, t)\n--\n\nIterator over records with ts == t (same as point)."},
    {"point", (PyCFunction)(void (*)(void))timelog_point, FASTKW,
     "point($self, t)\n--\n\nIterator over records with ts == t."},
    {"page_spans", (PyCFunction)(void (*)(void))timelog_page_spans, FASTKW,
     "page_spans($self, t1, t2, *, kind='segment')\n--\n\n"
     "Iterator of zero-copy PageSpan views of [t1, t2)."},
    {"count", (PyCFunction)(void (*)(void))timelog_count, FASTKW,
     "count($self, t1=None, t2=None)\n--\n\n"
     "Number of records the query would yield (all / since / until / range),\n"
     "counted without making them."},
    {"arrays", (PyCFunction)(void (*)(void))timelog_arrays, FASTKW,
     "arrays($self, t1=None, t2=None)\n--\n\n"
     "(int64 timestamps array, list of objects) of the query's records."},
    {"stats", (PyCFunction)timelog_stats, METH_NOARGS,
     "stats($self, /)\n--\n\nEngine counters as a dict."},
    {"__enter__", (PyCFunction)timelog_enter, METH_NOARGS, NULL},
    {"__exit__", (PyCFunction)(void (*)(void))timelog_exit, METH_FASTCALL, NULL},
    CAPI_NO_PICKLE_METHODS,
    {NULL, NULL, 0, NULL}
};

#define STAT_FIELD(f) ((void *)(uintptr_t)offsetof(tl_stats, f))

static PyGetSetDef timelog_getset[] = {
    {"closed", (getter)timelog_get_closed, NULL, "True once close() succeeded.", NULL},
    {"time_unit", (getter)timelog_get_option, NULL, "Timestamp unit.", "time_unit"},
    {"maintenance_mode", (getter)timelog_get_option, NULL,
     "'disabled' or 'background'.", "maintenance"},
    {"busy_policy", (getter)timelog_get_option, NULL,
     "'raise', 'silent' or 'flush'.", "busy_policy"},
    {"retired_queue_len", (getter)timelog_get_stat, NULL,
     "Payloads waiting to be released.", STAT_FIELD(retired_len)},
    {"alloc_failures", (getter)timelog_get_stat, NULL,
     "Allocations that failed and were survived.", STAT_FIELD(alloc_failures)},
    {NULL, NULL, NULL, NULL, NULL}
};

PyDoc_STRVAR(timelog_doc,
"Timelog(time_unit=None, maintenance=None, memtable_max_bytes=None,\n"
"        target_page_bytes=None, sealed_max_runs=None,\n"
"        drain_batch_limit=None, busy_policy=None)\n"
"--\n\n"
"In-memory time index of (int64 timestamp, object) records.\n"
"None means the engine default for every option.");

PyTypeObject Capi_TimelogType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = CAPI_MODULE_NAME ".Timelog",
    .tp_basicsize = sizeof(TimelogObject),
    .tp_dealloc = (destructor)timelog_dealloc,
    .tp_repr = (reprfunc)timelog_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = timelog_doc,
    .tp_traverse = (traverseproc)timelog_traverse,
    .tp_clear = (inquiry)timelog_clear,
    .tp_weaklistoffset = offsetof(TimelogObject, weakreflist),
    .tp_methods = timelog_methods,
    .tp_getset = timelog_getset,
    .tp_init = (initproc)timelog_init,
    .tp_new = timelog_new,
};
