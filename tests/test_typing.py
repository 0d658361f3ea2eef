"""The typed API (src/timelog/__init__.pyi) under mypy --strict: the
README-style usage type-checks with the right inferred types, and deliberate
mistakes are reported, each on its line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "typing"

# A type check does not depend on the interpreter that runs it; mypy is a
# test dependency on CPython only (its PyPy build is the slow pure-Python one).
pytestmark = pytest.mark.skipif(sys.implementation.name != "cpython",
                                reason="mypy is installed for CPython only (pyproject [test])")


def mypy(path: Path) -> list[str]:
    res = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental",
                          "--cache-dir", os.devnull, str(path)],
                         capture_output=True, text=True, timeout=300)
    # 0: clean, 1: errors reported; anything else (mypy missing, crashed) is a failure
    assert res.returncode in (0, 1), res.stderr
    assert "error: Cannot find implementation or library stub" not in res.stdout, res.stdout
    return res.stdout.splitlines()


@pytest.fixture(scope="module")
def ok_output():
    return mypy(HERE / "usage_ok.py")


def test_usage_type_checks(ok_output):
    errors = [line for line in ok_output if ": error:" in line]
    assert errors == []


def test_inferred_types(ok_output):
    source = (HERE / "usage_ok.py").read_text().splitlines()
    expected = {i + 1: m.group(1) for i, line in enumerate(source)
                if (m := re.search(r"reveal_type\(.*\)\s+# (.+)$", line))}
    revealed = {}
    for line in ok_output:
        m = re.match(r".*usage_ok\.py:(\d+): note: Revealed type is \"(.+)\"", line)
        if m:
            text = m.group(2).replace("builtins.", "").replace("timelog.", "")
            # memoryview is generic (memoryview[int]) in newer typeshed only
            revealed[int(m.group(1))] = text.replace("memoryview[int]", "memoryview")
    assert revealed.keys() == expected.keys()
    for lineno, want in expected.items():
        assert revealed[lineno] == want, (lineno, revealed[lineno])


def test_mistakes_are_reported():
    source = (HERE / "usage_errors.py").read_text().splitlines()
    marked = {i + 1 for i, line in enumerate(source) if "# error:" in line}
    reported = {int(m.group(1)) for line in mypy(HERE / "usage_errors.py")
                if (m := re.match(r".*usage_errors\.py:(\d+): error:", line))}
    assert reported == marked
