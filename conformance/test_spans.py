"""PageSpan zero-copy buffers, objects() views, span iterators (design.md §7)."""

from __future__ import annotations

import gc
import weakref

import pytest

from conformance import _support as S


@pytest.fixture
def paged(backend, request):
    """A log whose records 0..99 (payload ("p", ts)) all live in pages."""
    log = backend.Timelog(**S.TINY)
    S.fill(log, 100)
    log.flush()
    yield log
    if not S.numpy_kept_views(request):   # on PyPy numpy pins it for good
        S.close_log(log)


def first_span(log, t1=0, t2=1000, kind="segment"):
    with log.page_spans(t1, t2, kind=kind) as spans:
        return next(spans)


def needs_buffer_protocol(backend):
    if not backend.span_buffer_protocol:
        pytest.skip(S.SPAN_BUFFER_REASON)


def test_span_types(backend, paged):
    spans = paged.page_spans(0, 100)
    assert type(spans) is backend.PageSpanIter
    span = next(spans)
    assert type(span) is backend.PageSpan
    assert type(span.objects()) is backend.PageSpanObjectsView
    spans.close()
    span.close()


def test_spans_cover_range_exactly(paged):
    got = S.read_spans(paged, 10, 90)
    assert S.normalized(got) == [(t, ("p", t)) for t in range(10, 90)]


def test_spans_cover_whole_log(paged):
    got = S.read_spans(paged, S.TS_MIN, S.TS_MAX)
    assert sorted(t for t, _ in got) == list(range(100))


@pytest.mark.parametrize("t1,t2", [(50, 50), (60, 40), (1000, 2000), (-100, 0)])
def test_spans_empty_range(paged, t1, t2):
    assert S.read_spans(paged, t1, t2) == []


def test_segment_kind_is_default_and_skips_unflushed(paged):
    paged.append(500, "unflushed")
    default = S.read_spans(paged, 0, 1000)
    explicit = S.read_spans(paged, 0, 1000, kind="segment")
    assert S.normalized(default) == S.normalized(explicit)
    assert (500, "unflushed") not in default
    assert len(default) == 100


def test_kind_all_covers_unflushed(backend):
    log = backend.Timelog(**S.TINY)
    S.fill(log, 30)
    log.flush()
    S.fill(log, 30, start=30)
    got = S.read_spans(log, 0, 1000, kind="all")
    assert S.normalized(got) == [(t, ("p", t)) for t in range(60)]
    S.close_log(log)


def test_kind_all_on_memtable_only(log):
    S.fill(log, 5)
    assert S.read_spans(log, 0, 10) == []
    assert S.normalized(S.read_spans(log, 0, 10, kind="all")) == [(t, ("p", t)) for t in range(5)]


def test_spans_never_show_deleted_records(paged):
    paged.delete_range(20, 30)
    paged.delete_range(55, 56)
    got = sorted(t for t, _ in S.read_spans(paged, 0, 100))
    assert got == [t for t in range(100) if not (20 <= t < 30 or t == 55)]
    got_all = sorted(t for t, _ in S.read_spans(paged, 0, 100, kind="all"))
    assert got_all == got


def test_spans_after_compaction(paged):
    paged.delete_before(50)
    paged.compact()
    assert sorted(t for t, _ in S.read_spans(paged, 0, 100)) == list(range(50, 100))


def test_timestamps_buffer_shape(paged):
    span = first_span(paged)
    mv = span.timestamps
    assert isinstance(mv, memoryview)
    assert mv.format == "q"
    assert mv.itemsize == 8
    assert mv.readonly
    assert mv.ndim == 1
    assert mv.shape == (len(span),)
    assert mv.strides == (8,)
    assert mv.c_contiguous and mv.contiguous
    assert mv.tolist() == span.copy_timestamps()
    mv.release()
    span.close()


def test_timestamps_buffer_readonly(paged):
    span = first_span(paged)
    mv = span.timestamps
    with pytest.raises(TypeError):
        mv[0] = 5
    mv.release()
    span.close()


def test_start_end_len(paged):
    with paged.page_spans(0, 100) as spans:
        for span in spans:
            ts = span.copy_timestamps()
            assert span.start_ts == ts[0]
            assert span.end_ts == ts[-1]
            assert len(span) == len(ts) > 0
            assert ts == sorted(ts)
            span.close()


def test_copy_is_alias_of_copy_timestamps(paged):
    span = first_span(paged)
    a = span.copy()
    b = span.copy_timestamps()
    assert a == b and a is not b
    assert type(a) is list and all(type(t) is int for t in a)
    a.append(-1)
    assert span.copy() == b
    span.close()


def test_objects_aligned_with_timestamps(paged):
    with paged.page_spans(0, 100) as spans:
        for span in spans:
            ts = span.copy_timestamps()
            objs = span.objects()
            assert [o[1] for o in objs] == ts
            span.close()


def test_objects_view_sequence(paged):
    span = first_span(paged)
    view = span.objects()
    n = len(view)
    assert n == len(span)
    first = view[0]
    assert view[-1] is view[n - 1]
    assert view[-n] is first
    assert list(view) == [view[i] for i in range(n)]
    copy = view.copy()
    assert type(copy) is list and copy == list(view)
    assert all(a is b for a, b in S.zip_exact(copy, view))
    copy.clear()
    assert len(view) == n
    span.close()


@pytest.mark.parametrize("index", ["n", "-n-1", "big", "-big"])
def test_objects_view_index_error(paged, index):
    span = first_span(paged)
    view = span.objects()
    n = len(view)
    i = {"n": n, "-n-1": -n - 1, "big": 2**62, "-big": -(2**62)}[index]
    with pytest.raises(IndexError) as ei:
        view[i]
    assert str(ei.value) == S.MSG_INDEX_RANGE
    span.close()


@pytest.mark.parametrize("index,typename", [("0", "str"), (1.0, "float"), (None, "NoneType")])
def test_objects_view_index_type(paged, index, typename):
    span = first_span(paged)
    with pytest.raises(TypeError) as ei:
        span.objects()[index]
    assert str(ei.value) == S.MSG_INDEX_TYPE % typename
    span.close()


def test_objects_view_accepts_bool_and_numpy_index(paged, np):
    span = first_span(paged)
    view = span.objects()
    assert view[True] is view[1]
    assert view[False] is view[0]
    assert view[np.int64(-1)] is view[len(view) - 1]
    span.close()


def test_objects_view_keeps_span_alive(paged):
    view = first_span(paged).objects()
    gc.collect()
    assert len(view) > 0
    assert view[0] == ("p", view[0][1])


def test_objects_view_after_span_close(paged):
    span = first_span(paged)
    view = span.objects()
    it = iter(view)
    span.close()
    for use in (lambda: len(view), lambda: view[0], lambda: view.copy(), lambda: list(view)):
        with pytest.raises(ValueError) as ei:
            use()
        assert str(ei.value) == S.MSG_SPAN_CLOSED
    with pytest.raises(ValueError):
        next(it)


CLOSED_SPAN_USES = {
    "timestamps": lambda s: s.timestamps,
    "start_ts": lambda s: s.start_ts,
    "end_ts": lambda s: s.end_ts,
    "len": lambda s: len(s),
    "objects": lambda s: s.objects(),
    "copy_timestamps": lambda s: s.copy_timestamps(),
    "copy": lambda s: s.copy(),
}


@pytest.mark.parametrize("use", list(CLOSED_SPAN_USES))
def test_closed_span_use_raises(paged, use):
    span = first_span(paged)
    span.close()
    assert span.closed
    with pytest.raises(ValueError) as ei:
        CLOSED_SPAN_USES[use](span)
    assert str(ei.value) == S.MSG_SPAN_CLOSED


def test_closed_span_buffer_protocol_raises(backend, paged):
    needs_buffer_protocol(backend)
    span = first_span(paged)
    span.close()
    with pytest.raises(ValueError) as ei:
        memoryview(span)
    assert str(ei.value) == S.MSG_SPAN_CLOSED


def test_span_close_idempotent(paged):
    span = first_span(paged)
    assert not span.closed
    span.close()
    span.close()
    assert span.closed


def test_span_context_manager(paged):
    span = first_span(paged)
    with span as entered:
        assert entered is span
        assert len(span) > 0
    assert span.closed


def test_close_while_exported_raises_buffer_error(paged):
    span = first_span(paged)
    mv = span.timestamps
    with pytest.raises(BufferError) as ei:
        span.close()
    assert str(ei.value) == S.MSG_SPAN_EXPORTED
    assert not span.closed
    assert mv.tolist() == span.copy_timestamps()
    mv.release()
    span.close()
    assert span.closed


def test_close_after_two_exports_needs_both_released(paged):
    span = first_span(paged)
    a = span.timestamps
    b = span.timestamps
    a.release()
    with pytest.raises(BufferError):
        span.close()
    b.release()
    span.close()


def test_close_after_export_dropped(paged):
    span = first_span(paged)
    mv = span.timestamps
    del mv
    gc.collect()
    span.close()
    assert span.closed


class _Cycle:
    """Holds a value inside a reference cycle: freed only by a collection."""

    def __init__(self, value):
        self.value = value
        self.me = self


@pytest.mark.parametrize("how", ["close", "exit"])
def test_close_collects_exports_held_by_garbage(paged, how):
    """An export held only by unreachable objects does not block close()
    (design.md §7): the span collects once before refusing."""
    span = first_span(paged)
    holder = weakref.ref(_Cycle(span.timestamps))   # unreachable at once
    assert holder() is not None, "not yet collected: the export still counts"
    if how == "close":
        span.close()
    else:
        span.__exit__(None, None, None)
    assert span.closed


def test_span_exit_never_raises_while_exported(paged):
    span = first_span(paged)
    mv = span.timestamps
    with span:
        pass
    assert not span.closed
    mv.release()
    span.close()


def test_span_exit_with_exception_while_exported(paged):
    span = first_span(paged)
    mv = span.timestamps
    with pytest.raises(KeyError):
        with span:
            raise KeyError("x")
    assert not span.closed
    mv.release()
    with span:
        pass
    assert span.closed


@S.PYPY_NUMPY_KEEPS_VIEWS
def test_numpy_asarray_shares_memory(paged, np):
    span = first_span(paged)
    a = np.asarray(span.timestamps)
    b = np.asarray(span.timestamps)
    assert a.dtype == np.int64 and a.ndim == 1 and len(a) == len(span)
    assert not a.flags.writeable
    # Two independent exports alias the same engine memory: no copy was made.
    assert np.shares_memory(a, b)
    assert a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
    assert a.tolist() == span.copy_timestamps()
    del a, b
    gc.collect()
    span.close()      # the arrays were the only exports


@S.PYPY_NUMPY_KEEPS_VIEWS
def test_numpy_pointer_equals_memoryview_pointer(paged, np):
    span = first_span(paged)
    mv = span.timestamps
    arr = np.asarray(mv)
    # frombuffer never copies: its data pointer is the memoryview's.
    assert arr.__array_interface__["data"][0] == np.frombuffer(mv, dtype=np.int64).ctypes.data
    del arr
    mv.release()
    span.close()


@S.PYPY_NUMPY_KEEPS_VIEWS
def test_numpy_array_blocks_close(paged, np):
    span = first_span(paged)
    arr = np.asarray(span.timestamps)
    with pytest.raises(BufferError):
        span.close()
    del arr
    gc.collect()
    span.close()


def test_memoryview_of_span(backend, paged, np):
    needs_buffer_protocol(backend)
    span = first_span(paged)
    mv = memoryview(span)
    assert mv.format == "q" and mv.readonly and mv.ndim == 1 and mv.c_contiguous
    assert mv.tolist() == span.copy_timestamps()
    ts = span.timestamps
    assert np.shares_memory(np.asarray(mv), np.asarray(ts))
    with pytest.raises(BufferError):
        span.close()
    mv.release()
    ts.release()
    span.close()


def test_numpy_asarray_of_span(backend, paged, np):
    needs_buffer_protocol(backend)
    span = first_span(paged)
    arr = np.asarray(span)
    assert arr.dtype == np.int64 and arr.tolist() == span.copy_timestamps()
    with pytest.raises(BufferError):
        span.close()
    del arr
    span.close()


@S.PYPY_NUMPY_KEEPS_VIEWS
def test_span_memory_stable_under_deletes_and_compaction(paged, np):
    span = first_span(paged)
    ts_before = span.copy_timestamps()
    objs_before = span.objects().copy()
    arr = np.asarray(span.timestamps)
    paged.delete_range(S.TS_MIN, S.TS_MAX)
    paged.compact()
    paged.append(5, "new")
    paged.compact()
    assert arr.tolist() == ts_before
    assert span.copy_timestamps() == ts_before
    assert all(a is b for a, b in S.zip_exact(span.objects().copy(), objs_before))
    assert list(paged.all()) == [(5, "new")]
    del arr
    span.close()


def test_span_keeps_payloads_alive(backend):
    log = backend.Timelog()
    payloads = S.fill(log, 5, payload=S.Payload)
    refs = [weakref.ref(p) for p in payloads]
    del payloads
    log.flush()
    span = first_span(log)
    log.delete_range(S.TS_MIN, S.TS_MAX)
    log.compact()
    log.stats()
    assert S.dead(refs) == []
    assert [p.key for p in span.objects()] == [0, 1, 2, 3, 4]
    span.close()
    log.stats()
    assert len(S.dead(refs)) == len(refs)
    log.close()


def test_span_outlives_span_iterator(paged):
    spans = paged.page_spans(0, 100)
    span = next(spans)
    spans.close()
    assert spans.closed
    assert len(span.copy_timestamps()) == len(span) > 0
    span.close()


def test_span_iterator_close_idempotent_and_stops(paged):
    spans = paged.page_spans(0, 100)
    assert iter(spans) is spans
    spans.close()
    spans.close()
    assert spans.closed
    with pytest.raises(StopIteration):
        next(spans)


def test_span_iterator_exhaustion_closes(paged):
    spans = paged.page_spans(0, 100)
    got = list(spans)
    assert got and spans.closed
    for s in got:
        s.close()
    assert S.pins(paged) == 0


def test_span_iterator_context_manager(paged):
    with paged.page_spans(0, 100) as spans:
        assert not spans.closed
    assert spans.closed


def test_span_iterator_gc_releases_pin(paged):
    spans = paged.page_spans(0, 100)
    next(spans).close()
    del spans
    S.collect()
    assert S.pins(paged) == 0


def test_span_gc_releases_pin(paged):
    span = first_span(paged)
    assert S.pins(paged) > 0
    del span
    S.collect()
    assert S.pins(paged) == 0


@pytest.mark.parametrize("kind", ["segment", "all"])
def test_span_snapshot_isolation(paged, kind):
    spans = paged.page_spans(0, 1000, kind=kind)
    paged.append(50, "late")
    paged.delete_range(0, 10)
    paged.compact()
    got = []
    for span in spans:
        got += span.copy_timestamps()
        span.close()
    assert sorted(got) == list(range(100))


def test_bad_kind_value(backend, paged):
    with pytest.raises(ValueError) as ei:
        paged.page_spans(0, 10, kind="pages")
    assert "kind" in str(ei.value) or "segment" in str(ei.value)
    assert S.pins(paged) == 0


@pytest.mark.parametrize("kind,typename", [(1, "int"), (None, "NoneType"), (b"all", "bytes")])
def test_bad_kind_type(paged, kind, typename):
    with pytest.raises(TypeError) as ei:
        paged.page_spans(0, 10, kind=kind)
    assert str(ei.value) == S.MSG_OPTION_TYPE % ("kind", typename)


def test_kind_is_keyword_only(paged):
    with pytest.raises(TypeError):
        paged.page_spans(0, 10, "all")


@S.PYPY_NUMPY_KEEPS_VIEWS
def test_large_span_scan_into_numpy(backend, np):
    log = backend.Timelog(target_page_bytes=4096)
    log.extend(np.arange(20000, dtype=np.int64), [None] * 20000)
    log.flush()
    total = []
    with log.page_spans(0, 20000) as spans:
        for span in spans:
            total.append(np.asarray(span.timestamps).copy())
            span.close()
    assert np.array_equal(np.sort(np.concatenate(total)), np.arange(20000))
    log.close()


def _dropped_log_span(backend, n=200):
    log = backend.Timelog(**S.TINY)
    S.fill(log, n)
    log.flush()
    spans = log.page_spans(0, n)
    del log
    S.collect()
    return spans


def test_span_iterator_outlives_log(backend):
    spans = _dropped_log_span(backend)
    got = []
    for span in spans:
        got += list(S.zip_exact(span.copy_timestamps(), span.objects()))
        span.close()
    assert sorted(got) == [(t, ("p", t)) for t in range(200)]


def test_buffer_outlives_log_and_span(backend, np):
    spans = _dropped_log_span(backend)
    span = next(spans)
    expected = span.copy_timestamps()
    mv = span.timestamps
    arr = np.asarray(span.timestamps)
    del span, spans
    S.collect()
    assert mv.tolist() == expected
    assert arr.tolist() == expected
    mv.release()
    assert arr.sum() == sum(expected)


def test_objects_view_outlives_log_and_span(backend):
    spans = _dropped_log_span(backend)
    span = next(spans)
    ts = span.copy_timestamps()
    view = span.objects()
    del span, spans
    S.collect()
    assert view.copy() == [("p", t) for t in ts]
    assert view[-1] == ("p", ts[-1])
