"""Build benchmark history with asv and publish the dashboard (``nox -s bench``).

    python tools/run_bench.py                  # last 10 commits of main, publish
    python tools/run_bench.py --commits 20     # more history
    python tools/run_bench.py --branch HEAD    # the current branch instead of main
    python tools/run_bench.py --same           # the working tree only, as installed
                                               # in this interpreter (quick check)

History mode: every commit is built in asv's own virtualenv (asv.conf.json,
tools/asv_build.py) and measured; commits already measured on this machine
are skipped, so a second run only adds new commits.  Each measurement is
kept short (``--samples``, default 3 timed calls per benchmark, one process
round) so ten commits take minutes, not hours; the per-backend ratios are
measured alternating in one process (asv_benchmarks/ratios.py) and stay
steady at that size.

Then ``asv publish`` writes the dashboard to ``.asv/html`` (serve it with
``python -m http.server -d .asv/html``); its scripts are pointed at local
copies where Debian has them, so it works offline.  Nothing tracked by git
is written: ``docs/performance.md`` is regenerated only by
``nox -s perf_report`` (tools/perf_report.py).  Python 3.9+.
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / ".asv" / "html"


def run(cmd, check=True, **kw):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    res = subprocess.run(cmd, cwd=ROOT, **kw)
    if check and res.returncode:
        sys.exit(f"failed ({res.returncode}): {' '.join(str(c) for c in cmd)}")
    return res


def asv(*args):
    return [sys.executable, "-m", "asv", *args]


def sampling(samples):
    """asv options for short, comparable measurements: ``samples`` timed calls,
    one process round, a short warm-up; benchmark processes forked from one
    that imported the suite once."""
    return ["-a", f"repeat={samples}", "-a", "rounds=1", "-a", "warmup_time=0.05",
            "--launch-method=forkserver"]


def ensure_branch(branch):
    """A clone made from a branch other than main has only origin/main: asv
    (``branches`` in asv.conf.json) needs the local name."""
    def has(ref):
        return subprocess.run(["git", "rev-parse", "--verify", "-q", ref], cwd=ROOT,
                              capture_output=True).returncode == 0
    if branch != "HEAD" and not has(branch) and has(f"origin/{branch}"):
        run(["git", "branch", branch, f"origin/{branch}"])


def last_commits(branch, count):
    ensure_branch(branch)
    # first parent only: the commits asv plots on the branch graph (merged
    # branches appear as their merge commit)
    out = subprocess.run(["git", "rev-list", "--first-parent", f"--max-count={count}",
                          branch], cwd=ROOT, capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"git rev-list {branch}: {out.stderr.strip()} (a clone has `main`; "
                 "--branch HEAD measures the checked-out branch)")
    return out.stdout.split()


def history(args):
    commits = last_commits(args.branch, args.commits)
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("\n".join(commits) + "\n")
        hashfile = f.name
    print(f"measuring {len(commits)} commits of {args.branch} "
          f"({commits[-1][:8]}..{commits[0][:8]})", flush=True)
    skip = [] if args.remeasure else ["--skip-existing-commits"]
    cmd = asv("run", f"HASHFILE:{hashfile}", *skip, "--show-stderr", *sampling(args.samples))
    if args.bench:
        cmd += ["--bench", args.bench]
    # asv exits non-zero when a benchmark failed at some commit; the rest of
    # the history is still worth publishing, so report it and go on.
    res = run(cmd, check=False)
    Path(hashfile).unlink()
    return res.returncode


def same(args):
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.strip()
    cmd = asv("run", "--python=same", f"--set-commit-hash={commit}", "--show-stderr",
              *sampling(args.samples))
    if args.bench:
        cmd += ["--bench", args.bench]
    return run(cmd, check=False).returncode


# asv's dashboard loads jQuery, flot, bootstrap, ... from CDNs.  Where the
# machine has the same libraries installed (Debian: libjs-jquery,
# libghc-js-flot-data, libjs-bootstrap, node-blueimp-md5,
# libjs-jquery-stupidtable), serve local copies so the dashboard also works
# without internet access.  The flot orderBars plugin only spaces out the
# bars of parameter plots; without a local copy its tag is dropped.
VENDOR = {
    "jquery-3.3.1.min.js": ["/usr/share/javascript/jquery/jquery.min.js"],
    "jquery.flot.min.js": ["/usr/share/haskell-js-flot/jquery.flot.min.js",
                           "/usr/share/javascript/jquery-flot/jquery.flot.min.js"],
    "jquery.flot.time.min.js": ["/usr/share/haskell-js-flot/jquery.flot.time.min.js"],
    "jquery.flot.selection.min.js": ["/usr/share/haskell-js-flot/jquery.flot.selection.min.js"],
    "jquery.flot.categories.min.js": [
        "/usr/share/haskell-js-flot/jquery.flot.categories.min.js"],
    "stupidtable.min.js": ["/usr/share/javascript/jquery-stupidtable/stupidtable.min.js"],
    "md5.min.js": ["/usr/share/javascript/blueimp-md5/md5.min.js"],
    "bootstrap.min.js": ["/usr/share/javascript/bootstrap/js/bootstrap.min.js"],
    "bootstrap.min.css": ["/usr/share/javascript/bootstrap/css/bootstrap.min.css"],
}
OPTIONAL = {"jquery.flot.orderBars.js"}
_TAG = re.compile(r'<(script|link)\b[^>]*?(?:src|href)="(https?://[^"]+)"[^>]*>(?:\s*</script>)?')


def localize_dashboard(html_dir):
    vendor = html_dir / "vendor"

    def replace(m):
        tag, url = m.group(1), m.group(2)
        name = url.rsplit("/", 1)[-1]
        local = next((Path(c) for c in VENDOR.get(name, []) if Path(c).is_file()), None)
        if local is None:
            if name in OPTIONAL:
                return ""
            return m.group(0)
        vendor.mkdir(exist_ok=True)
        shutil.copyfile(local, vendor / name)
        if tag == "link":
            return f'<link rel="stylesheet" href="vendor/{name}">'
        return f'<script src="vendor/{name}"></script>'

    for page in html_dir.glob("*.html"):
        text = page.read_text()
        new = _TAG.sub(replace, text)
        if new != text:
            page.write_text(new)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commits", type=int, default=10,
                    help="how many commits of history to measure (default 10)")
    ap.add_argument("--branch", default="main", help="whose history (default main)")
    ap.add_argument("--same", action="store_true",
                    help="measure only the working tree, installed in this interpreter")
    ap.add_argument("--samples", type=int, default=3,
                    help="timed calls per benchmark and commit (default 3)")
    ap.add_argument("--bench", help="asv --bench regex (a subset of the suite)")
    ap.add_argument("--remeasure", action="store_true",
                    help="measure commits again even if they have results (with --bench: "
                    "after a benchmark changed)")
    ap.add_argument("--no-publish", action="store_true", help="measure only")
    args = ap.parse_args()
    t0 = time.monotonic()
    run(asv("machine", "--yes"))
    status = same(args) if args.same else history(args)
    if not args.no_publish:
        run(asv("publish"))
        localize_dashboard(HTML)
        print(f"dashboard: {HTML / 'index.html'} "
              "(python -m http.server -d .asv/html, then open http://localhost:8000)")
    print(f"bench: {time.monotonic() - t0:.0f} s wall", flush=True)
    if status:
        print(f"note: asv reported failing benchmarks (exit {status}); see the log above",
              flush=True)


if __name__ == "__main__":
    main()
