"""One random operation sequence on every backend: identical results.

Each backend is compared with the pure-Python model and, when more than one
backend imports in this process, with every other backend (same transcript,
including the engine's layer counters, which depend only on the operations).

Long mode: ``TIMELOG_LONG=1`` runs ``LONG_SEEDS`` sequences of ``LONG_OPS``
operations instead of 12 of 250 (minutes instead of about a second);
``TIMELOG_DIFFERENTIAL_SEED`` (an int) shifts the seeds, so repeated long runs
explore new sequences. A failing seed is in the test ID; rerun it alone with
``-k "test_differential and <seed>"`` and the same variables.
"""

from __future__ import annotations

import os
import random

import pytest

from conformance import _support as S
from conformance._model import Model

LONG = os.environ.get("TIMELOG_LONG", "") not in ("", "0")
LONG_SEEDS = 200
LONG_OPS = 2000
SEED_BASE = int(os.environ.get("TIMELOG_DIFFERENTIAL_SEED", "0"))
SEEDS = [SEED_BASE + i for i in range(LONG_SEEDS if LONG else 12)]
N_OPS = LONG_OPS if LONG else 250
LAYER_STATS = ("memtable_records", "memrun_records", "l0_records", "l1_records", "memruns",
               "l0_segments", "l1_segments", "pages", "tombstones", "flushes", "compactions")


def _ts(rng):
    r = rng.random()
    if r < 0.05:
        return rng.choice([S.TS_MIN, S.TS_MAX, S.TS_MIN + 1, S.TS_MAX - 1])
    return rng.randint(-300, 300)


def operations(seed, n=250):
    rng = random.Random(seed)
    ops = []
    key = 0
    for _ in range(n):
        r = rng.random()
        if r < 0.30:
            ops.append(("append", _ts(rng), key))
            key += 1
        elif r < 0.45:
            items = [(_ts(rng), key + i) for i in range(rng.randint(0, 40))]
            key += len(items)
            ops.append(("extend", rng.choice(["pairs", "columns"]), items))
        elif r < 0.52:
            t1, t2 = _ts(rng), _ts(rng)
            ops.append(("delete_range", t1, t2))
        elif r < 0.55:
            ops.append(("delete_before", _ts(rng)))
        elif r < 0.60:
            ops.append(("flush",))
        elif r < 0.64:
            ops.append(("compact",))
        elif r < 0.74:
            kind = rng.choice(["all", "range", "since", "until", "point"])
            ops.append(("open", kind, _ts(rng), _ts(rng)))
        elif r < 0.84:
            ops.append(("advance", rng.randint(0, 99), rng.randint(0, 20)))
        elif r < 0.88:
            ops.append(("close_iter", rng.randint(0, 99)))
        elif r < 0.94:
            ops.append(("scan", rng.choice(["all", "range", "point"]), _ts(rng), _ts(rng)))
        else:
            ops.append(("spans", rng.choice(["segment", "all"]), _ts(rng), _ts(rng)))
    return ops


def _query(target, kind, t1, t2):
    if kind == "all":
        return target.all()
    if kind == "range":
        return target.range(t1, t2)
    if kind == "since":
        return target.since(t1)
    if kind == "until":
        return target.until(t2)
    return target.point(t1)


def run_backend(backend, ops):
    """Apply ops; return the transcript (scans in exact order, spans as multisets)."""
    log = backend.Timelog(memtable_max_bytes=1, target_page_bytes=1, sealed_max_runs=2,
                          busy_policy="flush")
    out = []
    iters = []
    for op in ops:
        name = op[0]
        if name == "append":
            log.append(op[1], op[2])
        elif name == "extend":
            items = op[2]
            if op[1] == "pairs":
                log.extend(items)
            else:
                log.extend([t for t, _ in items], [k for _, k in items])
        elif name == "delete_range":
            log.delete_range(op[1], op[2])
        elif name == "delete_before":
            log.delete_before(op[1])
        elif name == "flush":
            log.flush()
        elif name == "compact":
            log.compact()
        elif name == "open":
            iters.append(_query(log, op[1], op[2], op[3]))
        elif name == "advance":
            if iters:
                it = iters[op[1] % len(iters)]
                out.append(("advance", [t for t, _ in it.next_batch(op[2])], it.closed))
        elif name == "close_iter":
            if iters:
                iters.pop(op[1] % len(iters)).close()
        elif name == "scan":
            out.append(("scan", list(_query(log, op[1], op[2], op[3]))))
        elif name == "spans":
            recs = S.read_spans(log, op[2], op[3], kind=op[1])
            out.append(("spans", op[1], S.normalized(recs)))
    for it in iters:
        out.append(("rest", list(it)))
    stats = log.stats()
    out.append(("stats", {k: stats[k] for k in LAYER_STATS}))
    out.append(("final", list(log.all())))
    log.close()
    return out


def run_model(ops):
    """The model's view of the same ops (spans of kind segment: a subset)."""
    model = Model()
    out = []
    iters = []
    for op in ops:
        name = op[0]
        if name == "append":
            model.append(op[1], op[2])
        elif name == "extend":
            for t, k in op[2]:
                model.append(t, k)
        elif name == "delete_range":
            model.delete_range(op[1], op[2])
        elif name == "delete_before":
            model.delete_before(op[1])
        elif name == "open":
            iters.append(list(model.query(op[1], op[2], op[3])))
        elif name == "advance":
            if iters:
                i = op[1] % len(iters)
                head, iters[i] = iters[i][:op[2]], iters[i][op[2]:]
                out.append(("advance", head))
        elif name == "close_iter":
            if iters:
                iters.pop(op[1] % len(iters))
        elif name == "scan":
            out.append(("scan", list(model.query(op[1], op[2], op[3]))))
        elif name == "spans":
            out.append(("spans", op[1], S.normalized(model.query("range", op[2], op[3]))))
    for rest in iters:
        out.append(("rest", list(rest)))
    out.append(("final", model.query("all")))
    return out


def _check_against_model(got, expected):
    got = [e for e in got if e[0] != "stats"]
    assert [e[0] for e in got] == [e[0] for e in expected]
    for entry, exp in S.zip_exact(got, expected):
        if entry[0] in ("advance", "rest"):
            # The log's transcript keeps only the timestamps of a batch;
            # the full scans compare payloads and their order.
            assert [r[0] if isinstance(r, tuple) else r for r in entry[1]] == [
                r[0] for r in exp[1]]
        elif entry[0] == "spans" and entry[1] == "segment":
            assert set(entry[2]) <= set(exp[2])
        else:
            assert entry[-1] == exp[-1]


@pytest.mark.parametrize("seed", SEEDS)
def test_differential(backend, others, seed):
    ops = operations(seed, N_OPS)
    mine = run_backend(backend, ops)
    _check_against_model(mine, run_model(ops))
    for other in others:
        assert run_backend(other, ops) == mine, f"{backend.name} and {other.name} differ"
