"""Shared helpers of the conformance suite (no tests here)."""

from __future__ import annotations

import gc
import importlib
import os
import sys
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest

from timelog._select import BACKENDS as BACKEND_NAMES  # the project's one list

TS_MIN = -(2**63)
TS_MAX = 2**63 - 1

# Texts of core/src/messages.c (tl_message ids), as the contract fixes them.
MSG_TS_BOOL = "timestamp must be an integer, not bool"
MSG_TS_OVERFLOW = "timestamp out of int64 range"
MSG_INT_OVERFLOW = "integer out of int64 range"
MSG_EXTEND_PAIR = "extend() items must be (timestamp, object) pairs, not %s"
MSG_EXTEND_LENGTHS = "extend(timestamps, objects): the two sequences differ in length"
MSG_EXTEND_TS_ARRAY = (
    "extend(timestamps, objects): a timestamps buffer must be one-dimensional int64"
)
MSG_BATCH_NEGATIVE = "next_batch() size must be >= 0"
MSG_NO_CONSTRUCT = "cannot create '%s' instances directly"
MSG_CLOSED = "timelog is closed"
MSG_SPAN_EXPORTED = "cannot close PageSpan while its timestamps buffer is exported"
MSG_SPAN_CLOSED = "PageSpan is closed"
MSG_OPTION_TYPE = "%s must be a str, not %s"
MSG_INDEX_RANGE = "PageSpanObjectsView index out of range"
MSG_INDEX_TYPE = "PageSpanObjectsView indices must be integers, not %s"
MSG_FLOAT_INDEX = "'float' object cannot be interpreted as an integer"

STATS_FIELDS = frozenset(
    {
        "memtable_records",
        "memrun_records",
        "l0_records",
        "l1_records",
        "memruns",
        "l0_segments",
        "l1_segments",
        "pages",
        "tombstones",
        "retired_len",
        "live_snapshots",
        "bytes_used",
        "alloc_failures",
        "flushes",
        "compactions",
    }
)

# Smallest sizes the engine accepts: every few records cross a layer.
TINY = dict(memtable_max_bytes=1, target_page_bytes=1, sealed_max_runs=2, busy_policy="silent")

PUBLIC_NAMES = (
    "Timelog",
    "TimelogIter",
    "PageSpan",
    "PageSpanIter",
    "PageSpanObjectsView",
    "TimelogError",
    "TimelogBusyError",
)


@dataclass
class Backend:
    """One backend under test: its name, module namespace and facade class."""

    name: str
    ns: Any
    facade: type = field(repr=False)

    def __getattr__(self, attr: str) -> Any:
        # Backend.Timelog, Backend.TimelogError, ... come from the namespace.
        if attr in PUBLIC_NAMES:
            return getattr(self.ns, attr)
        raise AttributeError(attr)

    @property
    def span_buffer_protocol(self) -> bool:
        """Whether memoryview(span) works (design.md §7: cffi needs PEP 688)."""
        return self.name != "cffi" or sys.version_info >= (3, 12)


SPAN_BUFFER_REASON = (
    "cffi: a Python-level buffer (PageSpan.__buffer__, PEP 688) needs Python >= 3.12 "
    "(design.md §7); span.timestamps is the portable zero-copy path"
)


def requested_backend(config_option: str | None) -> str | None:
    """The backend named for a per-process run (option wins, env must agree)."""
    env = os.environ.get("TIMELOG_BACKEND") or None
    if config_option and env and config_option != env:
        raise ValueError(
            f"--backend {config_option} disagrees with TIMELOG_BACKEND={env}"
        )
    return config_option or env


def make_backend(name: str) -> Backend:
    """Load a backend through the package and build its facade class."""
    timelog = importlib.import_module("timelog")
    api = importlib.import_module("timelog._api")
    ns = timelog.load_backend(name)
    facade = type("Timelog", (api.TimelogFacadeMixin, ns.Timelog), {"__slots__": ()})
    return Backend(name=name, ns=ns, facade=facade)


def collect() -> None:
    """Run the cyclic GC until nothing more is freed (finalizers may chain).

    CPython says how much it freed; PyPy's ``gc.collect()`` returns None, and
    two passes free what a finalizer released in the first."""
    for _ in range(4):
        if not gc.collect():
            break
    if sys.implementation.name == "pypy":
        gc.collect()


IS_PYPY = sys.implementation.name == "pypy"
"""PyPy frees nothing at ``del`` and has no ``sys.getrefcount``; the suite
observes "released when dropped" after :func:`collect` there (docs/conformance.md)."""


NUMPY_KEEPS_VIEWS = (
    "PyPy 7.3.11: numpy reaches a memoryview through cpyext, which never gives "
    "the view's buffer back, so a numpy array over span.timestamps keeps the span "
    "exported for good (docs/guide.md, 'Zero-copy spans with numpy')")
PYPY_NUMPY_KEEPS_VIEWS = pytest.mark.xfail(IS_PYPY, strict=True, reason=NUMPY_KEEPS_VIEWS)
"""Marks a test that drops a numpy array made from ``span.timestamps`` and
expects the export (and the pin) to be gone."""


def numpy_kept_views(request) -> bool:
    """True when the running test is one that PyPy's numpy leaves pinned
    (its log cannot be closed at teardown)."""
    mark = request.node.get_closest_marker("xfail")
    return IS_PYPY and mark is not None and mark.kwargs.get("reason") == NUMPY_KEEPS_VIEWS


def refcount(obj) -> int:
    """How many references hold ``obj``, for before/after comparisons.

    CPython: ``sys.getrefcount``.  PyPy has no reference counts; there the
    count is the number of slots of live containers (lists, tuples, dicts)
    that hold ``obj``, plus one per other live object referring to it, read
    with ``gc.get_referrers`` after a collection.  Either way a payload the
    log stores raises the count and a payload it releases lowers it again,
    which is all the suite compares.
    """
    if not IS_PYPY:
        return sys.getrefcount(obj)
    collect()
    n = 0
    for ref in gc.get_referrers(obj):
        if isinstance(ref, dict):
            n += sum(v is obj for v in ref.values()) + sum(k is obj for k in ref)
        elif isinstance(ref, (list, tuple)):
            n += sum(x is obj for x in ref)
        else:
            n += 1
    return n


def finalize() -> None:
    """Run the finalizers (``__del__``) of payloads the log has released.

    CPython ran them already, inside the call that released them; PyPy runs
    them when its collector runs, so collect there.
    """
    if IS_PYPY:
        collect()


def dead(refs, *, collect_first: bool = True) -> list[int]:
    """Indices of the weakly referenced objects that have been freed.

    CPython frees an object when its last reference goes, which is what
    the contract's "released when dropped" means there, so nothing is
    collected first (a binding that left a cycle behind would be caught).
    PyPy frees only when its collector runs: collect first (unless
    ``collect_first`` is false: a check run at every step of a long test
    then sees what the last collection freed).
    """
    if IS_PYPY and collect_first:
        collect()
    return [i for i, r in enumerate(refs) if r() is None]


def pins(log) -> int:
    """The log's pin count (live snapshots)."""
    return log.stats()["live_snapshots"]


def fill(log, n: int, start: int = 0, step: int = 1, payload=None):
    """Append n records ts=start+i*step; payloads default to small tuples."""
    objs = []
    for i in range(n):
        obj = ("p", start + i * step) if payload is None else payload(start + i * step)
        objs.append(obj)
        log.append(start + i * step, obj)
    return objs


def zip_exact(*seqs):
    """zip() that insists on equal lengths (zip's strict= needs Python 3.10)."""
    lists = [list(s) for s in seqs]
    assert len({len(s) for s in lists}) <= 1, f"lengths differ: {[len(s) for s in lists]}"
    return zip(*lists)


def normalized(records):
    """Records as a sorted multiset, for reads whose order is not global.

    Span reads visit sources one after another (design.md §7), so their
    concatenation is compared as a multiset keyed on the payload's repr.
    """
    return sorted(((ts, obj) for ts, obj in records), key=lambda r: (r[0], repr(r[1])))


def assert_sorted_ts(records) -> None:
    ts = [r[0] for r in records]
    assert ts == sorted(ts), "records must come out in timestamp order"


def layered_log(backend, records, layer):
    """A tiny-sized log holding records in one layer, or spread over all."""
    log = backend.Timelog(**TINY)
    if layer == "mixed":
        third = len(records) // 3
        log.extend(records[:third])
        log.compact()
        log.extend(records[third:2 * third])
        log.flush()
        log.extend(records[2 * third:])
        return log
    log.extend(records)
    if layer == "flushed":
        log.flush()
    elif layer == "compacted":
        log.compact()
    return log


def read_spans(log, t1, t2, kind="segment"):
    """All (ts, obj) records a page_spans() enumeration yields, spans closed."""
    out = []
    with log.page_spans(t1, t2, kind=kind) as spans:
        for span in spans:
            ts = span.copy_timestamps()
            objs = span.objects().copy()
            assert len(ts) == len(objs) == len(span) > 0
            assert ts == sorted(ts)
            out.extend(zip_exact(ts, objs))
            span.close()
    return out


class Payload:
    """A weak-referenceable payload with an identity-based repr."""

    __slots__ = ("key", "__weakref__", "ref")

    def __init__(self, key):
        self.key = key
        self.ref = None

    def __repr__(self) -> str:
        return f"Payload({self.key!r})"


def module_of(obj) -> ModuleType:
    return sys.modules[type(obj).__module__]


class SELECTION:
    """What conftest decided: the requested backend and what imported."""

    requested: str | None = None
    names: list = []
    errors: dict = {}
    loaded: dict = {}


def available_backends() -> list:
    """Every backend importable in this process, in preference order."""
    return [SELECTION.loaded[n] for n in BACKEND_NAMES if n in SELECTION.loaded]


def close_log(log) -> None:
    """Close a log at teardown; collect garbage readers first if they pin it."""
    if log.closed:
        return
    try:
        log.close()
    except module_of(log).TimelogBusyError:
        collect()
        log.close()


# ---------------------------------------------------------------------------
# Helpers of the attack modules (test_attack_*.py, issue 12).
# ---------------------------------------------------------------------------

HAS_REFCOUNT = hasattr(sys, "getrefcount")
REFCOUNT_REASON = (
    "sys.getrefcount does not exist on this interpreter (PyPy has no reference counts); "
    "payload lifetimes are checked with weak references elsewhere"
)

MSG_NO_PICKLE = "cannot pickle or copy '%s' object"
MSG_SIZE_BOOL = "n must be an integer, not bool"
MSG_ARRAYS_NEGATIVE = "next_arrays() size must be >= 0"
MSG_REINIT = "Timelog.__init__() cannot be called again: create a new Timelog"
MSG_TS_COLUMN_TYPE = (
    "extend(timestamps, objects): timestamps must be a sequence of integers or a "
    "one-dimensional int64 buffer, not %s"
)
MSG_OBJ_COLUMN_TYPE = "extend(timestamps, objects): objects must be a sequence, not %s"

# Every public object a log makes, plus the log itself (design.md §9).
OBJECT_KINDS = (
    "Timelog",
    "facade",
    "subclass",
    "TimelogIter",
    "PageSpanIter",
    "PageSpan",
    "PageSpanObjectsView",
)


def public_name(kind: str, obj) -> str:
    """The class name an object's messages use (a subclass uses its own)."""
    return type(obj).__name__


def make_object(backend, log, kind: str):
    """One object of the given kind; readers are made from ``log`` (flushed)."""
    if kind == "Timelog":
        return backend.Timelog()
    if kind == "facade":
        return backend.facade()
    if kind == "subclass":
        sub = type("UserTimelog", (backend.Timelog,), {})
        return sub()
    if kind == "TimelogIter":
        return log.range(0, 10**6)
    spans = log.page_spans(0, 10**6)
    if kind == "PageSpanIter":
        return spans
    span = next(spans)
    spans.close()
    if kind == "PageSpan":
        return span
    # The view keeps its span (and the span's pin) alive.
    return span.objects()


def release(obj) -> None:
    """Close whatever an OBJECT_KINDS object holds (a view: nothing to close)."""
    close = getattr(obj, "close", None)
    if close is None:
        return
    try:
        close()
    except Exception:
        collect()
        close()


IMMORTAL = -1
"""payload_refs' count of an immortal object (3.12+: None, small ints, and
NumPy 2's bools on 3.13): storing it changes no count, so none is compared."""


def payload_refs(objs):
    """sys.getrefcount of each object (None where the interpreter has none)."""
    if not HAS_REFCOUNT:
        return None
    counts = (sys.getrefcount(o) for o in objs)
    return [IMMORTAL if n >= 1 << 29 else n for n in counts]


def visible(log):
    """The log's visible records as (ts, id(obj)) in scan order (no pin left)."""
    return [(ts, id(obj)) for ts, obj in log.all()]


@dataclass
class LogState:
    """What a hostile call must leave unchanged: records, pins, references."""

    records: list
    pins: int
    refs: Any

    @classmethod
    def of(cls, log, payloads) -> LogState:
        collect()
        records = visible(log)
        return cls(records=records, pins=pins(log), refs=payload_refs(payloads))
