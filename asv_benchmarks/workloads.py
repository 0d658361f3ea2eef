"""Every workload of the suite, written once.

A workload is a function ``make(mod) -> Case`` for a backend module ``mod``:
the case's ``run()`` is the timed call, ``reset()`` (untimed) restores the
state a mutating workload consumed, ``close()`` releases the log.  The asv
suites (``suites.py``: one ``time_`` benchmark per workload and backend;
``ratios.py``: one ``track_`` ratio per workload) and the bench gate read
this one registry, so a workload cannot drift between them.

``kind`` is "bulk" for paths that move many records per call (extend from
lists or buffers, batches, spans, columnar reads) and "record" for per-record
or per-query calls.
"""
from __future__ import annotations

import gc
import os

from .common import (
    LATE_FRACTION,
    STEP,
    N,
    Q,
    close_quietly,
    filled_log,
    new_log,
    pairs,
    payloads,
    query_starts,
    require,
    scan_batches,
    timestamps,
)
from .common import scan_for as count_for

SPAN_PASSES = 20
"""Full span scans per call of the span workloads (a pass is a few dozen spans)."""
DELETE_RANGES = 1_000
"""Range deletes per call of the delete workloads; each hides 5 records."""
DEFAULTS_N = int(os.environ.get("TIMELOG_BENCH_DEFAULTS_N", 2_000_000))
"""Records appended to a default ``Timelog()`` in the defaults workloads (issue 16)."""


class Case:
    """One workload prepared on one backend."""

    def __init__(self, run, reset=None, log=None):
        self.run = run
        self._reset = reset
        self.log = log

    def reset(self):
        if self._reset is not None:
            self._reset(self)

    def close(self):
        close_quietly(self.log)
        self.log = None


class Workload:
    def __init__(self, name, label, kind, suite, make, mutates=False, ratio=True):
        self.name, self.label, self.kind, self.suite = name, label, kind, suite
        self.make, self.mutates, self.ratio = make, mutates, ratio

    def open(self, mod):
        """The prepared case (``NotImplementedError`` if ``mod`` lacks an API)."""
        case = self.make(mod)
        case.reset()
        return case


WORKLOADS: dict[str, Workload] = {}


def workload(label, kind, suite, mutates=False, ratio=True):
    """Register ``make``; ``ratio=False``: no ratio track (see the defaults)."""
    def deco(make):
        name = make.__name__
        WORKLOADS[name] = Workload(name, label, kind, suite, make, mutates, ratio)
        return make
    return deco


def _np():
    try:
        import numpy
    except ImportError:
        raise NotImplementedError("numpy is not installed") from None
    return numpy


# ---------------------------------------------------------------- ingest
# Each call builds a fresh log and closes it: close releases every stored
# reference, which is part of what ingest costs.

def _ingest(mod, feed, **options):
    def run():
        log = new_log(mod, **options)
        feed(log)
        log.close()
    return Case(run)


@workload("append loop", "record", "ingest")
def append_loop(mod):
    data = pairs(N)

    def feed(log):
        append = log.append
        for ts, obj in data:
            append(ts, obj)
    return _ingest(mod, feed)


@workload("extend list of pairs", "bulk", "ingest")
def extend_list(mod):
    data = pairs(N)
    return _ingest(mod, lambda log: log.extend(data))


@workload("extend list, 10% late", "bulk", "ingest")
def extend_list_late10(mod):
    data = pairs(N, LATE_FRACTION)
    return _ingest(mod, lambda log: log.extend(data))


@workload("extend numpy int64 + objects", "bulk", "ingest")
def extend_numpy(mod):
    ts = _np().asarray(timestamps(N), dtype="int64")
    objs = list(payloads(N))
    return _ingest(mod, lambda log: log.extend(ts, objs))


@workload("extend list of ints + objects", "bulk", "ingest")
def extend_two_lists(mod):
    ts, objs = list(timestamps(N)), list(payloads(N))
    return _ingest(mod, lambda log: log.extend(ts, objs))


@workload("extend generator", "record", "ingest")
def extend_generator(mod):
    data = pairs(N)
    return _ingest(mod, lambda log: log.extend(p for p in data))


@workload("extend 10% late, background worker", "bulk", "ingest")
def extend_late10_background(mod):
    data = pairs(N, LATE_FRACTION)
    return _ingest(mod, lambda log: log.extend(data), maintenance="background",
                   memtable_max_bytes=64 * 1024)


# ---------------------------------------------------------------- reads
# Over N records flushed and compacted into L1 pages; every reader is
# exhausted or closed inside the timed call.

def _reads(mod, run_on, **fill):
    log = filled_log(mod, **fill)
    return Case(lambda: run_on(log), log=log)


def _check(got, want):
    assert got == want, (got, want)


@workload("scan with for", "record", "reads")
def scan_for(mod):
    return _reads(mod, lambda log: _check(count_for(log), N))


@workload("scan with next_batch(4096)", "bulk", "reads")
def scan_next_batch(mod):
    return _reads(mod, lambda log: _check(scan_batches(log), N))


@workload(f"{Q} ranges of ~100 records", "record", "reads")
def range_queries(mod):
    starts = query_starts()

    def run(log):
        rng = log.range
        k = 0
        for s in starts:
            k += len(list(rng(s, s + 1000)))
        assert k >= Q * 99, k
    return _reads(mod, run)


@workload(f"{10 * Q} point queries", "record", "reads")
def point_queries(mod):
    points = tuple(s - s % STEP for s in query_starts(10 * Q))

    def run(log):
        point = log.point
        k = 0
        for t in points:
            for _ in point(t):
                k += 1
        _check(k, 10 * Q)
    return _reads(mod, run)


def _spans(mod, reduce):
    np = _np()

    def run(log):
        total = 0
        for _ in range(SPAN_PASSES):
            for span in log.page_spans(0, N * STEP):
                total += reduce(np.asarray(span.timestamps))
                span.close()
        return total
    return run


@workload("spans into numpy", "bulk", "reads")
def spans_numpy(mod):
    run = _spans(mod, lambda a: int(a.shape[0]))
    return _reads(mod, lambda log: _check(run(log), SPAN_PASSES * N))


@workload("spans into numpy, summed", "bulk", "reads")
def spans_numpy_sum(mod):
    run = _spans(mod, lambda a: int(a.sum()))
    return _reads(mod, run)


@workload("scan unflushed, 10% late", "record", "reads")
def scan_unflushed_late10(mod):
    return _reads(mod, lambda log: _check(count_for(log), N), late=LATE_FRACTION,
                  flush=False, compact=False)


@workload("spans kind=all, unflushed", "bulk", "reads")
def spans_all_unflushed(mod):
    def run(log):
        total = 0
        for _ in range(SPAN_PASSES):
            for span in log.page_spans(-2**63, 2**63 - 1, kind="all"):
                total += len(span)
                span.close()
        _check(total, SPAN_PASSES * N)
    return _reads(mod, run, late=LATE_FRACTION, flush=False, compact=False)


# ---------------------------------------------------------------- columnar
# Exist only where the backend has them (recent commits; capi first).

@workload("whole-log arrays()", "bulk", "columnar")
def arrays_all(mod):
    require(mod, "Timelog.arrays")
    return _reads(mod, lambda log: _check(len(log.arrays()[1]), N))


@workload(f"{Q} ranges of ~100 records via arrays()", "bulk", "columnar")
def range_arrays(mod):
    require(mod, "Timelog.arrays")
    starts = query_starts()

    def run(log):
        arrays = log.arrays
        k = 0
        for s in starts:
            k += len(arrays(s, s + 1000)[1])
        assert k >= Q * 99, k
    return _reads(mod, run)


@workload("scan with next_arrays(4096)", "bulk", "columnar")
def scan_next_arrays(mod):
    require(mod, "TimelogIter.next_arrays")

    def run(log):
        it = log.all()
        n = 0
        while True:
            got = len(it.next_arrays(4096)[1])
            if not got:
                break
            n += got
        _check(n, N)
    return _reads(mod, run)


@workload(f"{Q} count() of ~100-record ranges + 1 whole-log count", "bulk", "columnar")
def count_ranges(mod):
    require(mod, "Timelog.count")
    starts = query_starts()

    def run(log):
        count = log.count
        k = 0
        for s in starts:
            k += count(s, s + 1000)
        assert k >= Q * 99, k
        _check(count(), N)
    return _reads(mod, run)


def pandas_module():
    try:
        import pandas
    except ImportError:
        raise NotImplementedError("pandas is not installed") from None
    return pandas


def to_pandas_function():
    """The facade's ``to_pandas`` helper, applied to a backend's own log."""
    try:
        from timelog._frames import to_pandas
    except ImportError:
        raise NotImplementedError("timelog has no to_pandas at this commit") from None
    return to_pandas


@workload("to_pandas() of the whole log", "bulk", "columnar")
def to_pandas_all(mod):
    require(mod, "Timelog.arrays")
    pandas_module()
    to_pandas = to_pandas_function()
    return _reads(mod, lambda log: _check(len(to_pandas(log, None, None)), N))


def ready_series(ts, objs, unit="ns"):
    """What ``to_pandas`` is measured against: a Series from ready arrays."""
    pd = pandas_module()
    return pd.Series(objs, index=pd.to_datetime(ts, unit=unit, utc=True), dtype=object)


# ---------------------------------------------------------------- deletes
# Mutating: reset() refills the log before every timed call.

def _refill(**fill):
    def reset(case):
        case.close()
        case.log = filled_log(case.mod, **fill)
    return reset


def _mutating(mod, run_on, **fill):
    case = Case(None, reset=_refill(**fill))
    case.mod = mod
    case.run = lambda: run_on(case.log)
    return case


def _delete_ranges(log):
    stride = N * STEP // DELETE_RANGES
    for i in range(DELETE_RANGES):
        s = i * stride
        log.delete_range(s, s + 5 * STEP)


@workload("N/10 delete_range calls", "record", "deletes", mutates=True)
def delete_ranges(mod):
    def run(log):
        delete_range = log.delete_range
        for s in range(0, N * STEP, 10 * STEP):
            delete_range(s, s + 1)
    return _mutating(mod, run)


@workload("1000 deletes + compact + scan", "record", "deletes", mutates=True)
def delete_ranges_compact_scan(mod):
    def run(log):
        _delete_ranges(log)
        log.flush()
        log.compact()
        _check(count_for(log), N - 5 * DELETE_RANGES)
    return _mutating(mod, run)


@workload("delete_before half + compact", "record", "deletes", mutates=True)
def delete_before_compact(mod):
    def run(log):
        log.delete_before(N * STEP // 2)
        log.compact()
    return _mutating(mod, run)


@workload("next_batch scan, 1000 tombstones", "bulk", "deletes")
def scan_with_tombstones(mod):
    log = filled_log(mod)
    _delete_ranges(log)
    return Case(lambda: _check(scan_batches(log), N - 5 * DELETE_RANGES), log=log)


# ---------------------------------------------------------------- maintenance

@workload("flush", "record", "maintenance", mutates=True)
def flush(mod):
    # memtable large enough to hold everything: one flush seals and pages it all
    return _mutating(mod, lambda log: log.flush(), late=LATE_FRACTION, flush=False,
                     compact=False, memtable_max_bytes=64 << 20)


@workload("compact", "record", "maintenance", mutates=True)
def compact(mod):
    # small memtables: many L0 segments that overlap in time (late data)
    return _mutating(mod, lambda log: log.compact(), late=LATE_FRACTION, flush=True,
                     compact=False, memtable_max_bytes=128 * 1024)


# ---------------------------------------------------------------- defaults
# Issue 16: a default Timelog() absorbs many appends, and reads stay fast.
# What they compare is the state of the log, not the backends: their one
# ratio is targets.track_default_scan_vs_compacted (within 1.2x), and the
# backends' scan ratio is scan_next_batch's.  No per-backend ratio track:
# it would rebuild two 2M-record logs per backend and commit for nothing new.

def _default_log(mod, settle):
    log = mod.Timelog()
    append = log.append
    try:
        for i in range(DEFAULTS_N):
            append(i, None)
    except Exception as exc:  # TimelogBusyError: defaults that raised (older commits)
        log.close()
        raise NotImplementedError(f"a default Timelog() refused appends here: {exc!r}") \
            from None
    if settle:
        log.flush()
        log.compact()
    gc.collect()
    return log


@workload(f"scan after {DEFAULTS_N / 1e6:g}M default appends", "record", "defaults",
          ratio=False)
def scan_after_default_appends(mod):
    log = _default_log(mod, settle=False)
    return Case(lambda: _check(scan_batches(log), DEFAULTS_N), log=log)


@workload(f"scan after {DEFAULTS_N / 1e6:g}M appends + flush + compact", "record",
          "defaults", ratio=False)
def scan_after_flush_compact(mod):
    log = _default_log(mod, settle=True)
    return Case(lambda: _check(scan_batches(log), DEFAULTS_N), log=log)
