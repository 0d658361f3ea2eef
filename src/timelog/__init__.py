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

try:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as _pkg_version

    __version__: str = _pkg_version("timelog")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

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
from timelog._timelog import Timelog as _CTimelog  # noqa: E402

Record = tuple[int, object]
"""A record: ``(timestamp, object)``."""

RecordIter = Iterator[Record]
"""An iterator over records (what every query returns)."""

RecordBatch = list[Record]
"""A batch of records, as ``TimelogIter.next_batch(n)`` returns."""


class Timelog(TimelogFacadeMixin, _CTimelog):
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
        busy_policy: How to handle backpressure (default "raise").
            "raise": Raise TimelogBusyError (record still inserted).
            "silent": Silently continue (record inserted).
            "flush": Auto-flush then continue (record inserted).

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

    if TYPE_CHECKING:
        # Signatures of the backend's methods, for type checkers only: at run
        # time they come from the backend class and are not wrapped.
        def __init__(
            self,
            time_unit: str | None = None,
            maintenance: str | None = None,
            memtable_max_bytes: int | None = None,
            target_page_bytes: int | None = None,
            sealed_max_runs: int | None = None,
            drain_batch_limit: int | None = None,
            busy_policy: str | None = None,
        ) -> None: ...
        @property
        def closed(self) -> bool: ...
        @property
        def time_unit(self) -> str: ...
        @property
        def maintenance_mode(self) -> str: ...
        @property
        def busy_policy(self) -> str: ...
        @property
        def retired_queue_len(self) -> int: ...
        @property
        def alloc_failures(self) -> int: ...
        def stats(self) -> dict[str, int]: ...
        def append(self, ts: int, obj: object) -> None: ...
        def extend(
            self, items: Iterable[Record] | Sequence[int] | Any, objects: Sequence[object] = ...
        ) -> None: ...
        def delete_range(self, t1: int, t2: int) -> None: ...
        def delete_before(self, cutoff: int) -> None: ...
        def flush(self) -> None: ...
        def compact(self) -> None: ...
        def start_maintenance(self) -> None: ...
        def stop_maintenance(self) -> None: ...
        def close(self) -> None: ...
        def range(self, t1: int, t2: int) -> TimelogIter: ...
        def since(self, t1: int) -> TimelogIter: ...
        def until(self, t2: int) -> TimelogIter: ...
        def all(self) -> TimelogIter: ...
        def equal(self, t: int) -> TimelogIter: ...
        def point(self, t: int) -> TimelogIter: ...
        def page_spans(self, t1: int, t2: int, *, kind: str = "segment") -> PageSpanIter: ...
        def __enter__(self) -> Timelog: ...
        def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> bool: ...


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
