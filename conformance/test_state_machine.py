"""Hypothesis state machine: random operation sequences against the Python model."""

from __future__ import annotations

import weakref
from collections import Counter

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from conformance import _support as S
from conformance._model import Model

timestamps = st.one_of(
    st.integers(-40, 40),
    st.sampled_from([S.TS_MIN, S.TS_MIN + 1, S.TS_MAX - 1, S.TS_MAX]),
)
bounds = st.one_of(st.integers(-45, 45), st.sampled_from([S.TS_MIN, S.TS_MAX]))
QUERIES = ["all", "range", "since", "until", "point", "equal"]


class TimelogMachine(RuleBasedStateMachine):
    backend: S.Backend  # set per test

    def __init__(self):
        super().__init__()
        self.log = None
        self.model = Model()
        self.refs: dict[int, weakref.ref] = {}
        self.deleted: set[int] = set()
        self.unflushed: set[int] = set()
        self.next_key = 0
        self.readers: list[dict] = []
        self.spans: list[tuple] = []

    # -- setup -----------------------------------------------------------
    def _ensure(self):
        if self.log is None:
            self.log = self.backend.Timelog(
                memtable_max_bytes=1, target_page_bytes=1, sealed_max_runs=2,
                busy_policy="flush")

    def _payload(self, ts):
        self._ensure()
        p = S.Payload(self.next_key)
        self.refs[p.key] = weakref.ref(p)
        self.unflushed.add(p.key)
        self.next_key += 1
        return p

    def _visible_keys(self):
        return {k for _, k in self.model.records}

    # -- writes ----------------------------------------------------------
    @rule(ts=timestamps)
    def append(self, ts):
        p = self._payload(ts)
        self.log.append(ts, p)
        self.model.append(ts, p.key)

    @rule(tss=st.lists(timestamps, max_size=30), form=st.sampled_from(["pairs", "columns", "gen"]))
    def extend(self, tss, form):
        self._ensure()
        ps = [self._payload(t) for t in tss]
        if form == "pairs":
            self.log.extend([(t, p) for t, p in S.zip_exact(tss, ps)])
        elif form == "columns":
            self.log.extend(list(tss), ps)
        else:
            self.log.extend((t, p) for t, p in S.zip_exact(tss, ps))
        for t, p in S.zip_exact(tss, ps):
            self.model.append(t, p.key)

    @rule(t1=bounds, t2=bounds)
    def delete_range(self, t1, t2):
        self._ensure()
        before = self._visible_keys()
        self.log.delete_range(t1, t2)
        self.model.delete_range(t1, t2)
        self.deleted |= before - self._visible_keys()

    @rule(cutoff=bounds)
    def delete_before(self, cutoff):
        self._ensure()
        before = self._visible_keys()
        self.log.delete_before(cutoff)
        self.model.delete_before(cutoff)
        self.deleted |= before - self._visible_keys()

    @rule()
    def flush(self):
        self._ensure()
        self.log.flush()
        self.unflushed.clear()

    @rule()
    def compact(self):
        self._ensure()
        self.log.compact()
        self.unflushed.clear()

    # -- iterators -------------------------------------------------------
    @rule(kind=st.sampled_from(QUERIES), t1=bounds, t2=bounds)
    def open_iter(self, kind, t1, t2):
        self._ensure()
        args = {"all": (), "range": (t1, t2), "since": (t1,), "until": (t2,),
                "point": (t1,), "equal": (t1,)}[kind]
        it = getattr(self.log, kind)(*args)
        mkind = "point" if kind == "equal" else kind
        expected = self.model.query(mkind, t1, t2)
        self.readers.append({"it": it, "remaining": expected})

    def _take(self, reader, got):
        # Exactly the model's order: timestamps ascending, equal timestamps
        # in insertion order (design.md §3).
        n = len(got)
        assert [(ts, obj.key) for ts, obj in got] == reader["remaining"][:n]
        reader["remaining"] = reader["remaining"][n:]

    @precondition(lambda self: self.readers)
    @rule(i=st.integers(0, 100), how=st.sampled_from(["next", "batch", "arrays", "rest"]),
          n=st.integers(0, 12))
    def advance_iter(self, i, how, n):
        reader = self.readers[i % len(self.readers)]
        it = reader["it"]
        if how == "next":
            try:
                rec = next(it)
            except StopIteration:
                assert reader["remaining"] == []
                assert it.closed
                return
            self._take(reader, [rec])
        elif how == "batch":
            batch = it.next_batch(n)
            self._take(reader, batch)
            if n and len(batch) < n:
                assert reader["remaining"] == [] and it.closed
        elif how == "arrays":
            ts, objs = it.next_arrays(n)
            assert len(ts) == len(objs) <= n
            self._take(reader, list(S.zip_exact(ts.tolist(), objs)))
            if n and len(objs) < n:
                assert reader["remaining"] == [] and it.closed
        else:
            self._take(reader, list(it))
            assert reader["remaining"] == [] and it.closed
        if not reader["remaining"] and how != "next":
            assert it.next_batch(3) == []

    @precondition(lambda self: self.readers)
    @rule(i=st.integers(0, 100))
    def close_iter(self, i):
        reader = self.readers.pop(i % len(self.readers))
        reader["it"].close()
        assert reader["it"].closed
        assert reader["it"].next_batch(1) == []

    # -- columnar reads --------------------------------------------------
    @rule(t1=st.one_of(st.none(), bounds), t2=st.one_of(st.none(), bounds))
    def columns(self, t1, t2):
        self._ensure()
        kind = ("all" if t2 is None else "until") if t1 is None else (
            "since" if t2 is None else "range")
        expected = self.model.query(kind, t1, t2)
        pins = self.log.stats()["live_snapshots"]
        assert self.log.count(t1, t2) == len(expected)
        ts, objs = self.log.arrays(t1, t2)
        assert list(S.zip_exact(ts.tolist(), [o.key for o in objs])) == expected
        assert self.log.stats()["live_snapshots"] == pins, "a columnar read left a pin"

    # -- spans -----------------------------------------------------------
    @rule(kind=st.sampled_from(["segment", "all"]), t1=bounds, t2=bounds, keep=st.booleans())
    def open_span(self, kind, t1, t2, keep):
        self._ensure()
        visible = Counter(self.model.query("range", t1, t2))
        got = Counter()
        kept = None
        with self.log.page_spans(t1, t2, kind=kind) as spans:
            for span in spans:
                ts = span.copy_timestamps()
                keys = [o.key for o in span.objects()]
                assert ts == sorted(ts) and len(ts) == len(span) > 0
                assert (span.start_ts, span.end_ts) == (ts[0], ts[-1])
                assert bytes(span.timestamps) == bytes(memoryview(_q(ts)))
                got.update(S.zip_exact(ts, keys))
                if keep and kept is None:
                    kept = (span, ts, keys)
                else:
                    span.close()
        if kind == "all":
            assert got == visible
        else:
            assert not got - visible, "a segment span showed a record that is not visible"
            flushed = Counter({r: c for r, c in visible.items() if r[1] not in self.unflushed})
            assert not flushed - got, "a flushed visible record is missing from segment spans"
        if kept is not None:
            self.spans.append(kept)

    @precondition(lambda self: self.spans)
    @rule(i=st.integers(0, 100))
    def read_span(self, i):
        span, ts, keys = self.spans.pop(i % len(self.spans))
        assert span.copy_timestamps() == ts
        assert [o.key for o in span.objects()] == keys
        assert span.timestamps.tolist() == ts
        span.close()

    # -- releases --------------------------------------------------------
    @precondition(lambda self: self.log is not None and not self.readers and not self.spans)
    @rule()
    def compact_and_check_release(self):
        self.log.compact()
        self.unflushed.clear()
        self.log.stats()
        deleted = sorted(self.deleted)
        freed = S.dead([self.refs[key] for key in deleted])
        assert freed == list(range(len(deleted))), "deleted+compacted payloads still alive"
        assert self.log.stats()["live_snapshots"] == 0

    @invariant()
    def reachable_payloads_alive(self):
        reachable = self._visible_keys()
        for reader in self.readers:
            reachable.update(k for _, k in reader["remaining"])
        for _, _, keys in self.spans:
            reachable.update(keys)
        keys = sorted(reachable)
        # (on PyPy without a collection per step: a payload freed while
        # reachable shows up after the next one, in a release check)
        freed = [keys[i] for i in S.dead([self.refs[key] for key in keys], collect_first=False)]
        assert freed == [], f"payloads {freed} freed while reachable"

    @invariant()
    def full_scan_matches(self):
        if self.log is None:
            return
        got = [(t, o.key) for t, o in self.log.all()]
        assert got == self.model.query("all")

    def teardown(self):
        if self.log is None:
            return
        for reader in self.readers:
            reader["it"].close()
        for span, _, _ in self.spans:
            span.close()
        self.readers.clear()
        self.spans.clear()
        self.log.close()
        refs = list(self.refs.values())
        assert len(S.dead(refs)) == len(refs), "close() must release every payload"


def _q(values):
    import array

    return array.array("q", values)


def test_state_machine(backend):
    machine = type("TimelogMachine_" + backend.name, (TimelogMachine,), {"backend": backend})
    run_state_machine_as_test(machine, settings=settings())
