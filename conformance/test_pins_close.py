"""Pins, close() refused while readers live, closed-log errors, `with` rules
(design.md §5.2, §5.3)."""

from __future__ import annotations

import pytest

from conformance import _support as S


def _iterator(log):
    it = log.all()
    next(it)
    return [it]


def _span_iter(log):
    return [log.page_spans(0, 100)]


def _span(log):
    with log.page_spans(0, 100) as spans:
        return [next(spans)]


def _objects_view(log):
    with log.page_spans(0, 100) as spans:
        return [next(spans).objects()]


def _buffer(log):
    with log.page_spans(0, 100) as spans:
        # Only the exported buffer keeps the span (and so the snapshot) alive.
        return [next(spans).timestamps]


def _numpy_buffer(log):
    import numpy

    with log.page_spans(0, 100) as spans:
        return [numpy.asarray(next(spans).timestamps)]


READERS = {
    "iterator": _iterator,
    "span_iterator": _span_iter,
    "span": _span,
    "objects_view": _objects_view,
    "exported_buffer": _buffer,
    "numpy_array": _numpy_buffer,
}


def _release(holders):
    """Close what can be closed explicitly, then drop every reference."""
    for obj in holders:
        if isinstance(obj, memoryview):
            obj.release()
        elif hasattr(obj, "close"):
            obj.close()
    holders.clear()
    S.collect()


def _prepared(backend):
    log = backend.Timelog(**S.TINY)
    S.fill(log, 40)
    log.flush()
    return log


# Every reader kind, the numpy one marked where numpy cannot let go of it.
ALL_READERS = [pytest.param(name, marks=S.PYPY_NUMPY_KEEPS_VIEWS) if name == "numpy_array"
               else name for name in READERS]


@pytest.mark.parametrize("reader", ALL_READERS)
def test_reader_pins_log(backend, reader):
    log = _prepared(backend)
    holders = READERS[reader](log)
    S.collect()
    assert S.pins(log) > 0
    holders.clear()
    S.collect()
    assert S.pins(log) == 0
    log.close()


@pytest.mark.parametrize("reader", ALL_READERS)
def test_close_busy_while_reader_lives(backend, reader):
    log = _prepared(backend)
    holders = READERS[reader](log)
    with pytest.raises(backend.TimelogBusyError):
        log.close()
    assert not log.closed
    # Fully usable after the refusal.
    log.append(1000, "after")
    log.delete_range(0, 10)
    log.flush()
    log.compact()
    assert [t for t, _ in log.since(35)] == [35, 36, 37, 38, 39, 1000]
    with log.page_spans(0, 2000) as spans:
        assert sum(len(s) for s in spans) == 31
    # Release the reader: close succeeds.
    _release(holders)
    log.close()
    assert log.closed


@pytest.mark.parametrize("reader", ["iterator", "span_iterator", "span"])
def test_explicit_reader_close_allows_log_close(backend, reader):
    log = _prepared(backend)
    holders = READERS[reader](log)
    holders[0].close()
    # The closed reader object is still referenced: it no longer pins.
    assert S.pins(log) == 0
    log.close()
    assert log.closed
    assert holders[0].closed


def test_close_busy_is_a_timelog_error(backend, log):
    it = log.all()
    with pytest.raises(backend.TimelogError) as ei:
        log.close()
    assert type(ei.value) is backend.TimelogBusyError
    it.close()
    log.close()


def test_close_busy_message_same_twice(backend, log):
    it = log.all()
    msgs = []
    for _ in range(2):
        with pytest.raises(backend.TimelogBusyError) as ei:
            log.close()
        msgs.append(str(ei.value))
    assert msgs[0] == msgs[1] and msgs[0]
    it.close()


def test_close_is_idempotent(log):
    log.close()
    log.close()
    assert log.closed


def test_close_with_no_readers_releases_everything(backend):
    import weakref

    log = backend.Timelog()
    payloads = S.fill(log, 10, payload=S.Payload)
    refs = [weakref.ref(p) for p in payloads]
    del payloads
    log.close()
    assert len(S.dead(refs)) == len(refs)


def test_close_after_exhausted_iterator_still_referenced(log):
    S.fill(log, 3)
    it = log.all()
    list(it)
    log.close()
    assert log.closed
    assert it.closed
    assert it.next_batch(5) == []
    with pytest.raises(StopIteration):
        next(it)


CLOSED_CALLS = {
    "append": lambda log: log.append(1, "x"),
    "extend_pairs": lambda log: log.extend([(1, "x")]),
    "extend_empty": lambda log: log.extend([]),
    "extend_columns": lambda log: log.extend([1], ["x"]),
    "delete_range": lambda log: log.delete_range(0, 10),
    "delete_before": lambda log: log.delete_before(10),
    "flush": lambda log: log.flush(),
    "compact": lambda log: log.compact(),
    "start_maintenance": lambda log: log.start_maintenance(),
    "stop_maintenance": lambda log: log.stop_maintenance(),
    "range": lambda log: log.range(0, 10),
    "since": lambda log: log.since(0),
    "until": lambda log: log.until(0),
    "all": lambda log: log.all(),
    "equal": lambda log: log.equal(0),
    "point": lambda log: log.point(0),
    "page_spans": lambda log: log.page_spans(0, 10),
    "page_spans_all": lambda log: log.page_spans(0, 10, kind="all"),
    "stats": lambda log: log.stats(),
}


@pytest.mark.parametrize("call", list(CLOSED_CALLS))
def test_method_on_closed_log_raises(backend, call):
    log = backend.Timelog()
    log.append(1, "x")
    log.close()
    with pytest.raises(backend.TimelogError) as ei:
        CLOSED_CALLS[call](log)
    assert type(ei.value) is backend.TimelogError
    assert str(ei.value) == S.MSG_CLOSED


def test_with_closes_on_exit(backend):
    with backend.Timelog() as log:
        log.append(1, "a")
        assert not log.closed
    assert log.closed


def test_enter_returns_self(backend):
    log = backend.Timelog()
    with log as entered:
        assert entered is log


def test_exit_returns_false(backend):
    log = backend.Timelog()
    assert log.__exit__(None, None, None) is False
    assert log.closed
    log2 = backend.Timelog()
    assert log2.__exit__(KeyError, KeyError("x"), None) is False
    assert log2.closed


def test_with_exception_no_readers_closes_and_propagates(backend):
    with pytest.raises(KeyError):
        with backend.Timelog() as log:
            log.append(1, "a")
            raise KeyError("boom")
    assert log.closed


def test_with_reader_open_no_exception_raises_busy(backend):
    with pytest.raises(backend.TimelogBusyError):
        with backend.Timelog() as log:
            log.append(1, "a")
            it = log.all()
    assert not log.closed
    assert list(it) == [(1, "a")]
    log.close()
    assert log.closed


def test_with_reader_open_exception_propagates_unchanged(backend):
    err = KeyError("boom")
    with pytest.raises(KeyError) as ei:
        with backend.Timelog() as log:
            log.append(1, "a")
            it = log.all()
            raise err
    assert ei.value is err
    assert not isinstance(ei.value.__context__, backend.TimelogBusyError)
    assert not log.closed
    log.append(2, "b")
    assert [t for t, _ in it] == [1]
    log.close()


def test_exit_with_exception_and_reader_returns_false(backend):
    log = backend.Timelog()
    it = log.all()
    assert log.__exit__(KeyError, KeyError("x"), None) is False
    assert not log.closed
    it.close()
    log.close()


def test_with_span_open_exception_propagates(backend):
    log = backend.Timelog()
    log.append(1, "a")
    log.flush()
    with pytest.raises(RuntimeError):
        with log:
            span = next(iter(log.page_spans(0, 10)))
            raise RuntimeError("x")
    assert not log.closed
    span.close()
    log.close()


def test_with_buffer_exported_no_exception_raises_busy(backend):
    log = backend.Timelog()
    log.append(1, "a")
    log.flush()
    with pytest.raises(backend.TimelogBusyError):
        with log:
            with log.page_spans(0, 10) as spans:
                mv = next(spans).timestamps
    assert not log.closed
    assert mv.tolist() == [1]
    mv.release()
    log.close()
