"""`cqrs backup PATH`: a consistent copy of a live file, private, verified, never over
another file."""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli
from tests.demo_file import synced_copy

OK = re.compile(
    r"OK: backed up to (\S+): (\d+) events, hash chain intact, file sound; head \d+:[0-9a-f]{64}\n"
)

# Appends batches of events until the file `stop` appears: a sync that keeps writing.
WRITER = """
import sys
from pathlib import Path

import pytest
from cqrs_cli.store.envelope import NewEvent
from cqrs_cli.store.files import open_store
db, stop = Path(sys.argv[1]), Path(sys.argv[2])
with open_store(db, write=True) as store:
    n = 0
    while not stop.exists() or n < 20:
        events = [NewEvent(type="W", data={"i": i, "pad": "x" * 500}) for i in range(200)]
        store.log.append("w", str(n), events)
        n += 1
        if n == 1:
            print("writing", flush=True)
"""


@pytest.fixture
def synced(tmp_path: Path) -> Path:
    return synced_copy(tmp_path)


def test_backup_of_a_file_being_written_is_consistent_and_private(
    synced: Path, tmp_path: Path
) -> None:
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(synced), str(stop)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "writing\n"
        counts = []
        for i in range(3):
            copy = tmp_path / f"copy-{i}.db"
            res = run_cli("--db", str(synced), "backup", str(copy))
            assert res.returncode == 0, res.stderr
            found = OK.fullmatch(res.stdout)
            assert found and found[1] == str(copy), res.stdout
            counts.append(int(found[2]))
            assert stat.S_IMODE(copy.stat().st_mode) == 0o600
            # One self-contained file: no WAL to carry along.
            assert not Path(f"{copy}-wal").exists()
            conn = sqlite3.connect(copy)
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
            conn.close()
            check = run_cli("--db", str(copy), "verify")
            assert check.returncode == 0, check.stderr
    finally:
        stop.touch()
        writer.wait(60)
    assert writer.returncode == 0
    assert counts == sorted(counts) and counts[-1] > 59  # copies of a growing log


def test_backup_never_overwrites_a_file(synced: Path, tmp_path: Path) -> None:
    existing = tmp_path / "precious.db"
    existing.write_bytes(b"not to be lost")
    link = tmp_path / "link.db"
    link.symlink_to(tmp_path / "nowhere.db")
    for target in (existing, link, synced):
        before = hashlib.sha256(synced.read_bytes()).hexdigest()
        res = run_cli("--db", str(synced), "backup", str(target))
        assert res.returncode == 1
        assert (
            res.stderr == f"Error: {target} already exists; cqrs backup never overwrites a file\n"
        )
        assert hashlib.sha256(synced.read_bytes()).hexdigest() == before
    assert existing.read_bytes() == b"not to be lost"
    assert not (tmp_path / "nowhere.db").exists()


def test_backup_errors_are_one_line_and_leave_nothing(synced: Path, tmp_path: Path) -> None:
    res = run_cli("--db", str(synced), "backup", str(tmp_path / "no" / "such" / "dir.db"))
    assert res.returncode == 1 and res.stderr.count("\n") == 1
    assert res.stderr.startswith(f"Error: cannot back up {synced} to ")
    missing = tmp_path / "missing.db"
    res = run_cli("--db", str(missing), "backup", str(tmp_path / "copy.db"))
    assert res.returncode == 1 and res.stderr.startswith(f"Error: no database at {missing}")
    assert not (tmp_path / "copy.db").exists() and not missing.exists()


def test_backup_of_a_damaged_file_says_so(synced: Path, tmp_path: Path) -> None:
    from tests.test_verify_truth import damage_index

    damage_index(synced)
    copy = tmp_path / "copy.db"
    res = run_cli("--db", str(synced), "backup", str(copy))
    assert res.returncode == 3
    assert res.stderr.startswith(
        f"Error: the copy at {copy} fails verification (so does the file it was taken from): "
        "the file is damaged: SQLite integrity check: "
    )
    assert res.stderr.count("\n") == 1
    assert copy.exists()  # as faithful as its source: kept for whoever repairs it
