"""Checkpoints, pausing on a poison event, version changes, rebuild."""

from __future__ import annotations

from pathlib import Path

import pytest

from cqrs_cli.domain.errors import CqrsError
from cqrs_cli.projections.catalog import VERSIONS
from cqrs_cli.projections.compare import compare_with_rebuild
from cqrs_cli.projections.runner import catch_up, rebuild, require_current, resume, status
from cqrs_cli.projections.user_profiles import UserProfiles
from cqrs_cli.store.envelope import NewEvent
from cqrs_cli.store.files import Store
from tests.read_support import (
    MEMBERS,
    VINSHA,
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
    monkeypatch.setitem(VERSIONS, "user_profiles", old + 1)  # a cqrs that builds it anew
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
        "opportunity_versions": [],
    }


def test_catch_up_refuses_to_run_inside_a_transaction(store: Store) -> None:
    with store.transaction(), pytest.raises(RuntimeError, match="outside"):
        catch_up(store)
    catch_up(store)
    assert set(states(store).values()) == {"current"}
