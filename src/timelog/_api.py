"""What :class:`timelog.Timelog` adds to a backend's class: slicing,
``iter(log)``, ``at()`` and the DataFrame exports (design.md §4, §5.5).

No engine logic and no validation here: every bound goes to the backend's
query method as given, which converts it (and rejects it) itself.
"""

from __future__ import annotations

from typing import Any

from timelog import _frames


def _slice_to_iter(log: Any, s: slice) -> Any:
    """``log[s]`` as the matching query: range, since, until or all."""
    if not isinstance(s, slice):
        raise TypeError(f"Timelog indices must be slices, not {type(s).__name__}; "
                        "use .at(ts) or .point(ts) for single-timestamp queries")
    step = s.step
    if step is not None and not (type(step) is int and step == 1):
        raise ValueError(f"Timelog slice step must be None or 1, not {step!r}")
    start, stop = s.start, s.stop
    if start is None:
        return log.all() if stop is None else log.until(stop)
    return log.since(start) if stop is None else log.range(start, stop)


class TimelogFacadeMixin:
    """The conveniences, stateless (``__slots__ = ()``) so they cost nothing::

        class Timelog(TimelogFacadeMixin, backend.Timelog):
            __slots__ = ()

    Example:
        >>> import timelog
        >>> with timelog.Timelog() as log:
        ...     log.extend([(1, "a"), (2, "b"), (3, "c")])
        ...     print(list(log[2:]), list(log.at(1)), len(list(log)))
        [(2, 'b'), (3, 'c')] [(1, 'a')] 3
    """

    __slots__ = ()

    def __iter__(self) -> Any:
        """Every record, oldest timestamp first (same as :meth:`all`)."""
        return self.all()  # type: ignore[attr-defined]

    def __getitem__(self, s: slice) -> Any:
        """``log[t1:t2]``, ``log[t1:]``, ``log[:t2]``, ``log[:]``: a range query.

        Timestamps are values, not positions: ``log[:-1]`` is every record
        before time -1.  The step must be ``None`` or ``1``.

        Example:
            >>> import timelog
            >>> with timelog.Timelog() as log:
            ...     log.extend([(t, t * 10) for t in range(-2, 6)])
            ...     print([ts for ts, _ in log[0:3]], [ts for ts, _ in log[:-1]])
            [0, 1, 2] [-2]
        """
        return _slice_to_iter(self, s)

    def at(self, ts: int) -> Any:
        """The records at exactly ``ts`` (same as :meth:`point`)."""
        return self.point(ts)  # type: ignore[attr-defined]

    def to_pandas(self, t1: int | None = None, t2: int | None = None) -> Any:
        """The query's objects as a ``pandas.Series`` on a UTC ``DatetimeIndex``."""
        return _frames.to_pandas(self, t1, t2)

    def to_arrow(self, t1: int | None = None, t2: int | None = None) -> Any:
        """The query's records as a ``pyarrow.Table`` (``timestamp``, ``object``)."""
        return _frames.to_arrow(self, t1, t2)

    def to_polars(self, t1: int | None = None, t2: int | None = None) -> Any:
        """The query's records as a ``polars.DataFrame`` (through Arrow)."""
        return _frames.to_polars(self, t1, t2)
