"""Each rule of the log (docs/events.md) through the public store API."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from cqrs_cli.store.chain import verify_chain
from cqrs_cli.store.envelope import EventMetadata, NewEvent
from cqrs_cli.store.files import Store, open_store
from cqrs_cli.store.log import ANY, NO_STREAM, ConcurrencyError, EventLog, Head, hash_at, head
from cqrs_cli.store.upcasting import Upcasters


def ev(n: int, type_: str = "Thing", **kw: object) -> NewEvent:
    return NewEvent(type=type_, data={"n": n}, event_id=f"e-{type_}-{n}", **kw)  # type: ignore[arg-type]


def test_append_returns_positions_and_versions(store: Store) -> None:
    assert store.log.append("crm.lead", "1", [ev(1), ev(2)], NO_STREAM) == [1, 2]
    assert store.log.append("crm.lead", "2", [ev(3)], ANY) == [3]
    assert store.log.append("crm.lead", "1", [ev(4)], 2) == [4]
    stream = store.log.read_stream("crm.lead", "1")
    assert [(e.version, e.data["n"]) for e in stream] == [(1, 1), (2, 2), (3, 4)]
    assert store.log.head() == 4


def test_concurrency_error_names_stream_expected_and_actual(store: Store) -> None:
    store.log.append("res.users", "7", [ev(1)])
    with pytest.raises(ConcurrencyError) as info:
        store.log.append("res.users", "7", [ev(2)], 0)
    assert "res.users:7" in str(info.value)
    assert info.value.expected == 0 and info.value.actual == 1
    with pytest.raises(ConcurrencyError):
        store.log.append("res.users", "7", [ev(3)], NO_STREAM)
    with pytest.raises(ConcurrencyError):
        store.log.append("res.users", "8", [ev(4)], 1)
    assert store.log.head() == 1


def test_failed_batch_writes_nothing(store: Store) -> None:
    store.log.append("s", "a", [ev(1)])
    with pytest.raises(ConcurrencyError):
        store.log.append_many([("s", "b", [ev(2)], ANY), ("s", "a", [ev(3)], 0)])
    assert store.log.head() == 1
    assert store.log.read_stream("s", "b") == []


def test_known_event_id_is_a_noop_forever(store: Store) -> None:
    assert store.log.append("s", "1", [ev(1)]) == [1]
    for n in range(2, 50):
        store.log.append("s", str(n), [ev(n)])
    # Long after, the same event again: nothing new, no error, even with a stale version.
    assert store.log.append("s", "1", [ev(1)], NO_STREAM) == []
    assert store.log.append("s", "1", [ev(1), ev(1)]) == []
    assert store.log.head() == 49
    # Duplicates inside one batch are written once.
    assert store.log.append("s", "x", [ev(99), ev(99)]) == [50]


def test_read_stream_ranges_and_backwards(store: Store) -> None:
    store.log.append("s", "1", [ev(n) for n in range(1, 6)])
    log = store.log
    assert [e.version for e in log.read_stream("s", "1", from_version=2, to_version=4)] == [2, 3, 4]
    assert [e.version for e in log.read_stream("s", "1", backwards=True, limit=2)] == [5, 4]
    assert log.read_stream("s", "nope") == []


def test_read_all_pages_filters_and_goes_backwards(store: Store) -> None:
    store.log.append_many(
        [("s", str(i), [ev(i, "A" if i % 2 else "B")], ANY) for i in range(1, 2501)]
    )
    assert [e.position for e in store.log.read_all(page_size=100)] == list(range(1, 2501))
    assert [e.position for e in store.log.read_all(2490, page_size=3)] == list(range(2491, 2501))
    only_b = list(store.log.read_all(types=["B"], limit=5, page_size=2))
    assert [e.position for e in only_b] == [2, 4, 6, 8, 10]
    newest = list(store.log.read_all(limit=3, backwards=True, page_size=2))
    assert [e.position for e in newest] == [2500, 2499, 2498]


def test_read_all_is_lazy(store: Store) -> None:
    store.log.append_many([("s", str(i), [ev(i)], ANY) for i in range(1, 101)])
    reader = store.log.read_all(page_size=10)
    first = next(reader)
    assert first.position == 1
    # A generator that already yielded has not materialized the rest of the log.
    store.log.append("s", "late", [ev(1000)])
    assert [e.position for e in reader][-1] == 101


def test_metadata_and_envelope_round_trip(store: Store) -> None:
    meta = EventMetadata(
        source="demo",
        sync_run_id="run-1",
        correlation_id="c",
        causation_id="x",
        write_date="2024-01-01T00:00:00Z",
    )
    store.log.append("crm.lead", "5", [ev(1, metadata=meta)])
    (e,) = store.log.read_stream("crm.lead", "5")
    assert e.metadata == {
        "source": "demo",
        "sync_run_id": "run-1",
        "correlation_id": "c",
        "causation_id": "x",
        "write_date": "2024-01-01T00:00:00Z",
    }
    assert e.recorded_at.endswith("Z") and e.schema_version == 1 and len(e.hash) == 64


def test_update_and_delete_are_refused_by_triggers(db_path: Path, store: Store) -> None:
    store.log.append("s", "1", [ev(1)])
    raw = sqlite3.connect(db_path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("UPDATE events SET data = '{}' WHERE position = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("DELETE FROM events")
    raw.close()
    assert store.log.read_stream("s", "1")[0].data == {"n": 1}


def _tamper(db_path: Path, sql: str) -> None:
    raw = sqlite3.connect(db_path)
    raw.execute("DROP TRIGGER events_no_update")
    raw.execute("DROP TRIGGER events_no_delete")
    raw.execute(sql)
    raw.commit()
    raw.close()


def test_verify_reports_the_first_bad_position(db_path: Path, store: Store) -> None:
    store.log.append_many([("s", str(i), [ev(i)], ANY) for i in range(1, 11)])
    assert verify_chain(store.conn).ok and verify_chain(store.conn).count == 10
    _tamper(db_path, "UPDATE events SET data = '{\"n\":666}' WHERE position = 6")
    report = verify_chain(store.conn)
    assert (report.ok, report.bad_position, report.count) == (False, 6, 5)


def test_verify_detects_a_removed_row(db_path: Path, store: Store) -> None:
    store.log.append_many([("s", str(i), [ev(i)], ANY) for i in range(1, 6)])
    _tamper(db_path, "DELETE FROM events WHERE position = 3")
    report = verify_chain(store.conn)
    assert not report.ok and report.bad_position == 3 and "missing" in (report.reason or "")


def test_chain_continues_across_connections(db_path: Path) -> None:
    for n in range(3):
        with open_store(db_path, write=True) as s:
            s.log.append("s", str(n), [ev(n)])
    with open_store(db_path) as s:
        assert verify_chain(s.conn).count == 3 and verify_chain(s.conn).ok


def test_upcasters_apply_on_read_and_never_rewrite(store: Store) -> None:
    upcasters = Upcasters()

    @upcasters.register("Renamed", 1)
    def _v1(data: dict[str, object]) -> dict[str, object]:
        return {"full_name": data["name"]}

    @upcasters.register("Renamed", 2)
    def _v2(data: dict[str, object]) -> dict[str, object]:
        return {**data, "source": "v2"}

    store.log.append("s", "1", [NewEvent(type="Renamed", data={"name": "Ada"})])
    log = EventLog(store.conn, upcasters=upcasters)
    (e,) = log.read_stream("s", "1")
    assert (e.schema_version, e.data) == (3, {"full_name": "Ada", "source": "v2"})
    stored = store.conn.execute("SELECT schema_version, data FROM events").fetchone()
    assert stored == (1, '{"name":"Ada"}')
    with pytest.raises(ValueError):
        upcasters.register("Renamed", 1)(_v1)


def _writer(db: str, worker: int, batches: int, per_batch: int) -> None:
    with open_store(Path(db), write=True) as s:
        for b in range(batches):
            s.log.append(
                "w",
                f"{worker}-{b}",
                [
                    NewEvent(
                        type="W", data={"w": worker, "b": b, "i": i}, event_id=f"{worker}-{b}-{i}"
                    )
                    for i in range(per_batch)
                ],
                NO_STREAM,
            )


def test_two_processes_append_gapless_without_interleaving(db_path: Path) -> None:
    open_store(db_path, write=True).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(db_path), w, 40, 25)) for w in (1, 2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    with open_store(db_path) as s:
        events = list(s.log.read_all())
        assert [e.position for e in events] == list(range(1, 2001))
        # Each batch of 25 occupies 25 consecutive positions: no other writer in between.
        for start in range(0, 2000, 25):
            batch = events[start : start + 25]
            assert len({e.stream_id for e in batch}) == 1
            assert [e.data["i"] for e in batch] == list(range(25))
        assert verify_chain(s.conn).ok


def test_one_call_may_append_to_the_same_stream_twice(store: Store) -> None:
    positions = store.log.append_many([("s", "1", [ev(1)], NO_STREAM), ("s", "1", [ev(2)], 1)])
    assert positions == [1, 2]
    assert [e.version for e in store.log.read_stream("s", "1")] == [1, 2]
    with pytest.raises(ConcurrencyError):
        store.log.append_many([("s", "2", [ev(3)], NO_STREAM), ("s", "2", [ev(4)], NO_STREAM)])


def test_the_reads_other_modules_need_are_methods_of_the_log(store: Store) -> None:
    log = store.log
    assert (log.count(), log.stream_versions("s"), head(store.conn)) == (0, {}, Head(0, "0" * 64))
    legacy = EventMetadata(source="legacy")
    log.append("s", "1", [ev(1, metadata=legacy), ev(2, metadata=legacy)])
    log.append("s", "2", [ev(3, metadata=legacy)])
    assert log.other_source("legacy") is None
    log.append("t", "1", [ev(4)])  # no source in its metadata: not a legacy event either
    assert log.other_source("legacy") == "an unnamed source"
    assert log.count() == 4
    assert log.stream_versions("s") == {"1": 2, "2": 1}
    assert log.stream_versions("t") == {"1": 1}
    last = list(log.read_all())[-1]
    assert head(store.conn) == Head(4, last.hash) and hash_at(store.conn, 4) == last.hash
    assert hash_at(store.conn, 5) is None


def test_projection_pages_carry_what_views_read_in_order(store: Store) -> None:
    upcasters = Upcasters()

    @upcasters.register("Old", 1)
    def _v1(data: dict[str, object]) -> dict[str, object]:
        return {"n": data["n"], "upcast": True}

    store.log.append_many([("s", str(i), [ev(i, "Old")], ANY) for i in range(1, 8)])
    log = EventLog(store.conn, upcasters=upcasters)
    pages = list(log.projection_pages(2, 2))
    assert [[e.position for e in page] for page in pages] == [[3, 4], [5, 6], [7]]
    first = pages[0][0]
    assert (first.stream_type, first.stream_id, first.type) == ("s", "3", "Old")
    assert (first.schema_version, first.data) == (2, {"n": 3, "upcast": True})
    assert list(log.projection_pages(7, 2)) == []
