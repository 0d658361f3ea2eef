"""DataFrame and Arrow export (design.md §5.5), built on ``Timelog.arrays``.

The libraries are optional extras, imported at the first call.  Timestamps
are offsets from the Unix epoch in the log's ``time_unit``, read as UTC.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


def _require(module: str, extra: str, method: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"Timelog.{method}() needs {module}: install it with "
                          f"python -m pip install 'timelog[{extra}]'") from exc


def to_pandas(log: Any, t1: int | None, t2: int | None) -> Any:
    pd = _require("pandas", "pandas", "to_pandas")
    ts, objs = log.arrays(t1, t2)
    # A view, not a conversion: pandas keeps the unit (s, ms, us or ns).
    index = pd.DatetimeIndex(ts.view(f"datetime64[{log.time_unit}]"), copy=False)
    return pd.Series(objs, index=index.tz_localize("UTC"), dtype=object)


def to_arrow(log: Any, t1: int | None, t2: int | None) -> Any:
    pa = _require("pyarrow", "arrow", "to_arrow")
    ts, objs = log.arrays(t1, t2)
    kind = pa.timestamp(log.time_unit, tz="UTC")
    # The int64 buffer becomes the column's data buffer as it is (no copy).
    stamps = pa.Array.from_buffers(kind, len(ts), [None, pa.py_buffer(ts)])
    try:
        values = pa.array(objs)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise type(exc)(f"column 'object': {exc}") from exc
    return pa.table({"timestamp": stamps, "object": values})


def to_polars(log: Any, t1: int | None, t2: int | None) -> Any:
    pl = _require("polars", "polars", "to_polars")
    return pl.from_arrow(to_arrow(log, t1, t2))
