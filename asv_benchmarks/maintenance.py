"""Maintenance: flush (memtable -> L0 pages) and compact (L0 -> L1)."""
from .common import LATE_FRACTION, BackendBenchmark, filled_log


class Flush(BackendBenchmark):
    """``flush`` of N unflushed records (10% late), memtable large enough to
    hold them all, so the call seals and pages everything."""

    def setup(self, backend):
        self.log = filled_log(backend, late=LATE_FRACTION, flush=False,
                              compact=False, memtable_max_bytes=64 << 20)

    def time_flush(self, backend):
        self.log.flush()


class Compact(BackendBenchmark):
    """``compact`` of N records spread over overlapping L0 segments."""

    def setup(self, backend):
        # Small memtables: many L0 segments that overlap in time (late data).
        self.log = filled_log(backend, late=LATE_FRACTION, flush=True,
                              compact=False, memtable_max_bytes=128 * 1024)

    def time_compact(self, backend):
        self.log.compact()
