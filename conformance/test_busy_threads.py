"""Backpressure policies, background maintenance, threads (design.md §8.2, §10)."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from conformance import _support as S

PRESSURE = dict(memtable_max_bytes=1, target_page_bytes=1, sealed_max_runs=1)
N = 3000


def test_busy_raise_on_append_record_inserted(backend):
    log = backend.Timelog(busy_policy="raise", **PRESSURE)
    busy = 0
    for t in range(N):
        try:
            log.append(t, t)
        except backend.TimelogBusyError as exc:
            busy += 1
            assert isinstance(exc, backend.TimelogError)
    assert busy > 0, "a full sealed queue must report Busy under busy_policy='raise'"
    assert [t for t, _ in log.all()] == list(range(N))
    log.close()


def test_busy_message(backend):
    log = backend.Timelog(busy_policy="raise", **PRESSURE)
    msgs = set()
    for t in range(N):
        try:
            log.append(t, t)
        except backend.TimelogBusyError as exc:
            msgs.add(str(exc))
    assert len(msgs) == 1 and "" not in msgs
    log.close()


def test_busy_raise_extend_inserts_all_then_raises_once(backend):
    log = backend.Timelog(busy_policy="raise", **PRESSURE)
    items = [(t, t) for t in range(N)]
    with pytest.raises(backend.TimelogBusyError):
        log.extend(items)
    assert [t for t, _ in log.all()] == list(range(N))
    log.close()


def test_busy_raise_extend_columns_inserts_all(backend, np):
    log = backend.Timelog(busy_policy="raise", **PRESSURE)
    with pytest.raises(backend.TimelogBusyError):
        log.extend(np.arange(N, dtype=np.int64), list(range(N)))
    assert [t for t, _ in log.all()] == list(range(N))
    log.close()


def test_busy_cleared_by_flush(backend):
    log = backend.Timelog(busy_policy="raise", **PRESSURE)
    with pytest.raises(backend.TimelogBusyError):
        log.extend([(t, t) for t in range(N)])
    log.flush()
    log.append(N, "after flush")
    assert len(list(log.all())) == N + 1
    log.close()


@pytest.mark.parametrize("policy", ["silent", "flush"])
def test_busy_policy_never_raises(backend, policy):
    log = backend.Timelog(busy_policy=policy, **PRESSURE)
    for t in range(N):
        log.append(t, t)
    log.extend([(t, t) for t in range(N, 2 * N)])
    assert [t for t, _ in log.all()] == list(range(2 * N))
    log.close()


def test_busy_policy_flush_flushes(backend):
    log = backend.Timelog(busy_policy="flush", **PRESSURE)
    for t in range(N):
        log.append(t, t)
    assert log.stats()["flushes"] > 0
    log.close()


def test_background_maintenance_with_concurrent_readers(backend):
    log = backend.Timelog(maintenance="background", busy_policy="silent", **PRESSURE)
    stop = threading.Event()
    errors = []

    def reader():
        try:
            while not stop.is_set():
                got = [t for t, _ in log.all()]
                if got != sorted(got) or len(set(got)) != len(got):
                    errors.append(("order", got[:10]))
                n = len(got)
                # Appends are in order from 0: a snapshot is a prefix.
                if got != list(range(n)):
                    errors.append(("prefix", n))
                with log.page_spans(0, 10**9, kind="all") as spans:
                    for span in spans:
                        span.copy_timestamps()
                        span.close()
        except Exception as exc:  # reported to the main thread
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for th in threads:
        th.start()
    for t in range(5000):
        log.append(t, t)
    stop.set()
    for th in threads:
        th.join()
    assert errors == []
    assert [t for t, _ in log.all()] == list(range(5000))
    log.stop_maintenance()
    log.close()


def test_start_stop_maintenance_idempotent(backend):
    log = backend.Timelog(**S.TINY)
    log.start_maintenance()
    log.start_maintenance()
    S.fill(log, 500)
    log.stop_maintenance()
    log.stop_maintenance()
    assert len(list(log.all())) == 500
    log.close()


def test_close_stops_background_worker(backend):
    log = backend.Timelog(maintenance="background", **S.TINY)
    S.fill(log, 500)
    log.close()
    assert log.closed


def test_many_readers_one_writer(backend):
    log = backend.Timelog(**S.TINY)
    total = 4000
    errors = []
    done = threading.Event()

    def writer():
        try:
            for t in range(total):
                log.append(t, ("w", t))
                if t % 500 == 499:
                    log.flush()
                if t % 1500 == 1499:
                    log.compact()
        except Exception as exc:
            errors.append(exc)
        finally:
            done.set()

    def reader():
        try:
            while not done.is_set():
                it = log.all()
                batch = it.next_batch(64)
                rest = list(it)
                got = [t for t, _ in batch + rest]
                if got != list(range(len(got))):
                    errors.append(("not a prefix", len(got)))
                for t, obj in batch:
                    if obj != ("w", t):
                        errors.append(("payload", t, obj))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer)]
    threads += [threading.Thread(target=reader) for _ in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert [t for t, _ in log.all()] == list(range(total))
    log.close()


def test_close_from_thread_while_others_iterate(backend):
    log = backend.Timelog(**S.TINY)
    S.fill(log, 2000)
    log.flush()
    errors = []
    started = threading.Barrier(3)
    results = {"busy": 0}

    def iterate():
        try:
            it = log.all()
            started.wait()
            n = 0
            for _ in it:
                n += 1
                if n % 100 == 0:
                    time.sleep(0)
            if n != 2000:
                errors.append(("short read", n))
        except Exception as exc:
            errors.append(exc)

    def closer():
        started.wait()
        for _ in range(50):
            try:
                log.close()
            except backend.TimelogBusyError:
                results["busy"] += 1
            except Exception as exc:
                errors.append(exc)
                return
            if log.closed:
                return

    threads = [threading.Thread(target=iterate) for _ in range(2)]
    threads.append(threading.Thread(target=closer))
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    # Either close() was refused while readers lived, or it ran after both
    # finished; never a crash, never a short read.
    assert results["busy"] > 0 or log.closed
    log.close()
    assert log.closed


def test_close_refused_while_other_thread_holds_iterator(backend):
    log = backend.Timelog()
    S.fill(log, 10)
    ready = threading.Event()
    release = threading.Event()

    def holder():
        it = log.all()
        next(it)
        ready.set()
        release.wait(5)
        it.close()

    th = threading.Thread(target=holder)
    th.start()
    ready.wait(5)
    with pytest.raises(backend.TimelogBusyError):
        log.close()
    assert len(list(log.all())) == 10
    release.set()
    th.join()
    log.close()


def test_shared_iterator_between_threads(backend):
    log = backend.Timelog(**S.TINY)
    S.fill(log, 5000)
    it = log.all()
    out = [[] for _ in range(4)]

    def drain(slot):
        while True:
            batch = it.next_batch(7)
            if not batch:
                return
            out[slot].extend(t for t, _ in batch)
            try:
                out[slot].append(next(it)[0])
            except StopIteration:
                return

    threads = [threading.Thread(target=drain, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    got = sorted(t for part in out for t in part)
    # One iterator used by several threads: every record exactly once.
    assert got == list(range(5000))
    assert it.closed
    log.close()


def test_concurrent_writers_lose_nothing(backend):
    log = backend.Timelog(**S.TINY)
    errors = []

    def write(base):
        try:
            for i in range(1000):
                log.append(base + i, base)
            log.extend([(base + 1000 + i, base) for i in range(1000)])
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(k * 10**6,)) for k in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    got = [t for t, _ in log.all()]
    assert got == sorted(k * 10**6 + i for k in range(3) for i in range(2000))
    log.close()


@pytest.fixture
def fast_switch():
    """Switch threads as often as possible, to open race windows."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def _race(work, interrupt):
    """Run work(started) in a thread; once it sets started, run interrupt().

    Returns what the worker raised (its expected outcomes it catches itself).
    """
    errors = []
    started = threading.Event()

    def run():
        try:
            work(started)
        except Exception as exc:
            errors.append(exc)

    th = threading.Thread(target=run)
    th.start()
    started.wait(10)
    interrupt()
    th.join()
    return errors


def test_iterator_closed_by_another_thread_while_read(backend, fast_switch):
    log = backend.Timelog(**S.TINY)
    S.fill(log, 20000)
    log.flush()
    for _ in range(10):
        it = log.all()
        got = []

        def read(started, it=it, got=got):
            while batch := it.next_batch(16):
                got.extend(t for t, _ in batch)
                started.set()

        assert _race(read, it.close) == []
        assert it.closed
        # Whatever was read before the close is a prefix of the log.
        assert got == list(range(len(got)))
    assert S.pins(log) == 0
    log.close()


def test_span_closed_by_another_thread_while_read(backend, fast_switch):
    log = backend.Timelog(target_page_bytes=1 << 20)
    log.extend([(t, t) for t in range(20000)])
    log.flush()
    for _ in range(10):
        with log.page_spans(0, 20000) as spans:
            span = next(spans)
        view = span.objects()
        n = len(view)

        def read(started, view=view, span=span, n=n):
            try:
                for i in range(n):
                    if i == 100:
                        started.set()
                    assert view[i] == i
                    if i % 2000 == 0:
                        assert span.copy_timestamps() == list(range(n))
            except ValueError as exc:
                assert str(exc) == S.MSG_SPAN_CLOSED

        assert _race(read, span.close) == []
        assert span.closed
    del span, view
    S.collect()
    assert S.pins(log) == 0
    log.close()


def test_close_races_with_writer_thread(backend):
    payload = S.Payload("w")
    base = S.refcount(payload)
    for _ in range(5):
        log = backend.Timelog(**S.TINY)

        def write(started, log=log):
            try:
                for i in range(100000):
                    log.append(i, payload)
                    if i % 50 == 49:
                        log.extend([(i, payload)] * 10)
                    started.set()
            except backend.TimelogError as exc:
                assert str(exc) == S.MSG_CLOSED

        assert _race(write, log.close) == []
        assert log.closed
    S.collect()
    # Every reference taken by an append, accepted or refused, was given back.
    assert S.refcount(payload) == base


def test_background_releases_run_on_calling_threads(backend):
    idents = []
    main = threading.get_ident()

    class Tracked:
        def __del__(self):
            idents.append(threading.get_ident())

    log = backend.Timelog(maintenance="background", **S.TINY)
    for t in range(300):
        log.append(t, Tracked())
    time.sleep(0.05)  # let the worker flush and compact meanwhile
    log.delete_before(200)
    log.compact()
    log.stats()
    S.finalize()
    assert len(idents) == 200
    log.close()
    S.finalize()
    assert len(idents) == 300
    # Finalizers run in the Python thread that called into the log, never in
    # the engine's maintenance thread.
    assert set(idents) == {main}
