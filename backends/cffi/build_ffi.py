"""cffi API-mode build script for timelog._backend_cffi._engine.

The cdef is generated from core/include/timelog.h at build time, so the binding
can never declare something the engine header does not: comments and the
include guard / C++ guards are stripped, and each ``#define NAME VALUE``
becomes ``#define NAME ...`` (the C compiler supplies the value), which is the
form cffi accepts for integer constants.  Any other preprocessor construct in
the header is refused loudly instead of being silently mistranslated.

Two ways to build:
  * setup.py (``cffi_modules``): its build_ext adds the engine include dir,
    libtimelog.a and pthread to every extension, so nothing is added here.
  * ``python backends/cffi/build_ffi.py``: standalone developer build that
    compiles the engine sources straight into the module and drops it next to
    the package sources in backends/cffi/_backend_cffi/.
"""
import glob
import os
import re
import sys
import sysconfig

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.path.join(ROOT, "backends", "shared")
# Declared from these headers, in this order: the engine, then the texts
# every binding shares (compiled in from messages.c).
HEADERS = (os.path.join(ROOT, "core", "include", "timelog.h"), os.path.join(SHARED, "messages.h"))
MODULE = "timelog._backend_cffi._engine"
SOURCE = '#include "timelog.h"\n#include "messages.h"\n'

_DEFINE = re.compile(r"#\s*define\s+([A-Za-z_]\w*)(?:\s+(.*\S))?\s*$")
_COND = re.compile(r"#\s*(ifdef|ifndef|if|endif|else|elif|include|define|undef)\b(.*)$")


def make_cdef(text):
    """Translate the public header into a cffi cdef string."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    out = []
    stack = []          # True = this conditional block is kept
    guard = None
    for raw in text.splitlines():
        line = raw.strip()
        keep = all(stack)
        m = _COND.match(line) if line.startswith("#") else None
        if line.startswith("#") and m is None:
            raise ValueError(f"timelog.h: unsupported preprocessor line {line!r}")
        if m is None:
            if keep and line:
                out.append(line)
            continue
        kind, rest = m.group(1), m.group(2).strip()
        if kind == "ifndef" and guard is None and not stack:
            guard = rest            # the include guard: keep its body
            stack.append(True)
        elif kind == "ifdef" and rest == "__cplusplus":
            stack.append(False)     # extern "C" wrappers
        elif kind == "endif":
            if not stack:
                raise ValueError("timelog.h: unbalanced #endif")
            stack.pop()
        elif kind == "include":
            continue                # <stddef.h>/<stdint.h>: cffi knows the types
        elif kind == "define":
            if not keep:
                continue
            d = _DEFINE.match(line)
            if d is None:
                raise ValueError(f"timelog.h: cannot translate {line!r}")
            name, value = d.group(1), d.group(2)
            if value is None:
                if name != guard:
                    raise ValueError(f"timelog.h: valueless #define {name}")
                continue
            if "(" in name:
                raise ValueError(f"timelog.h: function-like macro {name}")
            out.append(f"#define {name} ...")
        else:
            raise ValueError(f"timelog.h: unsupported preprocessor line {line!r}")
    if stack:
        raise ValueError("timelog.h: unterminated conditional")
    return "\n".join(out) + "\n"


def read_cdef():
    parts = []
    for header in HEADERS:
        with open(header, encoding="utf-8") as f:
            parts.append(make_cdef(f.read()))
    return "".join(parts)


def make_builder(standalone=False):
    builder = FFI()
    builder.cdef(read_cdef())
    if standalone:
        builder.set_source(
            MODULE, SOURCE,
            sources=sorted(glob.glob(os.path.join(ROOT, "core", "src", "*.c")))
            + [os.path.join(SHARED, "messages.c")],
            include_dirs=[os.path.join(ROOT, "core", "include"), os.path.join(ROOT, "core", "src"),
                          SHARED],
            define_macros=[("_GNU_SOURCE", None)],
            extra_compile_args=["-std=c11", "-O2"],
            libraries=["pthread"],
        )
    else:
        # setup.py's build_ext adds the include dirs and the engine library;
        # the shared texts are compiled in here (paths relative to the root).
        builder.set_source(MODULE, SOURCE, sources=["backends/shared/messages.c"])
    return builder


ffibuilder = make_builder()


def main():
    builder = make_builder(standalone=True)
    tmp = os.path.join(ROOT, "build", "tmp-cffi-dev")
    # The interpreter's own suffix: PyPy does not import a bare "_engine.so".
    target = os.path.join(HERE, "_backend_cffi", "_engine" + sysconfig.get_config_var("EXT_SUFFIX"))
    path = builder.compile(tmpdir=tmp, target=target, verbose="-v" in sys.argv)
    print(path)


if __name__ == "__main__":
    main()
