"""Checks of the cffi binding's own machinery, which the conformance suite
cannot see: the cdef generated from timelog.h, the payload table (no slot
leaked on any error path, slots reused), re-entrant payload destructors and
the buffer export accounting.

    python -m pytest backends/cffi/tests -q
"""
import gc
import importlib.util
import os
import re
import threading
import weakref

import pytest

cffi_backend = pytest.importorskip(
    "timelog._backend_cffi", reason="the cffi backend is not built (TIMELOG_BACKENDS=cffi)")
Timelog = cffi_backend.Timelog

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(os.path.dirname(HERE), "build_ffi.py")


def _build_module():
    spec = importlib.util.spec_from_file_location("timelog_build_ffi", BUILD)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def live_slots(log):
    """Table slots holding a payload (free slots hold None)."""
    free = set(log._free)
    return sum(1 for i, o in enumerate(log._objs) if i not in free and o is not None)


def slot_accounting_ok(log):
    free = log._free
    return len(free) == len(set(free)) and all(log._objs[i] is None for i in free)


# -- the cdef -----------------------------------------------------------------
def test_cdef_declares_every_public_function():
    build = _build_module()
    names = set()
    for path in build.HEADERS:
        with open(path, encoding="utf-8") as f:
            body = re.sub(r"/\*.*?\*/", " ", f.read(), flags=re.S)
        names |= set(re.findall(r"\b(tlb?_[a-z_0-9]+)\s*\(", body))
    lib = cffi_backend._lib
    missing = sorted(n for n in names if not hasattr(lib, n))
    assert not missing, missing
    assert lib.TL_TS_MIN == -(1 << 63) and lib.TL_TS_MAX == (1 << 63) - 1


def test_cdef_refuses_unknown_preprocessor_lines():
    build = _build_module()
    with pytest.raises(ValueError):
        build.make_cdef("#pragma once\nint f(void);\n")
    with pytest.raises(ValueError):
        build.make_cdef("#define F(x) (x)\n")
    assert build.make_cdef("#define N 3\nint f(void);\n") == "#define N ...\nint f(void);\n"


# -- payload table ------------------------------------------------------------
@pytest.mark.parametrize("bad", [
    [(1, "a"), (2, "b"), ("x", "c")],
    [(1, "a"), (2, "b"), (True, "c")],
    [(1, "a"), (2, "b"), (1 << 63, "c")],
    [(1, "a"), (2, "b"), (3, "c", "d")],
    [(1, "a"), (2, "b"), 7],
])
def test_extend_error_midway_leaks_no_slot(bad):
    log = Timelog()
    with pytest.raises((TypeError, OverflowError)):
        log.extend(bad)
    assert live_slots(log) == 2
    assert [o for _, o in log.all()] == ["a", "b"]
    assert slot_accounting_ok(log)
    log.close()
    assert live_slots(log) == 0


def test_extend_columns_error_midway_leaks_no_slot():
    log = Timelog()
    with pytest.raises(TypeError):
        log.extend([1, 2, 3.5, 4], ["a", "b", "c", "d"])
    assert live_slots(log) == 2
    with pytest.raises(ValueError):
        log.extend([1, 2], ["a"])
    assert live_slots(log) == 2

    class Objs:
        def __len__(self):
            return 3

        def __getitem__(self, i):
            if i == 2:
                raise KeyError(i)
            return i

    with pytest.raises(KeyError):
        log.extend([5, 6, 7], Objs())
    assert live_slots(log) == 4
    assert slot_accounting_ok(log)
    log.close()


def test_extend_generator_raising_inserts_prefix():
    def gen():
        yield (1, "a")
        yield (2, "b")
        raise RuntimeError("boom")

    log = Timelog()
    with pytest.raises(RuntimeError):
        log.extend(gen())
    assert [o for _, o in log.all()] == ["a", "b"]
    assert live_slots(log) == 2
    log.close()


def test_append_error_frees_slot():
    log = Timelog()
    log.append(1, "a")
    with pytest.raises(OverflowError):
        log.append(1 << 64, "b")
    with pytest.raises(TypeError):
        log.append(False, "b")
    assert live_slots(log) == 1
    assert slot_accounting_ok(log)
    log.close()


def test_slots_freed_by_compaction_are_reused():
    log = Timelog()
    log.extend([(i, ("p", i)) for i in range(100)])
    log.delete_range(0, 50)
    log.compact()
    assert live_slots(log) == 50
    size = len(log._objs)
    log.extend([(i, ("q", i)) for i in range(200, 250)])
    assert len(log._objs) == size
    assert live_slots(log) == 100
    assert slot_accounting_ok(log)
    log.close()


def test_payload_del_reentering_the_log_during_release():
    log = Timelog()
    seen = []

    class Payload:
        def __init__(self, k):
            self.k = k

        def __del__(self):
            # Re-enter the same log while its payloads are being released.
            if not log.closed:
                log.append(1000 + self.k, "again")
                seen.append(sum(1 for _ in log.range(1000, 2000)))

    log.extend([(i, Payload(i)) for i in range(10)])
    log.delete_range(0, 10)
    log.compact()
    gc.collect()
    assert len(seen) == 10
    assert [o for _, o in log.range(1000, 2000)] == ["again"] * 10
    assert slot_accounting_ok(log)
    log.close()


def test_iterator_cycle_through_payload_is_collected():
    log = Timelog()

    class Payload:
        pass

    p = Payload()
    log.append(1, p)
    p.it = log.all()
    ref = weakref.ref(p)
    log_ref = weakref.ref(log)
    del p, log
    gc.collect()
    assert ref() is None
    assert log_ref() is None


# -- buffers ------------------------------------------------------------------
def _span(log):
    log.extend([(i, i) for i in range(10)])
    log.flush()
    spans = log.page_spans(0, 100)
    span = next(spans)
    spans.close()
    return span


def test_derived_views_keep_the_span_exported():
    log = Timelog()
    span = _span(log)
    mv = span.timestamps
    part = mv[2:5]
    del mv
    gc.collect()
    with pytest.raises(BufferError):
        span.close()
    assert part.tolist() == span.copy_timestamps()[2:5]
    part.release()
    span.close()
    log.close()


def test_release_then_close():
    log = Timelog()
    span = _span(log)
    mv = span.timestamps
    assert mv.readonly and mv.format == "q" and mv.ndim == 1 and mv.c_contiguous
    mv.release()
    span.close()
    assert span.closed
    log.close()


def test_threads_sharing_one_iterator_get_each_record_once():
    log = Timelog()
    n = 20000
    log.extend([(i, i) for i in range(n)])
    it = log.all()
    got = []

    def worker(batch):
        while True:
            if batch:
                b = it.next_batch(97)
                if not b:
                    return
                got.extend(b)
            else:
                try:
                    got.append(next(it))
                except StopIteration:
                    return

    threads = [threading.Thread(target=worker, args=(k % 2 == 0,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(ts for ts, _ in got) == list(range(n))
    assert it.closed
    log.close()
