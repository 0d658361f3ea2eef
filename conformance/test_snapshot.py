"""Snapshot isolation: a reader sees the log as it was when made (design.md §5.4)."""

from __future__ import annotations

import time
import weakref

import pytest

from conformance import _support as S


def mutate_append(log):
    log.append(5, "new5")
    log.append(1000, "new1000")


def mutate_extend(log):
    log.extend([(t, "ext") for t in range(0, 200, 7)])


def mutate_delete_range(log):
    log.delete_range(10, 30)


def mutate_delete_before(log):
    log.delete_before(50)


def mutate_flush(log):
    log.append(500, "flushed")
    log.flush()


def mutate_compact(log):
    log.delete_range(0, 40)
    log.compact()


def mutate_everything(log):
    mutate_append(log)
    mutate_delete_range(log)
    mutate_flush(log)
    mutate_extend(log)
    mutate_compact(log)
    mutate_delete_before(log)
    log.compact()


MUTATIONS = {
    "append": (mutate_append, lambda m: m + [(5, "new5"), (1000, "new1000")]),
    "extend": (mutate_extend, lambda m: m + [(t, "ext") for t in range(0, 200, 7)]),
    "delete_range": (mutate_delete_range, lambda m: [r for r in m if not 10 <= r[0] < 30]),
    "delete_before": (mutate_delete_before, lambda m: [r for r in m if r[0] >= 50]),
    "flush": (mutate_flush, lambda m: m + [(500, "flushed")]),
    "compact": (mutate_compact, lambda m: [r for r in m if r[0] >= 40]),
}

START = [(t, ("p", t)) for t in range(100)]


@pytest.fixture(params=["memtable", "flushed", "compacted"])
def base_log(request, backend):
    log = S.layered_log(backend, START, request.param)
    yield log
    S.close_log(log)


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_iterator_a_old_view_b_new_view(base_log, mutation):
    mutate, model = MUTATIONS[mutation]
    a = base_log.all()
    mutate(base_log)
    b = base_log.all()
    assert S.normalized(a) == S.normalized(START)
    assert S.normalized(b) == S.normalized(model(START))


@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_partially_read_iterator_keeps_view(base_log, mutation):
    mutate, _ = MUTATIONS[mutation]
    a = base_log.range(20, 80)
    head = a.next_batch(10)
    mutate(base_log)
    rest = list(a)
    assert [t for t, _ in head + rest] == list(range(20, 80))


def test_everything_between_two_iterators(base_log):
    a = base_log.all()
    mutate_everything(base_log)
    b = base_log.all()
    model = START
    for name in ("append", "delete_range", "flush", "extend", "compact", "delete_before"):
        model = MUTATIONS[name][1](model)
    assert S.normalized(a) == S.normalized(START)
    assert S.normalized(b) == S.normalized(model)


def test_chain_of_snapshots(backend):
    log = backend.Timelog(**S.TINY)
    its = []
    for step in range(10):
        its.append((step, log.all()))
        log.extend([(step * 10 + i, step) for i in range(10)])
        if step % 2:
            log.delete_before(step * 5)
        if step % 3 == 0:
            log.compact()
    expected = []
    model = []
    for step in range(10):
        expected.append(list(model))
        model += [(step * 10 + i, step) for i in range(10)]
        if step % 2:
            model = [r for r in model if r[0] >= step * 5]
    for (step, it), exp in S.zip_exact(its, expected):
        assert S.normalized(it) == S.normalized(exp), step
    log.close()


def test_snapshot_keeps_deleted_payloads_alive(backend):
    log = backend.Timelog(**S.TINY)
    payloads = [S.Payload(i) for i in range(30)]
    log.extend([(p.key, p) for p in payloads])
    refs = [weakref.ref(p) for p in payloads]
    del payloads
    it = log.all()
    log.delete_range(S.TS_MIN, S.TS_MAX)
    log.compact()
    log.flush()
    log.stats()
    assert S.dead(refs) == []
    assert [p.key for _, p in it] == list(range(30))
    log.stats()
    assert len(S.dead(refs)) == len(refs)
    log.close()


def test_two_readers_overlapping_epochs(backend):
    log = backend.Timelog(**S.TINY)
    first = [S.Payload(i) for i in range(10)]
    log.extend([(p.key, p) for p in first])
    refs_first = [weakref.ref(p) for p in first]
    del first
    old = log.all()  # can see the first batch
    log.delete_before(10)
    log.compact()
    second = [S.Payload(i) for i in range(10, 20)]
    log.extend([(p.key, p) for p in second])
    refs_second = [weakref.ref(p) for p in second]
    del second
    newer = log.all()  # sees only the second batch
    log.delete_before(20)
    log.compact()
    old.close()
    log.stats()
    # The epoch rule: the first batch no longer visible to any live reader.
    assert len(S.dead(refs_first)) == len(refs_first)
    assert S.dead(refs_second) == []
    assert [p.key for _, p in newer] == list(range(10, 20))
    log.stats()
    assert len(S.dead(refs_second)) == len(refs_second)
    log.close()


def test_span_iterator_snapshot_before_flush(backend):
    log = backend.Timelog(**S.TINY)
    S.fill(log, 20)
    log.flush()
    spans = log.page_spans(0, 100)
    S.fill(log, 20, start=20)
    log.flush()
    got = []
    for span in spans:
        got += span.copy_timestamps()
        span.close()
    assert sorted(got) == list(range(20))
    assert sorted(t for t, _ in S.read_spans(log, 0, 100)) == list(range(40))
    log.close()


def test_background_maintenance_does_not_change_old_reader(backend):
    log = backend.Timelog(maintenance="background", **S.TINY)
    S.fill(log, 200)
    a = log.all()
    for t in range(200, 2000):
        log.append(t, ("p", t))
    log.delete_before(100)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        stats = log.stats()
        if stats["l0_records"] + stats["l1_records"] > 0:
            break
        time.sleep(0.01)
    stats = log.stats()
    assert stats["l0_records"] + stats["l1_records"] > 0, "the worker never flushed"
    b = log.all()
    assert [t for t, _ in a] == list(range(200))
    assert [t for t, _ in b] == list(range(100, 2000))
    log.stop_maintenance()
    log.close()


def test_point_iterator_snapshot(log):
    log.append(5, "a")
    it = log.point(5)
    log.append(5, "b")
    log.delete_range(5, 6)
    assert list(it) == [(5, "a")]
    assert list(log.point(5)) == []
    log.append(5, "c")
    assert list(log.point(5)) == [(5, "c")]
