"""One rebuild (or deep validation) per file at a time, private scratch tables, and the
scratch tables a killed rebuild leaves: listed by `status`, dropped at the next write."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cqrs_cli.store.envelope import NewEvent
from cqrs_cli.store.files import open_store
from tests.conftest import REPO, run_cli
from tests.demo_file import synced_copy


@pytest.fixture
def synced(tmp_path: Path) -> Path:
    return synced_copy(tmp_path)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def scratch_tables(db: Path) -> list[str]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%rebuild%'"
            )
        ]
    finally:
        conn.close()


def status(db: Path) -> dict[str, Any]:
    res = run_cli("--db", str(db), "status", "--format", "json")
    assert res.returncode == 0, res.stderr
    value: dict[str, Any] = json.loads(res.stdout)
    return value


def deep_ok(db: Path) -> None:
    res = run_cli("--db", str(db), "validate", "--deep", "--format", "json")
    assert res.returncode == 0, res.stdout + res.stderr
    assert all(p["state"] == "current" for p in status(db)["projections"])
    assert scratch_tables(db) == []


class Slow:
    """`tests/slow_rebuild.py` in a real process: started, held after its first page."""

    def __init__(self, db: Path, signals: Path, what: str) -> None:
        signals.mkdir(exist_ok=True)
        self.signals = signals
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        env.pop("CQRS_DEBUG", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.slow_rebuild", str(db), str(signals), what],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        wait_for(self.started, f"the {what} to start")

    def started(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"the slow process ended early: {self.proc.communicate()}")
        return (self.signals / "started").exists()

    def finish(self) -> tuple[int, str, str]:
        (self.signals / "go").touch()
        out, err = self.proc.communicate(timeout=120)
        return self.proc.returncode, out, err

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)


@pytest.fixture
def slow(synced: Path, tmp_path: Path) -> Iterator[Callable[[str], Slow]]:
    started: list[Slow] = []

    def start(what: str) -> Slow:
        s = Slow(synced, tmp_path / f"signals-{len(started)}", what)
        started.append(s)
        return s

    yield start
    for s in started:
        if s.proc.poll() is None:
            s.kill()


def busy_line(pid: int) -> re.Pattern[str]:
    return re.compile(
        rf"Error: \S+cqrs\.db is busy: its rebuild lock is held by pid {pid} "
        r"\(slow_rebuild\.py .*\) since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ; try again later\n"
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("rebuild", ["rebuild", "--all"]),
        ("rebuild", ["validate", "--deep"]),
        ("deep", ["rebuild", "--projection", "opportunity_view"]),
        ("deep", ["validate", "--deep"]),
    ],
)
def test_a_second_run_is_refused_naming_the_first(
    synced: Path, slow: Callable[[str], Slow], first: str, second: list[str]
) -> None:
    running = slow(first)
    res = run_cli("--db", str(synced), *second)
    assert res.returncode == 1, res.stdout + res.stderr
    assert busy_line(running.proc.pid).fullmatch(res.stderr), res.stderr
    code, out, err = running.finish()
    assert code == 0, err
    if first == "deep":  # the deep validation it ran found the views right
        assert all(diff == [] for diff in json.loads(out).values())
    deep_ok(synced)


def test_status_names_the_running_rebuild_and_a_query_leaves_its_tables(
    synced: Path, slow: Callable[[str], Slow]
) -> None:
    running = slow("rebuild")
    mine = scratch_tables(synced)
    assert mine and all(re.search(r"__rebuild_[0-9a-f]{12}$", n) for n in mine)
    value = status(synced)
    assert value["orphans"] == []  # they belong to a rebuild still running
    [lock] = value["locks"]
    assert (lock["name"], lock["pid"]) == ("rebuild", running.proc.pid)
    # A query answers meanwhile, from the old views.
    view = run_cli("--db", str(synced), "view", "--as", "vinsha", "--format", "json")
    assert view.returncode == 0, view.stderr
    assert scratch_tables(synced) == mine
    code, _, err = running.finish()
    assert code == 0, err
    deep_ok(synced)


def test_a_killed_rebuild_leaves_orphans_that_status_lists_and_the_next_write_drops(
    synced: Path, slow: Callable[[str], Slow]
) -> None:
    slow("rebuild").kill()
    orphans = scratch_tables(synced)
    assert orphans
    value = status(synced)
    assert sorted(value["orphans"]) == sorted(orphans)
    assert value["locks"] == []  # the kernel released the dead process's lock
    table = run_cli("--db", str(synced), "status")
    assert re.search(
        rf"Warning: {len(orphans)} scratch tables left by an interrupted rebuild "
        r"\(\*__rebuild_[0-9a-f]{12}; dropped at the next write\)\n",
        table.stderr,
    ), table.stderr
    # The views are untouched: a killed rebuild never swapped anything in.
    assert run_cli("--db", str(synced), "verify").returncode == 0
    sync = run_cli("--db", str(synced), "-q", "sync", "--demo")  # the next write
    assert sync.returncode == 0, sync.stderr
    assert scratch_tables(synced) == []
    assert status(synced)["orphans"] == []
    deep_ok(synced)


def test_a_killed_rebuild_does_not_block_the_next_rebuild(
    synced: Path, slow: Callable[[str], Slow]
) -> None:
    slow("rebuild").kill()
    res = run_cli("--db", str(synced), "rebuild", "--all")
    assert res.returncode == 0, res.stderr
    deep_ok(synced)


def test_scratch_tables_of_an_older_cqrs_are_orphans_too(synced: Path) -> None:
    conn = sqlite3.connect(synced)
    conn.execute("CREATE TABLE opportunity_view__rebuild (x)")
    conn.commit()
    conn.close()
    assert status(synced)["orphans"] == ["opportunity_view__rebuild"]
    view = run_cli("--db", str(synced), "view", "--as", "vinsha", "--format", "json")
    assert view.returncode == 0, view.stderr
    assert scratch_tables(synced) == ["opportunity_view__rebuild"]  # a read never writes
    sync = run_cli("--db", str(synced), "-q", "sync", "--demo")  # the next write
    assert sync.returncode == 0, sync.stderr
    assert scratch_tables(synced) == []


def append_updates(db: Path, count: int) -> None:
    """A longer log: `count` updates of the demo's opportunities."""
    with open_store(db, write=True) as store:
        leads = [
            e.data["record"] for e in store.log.read_all() if e.type == "OdooOpportunityCreated"
        ]
        for start in range(0, count, 5000):
            batch = []
            for i in range(start, min(count, start + 5000)):
                rec = {**leads[i % len(leads)], "expected_revenue": float(i)}
                event = NewEvent(
                    type="OdooOpportunityUpdated",
                    data={"record": rec, "changes": {}},
                    event_id=f"update-{i}",
                )
                batch.append(("crm.lead", str(rec["id"]), [event], "any"))
            store.log.append_many(batch)


def test_two_rebuild_processes_at_once(synced: Path) -> None:
    append_updates(synced, 30_000)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("CQRS_DEBUG", None)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "cqrs_cli", "--db", str(synced), "-q", "rebuild", "--all"],
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        # Each one either rebuilt, or was refused while the other held the file.
        assert proc.returncode == 0 or (
            proc.returncode == 1 and "rebuild lock is held by" in err
        ), err
    assert any(p.returncode == 0 for p in procs)
    deep_ok(synced)
