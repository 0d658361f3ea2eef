"""Memory: peak RSS of building a log, and bytes per record after compaction.

The payload objects are shared with the data set built before measuring, so
the figures are the index's own cost per record.
"""
from __future__ import annotations

import gc

from .common import BACKENDS, N, backend_module, new_log, pairs


def _rss_bytes():
    import os
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _compacted(backend, data):
    log = new_log(backend_module(backend))
    log.extend(data)
    log.flush()
    log.compact()
    return log


class Memory:
    """N records with ``None`` payloads, flushed and compacted."""

    params = [list(BACKENDS)]
    param_names = ["backend"]

    def setup(self, backend):
        backend_module(backend)
        self.data = [(t, None) for t, _ in pairs(N)]

    def peakmem_extend_flush_compact(self, backend):
        """Peak RSS of the whole process while building the log."""
        log = _compacted(backend, self.data)
        log.close()

    def track_engine_bytes_per_record(self, backend):
        """``stats()["bytes_used"] / N``: the engine heap per record."""
        log = _compacted(backend, self.data)
        per_record = log.stats()["bytes_used"] / N
        log.close()
        return per_record

    track_engine_bytes_per_record.unit = "bytes/record"

    def track_rss_bytes_per_record(self, backend):
        """Resident memory added per record (includes allocator slack)."""
        gc.collect()
        before = _rss_bytes()
        log = _compacted(backend, self.data)
        gc.collect()
        per_record = (_rss_bytes() - before) / N
        log.close()
        return per_record

    track_rss_bytes_per_record.unit = "bytes/record"
