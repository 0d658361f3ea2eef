"""Tests of the facade (slicing, iteration, at(), re-exports; design.md §4, §9)
on the active backend."""

from __future__ import annotations

import operator

import pytest

import timelog
from timelog import (
    BACKEND,
    PageSpan,
    PageSpanIter,
    PageSpanObjectsView,
    Record,
    RecordBatch,
    RecordIter,
    Timelog,
    TimelogBusyError,
    TimelogError,
    TimelogIter,
    __version__,
)
from timelog._api import TimelogFacadeMixin, _slice_to_iter
from timelog._timelog import Timelog as _CTimelog
from timelog._timelog import TimelogError as _CTimelogError

TS_MIN = -(2**63)
TS_MAX = 2**63 - 1


def filled(pairs):
    lg = Timelog()
    lg.extend(pairs)
    return lg


class TestSlicing:
    """``__getitem__`` slice syntax maps onto the query methods."""

    def test_slice_range(self, log):
        log.extend([(i, i) for i in range(10)])
        result = list(log[3:7])
        assert result == list(log.range(3, 7))
        assert result == [(3, 3), (4, 4), (5, 5), (6, 6)]

    def test_slice_since(self, log):
        log.extend([(i, str(i)) for i in range(10)])
        result = list(log[7:])
        assert result == list(log.since(7)) == [(7, "7"), (8, "8"), (9, "9")]

    def test_slice_until(self, log):
        log.extend([(i, str(i)) for i in range(10)])
        result = list(log[:2])
        assert result == list(log.until(2)) == [(0, "0"), (1, "1")]

    def test_slice_all(self, log):
        log.extend([(5, "b"), (1, "a"), (9, "c")])
        result = list(log[:])
        assert result == list(log.all()) == [(1, "a"), (5, "b"), (9, "c")]

    def test_slice_step_none(self, log):
        log.extend([(i, i) for i in range(5)])
        assert list(log[slice(1, 3, None)]) == [(1, 1), (2, 2)]

    def test_slice_step_one(self, log):
        log.extend([(i, i) for i in range(5)])
        assert list(log[1:3:1]) == [(1, 1), (2, 2)]
        assert list(log[::1]) == list(log.all())

    @pytest.mark.parametrize("step", [2, 0, -1, "x", True, 1.0, 1.5])
    def test_slice_step_error(self, log, step):
        with pytest.raises(ValueError, match="step"):
            log[0:10:step]

    @pytest.mark.parametrize("key", [5, "5", (1, 2), None, 1.5])
    def test_slice_non_slice_error(self, log, key):
        with pytest.raises(TypeError, match="slices") as exc:
            log[key]
        assert type(key).__name__ in str(exc.value)
        assert ".at(ts)" in str(exc.value)

    def test_slice_returns_timelog_iter(self, log):
        log.append(1, "x")
        for it in (log[0:5], log[0:], log[:5], log[:]):
            assert isinstance(it, TimelogIter)
            it.close()

    def test_slice_half_open_and_empty(self, log):
        log.extend([(10, "a"), (20, "b"), (20, "c"), (30, "d")])
        assert [ts for ts, _ in log[10:20]] == [10]
        assert [ts for ts, _ in log[20:30]] == [20, 20]
        assert list(log[30:10]) == []
        assert list(log[20:20]) == []

    def test_slice_negative_timestamps_are_values(self, log):
        log.extend([(-5, "neg"), (0, "zero"), (5, "pos")])
        assert list(log[-10:0]) == [(-5, "neg")]
        assert list(log[:-1]) == [(-5, "neg")]
        assert [o for _, o in log[-5:]] == ["neg", "zero", "pos"]

    def test_slice_int64_extremes(self, log):
        log.extend([(TS_MIN, "min"), (0, "zero"), (TS_MAX, "max")])
        assert [o for _, o in log[TS_MIN:]] == ["min", "zero", "max"]
        assert [o for _, o in log[:TS_MAX]] == ["min", "zero"]
        assert [o for _, o in log[TS_MIN:TS_MAX]] == ["min", "zero"]

    def test_slice_out_of_int64(self, log):
        with pytest.raises(OverflowError):
            log[2**63:]
        with pytest.raises(OverflowError):
            log[:-(2**63) - 1]


class TestIteration:
    """``iter(log)`` is ``log.all()``."""

    def test_iter_all(self, log):
        log.extend([(i, f"item{i}") for i in range(5)])
        it = iter(log)
        assert isinstance(it, TimelogIter)
        assert list(it) == list(log.all())

    def test_iter_sequence(self, log):
        pairs = [(t, ("obj", t)) for t in (50, 10, 40, 10, 30, 20)]
        log.extend(pairs)
        via_for = [rec for rec in log]
        assert via_for == list(log.all())
        assert [ts for ts, _ in via_for] == sorted(t for t, _ in pairs)
        assert sorted(via_for, key=repr) == sorted(pairs, key=repr)

    def test_iter_empty(self, log):
        assert list(log) == []
        assert list(iter(log)) == []

    def test_iter_is_snapshot(self, log):
        log.extend([(1, "a"), (2, "b")])
        it = iter(log)
        log.append(3, "c")
        log.delete_before(2)
        assert list(it) == [(1, "a"), (2, "b")]
        assert list(log) == [(2, "b"), (3, "c")]

    def test_next_batch_shape(self, log):
        log.extend([(i, i) for i in range(10)])
        with iter(log) as it:
            batch = it.next_batch(4)
            assert isinstance(batch, list)
            assert batch == [(0, 0), (1, 1), (2, 2), (3, 3)]
            assert all(type(rec) is tuple for rec in batch)
            assert it.next_batch(100) == [(i, i) for i in range(4, 10)]
            assert it.next_batch(1) == []


class TestAt:
    """``at(ts)`` is ``point(ts)``."""

    def test_at_basic(self, log):
        log.append(100, "a")
        log.append(100, "b")
        log.append(200, "c")
        assert list(log.at(100)) == list(log.point(100))
        assert {obj for _, obj in log.at(100)} == {"a", "b"}
        assert list(log.at(200)) == [(200, "c")]

    def test_at_with_duplicates(self, log):
        log.extend([(7, i) for i in range(50)] + [(6, "x"), (8, "y")])
        result = list(log.at(7))
        assert len(result) == 50
        assert {ts for ts, _ in result} == {7}
        assert sorted(obj for _, obj in result) == list(range(50))

    def test_at_empty(self, log):
        assert list(log.at(5)) == []
        log.extend([(4, "a"), (6, "b")])
        assert list(log.at(5)) == []

    def test_at_returns_timelog_iter(self, log):
        it = log.at(1)
        assert isinstance(it, TimelogIter)
        it.close()

    def test_at_matches_equal(self, log):
        log.extend([(3, "a"), (3, "b")])
        assert list(log.at(3)) == list(log.equal(3)) == list(log.point(3))


class TestCoercion:
    """Timestamps: ``operator.index`` semantics, bool rejected."""

    def test_coerce_int(self, log):
        log.append(5, "x")
        assert list(log[5:6]) == [(5, "x")]
        assert list(log.at(5)) == [(5, "x")]

    def test_coerce_index_protocol(self, log):
        class Stamp:
            def __index__(self):
                return 42

        log.append(42, "answer")
        assert list(log.at(Stamp())) == [(42, "answer")]
        assert list(log[Stamp():]) == [(42, "answer")]

    def test_coerce_numpy_int64(self, log):
        import numpy as np  # a test dependency: missing numpy fails, never skips
        log.extend([(i, i) for i in range(10)])
        assert list(log[np.int64(3):np.int64(5)]) == [(3, 3), (4, 4)]
        assert list(log[np.int32(8):]) == [(8, 8), (9, 9)]
        assert list(log[:np.uint8(1)]) == [(0, 0)]
        assert list(log.at(np.int64(7))) == [(7, 7)]

    @pytest.mark.parametrize("where", ["start", "stop", "at"])
    def test_coerce_bool_rejected(self, log, where):
        log.append(1, "one")
        with pytest.raises(TypeError, match="bool"):
            if where == "start":
                log[True:]
            elif where == "stop":
                log[:False]
            else:
                log.at(True)

    @pytest.mark.parametrize("bad", [1.0, 2.5, "10", b"1", None, [1]])
    def test_coerce_non_int_rejected(self, log, bad):
        with pytest.raises(TypeError):
            log.at(bad)
        if bad is not None:  # None is an open bound in a slice
            with pytest.raises(TypeError):
                log[bad:]
            with pytest.raises(TypeError):
                log[:bad]

    def test_coerce_error_text_is_python_s(self, log):
        with pytest.raises(TypeError) as mine:
            log[1.5:]
        with pytest.raises(TypeError) as python:
            operator.index(1.5)
        assert str(mine.value) == str(python.value)

    def test_coerce_bool_text_matches_backend(self, log):
        with pytest.raises(TypeError) as facade:
            log.at(True)
        with pytest.raises(TypeError) as backend:
            log.point(True)
        assert str(facade.value) == str(backend.value)

    def test_at_overflow(self, log):
        with pytest.raises(OverflowError):
            log.at(2**63)
        with pytest.raises(OverflowError):
            log.at(-(2**63) - 1)


class TestReexports:
    """The facade re-exports the backend's very objects."""

    def test_exceptions_identical(self):
        assert TimelogError is _CTimelogError
        assert TimelogBusyError is timelog._timelog.TimelogBusyError
        assert TimelogError is timelog._errors.TimelogError
        assert issubclass(TimelogBusyError, TimelogError)
        assert issubclass(TimelogError, Exception)

    def test_types_identical(self):
        ns = timelog._timelog
        assert TimelogIter is ns.TimelogIter
        assert PageSpan is ns.PageSpan
        assert PageSpanIter is ns.PageSpanIter
        assert PageSpanObjectsView is ns.PageSpanObjectsView
        assert issubclass(Timelog, _CTimelog)
        assert issubclass(Timelog, TimelogFacadeMixin)
        assert Timelog is not _CTimelog

    def test_all_exported(self):
        for name in timelog.__all__:
            assert hasattr(timelog, name), name
        expected = {
            "Timelog", "TimelogError", "TimelogBusyError", "TimelogIter", "PageSpan",
            "PageSpanIter", "PageSpanObjectsView", "Record", "RecordIter", "RecordBatch",
            "__version__", "BACKEND", "load_backend",
        }
        assert set(timelog.__all__) == expected
        assert len(timelog.__all__) == len(expected)

    def test_star_import(self):
        ns: dict = {}
        exec("from timelog import *", ns)
        assert ns["Timelog"] is Timelog
        assert ns["BACKEND"] == BACKEND

    def test_type_aliases(self):
        assert Record == tuple[int, object]
        assert RecordBatch == list[Record]
        assert RecordIter.__args__ == (Record,)  # typing.Iterator[Record]

    def test_facade_adds_no_state(self):
        assert Timelog.__slots__ == ()
        assert TimelogFacadeMixin.__slots__ == ()
        # Instance layout (CPython exposes it; PyPy has no such attributes)
        for attr in ("__basicsize__", "__dictoffset__", "__weakrefoffset__"):
            assert getattr(Timelog, attr, None) == getattr(_CTimelog, attr, None), attr
        with Timelog() as log:
            assert not hasattr(log, "__dict__") or "__dict__" in dir(_CTimelog)
        assert Timelog.__module__ == "timelog"

    def test_facade_methods_are_the_backends(self):
        # Only slicing, iteration, at() and the DataFrame exports are added;
        # the rest is the backend's own implementation, not a Python wrapper.
        for name in ("append", "extend", "range", "point", "page_spans", "close", "__enter__"):
            assert getattr(Timelog, name) is getattr(_CTimelog, name), name
        added = set(TimelogFacadeMixin.__dict__) - {"__slots__", "__doc__", "__module__",
                                                    "__qualname__", "__firstlineno__",
                                                    "__static_attributes__"}
        assert added == {"__iter__", "__getitem__", "at", "to_pandas", "to_arrow", "to_polars"}

    def test_docstrings(self):
        for obj in (Timelog, Timelog.__getitem__, timelog):
            assert obj.__doc__ and len(obj.__doc__) > 100, obj
        for obj in (Timelog.__iter__, Timelog.at, Timelog.to_pandas, Timelog.to_arrow,
                    Timelog.to_polars):
            assert obj.__doc__, obj

    def test_mixin_over_backend_namespace(self):
        ns = timelog.load_backend(BACKEND)
        facade = type("Timelog", (TimelogFacadeMixin, ns.Timelog), {"__slots__": ()})
        with facade() as lg:
            lg.extend([(1, "a"), (2, "b")])
            assert list(lg[2:]) == [(2, "b")]
            assert list(lg.at(1)) == [(1, "a")]
            assert list(lg) == [(1, "a"), (2, "b")]

    def test_slice_helper_on_plain_backend(self):
        lg = _CTimelog()
        try:
            lg.extend([(1, "a"), (2, "b")])
            assert list(_slice_to_iter(lg, slice(None, 2))) == [(1, "a")]
        finally:
            lg.close()


class TestIntegration:
    """The facade in realistic use."""

    def test_context_manager(self):
        with Timelog() as lg:
            assert isinstance(lg, Timelog)
            lg.append(1, "x")
            assert list(lg) == [(1, "x")]
            assert lg.closed is False
        assert lg.closed is True
        with pytest.raises(TimelogError):
            lg.append(2, "y")
        with pytest.raises(TimelogError):
            lg[0:10]
        with pytest.raises(TimelogError):
            iter(lg)
        with pytest.raises(TimelogError):
            lg.at(1)
        lg.close()  # idempotent

    def test_context_manager_busy_with_open_reader(self):
        lg = Timelog()
        lg.append(1, "x")
        it = lg[0:5]
        with pytest.raises(TimelogBusyError):
            with lg:
                pass
        assert lg.closed is False
        assert list(it) == [(1, "x")]
        lg.close()
        assert lg.closed

    def test_context_manager_keeps_inflight_exception(self):
        lg = Timelog()
        lg.append(1, "x")
        it = iter(lg)
        with pytest.raises(KeyError):
            with lg:
                raise KeyError("boom")
        assert lg.closed is False
        it.close()
        lg.close()

    def test_constructor_arguments(self):
        with Timelog("us", "disabled", 4096, 512, 2, 0, "silent") as lg:
            assert lg.time_unit == "us"
            assert lg.maintenance_mode == "disabled"
            assert lg.busy_policy == "silent"
        with Timelog(time_unit="ns", busy_policy="flush") as lg:
            assert (lg.time_unit, lg.busy_policy) == ("ns", "flush")
        with pytest.raises(ValueError):
            Timelog(time_unit="fortnights")
        with pytest.raises(TypeError):
            Timelog(time_unit=5)

    def test_pagespan_reexport(self):
        with Timelog() as lg:
            lg.extend([(t, t) for t in range(100)])
            lg.flush()
            spans = lg.page_spans(0, 100)
            assert isinstance(spans, PageSpanIter)
            total = []
            for span in spans:
                assert isinstance(span, PageSpan)
                objs = span.objects()
                assert isinstance(objs, PageSpanObjectsView)
                assert list(objs) == span.copy_timestamps()
                total += span.copy()
                span.close()
            assert total == list(range(100))

    def test_version_defined(self):
        assert isinstance(__version__, str)
        assert __version__
        assert timelog.__version__ is __version__

    def test_background_maintenance_with_slices(self):
        with Timelog(maintenance="background", memtable_max_bytes=1024,
                     target_page_bytes=256, busy_policy="flush") as lg:
            lg.extend([(t, t) for t in range(5000)])
            lg.delete_before(1000)
            assert [ts for ts, _ in lg[998:1003]] == [1000, 1001, 1002]
            lg.compact()
            assert sum(1 for _ in lg) == 4000
            assert list(lg.at(4999)) == [(4999, 4999)]

    def test_retention_window_pattern(self):
        with Timelog() as lg:
            for minute in range(10):
                lg.extend([(minute * 60 + s, (minute, s)) for s in range(60)])
                lg.delete_before(minute * 60 - 120)
            kept = [ts for ts, _ in lg]
            assert kept[0] == 9 * 60 - 120 and kept[-1] == 599
            assert len(kept) == 180
