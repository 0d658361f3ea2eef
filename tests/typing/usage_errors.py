"""Mistakes mypy --strict must report, one per line marked "error"
(checked by tests/test_typing.py)."""

from __future__ import annotations

from timelog import Timelog


def mistakes() -> None:
    log = Timelog()
    n: int = log.all().next_batch(5)  # error: list is not int
    log.append("1000", "x")  # error: a str timestamp
    label: str = log.count()  # error: count is an int
    log.range(1)  # error: range needs two bounds
    Timelog(time_unit="minutes")  # error: not a time unit
    Timelog(busy_policy="panic")  # error: not a policy
    log.page_spans(0, 10, kind="pages")  # error: not a span kind
    for span in log.page_spans(0, 10):
        span.timestamps.append(1)  # error: a memoryview has no append
    del n, label
