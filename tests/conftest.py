"""Shared helpers for the package tests (facade, selection, demo).

Everything here runs on the backend ``import timelog`` selected; nox runs the
suite once per built backend with ``TIMELOG_BACKEND`` set.  Tests about what
happens *at import time* run a fresh interpreter (``run_python``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import timelog

# Installs an import hook in a child interpreter that makes one backend module
# fail to import, as a missing or broken build would.  Used by the selection
# tests; {name} and {error} are filled in.
BLOCK_BACKEND = """
import importlib.abc, sys
class _Blocker(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname == "timelog._backend_{name}":
            raise ImportError({error!r})
        return None
sys.meta_path.insert(0, _Blocker())
"""


def run_python(code: str, env: dict[str, str] | None = None,
               unset: tuple[str, ...] = (), timeout: float = 300,
               args: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter; return the completed process.

    ``env`` entries are added to (a copy of) this process's environment,
    names in ``unset`` are removed.
    """
    full_env = dict(os.environ)
    for name in unset:
        full_env.pop(name, None)
    full_env.update(env or {})
    cmd = [sys.executable, *(["-c", textwrap.dedent(code)] if code else []), *args]
    return subprocess.run(cmd, env=full_env, capture_output=True, text=True, timeout=timeout)


def importable_backends() -> list[str]:
    """Names of the backends that import here, in preference order."""
    names = []
    for name in timelog._select.preference():
        try:
            timelog.load_backend(name)
        except ImportError:
            continue
        names.append(name)
    return names


@pytest.fixture
def log():
    """A fresh facade Timelog, closed after the test (readers must be done)."""
    lg = timelog.Timelog()
    yield lg
    if not lg.closed:
        lg.close()
