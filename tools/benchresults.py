"""Read asv results of this repository, shared by run_bench.py and bench_gate.py.

asv stores one JSON file per (machine, commit, environment) under
``.asv/results/<machine>/``; each benchmark maps to a row whose columns are
named by ``result_columns`` and whose values follow the product of its
parameters.  Here every benchmark has one parameter, ``backend``.
"""
import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / ".asv" / "results"
PREVIOUS = ROOT / ".asv" / "previous"
"""run_bench.py keeps the last results of a commit here before re-running it,
so a re-run at the same commit can still be compared with the run before."""
PEER_DIR = ROOT / ".asv" / "peer"
"""peer_compare.py outputs (one JSON file per target)."""

BACKENDS = ("capi", "cython", "cffi")

# Workloads: asv benchmark name -> (label, kind).  "bulk" marks the paths that
# move many records per call (extend from lists or int64 buffers, next_batch,
# page spans); "record" is everything else: per-record or per-query calls,
# and deletes / flush / compact, whose cost includes releasing payloads one by
# one.  The gate's targets depend on the kind (see bench_gate.py).
WORKLOADS = {
    "ingest.Ingest.time_append_loop": ("append loop", "record"),
    "ingest.Ingest.time_extend_list": ("extend list of pairs", "bulk"),
    "ingest.Ingest.time_extend_list_late10": ("extend list, 10% late", "bulk"),
    "ingest.Ingest.time_extend_numpy": ("extend numpy int64 + objects", "bulk"),
    "ingest.Ingest.time_extend_two_lists": ("extend list of ints + objects", "bulk"),
    "ingest.Ingest.time_extend_generator": ("extend generator", "record"),
    "ingest.IngestBackground.time_extend_late10_background": (
        "extend 10% late, background worker", "bulk"),
    "reads.Reads.time_scan_for": ("scan with for", "record"),
    "reads.Reads.time_scan_next_batch": ("scan with next_batch(4096)", "bulk"),
    "reads.Reads.time_range_queries": ("1000 ranges of ~100 records", "record"),
    "reads.Reads.time_point_queries": ("10000 point queries", "record"),
    "reads.Reads.time_spans_numpy": ("spans into numpy", "bulk"),
    "reads.Reads.time_spans_numpy_sum": ("spans into numpy, summed", "bulk"),
    "reads.ReadsUnflushed.time_scan_unflushed_late10": (
        "scan unflushed, 10% late", "record"),
    "reads.ReadsUnflushed.time_spans_all_unflushed": (
        "spans kind=all, unflushed", "bulk"),
    "deletes.Deletes.time_delete_ranges": ("N/10 delete_range calls", "record"),
    "deletes.Deletes.time_delete_ranges_compact_scan": (
        "1000 deletes + compact + scan", "record"),
    "deletes.Deletes.time_delete_before_compact": (
        "delete_before half + compact", "record"),
    "deletes.ReadsUnderTombstones.time_scan_with_tombstones": (
        "next_batch scan, 1000 tombstones", "bulk"),
    "maintenance.Flush.time_flush": ("flush", "record"),
    "maintenance.Compact.time_compact": ("compact", "record"),
}


def machine_dirs():
    if not RESULTS.is_dir():
        return []
    return [p for p in RESULTS.iterdir() if p.is_dir()]


def result_files(machine=None):
    """Result files (not machine.json), newest first by their run date."""
    files = []
    for mdir in machine_dirs():
        if machine and mdir.name != machine:
            continue
        for f in mdir.glob("*.json"):
            if f.name == "machine.json":
                continue
            files.append(f)
    return sorted(files, key=lambda f: load(f).get("date", 0), reverse=True)


def load(path):
    with open(path) as f:
        return json.load(f)


def _unquote(value):
    # asv stores parameter values as their repr: "'capi'"
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def table(data):
    """``{benchmark: {backend: {"value": v, "ci": (lo, hi) | None}}}``.

    ``value`` is the asv result (seconds for ``time_``, bytes for
    ``peakmem_``, the returned number for ``track_``); failed runs are left
    out.
    """
    columns = data.get("result_columns", [])
    out = {}
    for name, row in data.get("results", {}).items():
        fields = dict(zip(columns, row, strict=False))
        values = fields.get("result")
        params = fields.get("params") or []
        if values is None:
            continue
        if not isinstance(values, list):
            values = [values]
        backends = [_unquote(p) for p in params[0]] if params else ["-"]
        ci_a = fields.get("stats_ci_99_a") or [None] * len(values)
        ci_b = fields.get("stats_ci_99_b") or [None] * len(values)
        per = {}
        for i, backend in enumerate(backends):
            if i >= len(values) or values[i] is None:
                continue
            lo = ci_a[i] if i < len(ci_a) else None
            hi = ci_b[i] if i < len(ci_b) else None
            per[backend] = {"value": values[i],
                            "ci": (lo, hi) if lo is not None and hi is not None else None}
        out[name] = per
    return out


def run_started(data):
    """When the run started (ms since the epoch): its earliest benchmark start."""
    columns = data.get("result_columns", [])
    if "started_at" not in columns:
        return data.get("date", 0)
    i = columns.index("started_at")
    starts = [row[i] for row in data.get("results", {}).values() if len(row) > i and row[i]]
    return min(starts) if starts else data.get("date", 0)


def speed_ratios(tab):
    """``{benchmark: {backend: capi_time / backend_time}}`` for time_ benchmarks
    (1.0 = as fast as capi, 0.5 = takes twice as long)."""
    ratios = {}
    for name, per in tab.items():
        if ".time_" not in name or "capi" not in per:
            continue
        ref = per["capi"]["value"]
        ratios[name] = {b: ref / v["value"] for b, v in per.items() if v["value"]}
    return ratios


def label(name):
    return WORKLOADS.get(name, (name.rsplit(".", 1)[-1], "bulk"))[0]


def kind(name):
    return WORKLOADS.get(name, (name, "bulk"))[1]


def env_path(name, default):
    value = os.environ.get(name)
    return Path(value) if value else Path(default)
