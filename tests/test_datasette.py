"""A file Datasette and sqlite-utils understand at a glance: the views link to each other by
declared foreign keys (never enforced), and `cqrs datasette-metadata` hides the internal
tables and describes each view and column. One test drives the real Datasette."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cqrs_cli.app.datasette import CATALOG
from cqrs_cli.cli.app import app
from tests.conftest import demo_data, run_cli
from tests.demo_file import synced_copy

runner = CliRunner()

# (table, column) → (table, column): the links between the views.
LINKS = {
    ("opportunity_view", "user_id"): ("user_profiles", "user_id"),
    ("opportunity_view", "manager_id"): ("user_profiles", "user_id"),
    ("user_profiles", "manager_id"): ("user_profiles", "user_id"),
    ("user_access_rows", "user_id"): ("user_profiles", "user_id"),
    ("user_access_rows", "opportunity_id"): ("opportunity_view", "id"),
}
PUBLIC = set(CATALOG)


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    db = tmp_path / "demo.db"
    synced_copy(tmp_path).rename(db)
    return db


def tables(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def columns(db: Path, table: str) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [r[1] for r in conn.execute("SELECT * FROM pragma_table_info(?)", (table,))]


def test_sqlite_utils_sees_the_links_and_every_one_holds_in_the_demo(demo: Path) -> None:
    import sqlite_utils

    found = {
        (fk.table, fk.column): (fk.other_table, fk.other_column)
        for name in sqlite_utils.Database(demo).table_names()
        for fk in sqlite_utils.Database(demo)[name].foreign_keys
    }
    assert found == LINKS
    with sqlite3.connect(demo) as conn:
        conn.execute("SELECT count(*) FROM user_access_rows")
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_the_foreign_keys_are_never_enforced(tmp_path: Path) -> None:
    """An opportunity may name a user the sync never saw, and each view moves on its own:
    enforced, the keys would pause views and break rebuilds (docs/architecture.md)."""
    data = demo_data()
    data["crm.lead"][0]["user_id"] = [99, "Somebody we cannot read"]
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps(data))
    db = str(tmp_path / "cqrs.db")
    assert run_cli("-q", "--db", db, "sync", "--from-file", str(snap)).returncode == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT user_id FROM opportunity_view WHERE id = 1").fetchone() == (99,)
        assert conn.execute("PRAGMA foreign_key_check(opportunity_view)").fetchall() == [
            ("opportunity_view", 1, "user_profiles", 1)
        ]
    rebuilt = run_cli("-q", "--db", db, "rebuild", "--projection", "user_profiles")
    assert rebuilt.returncode == 0, rebuilt.stderr
    for user in data["res.users"]:
        user["name"] += " (renamed)"  # every profile rewritten while opportunities point at them
        user["write_date"] = "2026-02-01 00:00:00"
    snap.write_text(json.dumps(data))
    assert run_cli("-q", "--db", db, "sync", "--from-file", str(snap)).returncode == 0
    status = json.loads(run_cli("--db", db, "status", "--format", "json").stdout)
    assert {p["state"] for p in status["projections"]} == {"current"}
    # The rebuild's swap (drop, rename) left the links pointing at the live table.
    with sqlite3.connect(db) as conn:
        parents = conn.execute("SELECT \"table\" FROM pragma_foreign_key_list('opportunity_view')")
        assert {p for (p,) in parents} == {"user_profiles"}


def _metadata(demo: Path, *args: str) -> dict[str, Any]:
    res = runner.invoke(app, ["--db", str(demo), "datasette-metadata", *args])
    assert res.exit_code == 0, res.stderr
    value: dict[str, Any] = json.loads(res.stdout)
    return value


def test_the_metadata_hides_the_machinery_and_describes_every_view_column(demo: Path) -> None:
    with sqlite3.connect(demo) as conn:  # what a killed rebuild leaves behind
        conn.execute("CREATE TABLE opportunity_view__rebuild_0123456789ab (id INTEGER)")
    value = _metadata(demo)
    described = value["databases"]["demo"]["tables"]
    assert set(described) == tables(demo)
    hidden = {name for name, t in described.items() if t.get("hidden")}
    assert hidden == tables(demo) - PUBLIC
    assert {
        "odoo_raw_data",
        "sync_runs",
        "checkpoints",
        "ov_records",
        "uam_opportunities",
    } <= hidden
    assert "opportunity_view__rebuild_0123456789ab" in hidden
    for name in PUBLIC:
        entry = described[name]
        assert entry["description"] and not entry.get("hidden")
        # Every column the file has is described, and only those.
        assert list(entry["columns"]) == columns(demo, name), name
        assert set(CATALOG[name].columns) == set(columns(demo, name)), name
        assert all(text.strip() for text in entry["columns"].values())
    assert described["user_profiles"]["label_column"] == "login"
    assert list(_metadata(demo, "--name", "crm")["databases"]) == ["crm"]


def test_the_metadata_file_in_a_real_process(demo: Path) -> None:
    out = demo.parent / "meta.json"
    res = run_cli("datasette-metadata", "--db", str(demo), "--output", str(out))
    assert res.returncode == 0 and res.stdout == ""
    assert res.stderr.startswith(f"Wrote {out}: 6 tables described, ")
    assert json.loads(out.read_text())["databases"]["demo"]["tables"]["events"]["columns"]


def test_datasette_browses_the_demo_file_with_links_and_hidden_tables(demo: Path) -> None:
    from datasette.app import Datasette

    meta = _metadata(demo)

    async def browse() -> tuple[dict[str, Any], list[dict[str, Any]], str]:
        ds = Datasette(immutables=[str(demo)], metadata=meta)
        await ds.invoke_startup()
        database = (await ds.client.get("/demo.json")).json()
        rows = await ds.client.get("/demo/opportunity_view.json?_shape=array&_size=max&_labels=on")
        page = await ds.client.get("/demo/opportunity_view?_size=5")
        return database, rows.json(), page.text

    database, rows, page = asyncio.run(browse())
    listed = {t["name"]: t for t in database["tables"]}
    assert {name for name, t in listed.items() if not t["hidden"]} == PUBLIC
    assert database["hidden_count"] == len(tables(demo) - PUBLIC)
    links = {
        (name, fk["column"]): (fk["other_table"], fk["other_column"])
        for name, t in listed.items()
        for fk in t["foreign_keys"]["outgoing"]
    }
    assert links == LINKS
    # One view's rows, each salesperson a link labelled with the login.
    assert [r["id"] for r in rows] == list(range(1, 24))
    first = rows[0]
    assert first["name"] == "Deco: Conference tables" and first["expected_revenue"] == 8750.0
    assert first["user_id"] == {"value": 3, "label": "vinsha@demo.example"}
    assert '<a href="/demo/user_profiles/3">vinsha@demo.example</a>' in page
    assert "Probability of winning, in %." in page  # the column descriptions are shown
