"""extend(): every input shape, failures midway, references (design.md §8.4)."""

from __future__ import annotations

import array
import ctypes
import weakref

import pytest

from conformance import _support as S


def pairs(n, start=0):
    return [(start + i, ("p", start + i)) for i in range(n)]


def contents(log):
    return [(t, o) for t, o in log.all()]


SHAPES = {
    "list_of_tuples": lambda ps: list(ps),
    "tuple_of_tuples": lambda ps: tuple(ps),
    "list_of_lists": lambda ps: [list(p) for p in ps],
    "generator": lambda ps: (p for p in ps),
    "iterator": lambda ps: iter(list(ps)),
    "map": lambda ps: map(tuple, ps),
    "dict_items": lambda ps: dict(ps).items(),
}


@pytest.mark.parametrize("n", [0, 1, 5000])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_extend_iterable_shapes(log, shape, n):
    ps = pairs(n)
    log.extend(SHAPES[shape](ps))
    assert contents(log) == ps


def test_extend_unsorted_and_duplicates(tiny):
    ps = [(5, "a"), (1, "b"), (5, "c"), (3, "d"), (1, "e")] * 100
    tiny.extend(ps)
    assert S.normalized(tiny.all()) == S.normalized(ps)


def test_extend_stores_references(log):
    objs = [object() for _ in range(3)]
    log.extend([(i, o) for i, o in enumerate(objs)])
    assert all(a is b for (_, a), b in S.zip_exact(log.all(), objs))


COLUMN_SHAPES = {
    "lists": lambda ts: (list(ts), [("p", t) for t in ts]),
    "tuples": lambda ts: (tuple(ts), tuple(("p", t) for t in ts)),
    "range": lambda ts: (range(ts[0], ts[-1] + 1), [("p", t) for t in ts]),
    "array_q": lambda ts: (array.array("q", ts), [("p", t) for t in ts]),
    "array_l": lambda ts: (array.array("l", ts), [("p", t) for t in ts]),
    "array_i_fallback": lambda ts: (array.array("i", ts), [("p", t) for t in ts]),
    "memoryview_q": lambda ts: (memoryview(array.array("q", ts)), [("p", t) for t in ts]),
    "memoryview_q_strided": lambda ts: (
        memoryview(array.array("q", [x for t in ts for x in (t, -1)]))[::2],
        [("p", t) for t in ts]),
    "ctypes_le_q": lambda ts: ((ctypes.c_int64 * len(ts))(*ts), [("p", t) for t in ts]),
}


@pytest.mark.parametrize("shape", list(COLUMN_SHAPES))
def test_extend_columns_shapes(log, shape):
    if shape == "array_l" and array.array("l").itemsize != 8:
        pytest.skip("C long is not 8 bytes on this platform: array('l') is not int64")
    ts = list(range(10, 110))
    timestamps, objects = COLUMN_SHAPES[shape](ts)
    log.extend(timestamps, objects)
    assert contents(log) == [(t, ("p", t)) for t in ts]


NUMPY_ARRAYS = {
    "int64": lambda np, ts: np.array(ts, dtype=np.int64),
    "int64_strided": lambda np, ts: np.repeat(np.array(ts, dtype=np.int64), 2)[::2],
    "int64_reversed": lambda np, ts: np.array(ts[::-1], dtype=np.int64)[::-1],
    "int64_big_endian": lambda np, ts: np.array(ts, dtype=">i8"),
    "int32": lambda np, ts: np.array(ts, dtype=np.int32),
    "uint8": lambda np, ts: np.array(ts, dtype=np.uint8),
    "column_of_2d": lambda np, ts: np.array([ts, ts], dtype=np.int64).T[:, 0],
}


@pytest.mark.parametrize("kind", list(NUMPY_ARRAYS))
def test_extend_numpy_timestamps(log, np, kind):
    ts = list(range(0, 200))
    arr = NUMPY_ARRAYS[kind](np, ts)
    objs = [("p", t) for t in ts]
    log.extend(arr, objs)
    got = contents(log)
    assert got == [(t, ("p", t)) for t in ts]
    assert all(type(t) is int for t, _ in got)


def test_extend_numpy_objects_array(log, np):
    ts = np.arange(5, dtype=np.int64)
    objs = np.array(["a", "b", "c", "d", "e"], dtype=object)
    log.extend(ts, objs)
    assert [o for _, o in log.all()] == ["a", "b", "c", "d", "e"]


def test_extend_numpy_extreme_values(log, np):
    arr = np.array([S.TS_MAX, S.TS_MIN, 0], dtype=np.int64)
    log.extend(arr, ["max", "min", "zero"])
    assert contents(log) == [(S.TS_MIN, "min"), (0, "zero"), (S.TS_MAX, "max")]


def test_extend_numpy_float_array_rejected(log, np):
    with pytest.raises(TypeError):
        log.extend(np.array([1.0, 2.0]), ["a", "b"])
    assert contents(log) == []


@pytest.mark.parametrize("make", ["numpy_2d", "memoryview_2d"])
def test_extend_multidimensional_buffer(log, np, make):
    if make == "numpy_2d":
        ts = np.zeros((2, 2), dtype=np.int64)
    else:
        ts = memoryview(array.array("q", [1, 2, 3, 4])).cast("B").cast("q", (2, 2))
    with pytest.raises(TypeError) as ei:
        log.extend(ts, [1, 2, 3, 4])
    assert str(ei.value) == S.MSG_EXTEND_TS_ARRAY
    assert contents(log) == []


@pytest.mark.parametrize("nts,nobj", [(3, 2), (2, 3), (0, 1), (1, 0)])
def test_extend_columns_length_mismatch(log, nts, nobj):
    log.append(-1, "kept")
    with pytest.raises(ValueError) as ei:
        log.extend(list(range(nts)), ["o"] * nobj)
    assert str(ei.value) == S.MSG_EXTEND_LENGTHS
    assert contents(log) == [(-1, "kept")]


def test_extend_numpy_length_mismatch(log, np):
    with pytest.raises(ValueError) as ei:
        log.extend(np.arange(5, dtype=np.int64), ["o"] * 4)
    assert str(ei.value) == S.MSG_EXTEND_LENGTHS
    assert contents(log) == []


def test_extend_columns_empty(log, np):
    log.extend([], [])
    log.extend(np.array([], dtype=np.int64), [])
    assert contents(log) == []


def test_extend_columns_bad_timestamp_midway(log):
    with pytest.raises(TypeError) as ei:
        log.extend([1, 2, True, 4], ["a", "b", "c", "d"])
    assert str(ei.value) == S.MSG_TS_BOOL
    assert [t for t, _ in log.all()] in ([], [1, 2])


def test_extend_columns_not_iterable(log):
    with pytest.raises(TypeError):
        log.extend(5, ["a"])


def test_extend_not_iterable(log):
    with pytest.raises(TypeError) as ei:
        log.extend(5)
    assert str(ei.value) == "'int' object is not iterable"


BAD_ITEMS = {
    "int": (7, "int"),
    "str": ("ab", "str"),
    "triple": ((1, 2, 3), "tuple"),
    "single": ((1,), "tuple"),
    "none": (None, "NoneType"),
    "dict": ({1: 2}, "dict"),
    "list_of_three": ([1, 2, 3], "list"),
}


@pytest.mark.parametrize("bad", list(BAD_ITEMS))
@pytest.mark.parametrize("container", ["list", "generator"])
def test_extend_bad_item_midway(log, bad, container):
    item, typename = BAD_ITEMS[bad]
    good = pairs(3000)
    items = good + [item] + pairs(10, start=5000)
    src = items if container == "list" else (x for x in items)
    with pytest.raises(TypeError) as ei:
        log.extend(src)
    assert str(ei.value) == S.MSG_EXTEND_PAIR % typename
    # Every record before the bad item was inserted; none after it.
    assert contents(log) == good


@pytest.mark.parametrize("container", ["list", "generator"])
def test_extend_bad_timestamp_midway(log, container):
    items = pairs(2500) + [(2**63, "over")] + pairs(5, start=9000)
    src = items if container == "list" else iter(items)
    with pytest.raises(OverflowError) as ei:
        log.extend(src)
    assert str(ei.value) == S.MSG_TS_OVERFLOW
    assert contents(log) == pairs(2500)


def test_extend_generator_raises_midway(log):
    def gen():
        yield from pairs(2000)
        raise RuntimeError("source failed")

    with pytest.raises(RuntimeError, match="source failed"):
        log.extend(gen())
    assert contents(log) == pairs(2000)


def test_extend_midway_failure_leaks_no_reference(log):
    marker = S.Payload("m")
    base = S.refcount(marker)
    # The same object in records before and after the bad item: the
    # not-yet-inserted ones must give back their references.
    items = [(i, marker) for i in range(1500)] + [None] + [(i, marker) for i in range(1500)]
    with pytest.raises(TypeError):
        log.extend(items)
    del items
    assert len(list(log.all())) == 1500
    log.delete_range(S.TS_MIN, S.TS_MAX)
    log.compact()
    log.stats()
    S.collect()
    assert S.refcount(marker) == base


def test_extend_generator_failure_leaks_no_reference(log):
    marker = S.Payload("m")
    base = S.refcount(marker)

    def gen():
        for i in range(1500):
            yield (i, marker)
        raise ValueError("stop")

    with pytest.raises(ValueError):
        log.extend(gen())
    log.close()
    S.collect()
    assert S.refcount(marker) == base


def test_extend_bad_item_does_not_keep_item_alive(log):
    bad = S.Payload("bad")
    wr = weakref.ref(bad)
    with pytest.raises(TypeError):
        log.extend([(1, "a"), bad])
    del bad
    S.collect()  # a pure-Python binding's failed frame may sit in a cycle
    assert S.dead([wr]) == [0]


def test_extend_pair_with_bad_ts_type_keeps_nothing(log):
    obj = S.Payload("o")
    wr = weakref.ref(obj)
    with pytest.raises(TypeError):
        log.extend([(1, "a"), ("x", obj)])
    del obj
    S.collect()
    assert S.dead([wr]) == [0]
    assert contents(log) == [(1, "a")]


def test_extend_iterable_that_mutates_log_is_safe(log):
    def gen():
        for i in range(100):
            if i == 50:
                list(log.all())
            yield (i, i)

    log.extend(gen())
    assert [t for t, _ in log.all()] == list(range(100))


def test_extend_tuple_subclass_items(log):
    from collections import namedtuple

    Rec = namedtuple("Rec", "ts obj")
    log.extend([Rec(1, "a"), Rec(2, "b")])
    assert contents(log) == [(1, "a"), (2, "b")]


def test_extend_big_in_chunks(tiny):
    ps = pairs(20000)
    tiny.extend(ps)
    got = []
    it = tiny.all()
    while batch := it.next_batch(4096):
        got += batch
    assert got == ps


def test_extend_columns_objects_sequence_only_indexed(log):
    class Seq:
        def __len__(self):
            return 3

        def __getitem__(self, i):
            if not 0 <= i < 3:
                raise IndexError(i)
            return ("s", i)

    log.extend([5, 6, 7], Seq())
    assert contents(log) == [(5, ("s", 0)), (6, ("s", 1)), (7, ("s", 2))]
