"""The sync engine through snapshot sources: the embedded demo and in-memory dicts."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from cqrs_cli.sources import SnapshotSource, demo_source
from cqrs_cli.sources.base import SourceError
from cqrs_cli.sync import run_sync
from tests.conftest import demo_data
from tests.helpers import events, kinds, new_store, raw_rows, summary


def records(evs: list[Any], entity: str) -> dict[int, dict[str, Any]]:
    return {int(e.stream_id): e.data["record"] for e in evs if e.type == f"Odoo{entity}Created"}


def test_demo_sync_then_second_run_appends_nothing(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    first = run_sync(store, demo_source())
    evs = events(store)
    assert first.events_appended == len(evs) == 59
    assert kinds(evs) == {
        "OdooUserCreated": 7,
        "OdooEmployeeCreated": 7,
        "OdooTeamCreated": 2,
        "OdooTeamMemberCreated": 6,
        "OdooStageCreated": 4,
        "OdooOpportunityCreated": 23,
        "OdooAccountCreated": 10,
    }
    second = run_sync(store, demo_source())
    assert second.events_appended == 0
    assert len(events(store)) == 59
    assert second.counts["crm.lead"].unchanged == 23
    runs = store.conn.execute(
        "SELECT id, status, events_appended, counts FROM sync_runs ORDER BY started_at"
    ).fetchall()
    assert [(r[0], r[1], r[2]) for r in runs] == [
        (first.run_id, "succeeded", 59),
        (second.run_id, "succeeded", 0),
    ]
    assert json.loads(runs[0][3])["crm.lead"]["created"] == 23


def test_demo_org_matches_design(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    run_sync(store, demo_source())
    evs = events(store)
    users = records(evs, "User")
    assert 1 not in users  # __system__ never synced
    assert all(not u["share"] for u in users.values())  # the portal user is not synced
    by_login = {u["login"].split("@")[0]: u for u in users.values()}
    assert set(by_login) == {"superadmin", "vinsha", "zakariya", "meera", "omar", "lucas", "priya"}
    assert by_login["vinsha"]["groups"] == ["sales_team.group_sale_salesman"]
    assert {"base.group_system", "sales_team.group_sale_manager"} <= set(
        by_login["superadmin"]["groups"]
    )
    emps = records(evs, "Employee")
    emp_of = {e["user_id"]: e for e in emps.values()}
    vinsha, zak = by_login["vinsha"]["id"], by_login["zakariya"]["id"]
    assert emp_of[zak]["parent_id"] == emp_of[vinsha]["id"]
    opps = records(evs, "Opportunity")
    assert len(opps) == 23 and all(o["type"] == "opportunity" for o in opps.values())
    owners = [o["user_id"] for o in opps.values()]
    assert owners.count(vinsha) == 2 and owners.count(zak) == 2
    assert all(o["company_id"] == 1 and o["user_id"] for o in opps.values())
    won_stages = {s["id"] for s in records(evs, "Stage").values() if s["is_won"]}
    lost = [o for o in opps.values() if not o["active"]]
    won = [o for o in opps.values() if o["active"] and o["stage_id"] in won_stages]
    assert lost and won and len(lost) + len(won) < 23
    assert all(o["probability"] == 0 for o in lost)
    accounts = records(evs, "Account")
    assert {o["partner_id"] for o in opps.values()} <= set(accounts)


def test_event_metadata_and_deterministic_ids(tmp_path: Path) -> None:
    a, b = new_store(tmp_path, "a.db"), new_store(tmp_path, "b.db")
    result = run_sync(a, demo_source())
    run_sync(b, demo_source())
    ea, eb = events(a), events(b)
    assert [e.event_id for e in ea] == [e.event_id for e in eb]
    meta = ea[0].metadata
    assert meta["source"] == "demo"
    assert meta["sync_run_id"] == meta["correlation_id"] == result.run_id
    assert all(e.metadata["write_date"] == e.data["record"]["write_date"] for e in ea)


def _find(data: dict[str, Any], model: str, rid: int) -> dict[str, Any]:
    rec: dict[str, Any] = next(r for r in data[model] if r["id"] == rid)
    return rec


def test_changes_in_a_dict_snapshot_become_exact_events(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    data = demo_data()
    run_sync(store, SnapshotSource(data, name="legacy"))
    head = store.log.head()

    data = copy.deepcopy(data)
    _find(data, "crm.lead", 3)["user_id"] = [5, "Meera Iyer"]  # reassignment
    _find(data, "crm.lead", 6).update(active=False, probability=0.0)  # lost
    _find(data, "crm.stage", 2)["write_date"] = "2026-02-01 00:00:00"  # no real change
    data["crm.lead"] = [r for r in data["crm.lead"] if r["id"] != 7]  # deleted
    member = _find(data, "crm.team.member", 2)
    member["crm_team_id"] = [2, "Enterprise Accounts"]  # Zakariya moves team
    result = run_sync(store, SnapshotSource(data, name="legacy"))

    new = events(store, head)
    assert summary(new) == [
        ("OdooOpportunityDeleted", "7"),
        ("OdooOpportunityUpdated", "3"),
        ("OdooOpportunityUpdated", "6"),
        ("OdooTeamMemberUpdated", "2"),
    ]
    by_stream = {(e.stream_type, e.stream_id): e for e in new}
    assert by_stream[("crm.lead", "3")].data["changes"] == {"user_id": [4, 5]}
    old_probability = _find(demo_data(), "crm.lead", 6)["probability"]
    assert by_stream[("crm.lead", "6")].data["changes"] == {
        "active": [True, False],
        "probability": [old_probability, 0.0],
    }
    assert by_stream[("crm.lead", "7")].data["record"]["id"] == 7
    assert by_stream[("crm.team.member", "2")].data["changes"] == {"crm_team_id": [1, 2]}
    assert all(e.metadata["source"] == "legacy" for e in new)
    assert result.counts["crm.lead"].deleted == 1
    assert raw_rows(store, "crm.lead")[7] is not None  # deleted_at set
    # The stage's write_date moved without content change: stored, but no event.
    write_date = store.conn.execute(
        "SELECT write_date FROM odoo_raw_data WHERE model='crm.stage' AND odoo_id=2"
    ).fetchone()[0]
    assert write_date == "2026-02-01T00:00:00Z"

    # The deleted record comes back: a Created at the next stream version.
    data["crm.lead"].append(_find(demo_data(), "crm.lead", 7))
    head = store.log.head()
    run_sync(store, SnapshotSource(data, name="legacy"))
    back = events(store, head)
    assert [(e.type, e.stream_id, e.version) for e in back] == [("OdooOpportunityCreated", "7", 3)]
    assert raw_rows(store, "crm.lead")[7] is None
    assert run_sync(store, SnapshotSource(data)).events_appended == 0


def test_lost_opportunity_changes_are_exact(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    data = demo_data()
    run_sync(store, SnapshotSource(data))
    lead = _find(data, "crm.lead", 1)
    assert lead["active"] and lead["probability"] > 0
    old_probability = lead["probability"]
    lead.update(active=False, probability=0.0)
    head = store.log.head()
    run_sync(store, SnapshotSource(data))
    (event,) = events(store, head)
    assert event.type == "OdooOpportunityUpdated"
    assert event.data["changes"] == {"active": [True, False], "probability": [old_probability, 0.0]}
    assert event.data["record"]["active"] is False


def test_invalid_records_are_reported_and_the_rest_synced(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    data = demo_data()
    _find(data, "crm.lead", 2)["probability"] = 150.0
    _find(data, "res.users", 4).pop("login")
    data["crm.stage"].append({"name": "No id"})
    result = run_sync(store, SnapshotSource(data))
    bad = {(i.model, i.odoo_id, i.field) for i in result.invalid}
    assert bad == {
        ("crm.lead", 2, "probability"),
        ("res.users", 4, "login"),
        ("crm.stage", None, "id"),
    }
    assert all(i.reason for i in result.invalid)
    assert result.counts["crm.lead"].invalid == 1 and result.counts["crm.lead"].created == 22
    assert result.counts["res.users"].created == 6
    assert 2 not in raw_rows(store, "crm.lead")
    # Fixed at the source: it arrives; nothing else moves.
    data = demo_data()
    head = store.log.head()
    again = run_sync(store, SnapshotSource(data))
    assert summary(events(store, head)) == [
        ("OdooOpportunityCreated", "2"),
        ("OdooUserCreated", "4"),
    ]
    assert again.invalid == []


def test_manager_cycle_and_dangling_parent_are_stored_and_reported(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    data = demo_data()
    _find(data, "hr.employee", 1)["parent_id"] = [3, "Zakariya Haddad"]  # 1 → 3 → 2 → 1
    _find(data, "hr.employee", 5)["parent_id"] = [99, "Gone"]
    result = run_sync(store, SnapshotSource(data))
    assert result.counts["hr.employee"].created == 7
    assert any("99" in w and "employee 5" in w for w in result.warnings)
    cycles = [w for w in result.warnings if "cycle" in w]
    assert len(cycles) == 1 and all(n in cycles[0] for n in ("1", "2", "3"))


def test_snapshot_file_errors_are_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(SourceError, match="not valid JSON"):
        SnapshotSource.from_file(bad)
    with pytest.raises(SourceError, match="cannot read"):
        SnapshotSource.from_file(tmp_path / "missing.json")
    with pytest.raises(SourceError, match="list of records"):
        SnapshotSource({"crm.lead": {"id": 1}})


def test_employees_fall_back_to_hr_employee_public_in_a_snapshot(tmp_path: Path) -> None:
    data = demo_data()
    data["hr.employee.public"] = data.pop("hr.employee")
    store = new_store(tmp_path)
    assert run_sync(store, SnapshotSource(data)).counts["hr.employee"].created == 7


def test_groups_resolve_by_name_without_ir_model_data(tmp_path: Path) -> None:
    with_xml, without = new_store(tmp_path, "a.db"), new_store(tmp_path, "b.db")
    data = demo_data()
    run_sync(with_xml, SnapshotSource(data))
    del data["ir.model.data"]
    run_sync(without, SnapshotSource(data))
    assert records(events(with_xml), "User") == records(events(without), "User")


def test_a_model_missing_from_a_snapshot_is_left_alone(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    run_sync(store, demo_source())
    data = demo_data()
    del data["crm.team"]
    data["crm.stage"] = []  # present but empty: every stage is gone
    head = store.log.head()
    result = run_sync(store, SnapshotSource(data))
    assert kinds(events(store, head)) == {"OdooStageDeleted": 4}
    assert "file has no crm.team: left as it is in the file" in result.warnings


class Recorder:
    def __init__(self) -> None:
        self.totals: dict[str, int | None] = {}
        self.done: dict[str, int] = {}
        self.finished: list[str] = []

    def start(self, model: str, total: int | None) -> None:
        self.totals[model] = total
        self.done[model] = 0

    def advance(self, model: str, records: int) -> None:
        self.done[model] += records

    def finish(self, model: str) -> None:
        self.finished.append(model)


def test_progress_is_told_totals_and_advances(tmp_path: Path) -> None:
    rec = Recorder()
    run_sync(new_store(tmp_path), demo_source(), progress=rec, page_size=5)
    assert rec.totals == rec.done
    assert rec.done["crm.lead"] == 23 and rec.done["res.users"] == 7
    assert rec.finished == list(rec.totals)


def test_the_legacy_import_feeds_the_sync_through_a_dict_snapshot(tmp_path: Path) -> None:
    from cqrs_cli.legacy.parse import load_legacy
    from tests.conftest import REPO

    sample = REPO / "tests" / "legacy"
    imported = load_legacy(sample / "data_lake_serving.json", sample / "users.json")
    store = new_store(tmp_path)
    result = run_sync(store, SnapshotSource(imported.snapshot, name="legacy"))
    assert result.invalid == [] and result.events_appended > 0
    assert result.counts["crm.lead"].created == imported.opportunities
    assert {e.metadata["source"] for e in events(store)} == {"legacy"}
    again = run_sync(store, SnapshotSource(imported.snapshot, name="legacy"))
    assert again.events_appended == 0
