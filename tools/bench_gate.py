"""Performance gate over the latest asv results (``nox -s bench_gate``).

    python tools/bench_gate.py [--machine NAME] [--factor 1.10]

Fails (exit 1) when

1. a backend is slower than its target ratio to ``capi`` on any ``time_``
   workload of the latest run (ratio = capi time / backend time):
   cython >= 0.9x everywhere; cffi >= 0.8x on bulk paths and >= 0.3x on
   per-record paths (the kind of each workload is in
   ``tools/benchresults.py``); or
2. a benchmark got more than 10% slower than in the previous results:
   ``asv compare --factor 1.10`` against the newest other commit with
   results on this machine, or, when the latest run re-measured the same
   commit, against the copy ``tools/run_bench.py`` kept in
   ``.asv/previous`` (same factor, and the two 99% confidence intervals
   must not overlap, as asv requires).

Run ``python tools/run_bench.py`` first.  With no previous results, check 2
reports that there is nothing to compare and does not fail.
"""
import argparse
import math
import subprocess
import sys

import benchresults as br

TARGETS = {"cython": {"bulk": 0.9, "record": 0.9},
           "cffi": {"bulk": 0.8, "record": 0.3}}


def check_ratios(data):
    failures = []
    ratios = br.speed_ratios(br.table(data))
    print(f"Ratios to capi, commit {data.get('commit_hash', '?')[:8]}:")
    print(f"  {'workload':44} {'kind':6} " + " ".join(f"{b:>8}" for b in TARGETS))
    for name in sorted(ratios, key=lambda n: list(br.WORKLOADS).index(n)
                       if n in br.WORKLOADS else len(br.WORKLOADS)):
        kind = br.kind(name)
        cells = []
        for backend, target in TARGETS.items():
            r = ratios[name].get(backend)
            if r is None:
                cells.append(f"{'-':>8}")
                continue
            ok = r >= target[kind]
            cells.append(f"{r:7.2f}{' ' if ok else '!'}")
            if not ok:
                failures.append(f"{backend} {br.label(name)} ({name}): {r:.2f}x < "
                                f"{target[kind]}x of capi")
        print(f"  {br.label(name):44} {kind:6} " + " ".join(cells))
    if not ratios:
        failures.append("no time_ results with a capi baseline in the latest run")
    return failures


def compare_files(old, new, factor):
    """Same-commit re-run: slowdowns > factor whose 99% CIs do not overlap."""
    failures = []
    before, after = br.table(old), br.table(new)
    for name, per in after.items():
        for backend, cur in per.items():
            prev = before.get(name, {}).get(backend)
            if not prev or not prev["value"]:
                continue
            ratio = cur["value"] / prev["value"]
            # Without usable statistics (a --quick run has one sample and an
            # infinite interval) only the factor counts, as in asv compare.
            cis = (cur["ci"], prev["ci"])
            known = all(ci is not None and all(math.isfinite(x) for x in ci) for ci in cis)
            separated = not known or cur["ci"][0] > prev["ci"][1]
            if ratio > factor and separated:
                failures.append(f"{name}({backend}): {ratio:.2f}x the previous run")
    return failures


def asv_compare(prev_commit, commit, machine, factor):
    cmd = [sys.executable, "-m", "asv", "compare", "--factor", str(factor), "--only-changed",
           "--machine", machine, prev_commit, commit]
    print("+", " ".join(cmd), flush=True)
    res = subprocess.run(cmd, cwd=br.ROOT, capture_output=True, text=True)
    print(res.stdout)
    if res.returncode:
        return [f"asv compare failed: {res.stderr.strip()[-300:]}"]
    failures = []
    for line in res.stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] in ("+", "!"):
            failures.append("asv compare: " + " ".join(cells[1:]))
    return failures


def check_regressions(latest, machine, factor):
    data = br.load(latest)
    commit = data["commit_hash"]
    kept = br.PREVIOUS / machine / latest.name
    if kept.is_file():
        print(f"Regression check: re-run of {commit[:8]} against the kept previous run")
        return compare_files(br.load(kept), data, factor)
    older = [f for f in br.result_files(machine)
             if br.load(f).get("commit_hash") != commit]
    if not older:
        print("Regression check: no previous results on this machine, nothing to compare")
        return []
    prev = br.load(older[0])["commit_hash"]
    print(f"Regression check: {prev[:8]} -> {commit[:8]}")
    return asv_compare(prev, commit, machine, factor)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--machine", help="asv machine name (default: newest results)")
    ap.add_argument("--factor", type=float, default=1.10,
                    help="slowdown factor that fails the gate (default 1.10)")
    args = ap.parse_args()
    files = br.result_files(args.machine)
    if not files:
        sys.exit("no asv results: run `python tools/run_bench.py` first")
    latest = files[0]
    machine = latest.parent.name
    failures = check_ratios(br.load(latest))
    failures += check_regressions(latest, machine, args.factor)
    if failures:
        print("\nFAILED:")
        for f in failures:
            print("  " + f)
        sys.exit(1)
    print("\nbench gate passed")


if __name__ == "__main__":
    main()
