"""The foundation commands as a user meets them: migrate, verify, events, bad files."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import sqlite3
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cqrs_cli import __version__
from cqrs_cli.cli.app import app
from cqrs_cli.store.envelope import EventMetadata, NewEvent
from cqrs_cli.store.files import open_store
from cqrs_cli.store.migrations import LATEST, MIGRATIONS
from tests.conftest import run_cli

runner = CliRunner()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def seed(db: Path) -> None:
    with open_store(db, write=True) as s:
        s.log.append(
            "crm.lead",
            "1",
            [
                NewEvent(
                    type="OdooOpportunityCreated",
                    data={"record": {"id": 1}},
                    metadata=EventMetadata(source="demo"),
                ),
                NewEvent(type="OdooOpportunityUpdated", data={"record": {"id": 1}, "changes": {}}),
            ],
        )
        s.log.append("res.users", "2", [NewEvent(type="OdooUserCreated", data={"record": {}})])


def test_migrate_creates_private_file_and_is_idempotent(db_path: Path) -> None:
    first = runner.invoke(app, ["--db", str(db_path), "migrate"])
    assert first.exit_code == 0, first.output
    assert "001_create_event_store" in first.stderr
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    second = runner.invoke(app, ["--db", str(db_path), "migrate"])
    assert second.exit_code == 0 and "up to date" in second.stderr
    status = runner.invoke(app, ["--db", str(db_path), "migrate", "--status", "--format", "json"])
    rows = json.loads(status.stdout)
    assert [r["state"] for r in rows] == ["applied"] * len(MIGRATIONS)


def test_migrate_status_shows_pending_on_an_old_file(db_path: Path) -> None:
    with open_store(db_path, write=True):
        pass
    conn = sqlite3.connect(db_path)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("DELETE FROM schema_migrations WHERE number > 1")
    conn.commit()
    conn.close()
    status = runner.invoke(app, ["--db", str(db_path), "migrate", "--status", "--format", "json"])
    assert [r["state"] for r in json.loads(status.stdout)][:2] == ["applied", "pending"]
    verify = runner.invoke(app, ["--db", str(db_path), "verify"])
    assert verify.exit_code == 1 and "run `cqrs --db" in verify.stderr


def test_verify_ok_then_broken_chain_exits_3(db_path: Path) -> None:
    seed(db_path)
    ok = run_cli("--db", str(db_path), "verify")
    assert ok.returncode == 0 and "OK: 3 events" in ok.stdout
    conn = sqlite3.connect(db_path)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("UPDATE events SET type = 'Forged' WHERE position = 2")
    conn.commit()
    conn.close()
    bad = run_cli("--db", str(db_path), "verify")
    assert bad.returncode == 3
    assert bad.stderr.strip() == (
        "Error: chain broken at position 2: hash does not match the content "
        "(1 events before it are intact)"
    )


def test_events_json_items_and_filters(db_path: Path) -> None:
    seed(db_path)
    out = runner.invoke(app, ["--db", str(db_path), "events", "--format", "json"])
    items = json.loads(out.stdout)
    assert [i["position"] for i in items] == [1, 2, 3]
    assert set(items[0]) >= {
        "position",
        "event_id",
        "stream_type",
        "stream_id",
        "version",
        "type",
        "data",
        "metadata",
        "recorded_at",
    }
    assert items[0]["metadata"] == {"source": "demo"}

    def positions(*args: str) -> list[int]:
        res = runner.invoke(app, ["--db", str(db_path), "events", "--format", "json", *args])
        assert res.exit_code == 0, res.output
        return [i["position"] for i in json.loads(res.stdout)]

    assert positions("--stream", "crm.lead:1") == [1, 2]
    assert positions("--stream", "crm.lead:1", "--newest") == [2, 1]
    assert positions("--type", "OdooUserCreated") == [3]
    assert positions("--after", "1", "--limit", "1") == [2]
    assert positions("--newest", "--limit", "2") == [3, 2]


def test_events_csv_and_tabulate_formats(db_path: Path) -> None:
    seed(db_path)
    out = runner.invoke(app, ["--db", str(db_path), "events", "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [r["type"] for r in rows] == [
        "OdooOpportunityCreated",
        "OdooOpportunityUpdated",
        "OdooUserCreated",
    ]
    md = runner.invoke(app, ["--db", str(db_path), "events", "--format", "github"])
    header = md.stdout.splitlines()[0]
    assert header.startswith("|") and "position" in header and "recorded_at" in header
    bad = runner.invoke(app, ["--db", str(db_path), "events", "--format", "xml"])
    assert bad.exit_code == 2 and bad.stderr.startswith("Error: unknown format 'xml'")


def test_db_from_environment(db_path: Path) -> None:
    res = run_cli("migrate", env={"CQRS_DB": str(db_path)})
    assert res.returncode == 0 and db_path.exists()


def test_version() -> None:
    res = run_cli("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"cqrs {__version__}"


def test_usage_error_exits_2() -> None:
    res = run_cli("events", "--limit", "zero")
    assert res.returncode == 2


@pytest.mark.parametrize("case", ["missing_dir", "not_sqlite", "foreign_sqlite", "newer"])
def test_bad_files_are_refused_and_untouched(tmp_path: Path, case: str) -> None:
    path = tmp_path / "x.db"
    if case == "missing_dir":
        path = tmp_path / "nowhere" / "x.db"
        expected = "does not exist"
    elif case == "not_sqlite":
        path.write_text("hello, I am a text file\n" * 10)
        expected = "not a SQLite database"
    elif case == "foreign_sqlite":
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE invoices (id INTEGER)")
        conn.commit()
        conn.close()
        expected = "not a cqrs file"
    else:
        with open_store(path, write=True):
            pass
        conn = sqlite3.connect(path)
        conn.execute(f"PRAGMA user_version = {LATEST + 5}")
        conn.close()
        expected = "newer than this cqrs knows"
    before = digest(path) if path.exists() else None
    for command in (["migrate"], ["verify"], ["events"]):
        res = run_cli("--db", str(path), *command)
        assert res.returncode == 1, (command, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ") and expected in lines[0]
        assert "Traceback" not in res.stderr
    assert (digest(path) if path.exists() else None) == before


@pytest.fixture
def read_only(db_path: Path) -> Iterator[Path]:
    """A cqrs file this process cannot write: mode 0400, or immutable when we are root."""
    with open_store(db_path, write=True):
        pass
    if os.geteuid() != 0:
        db_path.chmod(0o400)
        yield db_path
        db_path.chmod(0o600)
        return
    # Root ignores permission bits; the immutable attribute binds root too.
    if (
        shutil.which("chattr") is None
        or subprocess.run(["chattr", "+i", str(db_path)], capture_output=True).returncode
    ):
        pytest.skip("cannot make a file unwritable for root here (no chattr +i)")
    try:
        yield db_path
    finally:
        subprocess.run(["chattr", "-i", str(db_path)], check=True)


def test_unwritable_file_is_refused(read_only: Path) -> None:
    before = digest(read_only)
    for command in (["migrate"], ["sync", "--demo"]):
        res = run_cli("--db", str(read_only), *command)
        assert res.returncode == 1, res.stderr
        assert res.stderr.strip() == f"Error: cannot write {read_only}: permission denied"
    assert digest(read_only) == before


def test_unwritable_directory_is_refused(tmp_path: Path) -> None:
    # Root ignores permission bits, so use a path whose parent is a file.
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = run_cli("--db", str(blocker / "x.db"), "migrate")
    assert res.returncode == 1 and res.stderr.startswith("Error: ")


def test_missing_file_for_a_read_command_says_what_to_do(db_path: Path) -> None:
    res = run_cli("--db", str(db_path), "verify")
    assert res.returncode == 1 and "run `cqrs --db" in res.stderr
    assert not db_path.exists()


def test_debug_shows_traceback(tmp_path: Path) -> None:
    res = run_cli("--db", str(tmp_path / "none" / "x.db"), "verify", env={"CQRS_DEBUG": "1"})
    assert res.returncode != 0 and "Traceback" in res.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["view", "--as", "vinsha"],
        ["whoami-can-see", "--as", "vinsha"],
        ["metrics", "--as", "vinsha"],
        ["users"],
        ["status"],
        ["rebuild", "--all"],
        ["dead-letters", "--retry"],
        ["validate"],
        ["events"],
    ],
)
def test_queries_do_not_create_a_missing_file(db_path: Path, command: list[str]) -> None:
    res = run_cli("--db", str(db_path), *command)
    assert res.returncode == 1
    assert res.stderr.strip() == (
        f"Error: no database at {db_path}; run `cqrs --db {db_path} migrate` (or a sync) first"
    )
    assert not db_path.exists()
