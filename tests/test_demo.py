"""``python -m timelog``: the demo runs, checks itself and exits 0."""

from __future__ import annotations

import pytest
from conftest import run_python

import timelog

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


@pytest.mark.parametrize("bad", [("--records", "0"), ("--backend", "rust"), ("--late", "1.5")])
def test_demo_rejects_bad_flags(bad):
    res = run_python("", args=("-m", "timelog", *bad))
    assert res.returncode == 2
    assert "usage: python -m timelog" in res.stderr
