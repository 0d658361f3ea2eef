"""asv's build command: build the measured commit's wheel, fast.

    python tools/asv_build.py BUILD_DIR WHEEL_DIR     (asv.conf.json calls it)

asv checks out each commit it measures into BUILD_DIR inside its own
virtualenv; this script, run by that environment's Python, builds the
package the way ``pip install .`` does, with two savings that make a
history build over many commits bearable on a small machine:

* the commit's own ``[build-system] requires`` are installed once into the
  asv environment from the package index (pip skips them when they are
  already there) and the wheel is built with ``--no-build-isolation``, so no
  build environment is created per commit;
* C compilation goes through ``ccache`` when it is installed (cache in
  ``.asv/ccache``), so commits that leave the engine or a binding unchanged
  do not recompile it.

asv keeps the built wheels (``build_cache_size`` in asv.conf.json), so a
commit measured again is not rebuilt at all.  Python 3.9+.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build_requires(build_dir: Path) -> list[str]:
    text = (build_dir / "pyproject.toml").read_text()
    try:
        import tomllib
    except ImportError:  # Python < 3.11: the requires list, double-quoted strings
        m = re.search(r"^\[build-system\].*?^requires\s*=\s*\[(.*?)\]\s*$", text, re.S | re.M)
        return re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(1)) if m else ["setuptools"]
    return tomllib.loads(text).get("build-system", {}).get("requires", ["setuptools"])


def main() -> None:
    build_dir, wheel_dir = Path(sys.argv[1]), Path(sys.argv[2])
    env = dict(os.environ)
    if shutil.which("ccache") and "CC" not in env:
        env["CC"] = "ccache gcc"
        env.setdefault("CCACHE_DIR", str(ROOT / ".asv" / "ccache"))
        env.setdefault("CCACHE_BASEDIR", str(build_dir))
        env.setdefault("CCACHE_NOHASHDIR", "1")
        env.setdefault("CCACHE_MAXSIZE", "2G")
    pip = [sys.executable, "-m", "pip"]
    subprocess.run(pip + ["install", "-q", *build_requires(build_dir)], check=True)
    subprocess.run(pip + ["wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                          str(wheel_dir), str(build_dir)], check=True, env=env)


if __name__ == "__main__":
    main()
