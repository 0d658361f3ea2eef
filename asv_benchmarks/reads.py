"""Reads over a flushed, compacted log: scans, batches, ranges, points, spans.

The log is built in ``setup`` (not timed).  Every reader is exhausted or
closed inside the timed call, so ``teardown`` can always close the log.
"""
import numpy as np

from .common import (
    LATE_FRACTION,
    STEP,
    BackendBenchmark,
    N,
    Q,
    filled_log,
    query_starts,
    scan_batches,
    scan_for,
)

SPAN_PASSES = 20
"""Full span scans per call of the span benchmarks."""


class Reads(BackendBenchmark):
    """Queries on N records in L1 pages."""

    def setup(self, backend):
        self.log = filled_log(backend)
        self.starts = query_starts()
        self.points = tuple(s - s % STEP for s in query_starts(10 * Q))

    def time_scan_for(self, backend):
        """``for ts, obj in log.all()``: one tuple per record."""
        n = scan_for(self.log)
        assert n == N, n

    def time_scan_next_batch(self, backend):
        """``next_batch(4096)`` until empty: lists of tuples per call."""
        n = scan_batches(self.log)
        assert n == N, n

    def time_range_queries(self, backend):
        """Q queries ``range(s, s + 1000)`` of ~100 records each."""
        rng = self.log.range
        k = 0
        for s in self.starts:
            k += len(list(rng(s, s + 1000)))
        assert k >= Q * 99, k

    def time_point_queries(self, backend):
        """10 * Q ``point(t)`` queries, one record each."""
        point = self.log.point
        k = 0
        for t in self.points:
            for _ in point(t):
                k += 1
        assert k == 10 * Q, k

    def time_spans_numpy(self, backend):
        """SPAN_PASSES x ``page_spans`` over everything, each span as a numpy array.

        A pass costs a few dozen spans, not N records, so several passes
        make one sample long enough to time steadily.
        """
        total = 0
        for _ in range(SPAN_PASSES):
            for span in self.log.page_spans(0, N * STEP):
                a = np.asarray(span.timestamps)
                total += int(a.shape[0])
                del a
                span.close()
        assert total == SPAN_PASSES * N, total

    def time_spans_numpy_sum(self, backend):
        """SPAN_PASSES x the sum of every timestamp through zero-copy spans."""
        total = 0
        for _ in range(SPAN_PASSES):
            for span in self.log.page_spans(0, N * STEP):
                a = np.asarray(span.timestamps)
                total += int(a.sum())
                del a
                span.close()
        assert total > 0


class ReadsUnflushed(BackendBenchmark):
    """Scan of records still in the memtable / memruns, 10% of them late."""

    def setup(self, backend):
        self.log = filled_log(backend, late=LATE_FRACTION, flush=False,
                              compact=False)

    def time_scan_unflushed_late10(self, backend):
        """``for`` over unflushed data: merge of in-order run and late buffer."""
        n = scan_for(self.log)
        assert n == N, n

    def time_spans_all_unflushed(self, backend):
        """SPAN_PASSES x ``page_spans(kind="all")``, which also covers unflushed
        records (each pass takes a new snapshot of the memtable)."""
        total = 0
        for _ in range(SPAN_PASSES):
            for span in self.log.page_spans(-2**63, 2**63 - 1, kind="all"):
                total += len(span)
                span.close()
        assert total == SPAN_PASSES * N, total
