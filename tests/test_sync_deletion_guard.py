"""A sync that would delete a large part of a model stops before writing anything.

An account that lost its rights, or a snapshot cut short, looks exactly like a mass
deletion: the sync refuses it unless `--allow-deletions` (docs/sync.md).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cqrs_cli.cli.app import app
from cqrs_cli.sources.odoo import OdooSource
from cqrs_cli.sources.snapshot import SnapshotSource, demo_source
from cqrs_cli.sync import DeletionLimit, MassDeletionError, run_sync
from tests.conftest import ADMIN, PASSWORD, demo_data, run_cli
from tests.fake_odoo import FakeOdoo, Fault
from tests.helpers import events, kinds, new_store

runner = CliRunner()


def file_state(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table the sync writes, row by row."""
    conn = sqlite3.connect(path)
    try:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in ("events", "odoo_raw_data", "sync_runs", "sync_cursors")
        }
    finally:
        conn.close()


def demo_without(model: str, keep: int) -> dict[str, Any]:
    data = demo_data()
    data[model] = data[model][:keep]
    return data


def test_a_snapshot_cut_short_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    run_sync(store, demo_source())
    data = demo_without("crm.lead", 5)  # 25 records in the demo, 23 of them opportunities
    # A change to the first model synced: it must not be written either.
    data["res.users"][2]["name"] = "Renamed before the check"
    before = file_state(tmp_path / "cqrs.db")
    with pytest.raises(MassDeletionError) as err:
        run_sync(store, SnapshotSource(data))
    message = err.value.message
    assert "\n" not in message
    assert "crm.lead" in message and "18 of 23" in message and "78 %" in message
    assert "--allow-deletions" in message
    assert file_state(tmp_path / "cqrs.db") == before
    [over] = err.value.over
    assert (over.model, over.count, over.alive) == ("crm.lead", 18, 23)


def test_every_model_is_checked_before_the_first_write(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    run_sync(store, demo_source())
    data = demo_data()
    # Accounts are the last model synced; users, the first, have a change to write.
    data["res.partner"] = [p for p in data["res.partner"] if not p.get("is_company")]
    data["res.users"][2]["name"] = "A change that must wait"
    before = file_state(tmp_path / "cqrs.db")
    with pytest.raises(MassDeletionError) as err:
        run_sync(store, SnapshotSource(data), deletions=DeletionLimit(count=2))
    assert [(o.model, o.count, o.alive) for o in err.value.over] == [("res.partner", 9, 10)]
    assert file_state(tmp_path / "cqrs.db") == before


def test_allowed_deletions_go_ahead(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    run_sync(store, demo_source())
    head = store.log.head()
    result = run_sync(
        store, SnapshotSource(demo_without("crm.lead", 5)), deletions=DeletionLimit(allowed=True)
    )
    assert result.counts["crm.lead"].deleted == 18
    assert kinds(events(store, head)) == {"OdooOpportunityDeleted": 18}


@pytest.mark.parametrize(
    ("deleted", "limit", "refused"),
    [
        (10, DeletionLimit(), False),  # not more than 10
        (11, DeletionLimit(), True),  # 11 of 23: more than 10 and more than 20 %
        (11, DeletionLimit(count=11), False),
        (11, DeletionLimit(percent=50), False),  # 47.8 %
        (12, DeletionLimit(percent=50), True),  # 52.2 %
        (3, DeletionLimit(count=2, percent=10), True),
    ],
)
def test_thresholds(tmp_path: Path, deleted: int, limit: DeletionLimit, refused: bool) -> None:
    store = new_store(tmp_path)
    run_sync(store, demo_source())
    data = demo_data()
    opportunities = [r["id"] for r in data["crm.lead"] if r["type"] == "opportunity"]
    gone = set(opportunities[:deleted])
    data["crm.lead"] = [r for r in data["crm.lead"] if r["id"] not in gone]
    if refused:
        with pytest.raises(MassDeletionError):
            run_sync(store, SnapshotSource(data), deletions=limit)
    else:
        result = run_sync(store, SnapshotSource(data), deletions=limit)
        assert result.counts["crm.lead"].deleted == deleted


def test_a_small_model_can_lose_everything(tmp_path: Path) -> None:
    """Ten records or fewer are never a mass deletion: the demo's 2 teams may go."""
    store = new_store(tmp_path)
    run_sync(store, demo_source())
    data = demo_data()
    data["crm.team"] = []
    result = run_sync(store, SnapshotSource(data))
    assert result.counts["crm.team"].deleted == 2


def test_an_odoo_account_that_lost_its_rights_deletes_nothing(
    fake: FakeOdoo, tmp_path: Path
) -> None:
    store = new_store(tmp_path)
    run_sync(store, OdooSource(fake.url, "demo", ADMIN, PASSWORD))
    before = file_state(tmp_path / "cqrs.db")
    # Record rules now hide every opportunity from the sync account.
    fake.faults.append(Fault("no_records", model="crm.lead", times=1000))
    with pytest.raises(MassDeletionError) as err:
        run_sync(store, OdooSource(fake.url, "demo", ADMIN, PASSWORD))
    assert "23 of 23 crm.lead" in err.value.message and "100 %" in err.value.message
    assert file_state(tmp_path / "cqrs.db") == before


def test_cli_refuses_then_goes_ahead_with_allow_deletions(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    assert runner.invoke(app, ["--db", str(db), "sync", "--demo"]).exit_code == 0
    snap = tmp_path / "cut.json"
    snap.write_text(json.dumps(demo_without("crm.lead", 5)))
    before = file_state(db)
    refused = runner.invoke(app, ["--db", str(db), "sync", "--from-file", str(snap)])
    assert refused.exit_code == 1
    assert refused.stdout == ""
    line = refused.stderr
    assert line.startswith("Error: ") and line.count("\n") == 1
    assert "18 of 23 crm.lead" in line and "--allow-deletions" in line
    assert file_state(db) == before
    raised = runner.invoke(
        app, ["--db", str(db), "sync", "--from-file", str(snap), "--max-deletions", "20"]
    )
    assert raised.exit_code == 0, raised.output
    assert file_state(db) != before


def test_cli_allow_deletions_in_a_real_process(fake: FakeOdoo, tmp_path: Path) -> None:
    db = str(tmp_path / "c.db")
    args = ["--url", fake.url, "--database", "demo", "--user", ADMIN, "--password", PASSWORD]
    assert run_cli("--db", db, "sync", *args).returncode == 0
    fake.faults.append(Fault("no_records", model="crm.lead", times=1000))
    refused = run_cli("--db", db, "sync", *args)
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "23 of 23 crm.lead" in refused.stderr
    allowed = run_cli("--db", db, "sync", *args, "--allow-deletions", "--format", "json")
    assert allowed.returncode == 0, allowed.stderr
    counts = {r["model"]: r for r in json.loads(allowed.stdout)["counts"]}
    assert counts["crm.lead"]["deleted"] == 23
