"""Run the asv suite, publish the dashboard and write docs/performance.md.

    python tools/run_bench.py            # full asv run (a few minutes)
    python tools/run_bench.py --quick    # one sample per benchmark
    python tools/run_bench.py --no-asv   # only peers + performance.md from
                                         # the latest results

Steps:
1. ``asv machine --yes`` (machine file written non-interactively);
2. ``asv run --python=same --set-commit-hash=HEAD``: the package installed in
   this interpreter, every importable backend as a parameter; results in
   ``.asv/results`` (the previous results of the same commit are kept in
   ``.asv/previous`` for the regression gate);
3. ``asv publish``: the dashboard in ``.asv/html`` (serve it with
   ``python -m http.server -d .asv/html``);
4. ``peer_compare.py`` (default ``../shared/bench/peer_compare.py``, or
   ``PEER_COMPARE``) for ``timelog`` with ``TIMELOG_BACKEND=capi``, for the
   published ``timelog-lib`` when its interpreter exists (``PEER_PYTHON``,
   default ``/work/venvs/peer312/bin/python``) and for ``sortedcontainers``;
   ``PEER_N`` / ``PEER_REPEAT`` set its size (default 1,000,000 x 3);
5. ``docs/performance.md`` with tables and ``docs/_static/perf_*.png``.

Exits nonzero if asv or publishing fails; a missing peer is reported in the
page, not an error.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

import benchresults as br

ROOT = br.ROOT
DOCS = ROOT / "docs"
STATIC = DOCS / "_static"
PEER_COMPARE = br.env_path("PEER_COMPARE", ROOT.parent / "shared" / "bench" / "peer_compare.py")
PEER_PYTHON = br.env_path("PEER_PYTHON", "/work/venvs/peer312/bin/python")

# peer_compare.py keys, in display order, with labels and "higher is better".
PEER_KEYS = [
    ("append_rps", "append loop (records/s)", True),
    ("extend_rps", "extend list of pairs (records/s)", True),
    ("extend_ooo10_rps", "extend, 10% late (records/s)", True),
    ("extend_numpy_rps", "extend numpy (records/s)", True),
    ("scan_rps", "scan with for (records/s)", True),
    ("next_batch_rps", "next_batch(4096) scan (records/s)", True),
    ("range100_qps", "ranges of ~100 records (queries/s)", True),
    ("point_qps", "point queries (queries/s)", True),
    ("span_ts_rps", "spans into numpy (records/s)", True),
    ("scan_ooo_unflushed_rps", "scan unflushed, 10% late (records/s)", True),
    ("delete_compact_scan_s", "1000 deletes + compact + scan (s)", False),
    ("mem_bytes_per_record", "memory after compact (bytes/record)", False),
]


def run(cmd, **kw):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run(cmd, cwd=kw.pop("cwd", ROOT), **kw)


def head_commit():
    out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return out.stdout.strip()


def keep_previous(commit):
    """Copy this commit's existing results aside before asv overwrites them."""
    for mdir in br.machine_dirs():
        for f in mdir.glob(f"{commit[:8]}-*.json"):
            dest = br.PREVIOUS / mdir.name
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy2(f, dest / f.name)


def run_asv(args):
    asv = [sys.executable, "-m", "asv"]
    if run(asv + ["machine", "--yes"]).returncode:
        sys.exit("asv machine --yes failed")
    commit = head_commit()
    keep_previous(commit)
    cmd = asv + ["run", "--python=same", f"--set-commit-hash={commit}",
                 "--show-stderr", "--launch-method=spawn"]
    if args.quick:
        cmd.append("--quick")
    if args.bench:
        cmd += ["--bench", args.bench]
    res = run(cmd)
    if res.returncode:
        sys.exit(f"asv run failed ({res.returncode})")
    if run(asv + ["publish"]).returncode:
        sys.exit("asv publish failed")
    localize_dashboard(ROOT / ".asv" / "html")


# asv's dashboard loads jQuery, flot, bootstrap, ... from CDNs.  Where the
# machine has the same libraries installed (Debian: libjs-jquery,
# libghc-js-flot-data, libjs-bootstrap, node-blueimp-md5,
# libjs-jquery-stupidtable), serve local copies so the dashboard also works
# without internet access.  The flot orderBars plugin only spaces out the
# bars of parameter plots; without a local copy its tag is dropped.
VENDOR = {
    "jquery-3.3.1.min.js": ["/usr/share/javascript/jquery/jquery.min.js"],
    "jquery.flot.min.js": ["/usr/share/haskell-js-flot/jquery.flot.min.js",
                           "/usr/share/javascript/jquery-flot/jquery.flot.min.js"],
    "jquery.flot.time.min.js": ["/usr/share/haskell-js-flot/jquery.flot.time.min.js"],
    "jquery.flot.selection.min.js": ["/usr/share/haskell-js-flot/jquery.flot.selection.min.js"],
    "jquery.flot.categories.min.js": [
        "/usr/share/haskell-js-flot/jquery.flot.categories.min.js"],
    "stupidtable.min.js": ["/usr/share/javascript/jquery-stupidtable/stupidtable.min.js"],
    "md5.min.js": ["/usr/share/javascript/blueimp-md5/md5.min.js"],
    "bootstrap.min.js": ["/usr/share/javascript/bootstrap/js/bootstrap.min.js"],
    "bootstrap.min.css": ["/usr/share/javascript/bootstrap/css/bootstrap.min.css"],
}
OPTIONAL = {"jquery.flot.orderBars.js"}
_TAG = re.compile(r'<(script|link)\b[^>]*?(?:src|href)="(https?://[^"]+)"[^>]*>(?:\s*</script>)?')


def localize_dashboard(html_dir):
    vendor = html_dir / "vendor"

    def replace(m):
        tag, url = m.group(1), m.group(2)
        name = url.rsplit("/", 1)[-1]
        local = next((Path(c) for c in VENDOR.get(name, []) if Path(c).is_file()), None)
        if local is None:
            if name in OPTIONAL:
                print(f"dashboard: no local copy of {name}; dropped (optional)")
                return ""
            return m.group(0)
        vendor.mkdir(exist_ok=True)
        shutil.copyfile(local, vendor / name)
        if tag == "link":
            return f'<link rel="stylesheet" href="vendor/{name}">'
        return f'<script src="vendor/{name}"></script>'

    for page in html_dir.glob("*.html"):
        text = page.read_text()
        new = _TAG.sub(replace, text)
        if new != text:
            page.write_text(new)


def run_peers():
    """Run peer_compare.py per target; return {target: dict or error str}."""
    out = {}
    if not PEER_COMPARE.is_file():
        return {"_note": f"peer_compare.py not found at {PEER_COMPARE} (set PEER_COMPARE)"}
    br.PEER_DIR.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("N", os.environ.get("PEER_N", "1000000"))
    env.setdefault("REPEAT", os.environ.get("PEER_REPEAT", "3"))
    targets = [("capi", sys.executable, "timelog", {"TIMELOG_BACKEND": "capi"})]
    if PEER_PYTHON.exists():
        targets.append(("timelog-lib", str(PEER_PYTHON), "timelog", {}))
    else:
        out["timelog-lib"] = f"interpreter {PEER_PYTHON} not found (set PEER_PYTHON)"
    targets.append(("sortedcontainers", sys.executable, "sortedlist", {}))
    for name, python, target, extra in targets:
        e = dict(env, **extra)
        if name == "timelog-lib":
            e.pop("TIMELOG_BACKEND", None)
        # Run from a neutral directory so `import timelog` is the installed one.
        res = run([python, str(PEER_COMPARE), target], env=e, cwd=br.PEER_DIR,
                  capture_output=True, text=True)
        if res.returncode:
            out[name] = f"failed: {res.stderr.strip().splitlines()[-1:]}"
            continue
        data = json.loads(res.stdout.strip().splitlines()[-1])
        (br.PEER_DIR / f"{name}.json").write_text(json.dumps(data, indent=1))
        out[name] = data
    return out


def load_saved_peers():
    out = {}
    for name in ("capi", "timelog-lib", "sortedcontainers"):
        f = br.PEER_DIR / f"{name}.json"
        if f.is_file():
            out[name] = json.loads(f.read_text())
    return out


def fmt_time(seconds):
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} us"


def fmt_num(v):
    if isinstance(v, str):
        return v
    if v >= 1e6:
        return f"{v / 1e6:.2f} M"
    if v >= 1e3:
        return f"{v / 1e3:.1f} k"
    return f"{v:.3g}"


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _finish(plt, fig, ax, ticks, labels, xlabel, title, ncol, path):
    """Common layout of the horizontal bar charts, then save as PNG."""
    ax.axvline(1.0, color="black", lw=1)
    ax.set_yticks(ticks)
    ax.set_yticklabels(labels)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=ncol, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def plot_backends(ratios, path):
    plt = _pyplot()
    names = [n for n in br.WORKLOADS if n in ratios]
    others = [b for b in br.BACKENDS if b != "capi" and any(b in ratios[n] for n in names)]
    fig, ax = plt.subplots(figsize=(9, 0.38 * len(names) + 1.5))
    height = 0.8 / max(1, len(others))
    for i, b in enumerate(others):
        ys = [j + i * height for j in range(len(names))]
        ax.barh(ys, [ratios[n].get(b, 0) for n in names], height=height, label=b)
    ax.axvline(0.9, color="tab:blue", ls="--", lw=0.8, label="cython target 0.9x")
    ax.axvline(0.8, color="tab:orange", ls="--", lw=0.8, label="cffi bulk target 0.8x")
    ax.axvline(0.3, color="tab:orange", ls=":", lw=0.8, label="cffi other-paths target 0.3x")
    _finish(plt, fig, ax, [j + height * (len(others) - 1) / 2 for j in range(len(names))],
            [br.label(n) for n in names],
            "speed relative to capi (capi time / backend time; 1.0 = same)",
            "Backends against capi, per asv workload", 3, path)


def plot_peers(peers, path):
    plt = _pyplot()
    capi = peers["capi"]
    rows = []
    for key, lab, higher in PEER_KEYS:
        if not isinstance(capi.get(key), (int, float)):
            continue
        vals = {}
        for peer in ("timelog-lib", "sortedcontainers"):
            p = peers.get(peer)
            if isinstance(p, dict) and isinstance(p.get(key), (int, float)) and p[key]:
                vals[peer] = capi[key] / p[key] if higher else p[key] / capi[key]
        if vals:
            rows.append((lab, vals))
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(rows) + 1.5))
    for i, peer in enumerate(("timelog-lib", "sortedcontainers")):
        ys = [j + i * 0.4 for j in range(len(rows))]
        # Bars start at 1.0 (parity): right = timelog better, left = worse.
        vals = [v.get(peer, 1.0) for _, v in rows]
        ax.barh(ys, [x - 1.0 for x in vals], left=1.0, height=0.4, label=f"capi vs {peer}")
    ax.set_xscale("log")
    _finish(plt, fig, ax, [j + 0.2 for j in range(len(rows))], [lab for lab, _ in rows],
            "capi advantage (x; > 1 = timelog capi better; log scale)",
            "timelog (capi) against timelog-lib and sortedcontainers", 2, path)


def machine_line(data):
    p = data.get("params", {})
    return (f"{p.get('cpu', '?')} ({p.get('num_cpu', '?')} CPUs), {p.get('os', '?')}, "
            f"Python {platform.python_version()}")


def write_page(peers):
    files = br.result_files()
    lines = ["# Performance", ""]
    lines += [
        "<!-- Generated by tools/run_bench.py (nox -s bench); edit the script, not this page. -->",
        "",
    ]
    lines += [
        "Timelog's three backends run the same C engine; what differs is the cost",
        "of crossing from Python into C. asv measures every workload on every",
        "built backend in one environment; the ratios below are",
        "`capi time / backend time` (1.0 = as fast as capi, 0.5 = twice as slow).",
        "Targets: cython >= 0.9x everywhere; cffi >= 0.8x on bulk paths and",
        ">= 0.3x on the others (`python tools/bench_gate.py` enforces them).",
        "*bulk* (column `kind`) marks the paths that move many records per call:",
        "`extend` from lists or int64 buffers, `next_batch`, page spans; *record*",
        "is everything else: per-record or per-query calls, and deletes, flush and",
        "compact, whose cost includes releasing payloads one by one.",
        "",
        "Figures drift between machines and runs (the build machine has 2 shared",
        "cores): compare numbers only within one run.",
        "",
    ]
    if not files:
        lines += ["No asv results yet: run `nox -s bench`.", ""]
    else:
        data = br.load(files[0])
        tab = br.table(data)
        ratios = br.speed_ratios(tab)
        stamp = datetime.datetime.fromtimestamp(br.run_started(data) / 1000,
                                                datetime.timezone.utc)
        backends = [b for b in br.BACKENDS if any(b in per for per in tab.values())]
        lines += [
            "## Backends side by side (asv)",
            "",
            f"Run of {stamp:%Y-%m-%d %H:%M} UTC, commit `{data.get('commit_hash', '?')[:8]}`, "
            f"{machine_line(data)}; N = {os.environ.get('TIMELOG_BENCH_N', '100000')} "
            "records per log (asv suite sizes).",
            "",
            "| workload | kind | " + " | ".join(f"{b} time" for b in backends)
            + " | " + " | ".join(f"{b} / capi" for b in backends if b != "capi") + " |",
            "|---|---|" + "---:|" * (len(backends) * 2 - 1),
        ]
        for name in [n for n in br.WORKLOADS if n in tab]:
            per = tab[name]
            cells = [fmt_time(per[b]["value"]) if b in per else "-" for b in backends]
            rcells = [f"{ratios[name][b]:.2f}x" if b in ratios.get(name, {}) else "-"
                      for b in backends if b != "capi"]
            lines.append(f"| {br.label(name)} | {br.kind(name)} | " + " | ".join(cells)
                         + " | " + " | ".join(rcells) + " |")
        lines.append("")
        if ratios:
            plot_backends(ratios, STATIC / "perf_backends.png")
            lines += ["![Each backend's speed relative to capi per workload]"
                      "(_static/perf_backends.png)", ""]
        mem = {n: per for n, per in tab.items() if ".track_" in n or ".peakmem_" in n}
        if mem:
            lines += ["### Memory", "",
                      "| measure | " + " | ".join(backends) + " |",
                      "|---|" + "---:|" * len(backends)]
            for name, per in sorted(mem.items()):
                unit = "bytes/record" if ".track_" in name else "MiB peak RSS"
                cells = []
                for b in backends:
                    if b not in per:
                        cells.append("-")
                    elif ".peakmem_" in name:
                        cells.append(f"{per[b]['value'] / 2**20:.0f}")
                    else:
                        cells.append(f"{per[b]['value']:.1f}")
                lines.append(f"| {name.rsplit('.', 1)[-1]} ({unit}) | " + " | ".join(cells) + " |")
            lines.append("")
    lines += ["## Against the peers (peer_compare.py)", ""]
    capi = peers.get("capi")
    if not isinstance(capi, dict):
        lines += [f"Not run: {peers.get('capi') or peers.get('_note') or 'no data'}.", ""]
    else:
        others = [p for p in ("timelog-lib", "sortedcontainers") if isinstance(peers.get(p), dict)]
        lib = peers.get("timelog-lib")
        lib_where = f"on Python {lib.get('python', '?')}" if isinstance(lib, dict) else "not run"
        lines += [
            f"`peer_compare.py`, N = {capi.get('N')}, best of its repeats; timelog with "
            f"`TIMELOG_BACKEND=capi` on Python {capi.get('python')}; timelog-lib "
            f"{lib_where}"
            "; sortedcontainers' `SortedKeyList` on the same interpreter as capi. "
            "Throughputs: higher is better; seconds and bytes: lower is better.",
            "",
            "| workload | capi | " + " | ".join(others) + " | "
            + " | ".join(f"capi vs {p}" for p in others) + " |",
            "|---|---:|" + "---:|" * (2 * len(others)),
        ]
        for key, lab, higher in PEER_KEYS:
            if key not in capi:
                continue
            cells = [fmt_num(peers[p][key]) if key in peers[p] else "-" for p in others]
            adv = []
            for p in others:
                v, c = peers[p].get(key), capi.get(key)
                if isinstance(v, (int, float)) and isinstance(c, (int, float)) and v and c:
                    adv.append(f"{(c / v if higher else v / c):.2f}x")
                else:
                    adv.append("-")
            lines.append(f"| {lab} | {fmt_num(capi[key])} | " + " | ".join(cells) + " | "
                         + " | ".join(adv) + " |")
        lines += ["", "`capi vs X` > 1 means timelog (capi) is better by that factor.", ""]
        for p in ("timelog-lib", "sortedcontainers"):
            if isinstance(peers.get(p), str):
                lines += [f"{p}: {peers[p]}.", ""]
        if others:
            plot_peers(peers, STATIC / "perf_peers.png")
            lines += ["![timelog capi against timelog-lib and sortedcontainers]"
                      "(_static/perf_peers.png)", ""]
    lines += [
        "## Ceilings",
        "",
        "Some targets ask for more than any binding can give, because the",
        "records a call returns cost CPython more to make than the rest of the",
        "call. `python tools/ceilings.py` times, in one process, work that is",
        "strictly less than each workload must do, with CPython's own C-level",
        "builtins: building the `next_batch`, range and scan results from ready",
        "lists (divide the peer's rate by that floor: no binding can show a",
        "larger ratio), and the least Python a cffi binding runs per call",
        "(a method plus the engine calls, no handle table), against capi.",
        "",
        "## Reproducing",
        "",
        "- `nox -s bench` (or `python tools/run_bench.py [--quick]`) runs asv with",
        "  `--python=same` against the installed package (results in",
        "  `.asv/results`), publishes the dashboard to `.asv/html` (serve it:",
        "  `python -m http.server -d .asv/html`; `python tools/screenshot_dashboard.py`",
        "  takes a headless Chromium screenshot) and regenerates this page and its",
        "  figures. The suites are in `asv_benchmarks/` (one module per area:",
        "  ingest, reads, deletes, maintenance, memory), every benchmark",
        "  parametrized by backend.",
        "- `nox -s bench_gate` (`python tools/bench_gate.py`) fails when a backend",
        "  misses its ratio target or a benchmark slowed down by more than 10%",
        "  against the previous results.",
        "- Sizes: `TIMELOG_BENCH_N` / `TIMELOG_BENCH_Q` for asv, `PEER_N` /",
        "  `PEER_REPEAT` for peer_compare.py.",
        "",
    ]
    (DOCS / "performance.md").write_text("\n".join(lines))
    print(f"wrote {DOCS / 'performance.md'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="asv run --quick")
    ap.add_argument("--bench", help="asv --bench regex")
    ap.add_argument("--no-asv", action="store_true", help="skip asv, reuse latest results")
    ap.add_argument("--no-peers", action="store_true",
                    help="skip peer_compare.py, reuse saved peer results")
    args = ap.parse_args()
    STATIC.mkdir(parents=True, exist_ok=True)
    if not args.no_asv:
        run_asv(args)
    peers = load_saved_peers() if args.no_peers else run_peers()
    write_page(peers)


if __name__ == "__main__":
    main()
