"""Internal helpers of the Timelog facade (slicing, coercion, the mixin).

This module is private API: import from :mod:`timelog` instead.  The helpers
add Python idioms on top of a backend's ``Timelog`` class and contain no
engine logic: every query still runs in the backend.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from timelog._timelog import TimelogIter

# Same text as the engine catalog's TL_MSG_TS_BOOL (core/src/messages.c), so a
# bool rejected here reads exactly like one rejected by any backend.
_MSG_TS_BOOL = "timestamp must be an integer, not bool"


def _coerce_ts(x: object) -> int:
    """Coerce ``x`` to an integer timestamp.

    Uses :func:`operator.index`, so ``numpy.int64`` and other integer-like
    types work; ``bool`` is rejected explicitly (it is an ``int`` subclass,
    and ``log[True:]`` is almost certainly a bug).  The int64 range is checked
    by the backend, which raises :class:`OverflowError`.

    Args:
        x: value to coerce.

    Returns:
        The timestamp as a Python ``int``.

    Raises:
        TypeError: ``x`` is a bool, or has no ``__index__`` (float, str, ...).

    Example:
        >>> _coerce_ts(1000)
        1000
        >>> _coerce_ts(True)
        Traceback (most recent call last):
            ...
        TypeError: timestamp must be an integer, not bool
        >>> _coerce_ts(1.5)
        Traceback (most recent call last):
            ...
        TypeError: 'float' object cannot be interpreted as an integer
    """
    if isinstance(x, bool):
        raise TypeError(_MSG_TS_BOOL)
    return operator.index(x)


def _slice_to_iter(log, s: slice) -> TimelogIter:
    """Turn ``log[s]`` into the matching query method call.

    Mapping::

        log[a:b]  -> log.range(a, b)   records with a <= ts < b
        log[a:]   -> log.since(a)      records with ts >= a
        log[:b]   -> log.until(b)      records with ts < b
        log[:]    -> log.all()         every record

    Args:
        log: a Timelog (any backend's class).
        s: the slice; its step must be ``None`` or ``1``.

    Returns:
        The iterator the query method returns.

    Raises:
        TypeError: ``s`` is not a slice (use ``log.at(ts)`` for one
            timestamp), or a bound is not an integer.
        ValueError: the step is neither ``None`` nor ``1``.
    """
    if not isinstance(s, slice):
        raise TypeError(
            f"Timelog indices must be slices, not {type(s).__name__}; "
            "use .at(ts) or .point(ts) for single-timestamp queries"
        )
    if s.step is not None and s.step != 1:
        raise ValueError(f"Timelog slice step must be None or 1, not {s.step!r}")
    start = s.start
    stop = s.stop
    if start is None and stop is None:
        return log.all()
    if start is None:
        return log.until(_coerce_ts(stop))
    if stop is None:
        return log.since(_coerce_ts(start))
    return log.range(_coerce_ts(start), _coerce_ts(stop))


class TimelogFacadeMixin:
    """The conveniences :class:`timelog.Timelog` adds to a backend's class.

    It holds no state (``__slots__ = ()``), so combined with any backend's
    ``Timelog`` it adds no per-instance cost::

        class Timelog(TimelogFacadeMixin, backend.Timelog):
            __slots__ = ()

    Example:
        >>> import timelog
        >>> ns = timelog.load_backend(timelog.BACKEND)
        >>> Facade = type("Timelog", (TimelogFacadeMixin, ns.Timelog), {"__slots__": ()})
        >>> with Facade() as log:
        ...     log.extend([(1, "a"), (2, "b"), (3, "c")])
        ...     print(list(log[2:]), list(log.at(1)), len(list(log)))
        [(2, 'b'), (3, 'c')] [(1, 'a')] 3
    """

    __slots__ = ()

    def __iter__(self) -> TimelogIter:
        """Iterate over every record, oldest timestamp first.

        Same as :meth:`all`: the iterator works on a snapshot taken now.

        Returns:
            TimelogIter yielding ``(timestamp, object)`` tuples.

        Example:
            >>> import timelog
            >>> with timelog.Timelog() as log:
            ...     log.extend([(20, "b"), (10, "a")])
            ...     for ts, obj in log:
            ...         print(ts, obj)
            10 a
            20 b
        """
        return self.all()

    def __getitem__(self, s: slice) -> TimelogIter:
        """Return an iterator over a time range given as a slice.

        Supported patterns::

            log[t1:t2]  -> records in [t1, t2)   (log.range(t1, t2))
            log[t1:]    -> records with ts >= t1 (log.since(t1))
            log[:t2]    -> records with ts < t2  (log.until(t2))
            log[:]      -> all records           (log.all())

        Timestamps are DATA VALUES, not positions: a negative timestamp is a
        time before the epoch, never "from the end".  ``t1 >= t2`` gives an
        empty iterator.

        Args:
            s: a slice object; its step must be ``None`` or ``1``.

        Returns:
            TimelogIter for that range.

        Raises:
            TypeError: ``s`` is not a slice (use ``.at(ts)`` or
                ``.point(ts)`` for one timestamp), or a bound is a bool or
                not an integer.
            ValueError: the slice step is neither ``None`` nor ``1``.

        Example:
            >>> import timelog
            >>> with timelog.Timelog() as log:
            ...     log.extend([(t, t * 10) for t in range(-2, 6)])
            ...     print(list(log[1000:2000]))
            ...     print([ts for ts, _ in log[0:3]], [ts for ts, _ in log[4:]])
            ...     print([ts for ts, _ in log[:-1]])
            []
            [0, 1, 2] [4, 5]
            [-2]
        """
        return _slice_to_iter(self, s)

    def at(self, ts: int) -> TimelogIter:
        """Return an iterator over the records at exactly timestamp ``ts``.

        An alias of :meth:`point` for readability.  Several records may share
        a timestamp; all of them are yielded.  ``at`` is a Python method (one
        extra call, a few hundred nanoseconds); ``point`` is the backend's own,
        so prefer it in tight loops of point queries.

        Args:
            ts: the timestamp (``operator.index`` semantics, bool rejected).

        Returns:
            TimelogIter yielding every record with timestamp ``== ts``.

        Raises:
            TypeError: ``ts`` is a bool or not an integer.
            OverflowError: ``ts`` is outside the int64 range.

        Example:
            >>> import timelog
            >>> with timelog.Timelog() as log:
            ...     log.extend([(1000, "a"), (1000, "b"), (2000, "c")])
            ...     print(sorted(obj for _, obj in log.at(1000)), list(log.at(1500)))
            ['a', 'b'] []
        """
        if ts.__class__ is int:  # the common case: skip the coercion call
            return self.point(ts)
        return self.point(_coerce_ts(ts))
