"""Screenshot the published asv dashboard with headless Chromium.

    python tools/screenshot_dashboard.py [OUT.png] [--page '#ratios.track_scan_for']

Serves ``.asv/html`` on 127.0.0.1 (an ephemeral port, only for the duration
of the screenshot) and asks ``chromium --headless`` for a PNG after the
page's scripts have run.  Default output: ``.asv/dashboard.png``.
"""
import argparse
import functools
import http.server
import shutil
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / ".asv" / "html"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", nargs="?", type=Path, default=ROOT / ".asv" / "dashboard.png")
    ap.add_argument("--page", default="", help="fragment after index.html, e.g. '#/summarylist'")
    ap.add_argument("--size", default="1400,1000", help="window size W,H")
    args = ap.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        sys.exit("chromium not found (Debian: apt-get install -y chromium)")
    if not (HTML / "index.html").is_file():
        sys.exit(f"no dashboard in {HTML}: run tools/run_bench.py first")
    handler = functools.partial(_Quiet, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/index.html{args.page}"
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               f"--window-size={args.size}", "--virtual-time-budget=10000",
               f"--screenshot={args.out.resolve()}", url]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    finally:
        server.shutdown()
        server.server_close()
    if res.returncode or not args.out.is_file():
        sys.exit(f"chromium failed ({res.returncode}): {res.stderr[-500:]}")
    print(f"wrote {args.out} from {url}")


if __name__ == "__main__":
    main()
