"""asv ``track_`` benchmarks for the issues' speed targets, one process each.

Every function compares two ways of getting the same result on the same
backend, alternating (see suites.alternate), and returns the time of the
way under test divided by the time of the reference way: lower is better,
as for every asv result; the target is in the docstring.  A backend or API
a commit lacks is skipped.
"""
from __future__ import annotations

from .common import BACKENDS, N, backend_module
from .suites import alternate
from .workloads import (
    WORKLOADS,
    Case,
    pandas_module,
    range_arrays,
    range_queries,
    ready_series,
    require,
    to_pandas_function,
)
from .workloads import _reads as reads_case

PARAMS = [list(BACKENDS)]


def _target(fn, make_pair, doc, unit="time ratio"):
    cache = {}

    def setup(backend):
        if backend not in cache:
            cache[backend] = make_pair(backend_module(backend))

    def bench(backend):
        tested, reference = cache[backend]
        t_tested, t_reference = alternate(tested, reference)
        return t_tested / t_reference

    bench.__name__ = bench.__qualname__ = fn
    bench.__doc__ = doc
    bench.__module__ = __name__
    bench.params, bench.param_names = PARAMS, ["backend"]
    bench.setup, bench.unit = setup, unit
    bench.pretty_name = "target: " + doc.split(".")[0]
    globals()[fn] = bench


def _ranges_pair(mod):
    require(mod, "Timelog.arrays")
    return range_arrays(mod), range_queries(mod)


_target("track_ranges_arrays_vs_tuples", _ranges_pair,
        "arrays() ranges / tuple ranges, time. Target <= 0.33 on capi (3x the queries "
        "per second; issue 14).")


def _count_pair(mod):
    require(mod, "Timelog.count")

    def scan(log):
        assert sum(1 for _ in log.range(0, 2**62)) == N

    def count(log):
        assert log.count(0, 2**62) == N
    return reads_case(mod, count), reads_case(mod, scan)


_target("track_count_vs_scan", _count_pair,
        "count() / sum(1 for _ in range()), time. Target <= 0.02 (50x faster; issue 14).")


def _pandas_pair(mod):
    require(mod, "Timelog.arrays")
    to_pandas = to_pandas_function()
    pandas_module()
    fast = reads_case(mod, lambda log: to_pandas(log, None, None))
    ts, objs = fast.log.arrays()
    ts = ts.copy()
    ready = Case(lambda: ready_series(ts, objs, fast.log.time_unit))
    return fast, ready


_target("track_to_pandas_vs_ready_series", _pandas_pair,
        "to_pandas() / a Series from ready arrays, time. Target <= 2 (issue 14).")


def _defaults_pair(mod):
    return (WORKLOADS["scan_after_default_appends"].open(mod),
            WORKLOADS["scan_after_flush_compact"].open(mod))


_target("track_default_scan_vs_compacted", _defaults_pair,
        "Scan after 2M default appends / scan after flush+compact, time. "
        "Target <= 1.2 (issue 16).")
