"""Regenerate docs/performance.md from stored results (``nox -s perf_report``).

    python tools/perf_report.py [--commit REV]   # default: the newest commit measured

Reads what ``nox -s bench`` (asv, .asv/results) and ``nox -s peers``
(.asv/peers/peers.json) stored, measures the cffi ceilings
(tools/ceilings.py) in this interpreter, and writes docs/performance.md and
its figures (docs/_static/perf_*.png).  Nothing else writes that page: a
benchmark run never changes a tracked file.  Python 3.9+.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import benchresults as br

ROOT = br.ROOT
DOCS = ROOT / "docs"
STATIC = DOCS / "_static"


def fmt_time(seconds):
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} us"


def newest_commit():
    files = br.result_files()
    if not files:
        sys.exit("no asv results: run `nox -s bench` first")
    # the newest commit in git order among those measured
    measured = {br.load(f)["commit_hash"] for f in files}
    out = subprocess.run(["git", "rev-list", "--all"], cwd=ROOT, capture_output=True,
                         text=True).stdout.split()
    return next((c for c in out if c in measured), br.load(files[0])["commit_hash"])


def plot_ratios(ratios, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = br.order(ratios)
    fig, ax = plt.subplots(figsize=(9, 0.36 * len(names) + 1.5))
    for i, b in enumerate(("cython", "cffi")):
        ys = [j + i * 0.4 for j in range(len(names))]
        ax.barh(ys, [ratios[n].get(b, 0) for n in names], height=0.4, label=b)
    ax.axvline(1.0, color="black", lw=1)
    ax.axvline(0.8, color="tab:blue", ls="--", lw=0.8, label="cython target 0.8x")
    ax.set_yticks([j + 0.2 for j in range(len(names))])
    ax.set_yticklabels([br.label(n) for n in names])
    ax.invert_yaxis()
    ax.set_xlabel("speed relative to capi (capi time / backend time; 1.0 = same)")
    ax.set_title("Backends against capi, per workload (asv ratios.track_*)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=3, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def backend_section(commit, ceilings):
    files = br.files_for(commit)
    tab = br.merged_table(files)
    data = br.load(files[0])
    ratios = br.ratios(tab)
    machine = br.load(files[0].parent / "machine.json") if (files[0].parent /
                                                              "machine.json").is_file() else {}
    lines = [
        "## Backends side by side (asv)",
        "",
        f"Commit `{commit[:8]}` as last measured by `nox -s bench` or `nox -s bench_gate` on "
        f"{machine.get('cpu', '?')} ({machine.get('num_cpu', '?')} CPUs), "
        f"{_python_label(data.get('python', '?'))}; {br.WORKLOADS and len(ratios)} workloads, "
        "100,000 records per log (`TIMELOG_BENCH_N`).",
        "",
        "Times are asv's `time_` benchmarks (best of its samples). The ratio columns",
        "are the `ratios.track_` benchmarks (which store `backend time / capi",
        "time`), shown as speed: `capi time / backend time` (1.0 = as fast as",
        "capi), the backend and capi measured alternating in one process.",
        "*cffi ceiling* is the best ratio any cffi binding can reach",
        "(`python tools/ceilings.py`); the gate asks cffi for 0.9 of it, and cython",
        "for 0.8x capi everywhere.",
        "",
        "| workload | kind | capi | cython | cffi | cython / capi | cffi / capi | "
        "cffi ceiling |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    names = br.order({n[len(s):] for n in tab for s in ("ingest.time_", "reads.time_",
                      "columnar.time_", "deletes.time_", "maintenance.time_",
                      "defaults.time_") if n.startswith(s)})
    for w in names:
        per = next((tab[n] for n in tab if n.endswith(".time_" + w)), {})
        cells = [fmt_time(per[b]) if b in per else "-" for b in ("capi", "cython", "cffi")]
        rs = ratios.get(w, {})
        cells += [f"{rs[b]:.2f}x" if b in rs else "-" for b in ("cython", "cffi")]
        cells.append(f"{ceilings[w]:.2f}x" if w in ceilings else "-")
        lines.append(f"| {br.label(w)} | {br.kind(w)} | " + " | ".join(cells) + " |")
    lines += ["", "A `-` is a backend or method this commit does not have (asv: skipped).",
              ""]
    if ratios:
        STATIC.mkdir(parents=True, exist_ok=True)
        plot_ratios(ratios, STATIC / "perf_backends.png")
        lines += ["![Each backend's speed relative to capi per workload]"
                  "(_static/perf_backends.png)", ""]
    targets = {n: per for n, per in tab.items() if n.startswith("targets.")}
    if targets:
        lines += ["### Targets measured in one process", "",
                  "Time of the way under test / time of the reference way, alternating "
                  "in one process (lower is better).", "",
                  "| comparison (time ratio) | capi | cython | cffi |", "|---|---:|---:|---:|"]
        docs = {"targets.track_ranges_arrays_vs_tuples": "1000 ranges: arrays() / tuples "
                "(target <= 0.33 on capi)",
                "targets.track_count_vs_scan": "count() / counting a scan (target <= 0.02)",
                "targets.track_to_pandas_vs_ready_series": "to_pandas() / a Series from "
                "ready arrays (target <= 2)",
                "targets.track_default_scan_vs_compacted": "scan after 2M default appends / "
                "after flush+compact (target <= 1.2)"}
        for n, per in sorted(targets.items()):
            cells = [f"{per[b]:.3g}" if b in per else "-" for b in ("capi", "cython", "cffi")]
            lines.append(f"| {docs.get(n, n)} | " + " | ".join(cells) + " |")
        lines.append("")
    mem = {n: per for n, per in tab.items() if n.startswith("memory.")}
    if mem:
        lines += ["### Memory", "", "| measure | capi | cython | cffi |", "|---|---:|---:|---:|"]
        for n, per in sorted(mem.items()):
            peak = ".peakmem_" in n
            cells = [("-" if b not in per else f"{per[b] / 2**20:.0f}" if peak
                      else f"{per[b]:.1f}") for b in ("capi", "cython", "cffi")]
            unit = "MiB peak RSS" if peak else "bytes/record"
            lines.append(f"| {n.rsplit('.', 1)[-1]} ({unit}) | " + " | ".join(cells) + " |")
        lines.append("")
    return lines


def peers_section():
    lines = ["## Against the peers (`nox -s peers`)", ""]
    if not br.PEERS.is_file():
        return lines + ["No peer results yet: run `nox -s peers`.", ""]
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import peers
    data = json.loads(br.PEERS.read_text())
    first = next(iter(data["sides"].values()))
    lines += [
        f"{data['date']}, {data['machine']}, Python {first['python']}, N = {first['n']:,} "
        f"records, Q = {first['q']:,} queries, best of {data['rounds']} alternating "
        f"rounds (`{data['command']}`). Each side runs in its own environment installed "
        "from the package index; sortedcontainers is a `SortedKeyList` with the same "
        "semantics. Rates: higher is better; the last columns are timelog's advantage "
        "(> 1: timelog faster).",
        "",
        peers.table(data),
        "",
    ]
    return lines


def _python_label(python):
    """asv stores a version ("3.11") for the environments it builds and the
    interpreter's path for ``--same`` (the working tree's environment)."""
    if "/" not in python:
        return f"Python {python}"
    try:
        out = subprocess.run([python, "-c", "import sys; print(sys.version.split()[0])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "the working tree's interpreter (`nox -s bench -- --same`)"
    return f"Python {out} (the working tree, `nox -s bench -- --same`)"


def pypy_section():
    lines = ["## cffi on PyPy (`nox -s pypy_speed`)", ""]
    if not br.PYPY.is_file():
        return lines + ["No PyPy results yet: run `nox -s pypy_speed`.", ""]
    data = json.loads(br.PYPY.read_text())
    a, b = data["a"], data["b"]
    head_a = f"{a['backend']} on {a['interp']}"
    head_b = f"{b['backend']} on {b['interp']}"
    lines += [
        f"{data['date']}, {data['machine']}, N = {data['n']:,} records, best of "
        f"{data['rounds']} alternating rounds x {data['repeat']} runs, each after "
        f"{data['warmup']} untimed warm-up calls (what lets PyPy's JIT compile the "
        "loops). Speed ratio > 1: PyPy is faster. PyPy runs C-API extensions through "
        "its cpyext emulation, so only the cffi backend is built there.",
        "",
        f"| workload | {head_a} | {head_b} | speed ratio |",
        "|---|---:|---:|---:|",
    ]
    for name, ta in a["best"].items():
        tb = b["best"][name]
        lines.append(f"| {name} | {fmt_time(ta)} | {fmt_time(tb)} | {ta / tb:.2f}x |")
    return lines + [""] + _pypy_floors(data, head_a, head_b)


def _pypy_floors(data, head_a, head_b):
    """The floors tools/interp_compare.py measured, each next to its workload."""
    floors = data["b"].get("floors") or {}
    rows = [f for f in floors.values() if f["workload"] in data["a"]["best"]]
    if not rows:
        return []
    noop = next((f["per_call"] for f in floors.values() if f["workload"] is None), None)
    lines = [
        "Where a per-call workload's time goes on PyPy, per call: the *floor* is "
        "the engine work called straight through cffi with none of the binding's "
        "Python around it (`tools/interp_compare.py` times it in the same run); "
        "the rest is the binding's own bookkeeping (payload table, reader objects, "
        "iterator protocol)."
        + (f" A no-op cffi call costs {noop * 1e9:.0f} ns there." if noop else ""),
        "",
        f"| per call | {head_a} | {head_b} | floor on PyPy | the binding's part |",
        "|---|---:|---:|---:|---:|",
    ]
    for f in rows:
        work, fl = f["workload"], f["per_call"]
        ta = data["a"]["best"][work] / f["calls"]
        tb = data["b"]["best"][work] / f["calls"]
        lines.append(f"| {work} | {ta * 1e9:.0f} ns | {tb * 1e9:.0f} ns | {fl * 1e9:.0f} ns "
                     f"| {(tb - fl) * 1e9:.0f} ns |")
    return lines + [""]


# Measured once with callgrind (instruction counts do not drift with load);
# kept as text because it explains the interpreter, not a commit.
SCAN_312 = """\
## Why a `for` scan is slower on Python 3.12 than on 3.11

The same capi `for` scan costs about 660 instructions per record on 3.11
and 926 on 3.12 (callgrind, 200,000 records, a function-local loop; the
difference per function between the two runs). The binding's own
`__next__` goes from 33 to 36 instructions per record; the rest is the
interpreter: `__tls_get_addr` (+87: 3.12 reads its thread state through a
thread-local of the shared `libpython`, which pyenv builds), the small-object
allocator (+52), `long` deallocation (+32), the trashcan (+25) and the
evaluation loop (+28). Nothing of it belongs to the binding, so 3.12 users
who need scan speed should use the columnar reads (`arrays()`,
`next_arrays()`), which make no per-record object but the payload list.
Reproduce: `valgrind --tool=callgrind python -c "..."` on each interpreter
with the same scan, and `callgrind_annotate` of both.
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commit", help="the commit whose asv results to show")
    args = ap.parse_args()
    commit = args.commit or newest_commit()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import ceilings
    try:
        ceil = ceilings.cffi_ceilings()
    except Exception as exc:
        print(f"ceilings not measured: {exc}")
        ceil = {}
    lines = [
        "# Performance",
        "",
        "<!-- Generated by tools/perf_report.py (nox -s perf_report); edit the script, "
        "not this page. -->",
        "",
        "Timelog's three backends run the same C engine; what differs is the cost",
        "of crossing from Python into C. The figures below come from the asv suite",
        "(`asv_benchmarks/`, history and dashboard: [](dashboard.md)) and from the",
        "peers comparison. Figures drift between machines and runs (the build",
        "machine has 2 shared cores): compare numbers only within one run; the",
        "ratios are measured alternating in one process for that reason.",
        "",
    ]
    lines += backend_section(commit, ceil)
    lines += peers_section()
    lines += pypy_section()
    lines += SCAN_312.splitlines() + [""]
    lines += [
        "## Reproducing",
        "",
        "- `nox -s bench`: asv history of the last 10 commits of main, each built",
        "  in its own virtualenv, and the dashboard in `.asv/html`",
        "  ([](dashboard.md)); `-- --commits N` for more, `-- --same` for the",
        "  working tree only.",
        "- `nox -s peers`: the peers table (`-- --n 200000 --rounds 5`).",
        "- `nox -s pypy_speed`: the PyPy table.",
        "- `nox -s perf_report`: this page, from the stored results.",
        "- `nox -s bench_gate`: the ratio targets and the 10% regression check",
        "  between HEAD's parent and HEAD.",
        "- `python tools/ceilings.py`: the floors and cffi ceilings, explained.",
        "",
    ]
    (DOCS / "performance.md").write_text("\n".join(lines))
    print(f"wrote {DOCS / 'performance.md'} (commit {commit[:8]})")


if __name__ == "__main__":
    main()
