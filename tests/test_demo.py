"""``python -m timelog``: the demo runs, checks itself and exits 0."""

from __future__ import annotations

import contextlib
import io
import itertools

import pytest
from conftest import importable_backends, run_python

import timelog
import timelog.__main__ as demo_mod

SMALL = ("--records", "60000", "--retention", "20", "--queries", "300")


def test_demo_runs_and_checks_itself():
    res = run_python("", args=("-m", "timelog", *SMALL, "--progress", "always"))
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert f"backend {timelog.BACKEND!r}" in out
    for step in ("1. ingest 60,000 events", "2. snapshot isolation", "3. maintenance",
                 "4. 300 range queries", "5. 300 point queries", "6. full scan with next_batch",
                 "7. zero-copy span scan", "8. close", "summary", "all checks passed"):
        assert step in out, step
    assert "CHECK FAILED" not in out
    assert "/s" in out  # throughput figures
    assert "ingest" in res.stderr and "100.0%" in res.stderr  # the progress bar


def test_demo_without_numpy_skips_the_span_step():
    code = """
import runpy, sys
sys.modules["numpy"] = None  # import numpy now raises ImportError
sys.argv = ["timelog", "--records", "20000", "--retention", "5", "--queries", "100"]
runpy.run_module("timelog", run_name="__main__", alter_sys=True)
"""
    res = run_python(code)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "skipped: numpy is not importable" in res.stdout
    assert "timelog[demo]" in res.stdout
    assert "all checks passed" in res.stdout


def test_demo_backend_flag_selects_before_import():
    res = run_python("", args=("-m", "timelog", "--backend", timelog.BACKEND, *SMALL),
                     unset=("TIMELOG_BACKEND",))
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"backend {timelog.BACKEND!r} (TIMELOG_BACKEND={timelog.BACKEND})" in res.stdout


@pytest.mark.parametrize("bad", [("--records", "0"), ("--backend", "rust"), ("--late", "1.5"),
                                 ("--late", "nan"), ("--retention", "0"),
                                 ("--retention", "0.0009"), ("--retention", "inf"),
                                 ("--retention", "nan"), ("--chunk", "0")])
def test_demo_rejects_bad_flags(bad):
    res = run_python("", args=("-m", "timelog", *bad))
    assert res.returncode == 2
    assert "usage: python -m timelog" in res.stderr


# -- the demo is right at every size ----------------------------------------
#
# The demo checks what the log returns against its own model of what the log
# holds (timelog.__main__.StreamModel).  These tests run it in this process
# over a generated sweep of sizes, chunkings, retention windows and late
# fractions (the log then checks the model), and replay each run's writes
# through a reference written the obvious way (the model then checks
# against it).  nox runs them on every backend.

def reference_visible(journal: list[tuple]) -> list[int]:
    """Timestamps visible after the journal's writes, the naive way.

    design.md §3: a delete hides the records inserted before it; a record
    inserted after a delete is visible.  So, walking the writes backwards,
    a record is hidden exactly when a delete made *after* it covers it.
    """
    later_cutoff: int | None = None  # the highest delete_before cutoff seen so far
    later_ranges: list[tuple[int, int]] = []
    kept: list[int] = []
    for op, *args in reversed(journal):
        if op == "delete_before":
            later_cutoff = args[0] if later_cutoff is None else max(later_cutoff, args[0])
        elif op == "delete_range":
            later_ranges.append((args[0], args[1]))
        elif op == "extend":
            kept += [t for t in args[0]
                     if (later_cutoff is None or t >= later_cutoff)
                     and not any(lo <= t < hi for lo, hi in later_ranges)]
        else:
            raise AssertionError(f"unexpected write {op!r}")
    return sorted(kept)


def run_demo_in_process(*argv: str) -> tuple[int, demo_mod.Demo, str]:
    args = demo_mod.parse_args([*argv, "--queries", "40", "--progress", "never"])
    demo = demo_mod.Demo(args)
    demo.journal = []
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = demo.run()
    return rc, demo, out.getvalue()


# records x chunk: one chunk, many chunks, a chunk per record, ragged ends
SIZES = [(1, 50_000), (2, 1), (7, 3), (1000, 50_000), (1000, 64), (1001, 100), (2500, 1000),
         (4000, 333), (1500, 1)]
RETENTIONS = ["0.001", "0.002", "0.05", "0.4", "1", "1.7", "3", "900"]  # seconds
LATE = ["0", "0.05", "0.5", "0.95"]


@pytest.mark.parametrize("records,chunk", SIZES, ids=[f"{r}x{c}" for r, c in SIZES])
def test_demo_sweep_matches_the_model_and_the_reference(records, chunk):
    combos = 0
    for i, (retention, late) in enumerate(itertools.product(RETENTIONS, LATE)):
        argv = ("--records", str(records), "--chunk", str(chunk), "--retention", retention,
                "--late", late, "--seed", str(records * 31 + i))
        rc, demo, out = run_demo_in_process(*argv)
        assert rc == 0 and "CHECK FAILED" not in out, (argv, out)
        assert demo.model.visible() == reference_visible(demo.journal), argv
        assert demo.log.closed
        combos += 1
    assert combos == len(RETENTIONS) * len(LATE)


def test_demo_keeps_late_records_before_the_start_when_no_delete_ran():
    # The stream (3 s) is shorter than the retention window: no delete_before
    # runs, so late events stamped before the stream's first event stay.
    rc, demo, out = run_demo_in_process("--records", "3000", "--late", "0.5", "--chunk", "500")
    assert rc == 0, out
    assert demo.model.deletes_before == 0
    assert demo.model.visible()[0] < demo_mod.START_MS
    assert demo.model.visible() == reference_visible(demo.journal)
    assert "no delete_before has run" in out


def test_demo_late_record_after_the_last_delete_stays_visible():
    # Reference check of the rule the demo models: a record inserted after
    # delete_before(c), stamped below c, is visible until another delete.
    journal = [("extend", [5, 10, 15]), ("delete_before", 12), ("extend", [3, 11]),
               ("delete_range", 0, 4), ("extend", [2])]
    assert reference_visible(journal) == [2, 11, 15]
    model = demo_mod.StreamModel()
    for op, *args in journal:
        getattr(model, op)(*args)
    assert model.visible() == [2, 11, 15]
    log = timelog.Timelog()
    try:
        for op, *args in journal:
            getattr(log, op)(*(args if op != "extend" else [[(t, None) for t in args[0]]]))
        assert [t for t, _ in log] == [2, 11, 15]
    finally:
        log.close()


@pytest.mark.parametrize("records", ["200000", "800000"])
def test_demo_readme_sizes_on_the_default_backend(records):
    # Exactly what the README suggests, with TIMELOG_BACKEND unset; once,
    # when the suite runs on the default backend.
    if timelog.BACKEND != importable_backends()[0]:
        pytest.skip("the README command runs the default backend (TIMELOG_BACKEND unset): "
                    "checked once, in the default backend's pass")
    res = run_python("", args=("-m", "timelog", "--records", records),
                     unset=("TIMELOG_BACKEND",))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "all checks passed" in res.stdout
    assert "CHECK FAILED" not in res.stdout


def test_demo_interrupted_mid_scan_raises_only_the_interrupt(monkeypatch):
    # Ctrl-C inside the span scan: the traceback keeps the scan's frame (and
    # a reader) alive, so closing the log is refused; the demo must let the
    # KeyboardInterrupt through alone, not chained to a TimelogBusyError.
    np = pytest.importorskip("numpy")
    real_diff, calls = np.diff, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_diff(*args, **kwargs)

    monkeypatch.setattr(np, "diff", interrupted)
    args = demo_mod.parse_args(["--records", "300000", "--queries", "20", "--progress", "never"])
    demo = demo_mod.Demo(args)
    with pytest.raises(KeyboardInterrupt) as info, \
            contextlib.redirect_stdout(io.StringIO()):
        demo.run()
    assert info.value.__context__ is None
    assert len(calls) == 2
    del info
