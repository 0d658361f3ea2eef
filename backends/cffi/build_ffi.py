"""cffi API-mode build script for timelog._backend_cffi._engine.

The cdef is generated from core/include/timelog.h at build time, so the binding
can never declare something the engine header does not: comments and the
include guard / C++ guards are stripped, and each ``#define NAME VALUE``
becomes ``#define NAME ...`` (the C compiler supplies the value), which is the
form cffi accepts for integer constants.  Any other preprocessor construct in
the header is refused loudly instead of being silently mistranslated.

Two ways to build:
  * setup.py (``cffi_modules``): its build_ext adds the engine include dir,
    libtimelog.a and pthread to every extension, so nothing is added here.
  * ``python backends/cffi/build_ffi.py``: standalone developer build that
    compiles the engine sources straight into the module and drops it next to
    the package sources in backends/cffi/_backend_cffi/.
"""
import glob
import os
import re
import sys
import sysconfig

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.path.join(ROOT, "backends", "shared")
# Declared from these headers, in this order: the engine, then the texts
# every binding shares (compiled in from messages.c).
HEADERS = (os.path.join(ROOT, "core", "include", "timelog.h"), os.path.join(SHARED, "messages.h"))
MODULE = "timelog._backend_cffi._engine"

# Reader glue: each engine reader (iterator, span enumerator, span) lives in
# a small C struct owned by a Python cdata made with ffi.new_allocator, whose
# C free function releases whatever the struct still holds.  The Python
# reader object owns that cdata *before* any engine call stores a snapshot
# in it, and every operation (open, read, move a span out, close) is one C
# call that takes the struct's own lock and releases it before returning.
# So an asynchronous exception (Ctrl-C) at any Python line can neither leak a
# pin (the cdata's finalizer releases it) nor leave a lock held (no lock
# outlives a C call), and two threads can never run one reader's engine
# object at once.  The struct is opaque to Python (declared with "...;").
GLUE_CDEF = """
typedef struct tlcf_reader { ...; } tlcf_reader;
void *tlcf_reader_alloc(size_t size);
void tlcf_reader_dealloc(void *p);
int32_t tlcf_reader_close(tlcf_reader *r);
int32_t tlcf_span_close(tlcf_reader *r);
tl_status tlcf_iter_open(tlcf_reader *r, tl_log *log, int32_t query, int64_t t1, int64_t t2,
                         int64_t *ts, tl_handle *h, size_t cap, size_t *n, uint64_t *count);
tl_status tlcf_iter_next(tlcf_reader *r, int64_t *ts, tl_handle *h, size_t cap, size_t *n);
tl_status tlcf_iter_left(tlcf_reader *r, uint64_t *out);
tl_status tlcf_spans_open(tlcf_reader *r, tl_log *log, int64_t t1, int64_t t2, int32_t kind);
tl_status tlcf_spans_next(tlcf_reader *r, tlcf_reader *span, int64_t *first, int64_t *last,
                          size_t *len);
tl_status tlcf_span_read(tlcf_reader *r, size_t start, size_t n, int64_t *ts, tl_handle *h);
const int64_t *tlcf_span_ts(tlcf_reader *r);
int32_t tlcf_span_export(tlcf_reader *r, int32_t *cell);
void tlcf_span_unexport(tlcf_reader *r, int32_t *cell, const int64_t *ts);
int64_t tlcf_span_exports(tlcf_reader *r);
size_t tlcf_run_len(const tl_handle *h, size_t n);
int32_t tlcf_any_01(const int64_t *ts, size_t n);
"""

GLUE_SOURCE = r"""
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

typedef struct tlcf_reader {
    atomic_int lock;           /* 0 free, 1 held; held only inside one call */
    tl_iter *it;               /* iterator, or */
    tl_spans *sp;              /* span enumerator, or */
    tl_snapshot *snap;         /* iterator: its snapshot (for counting);
                                  span: the span's reference */
    const int64_t *ts;         /* span memory */
    const tl_handle *h;
    size_t len;
    int64_t exports;           /* span: exported timestamps buffers */
    uint64_t taken;            /* iterator: records read from the engine */
    int32_t query;
    int64_t t1, t2;
} tlcf_reader;

static void rd_lock(tlcf_reader *r)
{
    int expected = 0;
    while (!atomic_compare_exchange_weak(&r->lock, &expected, 1)) {
        expected = 0;
        sched_yield();
    }
}

static void rd_unlock(tlcf_reader *r) { atomic_store(&r->lock, 0); }

void *tlcf_reader_alloc(size_t size) { return calloc(1, size); }

/* Drop what r holds; 1 if it held something.  Called with the lock held. */
static int32_t rd_release(tlcf_reader *r)
{
    int32_t had = r->it != NULL || r->sp != NULL || r->snap != NULL;
    tl_iter_destroy(r->it);
    tl_spans_destroy(r->sp);
    tl_snapshot_release(r->snap);
    r->it = NULL;
    r->sp = NULL;
    r->snap = NULL;
    r->ts = NULL;
    r->h = NULL;
    r->len = 0;
    return had;
}

void tlcf_reader_dealloc(void *p)
{
    tlcf_reader *r = p;
    if (r == NULL)
        return;
    rd_lock(r);
    rd_release(r);
    rd_unlock(r);
    free(r);
}

int32_t tlcf_reader_close(tlcf_reader *r)
{
    rd_lock(r);
    int32_t had = rd_release(r);
    rd_unlock(r);
    return had;
}

/* A span: -1 (nothing changed) while a buffer is exported. */
int32_t tlcf_span_close(tlcf_reader *r)
{
    rd_lock(r);
    int32_t had = r->exports > 0 ? -1 : rd_release(r);
    rd_unlock(r);
    return had;
}

/* Open an iterator in r and read up to cap records (cap may be 0); with
 * count non-NULL, also count what the query yields in all (tl_count on the
 * same snapshot). */
tl_status tlcf_iter_open(tlcf_reader *r, tl_log *log, int32_t query, int64_t t1, int64_t t2,
                         int64_t *ts, tl_handle *h, size_t cap, size_t *n, uint64_t *count)
{
    tl_snapshot *snap = NULL;
    tl_status st;
    *n = 0;
    rd_lock(r);
    if (r->it != NULL || r->sp != NULL || r->snap != NULL) {
        rd_unlock(r);
        return TL_EINTERNAL;
    }
    st = tl_snapshot_acquire(log, &snap);
    if (st == TL_OK) {
        st = tl_iter_open(snap, query, t1, t2, &r->it);
        if (st != TL_OK) {
            tl_snapshot_release(snap);
        } else {
            r->snap = snap;
            r->query = query;
            r->t1 = t1;
            r->t2 = t2;
            r->taken = 0;
            if (count != NULL) {
                st = tl_count(snap, query, t1, t2, count);
                if (st != TL_OK) {
                    rd_release(r);
                    rd_unlock(r);
                    return st;
                }
            }
            if (cap > 0) {
                /* The first read; its failure is left to the next read. */
                tl_status rs = tl_iter_next_batch(r->it, ts, h, cap, n);
                if (rs == TL_OK || rs == TL_EOF) {
                    r->taken += *n;
                    st = rs;
                } else {
                    *n = 0;
                }
            }
        }
    }
    rd_unlock(r);
    return st;
}

/* A closed reader reads as exhausted. */
tl_status tlcf_iter_next(tlcf_reader *r, int64_t *ts, tl_handle *h, size_t cap, size_t *n)
{
    tl_status st;
    *n = 0;
    rd_lock(r);
    if (r->it == NULL) {
        st = TL_EOF;
    } else {
        st = tl_iter_next_batch(r->it, ts, h, cap, n);
        if (st == TL_OK || st == TL_EOF)
            r->taken += *n;
        else
            *n = 0;
    }
    rd_unlock(r);
    return st;
}

/* Records the iterator has not read from the engine yet (0 once closed). */
tl_status tlcf_iter_left(tlcf_reader *r, uint64_t *out)
{
    tl_status st = TL_OK;
    uint64_t total = 0;
    rd_lock(r);
    if (r->it != NULL && r->snap != NULL) {
        st = tl_count(r->snap, r->query, r->t1, r->t2, &total);
        total = total > r->taken ? total - r->taken : 0;
    }
    rd_unlock(r);
    *out = st == TL_OK ? total : 0;
    return st;
}

tl_status tlcf_spans_open(tlcf_reader *r, tl_log *log, int64_t t1, int64_t t2, int32_t kind)
{
    tl_snapshot *snap = NULL;
    tl_status st;
    rd_lock(r);
    if (r->it != NULL || r->sp != NULL || r->snap != NULL) {
        rd_unlock(r);
        return TL_EINTERNAL;
    }
    st = tl_snapshot_acquire(log, &snap);
    if (st == TL_OK) {
        /* The enumerator holds its own snapshot reference (the pin). */
        st = tl_spans_open(snap, t1, t2, kind, &r->sp);
        tl_snapshot_release(snap);
    }
    rd_unlock(r);
    return st;
}

/* The next span, moved into the (empty) struct span; TL_EOF at the end or
 * once closed. */
tl_status tlcf_spans_next(tlcf_reader *r, tlcf_reader *span, int64_t *first, int64_t *last,
                          size_t *len)
{
    tl_span out;
    tl_status st;
    rd_lock(r);
    if (r->sp == NULL) {
        rd_unlock(r);
        return TL_EOF;
    }
    st = tl_spans_next(r->sp, &out);
    if (st == TL_OK) {
        rd_lock(span);
        if (span->snap != NULL) {
            rd_unlock(span);
            rd_unlock(r);
            tl_span_release(&out);
            return TL_EINTERNAL;
        }
        span->snap = out.owner;
        span->ts = out.ts;
        span->h = out.h;
        span->len = out.len;
        *first = out.ts[0];
        *last = out.ts[out.len - 1];
        *len = out.len;
        rd_unlock(span);
    }
    rd_unlock(r);
    return st;
}

/* Copy n timestamps and/or handles from start; TL_ESTATE once closed,
 * TL_EINVAL out of range. */
tl_status tlcf_span_read(tlcf_reader *r, size_t start, size_t n, int64_t *ts, tl_handle *h)
{
    tl_status st = TL_OK;
    rd_lock(r);
    if (r->snap == NULL)
        st = TL_ESTATE;
    else if (start > r->len || n > r->len - start)
        st = TL_EINVAL;
    else {
        if (ts != NULL)
            memcpy(ts, r->ts + start, n * sizeof *ts);
        if (h != NULL)
            memcpy(h, r->h + start, n * sizeof *h);
    }
    rd_unlock(r);
    return st;
}

/* The span's memory (NULL once closed); not counted yet. */
const int64_t *tlcf_span_ts(tlcf_reader *r)
{
    rd_lock(r);
    const int64_t *p = r->snap != NULL ? r->ts : NULL;
    rd_unlock(r);
    return p;
}

/* Count one export whose finalizer (with the same cell) already exists:
 * 1, or 0 once closed.  The cell records that this export was counted, so
 * a finalizer made before the count (an interrupt between the two) does
 * not uncount another export. */
int32_t tlcf_span_export(tlcf_reader *r, int32_t *cell)
{
    int32_t ok = 0;
    rd_lock(r);
    if (r->snap != NULL && *cell == 0) {
        r->exports++;
        *cell = 1;
        ok = 1;
    }
    rd_unlock(r);
    return ok;
}

/* The finalizer of an export (ts: the exported pointer, unused). */
void tlcf_span_unexport(tlcf_reader *r, int32_t *cell, const int64_t *ts)
{
    (void)ts;
    rd_lock(r);
    if (*cell == 1 && r->exports > 0)
        r->exports--;
    *cell = 0;
    rd_unlock(r);
}

int64_t tlcf_span_exports(tlcf_reader *r)
{
    rd_lock(r);
    int64_t k = r->exports;
    rd_unlock(r);
    return k;
}

/* 1 if a timestamp is 0 or 1 (where a bool may have been converted). */
int32_t tlcf_any_01(const int64_t *ts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((uint64_t)ts[i] <= 1)
            return 1;
    return 0;
}

/* Length of the run of consecutive handles that starts at h[0]. */
size_t tlcf_run_len(const tl_handle *h, size_t n)
{
    size_t i = n > 0;
    while (i < n && h[i] == h[i - 1] + 1)
        i++;
    return i;
}
"""

SOURCE = '#include <string.h>\n#include "timelog.h"\n#include "messages.h"\n' + GLUE_SOURCE

_DEFINE = re.compile(r"#\s*define\s+([A-Za-z_]\w*)(?:\s+(.*\S))?\s*$")
_COND = re.compile(r"#\s*(ifdef|ifndef|if|endif|else|elif|include|define|undef)\b(.*)$")


def make_cdef(text):
    """Translate the public header into a cffi cdef string."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    out = []
    stack = []          # True = this conditional block is kept
    guard = None
    for raw in text.splitlines():
        line = raw.strip()
        keep = all(stack)
        m = _COND.match(line) if line.startswith("#") else None
        if line.startswith("#") and m is None:
            raise ValueError(f"timelog.h: unsupported preprocessor line {line!r}")
        if m is None:
            if keep and line:
                out.append(line)
            continue
        kind, rest = m.group(1), m.group(2).strip()
        if kind == "ifndef" and guard is None and not stack:
            guard = rest            # the include guard: keep its body
            stack.append(True)
        elif kind == "ifdef" and rest == "__cplusplus":
            stack.append(False)     # extern "C" wrappers
        elif kind == "endif":
            if not stack:
                raise ValueError("timelog.h: unbalanced #endif")
            stack.pop()
        elif kind == "include":
            continue                # <stddef.h>/<stdint.h>: cffi knows the types
        elif kind == "define":
            if not keep:
                continue
            d = _DEFINE.match(line)
            if d is None:
                raise ValueError(f"timelog.h: cannot translate {line!r}")
            name, value = d.group(1), d.group(2)
            if value is None:
                if name != guard:
                    raise ValueError(f"timelog.h: valueless #define {name}")
                continue
            if "(" in name:
                raise ValueError(f"timelog.h: function-like macro {name}")
            out.append(f"#define {name} ...")
        else:
            raise ValueError(f"timelog.h: unsupported preprocessor line {line!r}")
    if stack:
        raise ValueError("timelog.h: unterminated conditional")
    return "\n".join(out) + "\n"


def read_cdef():
    parts = []
    for header in HEADERS:
        with open(header, encoding="utf-8") as f:
            parts.append(make_cdef(f.read()))
    return "".join(parts) + GLUE_CDEF


def make_builder(standalone=False):
    builder = FFI()
    builder.cdef(read_cdef())
    if standalone:
        builder.set_source(
            MODULE, SOURCE,
            sources=sorted(glob.glob(os.path.join(ROOT, "core", "src", "*.c")))
            + [os.path.join(SHARED, "messages.c")],
            include_dirs=[os.path.join(ROOT, "core", "include"), os.path.join(ROOT, "core", "src"),
                          SHARED],
            define_macros=[("_GNU_SOURCE", None)],
            extra_compile_args=["-std=c11", "-O2"],
            libraries=["pthread"],
        )
    else:
        # setup.py's build_ext adds the include dirs and the engine library;
        # the shared texts are compiled in here (paths relative to the root).
        builder.set_source(MODULE, SOURCE, sources=["backends/shared/messages.c"])
    return builder


ffibuilder = make_builder()


def main():
    builder = make_builder(standalone=True)
    tmp = os.path.join(ROOT, "build", "tmp-cffi-dev")
    # The interpreter's own suffix: PyPy does not import a bare "_engine.so".
    target = os.path.join(HERE, "_backend_cffi", "_engine" + sysconfig.get_config_var("EXT_SUFFIX"))
    path = builder.compile(tmpdir=tmp, target=target, verbose="-v" in sys.argv)
    print(path)


if __name__ == "__main__":
    main()
