"""Run every example of the docs, README.md and the public docstrings as doctests.

    python tools/doctest_docs.py              # once per built backend
    python tools/doctest_docs.py --backend cffi
    python tools/doctest_docs.py FILE.md ...  # only these files

Sources:
- ``README.md`` and ``docs/**/*.md`` / ``docs/**/*.rst`` (not ``docs/_build``):
  the ``>>>`` examples of fenced code blocks (Markdown) or of the whole text
  (reStructuredText).  The examples of one page share one namespace, in page
  order, so a page can build on its earlier examples.
- the docstrings of the ``timelog`` package modules and of the active
  backend module (what the API reference shows).

Each built backend (``timelog/_backend_capi*.so``, ``_backend_cython*.so``,
``_backend_cffi/_engine*.so``) gets its own interpreter with
``TIMELOG_BACKEND`` set, so module-level selection is exercised too.  Exit
status 1 if any example fails on any backend, or if no backend is built.
"""
import argparse
import doctest
import importlib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _backend_list():
    """The installed timelog._select.BACKENDS, read without importing the
    package (importing it would select a backend in this process)."""
    package = importlib.util.find_spec("timelog")
    if package is None:
        sys.exit("timelog is not installed (python -m pip install .)")
    path = Path(package.submodule_search_locations[0]) / "_select.py"
    spec = importlib.util.spec_from_file_location("_select", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.BACKENDS)


BACKENDS = _backend_list()
BUILT_MODULE = {"capi": "timelog._backend_capi", "cython": "timelog._backend_cython",
                "cffi": "timelog._backend_cffi._engine"}
PACKAGE_MODULES = ("timelog", "timelog._api", "timelog._select", "timelog._errors")
FLAGS = doctest.ELLIPSIS

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")


def built_backends():
    names = []
    for name in BACKENDS:
        try:
            found = importlib.util.find_spec(BUILT_MODULE[name]) is not None
        except ImportError:
            found = False
        if found:
            names.append(name)
    return names


def doc_files():
    files = [ROOT / "README.md"] if (ROOT / "README.md").is_file() else []
    docs = ROOT / "docs"
    for pattern in ("**/*.md", "**/*.rst"):
        files += sorted(p for p in docs.glob(pattern) if "_build" not in p.parts)
    return files


def markdown_blocks(text):
    """(first line number, content) of each fenced block that has a ``>>>``."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, start, body = m.group("fence"), i + 1, []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1
        if any(line.lstrip().startswith(">>>") for line in body):
            blocks.append((start, "\n".join(body) + "\n"))
    return blocks


def file_test(path, parser):
    text = path.read_text()
    chunks = markdown_blocks(text) if path.suffix == ".md" else [(0, text)]
    examples = []
    for offset, chunk in chunks:
        for ex in parser.get_examples(chunk, name=str(path)):
            ex.lineno += offset
            examples.append(ex)
    if not examples:
        return None
    name = str(path.relative_to(ROOT))
    return doctest.DocTest(examples, {"__name__": "__main__"}, name, str(path), 0, text)


def module_tests(finder):
    import timelog  # noqa: F401  (selects the backend named by TIMELOG_BACKEND)

    tests = []
    names = list(PACKAGE_MODULES) + [f"timelog._backend_{timelog.BACKEND}"]
    for modname in names:
        mod = importlib.import_module(modname)
        tests += [t for t in finder.find(mod, modname) if t.examples]
    return tests


def run_here(paths, with_modules):
    """Run the tests in this interpreter; return (failed, attempted)."""
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    tests = [t for t in (file_test(p, parser) for p in paths) if t is not None]
    if with_modules:
        tests += module_tests(doctest.DocTestFinder(parser=parser))
    for test in tests:
        result = runner.run(test)
        status = "ok" if not result.failed else f"{result.failed} FAILED"
        print(f"  {test.name}: {result.attempted} examples, {status}", flush=True)
    return runner.failures, runner.tries


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path, help="only these files (no docstrings)")
    ap.add_argument("--backend", choices=BACKENDS, action="append",
                    help="backend(s) to use (default: every built one)")
    ap.add_argument("--here", action="store_true",
                    help="run in this interpreter with the backend it selects")
    args = ap.parse_args()
    paths = [p.resolve() for p in args.files] or doc_files()
    if args.here:
        import timelog
        print(f"backend {timelog.BACKEND}:")
        failed, tried = run_here(paths, with_modules=not args.files)
        print(f"backend {timelog.BACKEND}: {tried} examples, {failed} failed")
        sys.exit(1 if failed or not tried else 0)

    backends = args.backend or built_backends()
    if not backends:
        sys.exit("no backend is built (timelog/_backend_*.so); build the package first")
    bad = []
    for name in backends:
        env = dict(os.environ, TIMELOG_BACKEND=name)
        cmd = [sys.executable, str(Path(__file__).resolve()), "--here"]
        cmd += [str(p) for p in args.files]
        if subprocess.run(cmd, env=env, cwd=ROOT).returncode:
            bad.append(name)
    if bad:
        sys.exit(f"doctests failed on: {', '.join(bad)}")
    print(f"doctests passed on: {', '.join(backends)}")


if __name__ == "__main__":
    main()
