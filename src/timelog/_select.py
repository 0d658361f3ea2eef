"""Backend selection: which binding ``import timelog`` uses.

Three bindings wrap the same C engine and expose the same classes:

========  ===========================  ====================================
name      module                       what it is
========  ===========================  ====================================
capi      ``timelog._backend_capi``    hand-written CPython C-API extension
cython    ``timelog._backend_cython``  Cython extension
cffi      ``timelog._backend_cffi``    cffi (API mode) + Python classes
========  ===========================  ====================================

Rules (``TIMELOG_BACKEND`` is read once, when :mod:`timelog` is imported):

* ``TIMELOG_BACKEND`` set to one of the names above: that backend or an
  :class:`ImportError`; never a silent fallback to another one.
* unset (or empty): the first backend that imports, in the order
  ``capi, cython, cffi`` (``cffi, capi, cython`` on PyPy, where cffi is the
  fast one).
* Any other value: :class:`ImportError` naming the variable, the value and
  the valid choices.

Whatever is selected must provide the whole public API (:data:`PUBLIC_API`);
a backend that imports but lacks a name fails loudly instead of breaking
later at the first call that needs it.

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
from types import ModuleType

from timelog import _errors

ENV_VAR = "TIMELOG_BACKEND"
"""Name of the environment variable that selects a backend."""

BACKENDS = ("capi", "cython", "cffi")
"""Every backend name, in the default preference order on CPython."""

# The one list of what a backend must provide: a name maps to the attributes
# (methods and properties) it must have.  Exceptions map to () and are also
# checked for identity with timelog._errors.
PUBLIC_API: dict[str, tuple[str, ...]] = {
    "Timelog": (
        # writes
        "append", "extend", "delete_range", "delete_before",
        # maintenance and lifetime
        "flush", "compact", "start_maintenance", "stop_maintenance", "close",
        "__enter__", "__exit__",
        # readers
        "range", "since", "until", "all", "equal", "point", "page_spans",
        # introspection
        "stats", "closed", "time_unit", "maintenance_mode", "busy_policy",
        "retired_queue_len", "alloc_failures",
    ),
    "TimelogIter": (
        "closed", "close", "next_batch", "__iter__", "__next__", "__enter__", "__exit__",
    ),
    "PageSpan": (
        "timestamps", "start_ts", "end_ts", "closed", "objects", "copy_timestamps",
        "copy", "close", "__len__", "__enter__", "__exit__",
    ),
    "PageSpanIter": ("closed", "close", "__iter__", "__next__", "__enter__", "__exit__"),
    "PageSpanObjectsView": ("__len__", "__getitem__", "__iter__", "copy"),
    "TimelogError": (),
    "TimelogBusyError": (),
}
"""Names every backend module exports, with the members each must have."""


def module_name(name: str) -> str:
    """Return the module that implements backend ``name``.

    Example:
        >>> module_name("cffi")
        'timelog._backend_cffi'
    """
    return f"timelog._backend_{name}"


def preference_order(implementation: str | None = None) -> tuple[str, ...]:
    """Return the order in which backends are tried when none is named.

    Args:
        implementation: ``platform.python_implementation()`` by default.

    Example:
        >>> preference_order("CPython")
        ('capi', 'cython', 'cffi')
        >>> preference_order("PyPy")
        ('cffi', 'capi', 'cython')
    """
    if implementation is None:
        implementation = platform.python_implementation()
    if implementation == "PyPy":
        return ("cffi", "capi", "cython")
    return BACKENDS


def missing_api(ns: object) -> list[str]:
    """Return what ``ns`` lacks of :data:`PUBLIC_API`, as dotted names.

    ``ns`` is a backend module (or any namespace object).  The exceptions must
    be the very classes of :mod:`timelog._errors`, so ``except
    timelog.TimelogError`` catches errors of every backend.

    Example:
        >>> import types
        >>> fake = types.SimpleNamespace(TimelogError=_errors.TimelogError)
        >>> "Timelog" in missing_api(fake), "TimelogError" in missing_api(fake)
        (True, False)
    """
    missing = []
    for name, members in PUBLIC_API.items():
        obj = getattr(ns, name, None)
        if obj is None:
            missing.append(name)
            continue
        if name in ("TimelogError", "TimelogBusyError"):
            if obj is not getattr(_errors, name):
                missing.append(f"{name} (not the class from timelog._errors)")
            continue
        if not isinstance(obj, type):
            missing.append(f"{name} (not a class)")
            continue
        missing.extend(f"{name}.{m}" for m in members if not hasattr(obj, m))
    return missing


def check_backend(ns: ModuleType, name: str) -> ModuleType:
    """Return ``ns`` if it provides the whole public API, else raise ImportError.

    Raises:
        ImportError: naming the backend and every missing name.
    """
    missing = missing_api(ns)
    if missing:
        raise ImportError(
            f"timelog backend {name!r} ({getattr(ns, '__name__', ns)!r}) does not provide "
            f"the public API; missing: {', '.join(missing)}"
        )
    return ns


def load_backend(name: str) -> ModuleType:
    """Import backend ``name`` and return its module, checked.

    This is for tests and benchmarks that compare backends in one process;
    ``import timelog`` still uses the backend chosen by ``TIMELOG_BACKEND``.
    The module's ``Timelog`` is the backend's own class, without the facade
    conveniences (slicing, ``at()``, ``iter(log)``).

    Args:
        name: one of :data:`BACKENDS`.

    Returns:
        The backend module (``Timelog``, ``TimelogIter``, ``PageSpan``, ...).

    Raises:
        ValueError: ``name`` is not a backend name.
        ImportError: the backend is not built here or is incomplete; the
            import error that caused it is chained (``__cause__``).

    Example:
        >>> import timelog
        >>> ns = timelog.load_backend(timelog.BACKEND)
        >>> log = ns.Timelog()
        >>> log.append(5, "five")
        >>> list(log.all())
        [(5, 'five')]
        >>> log.close()
    """
    if name not in BACKENDS:
        raise ValueError(f"unknown timelog backend {name!r}; valid choices: {', '.join(BACKENDS)}")
    try:
        ns = importlib.import_module(module_name(name))
    except ImportError as exc:
        raise ImportError(
            f"timelog backend {name!r} ({module_name(name)}) cannot be imported: {exc}"
        ) from exc
    return check_backend(ns, name)


def available_backends() -> list[str]:
    """Names of the backends that import (and pass the API check) here.

    In :func:`preference_order`; the first one is what ``import timelog``
    picks when ``TIMELOG_BACKEND`` is unset.

    Example:
        >>> import timelog
        >>> timelog.BACKEND in available_backends()
        True
    """
    names = []
    for name in preference_order():
        try:
            load_backend(name)
        except ImportError:
            continue
        names.append(name)
    return names


def select_backend(environ: dict[str, str] | None = None) -> tuple[str, ModuleType]:
    """Choose the backend per ``TIMELOG_BACKEND``; return ``(name, module)``.

    Args:
        environ: the environment to read (``os.environ`` by default).

    Raises:
        ImportError: unknown name, the named backend fails to import or is
            incomplete, or (variable unset) no backend imports at all.  The
            message names the variable, its value and the valid choices; the
            real error is chained as ``__cause__``.
    """
    env = os.environ if environ is None else environ
    value = env.get(ENV_VAR, "")
    choices = ", ".join(BACKENDS)
    if value:
        if value not in BACKENDS:
            raise ImportError(
                f"{ENV_VAR}={value!r} is not a timelog backend; valid choices: {choices}"
            )
        try:
            ns = importlib.import_module(module_name(value))
        except Exception as exc:
            raise ImportError(
                f"{ENV_VAR}={value!r}: the {value} backend ({module_name(value)}) failed to "
                f"import: {type(exc).__name__}: {exc}. Valid choices: {choices}; unset "
                f"{ENV_VAR} to use the first backend that is available."
            ) from exc
        return value, check_backend(ns, value)

    errors: list[tuple[str, ImportError]] = []
    for name in preference_order():
        try:
            ns = importlib.import_module(module_name(name))
        except ImportError as exc:
            errors.append((name, exc))
            continue
        # A backend that imports but is incomplete is a broken build: fail
        # loudly rather than silently using the next one.
        return name, check_backend(ns, name)
    detail = "; ".join(f"{name}: {exc}" for name, exc in errors)
    raise ImportError(
        f"no timelog backend could be imported ({ENV_VAR} is unset; tried {choices}): "
        f"{detail}. Reinstall the package (pip install .) or set {ENV_VAR} to one of: "
        f"{choices}."
    ) from errors[0][1]


_selected: tuple[str, ModuleType] | None = None


def selected() -> tuple[str, ModuleType]:
    """Return ``(name, module)`` of the backend this process uses.

    Selection (:func:`select_backend`) runs once, the first time this is
    called (that is, when :mod:`timelog` is first imported); later calls
    return the same backend, whatever ``TIMELOG_BACKEND`` says by then.

    Example:
        >>> import timelog
        >>> selected()[0] == timelog.BACKEND
        True
    """
    global _selected
    if _selected is None:
        _selected = select_backend()
    return _selected


__all__ = [
    "BACKENDS",
    "available_backends",
    "ENV_VAR",
    "PUBLIC_API",
    "check_backend",
    "load_backend",
    "missing_api",
    "module_name",
    "preference_order",
    "select_backend",
    "selected",
]
