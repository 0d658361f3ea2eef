"""Timelog against its peers: the same workloads, alternating, one session.

    python tools/peers.py --side timelog=PY --side timelog-lib=PY2 \
        --side sortedcontainers=PY [--n 1000000] [--rounds 3] [--out FILE]

``nox -s peers`` builds the environments (this package and
``sortedcontainers`` in one, the published ``timelog-lib`` in another, both
from the package index, Python 3.12 because timelog-lib needs it) and calls
this.  Each round starts one worker process per side, in a rotating order,
and every worker runs every workload once; a workload's figure is its best
round.  So a slow phase of the machine hits every side, and no side runs in
a warmer process than another.

Workloads (N records, timestamps 10 apart, Q = N / 100 queries):

* append loop, ``extend`` of pairs, ``extend`` with 10% late records;
* a ``for`` scan and a ``next_batch(4096)`` scan of a flushed, compacted log;
* Q ranges of ~100 records, Q point queries;
* 1000 range deletes + compact + scan.

The adapters use only calls both Timelogs share (``append(ts, obj)``,
``extend(pairs)``, ``all()``, ``range``, ``point``, ``delete_range``,
``flush``, ``compact``); sortedcontainers gets a ``SortedKeyList`` wrapper
with the same semantics (half-open ranges, ties in insertion order).
Python 3.9+.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / ".asv" / "peers" / "peers.json"
DEFAULT_N = 1_000_000
DEFAULT_ROUNDS = 3

# key -> (label, unit): "rec" = records/s, "q" = queries/s, "s" = seconds (lower is better)
WORKLOADS = {
    "append": ("append loop", "rec"),
    "extend": ("extend list of pairs", "rec"),
    "extend_late10": ("extend, 10% late", "rec"),
    "scan_for": ("scan with for", "rec"),
    "scan_next_batch": ("scan with next_batch(4096)", "rec"),
    "ranges": ("ranges of ~100 records", "q"),
    # The same question answered by each side's fastest path: timelog's
    # columnar arrays(t1, t2), the peers' tuple ranges (they have no columns).
    "ranges_columnar": ("ranges of ~100 records, fastest path", "q"),
    "points": ("point queries", "q"),
    "delete_compact_scan": ("1000 range deletes + compact + scan", "s"),
}


# ---------------------------------------------------------------- worker side

class SortedLog:
    """The Timelog calls the workloads use, on a sortedcontainers SortedKeyList."""

    def __init__(self):
        from operator import itemgetter

        from sortedcontainers import SortedKeyList
        self.sl = SortedKeyList(key=itemgetter(0))

    def append(self, ts, obj):
        self.sl.add((ts, obj))

    def extend(self, pairs):
        self.sl.update(pairs)

    def all(self):
        return _ListIter(iter(self.sl))

    def range(self, t1, t2):
        return _ListIter(self.sl.irange_key(t1, t2, inclusive=(True, False)))

    def point(self, t):
        return _ListIter(self.sl.irange_key(t, t))

    def delete_range(self, t1, t2):
        sl = self.sl
        del sl[sl.bisect_key_left(t1):sl.bisect_key_left(t2)]

    def flush(self):
        pass

    compact = close = flush


class _ListIter:
    def __init__(self, it):
        self.it = it

    def __iter__(self):
        return self.it

    def next_batch(self, n):
        from itertools import islice
        return list(islice(self.it, n))


def new_log(side):
    if side == "sortedcontainers":
        return SortedLog()
    import timelog
    return timelog.Timelog()


def describe(side):
    if side == "sortedcontainers":
        import sortedcontainers
        return f"sortedcontainers {sortedcontainers.__version__}"
    import importlib.metadata as md

    import timelog
    dist = "timelog-lib" if side == "timelog-lib" else "timelog"
    backend = getattr(timelog, "BACKEND", None)
    return f"{dist} {md.version(dist)}" + (f" ({backend} backend)" if backend else "")


def worker(side, n):
    rnd = random.Random(1)
    ts = list(range(0, n * 10, 10))
    objs = [("rec", i) for i in range(n)]
    pairs = list(zip(ts, objs))
    late = [(t - rnd.randint(1, 5000) if rnd.random() < 0.1 else t, o) for t, o in pairs]
    q = max(1, n // 100)
    starts = [rnd.randrange(0, n * 10 - 1000) for _ in range(q)]
    points = [s - s % 10 for s in starts]
    out = {}

    def timed(key, fn, *args):
        gc.collect()
        t0 = time.perf_counter()
        fn(*args)
        out[key] = time.perf_counter() - t0

    def append_all():
        log = new_log(side)
        append = log.append
        for t, o in pairs:
            append(t, o)
        log.close()

    def extend(data):
        log = new_log(side)
        log.extend(data)
        log.close()

    timed("append", append_all)
    timed("extend", extend, pairs)
    timed("extend_late10", extend, late)

    log = new_log(side)
    log.extend(pairs)
    log.flush()
    log.compact()

    def scan_for():
        k = 0
        for _ in log.all():
            k += 1
        assert k == n, k

    def scan_batches():
        it = log.all()
        k = 0
        while True:
            b = it.next_batch(4096)
            if not b:
                break
            k += len(b)
        assert k == n, k

    def ranges():
        rng = log.range
        for s in starts:
            len(list(rng(s, s + 1000)))

    def pointq():
        point = log.point
        for t in points:
            for _ in point(t):
                pass

    timed("scan_for", scan_for)
    if hasattr(log.all(), "next_batch"):
        timed("scan_next_batch", scan_batches)
    def ranges_columnar():
        arrays = getattr(log, "arrays", None)
        if arrays is None or side != "timelog":
            return ranges()
        for s in starts:
            len(arrays(s, s + 1000)[1])

    timed("ranges", ranges)
    timed("ranges_columnar", ranges_columnar)
    timed("points", pointq)

    def delete_compact_scan():
        stride = n * 10 // 1000
        for i in range(1000):
            log.delete_range(i * stride, i * stride + 50)
        log.flush()
        log.compact()
        assert sum(1 for _ in log.all()) == n - 5000

    timed("delete_compact_scan", delete_compact_scan)
    log.close()
    return {"seconds": out, "n": n, "q": q, "what": describe(side),
            "python": platform.python_version()}


# ---------------------------------------------------------------- driver side

def rate(key, seconds, n, q):
    unit = WORKLOADS[key][1]
    if unit == "s":
        return seconds
    return (n if unit == "rec" else q) / seconds


def fmt(key, value):
    unit = WORKLOADS[key][1]
    if unit == "s":
        return f"{value * 1e3:.0f} ms"
    suffix = "rec/s" if unit == "rec" else "q/s"
    return f"{value / 1e6:.2f} M{suffix}" if value >= 1e6 else f"{value / 1e3:.0f} k{suffix}"


def table(data):
    """Markdown table: rates per side, then the first side over each other side."""
    sides = list(data["sides"])
    first = sides[0]
    head = ["workload"] + [data["sides"][s]["what"] for s in sides] + \
        [f"{first} / {s}" for s in sides[1:]]
    lines = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for key, (label, unit) in WORKLOADS.items():
        vals = {}
        for s in sides:
            d = data["sides"][s]
            if key in d["best"]:
                vals[s] = rate(key, d["best"][key], d["n"], d["q"])
        if first not in vals:
            continue
        cells = [fmt(key, vals[s]) if s in vals else "-" for s in sides]
        for s in sides[1:]:
            if s not in vals:
                cells.append("-")
            elif unit == "s":
                cells.append(f"{vals[s] / vals[first]:.2f}x")
            else:
                cells.append(f"{vals[first] / vals[s]:.2f}x")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def drive(sides, n, rounds, out):
    best = {name: {} for name, _ in sides}
    info = {}
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    out.parent.mkdir(parents=True, exist_ok=True)
    for r in range(rounds):
        order = sides[r % len(sides):] + sides[:r % len(sides)]
        for name, python in order:
            cmd = [python, str(Path(__file__).resolve()), "--worker", name, "--n", str(n)]
            print(f"round {r + 1}/{rounds}: {name}", flush=True)
            # from a neutral directory: `import timelog` is the installed one
            res = subprocess.run(cmd, capture_output=True, text=True, cwd=out.parent, env=env)
            if res.returncode:
                sys.exit(f"{name} failed:\n{res.stderr[-2000:]}")
            got = json.loads(res.stdout.strip().splitlines()[-1])
            info[name] = got
            for key, secs in got["seconds"].items():
                best[name][key] = min(secs, best[name].get(key, float("inf")))
    data = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
                   f"{platform.system()}",
        "rounds": rounds,
        # the user's command, without this machine's interpreter paths
        "command": " ".join(["nox -s peers", *([f"-- --n {n} --rounds {rounds}"]
                                               if (n, rounds) != (DEFAULT_N, DEFAULT_ROUNDS)
                                               else [])]),
        "sides": {name: {"what": info[name]["what"], "python": info[name]["python"],
                         "n": info[name]["n"], "q": info[name]["q"], "best": best[name]}
                  for name, _ in sides},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1))
    print(table(data))
    print(f"wrote {out}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", action="append", default=[], metavar="NAME=PYTHON",
                    help="a side and its interpreter; the first is the reference")
    ap.add_argument("--n", type=int, default=DEFAULT_N)
    ap.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.n)))
        return
    sides = [tuple(s.split("=", 1)) for s in args.side]
    if not sides or any(len(s) != 2 for s in sides):
        ap.error("give --side NAME=PYTHON at least once")
    drive(sides, args.n, args.rounds, args.out.resolve())


if __name__ == "__main__":
    main()
