"""Checkpoints, pausing on a poison event, version changes, rebuild, and cache TTLs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cqrs_cli.errors import CqrsError
from cqrs_cli.projections.base import Settings
from cqrs_cli.projections.compare import compare_with_rebuild
from cqrs_cli.projections.runner import catch_up, rebuild, require_current, resume, status
from cqrs_cli.projections.user_profiles import UserProfiles
from cqrs_cli.queries import can_see, metrics_of
from cqrs_cli.store.envelope import NewEvent
from cqrs_cli.store.files import Store
from tests.read_support import (
    MEMBERS,
    VINSHA,
    ZAKARIYA,
    Org,
    demo_like,
    new_store,
)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = new_store(tmp_path)
    demo_like(Org(s))
    return s


def states(store: Store) -> dict[str, str]:
    return {s.name: s.state for s in status(store)[1]}


def poison(store: Store) -> int:
    # A team membership without an id: only user_profiles reads memberships.
    bad = NewEvent(type="OdooTeamMemberCreated", data={"record": {"user_id": 6}})
    return store.log.append(MEMBERS, "99", [bad])[0]


def test_checkpoints_start_behind_and_catch_up(store: Store) -> None:
    head = store.log.head()
    assert set(states(store).values()) == {"behind"}
    report = catch_up(store, batch=7)  # several batches, each with its checkpoint
    assert set(report.applied.values()) == {head}
    assert set(states(store).values()) == {"current"}
    assert catch_up(store).applied == {}  # nothing new: nothing applied


def test_poison_event_pauses_only_that_projection(store: Store) -> None:
    catch_up(store)
    bad = poison(store)
    Org(store).opp(500, VINSHA, name="After the poison")
    report = catch_up(store)
    assert list(report.paused) == ["user_profiles"]
    head, found = status(store)
    by_name = {s.name: s for s in found}
    assert by_name["user_profiles"].state == "paused"
    assert by_name["user_profiles"].position == bad - 1
    assert f"position {bad}" in (by_name["user_profiles"].error or "")
    assert "KeyError" in (by_name["user_profiles"].error or "")
    for name in ("opportunity_view", "user_access_matrix", "dashboard_metrics"):
        assert by_name[name].state == "current" and by_name[name].position == head
    with pytest.raises(CqrsError, match="user_profiles is paused"):
        require_current(store, ["user_profiles"])
    catch_up(store)  # a paused view stays paused: nothing is skipped silently
    assert states(store)["user_profiles"] == "paused"
    resume(store, "user_profiles")
    catch_up(store)
    assert states(store)["user_profiles"] == "paused"  # the same event fails again
    with pytest.raises(CqrsError, match=f"position {bad}"):
        rebuild(store, ["user_profiles"])
    assert states(store)["user_profiles"] == "paused"  # the old view stays


def test_poison_in_the_middle_of_a_batch(store: Store) -> None:
    before = store.log.head()
    bad = poison(store)
    Org(store).user(30, "late", ["sales_team.group_sale_salesman"])
    catch_up(store)
    cp = {s.name: s.position for s in status(store)[1]}
    assert cp["user_profiles"] == bad - 1 >= before
    logins = [r[0] for r in store.conn.execute("SELECT login FROM user_profiles")]
    assert "late" not in logins and "vinsha" in logins


def test_changed_version_needs_rebuild(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    catch_up(store)
    old = UserProfiles.version
    monkeypatch.setattr(UserProfiles, "version", old + 1)
    assert states(store)["user_profiles"] == "rebuild_needed"
    err = dict((s.name, s.error) for s in status(store)[1])["user_profiles"]
    assert f"version {old}," in (err or "") and f"version {old + 1}" in (err or "")
    catch_up(store)
    assert states(store)["user_profiles"] == "rebuild_needed"
    rebuild(store, ["user_profiles"])
    assert states(store)["user_profiles"] == "current"
    assert status(store)[1][0].version == old + 1


def test_rebuild_keeps_the_old_view_until_the_swap(store: Store) -> None:
    catch_up(store)
    seen: list[int] = []

    def progress(n: int) -> None:
        # Mid-rebuild, the live view still answers from the old tables.
        seen.append(store.conn.execute("SELECT count(*) FROM user_profiles").fetchone()[0])

    report = rebuild(store, ["user_profiles", "opportunity_view"], batch=10, progress=progress)
    assert seen and set(seen) == {7}
    assert report.events == store.log.head()
    names = [
        r[0]
        for r in store.conn.execute("SELECT name FROM sqlite_master WHERE name LIKE '%rebuild%'")
    ]
    assert names == []  # scratch tables and indexes are gone after the swap
    assert compare_with_rebuild(store) == {
        "user_profiles": [],
        "opportunity_view": [],
        "user_access_matrix": [],
        "dashboard_metrics": [],
    }


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_metrics_ttl_expires_with_a_moved_clock(store: Store) -> None:
    clock = Clock()
    conf = Settings(ttl=300, clock=clock)
    catch_up(store, settings=conf)
    own, _ = metrics_of(store, ZAKARIYA, settings=conf)
    assert own is not None
    # Tamper with the cached row: within the TTL it is served as is...
    with store.log.transaction() as conn:
        conn.execute(
            "UPDATE dashboard_metrics SET own = ? WHERE user_id = ?",
            (json.dumps({**own, "pipeline_value": -1}), ZAKARIYA),
        )
    clock.now += 299
    assert metrics_of(store, ZAKARIYA, settings=conf)[0]["pipeline_value"] == -1  # type: ignore[index]
    # ...and recomputed once it expired.
    clock.now += 2
    assert metrics_of(store, ZAKARIYA, settings=conf)[0] == own


def test_access_ttl_and_dirty_rows(store: Store) -> None:
    clock = Clock()
    conf = Settings(ttl=60, clock=clock)
    catch_up(store, settings=conf)
    first = can_see(store, VINSHA, settings=conf)["opportunities"]
    stamp = store.conn.execute(
        "SELECT computed_at FROM user_access_matrix WHERE user_id = ?", (VINSHA,)
    ).fetchone()[0]
    with store.log.transaction() as conn:
        conn.execute("DELETE FROM user_access_rows WHERE user_id = ?", (VINSHA,))
    clock.now += 30
    assert can_see(store, VINSHA, settings=conf)["opportunities"] == []  # cached, not expired
    clock.now += 31
    assert can_see(store, VINSHA, settings=conf)["opportunities"] == first
    again = store.conn.execute(
        "SELECT computed_at FROM user_access_matrix WHERE user_id = ?", (VINSHA,)
    ).fetchone()[0]
    assert again > stamp
    # An event about one of her opportunities makes her row dirty: recomputed at once.
    Org(store).opp(600, ZAKARIYA, name="New for Zakariya")
    catch_up(store, settings=conf)
    assert 600 in can_see(store, VINSHA, settings=conf)["opportunities"]


def test_catch_up_refuses_to_run_inside_a_transaction(store: Store) -> None:
    with store.log.transaction(), pytest.raises(RuntimeError, match="outside"):
        catch_up(store)
    catch_up(store)
    assert set(states(store).values()) == {"current"}
