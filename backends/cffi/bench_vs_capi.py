"""cffi against capi in one process, alternating runs, best CPU time of R.

    python backends/cffi/bench_vs_capi.py [R]

Needs both backends installed (TIMELOG_BACKENDS=capi,cffi) and numpy.  If a
module ``timelog._backend_cffi_base`` is importable (another build of the
cffi binding, e.g. main's, built with its MODULE renamed), it is measured
too, to show what a change costs.  Prints seconds per workload and the speed
ratios (capi time / cffi time: 1.0 = as fast as capi).
"""
import gc
import importlib
import sys
import time

import numpy as np

R = int(sys.argv[1]) if len(sys.argv) > 1 else 7
N = 1_000_000
clock = time.process_time       # CPU time: steadier than wall time on a busy host

capi = importlib.import_module("timelog._backend_capi")
cffi = importlib.import_module("timelog._backend_cffi")
try:
    base = importlib.import_module("timelog._backend_cffi_base")
except ImportError:
    base = None
BACKENDS = [b for b in (capi, base, cffi) if b is not None]
TS = np.arange(N, dtype=np.int64)
OBJS = list(range(N))
PAIRS = list(zip(range(200_000), range(200_000)))  # noqa: B905


def w_append(B):
    log = B.Timelog()
    a = log.append
    t = clock()
    for i in range(200_000):
        a(i, i)
    d = clock() - t
    log.close()
    return d


def w_extend(B):
    log = B.Timelog()
    t = clock()
    log.extend(TS, OBJS)
    d = clock() - t
    log.close()
    return d


def w_extend_pairs(B):
    log = B.Timelog()
    t = clock()
    log.extend(PAIRS)
    d = clock() - t
    log.close()
    return d


def w_scan(log):
    t = clock()
    for _ in log.all():
        pass
    return clock() - t


def w_batch(log):
    t = clock()
    it = log.all()
    while len(it.next_batch(4096)) == 4096:
        pass
    return clock() - t


def w_ranges(log):
    t = clock()
    r = log.range
    for i in range(10_000):
        s = (i * 97) % (N - 200)
        for _ in r(s, s + 100):
            pass
    return clock() - t


def w_points(log):
    t = clock()
    p = log.point
    for i in range(100_000):
        for _ in p((i * 7919) % N):
            pass
    return clock() - t


def w_arrays(log):
    if not hasattr(log, "arrays"):
        return float("inf")
    t = clock()
    log.arrays()
    return clock() - t


def w_arrays_ranges(log):
    if not hasattr(log, "arrays"):
        return float("inf")
    t = clock()
    a = log.arrays
    for i in range(10_000):
        s = (i * 97) % (N - 200)
        a(s, s + 100)
    return clock() - t


STANDALONE = [("append loop 200k", w_append), ("extend 1M (ndarray)", w_extend),
              ("extend 200k pairs", w_extend_pairs)]
ON_LOG = [("scan 1M", w_scan), ("next_batch scan 1M", w_batch),
          ("10k ranges x100", w_ranges), ("100k points", w_points),
          ("arrays() 1M", w_arrays), ("10k arrays(t1,t2) x100", w_arrays_ranges)]


def main():
    logs = {}
    for B in BACKENDS:
        log = B.Timelog()
        log.extend(TS, OBJS)
        logs[B] = log
    head = f"{'workload':24s} {'capi s':>8s}"
    if base is not None:
        head += f" {'base s':>8s}"
    head += f" {'cffi s':>8s} {'cffi/capi':>9s}"
    if base is not None:
        head += f" {'base/capi':>9s} {'cffi/base':>9s}"
    print(head)
    for name, f in STANDALONE + ON_LOG:
        best = {}
        for _ in range(R):
            for B in BACKENDS:
                gc.collect()
                d = f(B) if (name, f) in STANDALONE else f(logs[B])
                best[B] = min(best.get(B, float("inf")), d)
        c, n = best[capi], best[cffi]
        row = f"{name:24s} {c:8.4f}"
        if base is not None:
            row += f" {best[base]:8.4f}"
        row += f" {n:8.4f} {c / n:9.3f}"
        if base is not None:
            b = best[base]
            row += f" {c / b:9.3f} {b / n:9.3f}"
        print(row, flush=True)


if __name__ == "__main__":
    main()
