"""How fast a workload could possibly be, to tell a slow binding from a
target that no binding can reach.

    python tools/ceilings.py            # N=1000000 REPEAT=5 by default

Each *floor* does strictly less work than any implementation of the
workload must, with CPython's own C-level builtins; the ratio printed next
to it is the best a binding could score against the reference.  One
process, so every ratio is measured in one run.  Run it on the same
interpreter as the benchmark it explains (``tools/peers.py`` for the peer
targets, asv for the cffi targets).

1. Against timelog-lib (``nox -s peers``): the time CPython needs to
   build the records the API returns, with no index behind them.  Divide
   the peer's figure by the floor: that is the largest ratio any binding
   can show on that workload.
2. cffi against capi: the least Python-level code a cffi binding runs per
   call (a method plus the engine calls, no handle table, no lifetimes).
   ``python tools/ceilings.py --json`` prints them as ``{workload: ceiling}``
   (workload names of asv_benchmarks/workloads.py); ``nox -s bench_gate``
   requires cffi >= 0.9x of them.  Python 3.9+.
"""
from __future__ import annotations

import gc
import json
import os
import random
import sys
import time
from array import array
from operator import itemgetter

N = int(os.environ.get("N", 1_000_000))
REPEAT = int(os.environ.get("REPEAT", 5))
Q = 10_000


def best(fn):
    times = []
    for _ in range(REPEAT):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def rate(count, secs, unit):
    """records in M/s, queries in k/s"""
    scale, prefix = (1e6, "M") if unit == "rec" else (1e3, "k")
    return f"{count / secs / scale:8.2f} {prefix}{unit}/s"


CEILINGS: dict[str, float] = {}
"""cffi ceilings measured by cffi_floors(): asv workload name -> capi time / floor time."""
QUIET = False


def show(name, secs, count, unit, capi_secs=None, workload=None):
    line = f"  {name:46s} {rate(count, secs, unit)}"
    if workload is not None and capi_secs is not None:
        CEILINGS[workload] = capi_secs / secs
    if QUIET:
        return
    if capi_secs is not None:
        line += f"   capi {rate(count, capi_secs, unit)}   ceiling {capi_secs / secs:5.2f}x"
    print(line)


def python_floors(ts, objs):
    """Building what next_batch, range and a scan return, from ready lists."""
    print("floors: CPython building the records alone (compare with the peer's rates)")

    def batches():
        for i in range(0, N, 4096):
            batch = list(zip(ts[i:i + 4096], objs[i:i + 4096]))
            if not batch:
                break
    show("next_batch(4096): list(zip(ts, objs))", best(batches), N, "rec")

    rnd = random.Random(7)
    starts = [rnd.randrange(0, N * 10 - 1000) for _ in range(Q)]

    def ranges():
        for s in starts:
            i = (s + 9) // 10
            len(list(zip(range(i * 10, s + 1000, 10), objs[i:i + 100])))
    show("100-record ranges: list(zip(range, objs))", best(ranges), Q, "q")

    records = list(zip(ts, objs))
    show("scan: sum(1 for _ in records)", best(lambda: sum(1 for _ in records)), N, "rec")


def cffi_floors(ts, objs):
    try:
        import numpy
        import timelog._backend_capi as capi
        from timelog._backend_cffi._engine import ffi, lib
    except ImportError as e:
        print(f"cffi ceilings skipped: {e}", file=sys.stderr)
        return
    if not QUIET:
        print("ceilings: cffi against capi (least Python a cffi binding runs)")
    pairs = list(zip(ts, objs))

    def open_log():
        cfg = ffi.new("tl_config *")
        lib.tl_config_init(cfg)
        cfg.busy_policy = lib.TL_BUSY_FLUSH
        out = ffi.new("tl_log **")
        lib.tl_log_open(cfg, out)
        return out[0]

    def drop_log(log):
        lib.tl_log_close(log)
        lib.tl_log_destroy(log)

    class Appender:
        __slots__ = ("log",)

        def append(self, t, obj):
            return lib.tl_append(self.log, t, 1)

    def floor_append():
        w = Appender()
        w.log = open_log()
        ap = w.append
        for t, o in pairs:
            ap(t, o)
        drop_log(w.log)

    def capi_append():
        lg = capi.Timelog(busy_policy="flush")
        ap = lg.append
        for t, o in pairs:
            ap(t, o)
        lg.close()
    show("append: a method making one tl_append call", best(floor_append), N, "rec",
         best(capi_append), "append_loop")

    def floor_extend():
        for i in range(0, N, 4096):
            chunk = pairs[i:i + 4096]
            array("q", map(itemgetter(0), chunk))
            list(map(itemgetter(1), chunk))

    def capi_extend():
        lg = capi.Timelog(busy_policy="flush")
        lg.extend(pairs)
        lg.close()
    show("extend(pairs): split pairs into array + list", best(floor_extend), N, "rec",
         best(capi_extend), "extend_list")

    lg = capi.Timelog(busy_policy="flush")
    lg.extend(pairs)
    lg.flush()
    lg.compact()
    tsq = array("q", ts)

    def floor_batch():
        for i in range(0, N, 4096):
            batch = list(zip(tsq[i:i + 4096].tolist(), objs[i:i + 4096]))
            if not batch:
                break

    def capi_batch():
        it = lg.all()
        while it.next_batch(4096):
            pass
    show("next_batch(4096): int64 buffer -> list(zip())", best(floor_batch), N, "rec",
         best(capi_batch), "scan_next_batch")

    log = open_log()
    for i in range(0, N, 4096):
        k = min(4096, N - i)
        lib.tl_append_batch(log, ffi.from_buffer("int64_t[]", tsq[i:i + k]),
                            ffi.new("tl_handle[]", k), k, ffi.new("size_t *"))
    lib.tl_compact(log)
    rnd = random.Random(7)
    points = [s - s % 10 for s in (rnd.randrange(0, N * 10 - 1000) for _ in range(Q))]
    it_p = ffi.new("tl_iter **")
    ts_b = ffi.new("int64_t[]", 128)
    h_b = ffi.new("tl_handle[]", 128)
    n_b = ffi.new("size_t *")

    class Pointer:
        def point(self, t):
            lib.tl_log_iter(log, lib.TL_QUERY_POINT, t, 0, it_p)
            it = it_p[0]
            lib.tl_iter_next_batch(it, ts_b, h_b, 128, n_b)
            lib.tl_iter_destroy(it)
            return iter(((ts_b[0], objs[h_b[0]]),))

    def run_points(target):
        def run():
            for t in points:
                for _ in target.point(t):
                    pass
        return run
    show("point: a method making the 3 engine calls", best(run_points(Pointer())), Q, "q",
         best(run_points(lg)), "point_queries")

    # spans: a Python iterator whose __next__ makes one tl_spans_next call
    # and wraps the timestamps in a memoryview; close() releases the view.
    snap_p = ffi.new("tl_snapshot **")
    lib.tl_snapshot_acquire(log, snap_p)
    sps_p = ffi.new("tl_spans **")

    class Span:
        __slots__ = ("timestamps",)

        def close(self):
            self.timestamps.release()

    class Spans:
        def __init__(self):
            lib.tl_spans_open(snap_p[0], 0, N * 10, lib.TL_SPANS_SEGMENT, sps_p)
            self.sp = sps_p[0]
            self.out = ffi.new("tl_span *")

        def __iter__(self):
            return self

        def __next__(self):
            if lib.tl_spans_next(self.sp, self.out) != lib.TL_OK:
                lib.tl_spans_destroy(self.sp)
                raise StopIteration
            span = Span()
            span.timestamps = memoryview(ffi.buffer(self.out.ts, self.out.len * 8)).cast("q")
            lib.tl_span_release(self.out)
            return span

    def run_spans(make):
        def run():
            for span in make():
                a = numpy.asarray(span.timestamps)
                int(a.shape[0])
                del a
                span.close()
        return run
    show("spans: one tl_spans_next call + memoryview", best(run_spans(Spans)), N, "rec",
         best(run_spans(lambda: lg.page_spans(0, N * 10))), "spans_numpy")
    lib.tl_snapshot_release(snap_p[0])
    drop_log(log)
    lg.close()


def cffi_ceilings():
    """``{workload: ceiling}`` for cffi, measured now (nothing printed)."""
    global QUIET
    QUIET = True
    CEILINGS.clear()
    cffi_floors(list(range(0, N * 10, 10)), [("rec", i) for i in range(N)])
    return dict(CEILINGS)


def main():
    if "--json" in sys.argv[1:]:
        print(json.dumps(cffi_ceilings(), indent=1))
        return
    print(f"Python {sys.version.split()[0]}, N = {N}, best of {REPEAT}")
    ts = list(range(0, N * 10, 10))
    objs = [("rec", i) for i in range(N)]
    python_floors(ts, objs)
    cffi_floors(ts, objs)


if __name__ == "__main__":
    main()
