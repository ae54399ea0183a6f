"""`Store.transaction()`: savepoints when nested, and one store shared by threads."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from cqrs_cli.store.chain import verify_chain
from cqrs_cli.store.envelope import NewEvent
from cqrs_cli.store.files import Store, open_store


def ev(tag: str) -> NewEvent:
    return NewEvent(type="Thing", data={"tag": tag}, event_id=tag)


class Boom(Exception):
    pass


def test_nested_failure_rolls_back_only_the_savepoint(store: Store) -> None:
    with store.transaction() as conn:
        store.log.append("s", "1", [ev("kept-1")])
        with pytest.raises(Boom), store.transaction():
            store.log.append("s", "2", [ev("undone")])
            conn.execute("INSERT INTO sync_cursors VALUES ('x', 'm', 'w', 'u')")
            raise Boom
        # The log's cached tail went back with the savepoint: the next position is 2.
        assert store.log.append("s", "3", [ev("kept-2")]) == [2]
    assert [e.event_id for e in store.log.read_all()] == ["kept-1", "kept-2"]
    assert store.conn.execute("SELECT count(*) FROM sync_cursors").fetchone()[0] == 0
    assert verify_chain(store.conn).ok


def test_outer_failure_rolls_back_inner_work_too(store: Store) -> None:
    with pytest.raises(Boom), store.transaction():
        with store.transaction():
            store.log.append("s", "1", [ev("a")])
        raise Boom
    assert store.log.head() == 0
    assert not store.conn.in_transaction
    assert store.log.append("s", "1", [ev("b")]) == [1]


def test_threads_sharing_one_store_never_interleave(tmp_path: Path) -> None:
    """4 threads x 50 batches of 20 events through one store: no gap, chain intact, every
    batch whole and contiguous (the issue's reproduction: before, transactions collided)."""
    threads, batches, size = 4, 50, 20
    with open_store(tmp_path / "t.db", write=True) as store:
        errors: list[BaseException] = []
        start = threading.Barrier(threads)

        def work(t: int) -> None:
            start.wait()
            try:
                for b in range(batches):
                    events = [ev(f"t{t}-b{b}-e{i}") for i in range(size)]
                    store.log.append_many([("s", f"{t}-{b}", events, "no stream")])
            except BaseException as exc:  # reported below, with the thread's name
                errors.append(exc)

        workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert errors == []
        found = list(store.log.read_all())
        assert [e.position for e in found] == list(range(1, threads * batches * size + 1))
        assert verify_chain(store.conn).ok
        # Each batch is one stream: its 20 events sit at consecutive positions, in order.
        by_stream: dict[str, list[int]] = {}
        for e in found:
            by_stream.setdefault(e.stream_id, []).append(e.position)
        assert len(by_stream) == threads * batches
        for positions in by_stream.values():
            assert positions == list(range(positions[0], positions[0] + size))
