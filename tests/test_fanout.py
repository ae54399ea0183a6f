"""Later changes of users, employees, stages, accounts and teams reach every view."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest

from cqrs_cli.projections import NAMES, compare
from cqrs_cli.projections.compare import compare_with_rebuild
from cqrs_cli.projections.runner import catch_up, rebuild, rebuild_into_scratch
from cqrs_cli.store.files import Store
from tests.read_support import (
    ACCOUNTS,
    EMPLOYEES,
    MITCHELL,
    STAGE_NEW,
    STAGES,
    SUPERADMIN,
    TEAMS,
    USERS,
    VINSHA,
    ZAKARIYA,
    Org,
    can_see,
    demo_like,
    metrics_of,
    new_store,
    profiles,
    visible_opportunities,
)


@pytest.fixture
def org(tmp_path: Path) -> Org:
    o = Org(new_store(tmp_path))
    demo_like(o)
    catch_up(o.store)
    return o


def view_rows(store: Store, where: str, *args: object) -> list[tuple[object, ...]]:
    return store.conn.execute(f"SELECT * FROM opportunity_view WHERE {where}", args).fetchall()


def assert_same_as_rebuild(store: Store) -> None:
    assert compare_with_rebuild(store) == {
        "user_profiles": [],
        "opportunity_view": [],
        "user_access_matrix": [],
        "dashboard_metrics": [],
        "opportunity_versions": [],
    }


def test_change_of_manager(org: Org) -> None:
    store = org.store
    assert len(can_see(store, VINSHA)["opportunities"]) == 4
    org.put(EMPLOYEES, id=3, parent_id=4)  # Zakariya now reports to Mitchell
    catch_up(store)
    assert len(can_see(store, VINSHA)["opportunities"]) == 2
    assert len(can_see(store, MITCHELL)["opportunities"]) == 21
    managers = {i["manager"]["login"] for i in visible_opportunities(store, ZAKARIYA)}
    assert managers == {"mitchell"}
    assert metrics_of(store, VINSHA)[1] is None  # no subordinates left: team is null
    by_id = {p["id"]: p for p in profiles(store)}
    assert by_id[VINSHA]["subordinates"] == [] and ZAKARIYA in by_id[MITCHELL]["subordinates"]
    assert_same_as_rebuild(store)


def test_manager_through_an_employee_without_user(org: Org) -> None:
    store = org.store
    org.employee(50, None, 2, name="Vacant seat")  # under Vinsha, no user
    org.put(EMPLOYEES, id=3, parent_id=50)
    catch_up(store)
    by_id = {p["id"]: p for p in profiles(store)}
    assert by_id[ZAKARIYA]["manager_id"] is None  # the parent employee has no user
    assert ZAKARIYA in by_id[VINSHA]["all_subordinates"]  # still below her, transitively
    assert ZAKARIYA not in by_id[VINSHA]["subordinates"]
    assert len(can_see(store, VINSHA)["opportunities"]) == 4
    assert_same_as_rebuild(store)


def test_rename_stage_and_make_it_won(org: Org) -> None:
    store = org.store
    org.put(STAGES, id=STAGE_NEW, name="Fresh", is_won=True)
    catch_up(store)
    rows = store.conn.execute(
        "SELECT DISTINCT stage, status FROM opportunity_view WHERE stage_id = ? AND active = 1",
        (STAGE_NEW,),
    ).fetchall()
    assert rows == [("Fresh", "won")]
    _, team = metrics_of(store, VINSHA)
    assert team is not None and "Fresh" in [r["stage"] for r in team["by_stage"]]
    assert_same_as_rebuild(store)


def test_archive_user(org: Org) -> None:
    store = org.store
    org.put(USERS, id=VINSHA, active=False)
    catch_up(store)
    assert can_see(store, VINSHA)["opportunities"] == []
    admin = {i["id"] for i in visible_opportunities(store, SUPERADMIN)}
    assert len(admin) == 23 and {1, 2} <= admin  # her opportunities stay visible above her
    by_id = {p["id"]: p for p in profiles(store)}
    assert by_id[VINSHA]["active"] is False and by_id[VINSHA]["subordinates"] == [ZAKARIYA]
    assert_same_as_rebuild(store)


def test_rename_user_account_team(org: Org) -> None:
    store = org.store
    org.put(USERS, id=ZAKARIYA, login="zak", name="Zak")
    org.put(ACCOUNTS, id=4, name="Renamed Ltd")
    org.put(TEAMS, id=1, name="Team One")
    catch_up(store)
    assert {
        r[0]
        for r in store.conn.execute(
            "SELECT salesperson_login FROM opportunity_view WHERE user_id = ?", (ZAKARIYA,)
        )
    } == {"zak"}
    assert {
        r[0]
        for r in store.conn.execute("SELECT account FROM opportunity_view WHERE partner_id = 4")
    } == {"Renamed Ltd"}
    assert {
        r[0] for r in store.conn.execute("SELECT team FROM opportunity_view WHERE team_id = 1")
    } == {"Team One"}
    vias = {v.get("via") for v in can_see(store, VINSHA, explain=True)["reasons"].values()}
    assert "zak" in vias
    assert_same_as_rebuild(store)


def test_renaming_a_manager_reaches_rows_of_their_team(org: Org) -> None:
    store = org.store
    org.put(USERS, id=VINSHA, name="Vinsha K")
    catch_up(store)
    names = {
        r[0]
        for r in store.conn.execute(
            "SELECT manager_name FROM opportunity_view WHERE user_id = ?", (ZAKARIYA,)
        )
    }
    assert names == {"Vinsha K"}


def test_deleted_and_demoted_opportunities_leave(org: Org) -> None:
    store = org.store
    org.delete("crm.lead", 1)
    org.put("crm.lead", id=2, type="lead")
    catch_up(store)
    assert can_see(store, VINSHA)["opportunities"] == [3, 4]
    assert view_rows(store, "id IN (1, 2)") == []
    assert_same_as_rebuild(store)


def test_a_rebuild_in_one_event_batches_holds_rows_until_the_end(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rebuild writes opportunity rows once, at the end of the replay: people, stages,
    accounts and teams that change in later batches, and opportunities deleted after
    they were written to memory, still give the incremental views."""
    store = org.store
    org.put(EMPLOYEES, id=3, parent_id=4)
    org.put(STAGES, id=STAGE_NEW, name="Fresh", is_won=True)
    org.put(USERS, id=ZAKARIYA, login="zak", name="Zak")
    org.put(ACCOUNTS, id=4, name="Renamed Ltd")
    org.put(TEAMS, id=1, name="Team One")
    org.delete("crm.lead", 1)
    org.put("crm.lead", id=2, type="lead")
    catch_up(store)
    monkeypatch.setattr(compare, "rebuild_into_scratch", partial(rebuild_into_scratch, batch=1))
    assert_same_as_rebuild(store)
    rebuild(store, NAMES, batch=1)
    assert_same_as_rebuild(store)
    assert view_rows(store, "id IN (1, 2)") == []
