"""Inputs that run Python code in the middle of a binding call (design.md §8: no
input from Python may crash the process, leak a reference or lose a record)."""

from __future__ import annotations

import array
import threading
import weakref

import pytest

from conformance import _support as S


class Hook:
    """An integer whose __index__ runs a callback first."""

    def __init__(self, value, action):
        self.value = value
        self.action = action

    def __index__(self):
        action, self.action = self.action, None
        if action is not None:
            action()
        return self.value


def test_index_clears_the_list_being_extended(log):
    items = []
    items += [(Hook(0, items.clear), S.Payload(0))] + [(i, S.Payload(i)) for i in range(1, 50)]
    try:
        log.extend(items)
    except (RuntimeError, IndexError, ValueError):
        pass
    got = [t for t, _ in log.all()]
    # Whatever the binding chose (stop early or finish from its own copy),
    # what it stored is a prefix of the original items.
    assert got == list(range(len(got)))


def test_index_grows_the_list_being_extended(log):
    items = []

    def grow():
        # Forces the list to reallocate its item array.
        items.extend((1000 + i, S.Payload(1000 + i)) for i in range(5000))

    items += [(i, S.Payload(i)) for i in range(10)]
    items.append((Hook(10, grow), S.Payload(10)))
    items += [(i, S.Payload(i)) for i in range(11, 20)]
    try:
        log.extend(items)
    except (RuntimeError, IndexError, ValueError):
        pass
    got = [t for t, _ in log.all()]
    assert got[:11] == list(range(11))
    assert set(got) <= set(range(20)) | set(range(1000, 6000))


def test_index_clears_the_pair_holding_the_payload(log):
    payload = S.Payload("p")
    wr = weakref.ref(payload)
    pair = [None, payload]
    pair[0] = Hook(5, pair.clear)
    del payload
    try:
        log.extend([pair])
    except (RuntimeError, IndexError, TypeError, ValueError):
        pass
    stored = list(log.all())
    if stored:
        assert stored == [(5, wr())] and wr() is not None
    del stored
    log.close()
    assert S.dead([wr]) == [0]


def test_timestamps_sequence_cleared_by_objects_getitem(log):
    ts = list(range(100))

    class Objs:
        def __len__(self):
            return 100

        def __getitem__(self, i):
            if i == 10:
                ts.clear()
            if not 0 <= i < 100:
                raise IndexError(i)
            return ("o", i)

    try:
        log.extend(ts, Objs())
    except (RuntimeError, IndexError, ValueError):
        pass
    got = [t for t, _ in log.all()]
    assert got == list(range(len(got)))


def test_objects_sequence_raises_midway_no_leak(log):
    marker = S.Payload("m")
    base = S.refcount(marker)

    class Objs:
        def __len__(self):
            return 3000

        def __getitem__(self, i):
            if i == 2500:
                raise KeyError("objects failed")
            return marker

    with pytest.raises(KeyError):
        log.extend(list(range(3000)), Objs())
    log.close()
    S.collect()
    assert S.refcount(marker) == base


def test_objects_sequence_shorter_than_len(log):
    class Liar:
        def __len__(self):
            return 5

        def __getitem__(self, i):
            if i >= 2:
                raise IndexError(i)
            return i

    with pytest.raises(IndexError):
        log.extend([1, 2, 3, 4, 5], Liar())


def test_buffer_timestamps_with_objects_that_append(log, np):
    ts = np.arange(100, dtype=np.int64)

    class Objs:
        def __len__(self):
            return 100

        def __getitem__(self, i):
            if i == 50:
                log.append(-1, "reentrant")
            return i

    log.extend(ts, Objs())
    got = [t for t, _ in log.all()]
    assert sorted(got) == [-1] + list(range(100))


def test_reversed_memoryview_timestamps(log):
    mv = memoryview(array.array("q", range(10)))[::-1]
    log.extend(mv, list(range(10)))
    assert [(t, o) for t, o in log.all()] == [(t, 9 - t) for t in range(10)]


def test_index_appends_to_same_log(log):
    done = threading.Event()
    errors = []

    def run():
        try:
            log.append(Hook(1, lambda: log.append(0, "inner")), "outer")
            log.extend([(Hook(3, lambda: log.extend([(2, "inner2")])), "outer2")])
        except Exception as exc:
            errors.append(exc)
        finally:
            done.set()

    th = threading.Thread(target=run, daemon=True)
    th.start()
    assert done.wait(20), "a re-entrant call from __index__ deadlocked"
    assert errors == []
    assert [o for _, o in log.all()] == ["inner", "outer", "inner2", "outer2"]


def test_index_closes_log_during_append(backend):
    log = backend.Timelog()
    with pytest.raises(backend.TimelogError) as ei:
        log.append(Hook(1, log.close), "x")
    assert str(ei.value) == S.MSG_CLOSED
    assert log.closed


def test_index_closes_log_during_range(backend):
    log = backend.Timelog()
    log.append(1, "x")
    with pytest.raises(backend.TimelogError):
        log.range(0, Hook(5, log.close))
    assert log.closed


def test_next_batch_size_closes_iterator(log):
    S.fill(log, 10)
    it = log.all()
    got = it.next_batch(Hook(5, it.close))
    assert got == [] or [t for t, _ in got] == [0, 1, 2, 3, 4]
    assert it.closed or len(list(it)) == 5
    it.close()
    assert S.pins(log) == 0


def test_objects_view_index_closes_span(log):
    log.extend([(t, t) for t in range(10)])
    log.flush()
    with log.page_spans(0, 10) as spans:
        span = next(spans)
    view = span.objects()
    try:
        value = view[Hook(0, span.close)]
    except ValueError as exc:
        assert str(exc) == S.MSG_SPAN_CLOSED
    else:
        assert value == 0
    assert span.closed
    del view, span
    S.collect()
    assert S.pins(log) == 0


def test_payload_del_during_iteration_release(log):
    # The last reference to a payload goes away while an iterator yields it.
    class Loud:
        def __init__(self, sink):
            self.sink = sink

        def __del__(self):
            self.sink.append(1)

    sink = []
    log.append(1, Loud(sink))
    it = log.all()
    log.delete_range(0, 5)
    log.compact()
    ts, obj = next(it)
    assert ts == 1 and isinstance(obj, Loud)
    del obj
    list(it)
    log.stats()
    S.finalize()
    assert sink == [1]


def test_next_batch_on_iterator_of_dropped_log(backend):
    log = backend.Timelog(**S.TINY)
    S.fill(log, 300)
    log.compact()
    it = log.all()
    del log
    S.collect()
    got = []
    while batch := it.next_batch(Hook(64, None)):
        got += batch
    assert [t for t, _ in got] == list(range(300))
