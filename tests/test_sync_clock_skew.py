"""Odoo's clock behind ours: the incremental window widens by the measured skew."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cqrs_cli.cli.app import app
from cqrs_cli.sources.odoo import OdooSource
from cqrs_cli.sources.snapshot import demo_source
from cqrs_cli.store.migrations import migrate
from cqrs_cli.sync import run_sync
from tests.conftest import ADMIN, PASSWORD, run_cli
from tests.fake_odoo import FakeOdoo
from tests.helpers import events, new_store

runner = CliRunner()


def source(fake: FakeOdoo) -> OdooSource:
    return OdooSource(fake.url, "demo", ADMIN, PASSWORD, timeout=10)


def recorded_skews(db: Path) -> list[float | None]:
    conn = sqlite3.connect(db)
    try:
        return [
            s for (s,) in conn.execute("SELECT clock_skew_seconds FROM sync_runs ORDER BY rowid")
        ]
    finally:
        conn.close()


def test_a_write_right_after_a_sync_is_read_with_odoo_five_minutes_behind(
    fake: FakeOdoo, tmp_path: Path
) -> None:
    fake.clock_offset = timedelta(minutes=-5)
    store = new_store(tmp_path)
    first = run_sync(store, source(fake))
    head = store.log.head()
    fake.write("crm.lead", 5, {"name": "Written right after the sync"})
    second = run_sync(store, source(fake))
    [event] = events(store, head)
    assert (event.type, event.stream_id) == ("OdooOpportunityUpdated", "5")
    assert second.events_appended == 1
    for result in (first, second):
        assert result.clock_skew is not None and abs(result.clock_skew - 300) < 3
        assert any("behind" in w and "5 min" in w for w in result.warnings)
    skews = recorded_skews(tmp_path / "cqrs.db")
    assert len(skews) == 2 and all(s is not None and abs(s - 300) < 3 for s in skews)


def test_a_small_skew_widens_quietly_and_odoo_ahead_is_only_warned(
    fake: FakeOdoo, tmp_path: Path
) -> None:
    store = new_store(tmp_path)
    quiet = run_sync(store, source(fake))  # the fixture's Odoo is 30 s behind
    assert quiet.clock_skew is not None and abs(quiet.clock_skew - 30) < 3
    assert not any("clock" in w for w in quiet.warnings)
    fake.clock_offset = timedelta(minutes=3)
    ahead = run_sync(store, source(fake))
    assert ahead.clock_skew is not None and abs(ahead.clock_skew + 180) < 3
    assert any("ahead" in w and "3 min" in w for w in ahead.warnings)


def test_the_clock_is_read_without_the_password(fake: FakeOdoo, tmp_path: Path) -> None:
    fake.clock_offset = timedelta(minutes=-5)
    run_sync(new_store(tmp_path), source(fake))
    probes = [body for path, body in fake.requests if "version_info" in path]
    assert len(probes) >= 2  # odoorpc's own, and the clock's
    assert all(PASSWORD.encode() not in body for body in probes)


def test_a_snapshot_has_no_clock(tmp_path: Path) -> None:
    result = run_sync(new_store(tmp_path), demo_source())
    assert result.clock_skew is None
    assert recorded_skews(tmp_path / "cqrs.db") == [None]


def test_migration_5_adds_the_column_to_an_older_file(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "old.db", isolation_level=None)
    from cqrs_cli.store import migrations

    for m in migrations.MIGRATIONS:
        if m.number > 3:
            break
        for statement in m.statements:
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 3")
    conn.execute("INSERT INTO schema_migrations VALUES (1, 'a', 'x'), (2, 'b', 'x'), (3, 'c', 'x')")
    conn.execute(
        "INSERT INTO sync_runs (id, source, mode, started_at, status)"
        " VALUES ('r', 'demo', 'full', 'x', 'succeeded')"
    )
    applied = [m.number for m in migrate(conn)]
    assert 5 in applied
    columns = [r[1] for r in conn.execute("PRAGMA table_info(sync_runs)")]
    assert "clock_skew_seconds" in columns
    assert conn.execute("SELECT id, clock_skew_seconds FROM sync_runs").fetchall() == [("r", None)]
    conn.close()


@pytest.mark.parametrize("real_process", [False, True])
def test_cli_warns_about_the_skew(fake: FakeOdoo, tmp_path: Path, real_process: bool) -> None:
    fake.clock_offset = timedelta(minutes=-5)
    db = str(tmp_path / "c.db")
    args = ["--url", fake.url, "--database", "demo", "--user", ADMIN, "--password", PASSWORD]
    if real_process:
        done = run_cli("--db", db, "sync", *args)
        code, err = done.returncode, done.stderr
    else:
        result = runner.invoke(app, ["--db", db, "sync", *args])
        code, err = result.exit_code, result.stderr
    assert code == 0, err
    warning = [line for line in err.splitlines() if line.startswith("Warning: ")]
    assert len(warning) == 1 and "clock" in warning[0]
    assert "5 min" in warning[0] and "behind" in warning[0]
