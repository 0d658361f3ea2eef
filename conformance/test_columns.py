"""Columnar reads and DataFrame export (design.md §5.5): next_arrays, arrays,
count, to_pandas / to_arrow / to_polars give exactly the records the tuple
paths give, in the same order, on every layer, under deletes, snapshots and
maintenance, and leave no pin or reference behind."""

from __future__ import annotations

import array
import gc
import platform
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conformance import _support as S

# Duplicates, late records, negative and extreme timestamps.
DATA = [(t, ("r", t)) for t in range(0, 60, 3)] + [(9, "dup9a"), (9, "dup9b"), (30, "dup30")]
DATA += [(4, "late4"), (-7, "neg7"), (S.TS_MIN, "min"), (S.TS_MAX, "max")]

BOUNDS = [(None, None), (0, 31), (9, 10), (10, 9), (None, 9), (30, None), (S.TS_MIN, S.TS_MAX),
          (S.TS_MAX, None), (None, S.TS_MIN + 1), (100, 200)]


def run_python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)


def query_of(log, t1, t2):
    if t1 is None:
        return log.all() if t2 is None else log.until(t2)
    return log.since(t1) if t2 is None else log.range(t1, t2)


def as_records(columns):
    ts, objs = columns
    assert len(ts) == len(objs)
    return list(S.zip_exact(ts.tolist(), objs))


@pytest.fixture(params=["memtable", "flushed", "compacted", "mixed"])
def loaded(request, backend):
    log = S.layered_log(backend, DATA, request.param)
    yield log
    S.close_log(log)


@pytest.mark.parametrize("t1,t2", BOUNDS)
def test_arrays_and_count_match_the_tuple_path(loaded, t1, t2):
    expected = list(query_of(loaded, t1, t2))
    ts, objs = loaded.arrays(t1, t2)
    assert isinstance(ts, np.ndarray) and ts.dtype == np.int64 and ts.ndim == 1
    assert ts.flags.c_contiguous and ts.flags.writeable and ts.flags.owndata
    assert type(objs) is list
    assert as_records((ts, objs)) == expected
    assert all(a is b for a, (_, b) in S.zip_exact(objs, expected))
    assert loaded.count(t1, t2) == len(expected)
    assert loaded.count(t1=t1, t2=t2) == len(expected)
    assert S.pins(loaded) == 0


@pytest.mark.parametrize("n", [1, 2, 3, 7, 1000])
def test_next_arrays_walks_the_iterator(loaded, n):
    expected = list(loaded.all())
    it = loaded.all()
    got = []
    while True:
        part = as_records(it.next_arrays(n))
        got += part
        if len(part) < n:
            break
        assert not it.closed    # only a short result closes
    assert got == expected
    assert it.closed and S.pins(loaded) == 0
    ts, objs = it.next_arrays(5)
    assert len(ts) == 0 and objs == []


def test_next_arrays_mixes_with_next_and_next_batch(loaded):
    expected = list(loaded.all())
    it = loaded.all()
    got = [next(it)]
    got += as_records(it.next_arrays(4))
    got += it.next_batch(3)
    got += as_records(it.next_arrays(2))
    got.append(next(it))
    got += as_records(it.next_arrays(10**9))
    assert got == expected
    assert it.closed


def test_next_arrays_sizes(backend, log):
    S.fill(log, 5)
    it = log.all()
    ts, objs = it.next_arrays(0)
    assert len(ts) == 0 and objs == [] and not it.closed
    with pytest.raises(ValueError) as exc:
        it.next_arrays(-1)
    assert str(exc.value) == "next_arrays() size must be >= 0"
    with pytest.raises(TypeError) as exc:
        it.next_arrays(True)
    assert str(exc.value) == "n must be an integer, not bool"
    with pytest.raises(OverflowError):
        it.next_arrays(2**63)
    with pytest.raises(TypeError):
        it.next_arrays(2.0)
    assert len(it.next_arrays(np.int64(2))[0]) == 2
    it.close()
    ts, objs = it.next_arrays(3)
    assert len(ts) == 0 and objs == []


def test_columns_are_new_objects(log):
    S.fill(log, 4)
    a_ts, a_objs = log.arrays()
    b_ts, b_objs = log.arrays()
    assert a_ts is not b_ts and a_objs is not b_objs
    a_ts[0] = 99          # the caller owns them: nothing else changes
    a_objs.append("x")
    assert b_ts[0] == 0 and len(b_objs) == 4
    assert log.arrays()[0].tolist() == [0, 1, 2, 3]


def test_snapshot_isolation(backend):
    log = backend.Timelog(**S.TINY)
    S.fill(log, 50)
    it = log.all()
    log.delete_range(10, 40)
    log.append(20, "late")
    log.compact()
    assert log.count() == 21
    assert as_records(log.arrays())[:11] == [(t, ("p", t)) for t in range(10)] + [(20, "late")]
    ts, objs = it.next_arrays(100)     # the old snapshot, unchanged
    assert ts.tolist() == list(range(50))
    assert objs == [("p", t) for t in range(50)]
    assert it.closed
    S.close_log(log)


def test_no_pin_and_no_reference_left(backend):
    log = backend.Timelog(**S.TINY)
    payloads = [S.Payload(i) for i in range(30)]
    log.extend(list(enumerate(payloads)))
    log.flush()
    log.extend([(100 + i, p) for i, p in enumerate(payloads)])
    base = [S.refcount(p) for p in payloads]
    for _ in range(3):
        cols = log.arrays(5, 120)
        assert len(cols[1]) == 45
        del cols
        assert log.count(5, 120) == 45
        it = log.since(0)
        it.next_arrays(7)
        del it
    S.collect()
    assert [S.refcount(p) for p in payloads] == base
    assert S.pins(log) == 0
    log.close()


def test_closed_log(backend):
    log = backend.Timelog()
    log.close()
    for call in (log.arrays, log.count):
        with pytest.raises(backend.TimelogError) as exc:
            call()
        assert str(exc.value) == S.MSG_CLOSED


def test_bound_errors(log):
    with pytest.raises(TypeError) as exc:
        log.arrays(True, None)
    assert str(exc.value) == S.MSG_TS_BOOL
    with pytest.raises(OverflowError):
        log.count(None, 2**63)
    with pytest.raises(TypeError):
        log.count("0")
    assert log.count(np.int64(0), np.int32(5)) == 0


def test_background_maintenance(backend):
    log = backend.Timelog(maintenance="background", memtable_max_bytes=1, target_page_bytes=1)
    for i in range(0, 3000, 100):
        log.extend([(i + j, j) for j in range(100)])
        ts, objs = log.arrays()
        assert ts.tolist() == sorted(ts.tolist()) and len(ts) == i + 100 == log.count()
    log.stop_maintenance()
    assert as_records(log.arrays()) == list(log.all())
    S.close_log(log)


def test_without_numpy_columns_are_array_q(backend):
    # A fresh interpreter where numpy cannot be imported.
    code = textwrap.dedent(f"""
        import sys
        sys.modules["numpy"] = None
        import timelog
        log = timelog.load_backend({backend.name!r}).Timelog()
        log.extend([(2, "b"), (1, "a")])
        ts, objs = log.arrays()
        it = log.all()
        nts, nobjs = it.next_arrays(1)
        print(type(ts).__name__, ts.typecode, list(ts), objs, list(nts), nobjs)
    """)
    out = run_python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[0] == "array q [1, 2] ['a', 'b'] [1] ['a']"
    assert isinstance(array.array("q"), array.array)


# -- DataFrames and Arrow ------------------------------------------------------

def library(name):
    """Import an optional library; on PyPy the test extra does not install
    them (no wheels there), so the test is skipped there, and only there."""
    try:
        return __import__(name)
    except ImportError:
        if platform.python_implementation() == "PyPy":
            pytest.skip(f"{name} is not installed on PyPy (no wheels; see docs/conformance.md)")
        raise


FRAME_DATA = [(1_700_000_000_000 + 5, "b"), (1_700_000_000_000, {"k": 1}), (1_700_000_000_000, 3)]
# 2023-11-14 in each unit, so every pandas version can represent it
UNIT_BASE = {"s": 1_700_000_000, "ms": 1_700_000_000_000, "us": 1_700_000_000_000_000,
             "ns": 1_700_000_000_000_000_000}


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_to_pandas(backend, unit):
    pd = library("pandas")
    base = UNIT_BASE[unit]
    log = backend.facade(time_unit=unit)
    log.extend([(t - 1_700_000_000_000 + base, o) for t, o in FRAME_DATA])
    series = log.to_pandas()
    expected = list(log.all())
    assert series.dtype == object and series.tolist() == [o for _, o in expected]
    assert str(series.index.tz) == "UTC"
    want = [pd.Timestamp(t, unit=unit, tz="UTC") for t, _ in expected]
    assert list(series.index) == want
    assert len(log.to_pandas(base + 1, None)) == 1
    S.close_log(log)


def test_to_arrow_zero_copy_and_types(backend):
    pa = library("pyarrow")
    seen = []

    class Spy(backend.facade):
        def arrays(self, *args):
            seen.append(super().arrays(*args))
            return seen[-1]

    log = Spy(time_unit="us")
    log.extend([(3, 1.5), (1, 2.5), (2, None)])
    table = log.to_arrow()
    assert table.column_names == ["timestamp", "object"]
    assert table.schema.field("timestamp").type == pa.timestamp("us", tz="UTC")
    assert table.column("object").to_pylist() == [2.5, None, 1.5]
    assert table.column("timestamp").cast(pa.int64()).to_pylist() == [1, 2, 3]
    stamps = table.column("timestamp").chunk(0)
    assert stamps.buffers()[1].address == seen[-1][0].ctypes.data   # no copy
    log.append(4, "text")
    with pytest.raises((pa.ArrowInvalid, pa.ArrowTypeError)) as exc:
        log.to_arrow()
    assert "column 'object'" in str(exc.value)
    S.close_log(log)


def test_to_polars(backend):
    pl = library("polars")
    library("pyarrow")
    log = backend.facade(time_unit="ms")
    log.extend([(2, 20), (1, 10)])
    frame = log.to_polars(0, 10)
    assert isinstance(frame, pl.DataFrame)
    assert frame["object"].to_list() == [10, 20]
    assert frame["timestamp"].dtype == pl.Datetime("ms", "UTC")
    S.close_log(log)


@pytest.mark.parametrize("method,module,extra", [("to_pandas", "pandas", "pandas"),
                                                 ("to_arrow", "pyarrow", "arrow"),
                                                 ("to_polars", "polars", "polars")])
def test_missing_library_names_the_extra(backend, method, module, extra):
    code = textwrap.dedent(f"""
        import sys
        sys.modules[{module!r}] = None
        import timelog, timelog._api as api
        ns = timelog.load_backend({backend.name!r})
        Log = type("Timelog", (api.TimelogFacadeMixin, ns.Timelog), {{"__slots__": ()}})
        try:
            getattr(Log(), {method!r})()
        except ImportError as exc:
            print(exc)
    """)
    out = run_python(code)
    assert out.returncode == 0, out.stderr
    assert f"timelog[{extra}]" in out.stdout and module in out.stdout
    gc.collect()
