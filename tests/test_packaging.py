"""Packaging: backend selection, the public-API check, metadata, shipped files.

Selection happens when ``timelog`` is first imported, so the tests that need
a different environment or a broken backend run a fresh interpreter.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.resources
import json
import os
import sys
import types

import pytest
from conftest import BLOCK_BACKEND, importable_backends, run_python

import timelog
from timelog import _errors, _select

CHOICES = "capi, cython, cffi"


def fake_backend(drop: tuple[str, ...] = (), **override) -> types.ModuleType:
    """A module shaped like a backend, from PUBLIC_API, minus ``drop``.

    ``drop`` holds top-level names ("PageSpan") or members ("Timelog.range").
    """
    mod = types.ModuleType("timelog._backend_fake")
    for name, members in _select.PUBLIC_API.items():
        if name in drop:
            continue
        if name in ("TimelogError", "TimelogBusyError"):
            setattr(mod, name, getattr(_errors, name))
            continue
        attrs = {m: None for m in members.split() if f"{name}.{m}" not in drop}
        setattr(mod, name, type(name, (), attrs))
    for key, value in override.items():
        setattr(mod, key, value)
    return mod


# -- the active backend ----------------------------------------------------

def test_backend_is_reported():
    assert timelog.BACKEND in _select.BACKENDS
    requested = os.environ.get("TIMELOG_BACKEND")
    if requested:
        assert timelog.BACKEND == requested  # no silent fallback
    else:
        assert timelog.BACKEND == importable_backends()[0]


def test_private_timelog_is_the_backend_module():
    backend_module = sys.modules[f"timelog._backend_{timelog.BACKEND}"]
    assert timelog._timelog is backend_module
    assert sys.modules["timelog._timelog"] is backend_module
    from timelog._timelog import Timelog as CTimelog

    assert CTimelog is backend_module.Timelog
    assert timelog.Timelog.__bases__[-1] is CTimelog
    assert CTimelog.__module__ == f"timelog._backend_{timelog.BACKEND}"


def test_selected_once():
    assert _select.selected() == (timelog.BACKEND, timelog._timelog)
    assert _select.selected()[1] is _select.selected()[1]


def test_every_importable_backend_passes_the_api_check():
    names = importable_backends()
    assert timelog.BACKEND in names
    for name in names:
        assert _select.missing_api(timelog.load_backend(name)) == [], name


def test_preference_order():
    assert _select.preference("CPython") == ("capi", "cython", "cffi")
    assert _select.preference("PyPy") == ("cffi", "capi", "cython")
    assert set(_select.preference()) == set(_select.BACKENDS)


# -- load_backend ------------------------------------------------------------

def test_load_backend_active():
    ns = timelog.load_backend(timelog.BACKEND)
    assert ns is timelog._timelog
    assert ns.TimelogError is timelog.TimelogError
    assert ns.TimelogBusyError is timelog.TimelogBusyError


def test_load_backend_objects_work_together():
    for name in importable_backends():
        ns = timelog.load_backend(name)
        lg = ns.Timelog()
        try:
            lg.extend([(2, "b"), (1, "a")])
            assert list(lg.all()) == [(1, "a"), (2, "b")]
        finally:
            lg.close()
        with pytest.raises(timelog.TimelogError):  # shared exception classes
            lg.append(3, "c")


def test_load_backend_unknown_name():
    with pytest.raises(ValueError) as exc:
        timelog.load_backend("rust")
    assert "'rust'" in str(exc.value)
    assert CHOICES in str(exc.value)


def test_load_backend_import_failure_is_chained(monkeypatch):
    real_import = importlib.import_module
    cause = ImportError("simulated: extension not built")

    def failing_import(name, *args):
        if name == "timelog._backend_cython":
            raise cause
        return real_import(name, *args)

    monkeypatch.setattr(_select.importlib, "import_module", failing_import)
    with pytest.raises(ImportError) as exc:
        timelog.load_backend("cython")
    assert exc.value.__cause__ is cause
    assert "'cython'" in str(exc.value)
    assert "simulated: extension not built" in str(exc.value)


def test_load_backend_runs_the_api_check(monkeypatch):
    fake = fake_backend(drop=("PageSpanIter",))
    monkeypatch.setitem(sys.modules, "timelog._backend_cffi", fake)
    with pytest.raises(ImportError, match="PageSpanIter"):
        timelog.load_backend("cffi")


# -- select_backend (in process, with an explicit environment) --------------

def test_select_unknown_name():
    with pytest.raises(ImportError) as exc:
        _select.select_backend({"TIMELOG_BACKEND": "bogus"})
    msg = str(exc.value)
    assert "TIMELOG_BACKEND" in msg and "'bogus'" in msg and CHOICES in msg


@pytest.mark.parametrize("value", ["CAPI", " capi", "capi,cffi", "_backend_capi", "auto"])
def test_select_rejects_near_misses(value):
    with pytest.raises(ImportError, match="TIMELOG_BACKEND"):
        _select.select_backend({"TIMELOG_BACKEND": value})


def test_select_named_failure_is_chained_and_never_falls_back(monkeypatch):
    real_import = importlib.import_module
    cause = OSError("simulated: undefined symbol tl_log_open")

    def failing_import(name, *args):
        if name == f"timelog._backend_{timelog.BACKEND}":
            raise cause
        return real_import(name, *args)

    monkeypatch.setattr(_select.importlib, "import_module", failing_import)
    with pytest.raises(ImportError) as exc:
        _select.select_backend({"TIMELOG_BACKEND": timelog.BACKEND})
    msg = str(exc.value)
    assert "TIMELOG_BACKEND" in msg and f"'{timelog.BACKEND}'" in msg and CHOICES in msg
    assert "undefined symbol" in msg
    assert exc.value.__cause__ is cause


def test_select_empty_means_unset():
    name, ns = _select.select_backend({"TIMELOG_BACKEND": ""})
    assert name == importable_backends()[0]
    assert ns is sys.modules[f"timelog._backend_{name}"]


def test_select_unset_skips_backends_that_do_not_import(monkeypatch):
    real_import = importlib.import_module
    blocked = {"timelog._backend_capi", "timelog._backend_cython", "timelog._backend_cffi"}

    def failing_import(name, *args):
        if name in blocked:
            raise ImportError(f"simulated: {name} missing")
        return real_import(name, *args)

    monkeypatch.setattr(_select.importlib, "import_module", failing_import)
    monkeypatch.setitem(sys.modules, "timelog._backend_cffi", fake_backend())
    blocked.discard("timelog._backend_cffi")
    name, ns = _select.select_backend({})
    assert name == "cffi" and ns is sys.modules["timelog._backend_cffi"]

    blocked.add("timelog._backend_cffi")
    with pytest.raises(ImportError) as exc:
        _select.select_backend({})
    msg = str(exc.value)
    assert "no timelog backend" in msg and "TIMELOG_BACKEND" in msg
    for name in _select.BACKENDS:
        assert f"timelog._backend_{name} missing" in msg
    assert isinstance(exc.value.__cause__, ImportError)


# -- the public-API check -----------------------------------------------------

def test_api_check_accepts_complete_backend(monkeypatch):
    fake = fake_backend()
    assert _select.missing_api(fake) == []
    monkeypatch.setitem(sys.modules, "timelog._backend_cffi", fake)
    assert timelog.load_backend("cffi") is fake


def test_api_check_names_everything_missing(monkeypatch):
    fake = fake_backend(drop=("PageSpan", "Timelog.page_spans", "TimelogIter.next_batch",
                              "PageSpanObjectsView.copy"))
    monkeypatch.setitem(sys.modules, "timelog._backend_cffi", fake)
    with pytest.raises(ImportError) as exc:
        timelog.load_backend("cffi")
    msg = str(exc.value)
    for missing in ("PageSpan,", "Timelog.page_spans", "TimelogIter.next_batch",
                    "PageSpanObjectsView.copy"):
        assert missing in msg + ",", missing
    assert "'cffi'" in msg


def test_api_check_requires_shared_exceptions():
    class OwnError(Exception):
        pass

    fake = fake_backend(TimelogError=OwnError)
    missing = _select.missing_api(fake)
    assert missing == ["TimelogError (not the class from timelog._errors)"]


def test_api_check_requires_classes():
    fake = fake_backend(Timelog=lambda *a: None)
    assert _select.missing_api(fake) == ["Timelog (not a class)"]


def test_api_list_covers_the_contract():
    api = _select.PUBLIC_API
    assert set(api) == {"Timelog", "TimelogIter", "PageSpan", "PageSpanIter",
                        "PageSpanObjectsView", "TimelogError", "TimelogBusyError"}
    for method in ("append", "extend", "delete_range", "delete_before", "flush", "compact",
                   "start_maintenance", "stop_maintenance", "close", "range", "since",
                   "until", "all", "equal", "point", "page_spans", "stats", "closed",
                   "time_unit", "maintenance_mode", "busy_policy", "retired_queue_len",
                   "alloc_failures", "__enter__", "__exit__", "count", "arrays"):
        assert method in api["Timelog"].split(), method


# -- selection at import time (fresh interpreters) ---------------------------

REPORT = """
import json, sys
try:
    import timelog
except ImportError as exc:
    cause = exc.__cause__
    print(json.dumps({"error": str(exc), "cause_type": type(cause).__name__,
                      "cause": str(cause)}))
    sys.exit(3)
print(json.dumps({"backend": timelog.BACKEND, "module": timelog._timelog.__name__}))
"""


def report(result):
    assert result.stdout.strip(), result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_import_with_unknown_backend_fails():
    res = run_python(REPORT, env={"TIMELOG_BACKEND": "bogus"})
    assert res.returncode == 3, res.stderr
    msg = report(res)["error"]
    assert "TIMELOG_BACKEND" in msg and "'bogus'" in msg and CHOICES in msg


def test_import_with_unknown_backend_traceback():
    res = run_python("import timelog", env={"TIMELOG_BACKEND": "bogus"})
    assert res.returncode == 1
    assert "ImportError: TIMELOG_BACKEND='bogus'" in res.stderr


def test_import_named_backend_that_fails_to_import():
    name = timelog.BACKEND
    code = BLOCK_BACKEND.format(name=name, error="simulated: libtimelog missing") + REPORT
    res = run_python(code, env={"TIMELOG_BACKEND": name})
    assert res.returncode == 3, res.stdout + res.stderr
    out = report(res)
    assert "TIMELOG_BACKEND" in out["error"] and f"'{name}'" in out["error"]
    assert CHOICES in out["error"]
    assert out["cause_type"] == "ImportError"
    assert out["cause"] == "simulated: libtimelog missing"


def test_import_named_backend_failure_shows_chain():
    name = timelog.BACKEND
    code = BLOCK_BACKEND.format(name=name, error="simulated: libtimelog missing")
    res = run_python(code + "import timelog", env={"TIMELOG_BACKEND": name})
    assert res.returncode == 1
    assert "simulated: libtimelog missing" in res.stderr
    assert "The above exception was the direct cause" in res.stderr


def test_import_unset_uses_next_backend():
    available = importable_backends()
    blocked = available[0]
    code = BLOCK_BACKEND.format(name=blocked, error="simulated: not built") + REPORT
    res = run_python(code, unset=("TIMELOG_BACKEND",))
    if len(available) > 1:
        assert res.returncode == 0, res.stderr
        assert report(res) == {"backend": available[1],
                               "module": f"timelog._backend_{available[1]}"}
    else:  # only one backend is built here: nothing to fall back to
        assert res.returncode == 3
        assert "no timelog backend" in report(res)["error"]


def test_import_each_named_backend():
    for name in importable_backends():
        res = run_python(REPORT, env={"TIMELOG_BACKEND": name})
        assert res.returncode == 0, res.stderr
        assert report(res) == {"backend": name, "module": f"timelog._backend_{name}"}


def test_import_incomplete_backend_fails_loudly():
    name = timelog.BACKEND
    # The child imports the real backend, then hides one method of its
    # Timelog class before the facade is imported.
    code = f"""
import importlib, sys
real = importlib.import_module("timelog._backend_{name}")
import types
fake = types.ModuleType(real.__name__)
fake.__dict__.update({{k: v for k, v in vars(real).items() if not k.startswith("__")}})
names = [k for k in dir(real.Timelog) if not k.startswith("__") and k != "page_spans"]
fake.Timelog = type("Timelog", (), dict.fromkeys(names + ["__enter__", "__exit__"]))
del fake.PageSpanObjectsView
for mod in [m for m in sys.modules if m == "timelog" or m.startswith("timelog.")]:
    if mod != real.__name__ and mod != "timelog._errors":
        del sys.modules[mod]
sys.modules[real.__name__] = fake
""" + REPORT
    res = run_python(code, env={"TIMELOG_BACKEND": name})
    assert res.returncode == 3, res.stdout + res.stderr
    msg = report(res)["error"]
    assert "lacks" in msg
    assert "Timelog.page_spans" in msg and "PageSpanObjectsView" in msg


# -- metadata and shipped files ----------------------------------------------

def test_version_matches_metadata():
    assert timelog.__version__ == importlib.metadata.version("timelog")
    assert timelog.__version__[0].isdigit()


def test_py_typed_shipped():
    marker = importlib.resources.files("timelog") / "py.typed"
    assert marker.is_file()
    files = importlib.metadata.files("timelog") or []
    installed = [str(f).replace("\\", "/") for f in files]
    if any(f.endswith("timelog/__init__.py") for f in installed):  # a regular install
        assert "timelog/py.typed" in installed


def test_installed_package_has_every_module():
    pkg = importlib.resources.files("timelog")
    for name in ("__init__.py", "__main__.py", "_api.py", "_errors.py", "_select.py",
                 "_timelog.py", "py.typed"):
        assert (pkg / name).is_file(), name


def test_tested_copy_is_the_installed_one():
    # nox sets TIMELOG_EXPECT_INSTALLED=1: the suite must exercise the wheel
    # installed into the session's venv, not the source tree next to it.
    if os.environ.get("TIMELOG_EXPECT_INSTALLED") == "1":
        assert "site-packages" in timelog.__file__, timelog.__file__
    else:
        assert timelog.__file__.endswith(os.path.join("timelog", "__init__.py"))


# -- license (PEP 639) ---------------------------------------------------------

def test_license_metadata_is_a_spdx_expression():
    meta = importlib.metadata.metadata("timelog")
    assert meta["License-Expression"] == "MIT"
    assert meta.get_all("License-File") == ["LICENSE"]
    version = tuple(int(x) for x in meta["Metadata-Version"].split("."))
    assert version >= (2, 4)  # the metadata version that has License-Expression
    # PEP 639: no legacy License field or license classifier next to the expression
    assert meta.get_all("License") is None
    assert not [c for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]


def test_license_file_is_in_the_wheel():
    dist = importlib.metadata.distribution("timelog")
    files = [f for f in dist.files or [] if str(f).replace("\\", "/").endswith("licenses/LICENSE")]
    assert len(files) == 1, dist.files
    text = files[0].read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert "Copyright (c) 2026 Timelog contributors" in text
