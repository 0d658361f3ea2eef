"""Timelog: an in-memory time index for Python.

Timelog stores ``(timestamp, object)`` records, ``timestamp`` an int64 in the
unit you choose (s, ms, us, ns), and makes three things cheap:

- appending, including late (out-of-order) records;
- reading every record of a half-open time range ``[t1, t2)``, also as
  zero-copy int64 timestamp buffers (numpy-ready) via ``page_spans()``;
- deleting by time range, e.g. a retention window with ``delete_before()``.

Reads are snapshot-isolated: an iterator sees the log as it was when it was
made, whatever is written, deleted or compacted afterwards.

The work is done by a C engine behind one of three interchangeable bindings,
chosen when this package is imported (``TIMELOG_BACKEND``; :data:`BACKEND`
says which one is active).

Example:
    >>> from timelog import Timelog
    >>>
    >>> with Timelog(maintenance="background") as log:
    ...     log.append(1000, {"event": "start"})
    ...     log.append(2000, {"event": "end"})
    ...
    ...     for ts, obj in log[1000:]:
    ...         print(ts, obj)
    1000 {'event': 'start'}
    2000 {'event': 'end'}

Thread Safety:
    One log may be shared by threads: the engine is memory-safe under any
    call order and each iterator is guarded against concurrent use.  For
    predictable results use one writer at a time, and give each thread its
    own iterators.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _pkg_version

try:
    __version__: str = _pkg_version("timelog")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

from collections.abc import Iterator

from timelog._api import TimelogFacadeMixin
from timelog._select import load_backend, selected

BACKEND: str = selected()[0]
"""Name of the active backend: ``"capi"``, ``"cython"`` or ``"cffi"``."""

# Re-exported from the selected backend (the very same objects).
from timelog._timelog import (  # noqa: E402  (needs the selection above)
    PageSpan,
    PageSpanIter,
    PageSpanObjectsView,
    TimelogBusyError,
    TimelogError,
    TimelogIter,
)
from timelog._timelog import Timelog as _BackendTimelog  # noqa: E402

Record = tuple[int, object]
"""A record: ``(timestamp, object)``."""

RecordIter = Iterator[Record]
"""An iterator over records (what every query returns)."""

RecordBatch = list[Record]
"""A batch of records, as ``TimelogIter.next_batch(n)`` returns."""


class Timelog(TimelogFacadeMixin, _BackendTimelog):
    """
    Time-indexed multimap for (timestamp, object) records.

    A Timelog stores records indexed by timestamp with support for:

    - Fast time-range queries using half-open intervals [t1, t2)
    - Python slicing syntax: log[t1:t2], log[t1:], log[:t2]
    - Time-based eviction: delete_before(cutoff)
    - Out-of-order ingestion with LSM-style compaction
    - Snapshot isolation for concurrent reads
    - Zero-copy bulk timestamp access via page_spans()

    Objects are stored by reference (never copied) and released when their
    record is physically dropped (after a delete and compaction, once no
    reader can still see it) or when the log is closed.

    Thread Safety:
        The engine is memory-safe whatever threads do, and one iterator is
        never run by two threads at once.  Use one writer at a time for
        predictable ordering, like ``sqlite3.Connection``; iterators are
        cheap, give each thread its own.

    Example:
        >>> with Timelog(time_unit="ms") as log:
        ...     log.append(1000, {"event": "start"})
        ...     log.extend([(2000, "middle"), (3000, "end")])
        ...
        ...     # Slicing syntax for range queries: [1000, 3000)
        ...     for ts, obj in log[1000:3000]:
        ...         print(ts, obj)
        1000 {'event': 'start'}
        2000 middle

        Late records, deletes and snapshots:

        >>> log = Timelog()
        >>> log.extend([(10, "a"), (30, "c")])
        >>> log.append(20, "b")              # late: still read in order
        >>> reader = log.all()               # snapshot taken here
        >>> log.delete_before(25)            # retention: drop ts < 25
        >>> [obj for _, obj in log]
        ['c']
        >>> [obj for _, obj in reader]       # the older snapshot is unchanged
        ['a', 'b', 'c']
        >>> log.close()

    Args:
        time_unit: Timestamp resolution. One of "s", "ms", "us", "ns".
            Default: "ms" (milliseconds).
        maintenance: Background maintenance mode. "disabled" for manual
            control (``flush()``/``compact()``), "background" for a worker
            thread that does it automatically. Default: "disabled".
        memtable_max_bytes: Maximum bytes before the memtable seals
            (default 1 MiB).
        target_page_bytes: Target size for storage pages (default 64 KiB).
        sealed_max_runs: Max sealed memruns before backpressure (default 4).
        drain_batch_limit: Objects released per operation (0 = unlimited,
            the default).
        busy_policy: What a write does when the sealed queue is full
            (the record is always inserted). "flush" (the default): flush,
            and compact when L0 reaches its trigger, then continue.
            "raise": raise TimelogBusyError. "silent": continue; the
            memtable grows until the next flush.

        ``None`` for any argument means the engine default.

    Raises:
        TypeError: A string option is not a str.
        ValueError: Invalid configuration parameter (the message names the
            parameter and the allowed values).
        OverflowError: An integer option is outside the int64 range.
        MemoryError: Allocation failure during open.

    See Also:
        TimelogIter: Iterator for query results.
        PageSpan: Zero-copy timestamp view.
    """

    __slots__ = ()


__all__ = [
    # Primary class
    "Timelog",
    # Exceptions
    "TimelogError",
    "TimelogBusyError",
    # Iterator types
    "TimelogIter",
    # PageSpan types
    "PageSpan",
    "PageSpanIter",
    "PageSpanObjectsView",
    # Type aliases
    "Record",
    "RecordIter",
    "RecordBatch",
    # Version
    "__version__",
    # Backend selection
    "BACKEND",
    "load_backend",
]
