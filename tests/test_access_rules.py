"""Access exactly as docs/access.md states it, on small orgs built to break it: a user's
other employee records, Settings without a sales group."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cqrs_cli.projections import NAMES
from cqrs_cli.projections.compare import compare_with_rebuild
from cqrs_cli.projections.runner import catch_up, rebuild
from cqrs_cli.store.files import Store
from tests.conftest import ADMIN, PASSWORD, demo_data, run_cli
from tests.fake_odoo import FakeOdoo
from tests.read_support import (
    ALL_LEADS,
    EMPLOYEES,
    MANAGER,
    SALESMAN,
    SYSTEM,
    Org,
    can_see,
    metrics_of,
    new_store,
    profiles,
    visible_opportunities,
)

ALICE, CAROL, REP, DAN, MALLORY, BOB = 20, 21, 22, 23, 24, 25
LOGINS = {ALICE: "alice", CAROL: "carol", REP: "rep", DAN: "dan", MALLORY: "mallory", BOB: "bob"}
# Opportunity id -> (owner, expected revenue): one figure per owner to read team sums by.
DEALS = {
    100: (REP, 1000.0),
    101: (REP, 2000.0),
    102: (DAN, 400.0),
    103: (BOB, 800.0),
    104: (ALICE, 100.0),
    105: (CAROL, 200.0),
    106: (MALLORY, 50.0),
}


def rep_in_alices_team(org: Org) -> None:
    """Rep's only employee record sits under Alice; Dan's under Rep's. Mallory has her
    own record (6) and a record wrongly linked to her (7) under Alice, with Bob below it."""
    for uid, login in LOGINS.items():
        org.user(uid, login, [SALESMAN])
    org.employee(1, ALICE)
    org.employee(2, CAROL)
    org.employee(3, REP, 1)
    org.employee(5, DAN, 3)
    org.employee(6, MALLORY)
    org.employee(7, MALLORY, 1)
    org.employee(8, BOB, 7)
    for oid, (owner, revenue) in DEALS.items():
        org.opp(oid, owner, expected_revenue=revenue, probability=50.0)


def rep_moves_to_carol(org: Org) -> None:
    """HR gives Rep a new record under Carol and archives the old one under Alice."""
    org.employee(4, REP, 2)
    org.put(EMPLOYEES, id=3, active=False)


def deals_of(*owners: int) -> list[int]:
    return sorted(oid for oid, (owner, _) in DEALS.items() if owner in owners)


def revenue_of(*owners: int) -> float:
    return sum(rev for owner, rev in DEALS.values() if owner in owners)


def assert_moved(store: Store) -> None:
    """After the move: only Rep's new record stands for Rep, and record 7 for nobody."""
    # Alice reaches Dan through Rep's old record and Bob through record 7, both now
    # employees without a user; she never reaches Rep or Mallory.
    assert can_see(store, ALICE)["opportunities"] == deals_of(ALICE, DAN, BOB)
    assert can_see(store, CAROL)["opportunities"] == deals_of(CAROL, REP)
    assert can_see(store, MALLORY)["opportunities"] == deals_of(MALLORY)
    reasons = can_see(store, CAROL, explain=True)["reasons"]
    assert reasons["100"] == {"reason": "subordinate", "via": "rep"}
    items = {i["id"]: i for i in visible_opportunities(store, CAROL)}
    assert items[100]["manager"] == {"id": CAROL, "login": "carol", "name": "Carol"}
    alice_items = {i["id"]: i for i in visible_opportunities(store, ALICE)}
    assert sorted(alice_items) == deals_of(ALICE, DAN, BOB)
    # Dan's manager was Rep while record 3 was Rep's own; now it stands for nobody.
    assert alice_items[102]["manager"] is None and alice_items[103]["manager"] is None
    _, alice_team = metrics_of(store, ALICE)
    _, carol_team = metrics_of(store, CAROL)
    assert alice_team is not None and carol_team is not None
    assert alice_team["pipeline_value"] == revenue_of(ALICE, DAN, BOB)
    assert carol_team["pipeline_value"] == revenue_of(CAROL, REP)
    assert metrics_of(store, MALLORY)[1] is None
    by_id = {p["id"]: p for p in profiles(store)}
    assert (by_id[ALICE]["subordinates"], by_id[ALICE]["all_subordinates"]) == ([], [DAN, BOB])
    assert (by_id[CAROL]["subordinates"], by_id[CAROL]["all_subordinates"]) == ([REP], [REP])
    assert (by_id[MALLORY]["subordinates"], by_id[MALLORY]["all_subordinates"]) == ([], [])
    assert by_id[REP]["employee_id"] == 4 and by_id[REP]["manager_id"] == CAROL
    assert by_id[DAN]["manager_id"] is None and by_id[BOB]["manager_id"] is None


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return new_store(tmp_path)


def test_a_moved_rep_and_a_wrongly_linked_record_incrementally_and_rebuilt(store: Store) -> None:
    org = Org(store)
    rep_in_alices_team(org)
    catch_up(store)
    # Before the move Rep's old record is Rep's own: Alice rightly sees Rep's deals.
    assert can_see(store, ALICE)["opportunities"] == deals_of(ALICE, REP, DAN, BOB)
    dan_deal = {i["id"]: i for i in visible_opportunities(store, ALICE)}[102]
    assert dan_deal["manager"] == {"id": REP, "login": "rep", "name": "Rep"}
    # Their sets and figures are now computed and cached: the move must invalidate them.
    alice_team = metrics_of(store, ALICE)[1]
    assert alice_team is not None
    assert alice_team["pipeline_value"] == revenue_of(ALICE, REP, DAN, BOB)
    assert can_see(store, CAROL)["opportunities"] == deals_of(CAROL)
    assert metrics_of(store, CAROL)[1] is None
    rep_moves_to_carol(org)
    catch_up(store)
    assert_moved(store)
    assert compare_with_rebuild(store) == {name: [] for name in NAMES}
    rebuild(store, NAMES)
    assert_moved(store)
    store.close()


def test_the_command_line_follows_the_chosen_employee(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    org = Org(store)
    rep_in_alices_team(org)
    rep_moves_to_carol(org)
    store.close()
    db = str(tmp_path / "cqrs.db")

    def as_json(*args: str) -> Any:
        out = run_cli("--db", db, *args, "--format", "json")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    for _ in ("incremental", "rebuilt"):
        assert [i["id"] for i in as_json("view", "--as", "alice")] == deals_of(ALICE, DAN, BOB)
        assert as_json("whoami-can-see", "--as", "alice")["opportunities"] == deals_of(
            ALICE, DAN, BOB
        )
        assert as_json("whoami-can-see", "--as", "carol")["opportunities"] == deals_of(CAROL, REP)
        assert as_json("metrics", "--as", "alice")["team"]["pipeline_value"] == revenue_of(
            ALICE, DAN, BOB
        )
        users = {u["login"]: u for u in as_json("users")}
        assert users["alice"]["all_subordinates"] == [DAN, BOB]
        assert users["carol"]["subordinates"] == [REP]
        assert users["mallory"]["all_subordinates"] == []
        done = run_cli("--db", db, "-q", "rebuild", "--all")
        assert done.returncode == 0, done.stderr


def test_settings_alone_is_no_sales_group(store: Store) -> None:
    """Odoo grants crm.lead to the two sales groups only (crm/security/ir.model.access.csv):
    Settings gives an IT administrator no opportunity, nor any sales access."""
    org = Org(store)
    org.user(30, "it", [SYSTEM], name="IT")
    org.user(31, "it-seller", [SYSTEM, SALESMAN], name="IT Seller")
    org.user(32, "it-reader", [SYSTEM, SALESMAN, ALL_LEADS], name="IT Reader")
    org.user(33, "boss", [SALESMAN, ALL_LEADS, MANAGER], name="Boss")
    org.user(34, "seller", [SALESMAN], name="Seller")
    org.opp(1, 34)
    org.opp(2, 31)
    org.opp(3, None)
    catch_up(store)
    assert can_see(store, 30) == {"opportunities": [], "accounts": []}
    seller = can_see(store, 31, explain=True)["reasons"]
    assert seller == {"2": {"reason": "own"}, "3": {"reason": "unassigned"}}
    reader = can_see(store, 32, explain=True)["reasons"]
    assert reader["1"] == {"reason": "all_documents"}
    boss = can_see(store, 33, explain=True)["reasons"]
    assert boss["1"] == {"reason": "administrator"}
    access = {p["login"]: p["access"] for p in profiles(store)}
    assert access == {
        "it": "none",
        "it-seller": "own_documents",
        "it-reader": "all_documents",
        "boss": "administrator",
        "seller": "own_documents",
    }
    admins = store.conn.execute(
        "SELECT login FROM user_profiles WHERE is_sales_admin = 1 ORDER BY login"
    ).fetchall()
    assert admins == [("boss",)]


def test_an_it_administrator_synced_from_odoo_sees_nothing(fake: FakeOdoo, tmp_path: Path) -> None:
    groups = {r["name"]: r["res_id"] for r in demo_data()["ir.model.data"]}
    fake.create(
        "res.users",
        {
            "login": "it@demo.example",
            "name": "IT Administrator",
            "active": True,
            "share": False,
            "company_id": 1,
            "company_ids": [1],
            "groups_id": [groups["group_user"], groups["group_system"]],
        },
    )
    db = str(tmp_path / "cqrs.db")
    odoo = ["--url", fake.url, "--database", "demo", "--user", ADMIN, "--password", PASSWORD]
    synced = run_cli("--db", db, "-q", "sync", *odoo)
    assert synced.returncode == 0, synced.stderr
    it = run_cli("--db", db, "whoami-can-see", "--as", "it@demo.example", "--format", "json")
    assert it.returncode == 0, it.stderr
    assert json.loads(it.stdout)["opportunities"] == []
    admin = run_cli("--db", db, "whoami-can-see", "--as", "superadmin", "--format", "json")
    assert len(json.loads(admin.stdout)["opportunities"]) == 23
    users = json.loads(run_cli("--db", db, "users", "--format", "json").stdout)
    assert {u["login"]: u["access"] for u in users}["it@demo.example"] == "none"


# The view versions written by the cqrs before these rules were pinned: their rows may
# carry the leaks above, so a file holding them must ask for a rebuild.
BEFORE_THE_PINNED_RULES = {
    "user_profiles": 1,
    "opportunity_view": 1,
    "user_access_matrix": 1,
    "dashboard_metrics": 1,
}


def test_views_built_by_the_older_rules_need_a_rebuild(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    org = Org(store)
    rep_in_alices_team(org)
    rep_moves_to_carol(org)
    catch_up(store)
    with store.transaction() as conn:
        for name, version in BEFORE_THE_PINNED_RULES.items():
            conn.execute("UPDATE checkpoints SET version = ? WHERE projection = ?", (version, name))
    store.close()
    db = str(tmp_path / "cqrs.db")

    def states() -> dict[str, str]:
        out = run_cli("--db", db, "status", "--format", "json")
        assert out.returncode == 0, out.stderr
        found = json.loads(out.stdout)["projections"]
        return {p["name"]: p["state"] for p in found if p["name"] in BEFORE_THE_PINNED_RULES}

    assert states() == dict.fromkeys(BEFORE_THE_PINNED_RULES, "rebuild_needed")
    refused = run_cli("--db", db, "whoami-can-see", "--as", "alice")
    assert refused.returncode == 1 and refused.stdout == ""
    assert "needs a rebuild" in refused.stderr and "cqrs rebuild" in refused.stderr
    assert run_cli("--db", db, "-q", "rebuild", "--all").returncode == 0
    assert states() == dict.fromkeys(BEFORE_THE_PINNED_RULES, "current")
    seen = run_cli("--db", db, "whoami-can-see", "--as", "alice", "--format", "json")
    assert json.loads(seen.stdout)["opportunities"] == deals_of(ALICE, DAN, BOB)
