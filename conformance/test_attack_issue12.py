"""The reproductions of issue 12, each as a test (main at 74f7b6f failed them
on cffi or on every backend; design.md says what each must do now).

The generated attacks in ``test_attack_*.py`` cover the same ground broadly;
these are the exact programs of the report, so the report stays reproducible.
"""

from __future__ import annotations

import _thread
import signal
import subprocess
import sys
import threading
import time
import weakref

import numpy as np
import pytest

from conformance import _support as S

# -- defect 1: copy.copy(log) shared the engine log (use-after-free) ---------

_DEFECT1 = """
import copy, gc, sys, timelog
ns = timelog.load_backend(sys.argv[1])
log = ns.Timelog()
log.append(1, "a")
try:
    dup = copy.{how}(log)
except TypeError as exc:
    print("refused:", exc)
else:
    print("accepted")
    del dup
gc.collect()
log.append(2, "b")
print(list(log.all()))
log.close()
"""


@pytest.mark.parametrize("how", ["copy", "deepcopy"])
def test_defect1_copied_log_does_not_share_the_engine(backend, how):
    """In a child process: a use-after-free aborts the interpreter (on 3.11
    "free(): double free"), which must fail this test, not end the run."""
    code = _DEFECT1.replace("{how}", how)
    proc = subprocess.run([sys.executable, "-c", code, backend.name], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, f"the child died ({proc.returncode}):\n{proc.stderr[-2000:]}"
    assert proc.stdout.splitlines() == [
        f"refused: {S.MSG_NO_PICKLE % 'Timelog'}", "[(1, 'a'), (2, 'b')]"], proc.stdout


# -- defect 2: an asynchronous KeyboardInterrupt leaked a pin for good -------

class _Tick(KeyboardInterrupt):
    pass


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(),
                    reason="signal handlers run only in the main thread")
def test_defect2_ctrl_c_every_millisecond_during_reads_leaks_no_pin(backend):
    """Ctrl-C about every millisecond while reading (iterators, next_batch,
    next_arrays, page spans) for about a second: afterwards no pin is left,
    ``close()`` succeeds and every payload is released."""
    log = backend.Timelog(**S.TINY)
    payloads = [S.Payload(i) for i in range(300)]
    log.extend(list(enumerate(payloads)))
    log.flush()
    refs = [weakref.ref(p) for p in payloads]
    del payloads
    stop = threading.Event()
    hits = [0]

    def read_once():
        it = log.range(10, 250)
        it.next_batch(7)
        it.next_arrays(5)
        for _ in it:
            pass
        with log.page_spans(0, 300) as spans:
            for span in spans:
                span.objects()[0]
                span.close()

    def handler(signum, frame):
        # Ctrl-C lands wherever the reader is (the binding's own Python code
        # included); one that lands in this harness's lines is absorbed, so
        # the harness itself cannot be torn out of its cleanup.
        f = frame
        while f is not None:
            if f.f_code is read_once.__code__:
                hits[0] += 1
                raise _Tick()
            f = f.f_back

    def sender():
        while not stop.is_set():
            _thread.interrupt_main()
            time.sleep(0.001)

    old = signal.signal(signal.SIGINT, handler)
    th = threading.Thread(target=sender, daemon=True)
    try:
        th.start()
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                read_once()
            except _Tick:
                pass
    finally:
        stop.set()
        th.join()
        time.sleep(0.01)                     # an interrupt still in flight is absorbed
        signal.signal(signal.SIGINT, old)
    S.collect()
    assert hits[0] > 10, "the interrupts did not land"
    assert S.pins(log) == 0, "an interrupted read leaked a pin"
    log.close()
    S.collect()
    assert all(r() is None for r in refs)


def test_defect2_hang_scenario_is_in_the_interrupt_sweep():
    """The hang (the 39th line event while opening an iterator, calling
    next_batch and walking page_spans blocked in TimelogIter.close) is the
    ``issue12_open_batch_spans`` scenario of test_attack_interrupts.py."""
    from conformance import test_attack_interrupts as T

    assert "issue12_open_batch_spans" in T.SCENARIOS


# -- defect 3: __index__ without a hash made extend drop the chunk -----------

class _IndexNoHash:
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, v):
        self.v = v

    def __index__(self):
        return self.v

    def __eq__(self, other):
        return self is other


@pytest.mark.parametrize("stamp", ["numpy_0d", "index_eq_no_hash"])
def test_defect3_unhashable_index_timestamps_in_extend(log, stamp):
    make = (lambda v: np.array(v)) if stamp == "numpy_0d" else _IndexNoHash
    log.append(make(0), "append accepts it")
    items = [(i, f"ok{i}") for i in range(1, 50)] + [(make(50), "x")] + [(51, "last")]
    log.extend(items)
    assert [t for t, _ in log.all()] == list(range(52))
    log.extend([make(60), make(61)], ["a", "b"])
    assert [t for t, _ in log.since(60)] == [60, 61]


# -- defect 4: a BaseException mid-extend dropped the prefix -----------------

class _Boom:
    def __init__(self, exc):
        self.exc = exc

    def __index__(self):
        raise self.exc


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit, ValueError])
def test_defect4_exception_from_index_at_item_5000_keeps_5000(log, exc_type):
    items = [(i, i) for i in range(5000)] + [(_Boom(exc_type("stop")), "bad")]
    items += [(i, i) for i in range(5001, 6000)]
    with pytest.raises(exc_type):
        log.extend(items)
    assert log.count() == 5000
    assert [t for t, _ in log.all()] == list(range(5000))


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit, ValueError])
def test_defect4_exception_from_objects_getitem_at_5000_keeps_5000(log, exc_type):
    class Objects:
        def __len__(self):
            return 6000

        def __getitem__(self, i):
            if i == 5000:
                raise exc_type("stop")
            return i

    with pytest.raises(exc_type):
        log.extend(list(range(6000)), Objects())
    assert log.count() == 5000
    assert [t for t, _ in log.all()] == list(range(5000))


# -- defect 5: one input, one behaviour --------------------------------------

def test_defect5_next_batch_beyond_int64_is_overflow(log):
    log.append(1, "a")
    it = log.all()
    with pytest.raises(OverflowError) as ei:
        it.next_batch(2**63)
    assert str(ei.value) == S.MSG_INT_OVERFLOW
    with pytest.raises(OverflowError):
        it.next_arrays(2**63)
    it.close()


@pytest.mark.parametrize(("option", "value", "allowed"), [
    ("time_unit", "ms\0garbage", "'s', 'ms', 'us', 'ns'"),
    ("busy_policy", "flush\0!", "'raise', 'silent', 'flush'"),
    ("maintenance", "disabled\0", "'disabled', 'background'"),
])
def test_defect5_nul_in_option_is_rejected(backend, option, value, allowed):
    with pytest.raises(ValueError) as ei:
        backend.Timelog(**{option: value})
    escaped = value.replace("\0", "\\x00")
    assert str(ei.value) == f"{option} must be one of {allowed} (got '{escaped}')"


def test_defect5_nul_in_page_spans_kind_is_rejected(log):
    with pytest.raises(ValueError) as ei:
        log.page_spans(0, 10, kind="all\0x")
    assert str(ei.value) == "kind must be one of 'segment', 'all' (got 'all\\x00x')"
    assert S.pins(log) == 0


def test_defect5_extend_dict_is_type_error(log):
    with pytest.raises(TypeError) as ei:
        log.extend({0: "a"}, ["a"])
    assert str(ei.value) == S.MSG_TS_COLUMN_TYPE % "dict"
    with pytest.raises(TypeError) as ei:
        log.extend([0], {0: "a"})
    assert str(ei.value) == S.MSG_OBJ_COLUMN_TYPE % "dict"
    assert log.count() == 0


@pytest.mark.parametrize("option", ["memtable_max_bytes", "target_page_bytes",
                                    "sealed_max_runs", "drain_batch_limit"])
def test_defect5_bool_integer_option_is_type_error(backend, option):
    with pytest.raises(TypeError) as ei:
        backend.Timelog(**{option: True})
    assert str(ei.value) == f"{option} must be an integer, not bool"


def test_defect5_second_init_is_type_error(log):
    log.append(1, "a")
    with pytest.raises(TypeError) as ei:
        log.__init__(time_unit="s")
    assert str(ei.value) == S.MSG_REINIT
    assert log.time_unit == "ms" and list(log.all()) == [(1, "a")]


# -- defect 6: drain_batch_limit > 0 never caught up --------------------------

@pytest.mark.parametrize("limit", [1, 100])
def test_defect6_drain_limit_keeps_pace_without_readers(backend, limit):
    """Steady retention churn, no reader at all: the backlog stays bounded
    (at main 74f7b6f it grew linearly: 375k queued at 1M records, limit 100)."""
    log = backend.Timelog(drain_batch_limit=limit, memtable_max_bytes=16 * 1024,
                          target_page_bytes=2048)
    window, batch, total = 5_000, 100, 200_000
    bound = 4 * window
    worst = 0
    for ts in range(0, total, batch):
        log.extend([(ts + i, (ts + i,)) for i in range(batch)])
        log.delete_before(ts - window)
        if ts % (20 * batch) == 0:
            log.compact()
        worst = max(worst, log.retired_queue_len)
        assert log.retired_queue_len <= bound, (
            f"retired queue {log.retired_queue_len} after {ts} records (limit {limit})")
    log.close()
    print(f"limit {limit}: worst retired queue {worst}", file=sys.stderr)
