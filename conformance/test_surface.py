"""Module surface, construction, options, properties and stats (design.md §8.2, §9)."""

from __future__ import annotations

import pytest

from conformance import _support as S

TYPE_NAMES = ("Timelog", "TimelogIter", "PageSpan", "PageSpanIter", "PageSpanObjectsView")
INTERNAL_TYPES = ("TimelogIter", "PageSpan", "PageSpanIter", "PageSpanObjectsView")


def test_selected_backend_is_active(backend):
    import timelog

    if S.SELECTION.requested is not None:
        # Per-process mode: no silent fallback to another backend.
        assert timelog.BACKEND == backend.name
        assert issubclass(timelog.Timelog, backend.Timelog)
    else:
        assert timelog.BACKEND in S.BACKEND_NAMES
    assert timelog.load_backend(backend.name).Timelog is backend.Timelog


@pytest.mark.parametrize("name", S.PUBLIC_NAMES)
def test_module_exports(backend, name):
    assert hasattr(backend.ns, name)


@pytest.mark.parametrize("name", TYPE_NAMES)
def test_type_module_name(backend, name):
    assert getattr(backend.ns, name).__module__ == f"timelog._backend_{backend.name}"


def test_exceptions_are_the_shared_classes(backend):
    from timelog import _errors

    assert backend.TimelogError is _errors.TimelogError
    assert backend.TimelogBusyError is _errors.TimelogBusyError
    assert issubclass(backend.TimelogBusyError, backend.TimelogError)
    assert issubclass(backend.TimelogError, Exception)


@pytest.mark.parametrize("name", INTERNAL_TYPES)
@pytest.mark.parametrize("args", [(), (1, 2)], ids=["noargs", "args"])
def test_internal_type_refuses_construction(backend, name, args):
    cls = getattr(backend.ns, name)
    with pytest.raises(TypeError) as ei:
        cls(*args)
    assert str(ei.value) == S.MSG_NO_CONSTRUCT % name


def test_default_properties(log):
    assert log.closed is False
    assert log.time_unit == "ms"
    assert log.maintenance_mode == "disabled"
    assert log.busy_policy == "flush"
    assert type(log.retired_queue_len) is int and log.retired_queue_len == 0
    assert type(log.alloc_failures) is int and log.alloc_failures == 0


def test_properties_after_close_do_not_raise(backend):
    log = backend.Timelog(time_unit="us", busy_policy="flush")
    log.close()
    assert log.closed is True
    assert log.time_unit == "us"
    assert log.maintenance_mode == "disabled"
    assert log.busy_policy == "flush"
    assert isinstance(log.retired_queue_len, int)
    assert isinstance(log.alloc_failures, int)


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_time_unit_values(backend, unit):
    log = backend.Timelog(time_unit=unit)
    assert log.time_unit == unit
    log.close()


@pytest.mark.parametrize("policy", ["raise", "silent", "flush"])
def test_busy_policy_values(backend, policy):
    log = backend.Timelog(busy_policy=policy)
    assert log.busy_policy == policy
    log.close()


@pytest.mark.parametrize("mode", ["disabled", "background"])
def test_maintenance_values(backend, mode):
    log = backend.Timelog(maintenance=mode)
    assert log.maintenance_mode == mode
    log.append(1, "x")
    assert list(log.all()) == [(1, "x")]
    log.close()
    assert log.closed


def test_positional_arguments_in_contract_order(backend):
    log = backend.Timelog("ns", "disabled", 4096, 512, 3, 0, "silent")
    assert (log.time_unit, log.maintenance_mode, log.busy_policy) == ("ns", "disabled", "silent")
    log.close()


def test_all_none_means_defaults(backend):
    log = backend.Timelog(None, None, None, None, None, None, None)
    assert (log.time_unit, log.maintenance_mode, log.busy_policy) == ("ms", "disabled", "flush")
    log.close()


def test_too_many_positional_arguments(backend):
    with pytest.raises(TypeError):
        backend.Timelog("ms", "disabled", 1, 1, 1, 0, "raise", "extra")


def test_unknown_keyword(backend):
    with pytest.raises(TypeError):
        backend.Timelog(no_such_option=1)


def test_subclass_with_empty_slots(backend):
    sub = type("Sub", (backend.Timelog,), {"__slots__": ()})
    log = sub(time_unit="s", busy_policy="silent")
    assert isinstance(log, backend.Timelog)
    assert log.time_unit == "s" and log.busy_policy == "silent"
    log.append(5, "five")
    assert list(log.all()) == [(5, "five")]
    log.close()


def test_subclass_methods_see_base_behavior(backend):
    class Counting(backend.Timelog):
        __slots__ = ()

        def count(self):
            return sum(1 for _ in self.all())

    log = Counting()
    log.extend([(1, "a"), (2, "b")])
    assert log.count() == 2
    log.close()


def test_stats_fields(log):
    stats = log.stats()
    assert isinstance(stats, dict)
    assert set(stats) == S.STATS_FIELDS
    assert all(type(v) is int and v >= 0 for v in stats.values())


def test_stats_fresh_log(log):
    stats = log.stats()
    for key in ("memtable_records", "memrun_records", "l0_records", "l1_records",
                "tombstones", "retired_len", "live_snapshots"):
        assert stats[key] == 0, key


def test_stats_memtable_counts_appends(log):
    S.fill(log, 10)
    stats = log.stats()
    assert stats["memtable_records"] + stats["memrun_records"] == 10


def test_stats_after_flush(log):
    S.fill(log, 10)
    log.flush()
    stats = log.stats()
    assert stats["memtable_records"] == 0 and stats["memrun_records"] == 0
    assert stats["l0_records"] + stats["l1_records"] == 10
    assert stats["flushes"] >= 1
    assert stats["pages"] >= 1


def test_stats_after_compact(log):
    S.fill(log, 10)
    log.flush()
    S.fill(log, 10, start=100)
    log.compact()
    stats = log.stats()
    assert stats["l0_records"] == 0 and stats["memtable_records"] == 0
    assert stats["l1_records"] == 20
    assert stats["compactions"] >= 1


def test_stats_tombstones_counted_then_folded(log):
    S.fill(log, 10)
    log.flush()
    # Paged records are immutable: the delete is a tombstone until compaction.
    log.delete_range(2, 4)
    assert log.stats()["tombstones"] >= 1
    log.compact()
    stats = log.stats()
    assert stats["l1_records"] == 8
    assert [ts for ts, _ in log.all()] == [0, 1, 4, 5, 6, 7, 8, 9]


def test_retired_queue_len_tracks_pinned_drops(log):
    S.fill(log, 10)
    it = log.all()
    log.delete_before(5)
    log.compact()
    # The iterator can still yield the dropped records: they wait retired.
    assert log.retired_queue_len >= 5
    assert log.stats()["retired_len"] >= 5
    assert len(list(it)) == 10
    log.stats()
    assert log.retired_queue_len == 0
