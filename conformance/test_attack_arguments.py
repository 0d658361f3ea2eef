"""Every public entry point x every parameter x a generated table of hostile
argument kinds (issue 12: "generated, not listed").

The expectation is never a per-case table: each parameter has a *role*
(timestamp, size, integer option, string option, objects-view index, slice
step, payload, bulk item, bulk column), and each role has one rule, written
from the contract (design.md §4, §5.1, §5.5, §7, §8), that says what a value
must do: be accepted as some coerced value, or raise exactly this exception
type with exactly this message. Where the contract defers to Python ("anything
without ``__index__`` gets Python's own TypeError", "whatever ``__index__``
raises propagates unchanged") the rule asks Python itself (``operator.index``,
``iter``, ``len``, ``str.encode``) on a fresh copy of the value, so the
expected text is Python's own on every interpreter.

After every call, whatever it did, the same checks run:

* a refused call: the log's records (timestamps and payload identities), its
  pins (``stats()["live_snapshots"]``) and the reference counts of its
  payloads and of the hostile argument are exactly as before;
* a partial bulk write (design.md §8.4): exactly the records before the bad
  item are inserted, nothing else, and each inserted payload gained exactly
  one reference;
* an accepted call: its result and the log's records equal what the
  reference model computes from the coerced value;
* and at the end the log closes (no pin left behind).

Reference counts are not available on PyPy; there the reference check is
skipped with that reason (the records and pins checks still run).
"""

from __future__ import annotations

import array
import collections.abc
import enum
import math
import operator
import warnings
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Callable

import numpy as np
import pytest

from conformance import _support as S

# ---------------------------------------------------------------------------
# Hostile argument kinds: name -> factory (a fresh value per call, because
# some are single-use iterators or record what they raised).
# ---------------------------------------------------------------------------


class Interrupt(BaseException):
    """A BaseException that is not an Exception (like KeyboardInterrupt)."""


class IntSub(int):
    def __repr__(self):
        return f"IntSub({int(self)})"


class StrSub(str):
    pass


class Color(enum.IntEnum):
    RED = 3


class Idx:
    """An object with ``__index__`` only (hashable)."""

    def __init__(self, value):
        self.value = value

    def __index__(self):
        return self.value

    def __repr__(self):
        return f"Idx({self.value!r})"


class UnhashableIdx(Idx):
    """``__index__`` and ``__eq__`` but no hash (issue 12 defect 3)."""

    __hash__ = None  # type: ignore[assignment]

    def __eq__(self, other):
        return isinstance(other, Idx) and other.value == self.value

    def __repr__(self):
        return f"UnhashableIdx({self.value!r})"


class RaisingIdx:
    """``__index__`` raises ``exc_type``; remembers the instance it raised."""

    def __init__(self, exc_type):
        self.exc_type = exc_type
        self.raised = None

    def __index__(self):
        self.raised = self.exc_type(f"__index__ of a hostile argument: {self.exc_type.__name__}")
        raise self.raised

    def __repr__(self):
        return f"RaisingIdx({self.exc_type.__name__})"


def _kinds() -> dict[str, Callable[[], Any]]:
    k: dict[str, Callable[[], Any]] = {}
    # ints: ordinary, boundaries, beyond int64 both ways
    for name, v in {
        "int_0": 0, "int_1": 1, "int_3": 3, "int_-1": -1, "int_-3": -3,
        "int64_max": S.TS_MAX, "int64_min": S.TS_MIN,
        "int64_max+1": S.TS_MAX + 1, "int64_min-1": S.TS_MIN - 1,
        "2**64": 2**64, "10**30": 10**30, "-10**30": -(10**30),
    }.items():
        k[name] = (lambda value: lambda: value)(v)
    k["int_subclass"] = lambda: IntSub(3)
    k["int_enum"] = lambda: Color.RED
    k["bool_True"] = lambda: True
    k["bool_False"] = lambda: False
    for name, v in {"float_1.0": 1.0, "float_1.5": 1.5, "float_nan": math.nan,
                    "float_inf": math.inf, "float_-0.0": -0.0}.items():
        k[name] = (lambda value: lambda: value)(v)
    k["decimal"] = lambda: Decimal(3)
    k["fraction"] = lambda: Fraction(3, 1)
    k["complex"] = lambda: 3 + 0j
    # __index__ objects
    k["index_3"] = lambda: Idx(3)
    k["index_-1"] = lambda: Idx(-1)
    k["index_huge"] = lambda: Idx(S.TS_MAX + 1)
    k["index_unhashable"] = lambda: UnhashableIdx(2)
    k["index_raises_Exception"] = lambda: RaisingIdx(ValueError)
    k["index_raises_BaseException"] = lambda: RaisingIdx(Interrupt)
    k["index_raises_KeyboardInterrupt"] = lambda: RaisingIdx(KeyboardInterrupt)
    k["index_returns_float"] = lambda: Idx(1.5)
    k["index_returns_str"] = lambda: Idx("3")
    k["index_returns_index"] = lambda: Idx(Idx(3))
    k["index_returns_bool"] = lambda: Idx(True)
    k["index_returns_int_subclass"] = lambda: Idx(IntSub(2))
    # numpy scalars and 0-d arrays
    k["np_int64"] = lambda: np.int64(3)
    k["np_int32_neg"] = lambda: np.int32(-2)
    k["np_int8"] = lambda: np.int8(1)
    k["np_uint64_max"] = lambda: np.uint64(2**64 - 1)
    k["np_float64"] = lambda: np.float64(2.0)
    k["np_bool"] = lambda: np.bool_(True)
    k["np_datetime64"] = lambda: np.datetime64(5, "ms")
    k["np_0d_int64"] = lambda: np.array(4, dtype=np.int64)
    k["np_0d_int32"] = lambda: np.array(-1, dtype=np.int32)
    k["np_0d_float"] = lambda: np.array(4.0)
    k["np_1d_size1"] = lambda: np.array([4])
    # strings and bytes
    for name, v in {"str_digit": "3", "str_empty": "", "str_ms": "ms", "str_all": "all",
                    "str_segment": "segment", "str_flush": "flush",
                    "str_background": "background",
                    "str_nul": "a\0b", "str_ms_nul": "ms\0garbage", "str_all_nul": "all\0x",
                    "str_flush_nul": "flush\0!", "str_upper": "MS", "str_nonascii": "µs",
                    "str_surrogate": "\ud800", "str_newline": "ms\n"}.items():
        k[name] = (lambda value: lambda: value)(v)
    k["str_subclass_ms"] = lambda: StrSub("ms")
    k["str_subclass_all"] = lambda: StrSub("all")
    k["bytes_ms"] = lambda: b"ms"
    k["bytes_nul"] = lambda: b"\x00\x01"
    k["bytearray"] = lambda: bytearray(b"ms")
    # containers and other objects
    k["None"] = lambda: None
    k["object"] = lambda: object()
    k["list_int"] = lambda: [1]
    k["list_pairs"] = lambda: [(1, "a"), (2, "b")]
    k["tuple_pair"] = lambda: (1, 2)
    k["dict_empty"] = lambda: {}
    k["dict"] = lambda: {0: "a"}
    k["range"] = lambda: range(3)
    k["iterator_of_pairs"] = lambda: iter([(1, "a"), (2, "b")])
    k["generator_of_ints"] = lambda: (i for i in range(2))
    # buffers: right and wrong item types, strided, multi-dimensional
    k["array_q"] = lambda: array.array("q", [5, 1, 3])
    k["array_d"] = lambda: array.array("d", [1.0, 2.0])
    k["array_B"] = lambda: array.array("B", [1, 2])
    k["memoryview_strided_q"] = lambda: memoryview(array.array("q", range(6)))[::2]
    k["np_int64_vector"] = lambda: np.arange(3, dtype=np.int64)
    k["np_int64_strided"] = lambda: np.arange(6, dtype=np.int64)[::2]
    k["np_int64_reversed"] = lambda: np.arange(3, dtype=np.int64)[::-1]
    k["np_int64_bigendian"] = lambda: np.arange(3, dtype=">i8")
    k["np_int32_vector"] = lambda: np.arange(3, dtype=np.int32)
    k["np_float_vector"] = lambda: np.arange(3, dtype=np.float64)
    k["np_uint64_overflowing"] = lambda: np.array([1, 2**63, 3], dtype=np.uint64)
    k["np_2d"] = lambda: np.arange(6, dtype=np.int64).reshape(2, 3)
    k["np_fortran_2d"] = lambda: np.asfortranarray(np.arange(4, dtype=np.int64).reshape(2, 2))
    return k


KINDS = _kinds()

# ---------------------------------------------------------------------------
# Outcomes and the rules of each role.
# ---------------------------------------------------------------------------


@dataclass
class Outcome:
    exc: type | None = None  # None: accepted
    msg: str | None = None
    value: Any = None  # the coerced value when accepted
    prefix: int | None = None  # bulk writes: items inserted before the error
    same: bool = False  # the hostile object's own exception must propagate

    @property
    def ok(self) -> bool:
        return self.exc is None


def _raised(exc: BaseException, same: bool = False) -> Outcome:
    return Outcome(exc=type(exc), msg=str(exc), same=same)


def python_index(v) -> Outcome:
    """What Python's own coercion (``operator.index``) does with ``v``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            # int(): Python 3.9's operator.index returns an int subclass
            # (an IntEnum member) itself, which the model must not hold
            return Outcome(value=int(operator.index(v)))
        except BaseException as exc:  # noqa: B036 - BaseException from __index__ too
            return _raised(exc, same=isinstance(v, RaisingIdx))


def rule_timestamp(v) -> Outcome:
    """design.md §8.1."""
    if isinstance(v, bool):
        return Outcome(TypeError, S.MSG_TS_BOOL)
    out = python_index(v)
    if out.ok and not S.TS_MIN <= out.value <= S.TS_MAX:
        return Outcome(OverflowError, S.MSG_TS_OVERFLOW)
    return out


def rule_bound(v) -> Outcome:
    """count()/arrays() bounds and slice bounds: None selects the query."""
    return Outcome(value=None) if v is None else rule_timestamp(v)


def rule_size(method: str):
    """design.md §5.1 / §5.5: next_batch(n), next_arrays(n)."""

    def rule(v) -> Outcome:
        if isinstance(v, bool):
            return Outcome(TypeError, S.MSG_SIZE_BOOL)
        out = python_index(v)
        if out.ok and out.value < 0:
            return Outcome(ValueError, f"{method}() size must be >= 0")
        if out.ok and out.value > S.TS_MAX:
            return Outcome(OverflowError, S.MSG_INT_OVERFLOW)
        return out

    return rule


def rule_int_option(name: str, minimum: int):
    """design.md §8.2, integer options."""

    def rule(v) -> Outcome:
        if v is None:
            return Outcome(value=None)
        if isinstance(v, bool):
            return Outcome(TypeError, f"{name} must be an integer, not bool")
        out = python_index(v)
        if not out.ok:
            return out
        if not S.TS_MIN <= out.value <= S.TS_MAX:
            return Outcome(OverflowError, S.MSG_INT_OVERFLOW)
        if out.value < minimum:
            bound = "> 0" if minimum == 1 else ">= 0"
            return Outcome(ValueError, f"{name} must be {bound} (got {out.value})")
        return out

    return rule


def quoted(v: str) -> str:
    """How the engine quotes a rejected value (design.md §8.2: "control bytes
    escaped"): its UTF-8 bytes, at most 40 and never a split character, with
    bytes < 0x20 and 0x7f as \\xNN and a backslash doubled; "..." if cut."""
    raw = v.encode("utf-8")
    limit = min(len(raw), 40)
    while 0 < limit < len(raw) and raw[limit] & 0xC0 == 0x80:
        limit -= 1
    out = bytearray()
    for c in raw[:limit]:
        if c == 0x5C:
            out += b"\\\\"
        elif c < 0x20 or c == 0x7F:
            out += b"\\x%02x" % c
        else:
            out.append(c)
    if len(raw) > limit:
        out += b"..."
    return out.decode("utf-8")


def rule_str_option(name: str, allowed: tuple, none_ok: bool = True):
    """design.md §8.2, string options (and page_spans(kind=))."""

    def rule(v) -> Outcome:
        if v is None and none_ok:
            return Outcome(value=None)
        if not isinstance(v, str):
            return Outcome(TypeError, S.MSG_OPTION_TYPE % (name, type(v).__name__))
        try:
            v.encode("utf-8")
        except UnicodeEncodeError as exc:
            return _raised(exc)
        if v in allowed:
            return Outcome(value=str(v))
        choices = ", ".join(repr(a) for a in allowed)
        return Outcome(ValueError, f"{name} must be one of {choices} (got '{quoted(v)}')")

    return rule


def rule_view_index(n: int):
    """design.md §7: objects()[i] like a list index."""

    def rule(v) -> Outcome:
        if not hasattr(type(v), "__index__"):
            return Outcome(TypeError, S.MSG_INDEX_TYPE % type(v).__name__)
        out = python_index(v)
        if not out.ok:
            return out
        i = out.value + n if out.value < 0 else out.value
        if not 0 <= i < n:
            return Outcome(IndexError, S.MSG_INDEX_RANGE)
        return Outcome(value=i)

    return rule


def rule_step(v) -> Outcome:
    """design.md §4: a slice step is None or the int 1."""
    if v is None or (type(v) is int and v == 1):
        return Outcome(value=v)
    return Outcome(ValueError, f"Timelog slice step must be None or 1, not {v!r}")


def rule_payload(v) -> Outcome:
    """Any object is a payload (design.md §1)."""
    return Outcome(value=v)


# ---- bulk writes (design.md §8.4) -------------------------------------------

def _is_pair(item) -> bool:
    return isinstance(item, (tuple, list)) and len(item) == 2


def rule_items(items) -> Outcome:
    """extend(items): iterate; each item a 2-tuple/2-list with a valid timestamp."""
    try:
        it = iter(items)
    except TypeError as exc:
        return _raised(exc)
    accepted = []
    for item in it:
        if not _is_pair(item):
            return Outcome(TypeError, S.MSG_EXTEND_PAIR % type(item).__name__,
                           prefix=len(accepted), value=accepted)
        out = rule_timestamp(item[0])
        if not out.ok:
            out.prefix, out.value = len(accepted), accepted
            return out
        accepted.append((out.value, item[1]))
    return Outcome(value=accepted, prefix=len(accepted))


def _buffer(v):
    """The object's memoryview, or None when it exports no buffer."""
    try:
        return memoryview(v)
    except (TypeError, ValueError):
        return None


def _is_sequence(v) -> bool:
    return (hasattr(type(v), "__len__") and hasattr(type(v), "__getitem__")
            and not isinstance(v, collections.abc.Mapping))


def rule_columns(timestamps, objects) -> Outcome:
    """extend(timestamps, objects)."""
    if objects is None:
        return rule_items(timestamps)
    view = _buffer(timestamps)
    if view is not None and view.ndim != 1:
        return Outcome(TypeError, S.MSG_EXTEND_TS_ARRAY, prefix=0, value=[])
    int64 = view is not None and view.itemsize == 8 and view.format.lstrip("@=<") in ("q", "l")
    if not int64 and not _is_sequence(timestamps):
        # A buffer of another item type is read as a sequence (design.md §8.4).
        return Outcome(TypeError, S.MSG_TS_COLUMN_TYPE % type(timestamps).__name__,
                       prefix=0, value=[])
    if not _is_sequence(objects):
        return Outcome(TypeError, S.MSG_OBJ_COLUMN_TYPE % type(objects).__name__,
                       prefix=0, value=[])
    try:
        n_ts, n_obj = len(timestamps), len(objects)
    except BaseException as exc:  # noqa: B036
        out = _raised(exc)
        out.prefix, out.value = 0, []
        return out
    if n_ts != n_obj:
        return Outcome(ValueError, S.MSG_EXTEND_LENGTHS, prefix=0, value=[])
    accepted = []
    for i in range(n_ts):
        out = rule_timestamp(timestamps[i])
        if not out.ok:
            out.prefix, out.value = len(accepted), accepted
            return out
        accepted.append((out.value, objects[i]))
    return Outcome(value=accepted, prefix=len(accepted))


# ---------------------------------------------------------------------------
# The log every case starts from, and the reference model of its effects.
# ---------------------------------------------------------------------------

BASE_TS = (0, 1, 2, 2, 3, 4)  # flushed; a duplicate timestamp in the middle


class Ctx:
    """One case's log, its payloads, and the model of its visible records.

    The model holds keys, not objects (so it adds no reference): a payload the
    test owns is keyed by identity, any other object (an element a backend
    read out of a hostile sequence) by its type and repr.
    """

    def __init__(self, backend):
        self.backend = backend
        self.log = backend.facade()
        self.payloads = [S.Payload(("base", i)) for i in range(len(BASE_TS))]
        self.log.extend(list(zip(BASE_TS, self.payloads)))
        self.log.flush()
        self.extra = [S.Payload(("item", i)) for i in range(5)]  # bulk items' payloads
        self.owned = {id(o) for o in self.payloads + self.extra}
        self.keep: list = []
        self.model = self.keys(zip(BASE_TS, self.payloads))  # scan order

    def own(self, obj):
        self.owned.add(id(obj))

    def key(self, obj):
        if id(obj) in self.owned:
            return ("id", id(obj))
        return ("value", type(obj).__name__, repr(obj))

    def keys(self, records):
        return [(t, self.key(o)) for t, o in records]

    def query(self, lo=None, hi=None):
        return [(t, k) for t, k in self.model
                if (lo is None or t >= lo) and (hi is None or t < hi)]

    def insert(self, records):
        merged = self.model + self.keys(records)
        self.model = sorted(merged, key=lambda r: r[0])  # stable: insertion order

    def delete(self, lo, hi):
        self.model = [(t, k) for t, k in self.model if not lo <= t < hi]

    def visible(self):
        return self.keys(self.log.all())




# Each entry: (id, rule, call(ctx, v) -> result, effect(ctx, value, result)).
# ``effect`` runs only when the call was accepted: it checks the result against
# the model and applies the call's effect to the model.

def _e_query(ctx, lo, hi, result):
    assert ctx.keys(result) == ctx.query(lo, hi)


ENTRIES: list[tuple[str, Callable, Callable, Callable]] = []


def entry(name, rule, call, effect):
    ENTRIES.append((name, rule, call, effect))


# --- timestamps -----------------------------------------------------------
entry("append.ts", rule_timestamp,
      lambda c, v: c.log.append(v, c.extra[0]),
      lambda c, x, r: c.insert([(x, c.extra[0])]))
entry("append.obj", rule_payload,
      lambda c, v: c.log.append(2, v),
      lambda c, x, r: c.insert([(2, x)]))
entry("delete_range.t1", rule_timestamp,
      lambda c, v: c.log.delete_range(v, 3), lambda c, x, r: c.delete(x, 3))
entry("delete_range.t2", rule_timestamp,
      lambda c, v: c.log.delete_range(1, v), lambda c, x, r: c.delete(1, x))
entry("delete_before.cutoff", rule_timestamp,
      lambda c, v: c.log.delete_before(v), lambda c, x, r: c.delete(S.TS_MIN, x))
entry("range.t1", rule_timestamp, lambda c, v: c.log.range(v, 4),
      lambda c, x, r: _e_query(c, x, 4, r))
entry("range.t2", rule_timestamp, lambda c, v: c.log.range(1, v),
      lambda c, x, r: _e_query(c, 1, x, r))
entry("since.t1", rule_timestamp, lambda c, v: c.log.since(v),
      lambda c, x, r: _e_query(c, x, None, r))
entry("until.t2", rule_timestamp, lambda c, v: c.log.until(v),
      lambda c, x, r: _e_query(c, None, x, r))


def _e_point(c, x, r):
    assert c.keys(r) == [(t, k) for t, k in c.model if t == x]


entry("point.t", rule_timestamp, lambda c, v: c.log.point(v), _e_point)
entry("equal.t", rule_timestamp, lambda c, v: c.log.equal(v), _e_point)
entry("at.t", rule_timestamp, lambda c, v: c.log.at(v), _e_point)


def _e_spans(lo, hi):
    def check(c, x, r):
        a, b = (x, hi) if lo is None else (lo, x)
        recs = []
        with r:
            for span in r:
                recs += list(zip(span.copy_timestamps(), span.objects().copy()))
                span.close()
        assert sorted(c.keys(recs)) == sorted(c.query(a, b))

    return check


entry("page_spans.t1", rule_timestamp, lambda c, v: c.log.page_spans(v, 4), _e_spans(None, 4))
entry("page_spans.t2", rule_timestamp, lambda c, v: c.log.page_spans(1, v), _e_spans(1, None))


def _e_spans_kind(c, x, r):
    _e_spans(0, None)(c, 4, r)


entry("page_spans.kind", rule_str_option("kind", ("segment", "all"), none_ok=False),
      lambda c, v: c.log.page_spans(0, 4, kind=v), _e_spans_kind)

for _which in ("t1", "t2"):
    def _bounds(x, which=_which):
        return (x, None) if which == "t1" else (None, x)

    entry(f"count.{_which}", rule_bound,
          (lambda w: lambda c, v: c.log.count(**{w: v}))(_which),
          (lambda b: lambda c, x, r: _check_eq(r, len(c.query(*b(x)))))(_bounds))

    def _e_arrays(c, x, r, b=_bounds):
        ts, objs = r
        assert c.keys(zip(list(ts), objs)) == c.query(*b(x))

    entry(f"arrays.{_which}", rule_bound,
          (lambda w: lambda c, v: c.log.arrays(**{w: v}))(_which), _e_arrays)
    entry(f"slice.{'start' if _which == 't1' else 'stop'}", rule_bound,
          (lambda w: lambda c, v: c.log[v:] if w == "t1" else c.log[:v])(_which),
          (lambda b: lambda c, x, r: _e_query(c, *b(x), r))(_bounds))


def _check_eq(got, expected):
    assert got == expected


entry("slice.step", rule_step, lambda c, v: c.log[1:4:v], lambda c, x, r: _e_query(c, 1, 4, r))

# --- sizes ----------------------------------------------------------------


def _e_batch(c, n, r):
    rows, it = r
    expected = c.query()[:n]
    assert c.keys(rows) == expected
    assert it.closed == (len(expected) < n)
    it.close()


def _call_batch(c, v):
    it = c.log.all()
    try:
        return it.next_batch(v), it
    except BaseException:
        it.close()
        raise


def _call_arrays(c, v):
    it = c.log.all()
    try:
        ts, objs = it.next_arrays(v)
        return list(zip(list(ts), objs)), it
    except BaseException:
        it.close()
        raise


entry("next_batch.n", rule_size("next_batch"), _call_batch, _e_batch)
entry("next_arrays.n", rule_size("next_arrays"), _call_arrays, _e_batch)

# --- options --------------------------------------------------------------

_STR_OPTIONS = {
    "time_unit": ("s", "ms", "us", "ns"),
    "maintenance": ("disabled", "background"),
    "busy_policy": ("raise", "silent", "flush"),
}
_STR_PROPERTY = {"time_unit": "time_unit", "maintenance": "maintenance_mode",
                 "busy_policy": "busy_policy"}
_STR_DEFAULT = {"time_unit": "ms", "maintenance": "disabled", "busy_policy": "flush"}


def _call_option(name):
    def call(c, v):
        return c.backend.Timelog(**{name: v})

    return call


def _e_str_option(name):
    def check(c, x, other):
        try:
            assert getattr(other, _STR_PROPERTY[name]) == (x or _STR_DEFAULT[name])
            other.append(1, "x")
            assert list(other.all()) == [(1, "x")]
        finally:
            other.close()

    return check


def _e_int_option(c, x, other):
    try:
        other.append(1, "x")
        assert list(other.all()) == [(1, "x")]
    finally:
        other.close()


for _name, _allowed in _STR_OPTIONS.items():
    entry(f"Timelog.{_name}", rule_str_option(_name, _allowed), _call_option(_name),
          _e_str_option(_name))
for _name, _min in (("memtable_max_bytes", 1), ("target_page_bytes", 1),
                    ("sealed_max_runs", 1), ("drain_batch_limit", 0)):
    entry(f"Timelog.{_name}", rule_int_option(_name, _min), _call_option(_name), _e_int_option)

# --- objects view index ------------------------------------------------------


def _call_view(c, v):
    with c.log.page_spans(S.TS_MIN, S.TS_MAX) as spans:
        span = next(spans)
    with span:
        return span.objects()[v]


entry("objects_view.index", rule_view_index(len(BASE_TS)), _call_view,
      lambda c, i, r: _check_eq(c.key(r), c.model[i][1]))

# --- bulk writes: a hostile item in the middle, or a hostile argument -----

HOSTILE_AT = 2


def _items(c, v, where):
    """Five items for the bulk entries; the hostile value at index 2."""
    ts = [10, 11, 12, 13, 14]
    objs = list(c.extra)
    if where == "ts":
        ts[HOSTILE_AT] = v
    else:
        objs[HOSTILE_AT] = v
    return ts, objs


def _bulk_effect(c, x, r):
    c.insert(x)


def _bulk(name, make_args):
    """A bulk entry: its rule is rule_items / rule_columns of the arguments made."""
    ENTRIES.append((name, ("bulk", make_args), lambda c, v: c.log.extend(*make_args(c, v)),
                    _bulk_effect))


_bulk("extend.pair.ts", lambda c, v: ([tuple(p) for p in zip(*_items(c, v, "ts"))],))
_bulk("extend.pair.obj", lambda c, v: ([tuple(p) for p in zip(*_items(c, v, "obj"))],))
_bulk("extend.list_pair.ts", lambda c, v: ([list(p) for p in zip(*_items(c, v, "ts"))],))
def _generator_args(c, v):
    # The items list stays alive in ctx, so that the generator finishing (and
    # dropping its frame) releases no payload reference the test counted.
    items = [tuple(p) for p in zip(*_items(c, v, "ts"))]
    c.keep.append(items)
    return ((p for p in items),)


_bulk("extend.generator.ts", _generator_args)
_bulk("extend.columns.ts_item", lambda c, v: _items(c, v, "ts"))
_bulk("extend.columns.obj_item", lambda c, v: _items(c, v, "obj"))
_bulk("extend.items", lambda c, v: (v,))


def _len_or(v, default):
    try:
        return len(v)
    except BaseException:  # noqa: B036
        return default


_bulk("extend.timestamps",
      lambda c, v: (v, [c.extra[i % 5] for i in range(_len_or(v, 3))]))
_bulk("extend.objects",
      lambda c, v: ([20 + i for i in range(_len_or(v, 2))], v))

ENTRY_BY_ID = {e[0]: e for e in ENTRIES}

# Kinds that make no sense for a role are still run: a hostile caller does not
# choose. The generated matrix is every entry x every kind.
CASES = [(e[0], k) for e in ENTRIES for k in KINDS]


def _expected(ctx, entry_id, fresh):
    """The rule's outcome for a fresh copy of the hostile value (the rule may
    consume iterators and call ``__index__``; the real call gets its own copy)."""
    _, rule, _, _ = ENTRY_BY_ID[entry_id]
    if isinstance(rule, tuple):  # bulk: the rule follows the arguments made
        args = rule[1](ctx, fresh)
        if len(args) == 1 or args[1] is None:
            return rule_items(args[0])
        return rule_columns(*args)
    return rule(fresh)


def _refcounted(v) -> bool:
    """Whether the argument's reference count is ours alone to watch (not a
    shared immortal/cached/interned object whose count other code moves)."""
    return type(v) not in (type(None), bool, int, str, float)


def _outcome_of_call(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return fn(), None
        except BaseException as exc:  # noqa: B036
            return None, exc


@pytest.mark.parametrize(("entry_id", "kind"), CASES, ids=[f"{e}-{k}" for e, k in CASES])
def test_hostile_argument(backend, entry_id, kind):
    make = KINDS[kind]
    ctx = Ctx(backend)
    try:
        _run_case(ctx, entry_id, make)
    finally:
        S.close_log(ctx.log)


def _reference_delta(records) -> dict:
    """id(payload) -> how many references the inserted records add to it."""
    delta: dict = {}
    for _, obj in records:
        delta[id(obj)] = delta.get(id(obj), 0) + 1
    return delta


def _run_case(ctx, entry_id, make):
    _, rule, call, effect = ENTRY_BY_ID[entry_id]
    fresh, value = make(), make()
    expected = _expected(ctx, entry_id, fresh)
    if isinstance(fresh, RaisingIdx):
        fresh.raised = None  # its traceback would keep the rule's frames alive
    if expected.msg is not None and repr(fresh) != repr(value):
        # A message quoting the value (a slice step) names the real one.
        expected.msg = expected.msg.replace(repr(fresh), repr(value))
    ctx.own(value)
    bulk = isinstance(rule, tuple)
    if bulk:
        # The records a partial or whole bulk write inserts, with the real
        # argument in place of its fresh copy.
        inserted = [(t, value if o is fresh else o)
                    for t, o in (expected.value or [])[: expected.prefix or 0]]
        # Build the arguments now, so their own references are in "before".
        args = rule[1](ctx, value)
        call = (lambda a: lambda c, v: c.log.extend(*a))(args)
    del fresh
    watched = list(ctx.payloads) + list(ctx.extra)
    # An argument whose *elements* became payloads (rows of a 2-D array keep
    # their base alive) gains references legitimately: watched only otherwise.
    derived = entry_id in ("extend.items", "extend.timestamps", "extend.objects") and bool(
        expected.prefix)
    if _refcounted(value) and not derived:
        watched.append(value)
    before_records = ctx.visible()
    before_pins = S.pins(ctx.log)
    before_refs = S.payload_refs(watched)

    result, exc = _outcome_of_call(lambda: call(ctx, value))

    # 1. the outcome: accepted, or exactly the rule's exception and message
    if expected.ok:
        if exc is not None:
            raise AssertionError(f"expected acceptance, got {type(exc).__name__}: {exc}") from exc
    else:
        assert exc is not None, f"expected {expected.exc.__name__}: {expected.msg!r}, accepted"
        assert (type(exc), str(exc)) == (expected.exc, expected.msg)
        if expected.same:
            assert exc is value.raised, "the exception of __index__ must propagate unchanged"
    if isinstance(value, RaisingIdx):
        value.raised = None
    del exc

    # 2. the effect: refused -> nothing; bulk -> exactly the prefix; accepted ->
    #    the model's effect, and the result checked against the model.
    delta: dict = {}
    if bulk:
        ctx.insert(inserted)  # (inserted stays alive: its tuples were counted before)
        # (counted in a helper: a loop variable here would hold a reference)
        delta = _reference_delta(inserted)
    elif expected.ok:
        # (A delete hides records; their payloads stay held until compaction.)
        effect(ctx, value if rule is rule_payload else expected.value, result)
        if entry_id in ("append.ts", "append.obj"):
            delta[id(ctx.extra[0] if entry_id == "append.ts" else value)] = 1
    del result

    def state():
        return ctx.visible(), S.pins(ctx.log), S.payload_refs(watched)

    expected_refs = None
    if before_refs is not None:
        expected_refs = [r if r == S.IMMORTAL else r + delta.get(id(o), 0)
                         for r, o in zip(before_refs, watched)]
    want = (ctx.model, before_pins, expected_refs)
    got = state()
    if got != want:
        S.collect()  # a failed call's frame may sit in a garbage cycle a moment
        got = state()
    assert got[0] == want[0], "records differ from the model"
    if not bulk and not expected.ok:
        assert got[0] == before_records
    assert got[1] == want[1], "a pin outlived the call"
    if before_refs is not None:
        assert got[2] == want[2], "payload / argument references changed"
    ctx.log.close()
    assert ctx.log.closed


def test_matrix_size():
    """The matrix is generated: every entry point x every kind."""
    assert len(ENTRIES) >= 40 and len(KINDS) >= 80
    assert len(CASES) == len(ENTRIES) * len(KINDS)


def test_reference_counts_checked():
    """The reference half of every case runs where the interpreter counts
    references; on PyPy this test is skipped with the reason, and the cases
    check records and pins only."""
    if not S.HAS_REFCOUNT:
        pytest.skip(S.REFCOUNT_REASON)
    probe = S.Payload("probe")
    before = S.payload_refs([probe])
    held = [probe]
    assert S.payload_refs([probe]) == [before[0] + 1] and held
