"""Timestamp coercion, config validation, exception types and texts (design.md §8)."""

from __future__ import annotations

import enum

import pytest

from conformance import _support as S

# Every place a timestamp enters the binding.
TS_SITES = {
    "append": lambda log, t: log.append(t, "x"),
    "extend_pair": lambda log, t: log.extend([(t, "x")]),
    "extend_columns": lambda log, t: log.extend([t], ["x"]),
    "extend_generator": lambda log, t: log.extend(p for p in [(t, "x")]),
    "delete_range_t1": lambda log, t: log.delete_range(t, 10),
    "delete_range_t2": lambda log, t: log.delete_range(0, t),
    "delete_before": lambda log, t: log.delete_before(t),
    "range_t1": lambda log, t: log.range(t, 10),
    "range_t2": lambda log, t: log.range(0, t),
    "since": lambda log, t: log.since(t),
    "until": lambda log, t: log.until(t),
    "point": lambda log, t: log.point(t),
    "equal": lambda log, t: log.equal(t),
    "page_spans_t1": lambda log, t: log.page_spans(t, 10),
    "page_spans_t2": lambda log, t: log.page_spans(0, t),
}

BAD_TS = {
    "bool_true": (True, TypeError, S.MSG_TS_BOOL),
    "bool_false": (False, TypeError, S.MSG_TS_BOOL),
    "float": (1.5, TypeError, S.MSG_FLOAT_INDEX),
    "str": ("1", TypeError, "'str' object cannot be interpreted as an integer"),
    "none": (None, TypeError, "'NoneType' object cannot be interpreted as an integer"),
    "above_int64": (2**63, OverflowError, S.MSG_TS_OVERFLOW),
    "below_int64": (-(2**63) - 1, OverflowError, S.MSG_TS_OVERFLOW),
    "huge": (10**40, OverflowError, S.MSG_TS_OVERFLOW),
}


@pytest.mark.parametrize("bad", list(BAD_TS))
@pytest.mark.parametrize("site", list(TS_SITES))
def test_bad_timestamp(log, site, bad):
    value, exc, msg = BAD_TS[bad]
    log.append(3, "kept")
    with pytest.raises(exc) as ei:
        TS_SITES[site](log, value)
    assert type(ei.value) is exc
    assert str(ei.value) == msg
    # Nothing was written, nothing deleted, nothing pinned.
    assert list(log.all()) == [(3, "kept")]
    assert S.pins(log) == 0


class Idx:
    def __init__(self, v):
        self.v = v

    def __index__(self):
        return self.v


class Color(enum.IntEnum):
    RED = 7


def _good_values(np):
    return {
        "int": 7,
        "int_subclass": Color.RED,
        "index_protocol": Idx(7),
        "np_int64": np.int64(7),
        "np_int32": np.int32(7),
        "np_int8": np.int8(7),
        "np_uint64": np.uint64(7),
        "np_uint16": np.uint16(7),
    }


GOOD_KINDS = ["int", "int_subclass", "index_protocol", "np_int64", "np_int32", "np_int8",
              "np_uint64", "np_uint16"]


@pytest.mark.parametrize("kind", GOOD_KINDS)
def test_index_like_timestamps_accepted(log, np, kind):
    t = _good_values(np)[kind]
    log.append(t, "a")
    log.extend([(t, "b")])
    log.extend([t], ["c"])
    got = list(log.point(t))
    assert sorted(o for _, o in got) == ["a", "b", "c"]
    assert all(type(ts) is int and ts == 7 for ts, _ in got)
    assert len(list(log.range(t, 8))) == 3 and len(list(log.range(6, t))) == 0
    assert len(list(log.since(t))) == 3 and len(list(log.until(t))) == 0
    log.delete_range(t, 8)
    assert list(log.all()) == []


@pytest.mark.parametrize("kind", GOOD_KINDS)
def test_index_like_delete_before(log, np, kind):
    t = _good_values(np)[kind]
    log.extend([(6, "a"), (7, "b")])
    log.delete_before(t)
    assert list(log.all()) == [(7, "b")]


def test_index_raising_propagates(log):
    class Bad:
        def __index__(self):
            raise ZeroDivisionError("from __index__")

    with pytest.raises(ZeroDivisionError, match="from __index__"):
        log.append(Bad(), "x")
    with pytest.raises(ZeroDivisionError):
        log.range(Bad(), 5)
    assert list(log.all()) == []


def test_index_returning_huge_overflows(log):
    with pytest.raises(OverflowError) as ei:
        log.append(Idx(2**64), "x")
    assert str(ei.value) == S.MSG_TS_OVERFLOW


STR_OPTIONS = {
    "time_unit": ("s", "ms", "us", "ns"),
    "maintenance": ("disabled", "background"),
    "busy_policy": ("raise", "silent", "flush"),
}
INT_OPTIONS = ("memtable_max_bytes", "target_page_bytes", "sealed_max_runs", "drain_batch_limit")


@pytest.mark.parametrize("bad,typename", [(1, "int"), (b"ms", "bytes"), (["ms"], "list")])
@pytest.mark.parametrize("name", list(STR_OPTIONS))
def test_str_option_wrong_type(backend, name, bad, typename):
    with pytest.raises(TypeError) as ei:
        backend.Timelog(**{name: bad})
    assert str(ei.value) == S.MSG_OPTION_TYPE % (name, typename)


@pytest.mark.parametrize("bad", ["xx", "", "MS", "ms "])
@pytest.mark.parametrize("name", list(STR_OPTIONS))
def test_str_option_bad_value(backend, name, bad):
    with pytest.raises(ValueError) as ei:
        backend.Timelog(**{name: bad})
    msg = str(ei.value)
    assert name in msg
    for allowed in STR_OPTIONS[name]:
        assert allowed in msg


@pytest.mark.parametrize("name", INT_OPTIONS)
def test_int_option_float(backend, name):
    with pytest.raises(TypeError) as ei:
        backend.Timelog(**{name: 4096.0})
    assert str(ei.value) == S.MSG_FLOAT_INDEX


@pytest.mark.parametrize("name", INT_OPTIONS)
def test_int_option_str(backend, name):
    with pytest.raises(TypeError):
        backend.Timelog(**{name: "4096"})


@pytest.mark.parametrize("value", [2**63, -(2**63) - 1], ids=["above", "below"])
@pytest.mark.parametrize("name", INT_OPTIONS)
def test_int_option_overflow(backend, name, value):
    with pytest.raises(OverflowError) as ei:
        backend.Timelog(**{name: value})
    assert str(ei.value) == S.MSG_INT_OVERFLOW


@pytest.mark.parametrize("name", INT_OPTIONS)
def test_int_option_negative(backend, name):
    with pytest.raises(ValueError) as ei:
        backend.Timelog(**{name: -1})
    assert name in str(ei.value)


@pytest.mark.parametrize("name", ["memtable_max_bytes", "target_page_bytes", "sealed_max_runs"])
def test_size_option_zero(backend, name):
    with pytest.raises(ValueError) as ei:
        backend.Timelog(**{name: 0})
    assert name in str(ei.value)


def test_drain_batch_limit_zero_is_unlimited(backend):
    log = backend.Timelog(drain_batch_limit=0)
    log.append(1, "x")
    log.close()


@pytest.mark.parametrize("name", INT_OPTIONS)
def test_int_option_index_types(backend, np, name):
    for value in (np.int64(3), Idx(3), 3):
        log = backend.Timelog(**{name: value})
        log.append(1, "x")
        assert list(log.all()) == [(1, "x")]
        log.close()


@pytest.mark.parametrize("name", ["memtable_max_bytes", "target_page_bytes", "sealed_max_runs"])
def test_size_option_tiny_and_huge(backend, name):
    for value in (1, 2**40):
        log = backend.Timelog(**{name: value})
        S.fill(log, 50)
        log.compact()
        assert len(list(log.all())) == 50
        log.close()


def test_refused_constructor_leaves_nothing_behind(backend):
    import gc

    S.collect()
    before = len(gc.get_objects())
    for _ in range(200):
        with pytest.raises(ValueError):
            backend.Timelog(time_unit="ms", busy_policy="nope")
        with pytest.raises(TypeError):
            backend.Timelog(maintenance=1)
        with pytest.raises(OverflowError):
            backend.Timelog(sealed_max_runs=2**64)
    S.collect()
    assert len(gc.get_objects()) - before < 50


# Cross-backend: identical inputs give the identical exception type and text.
def _busy_close():
    def run(log):
        it = log.all()
        try:
            log.close()
        finally:
            it.close()

    return run


CROSS_CASES = {
    "ts_bool": lambda b: b.Timelog().append(True, 1),
    "ts_float": lambda b: b.Timelog().range(0.5, 2),
    "ts_overflow": lambda b: b.Timelog().since(2**64),
    "extend_pair": lambda b: b.Timelog().extend([(1, 2, 3)]),
    "extend_lengths": lambda b: b.Timelog().extend([1, 2], ["a"]),
    "extend_2d": lambda b: b.Timelog().extend(memoryview(bytes(32)).cast("q", (2, 2)), [1, 2]),
    "batch_negative": lambda b: b.Timelog().all().next_batch(-3),
    "no_construct": lambda b: b.TimelogIter(),
    "closed": lambda b: _closed(b).flush(),
    "option_type": lambda b: b.Timelog(busy_policy=3),
    "int_overflow": lambda b: b.Timelog(sealed_max_runs=2**70),
    "time_unit_value": lambda b: b.Timelog(time_unit="minutes"),
    "maintenance_value": lambda b: b.Timelog(maintenance="sometimes"),
    "busy_policy_value": lambda b: b.Timelog(busy_policy="retry"),
    "memtable_zero": lambda b: b.Timelog(memtable_max_bytes=0),
    "page_negative": lambda b: b.Timelog(target_page_bytes=-5),
    "runs_zero": lambda b: b.Timelog(sealed_max_runs=0),
    "drain_negative": lambda b: b.Timelog(drain_batch_limit=-1),
    "kind_value": lambda b: b.Timelog().page_spans(0, 1, kind="pages"),
    "kind_type": lambda b: b.Timelog().page_spans(0, 1, kind=0),
    "busy_close": lambda b: _busy_close()(b.Timelog()),
    "span_closed": lambda b: _closed_span(b).copy(),
    "index_range": lambda b: _open_span(b).objects()[5],
    "index_type": lambda b: _open_span(b).objects()["a"],
    "span_exported": lambda b: _exported_span_close(b),
    "busy_append": lambda b: _append_until_busy(b),
}


def _append_until_busy(b):
    log = b.Timelog(busy_policy="raise", memtable_max_bytes=1, sealed_max_runs=1)
    for t in range(100000):
        log.append(t, None)


def _closed(b):
    log = b.Timelog()
    log.close()
    return log


def _open_span(b):
    log = b.Timelog()
    log.append(1, "x")
    log.flush()
    with log.page_spans(0, 10) as spans:
        return next(spans)


def _closed_span(b):
    span = _open_span(b)
    span.close()
    return span


def _exported_span_close(b):
    span = _open_span(b)
    mv = span.timestamps
    try:
        span.close()
    finally:
        mv.release()


def _outcome(backend, case):
    try:
        CROSS_CASES[case](backend.ns)
    except Exception as exc:  # the outcome under comparison
        return type(exc), str(exc)
    finally:
        S.collect()
    return None, None


@pytest.mark.parametrize("case", list(CROSS_CASES))
def test_same_error_on_every_backend(backend, others, case):
    exc_type, msg = _outcome(backend, case)
    assert exc_type is not None, "no exception raised"
    assert msg, "empty message"
    for other in others:
        assert _outcome(other, case) == (exc_type, msg), other.name
