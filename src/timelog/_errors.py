"""The exception hierarchy, defined once and shared by every backend.

Each backend re-exports these two classes, so ``except timelog.TimelogError``
works whichever backend raised, and objects from ``load_backend()`` agree.
They report ``__module__ == "timelog"``, so tracebacks name them as users
import them.
"""


class TimelogError(Exception):
    """Base of the errors Timelog raises itself (e.g. using a closed log)."""


class TimelogBusyError(TimelogError):
    """Transient backpressure, or close() refused while readers are open.

    On a write (``append``, ``extend``) it means the write WAS accepted: the
    sealed-run queue is full and ``busy_policy="raise"`` asked to be told.
    """


TimelogError.__module__ = TimelogBusyError.__module__ = "timelog"
