"""Typed use of the README's API: mypy --strict must accept it and infer
the types the reveal_type comments name (checked by tests/test_typing.py)."""

from __future__ import annotations

import numpy as np

from timelog import PageSpan, Record, RecordBatch, Timelog, TimelogIter


def tour() -> list[int]:
    log = Timelog(time_unit="ms", busy_policy="flush")
    log.append(1_000, {"event": "start"})
    log.extend([(3_000, "c"), (2_000, "b")])
    log.extend([5_000, 4_000], ["e", "d"])
    log.extend(np.array([6_000, 7_000], dtype=np.int64), ["f", "g"])
    reader: TimelogIter = log.range(1_000, 3_000)
    batch: RecordBatch = reader.next_batch(2)
    reader.close()
    stamps = []
    for ts, obj in log[1_000:]:
        reveal_type(ts)  # int
        reveal_type(obj)  # object
        stamps.append(ts)
    first: Record = next(iter(log))
    reveal_type(log.count(0, 10_000))  # int
    columns, objects = log.arrays(t1=1_000)
    reveal_type(objects)  # list[object]
    with log.page_spans(0, 10_000) as spans:
        for span in spans:
            reveal_type(span)  # PageSpan
            reveal_type(span.timestamps)  # memoryview
            kept: PageSpan = span
            kept.close()
    log.delete_before(2_000)
    log.close()
    del batch, first, columns
    return stamps
