"""A bounded soak of retention churn (issue 12 defect 6; design.md §6, §5.2).

A writer appends batches with rising timestamps and keeps a retention window
with ``delete_before``; a ring of overlapping readers (iterators part-read,
page spans held open) is renewed every step, so some reader always pins an
old epoch; the log is flushed and compacted on a schedule (or by background
maintenance). Throughout, with ``drain_batch_limit`` 0, 1 and 100:

* ``retired_queue_len`` stays under a fixed bound (it does not depend on how
  long the soak runs: a drain limit must keep pace with retirement);
* the pins (``live_snapshots``) never exceed the readers open, and are 0 once
  they are closed;
* the payloads alive stay under window + retired bound (counted by the
  payload class itself);
* the process RSS grows by at most ``RSS_GROWTH_MB`` after the warm-up;
* at the end the log closes and every payload is released.

``TIMELOG_CHURN_SECONDS`` (default 3) sets the soak time per configuration;
the CI default keeps the module at about 12 s. ``TIMELOG_LONG=1`` (the long
mode of the differential test too) makes it 60 s per configuration.
"""

from __future__ import annotations

import gc
import os
import sys
import time

import pytest

from conformance import _support as S

LONG = os.environ.get("TIMELOG_LONG", "") not in ("", "0")
SECONDS = float(os.environ.get("TIMELOG_CHURN_SECONDS") or (60 if LONG else 3))
BATCH = 200
WINDOW = 8_000  # records kept by the retention window
READERS = 4  # overlapping readers alive at any time
FLUSH_EVERY = 5
COMPACT_EVERY = 20
# Fixed bounds: they depend on the schedule above, never on the soak's length.
RETIRED_BOUND = 2 * (COMPACT_EVERY + READERS + 1) * BATCH
LIVE_BOUND = WINDOW + RETIRED_BOUND + 2 * BATCH * (READERS + 1)
RSS_GROWTH_MB = 64

CONFIGS = {
    "drain_unlimited": dict(drain_batch_limit=0),
    "drain_limit_1": dict(drain_batch_limit=1),
    "drain_limit_100": dict(drain_batch_limit=100),
    "background_limit_100": dict(drain_batch_limit=100, maintenance="background"),
}


class Counted:
    """A payload that counts its live instances."""

    __slots__ = ("ts", "__weakref__")
    live = 0

    def __init__(self, ts):
        self.ts = ts
        Counted.live += 1

    def __del__(self):
        Counted.live -= 1


def rss_mb():
    """Current resident set size in MiB, or None where it cannot be read."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, AttributeError):
        pass
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # a peak: never shrinks
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


@pytest.mark.parametrize("config", list(CONFIGS))
def test_retention_churn_stays_bounded(backend, config):
    options = dict(memtable_max_bytes=16 * 1024, target_page_bytes=2048, **CONFIGS[config])
    background = options.get("maintenance") == "background"
    log = backend.Timelog(**options)
    Counted.live = 0
    ring: list = []
    ts = 0
    step = 0
    worst = {"retired": 0, "pins": 0, "live": 0}
    rss_base = None
    start = time.monotonic()
    try:
        while time.monotonic() - start < SECONDS or step < 3 * COMPACT_EVERY:
            log.extend([(ts + i, Counted(ts + i)) for i in range(BATCH)])
            ts += BATCH
            log.delete_before(ts - WINDOW)
            # Renew the ring of overlapping readers.
            if step % 7 == 3:
                spans = log.page_spans(ts - WINDOW, ts)
                span = next(spans, None)
                spans.close()
                if span is not None:
                    ring.append(span)
            else:
                it = log.since(ts - WINDOW // 2)
                it.next_batch(5)
                ring.append(it)
            while len(ring) > READERS:
                ring.pop(0).close()
            if not background:
                if step % COMPACT_EVERY == COMPACT_EVERY - 1:
                    log.compact()
                elif step % FLUSH_EVERY == FLUSH_EVERY - 1:
                    log.flush()
            step += 1
            stats = log.stats()
            if not background:  # (the worker may retire records between two reads)
                assert stats["retired_len"] == log.retired_queue_len
            if step == 2 * COMPACT_EVERY:
                rss_base = rss_mb()  # after warm-up: every structure has its size
            if step > 2 * COMPACT_EVERY:
                worst["retired"] = max(worst["retired"], stats["retired_len"])
                worst["pins"] = max(worst["pins"], stats["live_snapshots"])
                worst["live"] = max(worst["live"], Counted.live)
                assert stats["retired_len"] <= RETIRED_BOUND, (
                    f"step {step}: retired queue {stats['retired_len']} > {RETIRED_BOUND}")
                assert stats["live_snapshots"] <= READERS + 1, (
                    f"step {step}: {stats['live_snapshots']} pins with {READERS} readers")
                if Counted.live > LIVE_BOUND:
                    gc.collect()  # PyPy runs __del__ at its next collection only
                assert Counted.live <= LIVE_BOUND, (
                    f"step {step}: {Counted.live} payloads alive > {LIVE_BOUND}")
        rss_end = rss_mb()
        if rss_base is not None and rss_end is not None:
            assert rss_end - rss_base <= RSS_GROWTH_MB, (
                f"RSS grew {rss_end - rss_base:.1f} MiB over the soak ({step} steps)")
        for reader in ring:
            reader.close()
        ring.clear()
        assert S.pins(log) == 0
        # With no reader left everything retired can go: bounded safe points.
        if background:
            log.stop_maintenance()
        log.compact()
        for _ in range(RETIRED_BOUND + 2):
            if log.retired_queue_len == 0:
                break
            log.stats()
        assert log.retired_queue_len == 0
    finally:
        for reader in ring:
            reader.close()
        S.close_log(log)
    S.collect()
    assert Counted.live == 0, "the closed log kept payloads alive"
    assert step > 2 * COMPACT_EVERY
    print(f"{config}: {step} steps, {ts} records, worst {worst}")
