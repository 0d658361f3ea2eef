"""Read this repository's asv results (tools/bench_gate.py, tools/perf_report.py).

asv stores one JSON file per (machine, commit, environment) under
``.asv/results/<machine>/``; each benchmark maps to a row whose columns are
named by ``result_columns`` and whose values follow the product of its
parameters (here one, ``backend``).  Workload labels and kinds come from the
suite's own registry (asv_benchmarks/workloads.py).  Python 3.9+.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / ".asv" / "results"
PEERS = ROOT / ".asv" / "peers" / "peers.json"
PYPY = ROOT / ".asv" / "pypy" / "interp.json"  # tools/interp_compare.py (nox -s pypy_speed)

sys.path.insert(0, str(ROOT))
from asv_benchmarks.workloads import WORKLOADS  # noqa: E402


def machine_dirs():
    if not RESULTS.is_dir():
        return []
    return sorted(p for p in RESULTS.iterdir() if p.is_dir())


def result_files(machine=None):
    """Result files (not machine.json), newest run first."""
    files = [f for d in machine_dirs() if machine in (None, d.name)
             for f in d.glob("*.json") if f.name != "machine.json"]
    return sorted(files, key=lambda f: load(f).get("date", 0), reverse=True)


def files_for(commit, machine=None):
    return [f for f in result_files(machine) if load(f).get("commit_hash", "").startswith(commit)]


def load(path):
    with open(path) as f:
        return json.load(f)


def _unquote(value):
    # asv stores parameter values as their repr: "'capi'"
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def table(data):
    """``{benchmark: {backend: value}}`` (seconds for ``time_``, bytes for
    ``peakmem_``, the returned number for ``track_``); skipped and failed
    runs are left out."""
    columns = data.get("result_columns", [])
    out = {}
    for name, row in data.get("results", {}).items():
        fields = dict(zip(columns, row))
        values = fields.get("result")
        params = fields.get("params") or []
        if values is None:
            continue
        if not isinstance(values, list):
            values = [values]
        backends = [_unquote(p) for p in params[0]] if params else ["-"]
        per = {b: v for b, v in zip(backends, values) if v is not None and v == v}
        if per:
            out[name] = per
    return out


def merged_table(files):
    """One table from several result files of one commit (one per environment)."""
    out = {}
    for f in files:
        for name, per in table(load(f)).items():
            out.setdefault(name, {}).update(per)
    return out


def ratios(tab):
    """``{workload: {backend: speed relative to capi}}`` from the ratio tracks
    (which store the inverse, backend time / capi time, so that lower is
    better for asv as for every other result)."""
    out = {}
    for name, per in tab.items():
        if name.startswith("ratios.track_"):
            out[name[len("ratios.track_"):]] = {b: 1 / v for b, v in per.items() if v}
    return out


def label(workload):
    w = WORKLOADS.get(workload)
    return w.label if w else workload


def kind(workload):
    w = WORKLOADS.get(workload)
    return w.kind if w else "bulk"


def order(names):
    keys = list(WORKLOADS)
    return sorted(names, key=lambda n: keys.index(n) if n in keys else len(keys))
