"""Build: the C engine once as a static library, linked into each backend.

Backends built: all three on CPython; on PyPy only cffi (PyPy runs C-API
extensions through its slow cpyext emulation, and cffi is the binding made for
it).  TIMELOG_BACKENDS=capi,cython (a comma list) builds a subset.
TIMELOG_STRICT=1 compiles the engine and the capi and cython bindings with
-Wall -Wextra -Werror (nox -s lint).
"""
import glob
import importlib.util
import os
import platform
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


def _backend_list():
    """timelog._select.BACKENDS, the project's one list, read before the package is built."""
    spec = importlib.util.spec_from_file_location("_select", os.path.join(ROOT, "src", "timelog",
                                                                          "_select.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.BACKENDS


ALL_BACKENDS = _backend_list()
DEFAULT_BACKENDS = ("cffi",) if platform.python_implementation() == "PyPy" else ALL_BACKENDS
BACKENDS = [b.strip()
            for b in os.environ.get("TIMELOG_BACKENDS", ",".join(DEFAULT_BACKENDS)).split(",")
            if b.strip()]
unknown = set(BACKENDS) - set(ALL_BACKENDS)
if unknown:
    sys.exit(f"TIMELOG_BACKENDS: unknown backend(s) {sorted(unknown)}; choose from {ALL_BACKENDS}")
STRICT = os.environ.get("TIMELOG_STRICT") == "1"

ENGINE_SOURCES = sorted(glob.glob("core/src/*.c"))
ENGINE_INCLUDE = "core/include"
# What the bindings compile in (backends/shared): every binding the message
# catalog and reprs; the two C-API bindings the conversions and errors too.
SHARED_DIR = "backends/shared"
SHARED_SOURCES = [f"{SHARED_DIR}/messages.c"]
CAPI_SHARED_SOURCES = [*SHARED_SOURCES, f"{SHARED_DIR}/pyshared.c"]
# -fvisibility=hidden: each extension links its own copy of the engine; none
# of them should export (or interpose) engine symbols.
ENGINE_CFLAGS = ["-std=c11", "-O2", "-fPIC", "-fvisibility=hidden", "-D_GNU_SOURCE", "-Icore/src"]
STRICT_CFLAGS = ["-Wall", "-Wextra", "-Werror"]


class BuildWithEngine(build_ext):
    """build_ext that first archives the engine into <build_temp>/libtimelog.a."""

    def build_extensions(self):
        libdir = self._build_engine()
        for ext in self.extensions:
            ext.include_dirs += [ENGINE_INCLUDE, SHARED_DIR]
            ext.library_dirs.append(libdir)
            ext.libraries += ["timelog", "pthread"]
            # static lib changed => relink
            ext.depends.append(os.path.join(libdir, "libtimelog.a"))
        super().build_extensions()

    def _build_engine(self):
        if not ENGINE_SOURCES:
            sys.exit(f"no engine sources in {os.path.join(ROOT, 'core', 'src')}: run the build "
                     "from the repository root (pip install .)")
        cflags = ENGINE_CFLAGS + (STRICT_CFLAGS if STRICT else [])
        objs = self.compiler.compile(
            ENGINE_SOURCES,
            output_dir=os.path.join(self.build_temp, "engine"),
            include_dirs=[ENGINE_INCLUDE],
            extra_postargs=cflags,
            depends=glob.glob("core/src/*.h") + glob.glob("core/include/*.h"),
        )
        libdir = os.path.join(self.build_temp, "engine")
        self.compiler.create_static_lib(objs, "timelog", output_dir=libdir)
        return libdir


def extensions():
    exts = []
    if "capi" in BACKENDS:
        exts.append(Extension(
            "timelog._backend_capi",
            sources=sorted(glob.glob("backends/cpython_capi/*.c")) + CAPI_SHARED_SOURCES,
            depends=glob.glob("backends/cpython_capi/*.h") + glob.glob(f"{SHARED_DIR}/*.h"),
            # hidden: only PyInit (PyMODINIT_FUNC) is exported
            extra_compile_args=["-std=c11", "-O2", "-fvisibility=hidden"]
            + (STRICT_CFLAGS if STRICT else []),
        ))
    if "cython" in BACKENDS:
        from Cython.Build import cythonize
        exts += cythonize(
            [Extension(
                "timelog._backend_cython",
                sources=["backends/cython/_backend_cython.pyx", *CAPI_SHARED_SOURCES],
                depends=glob.glob("backends/cython/*.pxd") + glob.glob(f"{SHARED_DIR}/*.h"),
                extra_compile_args=["-O2"] + (STRICT_CFLAGS if STRICT else []),
            )],
            compiler_directives={"language_level": 3},
            include_path=["backends/cython"],
        )
    return exts


setup(
    ext_modules=extensions(),
    cffi_modules=["backends/cffi/build_ffi.py:ffibuilder"] if "cffi" in BACKENDS else [],
    cmdclass={"build_ext": BuildWithEngine},
)
