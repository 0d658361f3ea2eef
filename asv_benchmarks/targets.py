"""asv ``track_`` benchmarks for the issues' speed targets, one process each.

Every function compares two ways of getting the same result on the same
backend, alternating (see suites.alternate), and returns how many times
faster the first is; the target is in the docstring.  A backend or API a
commit lacks is skipped.
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


def _target(fn, make_pair, doc, unit="x"):
    cache = {}

    def setup(backend):
        if backend not in cache:
            cache[backend] = make_pair(backend_module(backend))

    def bench(backend):
        slow, fast = cache[backend]
        t_slow, t_fast = alternate(slow, fast)
        return t_slow / t_fast

    bench.__name__ = bench.__qualname__ = fn
    bench.__doc__ = doc
    bench.__module__ = __name__
    bench.params, bench.param_names = PARAMS, ["backend"]
    bench.setup, bench.unit = setup, unit
    bench.pretty_name = "target: " + doc.split(".")[0]
    globals()[fn] = bench


def _ranges_pair(mod):
    require(mod, "Timelog.arrays")
    return range_queries(mod), range_arrays(mod)


_target("track_ranges_arrays_vs_tuples", _ranges_pair,
        "arrays() ranges vs tuple ranges, x faster. Target >= 3 on capi (issue 14).")


def _count_pair(mod):
    require(mod, "Timelog.count")

    def scan(log):
        assert sum(1 for _ in log.range(0, 2**62)) == N

    def count(log):
        assert log.count(0, 2**62) == N
    return reads_case(mod, scan), reads_case(mod, count)


_target("track_count_vs_scan", _count_pair,
        "count() vs sum(1 for _ in range()), x faster. Target >= 50 (issue 14).")


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
        "to_pandas() vs a Series from ready arrays, x their speed. Target >= 0.5, "
        "i.e. within 2x (issue 14).")


def _defaults_pair(mod):
    return (WORKLOADS["scan_after_default_appends"].open(mod),
            WORKLOADS["scan_after_flush_compact"].open(mod))


_target("track_default_scan_vs_compacted", _defaults_pair,
        "Scan after default appends vs after flush+compact, x the compacted speed. "
        "Target >= 0.83, i.e. within 1.2x (issue 16).")
