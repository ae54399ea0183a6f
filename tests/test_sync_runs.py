"""`sync_runs`: a run killed outright is marked `interrupted` by the next one, `status`
shows the last run, every run records the head it reached; files at schema 3 migrate."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cqrs_cli.store.envelope import NewEvent
from cqrs_cli.store.log import EventLog
from cqrs_cli.store.migrations import LATEST, MIGRATIONS
from tests.conftest import ADMIN, PASSWORD, REPO, run_cli
from tests.fake_odoo import FakeOdoo, Fault


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def odoo_args(fake: FakeOdoo) -> list[str]:
    return ["--url", fake.url, "--database", "demo", "--user", ADMIN, "--password", PASSWORD]


def rows(db: Path, query: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(query).fetchall()
    finally:
        conn.close()


def last_sync(db: Path) -> dict[str, Any]:
    res = run_cli("--db", str(db), "status", "--format", "json")
    assert res.returncode == 0, res.stderr
    value: dict[str, Any] = json.loads(res.stdout)["last_sync"]
    return value


def test_a_killed_sync_is_shown_interrupted_and_marked_so_by_the_next(
    fake: FakeOdoo, tmp_path: Path
) -> None:
    db = tmp_path / "cqrs.db"
    # Odoo hangs on the opportunities: users, employees, teams and stages are committed.
    fake.faults.append(Fault("slow", model="crm.lead", method="search_read", delay=10))
    proc = subprocess.Popen(
        [sys.executable, "-m", "cqrs_cli", "--db", str(db), "-q", "sync", *odoo_args(fake)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: ("crm.lead", "search_read") in [c[:2] for c in fake.calls], "the hang")
    proc.kill()
    proc.wait()
    [(run_id, status, pid, host, position, recorded)] = rows(
        db, "SELECT id, status, pid, host, head_position, head_hash FROM sync_runs"
    )
    (count, head_hash) = rows(
        db, "SELECT count(*), (SELECT hash FROM events ORDER BY position DESC LIMIT 1) FROM events"
    )[0]
    assert (status, pid, host) == ("running", proc.pid, socket.gethostname())
    assert count > 0 and (position, recorded) == (count, head_hash)  # the pages it committed

    shown = last_sync(db)  # status tells the truth before anyone writes
    assert (shown["id"], shown["status"], shown["finished_at"]) == (run_id, "interrupted", None)
    assert shown["error"] == f"interrupted: its process (pid {proc.pid} on {host}) is gone"
    assert shown["events"] == count  # how far it got
    table = run_cli("--db", str(db), "status", "--format", "table")
    assert "interrupted" in table.stdout

    fake.faults.clear()
    res = run_cli("--db", str(db), "sync", "--format", "json", *odoo_args(fake))
    assert res.returncode == 0, res.stderr
    assert (
        f"Warning: sync run {run_id} had stopped without finishing (its process is gone): "
        "marked interrupted"
    ) in res.stderr
    [(status, finished, error)] = rows(
        db, f"SELECT status, finished_at, error FROM sync_runs WHERE id = '{run_id}'"
    )
    assert status == "interrupted" and finished and error == shown["error"]
    shown = last_sync(db)
    assert shown["status"] == "succeeded" and shown["id"] != run_id
    assert shown["events"] == 59 - count and shown["head_position"] == 59
    assert shown["source"] == "odoo" and shown["error"] is None


def test_a_run_whose_process_lives_stays_running(tmp_path: Path) -> None:
    db = tmp_path / "cqrs.db"
    assert run_cli("--db", str(db), "-q", "sync", "--demo").returncode == 0
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        conn = sqlite3.connect(db)
        conn.execute(
            "INSERT INTO sync_runs (id, source, mode, started_at, status, pid, host)"
            " VALUES ('other', 'odoo', 'full', '2030-01-01T00:00:00Z', 'running', ?, ?)",
            (alive.pid, socket.gethostname()),
        )
        conn.commit()
        conn.close()
        assert last_sync(db)["status"] == "running"
        assert run_cli("--db", str(db), "-q", "sync", "--demo").returncode == 0
        assert rows(db, "SELECT status FROM sync_runs WHERE id = 'other'") == [("running",)]
    finally:
        alive.kill()
        alive.wait()
    res = run_cli("--db", str(db), "sync", "--demo")
    assert "Warning: sync run other had stopped without finishing" in res.stderr
    assert rows(db, "SELECT status FROM sync_runs WHERE id = 'other'") == [("interrupted",)]


def test_status_with_no_sync_run(tmp_path: Path) -> None:
    db = tmp_path / "cqrs.db"
    assert run_cli("--db", str(db), "migrate").returncode == 0
    assert last_sync(db) is None
    table = run_cli("--db", str(db), "status", "--format", "table")
    assert table.returncode == 0 and "no sync run yet" in table.stdout


def test_every_run_records_the_head_it_reached(tmp_path: Path) -> None:
    db = tmp_path / "cqrs.db"
    for _ in range(2):  # the second appends nothing: it records the head it found
        assert run_cli("--db", str(db), "-q", "sync", "--demo").returncode == 0
    recorded = rows(db, "SELECT head_position, head_hash FROM sync_runs ORDER BY started_at")
    [(head_hash,)] = rows(db, "SELECT hash FROM events WHERE position = 59")
    assert recorded == [(59, head_hash), (59, head_hash)]


def schema_3_file(db: Path) -> None:
    """A file as cqrs wrote it at schema 3, with a log, sync runs and checkpoints."""
    conn = sqlite3.connect(db, isolation_level=None)
    for migration in MIGRATIONS[:3]:
        for statement in migration.statements:
            conn.execute(statement)
        conn.execute(
            "INSERT INTO schema_migrations VALUES (?, ?, '2025-01-01T00:00:00Z')",
            (migration.number, migration.name),
        )
    conn.execute("PRAGMA user_version = 3")
    EventLog(conn).append(
        "crm.stage",
        "1",
        [NewEvent(type="OdooStageCreated", data={"record": {"id": 1, "name": "New"}})],
    )
    conn.executemany(
        "INSERT INTO sync_runs (id, source, mode, started_at, finished_at, status, counts,"
        " events_appended, error) VALUES (?,?,?,?,?,?,?,?,?)",
        [
            ("a", "odoo", "full", "2025-01-01T00:00:00Z", "2025-01-01T00:01:00Z", "succeeded",
             '{"crm.stage": {"created": 1}}', 1, None),
            ("b", "odoo", "incremental", "2025-01-02T00:00:00Z", "2025-01-02T00:00:09Z",
             "failed", "{}", 0, "Odoo did not answer in time"),
            ("c", "file", "full", "2025-01-03T00:00:00Z", None, "running", "{}", 0, None),
        ],
    )  # fmt: skip
    conn.close()
    os.chmod(db, 0o600)


def test_a_schema_3_file_migrates_and_keeps_its_runs(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    schema_3_file(db)
    before = rows(db, "SELECT * FROM sync_runs ORDER BY id")
    res = run_cli("--db", str(db), "migrate")
    assert res.returncode == 0, res.stderr
    assert "004_sync_runs_interrupted_and_head" in res.stderr
    assert rows(db, "PRAGMA user_version") == [(LATEST,)]
    old_columns = [
        "id", "source", "mode", "started_at", "finished_at", "status", "counts",
        "events_appended", "error",
    ]  # fmt: skip
    columns = [r[1] for r in rows(db, "PRAGMA table_info(sync_runs)")]
    assert columns[: len(old_columns)] == old_columns
    assert {"pid", "host", "head_position", "head_hash"} <= set(columns)
    after = rows(db, f"SELECT {', '.join(old_columns)} FROM sync_runs ORDER BY id")
    assert after == before
    assert rows(db, "SELECT head_position, pid FROM sync_runs") == [(None, None)] * 3
    assert run_cli("--db", str(db), "verify").returncode == 0
    # The run an older cqrs left `running` has no process to wait for: the next sync ends it.
    assert last_sync(db)["status"] == "interrupted"
    res = run_cli("--db", str(db), "sync", "--demo")
    assert res.returncode == 0, res.stderr
    assert "Warning: sync run c had stopped without finishing" in res.stderr
    statuses = dict(rows(db, "SELECT id, status FROM sync_runs WHERE id IN ('a', 'b', 'c')"))
    assert statuses == {"a": "succeeded", "b": "failed", "c": "interrupted"}
