"""Turns the workload registry into asv benchmarks.

* :func:`define_times` adds one ``time_<workload>`` function per workload of
  a suite, parametrized by backend (capi, cython, cffi): absolute times.
* :func:`define_ratios` adds one ``track_<workload>`` function per workload,
  parametrized by cython and cffi: the backend's time relative to capi's
  (``backend time / capi time``; 1.0 = as fast as capi, 2.0 = twice as
  slow), both measured in one process, alternating, so machine noise and
  drift cancel.  These are the series the dashboard plots per backend.
  Lower is better, as for every asv result, so asv flags a ratio that grows
  as a regression like any other (``cython >= 0.8x capi`` speed is a ratio
  <= 1.25 here).

Module-level functions with ``setup`` attributes keep asv's names short
(``reads.time_scan_for``, ``ratios.track_scan_for``).  A backend or API the
measured commit lacks makes ``setup`` raise ``NotImplementedError``: asv
shows it as skipped, not failed.
"""
from __future__ import annotations

import gc
import os
import time

from .common import BACKENDS, backend_module
from .workloads import WORKLOADS

RATIO_ROUNDS = int(os.environ.get("TIMELOG_BENCH_RATIO_ROUNDS", 5))
"""Alternating rounds per ratio (each round times both sides once)."""


def _cases():
    """Per-process cache: non-mutating cases are built once per backend, not
    once per sample (asv re-runs ``setup`` before every timed call)."""
    return {}


def _case(cache, w, backend):
    case = cache.get(backend)
    if case is None:
        case = cache[backend] = w.open(backend_module(backend))
    elif w.mutates:
        case.reset()
    return case


def define_times(namespace, suite):
    for w in WORKLOADS.values():
        if w.suite != suite:
            continue
        cache = _cases()

        def setup(backend, w=w, cache=cache):
            _case(cache, w, backend)

        def bench(backend, cache=cache):
            cache[backend].run()

        bench.__name__ = bench.__qualname__ = f"time_{w.name}"
        bench.__doc__ = f"{w.label} ({w.kind}; workloads.{w.name})"
        bench.__module__ = namespace["__name__"]
        bench.params = [list(BACKENDS)]
        bench.param_names = ["backend"]
        bench.setup = setup
        bench.pretty_name = f"{suite}: {w.label}"
        namespace[bench.__name__] = bench


def timed(case):
    """One timed call of ``case`` (its reset is not timed)."""
    case.reset()
    gc.collect()
    t0 = time.perf_counter()
    case.run()
    return time.perf_counter() - t0


def alternate(a, b, rounds=RATIO_ROUNDS):
    """Best time of ``a`` and of ``b`` over ``rounds`` alternating rounds
    (ABBA order, so a slow phase of the machine hits both sides)."""
    best_a = best_b = float("inf")
    for i in range(rounds):
        if i % 2:
            tb, ta = timed(b), timed(a)
        else:
            ta, tb = timed(a), timed(b)
        best_a, best_b = min(best_a, ta), min(best_b, tb)
    return best_a, best_b


def define_ratios(namespace):
    for w in WORKLOADS.values():
        if not w.ratio:
            continue
        cache = _cases()

        def setup(backend, w=w, cache=cache):
            if "capi" not in cache:
                cache["capi"] = w.open(backend_module("capi"))
            if backend not in cache:
                cache[backend] = w.open(backend_module(backend))

        def bench(backend, cache=cache):
            t_capi, t_other = alternate(cache["capi"], cache[backend])
            return t_other / t_capi

        bench.__name__ = bench.__qualname__ = f"track_{w.name}"
        bench.__doc__ = (f"{w.label}: backend time / capi time, measured alternating in "
                         f"one process ({w.kind}); 1.0 = capi's speed, lower is better.")
        bench.__module__ = namespace["__name__"]
        bench.params = [[b for b in BACKENDS if b != "capi"]]
        bench.param_names = ["backend"]
        bench.setup = setup
        bench.unit = "x capi time"
        bench.pretty_name = f"time / capi time: {w.label}"
        namespace[bench.__name__] = bench
