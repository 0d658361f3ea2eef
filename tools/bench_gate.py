"""Performance gate (``nox -s bench_gate``).

    python tools/bench_gate.py [--base REV] [--head REV] [--factor 1.10] [--samples 3]

Measures two commits (default: HEAD's parent and HEAD) in one asv run, each
built in its own environment, then fails (exit 1) when

1. **a ratio target is missed at HEAD** (the ``ratios.track_*`` series:
   backend speed / capi speed, measured alternating in one process):
   cython >= 0.8x capi on every workload; cffi >= 0.9x of the ceiling that
   tools/ceilings.py measures for the workload in this interpreter (the
   best any cffi binding can do against capi).  Workloads without a measured
   cffi ceiling are listed, not gated;
2. **a benchmark regressed by more than 10%** from base to head: a ``time_``
   benchmark, or a ratio / target track (backend time over capi time), grew
   by more than ``factor``.  Every suspect (regression or missed
   ratio) is measured twice more, base and head alternating; a regression
   counts only if head is slower in both of those pairs and by more than the
   factor on each commit's best value over the three runs.  Two commits
   whose package sources (``pyproject.toml``, ``setup.py``, ``core``,
   ``backends``, ``src``) are the same cannot regress: then only head is
   measured, for the ratio targets.

The results go to .asv/results like any asv run, so they also show on the
dashboard.  Python 3.9+.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import benchresults as br

ROOT = br.ROOT
CYTHON_TARGET = 0.8
CFFI_SHARE_OF_CEILING = 0.9


def git_rev(rev):
    out = subprocess.run(["git", "rev-parse", rev], cwd=ROOT, capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"git rev-parse {rev}: {out.stderr.strip()}")
    return out.stdout.strip()


def measure(commits, samples, pairs=None):
    """asv run of ``commits``: every benchmark, or only the ``(name, backend)``
    pairs.  Results are stored in .asv/results like any asv run."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(commits) + "\n")
        hashfile = f.name
    cmd = [sys.executable, "-m", "asv", "run", f"HASHFILE:{hashfile}", "--show-stderr",
           "-a", f"repeat={samples}", "-a", "rounds=1", "-a", "warmup_time=0.05",
           "--launch-method=forkserver"]
    if pairs:
        # asv matches a parametrized benchmark as name('param')
        cmd += ["--bench", "^(" + "|".join(re.escape(f"{n}('{b}')") for n, b in sorted(pairs))
                + ")$"]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT)
    Path(hashfile).unlink()


def keep_best(acc, tab):
    """Merge ``tab`` into ``acc`` keeping each benchmark's best (lowest) value."""
    for name, per in tab.items():
        into = acc.setdefault(name, {})
        for backend, v in per.items():
            into[backend] = min(v, into.get(backend, v))
    return acc


BUILD_INPUTS = ("pyproject.toml", "setup.py", "core", "backends", "src")
"""What the package is built from: two commits equal here build the same package."""


def same_sources(base, head):
    return subprocess.run(["git", "diff", "--quiet", base, head, "--", *BUILD_INPUTS],
                          cwd=ROOT).returncode == 0


def tables(base, head):
    return br.merged_table(br.files_for(base)), br.merged_table(br.files_for(head))


def regressions(before, after, factor):
    """``{(benchmark, backend): text}`` for changes beyond ``factor``."""
    out = {}
    for name, per in after.items():
        # every measured result here is lower-is-better (the ratio and target
        # tracks report time / reference time); memory tracks are not gated
        if not name.split(".")[-1].startswith(("time_", "peakmem_")) and \
                not name.startswith(("ratios.", "targets.")):
            continue
        for backend, new in per.items():
            old = before.get(name, {}).get(backend)
            if not old or not new:
                continue
            change = new / old
            if change > factor:
                out[(name, backend)] = (f"{name} [{backend}]: {old:.4g} -> {new:.4g} "
                                        f"({change:.2f}x worse)")
    return out


def ratio_misses(after, ceilings):
    """``{(benchmark, backend): text}`` for ratio targets missed at head, and
    the table lines that show every ratio."""
    misses, lines = {}, []
    ratios = br.ratios(after)
    lines.append(f"  {'workload':48} {'cython':>8} {'cffi':>8} {'cffi ceil':>9} "
                 f"{'cffi/ceil':>9}")
    for w in br.order(ratios):
        per = ratios[w]
        cy, cf, ceil = per.get("cython"), per.get("cffi"), ceilings.get(w)
        cells = []
        if cy is None:
            cells.append(f"{'-':>8}")
        else:
            ok = cy >= CYTHON_TARGET
            cells.append(f"{cy:7.2f}{' ' if ok else '!'}")
            if not ok:
                misses[(f"ratios.track_{w}", "cython")] = (
                    f"cython {br.label(w)}: {cy:.2f}x capi < {CYTHON_TARGET}x")
        cells.append(f"{cf:8.2f}" if cf is not None else f"{'-':>8}")
        if ceil is None or cf is None:
            cells += [f"{'-':>9}", f"{'-':>9}"]
        else:
            share = cf / ceil
            ok = share >= CFFI_SHARE_OF_CEILING
            cells += [f"{ceil:9.2f}", f"{share:8.2f}{' ' if ok else '!'}"]
            if not ok:
                misses[(f"ratios.track_{w}", "cffi")] = (
                    f"cffi {br.label(w)}: {cf:.2f}x capi = {share:.2f} of its ceiling "
                    f"{ceil:.2f}x < {CFFI_SHARE_OF_CEILING}")
        lines.append(f"  {br.label(w)[:48]:48} " + " ".join(cells))
    return misses, lines


def measure_ceilings():
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    try:
        import ceilings
        return ceilings.cffi_ceilings()
    except Exception as exc:  # no capi/cffi in this interpreter
        print(f"cffi ceilings not measured ({exc}); cffi is not gated")
        return {}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="HEAD~1", help="older commit (default HEAD~1)")
    ap.add_argument("--head", default="HEAD", help="newer commit (default HEAD)")
    ap.add_argument("--factor", type=float, default=1.10,
                    help="change that counts as a regression (default 1.10)")
    ap.add_argument("--samples", type=int, default=3, help="timed calls per benchmark")
    args = ap.parse_args()
    base, head = git_rev(args.base), git_rev(args.head)
    subprocess.run([sys.executable, "-m", "asv", "machine", "--yes"], cwd=ROOT, check=True,
                   capture_output=True)
    print(f"bench gate: {base[:8]} (base) -> {head[:8]} (head)", flush=True)
    if same_sources(base, head):
        # Nothing the package is built from changed: any difference between the
        # two commits is the machine's noise, not a regression.
        print(f"{base[:8]} and {head[:8]} build from the same sources "
              f"({', '.join(BUILD_INPUTS)}): no regression is possible; measuring "
              f"{head[:8]} for the ratio targets only", flush=True)
        measure([head], args.samples)
        before, after = {}, tables(base, head)[1]
    else:
        measure([base, head], args.samples)
        before, after = tables(base, head)
    if not after:
        sys.exit(f"no results for {head[:8]}: did the build fail? (see above)")
    ceilings = measure_ceilings()
    misses, _ = ratio_misses(after, ceilings)
    suspects = {**regressions(before, after, args.factor), **misses}
    if suspects:
        # Confirm: measure the suspects again, the two commits one after the
        # other, twice.  A regression counts only if head is slower than base
        # in every such pair and by more than the factor on each commit's best
        # value (a busy phase of the machine slows a run down, never speeds it
        # up); a missed ratio counts on head's best value.
        print(f"\nre-measuring {len(suspects)} suspect(s), both commits, alternating:",
              flush=True)
        for text in suspects.values():
            print("  " + text)
        best_before, best_after = keep_best({}, before), keep_best({}, after)
        pairs = []
        for _ in range(2):
            if before:
                measure([base], args.samples, set(suspects))
                b = tables(base, head)[0]
                keep_best(best_before, b)
            measure([head], args.samples, set(suspects))
            h = tables(base, head)[1]
            keep_best(best_after, h)
            if before:
                pairs.append((b, h))
        before, after = best_before, best_after
        consistent = {k for k in suspects
                      if all(k[0] in b and k[0] in h and k[1] in b[k[0]] and k[1] in h[k[0]]
                             and h[k[0]][k[1]] > b[k[0]][k[1]] for b, h in pairs)}
    else:
        consistent = set()
    misses, lines = ratio_misses(after, ceilings)
    regressed = {k: v for k, v in regressions(before, after, args.factor).items()
                 if k in consistent}
    confirmed = {k: v for k, v in {**regressed, **misses}.items() if k in suspects}
    print(f"\nratios at {head[:8]} (speed relative to capi; ! = below target: cython "
          f">= {CYTHON_TARGET}, cffi >= {CFFI_SHARE_OF_CEILING} x ceiling):")
    print("\n".join(lines))
    print(f"\nregressions > {args.factor:.2f}x from {base[:8]} to {head[:8]}, confirmed: "
          f"{len([k for k in regressed if k in suspects])}")
    if confirmed:
        print("\nFAILED:")
        for text in confirmed.values():
            print("  " + text)
        sys.exit(1)
    print("\nbench gate passed")


if __name__ == "__main__":
    main()
