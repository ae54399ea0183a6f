"""The acceptance matrix of docs/demo.md and the four views on an org like the demo."""

from __future__ import annotations

from pathlib import Path

import pytest

from cqrs_cli.projections.runner import catch_up, status
from cqrs_cli.store.files import Store
from tests.read_support import (
    JOEL,
    LEADS,
    LISA,
    MARC,
    MITCHELL,
    SALESMAN,
    SUPERADMIN,
    VIEW_KEYS,
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
def store(tmp_path: Path) -> Store:
    s = new_store(tmp_path)
    demo_like(Org(s))
    catch_up(s)
    return s


def ids(store: Store, uid: int) -> list[int]:
    return list(can_see(store, uid)["opportunities"])


def owned(store: Store, *uids: int) -> list[int]:
    rows = store.conn.execute(
        f"SELECT id FROM opportunity_view WHERE user_id IN ({','.join('?' * len(uids))})"
        " ORDER BY id",
        uids,
    )
    return [r[0] for r in rows]


def test_acceptance_matrix(store: Store) -> None:
    assert len(ids(store, SUPERADMIN)) == 23
    assert ids(store, VINSHA) == owned(store, VINSHA, ZAKARIYA)
    assert len(ids(store, VINSHA)) == 4
    assert ids(store, ZAKARIYA) == owned(store, ZAKARIYA)
    assert len(ids(store, ZAKARIYA)) == 2
    assert len(ids(store, MITCHELL)) == 19
    assert ids(store, MARC) == owned(store, MARC)
    vinsha = next(p for p in profiles(store) if p["id"] == VINSHA)
    assert ZAKARIYA in vinsha["subordinates"] and ZAKARIYA in vinsha["all_subordinates"]


def test_reasons_and_via(store: Store) -> None:
    items = visible_opportunities(store, VINSHA)
    reasons = {(i["salesperson"]["login"], i["reason"]) for i in items}
    assert reasons == {("vinsha", "own"), ("zakariya", "subordinate")}
    explained = can_see(store, VINSHA, explain=True)["reasons"]
    vias = {v.get("via") for v in explained.values() if v["reason"] == "subordinate"}
    assert vias == {"zakariya"}
    admin = {i["reason"] for i in visible_opportunities(store, SUPERADMIN)}
    assert admin == {"subordinate"}  # every owner is below the superadmin
    org = Org(store)
    org.user(20, "outsider", [SALESMAN])
    org.put(LEADS, id=100, name="Outside", user_id=20, company_id=1)
    org.put(LEADS, id=101, name="Nobody's", user_id=None, company_id=1)
    org.put(LEADS, id=102, name="Mine", user_id=SUPERADMIN, company_id=None)
    catch_up(store)
    by_id = {i["id"]: i["reason"] for i in visible_opportunities(store, SUPERADMIN)}
    assert (by_id[100], by_id[101], by_id[102]) == ("administrator", "unassigned", "own")
    assert 101 in ids(store, VINSHA) and 100 not in ids(store, VINSHA)


def test_view_items_are_denormalized(store: Store) -> None:
    item = visible_opportunities(store, ZAKARIYA)[0]
    assert item["salesperson"] == {"id": ZAKARIYA, "login": "zakariya", "name": "Zakariya"}
    assert item["manager"] == {"id": VINSHA, "login": "vinsha", "name": "Vinsha"}
    assert item["account"]["name"].startswith("Account ")
    assert set(item) == set(VIEW_KEYS)
    assert item["via"] is None  # Zakariya's own


def test_status_and_stage_filters(store: Store) -> None:
    everything = visible_opportunities(store, SUPERADMIN)
    won = visible_opportunities(store, SUPERADMIN, status="won")
    lost = visible_opportunities(store, SUPERADMIN, status="lost")
    assert won and lost
    assert all(i["stage"] == "Won" and i["status"] == "won" for i in won)
    assert {i["id"] for i in lost} == {i for i in range(1, 24) if i % 7 == 0}
    by_stage = visible_opportunities(store, SUPERADMIN, stage="won")
    assert {i["id"] for i in by_stage} == {i["id"] for i in everything if i["stage"] == "Won"}


def test_metrics_own_and_team(store: Store) -> None:
    own, team = metrics_of(store, ZAKARIYA)
    assert team is None  # no subordinates
    rows = store.conn.execute(
        "SELECT status, expected_revenue, probability, stage FROM opportunity_view "
        "WHERE user_id = ?",
        (ZAKARIYA,),
    ).fetchall()
    open_rows = [r for r in rows if r[0] == "open"]
    assert own["pipeline_value"] == sum(r[1] for r in open_rows)
    assert own["weighted_pipeline"] == pytest.approx(sum(r[1] * r[2] / 100 for r in open_rows))
    assert own["won_revenue"] == sum(r[1] for r in rows if r[0] == "won")
    assert own["active_opportunities"] == len(open_rows)
    _, vteam = metrics_of(store, VINSHA)
    assert vteam is not None
    team_rows = store.conn.execute(
        "SELECT status, expected_revenue FROM opportunity_view WHERE user_id IN (?, ?)",
        (VINSHA, ZAKARIYA),
    ).fetchall()
    assert vteam["pipeline_value"] == sum(r[1] for r in team_rows if r[0] == "open")
    _, mteam = metrics_of(store, MITCHELL)
    assert mteam is not None
    names = [row["stage"] for row in mteam["by_stage"]]
    assert names == sorted(names, key=["New", "Qualified", "Proposition", "Won"].index)
    assert sum(r["count"] for r in mteam["by_stage"]) == len(
        store.conn.execute(
            "SELECT 1 FROM opportunity_view WHERE user_id IN (?,?,?,?) AND status != 'lost'",
            (MITCHELL, MARC, LISA, JOEL),
        ).fetchall()
    )


def test_every_view_current(store: Store) -> None:
    head, statuses = status(store)
    assert head > 0
    assert [(s.name, s.state, s.lag) for s in statuses] == [
        ("user_profiles", "current", 0),
        ("opportunity_view", "current", 0),
        ("user_access_matrix", "current", 0),
        ("dashboard_metrics", "current", 0),
        ("opportunity_versions", "current", 0),
    ]
