"""Views move together: a catch-up applies each batch to every view in one transaction (each
view in its own savepoint), and two catch-ups at once never apply a batch twice."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from cqrs_cli.projections import NAMES
from cqrs_cli.projections import runner as runner_module
from cqrs_cli.projections.compare import compare_with_rebuild
from cqrs_cli.projections.runner import Checkpoint, catch_up, status
from cqrs_cli.store.envelope import NewEvent
from cqrs_cli.store.files import Store, open_store
from cqrs_cli.store.log import RecordedEvent
from tests.read_support import MEMBERS, VINSHA, Org, demo_like, new_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = new_store(tmp_path)
    demo_like(Org(s))
    yield s
    s.close()


def record_checkpoint_moves(store: Store) -> None:
    """Log every move of a checkpoint in the file itself, whoever makes it."""
    with store.transaction() as conn:
        conn.execute("CREATE TABLE moves (projection TEXT, old INTEGER, new INTEGER)")
        conn.execute(
            "CREATE TRIGGER log_moves AFTER UPDATE OF position ON checkpoints BEGIN "
            "INSERT INTO moves VALUES (old.projection, old.position, new.position); END"
        )


def test_a_reader_never_sees_one_view_ahead_of_another(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    reader = sqlite3.connect(store.path)
    seen: list[dict[str, int]] = []
    save = runner_module.save_checkpoint

    def save_and_look(conn: sqlite3.Connection, cp: Checkpoint) -> None:
        save(conn, cp)
        # What another process sees at this moment: only committed checkpoints.
        seen.append(dict(reader.execute("SELECT projection, position FROM checkpoints")))

    monkeypatch.setattr(runner_module, "save_checkpoint", save_and_look)
    catch_up(store, batch=7)  # several batches
    reader.close()
    assert len(seen) > 4 * 2
    moving = [s for s in seen if len(s) == len(NAMES)]
    assert moving and all(len(set(s.values())) == 1 for s in moving), moving
    assert {st.state for st in status(store)[1]} == {"current"}


def test_two_catch_ups_at_once_apply_each_batch_once(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second process reads the checkpoints, then the first one catches everything up
    before the second one writes: the second must see that and apply nothing again."""
    catch_up(store)  # the tables exist; now make the views behind again
    Org(store).opp(900, VINSHA, name="Late")
    for oid in range(901, 921):
        Org(store).opp(oid, None, name=f"Late {oid}")
    record_checkpoint_moves(store)
    other = open_store(store.path, write=True)
    pages = store.log.projection_pages
    raced: list[bool] = []

    def the_other_one_runs_first(after: int, size: int) -> Iterator[list[RecordedEvent]]:
        if not raced:
            raced.append(True)
            catch_up(other, batch=size)
        yield from pages(after, size)

    # This store's log only: the other process reads its own.
    monkeypatch.setattr(store.log, "projection_pages", the_other_one_runs_first)
    report = catch_up(store, batch=3)
    other.close()
    assert raced
    assert report.applied == {}  # everything was applied once, by the other process
    moves = store.conn.execute("SELECT projection, old, new FROM moves").fetchall()
    assert all(new >= old for _, old, new in moves), moves  # no checkpoint went backwards
    head = store.log.head()
    for name in NAMES:
        steps = [(old, new) for p, old, new in moves if p == name]
        assert sum(new - old for old, new in steps) == 21, (name, steps)
        assert steps[-1][1] == head
    assert compare_with_rebuild(store) == {name: [] for name in NAMES}


def test_a_failing_view_rolls_back_alone_and_the_others_commit(store: Store) -> None:
    catch_up(store)
    bad = NewEvent(type="OdooTeamMemberCreated", data={"record": {"user_id": 6}})
    bad_at = store.log.append(MEMBERS, "99", [bad])[0]
    Org(store).opp(500, VINSHA, name="After the poison")
    report = catch_up(store)
    assert list(report.paused) == ["user_profiles"]
    positions = {st.name: st.position for st in status(store)[1]}
    assert positions["user_profiles"] == bad_at - 1
    head = store.log.head()
    assert all(positions[n] == head for n in NAMES if n != "user_profiles")
    seen = store.conn.execute(
        "SELECT count(*) FROM user_access_rows WHERE user_id = ? AND opportunity_id = 500",
        (VINSHA,),
    ).fetchone()[0]
    assert seen == 1  # written by the catch-up, before any read
