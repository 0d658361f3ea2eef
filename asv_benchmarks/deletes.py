"""Deletes and retention: tombstones, delete_before, and folding them by compact.

``setup`` runs before every timed call (asv re-runs it for benchmarks that
have one), so each call starts from the same freshly filled log.
"""
from .common import STEP, BackendBenchmark, N, filled_log, scan_batches, scan_for

RANGES = 1_000
"""Range deletes per call; each hides 5 records."""


def delete_ranges(log):
    stride = N * STEP // RANGES
    for i in range(RANGES):
        s = i * stride
        log.delete_range(s, s + 5 * STEP)


class Deletes(BackendBenchmark):
    """Deletes on N compacted records."""

    def setup(self, backend):
        self.log = filled_log(backend)

    def time_delete_ranges(self, backend):
        """N / 10 one-record ``delete_range`` calls (tombstones; nothing moves)."""
        delete_range = self.log.delete_range
        for s in range(0, N * STEP, 10 * STEP):
            delete_range(s, s + 1)

    def time_delete_ranges_compact_scan(self, backend):
        """1000 range deletes, ``flush`` + ``compact``, then a full scan."""
        log = self.log
        delete_ranges(log)
        log.flush()
        log.compact()
        n = scan_for(log)
        assert n == N - 5 * RANGES, n

    def time_delete_before_compact(self, backend):
        """Retention: ``delete_before`` half the data, then ``compact``."""
        self.log.delete_before(N * STEP // 2)
        self.log.compact()


class ReadsUnderTombstones(BackendBenchmark):
    """A full scan while 1000 tombstones are still unfolded."""

    def setup(self, backend):
        self.log = filled_log(backend)
        delete_ranges(self.log)

    def time_scan_with_tombstones(self, backend):
        """``next_batch`` scan filtering 1000 pending tombstones."""
        n = scan_batches(self.log)
        assert n == N - 5 * RANGES, n
