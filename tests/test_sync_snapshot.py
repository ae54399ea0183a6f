"""The sync engine through snapshot sources: the embedded demo and in-memory dicts.

`TestSnapshotContract` runs the contract every source keeps (tests/source_contract.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from cqrs_cli.sources import SnapshotSource, demo_source
from cqrs_cli.sources.base import SourceError
from cqrs_cli.store.files import Store
from cqrs_cli.sync import run_sync
from tests.conftest import demo_data
from tests.helpers import events, kinds, new_store, raw_rows, summary
from tests.source_contract import Org, Outcome, SourceContract, reported_by_sync


def records(evs: list[Any], entity: str) -> dict[int, dict[str, Any]]:
    return {int(e.stream_id): e.data["record"] for e in evs if e.type == f"Odoo{entity}Created"}


def test_each_run_is_recorded_with_its_counts(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    first = run_sync(store, demo_source())
    second = run_sync(store, demo_source())
    runs = store.conn.execute(
        "SELECT id, status, events_appended, counts FROM sync_runs ORDER BY started_at"
    ).fetchall()
    assert [(r[0], r[1], r[2]) for r in runs] == [
        (first.run_id, "succeeded", 59),
        (second.run_id, "succeeded", 0),
    ]
    assert json.loads(runs[0][3])["crm.lead"]["created"] == 23
    assert json.loads(runs[1][3])["crm.lead"]["unchanged"] == 23


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


def test_invalid_records_name_their_field_and_reason(tmp_path: Path) -> None:
    """The contract checks which records are skipped; here, what the report says."""
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
    assert 2 not in raw_rows(store, "crm.lead")


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


class TestSnapshotContract(SourceContract):
    """A snapshot is a dict of model → records; a change is an edit of the dict."""

    source_name = "file"

    def start(self, org: Org, *, employees_public: bool = False, no_xml_ids: bool = False) -> None:
        if employees_public:
            org["hr.employee.public"] = org.pop("hr.employee")
        if no_xml_ids:
            del org["ir.model.data"]
        self.org = org

    def _record(self, model: str, odoo_id: int) -> dict[str, Any]:
        return _find(self.org, model, odoo_id)

    def change(self, model: str, odoo_id: int, values: dict[str, Any]) -> None:
        self._record(model, odoo_id).update(values)

    def delete(self, model: str, odoo_id: int) -> None:
        self.org[model] = [r for r in self.org[model] if r["id"] != odoo_id]

    def sync(self, store: Store) -> Outcome:
        result = run_sync(store, SnapshotSource(copy.deepcopy(self.org)))
        return Outcome(result, reported_by_sync(result))
