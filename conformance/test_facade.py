"""The facade (slicing, at(), coercion, re-exports; design.md §11) over every
backend via TimelogFacadeMixin."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys

import pytest

from conformance import _support as S


@pytest.fixture
def flog(backend):
    log = backend.facade()
    log.extend([(i, f"item{i}") for i in range(10)])
    yield log
    S.close_log(log)


# Category 1: slicing
def test_slice_range(flog):
    assert list(flog[3:7]) == list(flog.range(3, 7))
    assert [t for t, _ in flog[3:7]] == [3, 4, 5, 6]


def test_slice_since(flog):
    assert list(flog[7:]) == list(flog.since(7)) == [(t, f"item{t}") for t in (7, 8, 9)]


def test_slice_until(flog):
    assert list(flog[:3]) == list(flog.until(3)) == [(t, f"item{t}") for t in (0, 1, 2)]


def test_slice_all(flog):
    assert list(flog[:]) == list(flog.all())
    assert len(list(flog[:])) == 10


def test_slice_step_none(flog):
    assert list(flog[2:4:None]) == [(2, "item2"), (3, "item3")]


def test_slice_step_one(flog):
    assert list(flog[2:4:1]) == [(2, "item2"), (3, "item3")]
    assert list(flog[8::1]) == [(8, "item8"), (9, "item9")]


@pytest.mark.parametrize("step", [2, 0, -1, "x"])
def test_slice_step_error(flog, step):
    with pytest.raises(ValueError, match="step"):
        flog[0:10:step]


@pytest.mark.parametrize("key", [5, "a", (1, 2), None])
def test_slice_non_slice_error(flog, key):
    with pytest.raises(TypeError, match="slices"):
        flog[key]


def test_slice_reversed_bounds_empty(flog):
    assert list(flog[7:3]) == []
    assert list(flog[5:5]) == []


def test_slice_negative_timestamps_are_values(backend):
    log = backend.facade()
    log.extend([(-5, "a"), (-1, "b"), (3, "c")])
    assert list(log[-5:0]) == [(-5, "a"), (-1, "b")]
    assert list(log[:-1]) == [(-5, "a")]
    assert list(log[-1:]) == [(-1, "b"), (3, "c")]
    log.close()


def test_slice_returns_backend_iterator(backend, flog):
    it = flog[1:2]
    assert type(it) is backend.TimelogIter
    it.close()


# Category 2: iteration
def test_iter_all(flog):
    assert list(flog) == list(flog.all())


def test_iter_sequence(flog):
    assert [(ts, obj) for ts, obj in flog] == [(i, f"item{i}") for i in range(10)]


def test_iter_empty(backend):
    log = backend.facade()
    assert list(log) == []
    log.close()


def test_iter_is_snapshot(flog):
    it = iter(flog)
    flog.append(100, "late")
    assert len(list(it)) == 10
    assert len(list(flog)) == 11


def test_iter_pins_until_exhausted(flog):
    it = iter(flog)
    next(it)
    assert S.pins(flog) > 0
    list(it)
    assert S.pins(flog) == 0


# Category 3: at()
def test_at_basic(flog):
    assert list(flog.at(4)) == list(flog.point(4)) == [(4, "item4")]


def test_at_with_duplicates(backend):
    log = backend.facade()
    log.append(100, "a")
    log.append(100, "b")
    log.append(200, "c")
    assert sorted(obj for _, obj in log.at(100)) == ["a", "b"]
    log.close()


def test_at_empty(flog):
    assert list(flog.at(55)) == []


def test_at_bool_rejected(flog):
    with pytest.raises(TypeError) as ei:
        flog.at(True)
    assert str(ei.value) == S.MSG_TS_BOOL


def test_at_overflow(flog):
    with pytest.raises(OverflowError) as ei:
        flog.at(2**63)
    assert str(ei.value) == S.MSG_TS_OVERFLOW


# Category 4: coercion
def test_coerce_int(flog):
    assert list(flog[3:4]) == [(3, "item3")]


def test_coerce_numpy_int64(flog, np):
    assert list(flog[np.int64(3):np.int64(5)]) == [(3, "item3"), (4, "item4")]
    assert list(flog.at(np.int64(9))) == [(9, "item9")]
    assert [t for t, _ in flog[np.int32(8):]] == [8, 9]
    assert [t for t, _ in flog[:np.uint8(1)]] == [0]


BOOL_SLICES = [slice(True, None), slice(None, False), slice(True, 5), slice(0, True)]


@pytest.mark.parametrize("key", BOOL_SLICES)
def test_coerce_bool_rejected(flog, key):
    with pytest.raises(TypeError) as ei:
        flog[key]
    assert str(ei.value) == S.MSG_TS_BOOL


@pytest.mark.parametrize("key", [slice(1.5, None), slice(None, "3"), slice(0, 2.0), slice(b"1", 3)])
def test_coerce_non_int_rejected(flog, key):
    with pytest.raises(TypeError):
        flog[key]


def test_coerce_overflow_in_slice(flog):
    with pytest.raises(OverflowError) as ei:
        flog[2**63:]
    assert str(ei.value) == S.MSG_TS_OVERFLOW


# Category 5: re-exports (checked in a process where this backend is selected)
_REEXPORT_PROBE = r"""
import json, sys, timelog, timelog._timelog as sel
mod = sys.modules["timelog._backend_" + sys.argv[1]]
names = ["TimelogError", "TimelogBusyError", "TimelogIter", "PageSpan", "PageSpanIter",
         "PageSpanObjectsView"]
print(json.dumps({
    "backend": timelog.BACKEND,
    "identical": {n: getattr(timelog, n) is getattr(mod, n) for n in names},
    "selected_module": sel is mod,
    "facade_subclass": issubclass(timelog.Timelog, mod.Timelog),
    "facade_slots": timelog.Timelog.__slots__ == () and not hasattr(timelog.Timelog(), "__dict__"),
    "all_exported": [n for n in timelog.__all__ if not hasattr(timelog, n)],
    "version": timelog.__version__,
    "aliases": [str(timelog.Record), str(timelog.RecordBatch)],
    "load_same": timelog.load_backend(sys.argv[1]) is mod,
}))
"""


@functools.cache
def _probe(name):
    import timelog

    root = os.path.dirname(os.path.dirname(os.path.abspath(timelog.__file__)))
    env = dict(os.environ, TIMELOG_BACKEND=name)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-c", _REEXPORT_PROBE, name], env=env,
                          capture_output=True, text=True, timeout=120, cwd=root)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_selected_in_its_own_process(backend):
    assert _probe(backend.name)["backend"] == backend.name
    assert _probe(backend.name)["selected_module"] is True
    assert _probe(backend.name)["load_same"] is True


def test_exceptions_identical(backend):
    ident = _probe(backend.name)["identical"]
    assert ident["TimelogError"] and ident["TimelogBusyError"]


def test_types_identical(backend):
    ident = _probe(backend.name)["identical"]
    assert all(ident[n] for n in ("TimelogIter", "PageSpan", "PageSpanIter", "PageSpanObjectsView"))


def test_all_exported(backend):
    assert _probe(backend.name)["all_exported"] == []


def test_timelog_subclass(backend):
    info = _probe(backend.name)
    assert info["facade_subclass"] and info["facade_slots"]


def test_type_aliases(backend):
    assert _probe(backend.name)["aliases"] == ["tuple[int, object]", "list[tuple[int, object]]"]


def test_unknown_backend_name_is_import_error(backend):
    import timelog

    root = os.path.dirname(os.path.dirname(os.path.abspath(timelog.__file__)))
    env = dict(os.environ, TIMELOG_BACKEND=backend.name + "x")
    proc = subprocess.run([sys.executable, "-c", "import timelog"], env=env, cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "ImportError" in proc.stderr and "TIMELOG_BACKEND" in proc.stderr
    for name in S.BACKEND_NAMES:
        assert name in proc.stderr.splitlines()[-1]


# Category 6: integration
def test_context_manager(backend):
    with backend.facade() as log:
        log.append(1, "a")
        assert list(log[0:2]) == [(1, "a")]
    assert log.closed


def test_context_manager_busy_rules(backend):
    with pytest.raises(backend.TimelogBusyError):
        with backend.facade() as log:
            it = log[:]
    assert not log.closed
    it.close()
    with pytest.raises(KeyError):
        with log:
            it = iter(log)
            raise KeyError("k")
    assert not log.closed
    it.close()
    log.close()


def test_pagespan_reexport(backend):
    log = backend.facade()
    log.append(1, "a")
    log.flush()
    with log.page_spans(0, 2) as spans:
        span = next(spans)
        assert type(span) is backend.PageSpan
        assert span.copy() == [1]
        span.close()
    log.close()


def test_version_in_selected_process(backend):
    assert _probe(backend.name)["version"]


def test_facade_is_instance_of_backend_class(backend):
    log = backend.facade()
    assert isinstance(log, backend.Timelog)
    assert not hasattr(log, "__dict__")
    log.close()


def test_facade_accepts_constructor_arguments(backend):
    log = backend.facade("us", None, 1, 1, 2, 0, "flush")
    assert (log.time_unit, log.busy_policy) == ("us", "flush")
    log.close()


def test_facade_closed_errors(backend):
    log = backend.facade()
    log.close()
    for use in (lambda: log[0:1], lambda: iter(log), lambda: log.at(1)):
        with pytest.raises(backend.TimelogError) as ei:
            use()
        assert str(ei.value) == S.MSG_CLOSED
