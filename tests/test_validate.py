"""`cqrs validate`: what a CI pipeline runs after a sync (exit 0 pass, 3 a failed check)."""

from __future__ import annotations

import json
import sqlite3
from importlib.resources import files
from pathlib import Path
from typing import Any

from cqrs_cli.store.envelope import NewEvent
from cqrs_cli.store.files import open_store
from tests.conftest import ADMIN, PASSWORD, run_cli
from tests.fake_odoo import FakeOdoo


def synced(db: Path) -> Path:
    res = run_cli("--db", str(db), "-q", "sync", "--demo")
    assert res.returncode == 0, res.stderr
    return db


def validate(db: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    res = run_cli("--db", str(db), "validate", "--format", "json", *args)
    return res.returncode, json.loads(res.stdout), res.stderr


def failed(report: dict[str, Any]) -> list[str]:
    return [c["name"] for c in report["checks"] if not c["ok"]]


def test_ci_script_passes_on_the_demo(db_path: Path) -> None:
    code, report, _ = validate(
        synced(db_path), "--expect", "users=7", "--expect", "opportunities=23"
    )
    assert code == 0 and report["ok"] is True
    names = {c["name"] for c in report["checks"]}
    assert {
        "count users",
        "count opportunities",
        "hash chain intact",
        "no orphaned opportunity",
        "no duplicate user login",
    } <= names
    assert {
        f"projection {n} current"
        for n in ("user_profiles", "opportunity_view", "user_access_matrix", "dashboard_metrics")
    } <= names


def test_every_count_key_matches_the_demo_source(db_path: Path) -> None:
    synced(db_path)
    data = json.loads(files("cqrs_cli.sources").joinpath("demo.json").read_text())
    users = [u for u in data["res.users"] if not u["share"] and u["id"] != 1 and u["active"]]
    opportunities = [o for o in data["crm.lead"] if o["type"] == "opportunity"]
    expect = {
        "users": len(users),
        "opportunities": len(opportunities),
        "stages": len(data["crm.stage"]),
        "teams": sum(1 for t in data["crm.team"] if t.get("active", True)),
        "employees": sum(1 for e in data["hr.employee"] if e.get("active", True)),
    }
    args = [a for k, v in expect.items() for a in ("--expect", f"{k}={v}")]
    code, report, _ = validate(db_path, *args)
    assert code == 0, failed(report)


def test_a_changed_count_fails_with_exit_3(db_path: Path) -> None:
    code, report, stderr = validate(synced(db_path), "--expect", "users=8")
    assert code == 3 and report["ok"] is False
    assert failed(report) == ["count users"]
    (check,) = [c for c in report["checks"] if c["name"] == "count users"]
    assert (check["expected"], check["actual"]) == (8, 7)
    assert stderr.strip() == "Error: 1 of 11 checks failed: count users"


def test_a_paused_projection_fails(db_path: Path) -> None:
    synced(db_path)
    with open_store(db_path, write=True) as store:
        # A membership record without an id: the user_profiles handler fails on it.
        store.log.append(
            "crm.team.member",
            "999",
            [NewEvent(type="OdooTeamMemberCreated", data={"record": {"user_id": 3}})],
        )
        from cqrs_cli.projections.runner import catch_up

        assert list(catch_up(store).paused) == ["user_profiles"]
    code, report, _ = validate(db_path)
    assert code == 3
    assert failed(report) == ["projection user_profiles current"]
    (check,) = [c for c in report["checks"] if c["name"] == "projection user_profiles current"]
    assert check["detail"].startswith("paused")


def test_deep_finds_a_corrupted_view_row(db_path: Path) -> None:
    synced(db_path)
    assert validate(db_path, "--deep")[0] == 0
    conn = sqlite3.connect(db_path)
    conn.execute("UPDATE opportunity_view SET name = 'Tampered' WHERE id = 3")
    conn.commit()
    conn.close()
    shallow_code, _, _ = validate(db_path)
    assert shallow_code == 0  # only a replay can see it
    code, report, _ = validate(db_path, "--deep")
    assert code == 3 and failed(report) == ["view opportunity_view equals a rebuild"]
    (check,) = [
        c for c in report["checks"] if c["name"] == "view opportunity_view equals a rebuild"
    ]
    assert "only in live: (3, 'Tampered'" in check["detail"]
    assert "only in rebuilt: (3, 'Lumber: Lobby design'" in check["detail"]
    # The live view is left as it was: validate reports, it does not repair.
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT name FROM opportunity_view WHERE id = 3").fetchone() == (
        "Tampered",
    )
    conn.close()


def test_orphans_duplicates_and_a_broken_chain_are_reported(db_path: Path) -> None:
    synced(db_path)
    with open_store(db_path, write=True) as store:
        orphan = {
            "id": 900,
            "name": "Nobody's",
            "type": "opportunity",
            "active": True,
            "user_id": 4242,
            "stage_id": 1,
            "expected_revenue": 1.0,
            "probability": 10.0,
        }
        twin = {
            "id": 901,
            "login": "vinsha@demo.example",
            "name": "Vinsha Twin",
            "active": True,
            "share": False,
            "company_ids": [1],
            "groups": [],
        }
        store.log.append(
            "crm.lead", "900", [NewEvent(type="OdooOpportunityCreated", data={"record": orphan})]
        )
        store.log.append(
            "res.users", "901", [NewEvent(type="OdooUserCreated", data={"record": twin})]
        )
    conn = sqlite3.connect(db_path)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("UPDATE events SET data = '{}' WHERE position = 5")
    conn.commit()
    conn.close()
    code, report, _ = validate(db_path)
    assert code == 3
    assert {"no orphaned opportunity", "no duplicate user login", "hash chain intact"} <= set(
        failed(report)
    )
    details = {c["name"]: c["detail"] for c in report["checks"]}
    assert "900" in details["no orphaned opportunity"]
    assert "vinsha@demo.example" in details["no duplicate user login"]
    assert "position 5" in details["hash chain intact"]


def test_against_source_catches_records_the_file_lacks(db_path: Path, fake: FakeOdoo) -> None:
    odoo = ["--url", fake.url, "--database", "demo", "--user", ADMIN, "--password", PASSWORD]
    assert run_cli("--db", str(db_path), "-q", "sync", *odoo).returncode == 0
    code, report, _ = validate(db_path, "--against-source", *odoo)
    assert code == 0, failed(report)
    fake.create(
        "crm.lead",
        {
            "name": "Missed",
            "type": "opportunity",
            "user_id": 3,
            "stage_id": 1,
            "expected_revenue": 10.0,
        },
    )
    code, report, _ = validate(db_path, "--against-source", *odoo)
    assert code == 3 and failed(report) == ["opportunities match the source"]
    (check,) = [c for c in report["checks"] if c["name"] == "opportunities match the source"]
    assert check["expected"] == check["actual"] + 1


def test_bad_expectations_are_usage_errors(db_path: Path) -> None:
    synced(db_path)
    for bad in ("users", "widgets=3", "users=seven"):
        res = run_cli("--db", str(db_path), "validate", "--expect", bad)
        assert res.returncode == 2 and res.stderr.startswith("Error: "), bad
    res = run_cli("--db", str(db_path), "validate", "--demo")
    assert res.returncode == 2 and "--against-source" in res.stderr


def test_a_missing_file_cannot_be_validated(db_path: Path) -> None:
    res = run_cli("--db", str(db_path), "validate")
    assert res.returncode == 1 and not db_path.exists()
