"""The examples in the package docstrings run, on the active backend.

nox runs this file once per built backend (TIMELOG_BACKEND=...), so every
docstring example is checked on every backend.
"""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["timelog", "timelog._api", "timelog._select", "timelog._errors", "timelog.__main__"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, capsys):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    out = capsys.readouterr().out
    assert result.failed == 0, out


def test_docstrings_have_examples():
    counts = {}
    for name in MODULES:
        finder = doctest.DocTestFinder()
        tests = finder.find(importlib.import_module(name))
        counts[name] = sum(len(t.examples) for t in tests)
    assert counts["timelog"] >= 10, counts
    assert counts["timelog._api"] >= 4, counts
    assert counts["timelog._select"] >= 4, counts
