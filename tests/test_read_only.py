"""Reads never write: a query on a file whose views are current changes nothing, and works
on a read-only file and in a read-only directory (docs/operations.md, "Read-only files").

Tests may run as root, which ignores permission bits: then the file or directory is also
made immutable (`chattr +i`, which binds root too), and the file's digest, size and
mtime prove that nothing was written."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from cqrs_cli.store.db import read_only_uri
from cqrs_cli.store.files import open_store
from tests.conftest import run_cli
from tests.read_support import Org

QUERIES = [
    ["view", "--as", "vinsha", "--format", "json"],
    ["metrics", "--as", "vinsha", "--format", "json"],
    ["whoami-can-see", "--as", "zakariya", "--explain"],
    ["users", "--format", "json"],
    ["status", "--format", "json"],
    ["events", "--limit", "5", "--format", "json"],
    ["verify"],
    ["validate", "--expect", "users=7", "--format", "json"],
]
VINSHA = 3  # in the embedded demo


def fingerprint(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), st.st_size, st.st_mtime_ns


@contextmanager
def unwritable(path: Path, mode: int) -> Iterator[None]:
    """`path` (a file or a directory) unwritable by this process, as root too."""
    old = path.stat().st_mode & 0o777
    path.chmod(mode)
    immutable = False
    try:
        if os.geteuid() == 0:
            if (
                shutil.which("chattr") is None
                or subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode
            ):
                pytest.skip("cannot make a path unwritable for root here (no chattr +i)")
            immutable = True
        assert not os.access(path, os.W_OK)
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(old)


@pytest.fixture
def synced(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    db = folder / "cqrs.db"
    res = run_cli("--db", str(db), "-q", "sync", "--demo")
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["cqrs.db"]
    return db


def answers(db: Path) -> dict[str, str]:
    out = {}
    for query in QUERIES:
        res = run_cli("--db", str(db), *query)
        assert res.returncode == 0, (query, res.stderr)
        assert res.stderr == "", (query, res.stderr)
        out[" ".join(query)] = res.stdout
    return out


def reference(db: Path, tmp_path: Path) -> dict[str, str]:
    """The answers from a copy of `db` elsewhere, leaving `db`'s folder as it is."""
    elsewhere = tmp_path / "copy"
    elsewhere.mkdir()
    shutil.copy(db, elsewhere / db.name)
    return answers(elsewhere / db.name)


def test_queries_leave_a_current_file_byte_identical(synced: Path) -> None:
    before = fingerprint(synced)
    found = answers(synced)
    assert fingerprint(synced) == before
    assert '"head": 59' in found["status --format json"]
    assert found["verify"].startswith("OK: 59 events")
    # At most SQLite's (empty) -wal and -shm beside it, that a read-only reader may leave.
    extra = {p.name for p in synced.parent.iterdir()} - {synced.name}
    assert extra <= {"cqrs.db-wal", "cqrs.db-shm"}
    assert all(p.stat().st_size == 0 for p in synced.parent.glob("*-wal"))


def test_queries_answer_from_a_read_only_file(synced: Path, tmp_path: Path) -> None:
    expected = reference(synced, tmp_path)
    before = fingerprint(synced)
    with unwritable(synced, 0o444):
        assert answers(synced) == expected
    assert fingerprint(synced) == before


@pytest.mark.parametrize("left_by_a_reader", [False, True])
def test_queries_answer_in_a_read_only_directory(
    synced: Path, tmp_path: Path, left_by_a_reader: bool
) -> None:
    """Without -wal/-shm beside the file SQLite can create neither there (the file is
    opened immutable); with them (left by an earlier reader), it reads through them."""
    expected = reference(synced, tmp_path)
    if left_by_a_reader:
        assert run_cli("--db", str(synced), "status").returncode == 0
    listing = sorted(p.name for p in synced.parent.iterdir())
    assert ("cqrs.db-wal" in listing) == left_by_a_reader
    before = fingerprint(synced)
    with unwritable(synced.parent, 0o555):
        assert answers(synced) == expected
    assert fingerprint(synced) == before
    assert sorted(p.name for p in synced.parent.iterdir()) == listing


def behind(db: Path) -> int:
    """Append an opportunity without catching the views up; return the new head."""
    with open_store(db, write=True) as store:
        Org(store).opp(900, VINSHA, name="Appended behind the views' back")
        return store.log.head()


def test_a_read_only_file_behind_the_log_says_what_to_run(synced: Path) -> None:
    head = behind(synced)
    before = fingerprint(synced)
    with unwritable(synced, 0o444):
        for query in (["view", "--as", "vinsha"], ["metrics", "--as", "vinsha"], ["users"]):
            res = run_cli("--db", str(synced), *query)
            assert res.returncode == 1, res.stderr
            assert res.stdout == ""
            assert res.stderr == (
                f"Error: view user_profiles is at position {head - 1} but the log's head is "
                f"{head}, and this process cannot write {synced} to catch it up; run "
                f"`cqrs --db {synced} sync` (or `cqrs --db {synced} rebuild --all`) as a user "
                "who can write it\n"
            )
        # What does not need the views still answers, and says where they stand.
        status = run_cli("--db", str(synced), "status", "--format", "json")
        assert status.returncode == 0, status.stderr
        assert f'"head": {head}' in status.stdout and '"state": "behind"' in status.stdout
    assert fingerprint(synced) == before


def test_a_writable_file_behind_the_log_is_caught_up_by_a_query(synced: Path) -> None:
    head = behind(synced)
    res = run_cli("--db", str(synced), "whoami-can-see", "--as", "vinsha")
    assert res.returncode == 0, res.stderr
    assert "900" in res.stdout
    status = run_cli("--db", str(synced), "status", "--format", "json")
    assert f'"head": {head}' in status.stdout and '"behind"' not in status.stdout


def test_a_reader_cannot_write_whatever_it_runs(synced: Path) -> None:
    with open_store(synced) as store:
        for sql in (
            "CREATE TABLE t (x)",
            "DELETE FROM user_access_rows",
            "PRAGMA user_version = 1",
        ):
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                store.conn.execute(sql)


def test_immutable_only_where_no_writer_can_be(synced: Path) -> None:
    assert read_only_uri(synced).endswith("?mode=ro")
    with unwritable(synced.parent, 0o555):
        assert read_only_uri(synced).endswith("?mode=ro&immutable=1")
    assert run_cli("--db", str(synced), "status").returncode == 0  # leaves -wal and -shm
    with unwritable(synced.parent, 0o555):
        # A -wal may hold committed pages the file does not: read through it.
        assert read_only_uri(synced).endswith("?mode=ro")
