"""Shared data, sizes and helpers of the Timelog asv suites.

Every benchmark is parametrized by ``backend``: the names of the bindings
that import in this interpreter (``capi``, ``cython``, ``cffi``), loaded with
``timelog.load_backend`` so all of them run in one environment and the
dashboard shows them side by side.  Each backend's own ``Timelog`` class is
measured (not the facade subclass), the way ``peer_compare.py`` measures the
active one.

Sizes are modest so ``asv run --quick`` finishes in a few minutes on two
cores; ``TIMELOG_BENCH_N`` and ``TIMELOG_BENCH_Q`` scale them up.  Data is
built once per process and shared by every benchmark of that process.
"""
import functools
import os
import random

import timelog

N = int(os.environ.get("TIMELOG_BENCH_N", 100_000))
"""Records per log."""
Q = int(os.environ.get("TIMELOG_BENCH_Q", 1_000))
"""Range queries per benchmark call (point queries: 10 * Q)."""
STEP = 10
"""Gap between consecutive in-order timestamps (so ranges of 1000 hold ~100)."""
LATE_FRACTION = 0.1
"""Share of late (out-of-order) records in the "late" workloads."""


def importable_backends():
    """Names of the backends that import here, in the facade's order."""
    names = []
    for name in ("capi", "cython", "cffi"):
        try:
            timelog.load_backend(name)
        except ImportError:
            continue
        names.append(name)
    return names


BACKENDS = importable_backends()


def timelog_class(backend):
    """The backend's own ``Timelog`` class."""
    return timelog.load_backend(backend).Timelog


def new_log(backend, **options):
    """A fresh log; ``busy_policy="flush"`` so ingest never raises Busy."""
    options.setdefault("busy_policy", "flush")
    return timelog_class(backend)(**options)


@functools.cache
def timestamps(n=N, late=0.0, seed=1):
    """``n`` timestamps STEP apart; a ``late`` share moved back by 1..5000."""
    rnd = random.Random(seed)
    ts = list(range(0, n * STEP, STEP))
    if late:
        for i in range(n):
            if rnd.random() < late:
                ts[i] -= rnd.randint(1, 5000)
    return tuple(ts)


@functools.cache
def payloads(n=N):
    """``n`` distinct small payload objects (stored by reference)."""
    return tuple(("rec", i) for i in range(n))


@functools.cache
def pairs(n=N, late=0.0):
    """``n`` ``(timestamp, object)`` pairs as a list (the fast extend path)."""
    return list(zip(timestamps(n, late), payloads(n), strict=True))


@functools.cache
def query_starts(q=Q, n=N, seed=7):
    """``q`` random range starts inside the data (each range spans 1000)."""
    rnd = random.Random(seed)
    return tuple(rnd.randrange(0, n * STEP - 1000) for _ in range(q))


def filled_log(backend, n=N, late=0.0, flush=True, compact=True, **options):
    """A log holding ``pairs(n, late)``, flushed and compacted by default."""
    log = new_log(backend, **options)
    log.extend(pairs(n, late))
    if flush:
        log.flush()
    if compact:
        log.compact()
    return log


def scan_for(log):
    """Records of ``log.all()`` counted with a plain ``for`` loop."""
    n = 0
    for _ in log.all():
        n += 1
    return n


def scan_batches(log, size=4096):
    """Records of ``log.all()`` counted through ``next_batch(size)``."""
    it = log.all()
    n = 0
    while True:
        batch = it.next_batch(size)
        if not batch:
            return n
        n += len(batch)


def close_quietly(log):
    """Close ``log`` if a benchmark left one; readers are closed first by
    the benchmarks themselves, so this never meets Busy."""
    if log is not None and not log.closed:
        log.close()


class BackendBenchmark:
    """Base of every suite: one parameter, the backend name."""

    params = [BACKENDS]
    param_names = ["backend"]
    log = None

    def teardown(self, backend):
        close_quietly(self.log)
        self.log = None
