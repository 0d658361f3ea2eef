"""``python -m timelog``: a tour of Timelog on a realistic event stream.

It ingests a synthetic sensor stream (default 5,000,000 events, one per
millisecond, about 5% arriving late by up to two seconds) while keeping a
rolling retention window with ``delete_before``; deletes an "outage" range
while an older reader keeps its snapshot; flushes and compacts; then runs
range and point queries, a ``next_batch`` scan and a zero-copy span scan
into numpy.  Each step prints what it did and its throughput on the selected
backend, and the results are checked against the stream the demo generated
(exit status 1 if anything disagrees).

Usage::

    python -m timelog                        # 5M events, default backend
    python -m timelog --records 200000       # smaller
    python -m timelog --backend cffi         # same as TIMELOG_BACKEND=cffi

Without numpy the span step says it is skipped (``pip install
'timelog[demo]'`` installs numpy).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import subprocess
import sys
import time
from bisect import bisect_left
from datetime import datetime, timezone

BACKEND_NAMES = ("capi", "cython", "cffi")
START_MS = 1_700_000_000_000  # 2023-11-14T22:13:20Z, the stream's first event
MAX_LATE_MS = 2_000  # a late event is stamped up to this much before its arrival
STREAM_FLOOR = START_MS - MAX_LATE_MS  # no generated timestamp is lower
SENSORS = tuple(f"sensor-{i:02d}" for i in range(16))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m timelog",
        description="Ingest a synthetic event stream into a Timelog and query it, "
        "printing the throughput of every step.",
    )
    p.add_argument("--backend", choices=BACKEND_NAMES,
                   help="binding to use (sets TIMELOG_BACKEND before timelog is imported)")
    p.add_argument("--records", type=int, default=5_000_000,
                   help="events to ingest (default: %(default)s)")
    p.add_argument("--late", type=float, default=0.05,
                   help="fraction of events arriving late, up to 2 s (default: %(default)s)")
    p.add_argument("--retention", type=float, default=900.0,
                   help="rolling retention window in seconds of stream time (default: "
                   "%(default)s)")
    p.add_argument("--chunk", type=int, default=50_000,
                   help="events per log.extend() call; a retention delete_before follows "
                   "each call (default: %(default)s)")
    p.add_argument("--queries", type=int, default=10_000,
                   help="range and point queries to run (default: %(default)s)")
    p.add_argument("--seed", type=int, default=2026, help="random seed (default: %(default)s)")
    p.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                   help="progress bar on stderr: auto = when stderr is a terminal")
    args = p.parse_args(argv)
    if args.records < 1:
        p.error("--records must be >= 1")
    if not 0.0 <= args.late < 1.0:
        p.error("--late must be in [0, 1)")
    if not 0.001 <= args.retention < 1e15:  # also rejects NaN and infinity
        p.error("--retention must be a number of seconds, at least 0.001 (one millisecond)")
    if args.chunk < 1:
        p.error("--chunk must be >= 1")
    if args.queries < 1:
        p.error("--queries must be >= 1")
    return args


def _reexec_with_backend(backend: str, argv: list[str] | None) -> int:
    """Run this demo again in a fresh interpreter with TIMELOG_BACKEND set.

    ``python -m timelog`` imports the package (and so selects a backend)
    before this module runs; a different backend needs a new process.
    """
    env = dict(os.environ, TIMELOG_BACKEND=backend)
    cmd = [sys.executable, "-m", "timelog", *(sys.argv[1:] if argv is None else argv)]
    sys.stdout.flush()
    sys.stderr.flush()
    if os.name == "posix" and argv is None:  # command line: become the new process
        os.execve(sys.executable, cmd, env)
    return subprocess.call(cmd, env=env)


class Progress:
    """A one-line progress bar on stderr (plain text, no dependency)."""

    WIDTH = 30

    def __init__(self, label: str, total: int, enabled: bool) -> None:
        self.label = label
        self.total = max(total, 1)
        self.enabled = enabled
        self._last = 0.0
        self._t0 = time.perf_counter()

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self._last < 0.1 and done < self.total:
            return
        self._last = now
        frac = min(done / self.total, 1.0)
        fill = int(frac * self.WIDTH)
        bar = "#" * fill + "-" * (self.WIDTH - fill)
        elapsed = now - self._t0
        eta = elapsed / frac - elapsed if frac > 0 else 0.0
        sys.stderr.write(
            f"\r  {self.label:<8} [{bar}] {frac:6.1%} {done:>12,}/{self.total:,}"
            f"  eta {eta:5.1f}s "
        )
        sys.stderr.flush()

    def finish(self) -> None:
        if self.enabled:
            sys.stderr.write("\r" + " " * 100 + "\r")
            sys.stderr.flush()


def rate(n: float, seconds: float, unit: str) -> str:
    """Format a throughput: ``rate(2_500_000, 0.5, 'rec') == '5.00 M rec/s'``."""
    if seconds <= 0:
        return f"- {unit}/s"
    r = n / seconds
    for div, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if r >= div:
            return f"{r / div:.2f} {prefix} {unit}/s"
    return f"{r:.0f} {unit}/s"


def iso(ms: int) -> str:
    """UTC time of a millisecond timestamp, for humans."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


class _Chunk:
    """The timestamps of one ``extend`` call and the deletes made after it."""

    __slots__ = ("ts", "floor", "holes")

    def __init__(self, ts: list[int]) -> None:
        self.ts = sorted(ts)
        self.floor: int | None = None  # hides ts < floor (delete_before)
        self.holes: list[tuple[int, int]] = []  # hides lo <= ts < hi (delete_range)

    def visible(self) -> list[int]:
        ts = self.ts
        if self.floor is not None:
            ts = ts[bisect_left(ts, self.floor):]
        for lo, hi in self.holes:
            i, j = bisect_left(ts, lo), bisect_left(ts, hi)
            if i < j:
                ts = ts[:i] + ts[j:]
        return ts


class StreamModel:
    """What the log holds after the demo's writes, computed without the log.

    It follows the engine's delete semantics (docs/design.md §3): a delete
    is a sequenced tombstone, so ``delete_before(c)`` and ``delete_range(lo,
    hi)`` hide only the records inserted *before* the call.  A late record
    inserted after the last ``delete_before``, or any record when no
    ``delete_before`` has run yet (a stream shorter than the retention
    window), stays visible even if it is stamped below the cutoff or before
    the stream's start, until a later delete covers it.

    Records are kept per ``extend`` call with the deletes made after it; a
    chunk whose records are all hidden is dropped, so the model's memory
    stays proportional to what the log holds.
    """

    def __init__(self) -> None:
        self._chunks: list[_Chunk] = []
        self._visible: list[int] | None = None
        self.deletes_before = 0  # delete_before calls so far
        self.cutoff: int | None = None  # the last delete_before cutoff

    def extend(self, timestamps: list[int]) -> None:
        self._chunks.append(_Chunk(timestamps))
        self._visible = None

    def delete_before(self, cutoff: int) -> None:
        self.deletes_before += 1
        self.cutoff = cutoff
        for c in self._chunks:
            if c.floor is None or cutoff > c.floor:
                c.floor = cutoff
        self._chunks = [c for c in self._chunks if c.ts and c.ts[-1] >= c.floor]  # type: ignore[operator]
        self._visible = None

    def delete_range(self, lo: int, hi: int) -> None:
        if lo < hi:
            for c in self._chunks:
                c.holes.append((lo, hi))
            self._visible = None

    def visible(self) -> list[int]:
        """Every visible timestamp, sorted (equal timestamps repeated)."""
        if self._visible is None:
            out: list[int] = []
            for c in self._chunks:
                out.extend(c.visible())
            out.sort()
            self._visible = out
        return self._visible

    def count(self, lo: int, hi: int) -> int:
        """Visible records with ``lo <= ts < hi``."""
        v = self.visible()
        return max(0, bisect_left(v, hi) - bisect_left(v, lo))

    def __len__(self) -> int:
        return len(self.visible())


class Demo:
    def __init__(self, args: argparse.Namespace) -> None:
        import timelog

        self.timelog = timelog
        self.args = args
        self.rnd = random.Random(args.seed)
        self.show_progress = args.progress == "always" or (
            args.progress == "auto" and sys.stderr.isatty()
        )
        self.summary: list[tuple[str, str, float, str]] = []
        self.failures: list[str] = []
        self.log = None
        # Bookkeeping, used to check what the log returns: every write goes
        # to the log and to the model.  ``journal`` (a list, or None) also
        # records the writes, for the tests.
        self.model = StreamModel()
        self.journal: list[tuple] | None = None
        self.clock = START_MS  # stream time: the newest event's nominal time

    # -- helpers ---------------------------------------------------------
    def say(self, text: str = "") -> None:
        print(text, flush=True)

    def step(self, title: str) -> None:
        self.say(f"\n== {title}")

    def record(self, name: str, work: str, seconds: float, throughput: str) -> None:
        self.summary.append((name, work, seconds, throughput))

    def check(self, ok: bool, what: str) -> None:
        if ok:
            self.say(f"   check: {what}: ok")
        else:
            self.say(f"   CHECK FAILED: {what}")
            self.failures.append(what)

    def expected_in(self, lo: int, hi: int) -> int:
        """Records the log should hold in ``[lo, hi)``, per the model."""
        return self.model.count(lo, hi)

    @property
    def expected(self) -> int:
        return len(self.model)

    def bounds(self) -> tuple[int, int]:
        """``[first, last + 1)`` of the visible records (an empty range if none)."""
        v = self.model.visible()
        return (v[0], v[-1] + 1) if v else (self.clock, self.clock)

    def write(self, op: str, *args: object) -> float:
        """Apply one write (``extend``, ``delete_before``, ``delete_range``)
        to the log, then to the model and the journal; return its seconds."""
        t0 = time.perf_counter()
        getattr(self.log, op)(*args)
        dt = time.perf_counter() - t0
        getattr(self.model, op)(*args[:1] if op == "extend" else args)
        if self.journal is not None:
            self.journal.append((op, *(args[:1] if op == "extend" else args)))
        return dt

    # -- steps -----------------------------------------------------------
    def run(self) -> int:
        tl = self.timelog
        self.say(
            f"timelog {tl.__version__} demo - backend {tl.BACKEND!r} "
            f"(TIMELOG_BACKEND={os.environ.get('TIMELOG_BACKEND', '') or 'unset'}), "
            f"Python {sys.version.split()[0]}"
        )
        self.log = tl.Timelog(time_unit="ms", maintenance="background", busy_policy="flush")
        self.say(
            f"log: time_unit={self.log.time_unit!r}, maintenance={self.log.maintenance_mode!r}, "
            f"busy_policy={self.log.busy_policy!r}"
        )
        try:
            self.ingest()
            self.snapshot_and_outage()
            self.maintenance()
            self.range_queries()
            self.point_queries()
            self.batch_scan()
            self.span_scan()
            self.close()
        except BaseException:
            # An interrupted step (Ctrl-C) can leave a reader alive in its
            # frame, which the traceback keeps: close() is then refused, and
            # its TimelogBusyError must not hide the real exception.  The
            # log is freed with its last reader.
            if not self.log.closed:
                with contextlib.suppress(tl.TimelogBusyError):
                    self.log.close()
            raise
        self.print_summary()
        if self.failures:
            self.say(f"\n{len(self.failures)} check(s) failed: {'; '.join(self.failures)}")
            return 1
        self.say("\nall checks passed")
        return 0

    def ingest(self) -> None:
        a = self.args
        n = a.records
        chunk = a.chunk
        retention_ms = int(a.retention * 1000)
        self.step(
            f"1. ingest {n:,} events (1 per ms from {iso(START_MS)} UTC, {a.late:.0%} late by "
            f"up to {MAX_LATE_MS / 1000:g} s), keeping a rolling {a.retention:g} s retention "
            "window"
        )
        self.say(
            f"   each chunk of {chunk:,}: log.extend(timestamps, payloads), then "
            f"log.delete_before(newest - {retention_ms:,} ms) once that is past the "
            "stream's start"
        )
        rnd = self.rnd
        bar = Progress("ingest", n, self.show_progress)
        t_extend = t_delete = 0.0
        late = 0
        trimmed = START_MS  # delete_before cutoffs only move forward, from the start
        for i0 in range(0, n, chunk):
            c = min(chunk, n - i0)
            ts = list(range(START_MS + i0, START_MS + i0 + c))
            k = int(c * a.late + rnd.random())
            for j in rnd.sample(range(c), k):
                ts[j] -= rnd.randint(1, MAX_LATE_MS)
            late += k
            payloads = [(SENSORS[(i0 + j) % 16], i0 + j) for j in range(c)]
            t_extend += self.write("extend", ts, payloads)
            self.clock = START_MS + i0 + c - 1
            cutoff = self.clock - retention_ms
            if cutoff > trimmed:
                t_delete += self.write("delete_before", cutoff)
                trimmed = cutoff
            bar.update(i0 + c)
        bar.finish()
        dt = t_extend + t_delete
        deletes = self.model.deletes_before
        self.say(
            f"   {n:,} events ({late:,} late) in {dt:.2f} s: {rate(n, dt, 'events')} "
            f"(extend {t_extend:.2f} s, {deletes:,} x delete_before {t_delete * 1e3:.1f} ms)"
        )
        cut = self.model.cutoff
        if cut is not None:
            self.say(
                f"   retained: {self.expected:,} records, ts >= {cut:,} ({iso(cut)} UTC)"
            )
        else:
            self.say(
                f"   retained: all {self.expected:,} records: the stream ({n / 1000:g} s) is "
                f"shorter than the retention window, so no delete_before has run; late "
                "events stamped before the stream's start are kept too"
            )
        self.record("ingest + retention", f"{n:,} events", dt, rate(n, dt, "events"))

    def snapshot_and_outage(self) -> None:
        log = self.log
        first, end = self.bounds()
        span_ms = max(1, min(60_000, (end - first) // 10))
        lo = first + (end - first) // 2
        hi = lo + span_ms
        self.step(f"2. snapshot isolation: delete a {span_ms:,} ms 'outage' while a reader is open")
        before = self.expected_in(lo, hi)
        reader = log.range(lo, hi)  # snapshot taken here
        dt = self.write("delete_range", lo, hi)
        old_view = sum(1 for _ in reader)
        new_view = sum(1 for _ in log[lo:hi])
        self.say(f"   log.delete_range({lo:,}, {hi:,}) took {dt * 1e6:.0f} us")
        self.say(
            f"   reader opened before the delete still yields {old_view:,} records; "
            f"a new one yields {new_view:,}"
        )
        self.check(old_view == before and new_view == 0 and self.expected_in(lo, hi) == 0,
                   f"old snapshot unchanged ({before:,} records), new one empty")
        self.record("delete_range (outage)", f"{before:,} records hidden", dt, "-")

    def maintenance(self) -> None:
        log = self.log
        self.step("3. maintenance: flush() then compact() (applies deletes, frees payloads)")
        t0 = time.perf_counter()
        log.flush()
        t1 = time.perf_counter()
        log.compact()
        t2 = time.perf_counter()
        st = log.stats()
        stored = st.get("l0_records", 0) + st.get("l1_records", 0)
        self.say(f"   flush {t1 - t0:.3f} s, compact {t2 - t1:.3f} s")
        self.say(
            "   stats: " + ", ".join(
                f"{k}={st[k]:,}" for k in ("l0_segments", "l1_segments", "pages", "tombstones",
                                           "bytes_used", "flushes", "compactions") if k in st
            )
        )
        if "bytes_used" in st and stored:
            self.say(f"   engine memory: {st['bytes_used'] / stored:.1f} bytes per stored record")
        self.record("flush + compact", f"{stored:,} records stored", t2 - t0, "-")

    def _query_starts(self, width: int) -> list[int]:
        first, end = self.bounds()
        lo, hi = first, max(first + 1, end - width)
        return [self.rnd.randrange(lo, hi) for _ in range(self.args.queries)]

    def range_queries(self) -> None:
        q = self.args.queries
        self.step(f"4. {q:,} range queries: list(log[t:t + 100]) (100 ms windows)")
        starts = self._query_starts(100)
        log = self.log
        bar = Progress("ranges", q, self.show_progress)
        found = 0
        t0 = time.perf_counter()
        for i, s in enumerate(starts):
            found += len(list(log[s:s + 100]))
            if i % 256 == 0:
                bar.update(i)
        dt = time.perf_counter() - t0
        bar.update(q)
        bar.finish()
        self.say(f"   {found:,} records in {dt:.2f} s: {rate(q, dt, 'queries')}, "
                 f"{found / q:.1f} records per query")
        want = sum(self.expected_in(s, s + 100) for s in starts)
        self.check(found == want, f"{found:,} records found == {want:,} expected")
        sample = starts[: min(50, q)]
        self.check(
            all(len(list(log.range(s, s + 100))) == self.expected_in(s, s + 100) for s in sample),
            f"{len(sample)} windows match the generated stream",
        )
        self.record("range queries", f"{q:,} x 100 ms", dt, rate(q, dt, "queries"))

    def point_queries(self) -> None:
        q = self.args.queries
        self.step(f"5. {q:,} point queries: log.at(t) for timestamps seen in the stream")
        visible = self.model.visible()
        targets = [self.rnd.choice(visible) for _ in range(q)] if visible else []
        log = self.log
        hits = 0
        t0 = time.perf_counter()
        for t in targets:
            for _ in log.at(t):
                hits += 1
        dt = time.perf_counter() - t0
        self.say(f"   {len(targets):,} queries, {hits:,} records in {dt:.3f} s: "
                 f"{rate(len(targets), dt, 'queries')}")
        want = sum(self.expected_in(t, t + 1) for t in targets)
        self.check(hits == want, f"{hits:,} records found == {want:,} expected "
                   "(every queried timestamp, with its duplicates)")
        self.record("point queries", f"{len(targets):,} x at(t)", dt,
                    rate(len(targets), dt, "queries"))

    def batch_scan(self) -> None:
        log = self.log
        self.step("6. full scan with next_batch(4096)")
        bar = Progress("scan", self.expected, self.show_progress)
        n = 0
        ordered = True
        prev = -(2**63)
        t0 = time.perf_counter()
        with log.all() as it:
            while batch := it.next_batch(4096):
                n += len(batch)
                ordered = ordered and prev <= batch[0][0] and batch[-1][0] >= batch[0][0]
                prev = batch[-1][0]
                bar.update(n)
        dt = time.perf_counter() - t0
        bar.finish()
        self.say(f"   {n:,} records in {dt:.2f} s: {rate(n, dt, 'rec')}")
        self.check(n == self.expected, f"scan count {n:,} == expected {self.expected:,}")
        self.check(ordered, "batches come in timestamp order (batch boundaries)")
        stamps = [ts for ts, _ in log.all()]  # untimed: the whole content, in order
        self.check(stamps == self.model.visible(),
                   "every timestamp, in order, matches the generated stream")
        self.record("next_batch scan", f"{n:,} records", dt, rate(n, dt, "rec"))

    def span_scan(self) -> None:
        log = self.log
        self.step("7. zero-copy span scan: numpy.frombuffer(span.timestamps) per page span")
        try:
            import numpy as np
        except ImportError as exc:
            self.say(f"   skipped: numpy is not importable ({exc}); "
                     "install it with: python -m pip install 'timelog[demo]'")
            self.record("span scan", "skipped (no numpy)", 0.0, "-")
            return
        total = spans = 0
        shares = sorted_ok = True
        lo = hi = None
        gaps = 0
        t0 = time.perf_counter()
        # every timestamp the stream could hold, late events before its start too
        with log.page_spans(STREAM_FLOOR, self.clock + 1, kind="all") as span_iter:
            for span in span_iter:
                # The view is released even if the scan is interrupted, and
                # the array must not outlive it: on PyPy numpy reaches a view
                # through cpyext, which keeps np.asarray(view)'s export for
                # good.  Each span is dropped, not closed: CPython frees it
                # at once, PyPy at a collection (close() runs one), which is
                # cheaper than one collection per span.
                with span.timestamps as view:
                    arr = np.frombuffer(view, dtype=np.int64)
                    try:
                        total += arr.shape[0]
                        spans += 1
                        lo = int(arr[0]) if lo is None else min(lo, int(arr[0]))
                        hi = int(arr[-1]) if hi is None else max(hi, int(arr[-1]))
                        steps = np.diff(arr)
                        gaps += int(np.count_nonzero(steps > 1))
                        sorted_ok = sorted_ok and not bool((steps < 0).any())
                        if spans == 1:
                            shares = not arr.flags.owndata and not arr.flags.writeable
                    finally:
                        del arr  # a span whose buffer is exported cannot close
        dt = time.perf_counter() - t0
        self.say(f"   {spans:,} spans, {total:,} timestamps in {dt:.3f} s: "
                 f"{rate(total, dt, 'rec')}")
        if total:
            self.say(f"   range {iso(lo)} .. {iso(hi)} UTC; {gaps:,} gaps > 1 ms inside spans")
        self.check(total == self.expected, f"span total {total:,} == expected {self.expected:,}")
        self.check(sorted_ok, "timestamps sorted within every span")
        self.check(shares, "numpy arrays view engine memory (read-only, not owned: no copy)")
        self.record("span scan -> numpy", f"{total:,} timestamps", dt, rate(total, dt, "rec"))

    def close(self) -> None:
        self.step("8. close")
        t0 = time.perf_counter()
        self.log.close()
        dt = time.perf_counter() - t0
        self.say(f"   log.close() released every stored payload in {dt:.3f} s; "
                 f"closed={self.log.closed}")
        self.record("close", "release payloads", dt, "-")

    def print_summary(self) -> None:
        self.say(f"\nsummary (backend {self.timelog.BACKEND!r})")
        self.say(f"   {'step':<24}{'work':<26}{'seconds':>9}  throughput")
        for name, work, sec, thr in self.summary:
            self.say(f"   {name:<24}{work:<26}{sec:>9.3f}  {thr}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.backend and os.environ.get("TIMELOG_BACKEND") != args.backend:
        if "timelog" in sys.modules:
            return _reexec_with_backend(args.backend, argv)
        os.environ["TIMELOG_BACKEND"] = args.backend
    return Demo(args).run()


if __name__ == "__main__":
    sys.exit(main())
