"""Backend selection for the conformance suite.

Two modes:

* one-process (default): every test runs once per importable backend, loaded
  with ``timelog.load_backend(name)``; the test ID carries the backend name.
* per-process: ``TIMELOG_BACKEND=<name>`` or ``--backend <name>`` runs only that
  backend, and the suite checks that ``timelog.BACKEND`` is that name.  A named
  backend that does not import fails every test (never a skip).
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback

import pytest
from hypothesis import HealthCheck, settings

from conformance import _support

_COMMON = dict(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile("ci", max_examples=100, stateful_step_count=50, **_COMMON)
settings.register_profile("thorough", max_examples=2000, stateful_step_count=60, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser):
    parser.addoption(
        "--backend",
        action="store",
        default=None,
        choices=_support.BACKEND_NAMES,
        help="run the conformance suite on this backend only (per-process mode; "
        "same as TIMELOG_BACKEND=<name>)",
    )


_Selection = _support.SELECTION


def pytest_configure(config):
    try:
        requested = _support.requested_backend(config.getoption("--backend"))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    if requested is not None:
        # The package picks its backend at import time from the variable.
        os.environ["TIMELOG_BACKEND"] = requested
    _Selection.requested = requested
    _Selection.errors = {}
    _Selection.loaded = {}
    try:
        importlib.import_module("timelog")
    except Exception:
        _Selection.errors["timelog"] = traceback.format_exc()
    candidates = [requested] if requested else list(_support.BACKEND_NAMES)
    for name in candidates:
        if "timelog" in _Selection.errors:
            _Selection.errors[name] = _Selection.errors["timelog"]
            continue
        try:
            _Selection.loaded[name] = _support.make_backend(name)
        except Exception:
            _Selection.errors[name] = traceback.format_exc()
    if requested:
        _Selection.names = [requested]
    else:
        _Selection.names = [n for n in candidates if n in _Selection.loaded]
        if not _Selection.names:
            # No backend at all is a failure of every test, not an empty run.
            _Selection.names = list(candidates)


def pytest_report_header(config):
    mode = (
        f"per-process, TIMELOG_BACKEND={_Selection.requested}"
        if _Selection.requested
        else "one-process (every importable backend)"
    )
    lines = [f"timelog conformance: {mode}; backends under test: {', '.join(_Selection.names)}"]
    for name, err in _Selection.errors.items():
        if name == "timelog" or name in _Selection.loaded:
            continue
        last = err.strip().splitlines()[-1]
        lines.append(f"  backend {name} not importable: {last}")
    return lines


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", _Selection.names, ids=_Selection.names, indirect=True)


@pytest.fixture
def backend(request) -> _support.Backend:
    name = request.param
    if name not in _Selection.loaded:
        pytest.fail(
            f"backend {name!r} does not import:\n{_Selection.errors.get(name, '?')}",
            pytrace=False,
        )
    return _Selection.loaded[name]


@pytest.fixture
def others(backend) -> list:
    """The other importable backends (for same-result comparisons)."""
    return [b for b in _support.available_backends() if b.name != backend.name]


@pytest.fixture
def log(backend):
    """A plain backend Timelog with default options, closed at teardown."""
    lg = backend.Timelog()
    yield lg
    _support.close_log(lg)


@pytest.fixture
def tiny(backend):
    """A backend Timelog whose memtable and pages hold a handful of records."""
    lg = backend.Timelog(**_support.TINY)
    yield lg
    _support.close_log(lg)


@pytest.fixture
def np():
    # numpy is a declared test dependency: missing numpy fails, never skips.
    import numpy

    return numpy


@pytest.fixture
def unraisable(monkeypatch):
    """Collect exceptions raised in __del__ and other unraisable contexts."""
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", lambda u: seen.append(u))
    return seen
