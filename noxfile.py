"""Developer and CI sessions.  ``nox -l`` lists them; ``nox -s tests`` is the
test command of the README (and of ``.ci/run``).

Sessions
    tests        build + install the package (wheel, non-editable), then run
                 tests/ and conformance/ once per built backend
                 (TIMELOG_BACKEND=...); tests/ include the docstring doctests.
    conformance  conformance/ for every backend x every Python 3.9-3.13 and
                 PyPy present; prints a table; ``-- --backend cffi`` for one
                 backend, ``-- --python 3.12`` (or ``pypy3.9``) for one Python.
    pypy         tests/ + conformance/ on PyPy (Debian's pypy3), cffi backend.
    readme       the README's two commands, as written, in a fresh clone.
    pypy_speed   cffi on PyPy against capi on CPython 3.11 (tools/interp_compare.py).
    core         the C engine's tests, plain and under ASan/UBSan and TSan.
    fuzz         the engine fuzzers (FUZZ_SECONDS, default 60).
    lint         ruff + a -Wall -Wextra -Werror build of engine and C-API binding.
    docs         Sphinx (warnings are errors) + every docs example as a doctest
                 on every built backend.
    bench        asv history of the last commits of main, each built in its own
                 virtualenv, and the dashboard (tools/run_bench.py).
    peers        this package against timelog-lib and sortedcontainers.
    perf_report  regenerate docs/performance.md from stored results.
    bench_gate   ratio targets per backend and no >10% regression between
                 two commits measured in one run (tools/bench_gate.py).

Interpreters are found as ``python3.X`` on PATH; with pyenv, the installed
3.9-3.13 versions are put on PYENV_VERSION so its shims resolve them.  A
Python that is missing is reported by name (``tests`` and ``docs`` use the
Python running nox).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent

def _backend_list() -> tuple[str, ...]:
    """timelog._select.BACKENDS, the project's one list (nox runs without the package)."""
    path = ROOT / "src" / "timelog" / "_select.py"
    spec = importlib.util.spec_from_file_location("_select", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.BACKENDS)


BACKENDS = _backend_list()
PYTHONS = ("3.9", "3.10", "3.11", "3.12", "3.13")
# PyPy runs the cffi backend only (setup.py builds nothing else there).
PYPY = "pypy3.9"
PYPY_BACKENDS = ("cffi",)
DEFAULT_PYTHON = f"{sys.version_info[0]}.{sys.version_info[1]}"
# Where wheels built by these sessions are kept, keyed by a hash of the
# sources: tests, docs and bench on one Python share one build.
WHEELHOUSE = ROOT / ".nox" / "_wheels"
# What goes into the package build (copied to a clean directory first, so
# in-place builds, caches and .so files of the working tree never leak in).
BUILD_INPUTS = ("pyproject.toml", "setup.py", "README.md", "LICENSE", "core/include",
                "core/src", "backends", "src")
IGNORED_BUILD_FILES = ("*.so", "*.o", "*.a", "*.pyc", "__pycache__", "build", "*.egg-info",
                       "_backend_cython.c", "_engine.c", "*.html")

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "venv"


def _pyenv_setup() -> None:
    """Make pyenv's shims resolve python3.9 .. python3.13 if they are installed."""
    pyenv = shutil.which("pyenv")
    if not pyenv:
        return
    try:
        out = subprocess.run([pyenv, "versions", "--bare"], capture_output=True, text=True,
                             check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return
    chosen = []
    for minor in PYTHONS:
        cands = [v for v in out if v.startswith(minor + ".") and v[len(minor) + 1:].isdigit()]
        if cands:
            chosen.append(max(cands, key=lambda v: int(v.rsplit(".", 1)[1])))
    # Versions already asked for (PYENV_VERSION) come first, then the
    # interpreter running nox, so the default "python" does not change.
    # (the same minor version: nox may run on a non-pyenv 3.11.2 while pyenv has 3.11.7)
    current = "{}.{}.".format(*sys.version_info[:2])
    chosen.sort(key=lambda v: not v.startswith(current))
    first = [v for v in os.environ.get("PYENV_VERSION", "").split(":") if v]
    merged = first + [v for v in chosen if v not in first]
    if merged:
        os.environ["PYENV_VERSION"] = ":".join(merged)


_pyenv_setup()


def find_python(version: str) -> str | None:
    """Path of an interpreter for ``version`` ("3.12" or "pypy3.9"), or None."""
    if version == DEFAULT_PYTHON and sys.implementation.name == "cpython":
        return sys.executable
    pypy = version.startswith("pypy")
    exe = shutil.which(version) or (shutil.which("pypy3") if pypy else None) \
        or shutil.which(f"python{version}")
    if exe is None:
        return None
    probe = subprocess.run([exe, "-c", "import sys; print(sys.implementation.name, "
                            "'.'.join(map(str, sys.version_info[:2])))"],
                           capture_output=True, text=True)
    want = f"pypy {version[4:]}" if pypy else f"cpython {version}"
    return exe if probe.returncode == 0 and probe.stdout.strip() == want else None


def _source_hash() -> str:
    h = hashlib.sha256()
    for rel in BUILD_INPUTS:
        path = ROOT / rel
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for f in files:
            if any(f.match(pat) or pat in f.relative_to(ROOT).parts
                   for pat in IGNORED_BUILD_FILES):
                continue
            h.update(str(f.relative_to(ROOT)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def clean_copy(dest: Path) -> Path:
    """Copy the build inputs to ``dest``, without build products or caches."""
    dest.mkdir(parents=True)
    for rel in BUILD_INPUTS:
        path = ROOT / rel
        if path.is_dir():
            shutil.copytree(path, dest / rel, ignore=shutil.ignore_patterns(*IGNORED_BUILD_FILES))
        elif path.exists():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest / rel)
    return dest


def build_wheel(session: nox.Session, python: str) -> Path:
    """Build (or reuse) the package wheel for ``python`` from a clean copy.

    ``pip wheel`` with build isolation: the build requirements come from the
    package index, as for a user's ``pip install .``.
    """
    tag = subprocess.run([python, "-c", "import sys; print(sys.implementation.cache_tag)"],
                         capture_output=True, text=True, check=True).stdout.strip()
    out = WHEELHOUSE / f"{_source_hash()}-{tag}"
    wheels = sorted(out.glob("timelog-*.whl"))
    if wheels:
        session.log(f"reusing {wheels[-1].relative_to(ROOT)} (sources unchanged)")
        return wheels[-1]
    with tempfile.TemporaryDirectory(prefix="timelog-src-") as tmp:
        src = clean_copy(Path(tmp) / "timelog")
        out.mkdir(parents=True, exist_ok=True)
        session.run(python, "-m", "pip", "wheel", "--no-deps", "-w", str(out), str(src),
                    external=True)
    return sorted(out.glob("timelog-*.whl"))[-1]


def install_package(session: nox.Session, extras: str = "test", python: str = "python") -> None:
    """Install the freshly built wheel (non-editable) with ``extras`` into the venv."""
    wheel = build_wheel(session, python if python != "python" else _venv_python(session))
    session.run(python, "-m", "pip", "install", "--force-reinstall", "--no-deps", str(wheel),
                external=True)
    session.run(python, "-m", "pip", "install", f"{wheel}[{extras}]", external=True)


def _venv_python(session: nox.Session) -> str:
    return str(Path(session.virtualenv.location) / "bin" / "python")


def built_backends(session: nox.Session, python: str = "python") -> list[str]:
    """Backends whose compiled module the installed distribution contains.

    Read from the wheel's file list, without importing anything: a backend
    that is built but broken must fail its tests, not be skipped.  ``-I``
    keeps the source tree (the working directory) off sys.path.
    """
    code = (
        "import importlib.metadata as m, fnmatch; "
        "files = [str(f) for f in m.files('timelog')]; "
        "pats = {'capi': 'timelog/_backend_capi.*', 'cython': 'timelog/_backend_cython.*', "
        "'cffi': 'timelog/_backend_cffi/_engine.*'}; "
        "print(' '.join(b for b, p in pats.items() "
        "if any(fnmatch.fnmatch(f, p) and not f.endswith(('.py', '.pyc')) for f in files)))"
    )
    out = session.run(python, "-I", "-c", code, silent=True, external=True) or ""
    names = out.split()
    if not names:
        session.error("no backend is built in the installed package")
    session.log(f"built backends: {', '.join(names)}")
    return names


def test_paths(*names: str) -> list[str]:
    return [str(ROOT / n) for n in names if (ROOT / n).is_dir()]


def junit_counts(path: Path) -> dict[str, int]:
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    c = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors",
                                                            "skipped")}
    c["passed"] = c["tests"] - c["failures"] - c["errors"] - c["skipped"]
    # junit files expected failures under <skipped type="pytest.xfail">
    c["xfailed"] = sum(1 for sk in root.iter("skipped") if sk.get("type") == "pytest.xfail")
    c["skipped"] -= c["xfailed"]
    return c


def run_pytest(session: nox.Session, backend: str, paths: list[str], junit: Path,
               python: str = "python", extra: tuple[str, ...] = ()) -> bool:
    """pytest on the installed package with TIMELOG_BACKEND=backend; True if it passed.

    It runs from an empty directory, so neither pytest nor the interpreters
    the tests start can import the source tree's ``timelog/`` instead of the
    installed one; ``--import-mode=append`` puts the repository root (needed
    by the ``conformance`` package) after site-packages for the same reason.
    """
    env = {"TIMELOG_BACKEND": backend, "TIMELOG_EXPECT_INSTALLED": "1",
           "HYPOTHESIS_PROFILE": os.environ.get("HYPOTHESIS_PROFILE", "ci")}
    args = [python, "-m", "pytest", *paths, f"--rootdir={ROOT}", "--import-mode=append",
            "-p", "no:cacheprovider", "-q", f"--junitxml={junit}",
            "-o", f"junit_suite_name={backend}", *extra]
    workdir = junit.parent / f"cwd-{backend}"
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        with session.chdir(workdir):
            session.run(*args, env=env, external=True)
    except nox.command.CommandFailed:
        return False
    return True


@nox.session(python=DEFAULT_PYTHON)
def tests(session: nox.Session) -> None:
    """Install the package (built wheel, not editable) and run tests/ + conformance/
    on every built backend.  Extra arguments go to pytest."""
    install_package(session, "test")
    paths = test_paths("tests", "conformance")
    failed = []
    results = {}
    for backend in built_backends(session):
        junit = Path(session.create_tmp()).resolve() / f"junit-{backend}.xml"
        # each backend's own white-box tests (cffi's object table, cdef drift) run with it
        own = test_paths(f"backends/{backend}/tests")
        ok = run_pytest(session, backend, paths + own, junit, extra=tuple(session.posargs))
        if junit.exists():
            results[backend] = junit_counts(junit)
        if not ok:
            failed.append(backend)
    for backend, c in results.items():
        session.log(f"{backend:>7}: {c['passed']} passed, {c['failures'] + c['errors']} failed, "
                    f"{c['skipped']} skipped, {c['xfailed']} xfailed of {c['tests']}")
    if failed:
        session.error(f"tests failed on backend(s): {', '.join(failed)}")


def _conformance_args(session: nox.Session) -> tuple[list[str], list[str], list[str]]:
    backends: list[str] = []
    pythons: list[str] = []
    rest: list[str] = []
    args = list(session.posargs)
    while args:
        a = args.pop(0)
        if a in ("--backend", "--python") and args:
            value = args.pop(0)
        elif a.startswith(("--backend=", "--python=")):
            a, value = a.split("=", 1)
        else:
            rest.append(a)
            continue
        target = backends if a == "--backend" else pythons
        target.extend(v for v in value.split(",") if v)
    bad = [b for b in backends if b not in BACKENDS] + \
        [p for p in pythons if p not in (*PYTHONS, PYPY)]
    if bad:
        session.error(f"unknown --backend/--python value(s) {bad}; backends: {BACKENDS}, "
                      f"pythons: {PYTHONS}")
    return backends or list(BACKENDS), pythons or [*PYTHONS, PYPY], rest


@nox.session(python=False)
def conformance(session: nox.Session) -> None:
    """conformance/ on every backend x Python 3.9-3.13 and PyPy present; prints the table.

    ``nox -s conformance -- --backend cffi --python 3.12``; other arguments go
    to pytest.  One venv per Python (.nox/conformance-3.X), reused.
    """
    backends, pythons, rest = _conformance_args(session)
    paths = test_paths("conformance")
    if not paths:
        session.error("conformance/ does not exist")
    table: dict[tuple[str, str], str] = {}
    counts: dict[tuple[str, str], dict[str, int]] = {}
    missing, failures = [], []
    for version in pythons:
        exe = find_python(version)
        if exe is None:
            missing.append(version)
            session.warn(f"Python {version}: interpreter python{version} not found "
                         "(install it, e.g. with pyenv); reported as missing")
            continue
        venv = ROOT / ".nox" / f"conformance-{version}"
        py = _venv_for(session, venv.name, exe)
        install_package(session, "test", python=py)
        built = built_backends(session, python=py)
        for backend in backends:
            if version == PYPY and backend not in PYPY_BACKENDS:
                table[(backend, version)] = "n/a"
                continue
            if backend not in built:
                table[(backend, version)] = "not built"
                failures.append(f"{backend}/{version} not built")
                continue
            junit = venv / f"junit-{backend}.xml"
            junit.unlink(missing_ok=True)
            ok = run_pytest(session, backend, paths, junit, python=py, extra=tuple(rest))
            if junit.exists():
                c = counts[(backend, version)] = junit_counts(junit)
                table[(backend, version)] = (f"{c['passed']}/{c['failures'] + c['errors']}/"
                                             f"{c['skipped']}/{c['xfailed']}")
            else:
                table[(backend, version)] = "no report"
            if not ok:
                failures.append(f"{backend}/{version}")
    present = [v for v in pythons if v not in missing]
    width = max(14, *(len(v) for v in table.values())) if table else 14
    lines = ["conformance: passed/failed/skipped/xfailed per backend x Python",
             "backend  " + "".join(f"{'py' + v:>{width + 2}}" for v in pythons)]
    for backend in backends:
        cells = [table.get((backend, v), "missing") for v in pythons]
        lines.append(f"{backend:<9}" + "".join(f"{cell:>{width + 2}}" for cell in cells))
    print("\n".join(lines), flush=True)
    if missing:
        session.warn(f"Python(s) not found, not tested: {', '.join(missing)}")
    if PYPY in missing:
        session.warn("PyPy: install Debian's pypy3 and pypy3-dev (nox -s pypy says how)")
    for version in present:
        totals = {b: counts[(b, version)]["tests"] for b in backends if (b, version) in counts}
        if len(set(totals.values())) > 1:
            failures.append(f"Python {version}: backends differ in test count {totals}")
    if not [v for v in present if v != PYPY]:
        session.error("no Python from 3.9 to 3.13 was found")
    if failures:
        session.error("conformance failed: " + "; ".join(failures))


def _venv_for(session: nox.Session, name: str, exe: str) -> str:
    """A reused venv .nox/<name> made by ``exe``; returns its python."""
    venv = ROOT / ".nox" / name
    py = str(venv / "bin" / "python")
    if not Path(py).exists():
        session.run(exe, "-m", "venv", str(venv), external=True)
        session.run(py, "-m", "pip", "install", "--upgrade", "pip", external=True)
    return py


@nox.session(python=False)
def pypy(session: nox.Session) -> None:
    """tests/ + conformance/ + the cffi backend's own tests on PyPy.

    Uses Debian's ``pypy3`` (PyPy 7.3, Python 3.9); its ``pypy3-dev`` package
    provides the headers the cffi build compiles against.  ``.ci/run``
    installs both when missing.  Extra arguments go to pytest.
    """
    exe = find_python(PYPY)
    if exe is None:
        session.error("pypy3 (PyPy for Python 3.9) not found: as root, "
                      "apt-get install pypy3 pypy3-dev")
    py = _venv_for(session, "pypy", exe)
    install_package(session, "test", python=py)
    built = built_backends(session, python=py)
    if sorted(built) != sorted(PYPY_BACKENDS):
        session.error(f"on PyPy the build should make {PYPY_BACKENDS}, it made {built}")
    junit = ROOT / ".nox" / "pypy" / "junit-cffi.xml"
    ok = run_pytest(session, "cffi", test_paths("tests", "conformance", "backends/cffi/tests"),
                    junit, python=py, extra=tuple(session.posargs))
    if junit.exists():
        c = junit_counts(junit)
        session.log(f"pypy/cffi: {c['passed']} passed, {c['failures'] + c['errors']} failed, "
                    f"{c['skipped']} skipped, {c['xfailed']} xfailed of {c['tests']}")
    if not ok:
        session.error("tests failed on PyPy")


@nox.session(python=False)
def pypy_speed(session: nox.Session) -> None:
    """cffi on PyPy against capi on CPython 3.11, same workloads, alternating.

    Results in .asv/pypy/interp.json, for ``nox -s perf_report``; extra
    arguments go to tools/interp_compare.py (``-- --rounds 5``).
    """
    exe_pypy, exe_cpy = find_python(PYPY), find_python("3.11")
    if exe_pypy is None or exe_cpy is None:
        session.error("needs pypy3 (apt-get install pypy3 pypy3-dev) and python3.11")
    pypy_py = _venv_for(session, "pypy", exe_pypy)
    install_package(session, "test", python=pypy_py)
    cpy = _venv_for(session, "speed-3.11", exe_cpy)
    install_package(session, "test", python=cpy)
    session.run(cpy, str(ROOT / "tools" / "interp_compare.py"), "--a", f"{cpy}:capi",
                "--b", f"{pypy_py}:cffi", "--out", str(ROOT / ".asv" / "pypy" / "interp.json"),
                *session.posargs, external=True)


def _compiles(cc: str, *flags: str) -> bool:
    """Whether ``cc`` can build and link a trivial program with ``flags``."""
    if not shutil.which(cc):
        return False
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "t.c"
        src.write_text("int main(void){return 0;}\n")
        r = subprocess.run([cc, *flags, str(src), "-o", str(Path(tmp) / "t")],
                           capture_output=True)
        return r.returncode == 0


def _ensure_toolchain(session: nox.Session, fuzz: bool = False) -> None:
    """Sanitizer runtimes for core/Makefile's compiler (gcc unless CC is set),
    and clang's libFuzzer for ``fuzz``; apt-get them if missing and root."""
    cc = os.environ.get("CC", "gcc")
    ok = _compiles(cc, "-fsanitize=address,undefined") and _compiles(cc, "-fsanitize=thread")
    if fuzz:
        ok = ok and _compiles("clang", "-fsanitize=fuzzer-no-link,address", "-c")
    if ok:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        session.error(f"sanitizer runtimes for {cc} (or clang's libFuzzer) are missing: install "
                      "clang and libclang-rt-14-dev (Debian), or run as root so this session can")
    session.run("apt-get", "update", external=True)
    session.run("apt-get", "install", "-y", "--no-install-recommends", "build-essential",
                "clang", "libclang-rt-14-dev", external=True,
                env={"DEBIAN_FRONTEND": "noninteractive"})


@nox.session(python=False)
def core(session: nox.Session) -> None:
    """make -C core check, then under ASan/UBSan and TSan."""
    _ensure_toolchain(session)
    session.run("make", "-C", "core", "check", external=True)
    session.run("make", "-C", "core", "check", "SANITIZE=address", external=True)
    session.run("make", "-C", "core", "check", "SANITIZE=thread", external=True)


@nox.session(python=False)
def fuzz(session: nox.Session) -> None:
    """The engine fuzzers for FUZZ_SECONDS (default 60) each."""
    _ensure_toolchain(session, fuzz=True)
    seconds = os.environ.get("FUZZ_SECONDS", "60")
    session.run("make", "-C", "core", "fuzz", f"FUZZ_SECONDS={seconds}", external=True)


@nox.session(python=DEFAULT_PYTHON)
def lint(session: nox.Session) -> None:
    """ruff (config in pyproject.toml) + a strict build of the extensions."""
    session.install("ruff", "setuptools>=77", "Cython>=3.0", "cffi>=1.17")
    failed = []
    try:
        session.run("ruff", "check", str(ROOT), *session.posargs)
    except nox.command.CommandFailed:
        failed.append("ruff")
    # -Wall -Wextra -Werror on the engine and the C-API binding (setup.py), in
    # a clean copy so that nothing is generated in the working tree.
    build = Path(session.create_tmp()).resolve() / "strict-build"
    shutil.rmtree(build, ignore_errors=True)
    src = clean_copy(build / "src")
    try:
        with session.chdir(src):
            session.run("python", "setup.py", "-q", "build_ext", "--force", "--build-temp",
                        str(build / "tmp"), "--build-lib", str(build / "lib"),
                        env={"TIMELOG_STRICT": "1"})
    except nox.command.CommandFailed:
        failed.append("strict build")
    if failed:
        session.error(f"lint failed: {', '.join(failed)}")


@nox.session(python=DEFAULT_PYTHON)
def docs(session: nox.Session) -> None:
    """Sphinx HTML (warnings are errors) and the docs' doctests on every built backend."""
    install_package(session, "test")
    reqs = ROOT / "docs" / "requirements.txt"
    session.install("sphinx", *(["-r", str(reqs)] if reqs.exists() else []))
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")
    session.run("python", "tools/doctest_docs.py")


# Local copies of the scripts asv's dashboard otherwise loads from CDNs (no
# internet here); tools/run_bench.py points the published pages at them.
DASHBOARD_JS_PACKAGES = ("libjs-jquery", "libghc-js-flot-data", "libjs-bootstrap",
                         "node-blueimp-md5", "libjs-jquery-stupidtable")


def _ensure_dashboard_js(session: nox.Session) -> None:
    missing = [p for p in DASHBOARD_JS_PACKAGES
               if subprocess.run(["dpkg", "-s", p], capture_output=True).returncode]
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        session.warn(f"dashboard scripts missing ({' '.join(missing)}): the published pages "
                     "will try to load them from the internet")
        return
    session.run("apt-get", "update", external=True)
    session.run("apt-get", "install", "-y", "--no-install-recommends", *missing, external=True,
                env={"DEBIAN_FRONTEND": "noninteractive"})


@nox.session(python=DEFAULT_PYTHON)
def bench(session: nox.Session) -> None:
    """asv history of the last commits of main (built per commit) + the dashboard.

    ``nox -s bench`` measures the last 10 commits of main (``-- --commits 20``
    for more, ``-- --same`` for the working tree only); commits measured before
    are skipped.  The dashboard is .asv/html (docs/dashboard.md).  Writes
    nothing tracked by git.
    """
    if shutil.which("dpkg"):
        _ensure_dashboard_js(session)
    session.install("asv", "virtualenv")
    args = list(session.posargs)
    if "--same" in args:
        install_package(session, "test")
    session.run("python", "tools/run_bench.py", *args)


def _peer_python(session: nox.Session) -> str:
    exe = find_python("3.12") or find_python("3.13")
    if exe is None:
        session.error("timelog-lib needs Python 3.12+: python3.12 or python3.13 not found")
    return exe


@nox.session(python=False)
def peers(session: nox.Session) -> None:
    """This package (capi) against timelog-lib and sortedcontainers, alternating.

    Two environments from the package index on Python 3.12+ (timelog-lib
    needs it): .nox/peers-timelog (this package + sortedcontainers) and
    .nox/peers-timelog-lib (the published timelog-lib, which also imports as
    ``timelog``).  Results in .asv/peers/peers.json, for ``nox -s
    perf_report``.  ``-- --n 200000 --rounds 5`` change the size.
    """
    exe = _peer_python(session)
    ours = _venv_for(session, "peers-timelog", exe)
    install_package(session, "demo", python=ours)
    session.run(ours, "-m", "pip", "install", "sortedcontainers", external=True)
    lib = _venv_for(session, "peers-timelog-lib", exe)
    session.run(lib, "-m", "pip", "install", "timelog-lib", external=True)
    session.run(ours, "tools/peers.py", "--side", f"timelog={ours}",
                "--side", f"timelog-lib={lib}", "--side", f"sortedcontainers={ours}",
                *session.posargs, external=True, env={"TIMELOG_BACKEND": "capi"})


@nox.session(python=DEFAULT_PYTHON)
def perf_report(session: nox.Session) -> None:
    """Regenerate docs/performance.md from the stored asv and peers results.

    Run ``nox -s bench`` (and ``nox -s peers``) first; this only reads their
    results and the ceilings tools/ceilings.py measures now.
    """
    install_package(session, "demo")
    session.install("asv", "matplotlib")
    session.run("python", "tools/perf_report.py", *session.posargs)


@nox.session(python=DEFAULT_PYTHON)
def bench_gate(session: nox.Session) -> None:
    """Ratio targets (cython >= 0.8x capi; cffi >= 0.9x its ceiling) and no
    regression > 10% between two commits measured in this run.

    ``-- --base main~1 --head HEAD`` choose the commits (default: the
    parent of HEAD and HEAD).
    """
    install_package(session, "demo")  # tools/ceilings.py measures this tree's capi and cffi
    session.install("asv", "virtualenv")
    session.run("python", "tools/bench_gate.py", *session.posargs)


# -- readme: the README's commands, as a new user types them ----------------

README_SECTION = "## Two commands on a fresh machine"


def readme_commands(readme: Path) -> list[str]:
    """The ``$ `` lines of the console blocks under README_SECTION, in order.

    A trailing backslash continues a command on the next line.  Raises
    ValueError if the section or its commands are missing, so that editing
    the README cannot silently turn the check into a no-op.
    """
    lines = readme.read_text(encoding="utf-8").splitlines()
    try:
        start = lines.index(README_SECTION)
    except ValueError:
        raise ValueError(f"{readme.name} has no {README_SECTION!r} heading") from None
    commands: list[str] = []
    in_console = False
    pending = ""
    for line in lines[start + 1:]:
        if line.startswith("## ") and not in_console:
            break
        stripped = line.strip()
        if stripped.startswith("```"):
            in_console = stripped == "```console" and not in_console
            continue
        if not in_console:
            continue
        if pending:
            pending += "\n" + stripped
        elif stripped.startswith("$ "):
            pending = stripped[2:]
        else:
            continue  # output shown in the block
        if not pending.endswith("\\"):
            commands.append(pending)
            pending = ""
    if pending or not commands:
        raise ValueError(f"no complete console command under {README_SECTION!r} in {readme.name}")
    return commands


def _user_env() -> dict[str, str]:
    """This environment as a new user's shell would have it: no active
    virtualenv, no PYTHONPATH, no timelog selection, not run from inside nox.
    PYENV_VERSION goes too: _pyenv_setup() sets it for nox's own sessions,
    and it would make a pyenv shim's ``python3`` some other version."""
    env = dict(os.environ)
    venvs = [Path(v).resolve() for v in (env.pop("VIRTUAL_ENV", None),) if v]
    if sys.prefix != sys.base_prefix:  # nox itself runs from a virtualenv
        venvs.append(Path(sys.prefix).resolve())
    for name in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "CONDA_PREFIX", "PYENV_VERSION",
                 "TIMELOG_BACKEND", "TIMELOG_BACKENDS", "TIMELOG_EXPECT_INSTALLED",
                 "__PYVENV_LAUNCHER__"):
        env.pop(name, None)
    path = [p for p in env.get("PATH", "").split(os.pathsep)
            if p and not any(Path(p).resolve().is_relative_to(v) for v in venvs)]
    env["PATH"] = os.pathsep.join(path)
    return env


def _git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


def _fresh_clone(session: nox.Session, dest: Path, committed_only: bool) -> None:
    """``git clone`` this repository at its current commit into ``dest``; when
    the working tree has uncommitted changes (and not ``committed_only``),
    lay them over the clone: the check then sees exactly the files a commit
    of the working tree would hold (untracked files git does not ignore
    included, ignored ones such as .nox/ and build/ excluded)."""
    head = _git("rev-parse", "HEAD").strip()
    session.run("git", "clone", "--quiet", "--no-checkout", str(ROOT), str(dest), external=True)
    session.run("git", "-C", str(dest), "checkout", "--quiet", "--detach", head, external=True)
    dirty = _git("status", "--porcelain", "--untracked-files=normal").strip()
    if not dirty:
        session.log(f"checking a clone of commit {head[:12]} (the working tree is clean)")
        return
    if committed_only:
        session.warn(f"checking a clone of commit {head[:12]}; the working tree's uncommitted "
                     "changes are NOT included (--committed)")
        return
    tracked = set(_git("ls-files", "-z", "--cached").split("\0")) - {""}
    present = set(_git("ls-files", "-z", "--cached", "--others", "--exclude-standard")
                  .split("\0")) - {""}
    copied = removed = 0
    for rel in sorted(present | tracked):
        src, dst = ROOT / rel, dest / rel
        if src.is_file():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
            copied += 1
        elif rel in tracked and dst.exists() and not src.exists():
            dst.unlink()
            removed += 1
    session.warn(f"the working tree has uncommitted changes: checking a clone of commit "
                 f"{head[:12]} with the working tree laid over it ({copied} files copied from "
                 f"the working tree, {removed} deleted); `nox -s readme -- --committed` checks "
                 "the commit alone")


@nox.session(python=False)
def readme(session: nox.Session) -> None:
    """The README's console commands, exactly as written, in a fresh clone.

    The commands are the ``$`` lines of the console blocks under
    "Two commands on a fresh machine" in README.md (parsed, so the check
    follows the README).  They run in order in one bash shell, as a user
    types them in one terminal, from the root of a ``git clone`` of the
    current commit in a temporary directory, with no virtualenv active;
    the README's first command makes the clone's own venv.  A clean working
    tree is checked as committed; uncommitted changes are laid over the
    clone unless ``-- --committed`` is given.  Fails on the first command
    that fails.  ``-- --keep`` keeps the temporary directory.
    """
    import shlex
    import time

    args = list(session.posargs)
    unknown = [a for a in args if a not in ("--committed", "--keep")]
    if unknown:
        session.error(f"unknown argument(s) {unknown}; known: --committed, --keep")
    if not (ROOT / ".git").exists():
        session.error(f"{ROOT} is not a git checkout: nothing to clone")
    try:
        commands = readme_commands(ROOT / "README.md")
    except ValueError as exc:
        session.error(str(exc))
    tmp = Path(tempfile.mkdtemp(prefix="timelog-readme-"))
    clone = tmp / "timelog"
    _fresh_clone(session, clone, committed_only="--committed" in args)
    env = _user_env()
    probe = subprocess.run(["bash", "-c", "command -v python3 && python3 --version"], env=env,
                           capture_output=True, text=True)
    python3 = " ".join(probe.stdout.split()) or "(none: command 1 will fail)"
    session.log(f"in {clone}, with python3 = {python3}, running {len(commands)} README "
                "command(s) in one bash shell:")
    script = ["cd " + shlex.quote(str(clone))]
    for i, cmd in enumerate(commands, 1):
        session.log(f"  {i}. $ {cmd}")
        label = shlex.quote(f"$ {cmd}")
        script += [
            f"printf '\\n==> README command {i}/{len(commands)}: %s\\n' {label}",
            cmd,
            "status=$?",
            f"if [ $status -ne 0 ]; then printf 'README command {i} failed (exit %s): %s\\n' "
            f"$status {label} >&2; exit 1; fi",
        ]
    script_path = tmp / "readme-commands.sh"
    script_path.write_text("\n".join(script) + "\n", encoding="utf-8")
    t0 = time.monotonic()
    result = subprocess.run(["bash", "--noprofile", "--norc", str(script_path)], env=env,
                            cwd=clone)
    elapsed = time.monotonic() - t0
    if result.returncode != 0:
        session.error(f"a README command failed after {elapsed:.0f} s; the clone is kept in {tmp}")
    session.log(f"all {len(commands)} README command(s) passed in {elapsed:.0f} s")
    if "--keep" in args:
        session.log(f"kept {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
