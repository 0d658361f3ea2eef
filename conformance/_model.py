"""A plain-Python reference model of a Timelog (what every backend must match)."""

from __future__ import annotations

from conformance._support import TS_MIN


class Model:
    """Visible records as a list of (ts, key); deletes remove what exists now.

    A sequenced tombstone hides records inserted before it and none inserted
    later, which is exactly "remove the matching records at delete time".
    """

    def __init__(self):
        self.records: list[tuple[int, object]] = []

    def append(self, ts, key):
        self.records.append((ts, key))

    def delete_range(self, t1, t2):
        self.records = [r for r in self.records if not t1 <= r[0] < t2]

    def delete_before(self, cutoff):
        self.delete_range(TS_MIN, cutoff)

    def query(self, kind, t1=None, t2=None):
        if kind == "all":
            sel = self.records
        elif kind == "range":
            sel = [r for r in self.records if t1 <= r[0] < t2]
        elif kind == "since":
            sel = [r for r in self.records if r[0] >= t1]
        elif kind == "until":
            sel = [r for r in self.records if r[0] < t2]
        elif kind == "point":
            sel = [r for r in self.records if r[0] == t1]
        else:
            raise ValueError(kind)
        # A stable sort: equal timestamps keep insertion order, as the
        # engine yields them (design.md §3).
        return sorted(sel, key=lambda r: r[0])
