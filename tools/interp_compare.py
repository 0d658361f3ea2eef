"""Timelog on two interpreters, same machine, alternating runs.

The PyPy question (docs/performance.md, "cffi on PyPy"): is the cffi
backend on PyPy, once the JIT has warmed up, as fast as the C-API backend
on CPython?  Each side runs this file as a worker in its own interpreter;
the driver alternates the sides ``--rounds`` times and keeps each
workload's best time per side, then prints the table.

    python tools/interp_compare.py --a "python3.11:capi" --b "pypy3:cffi"

Each side's interpreter must have timelog installed (``nox -s pypy`` makes
a PyPy venv in .nox/pypy).  Workloads follow the peers comparison:
append loop, extend of pairs, ``for`` scan, ``next_batch`` scan, ranges
of ~100 records, point lookups, page spans, ``arrays()``.  A worker warms
each workload up (``--warmup`` untimed calls, which is what lets PyPy's JIT
compile the loops) before timing it.  Runs on Python 3.9 and later.

On the cffi side it also times *floors*: the engine work of a workload
called straight through cffi, with none of the binding's Python around it
(a no-op C call; ``tl_append`` with a fixed handle; a point query's open,
read and close on one reused reader).  What a floor costs, no cffi binding
can avoid; the rest of the workload's time is the binding's own.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

N = 200_000
RANGES = 2_000
POINTS = 20_000


def _workloads(timelog):
    ts = list(range(0, N * 10, 10))
    objs = [("rec", i) for i in range(N)]
    pairs = list(zip(ts, objs))
    starts = [(i * 7919) % (N * 10 - 1000) for i in range(RANGES)]
    points = [(i * 104729) % N * 10 for i in range(POINTS)]
    full = timelog.Timelog()
    full.extend(pairs)
    full.flush()
    full.compact()

    def append_loop():
        log = timelog.Timelog()
        append = log.append
        for t, o in pairs:
            append(t, o)
        log.close()

    def extend():
        log = timelog.Timelog()
        log.extend(pairs)
        log.close()

    def scan():
        n = 0
        for _ in full.all():
            n += 1
        assert n == N

    def next_batch():
        it = full.all()
        n = 0
        while True:
            batch = it.next_batch(1000)
            if not batch:
                break
            n += len(batch)
        assert n == N

    def ranges():
        for s in starts:
            for _ in full.range(s, s + 1000):
                pass

    def point_lookups():
        for t in points:
            for _ in full.point(t):
                pass

    def spans():
        n = 0
        for span in full.page_spans(0, N * 10):
            with span:
                n += len(span)
        assert n == N

    def arrays():
        ts_col, obj_col = full.arrays()
        assert len(ts_col) == N and len(obj_col) == N

    return {"append loop": append_loop, "extend": extend, "scan": scan,
            "next_batch(1000)": next_batch, f"{RANGES} ranges of 100": ranges,
            f"{POINTS} points": point_lookups, "page spans": spans, "arrays()": arrays}


def _cffi_floors(timelog):
    """Per-call engine work through cffi alone (white-box: the backend's
    compiled module), for the append loop and the point lookups."""
    from timelog import _backend_cffi as cf
    lib, ffi = cf._lib, cf._ffi
    points = [(i * 104729) % N * 10 for i in range(POINTS)]
    full = timelog.Timelog()
    full.extend((t * 10, None) for t in range(N))
    reader = cf._new_reader("tlcf_reader *")
    ts, hs, n = ffi.new("int64_t[]", 16), ffi.new("tl_handle[]", 16), ffi.new("size_t *")

    def noop_call():
        f, null = lib.tlcf_run_len, ffi.NULL
        for _ in range(N):
            f(null, 0)

    def engine_append():
        log = timelog.Timelog()
        raw, f = log._log, lib.tl_append
        for t in range(N):
            f(raw, t, 0)            # one handle, never released: the table stays empty
        log.close()

    def engine_point():
        op, cl, raw, q, null = lib.tlcf_iter_open, lib.tlcf_reader_close, full._log, \
            cf._Q_POINT, ffi.NULL
        for t in points:
            op(reader, raw, q, t, 0, ts, hs, 8, n, null)
            cl(reader)

    # name: (function, calls per run, the workload it is the floor of)
    return {"floor: no-op cffi call": (noop_call, N, None),
            "floor: tl_append via cffi": (engine_append, N, "append loop"),
            "floor: point open+read+close via cffi": (engine_point, POINTS,
                                                      f"{POINTS} points")}


def _best(fn, warmup: int, repeat: int) -> float:
    """Best time of ``repeat`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def worker(warmup: int, repeat: int) -> None:
    import timelog
    best = {name: _best(fn, warmup, repeat) for name, fn in _workloads(timelog).items()}
    floors = {}
    if timelog.BACKEND == "cffi":
        floors = {name: {"per_call": _best(fn, warmup, repeat) / calls, "calls": calls,
                         "workload": workload}
                  for name, (fn, calls, workload) in _cffi_floors(timelog).items()}
    impl = f"{sys.implementation.name} {sys.version_info[0]}.{sys.version_info[1]}"
    print(json.dumps({"interp": impl, "backend": timelog.BACKEND, "best": best,
                      "floors": floors}))


def run_side(spec: str, warmup: int, repeat: int) -> dict:
    exe, _, backend = spec.partition(":")
    env = dict(os.environ, TIMELOG_BACKEND=backend)
    out = subprocess.run([exe, os.path.abspath(__file__), "--worker", "--warmup", str(warmup),
                          "--repeat", str(repeat)], env=env, capture_output=True, text=True,
                         check=True, cwd="/")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--a", default="python3.11:capi", help="EXE:BACKEND of the reference side")
    ap.add_argument("--b", default="pypy3:cffi", help="EXE:BACKEND of the compared side")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", help="also write the results as JSON here (nox -s pypy_speed: "
                    "for tools/perf_report.py)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.warmup, args.repeat)
        return 0
    sides = {}
    for _ in range(args.rounds):
        for key in ("a", "b"):
            res = run_side(getattr(args, key), args.warmup, args.repeat)
            prev = sides.setdefault(key, res)
            for name, t in res["best"].items():
                prev["best"][name] = min(prev["best"][name], t)
            for name, f in res["floors"].items():
                kept = prev["floors"][name]
                kept["per_call"] = min(kept["per_call"], f["per_call"])
    a, b = sides["a"], sides["b"]
    head_a = f"{a['backend']} on {a['interp']}"
    head_b = f"{b['backend']} on {b['interp']}"
    print(f"| workload (N={N:,}) | {head_a} | {head_b} | speed ratio |")
    print("|---|---:|---:|---:|")
    for name, ta in a["best"].items():
        tb = b["best"][name]
        print(f"| {name} | {ta * 1e3:.2f} ms | {tb * 1e3:.2f} ms | {ta / tb:.2f}x |")
    print(f"\nbest of {args.rounds} rounds x {args.repeat} runs after {args.warmup} warm-up "
          f"calls; ratio > 1: {head_b} is faster")
    for name, f in b["floors"].items():
        print(f"{head_b} {name}: {f['per_call'] * 1e9:.1f} ns per call")
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump({"date": time.strftime("%Y-%m-%d"), "machine": platform.processor()
                       or platform.machine(), "n": N, "rounds": args.rounds,
                       "repeat": args.repeat, "warmup": args.warmup, "a": a, "b": b}, f,
                      indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
