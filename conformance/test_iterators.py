"""TimelogIter lifetimes, pins and next_batch edges (design.md §5.1, §5.2)."""

from __future__ import annotations

import weakref

import pytest

from conformance import _support as S

FACTORIES = {
    "all": lambda log: log.all(),
    "range": lambda log: log.range(0, 100),
    "since": lambda log: log.since(0),
    "until": lambda log: log.until(100),
    "point": lambda log: log.point(3),
    "equal": lambda log: log.equal(3),
}


@pytest.mark.parametrize("kind", list(FACTORIES))
def test_pin_taken_at_creation(log, kind):
    S.fill(log, 10)
    assert S.pins(log) == 0
    it = FACTORIES[kind](log)
    assert S.pins(log) > 0
    assert not it.closed
    it.close()
    assert S.pins(log) == 0


@pytest.mark.parametrize("kind", list(FACTORIES))
def test_pin_released_on_exhaustion(log, kind):
    S.fill(log, 10)
    it = FACTORIES[kind](log)
    list(it)
    assert it.closed
    assert S.pins(log) == 0
    log.close()


def test_pin_released_on_close(log):
    S.fill(log, 10)
    it = log.all()
    assert next(it) == (0, ("p", 0))
    it.close()
    assert it.closed and S.pins(log) == 0
    log.close()


def test_pin_released_on_context_exit(log):
    S.fill(log, 10)
    with log.all() as it:
        assert next(it)[0] == 0
        assert S.pins(log) > 0
    assert it.closed and S.pins(log) == 0


def test_context_exit_with_exception_closes_and_propagates(log):
    S.fill(log, 10)
    with pytest.raises(KeyError):
        with log.all() as it:
            next(it)
            raise KeyError("boom")
    assert it.closed and S.pins(log) == 0


def test_enter_returns_self(log):
    it = log.all()
    with it as entered:
        assert entered is it


def test_exit_returns_false(log):
    it = log.all()
    assert it.__exit__(None, None, None) is False
    assert it.closed


def test_pin_released_on_gc_without_exhaustion(log):
    S.fill(log, 10)
    it = log.all()
    next(it)
    del it
    S.collect()
    assert S.pins(log) == 0
    log.close()


def test_close_idempotent(log):
    S.fill(log, 3)
    it = log.all()
    it.close()
    it.close()
    assert it.closed
    assert it.close() is None


def test_close_after_exhaustion(log):
    S.fill(log, 3)
    it = log.all()
    list(it)
    it.close()
    assert it.closed


def test_stop_iteration_after_close(log):
    S.fill(log, 3)
    it = log.all()
    it.close()
    with pytest.raises(StopIteration):
        next(it)
    assert list(it) == []


def test_stop_iteration_repeats_after_exhaustion(log):
    S.fill(log, 2)
    it = log.all()
    assert len(list(it)) == 2
    for _ in range(3):
        with pytest.raises(StopIteration):
            next(it)


def test_iter_returns_self(log):
    it = log.all()
    assert iter(it) is it


def test_exhausted_iterator_closed_before_stop(log):
    S.fill(log, 1)
    it = log.all()
    next(it)
    with pytest.raises(StopIteration):
        next(it)
    assert it.closed


def test_next_batch_zero(log):
    S.fill(log, 5)
    it = log.all()
    assert it.next_batch(0) == []
    assert not it.closed
    assert len(it.next_batch(10)) == 5


def test_next_batch_negative(log):
    S.fill(log, 5)
    it = log.all()
    with pytest.raises(ValueError) as ei:
        it.next_batch(-1)
    assert str(ei.value) == S.MSG_BATCH_NEGATIVE
    # The iterator is untouched by the refused call.
    assert len(list(it)) == 5


def test_next_batch_full_then_partial_closes(log):
    S.fill(log, 10)
    it = log.all()
    first = it.next_batch(4)
    assert [t for t, _ in first] == [0, 1, 2, 3]
    assert not it.closed and S.pins(log) > 0
    second = it.next_batch(4)
    assert [t for t, _ in second] == [4, 5, 6, 7]
    last = it.next_batch(4)
    assert [t for t, _ in last] == [8, 9]
    assert it.closed and S.pins(log) == 0
    assert it.next_batch(4) == []


def test_next_batch_exact_multiple(log):
    S.fill(log, 8)
    it = log.all()
    assert len(it.next_batch(4)) == 4
    assert len(it.next_batch(4)) == 4
    assert it.next_batch(4) == []
    assert it.closed and S.pins(log) == 0


def test_next_batch_after_close(log):
    S.fill(log, 5)
    it = log.all()
    it.close()
    assert it.next_batch(3) == []
    assert it.next_batch(0) == []


def test_next_batch_returns_list_of_tuples(log):
    payload = object()
    log.append(7, payload)
    batch = log.all().next_batch(5)
    assert type(batch) is list
    assert batch == [(7, payload)] and type(batch[0]) is tuple
    assert batch[0][1] is payload


def test_next_batch_index_semantics(log, np):
    S.fill(log, 5)
    it = log.all()
    assert len(it.next_batch(np.int64(2))) == 2
    with pytest.raises(TypeError) as ei:
        it.next_batch(2.0)
    assert str(ei.value) == S.MSG_FLOAT_INDEX
    with pytest.raises(TypeError):
        it.next_batch("3")
    assert len(it.next_batch(10)) == 3


def test_next_batch_large_n(log):
    S.fill(log, 5)
    assert len(log.all().next_batch(1 << 40)) == 5


# What the caller holds must never change, whatever it reads afterwards.
def test_next_batch_never_changes_what_the_caller_keeps(log):
    objs = S.fill(log, 60)
    it = log.all()
    kept = it.next_batch(5)                  # a whole batch, kept
    records = []                             # single records of dropped batches
    got = [t for t, _ in kept]
    while batch := it.next_batch(5):
        records.append(batch[2])
        got += [t for t, _ in batch]
    assert got == list(range(60))
    assert kept == [(t, objs[t]) for t in range(5)]
    assert records == [(t, objs[t]) for t in range(7, 60, 5)]
    assert all(obj is objs[t] for t, obj in records)


@pytest.mark.parametrize("read", ["next", "next_batch"])
def test_records_hash_like_fresh_tuples(log, read):
    """Every record is a new tuple (design.md §9): Python 3.14 caches a
    tuple's hash inside it, so a binding that refilled a hashed, dropped
    record in place would hand out a record with a stale hash, and dict and
    set lookups with it would go wrong."""
    S.fill(log, 300)
    it = log.all()
    table = {}
    while True:
        records = [next(it, None)] if read == "next" else it.next_batch(7)
        if records == [None] or not records:
            break
        for rec in records:
            assert hash(rec) == hash((rec[0], rec[1]))
            table[rec] = rec[0]
        del records, rec                     # dropped: free to be reused by CPython, not by us
    assert len(table) == 300
    assert all(table[(t, obj)] == t for t, obj in log.all())


def test_next_batch_after_the_caller_edits_dropped_batches(log):
    S.fill(log, 90)
    it = log.all()
    got = []
    for i in range(18):
        batch = it.next_batch(5)
        got += [t for t, _ in batch]
        if i % 3 == 0:
            batch[0] = ["not", "a", "record"]
        elif i % 3 == 1:
            batch.pop()
        else:
            batch[4] = (None, object())
        del batch
    assert got == list(range(90))
    assert it.next_batch(5) == []


def test_next_batch_payload_references_return_to_baseline(log):
    payload = S.Payload(0)
    for t in range(40):
        log.append(t, payload)
    stored = S.refcount(payload)
    it = log.all()
    while it.next_batch(3):
        pass
    assert it.closed
    assert S.refcount(payload) == stored
    it = log.all()
    first, second = it.next_batch(4), it.next_batch(4)
    del first, second
    it.next_batch(4)
    it.close()
    assert S.refcount(payload) == stored


def test_mixing_next_and_next_batch(tiny):
    S.fill(tiny, 50)
    it = tiny.all()
    got = [next(it)]
    got += it.next_batch(10)
    got.append(next(it))
    got += list(it)
    assert [t for t, _ in got] == list(range(50))


def test_large_batches_across_layers(tiny):
    S.fill(tiny, 300)
    tiny.flush()
    S.fill(tiny, 300, start=300)
    tiny.compact()
    S.fill(tiny, 300, start=600)
    it = tiny.all()
    got = []
    while batch := it.next_batch(128):
        got += batch
    assert [t for t, _ in got] == list(range(900))


def test_iterator_keeps_log_alive(backend):
    log = backend.Timelog()
    payloads = S.fill(log, 5, payload=S.Payload)
    refs = [weakref.ref(p) for p in payloads]
    del payloads
    it = log.all()
    del log
    S.collect()
    assert S.dead(refs) == []
    got = list(it)
    assert [p.key for _, p in got] == [0, 1, 2, 3, 4]
    del got
    # Exhausted: nothing keeps the log; its payloads go with it.
    del it
    S.collect()
    assert len(S.dead(refs)) == len(refs)


def test_partially_read_iterator_keeps_log_alive(backend):
    log = backend.Timelog(**S.TINY)
    S.fill(log, 100)
    it = log.since(10)
    del log
    S.collect()
    assert next(it)[0] == 10
    assert len(it.next_batch(1000)) == 89


def _cycle_iterator(log):
    return log.all()


def _cycle_read_iterator(log):
    it = log.all()
    next(it)
    return it


def _cycle_span_iterator(log):
    return log.page_spans(0, 100)


def _cycle_span(log):
    return next(iter(log.page_spans(0, 100)))


def _cycle_objects_view(log):
    return next(iter(log.page_spans(0, 100))).objects()


CYCLE_READERS = {
    "iterator": _cycle_iterator,
    "partially_read_iterator": _cycle_read_iterator,
    "span_iterator": _cycle_span_iterator,
    "span": _cycle_span,
    "objects_view": _cycle_objects_view,
}


@pytest.mark.parametrize("reader", list(CYCLE_READERS))
def test_cycle_through_reader_is_collected(backend, reader):
    # payload -> reader -> log -> payload: only the cyclic GC can free it,
    # through the log's traverse visiting the payloads it holds.
    log = backend.Timelog(**S.TINY)
    holder = S.Payload("holder")
    S.fill(log, 50)
    log.append(25, holder)
    log.flush()
    holder.ref = CYCLE_READERS[reader](log)
    wr = weakref.ref(holder)
    del log, holder
    S.collect()
    assert S.dead([wr]) == [0]


def test_cycle_collection_releases_pin_of_other_log(backend):
    # Iterator of log A stored in log B's payload; B and the iterator form
    # a cycle; A (kept) must see its pin released when the cycle is collected.
    a = backend.Timelog()
    b = backend.Timelog()
    S.fill(a, 3)
    holder = S.Payload("h")
    b.append(1, holder)
    it_b = b.all()
    holder.ref = (a.all(), it_b)
    assert S.pins(a) > 0
    del b, it_b, holder
    S.collect()
    assert S.pins(a) == 0
    a.close()


def test_many_iterators_all_released(log):
    S.fill(log, 20)
    its = [log.range(i, i + 5) for i in range(20)]
    assert S.pins(log) > 0
    for i, it in enumerate(its):
        if i % 3 == 0:
            list(it)
        elif i % 3 == 1:
            it.close()
    del its
    S.collect()
    assert S.pins(log) == 0
    log.close()


def test_iterator_type(backend, log):
    assert type(log.all()) is backend.TimelogIter
    assert type(log.range(0, 1)) is backend.TimelogIter
