"""Odd ids and references are invalid records: reported, skipped, never churned."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cqrs_cli.cli.app import app
from cqrs_cli.sources.odoo import OdooSource
from cqrs_cli.sources.snapshot import SnapshotSource, demo_source
from cqrs_cli.sync import run_sync
from tests.conftest import ADMIN, PASSWORD, demo_data, run_cli
from tests.fake_odoo import FakeOdoo
from tests.helpers import events, new_store

runner = CliRunner()
HUGE = 2**64


def lead(rid: Any, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": rid,
        "name": name,
        "type": "opportunity",
        "active": True,
        "stage_id": [1, "New"],
        "user_id": [4, "Zakariya"],
        "team_id": [1, "Team"],
        "partner_id": False,
        "company_id": [1, "Demo Company"],
        "expected_revenue": 10.0,
        "probability": 10.0,
        "write_date": "2026-01-10 10:00:00",
        **extra,
    }


def odd_snapshot() -> dict[str, Any]:
    data = demo_data()
    data["crm.lead"] += [
        lead("100", "Id as text"),
        lead(101.0, "Id as a float"),
        lead(True, "Id as true"),
        lead(HUGE, "Id above 2^63"),
        lead(-3, "Negative id"),
        lead(None, "No id"),
        lead(102, "Twin A"),
        lead(102, "Twin B"),
    ]
    return data


def test_odd_ids_are_reported_skipped_and_never_churn(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    first = run_sync(store, SnapshotSource(odd_snapshot()))
    counts = first.counts["crm.lead"]
    assert counts.created == 23 and counts.deleted == 0
    assert counts.invalid == 8  # six odd ids and both twins
    ids = {(i.field, i.odoo_id) for i in first.invalid}
    assert ("id", 102) in ids
    reasons = " | ".join(i.reason for i in first.invalid)
    for shown in ("'100'", "101.0", "True", str(HUGE), "-3", "None"):
        assert shown in reasons, shown
    assert "2 times" in reasons
    # `true` is not record 1: record 1 keeps its own name.
    [one] = [e for e in events(store) if e.stream_type == "crm.lead" and e.stream_id == "1"]
    assert one.data["record"]["name"] == demo_data()["crm.lead"][0]["name"]
    assert not [e for e in events(store) if e.stream_id == "102"]

    head = store.log.head()
    second = run_sync(store, SnapshotSource(odd_snapshot()))
    assert second.events_appended == 0 and store.log.head() == head
    assert second.counts["crm.lead"].invalid == 8


def test_twins_of_a_stored_record_keep_it_as_it_was(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    run_sync(store, demo_source())
    head = store.log.head()
    data = demo_data()
    first = data["crm.lead"][0]
    data["crm.lead"].append({**first, "name": "A second copy of record 1"})
    for _ in range(2):
        result = run_sync(store, SnapshotSource(data))
        assert result.counts["crm.lead"].invalid == 2 and result.counts["crm.lead"].deleted == 0
    assert store.log.head() == head


def odd_references() -> list[dict[str, Any]]:
    return [
        lead(200, "User as text", user_id="4"),
        lead(201, "User as true", user_id=[True, "x"]),
        lead(202, "Stage above 2^63", stage_id=[HUGE, "x"]),
        lead(203, "Stage as float", stage_id=3.0),
        lead(204, "Probability not finite", probability=float("inf")),
    ]


def test_odd_references_and_integers_are_invalid(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    data = demo_data()
    data["crm.lead"] += odd_references()
    data["res.users"][2]["company_ids"] = ["1"]
    data["crm.stage"][0]["sequence"] = HUGE
    data["hr.employee"][1]["parent_id"] = [False, "nobody"]
    result = run_sync(store, SnapshotSource(data))
    got = {(i.model, i.odoo_id, i.field) for i in result.invalid}
    assert {
        ("crm.lead", 200, "user_id"),
        ("crm.lead", 201, "user_id"),
        ("crm.lead", 202, "stage_id"),
        ("crm.lead", 203, "stage_id"),
        ("crm.lead", 204, "probability"),
        ("res.users", data["res.users"][2]["id"], "company_ids.0"),
        ("crm.stage", data["crm.stage"][0]["id"], "sequence"),
        ("hr.employee", data["hr.employee"][1]["id"], "parent_id"),
    } <= got
    again = run_sync(store, SnapshotSource(data))
    assert again.events_appended == 0


def test_cli_sync_of_a_snapshot_with_odd_records(tmp_path: Path) -> None:
    data = odd_snapshot()
    snap = tmp_path / "odd.json"
    snap.write_text(json.dumps(data))
    db = str(tmp_path / "c.db")
    first = runner.invoke(app, ["--db", db, "sync", "--from-file", str(snap), "--format", "json"])
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert {r["model"]: r["invalid"] for r in report["counts"]}["crm.lead"] >= 6
    assert str(HUGE) in first.stderr and "Invalid record skipped: crm.lead" in first.stderr
    second = run_cli("--db", db, "sync", "--from-file", str(snap))
    assert second.returncode == 0, second.stderr
    assert "No change: 0 events appended." in second.stderr


def test_odd_values_from_odoo_are_invalid_and_the_rest_goes_on(
    fake: FakeOdoo, tmp_path: Path
) -> None:
    fake.tables["crm.lead"][5]["user_id"] = [HUGE, "Nobody"]
    fake.tables["crm.lead"][6]["stage_id"] = [True, "Odd"]
    store = new_store(tmp_path)
    src = OdooSource(fake.url, "demo", ADMIN, PASSWORD)
    result = run_sync(store, src)
    assert {(i.odoo_id, i.field) for i in result.invalid} == {(5, "user_id"), (6, "stage_id")}
    assert result.counts["crm.lead"].created == 21
    fake.write("crm.lead", 7, {"name": "Still synced"})
    again = run_sync(store, OdooSource(fake.url, "demo", ADMIN, PASSWORD))
    assert again.events_appended == 1 and again.counts["crm.lead"].deleted == 0


@pytest.mark.parametrize(
    ("bad", "denotes_7"), [("7", True), (7.0, True), (True, False), (HUGE, False)]
)
def test_odd_ids_from_odoo_are_invalid(
    fake: FakeOdoo, tmp_path: Path, bad: Any, denotes_7: bool
) -> None:
    store = new_store(tmp_path)
    run_sync(store, OdooSource(fake.url, "demo", ADMIN, PASSWORD))
    # A patched server (or a proxy) answers record 7 with an odd id from now on.
    fake.write("crm.lead", 7, {"name": "Renamed"})
    fake.shown_ids["crm.lead"] = {7: bad}
    first = run_sync(store, OdooSource(fake.url, "demo", ADMIN, PASSWORD))
    assert first.counts["crm.lead"].invalid == 1
    assert repr(bad) in first.invalid[0].reason
    # "7" and 7.0 still say record 7 is there; `true` and 2^64 name no record.
    assert first.counts["crm.lead"].deleted == (0 if denotes_7 else 1)
    assert first.counts["crm.lead"].updated == 0
    head = store.log.head()
    second = run_sync(store, OdooSource(fake.url, "demo", ADMIN, PASSWORD))
    assert second.counts["crm.lead"].invalid == 1 and second.events_appended == 0
    assert store.log.head() == head


def test_true_as_a_group_id_gives_no_rights(tmp_path: Path) -> None:
    """Every internal user is in group 1 (Internal User): `true` must not stand for it."""
    data = demo_data()
    data["ir.model.data"].append(
        {
            "id": 107,
            "module": "sales_team",
            "name": "group_sale_manager",
            "model": "res.groups",
            "res_id": True,
        }
    )
    store = new_store(tmp_path)
    run_sync(store, SnapshotSource(data))
    groups = {
        e.data["record"]["login"]: e.data["record"]["groups"]
        for e in events(store)
        if e.type == "OdooUserCreated"
    }
    assert groups["vinsha@demo.example"] == ["sales_team.group_sale_salesman"]


def test_odd_group_ids_of_a_user_are_invalid(tmp_path: Path) -> None:
    data = demo_data()
    vinsha = next(u for u in data["res.users"] if u["id"] == 3)
    vinsha["groups_id"] = [True, "12"]
    store = new_store(tmp_path)
    result = run_sync(store, SnapshotSource(data))
    assert [(i.model, i.odoo_id, i.field) for i in result.invalid] == [
        ("res.users", 3, "groups_id")
    ]
    assert run_sync(store, SnapshotSource(data)).events_appended == 0


def test_twins_on_a_page_boundary_stay_together(tmp_path: Path) -> None:
    data = demo_data()
    twin = dict(data["crm.lead"][9], name="Another copy of record 10")
    data["crm.lead"].append(twin)
    pages = list(SnapshotSource(data).search_read("crm.lead", [], ["name"], page_size=10))
    assert [len(p) for p in pages] == [11, 10, 5]
    result = run_sync(new_store(tmp_path), SnapshotSource(data), page_size=10)
    assert result.counts["crm.lead"].invalid == 2
    assert [(i.odoo_id, i.field) for i in result.invalid] == [(10, "id")]
