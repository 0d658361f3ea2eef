"""Ingest: per-call appends, bulk extends (pairs, two sequences, numpy), late data.

Each call builds a fresh log and closes it, like ``peer_compare.py``: close
releases every stored reference, which is part of what ingest costs.
"""
import numpy as np

from .common import (
    LATE_FRACTION,
    BackendBenchmark,
    N,
    new_log,
    pairs,
    payloads,
    timestamps,
)


class Ingest(BackendBenchmark):
    """N records into an empty log with the default configuration."""

    def setup(self, backend):
        self.pairs = pairs(N)
        self.late_pairs = pairs(N, LATE_FRACTION)
        self.ts_list = list(timestamps(N))
        self.ts_array = np.asarray(self.ts_list, dtype=np.int64)
        self.objs = list(payloads(N))

    def time_append_loop(self, backend):
        """One ``append`` call per record (the per-call cost)."""
        log = new_log(backend)
        append = log.append
        for ts, obj in self.pairs:
            append(ts, obj)
        log.close()

    def time_extend_list(self, backend):
        """``extend(list_of_pairs)``, timestamps in order."""
        log = new_log(backend)
        log.extend(self.pairs)
        log.close()

    def time_extend_list_late10(self, backend):
        """``extend(list_of_pairs)`` with 10% late records."""
        log = new_log(backend)
        log.extend(self.late_pairs)
        log.close()

    def time_extend_numpy(self, backend):
        """``extend(int64_array, objects)``: timestamps read from the buffer."""
        log = new_log(backend)
        log.extend(self.ts_array, self.objs)
        log.close()

    def time_extend_two_lists(self, backend):
        """``extend(list_of_ints, objects)``: the sequence path."""
        log = new_log(backend)
        log.extend(self.ts_list, self.objs)
        log.close()

    def time_extend_generator(self, backend):
        """``extend(generator)``: any iterable, converted in chunks."""
        log = new_log(backend)
        log.extend(p for p in self.pairs)
        log.close()


class IngestBackground(BackendBenchmark):
    """Ingest with the background maintenance worker sealing and flushing."""

    def setup(self, backend):
        self.pairs = pairs(N, LATE_FRACTION)

    def time_extend_late10_background(self, backend):
        """``extend`` with 10% late records, worker on, then ``close``."""
        log = new_log(backend, maintenance="background",
                      memtable_max_bytes=64 * 1024)
        log.extend(self.pairs)
        log.close()
