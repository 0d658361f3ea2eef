"""Shared data, sizes and backend loading of the Timelog asv suites.

Every benchmark is parametrized by ``backend``: ``capi``, ``cython`` and
``cffi``, each loaded as its own module (``timelog._backend_<name>``), so all
of them run in one environment and the dashboard shows them side by side.
The benchmarks measure each backend's own ``Timelog`` class, not the facade
subclass.

asv measures every commit with the benchmarks of the *current* checkout, so
a commit may lack a backend (not built, not importable) or a method a
workload needs (columnar reads are recent).  :func:`backend_module` and
:func:`require` then raise ``NotImplementedError``, which asv records as
"skipped" for that commit instead of a failure.

Sizes are modest so a history build over ten commits stays within minutes
on two cores; ``TIMELOG_BENCH_N`` and ``TIMELOG_BENCH_Q`` scale them up.
Data is built once per process and shared by every benchmark of that
process.  Runs on Python 3.9 and later.
"""
from __future__ import annotations

import functools
import importlib
import os
import random

N = int(os.environ.get("TIMELOG_BENCH_N", 100_000))
"""Records per log."""
Q = int(os.environ.get("TIMELOG_BENCH_Q", 1_000))
"""Range queries per benchmark call (point queries: 10 * Q)."""
STEP = 10
"""Gap between consecutive in-order timestamps (so ranges of 1000 hold ~100)."""
LATE_FRACTION = 0.1
"""Share of late (out-of-order) records in the "late" workloads."""

try:  # the project's one backend list (commits before it have the same three)
    from timelog._select import BACKENDS
except ImportError:
    BACKENDS = ("capi", "cython", "cffi")
"""Every backend, in the facade's preference order; ``capi`` is the reference."""


@functools.cache
def _load(name):
    return importlib.import_module(f"timelog._backend_{name}")


def backend_module(name):
    """The backend's module, or ``NotImplementedError`` (asv: skipped) when
    this commit does not build it or it fails to import."""
    try:
        return _load(name)
    except Exception as exc:  # ImportError, or a module that breaks on import
        raise NotImplementedError(f"backend {name} not importable here: {exc}") from None


def require(mod, *members):
    """``NotImplementedError`` unless ``mod`` has every ``"Class.member"``."""
    for spec in members:
        cls_name, _, attr = spec.partition(".")
        cls = getattr(mod, cls_name, None)
        if cls is None or (attr and not hasattr(cls, attr)):
            raise NotImplementedError(f"{mod.__name__} has no {spec} at this commit")


def new_log(mod, **options):
    """A fresh log; ``busy_policy="flush"`` so ingest never raises Busy."""
    options.setdefault("busy_policy", "flush")
    return mod.Timelog(**options)


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
    return list(zip(timestamps(n, late), payloads(n)))


@functools.cache
def query_starts(q=Q, n=N, seed=7):
    """``q`` random range starts inside the data (each range spans 1000)."""
    rnd = random.Random(seed)
    return tuple(rnd.randrange(0, n * STEP - 1000) for _ in range(q))


def filled_log(mod, n=N, late=0.0, flush=True, compact=True, **options):
    """A log holding ``pairs(n, late)``, flushed and compacted by default."""
    log = new_log(mod, **options)
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
    """Close ``log`` if a benchmark left one open."""
    if log is not None and not log.closed:
        log.close()
