"""Reads and deletes: half-open ranges, point queries, tombstones (design.md §4)."""

from __future__ import annotations

import pytest

from conformance import _support as S

# 0..49 every 2, plus duplicates at 10 and 20, plus late records.
DATA = [(t, f"r{t}") for t in range(0, 50, 2)] + [(10, "dup10"), (20, "dup20a"), (20, "dup20b")]
DATA += [(7, "late7"), (-5, "neg5")]


def model_range(data, t1=None, t2=None):
    """The records a query yields, in the order it yields them: timestamps
    ascending, equal timestamps in insertion order (a stable sort)."""
    return sorted([(t, o) for t, o in data
                   if (t1 is None or t >= t1) and (t2 is None or t < t2)], key=lambda r: r[0])


@pytest.fixture(params=["memtable", "flushed", "compacted", "mixed"])
def loaded(request, backend):
    """A log holding DATA in one layer (or spread over several)."""
    log = S.layered_log(backend, DATA, request.param)
    yield log
    S.close_log(log)


RANGES = [(0, 50), (10, 21), (11, 20), (-10, 0), (-5, -4), (7, 8), (49, 1000), (48, 49),
          (S.TS_MIN, S.TS_MAX), (21, 21), (30, 10)]


@pytest.mark.parametrize("t1,t2", RANGES)
def test_range_half_open(loaded, t1, t2):
    assert list(loaded.range(t1, t2)) == model_range(DATA, t1, t2)


@pytest.mark.parametrize("t1", [S.TS_MIN, -5, 0, 20, 21, 48, 49])
def test_since(loaded, t1):
    assert list(loaded.since(t1)) == model_range(DATA, t1=t1)


@pytest.mark.parametrize("t2", [S.TS_MIN, -5, -4, 0, 20, 21, S.TS_MAX])
def test_until(loaded, t2):
    assert list(loaded.until(t2)) == model_range(DATA, t2=t2)


def test_all(loaded):
    assert list(loaded.all()) == model_range(DATA)


@pytest.mark.parametrize("t", [10, 20, 7, -5, 11, 1000])
def test_point_and_equal(loaded, t):
    expected = [(x, o) for x, o in DATA if x == t]   # insertion order
    assert list(loaded.point(t)) == expected
    assert list(loaded.equal(t)) == expected


@pytest.mark.parametrize("query", ["all", "range", "since", "until", "point"])
def test_empty_log(log, query):
    args = {"all": (), "range": (0, 10), "since": (0,), "until": (10,), "point": (0,)}[query]
    it = getattr(log, query)(*args)
    assert list(it) == []
    assert it.closed


def test_results_are_int_object_tuples(log):
    obj = object()
    log.append(3, obj)
    (rec,) = list(log.all())
    assert type(rec) is tuple and len(rec) == 2
    assert type(rec[0]) is int and rec[0] == 3
    assert rec[1] is obj


def test_payload_identity_not_copied(log):
    payload = {"mutable": [1, 2]}
    log.append(1, payload)
    payload["mutable"].append(3)
    ((_, got),) = list(log.all())
    assert got is payload and got["mutable"] == [1, 2, 3]


def test_extreme_timestamps_stored(log):
    log.append(S.TS_MAX, "max")
    log.append(S.TS_MIN, "min")
    log.append(0, "zero")
    assert list(log.all()) == [(S.TS_MIN, "min"), (0, "zero"), (S.TS_MAX, "max")]
    assert list(log.since(S.TS_MAX)) == [(S.TS_MAX, "max")]
    assert list(log.until(S.TS_MIN)) == []
    assert list(log.range(S.TS_MIN, S.TS_MAX)) == [(S.TS_MIN, "min"), (0, "zero")]
    assert list(log.point(S.TS_MIN)) == [(S.TS_MIN, "min")]


def test_out_of_order_appends_come_out_sorted(tiny):
    order = [5, 3, 9, 1, 7, 2, 8, 0, 6, 4] * 20
    for i, t in enumerate(order):
        tiny.append(t, i)
    got = [t for t, _ in tiny.all()]
    assert got == sorted(order)


def test_equal_timestamps_all_kept(tiny):
    for i in range(300):
        tiny.append(42, i)
    tiny.append(41, "before")
    tiny.append(43, "after")
    got = list(tiny.point(42))
    assert sorted(o for _, o in got) == list(range(300))
    assert [o for _, o in tiny.all()][0] == "before"
    assert [o for _, o in tiny.all()][-1] == "after"


@pytest.mark.parametrize("layer", ["memtable", "flushed", "compacted"])
def test_delete_range_half_open(tiny, layer):
    S.fill(tiny, 20)
    if layer == "flushed":
        tiny.flush()
    elif layer == "compacted":
        tiny.compact()
    tiny.delete_range(5, 10)
    assert [t for t, _ in tiny.all()] == [t for t in range(20) if not 5 <= t < 10]


@pytest.mark.parametrize("layer", ["memtable", "flushed", "compacted"])
def test_delete_hides_only_earlier_records(tiny, layer):
    tiny.append(5, "old")
    if layer != "memtable":
        tiny.flush()
    tiny.delete_range(0, 10)
    tiny.append(5, "new")
    if layer == "compacted":
        tiny.compact()
    assert list(tiny.all()) == [(5, "new")]


@pytest.mark.parametrize("t1,t2", [(5, 5), (9, 3)])
def test_delete_empty_range_is_noop(log, t1, t2):
    S.fill(log, 10)
    log.delete_range(t1, t2)
    assert len(list(log.all())) == 10


def test_delete_before(tiny):
    S.fill(tiny, 30, start=-10)
    tiny.flush()
    tiny.delete_before(0)
    assert [t for t, _ in tiny.all()] == list(range(0, 20))


def test_delete_full_int64_range_keeps_max(log):
    log.append(S.TS_MIN, "min")
    log.append(S.TS_MAX, "max")
    log.delete_range(S.TS_MIN, S.TS_MAX)
    assert list(log.all()) == [(S.TS_MAX, "max")]
    log.delete_before(S.TS_MAX)
    assert list(log.all()) == [(S.TS_MAX, "max")]


def test_overlapping_deletes_coalesce(tiny):
    S.fill(tiny, 100)
    for t in range(0, 60, 3):
        tiny.delete_range(t, t + 5)
    tiny.compact()
    assert [t for t, _ in tiny.all()] == list(range(62, 100))
    assert tiny.stats()["l1_records"] == 38


def test_many_small_deletes_then_compact(tiny):
    S.fill(tiny, 200)
    for t in range(0, 200, 2):
        tiny.delete_range(t, t + 1)
    assert [t for t, _ in tiny.all()] == list(range(1, 200, 2))
    tiny.compact()
    assert [t for t, _ in tiny.all()] == list(range(1, 200, 2))
    assert tiny.stats()["tombstones"] == 0


def test_late_records_across_flushes(tiny):
    for t in range(100, 200):
        tiny.append(t, t)
    tiny.flush()
    for t in range(0, 100):
        tiny.append(t, t)
    tiny.flush()
    for t in range(50, 150):
        tiny.append(t, -t)
    got = list(tiny.range(40, 160))
    S.assert_sorted_ts(got)
    assert len(got) == 120 + 100


def test_kind_all_spans_equal_iteration(loaded):
    assert S.normalized(S.read_spans(loaded, 0, 50, kind="all")) == S.normalized(
        model_range(DATA, 0, 50))
