"""Backend selection: which binding ``import timelog`` uses (design.md §11).

``TIMELOG_BACKEND`` names one of :data:`BACKENDS` (that one or ImportError,
never a fallback); unset, the first that imports is used, in the order of
:func:`preference`.  Whatever is loaded must provide every name of
:data:`PUBLIC_API`.

Example:
    >>> import timelog
    >>> timelog.BACKEND in BACKENDS
    True
    >>> load_backend(timelog.BACKEND).TimelogError is timelog.TimelogError
    True
"""

from __future__ import annotations

import importlib
import os
import platform
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

ENV_VAR = "TIMELOG_BACKEND"

BACKENDS = ("capi", "cython", "cffi")
"""Every backend, the one list the project uses (preference order on CPython)."""

PUBLIC_API = {
    "Timelog": "append extend delete_range delete_before flush compact start_maintenance "
               "stop_maintenance close range since until all equal point page_spans count "
               "arrays stats closed time_unit maintenance_mode busy_policy retired_queue_len "
               "alloc_failures __enter__ __exit__",
    "TimelogIter": "closed close next_batch next_arrays __iter__ __next__ __enter__ __exit__",
    "PageSpan": "timestamps start_ts end_ts closed objects copy_timestamps copy close __len__ "
                "__enter__ __exit__",
    "PageSpanIter": "closed close __iter__ __next__ __enter__ __exit__",
    "PageSpanObjectsView": "__len__ __getitem__ __iter__ copy",
    "TimelogError": "",
    "TimelogBusyError": "",
}
"""What a backend module must export: each class and its members."""


def missing_api(module: object) -> list[str]:
    """What ``module`` lacks of :data:`PUBLIC_API` ("PageSpan", "Timelog.count").

    The exceptions must be the classes of :mod:`timelog._errors` themselves,
    so ``except timelog.TimelogError`` catches every backend's errors.
    """
    from timelog import _errors

    missing = []
    for name, members in PUBLIC_API.items():
        cls = getattr(module, name, None)
        if not isinstance(cls, type):
            missing.append(name if cls is None else f"{name} (not a class)")
        elif not members and cls is not getattr(_errors, name):
            missing.append(f"{name} (not the class from timelog._errors)")
        else:
            missing += [f"{name}.{m}" for m in members.split() if not hasattr(cls, m)]
    return missing


def _import(name: str) -> ModuleType:
    module = importlib.import_module(f"timelog._backend_{name}")
    missing = missing_api(module)
    if missing:
        raise ImportError(f"timelog backend {name!r} lacks {', '.join(missing)}")
    return module


def preference(implementation: str | None = None) -> tuple[str, ...]:
    """The order backends are tried in when none is named (cffi first on PyPy).

    Example:
        >>> preference("PyPy")
        ('cffi', 'capi', 'cython')
    """
    if (implementation or platform.python_implementation()) == "PyPy":
        return ("cffi", "capi", "cython")
    return BACKENDS


def load_backend(name: str) -> ModuleType:
    """Import backend ``name`` and return its module, checked against PUBLIC_API.

    For tests and benchmarks that compare backends in one process; its
    ``Timelog`` is the backend's own class, without the facade's slicing.

    Raises:
        ValueError: ``name`` is not one of :data:`BACKENDS`.
        ImportError: the backend is not built here, or lacks a public name.

    Example:
        >>> import timelog
        >>> log = load_backend(timelog.BACKEND).Timelog()
        >>> log.append(5, "five")
        >>> list(log.all())
        [(5, 'five')]
    """
    if name not in BACKENDS:
        raise ValueError(f"unknown timelog backend {name!r}; valid choices: {', '.join(BACKENDS)}")
    try:
        return _import(name)
    except ImportError as exc:
        raise ImportError(f"timelog backend {name!r} cannot be loaded: {exc}") from exc


def select_backend(environ: Mapping[str, str] = os.environ) -> tuple[str, ModuleType]:
    """Choose the backend as ``TIMELOG_BACKEND`` says; return ``(name, module)``."""
    choices = ", ".join(BACKENDS)
    name = environ.get(ENV_VAR, "")
    if name:
        if name not in BACKENDS:
            raise ImportError(f"{ENV_VAR}={name!r} is not a timelog backend; valid choices: "
                              f"{choices}")
        try:
            return name, _import(name)
        except Exception as exc:  # an extension may fail with OSError & co.
            raise ImportError(f"{ENV_VAR}={name!r}: the {name} backend failed to import "
                              f"({type(exc).__name__}: {exc}); "
                              f"valid choices: {choices}; unset {ENV_VAR} to use the first "
                              "one available") from exc
    errors: dict[str, ImportError] = {}
    for name in preference():
        try:
            return name, _import(name)
        except ImportError as exc:
            errors[name] = exc
    raise ImportError(_nothing_imports(errors)) from next(iter(errors.values()))


def _nothing_imports(errors: dict[str, ImportError]) -> str:
    package = Path(__file__).resolve().parent
    root = package.parent.parent
    if (root / "pyproject.toml").is_file() and (root / "core" / "src").is_dir():
        # The usual cause: the source tree is on sys.path (PYTHONPATH=src,
        # or a tool that runs from it), and sources have no compiled backend.
        return (f"timelog is being imported from its source tree ({package}), where no backend "
                "is compiled. Install it (python -m pip install .) and import it from the "
                "installed package: remove the source tree from sys.path/PYTHONPATH.")
    tried = "; ".join(f"{name}: {exc}" for name, exc in errors.items())
    return f"no timelog backend could be imported ({ENV_VAR} is unset; tried {tried})"


_selected: tuple[str, ModuleType] | None = None


def selected() -> tuple[str, ModuleType]:
    """``(name, module)`` of this process's backend, chosen at the first call."""
    global _selected
    if _selected is None:
        _selected = select_backend()
    return _selected
