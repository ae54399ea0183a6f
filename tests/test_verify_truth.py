"""`verify`, `validate` and `status` on a file that lies: a log cut short (its newest
events deleted, as anyone with the file can), a chain rewritten from some position, a
file SQLite finds damaged."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from cqrs_cli.store.chain import GENESIS, event_hash
from tests.conftest import run_cli
from tests.demo_file import synced_copy

HEAD = re.compile(r"head (\d+):([0-9a-f]{64})$")


@pytest.fixture
def synced(tmp_path: Path) -> Path:
    return synced_copy(tmp_path)


def verify(db: Path, *args: str) -> tuple[int, str, str]:
    res = run_cli("--db", str(db), "verify", *args)
    return res.returncode, res.stdout, res.stderr


def head_of(db: Path) -> str:
    code, out, err = verify(db)
    assert code == 0, err
    found = HEAD.search(out.strip())
    assert found, out
    return f"{found[1]}:{found[2]}"


def sql(db: Path, *statements: str) -> None:
    conn = sqlite3.connect(db)
    try:
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    finally:
        conn.close()


def cut(db: Path, keep: int) -> None:
    """Delete every event after `keep`, as anyone holding the file can."""
    sql(db, "DROP TRIGGER events_no_delete", f"DELETE FROM events WHERE position > {keep}")


def rewrite(db: Path, position: int) -> None:
    """Change the event at `position` and recompute the chain from there: a rewritten log
    whose chain is intact."""
    conn = sqlite3.connect(db)
    conn.execute("DROP TRIGGER events_no_update")
    rows = conn.execute(
        "SELECT position, event_id, stream_type, stream_id, version, type, schema_version,"
        " data, metadata, recorded_at FROM events ORDER BY position"
    ).fetchall()
    prev = GENESIS
    for row in rows:
        values = list(row)
        if values[0] == position:
            data = json.loads(values[7])
            data["record"]["name"] = "Rewritten"
            values[7] = json.dumps(data, sort_keys=True, separators=(",", ":"))
            conn.execute("UPDATE events SET data = ? WHERE position = ?", (values[7], position))
        digest = event_hash(prev, *values)
        conn.execute("UPDATE events SET hash = ? WHERE position = ?", (digest, values[0]))
        prev = digest
    conn.commit()
    conn.close()


def status(db: Path) -> dict[str, Any]:
    res = run_cli("--db", str(db), "status", "--format", "json")
    assert res.returncode == 0, res.stderr
    value: dict[str, Any] = json.loads(res.stdout)
    return value


def validate_failures(db: Path) -> tuple[int, list[str]]:
    res = run_cli("--db", str(db), "validate", "--format", "json")
    report = json.loads(res.stdout)
    return res.returncode, [c["name"] for c in report["checks"] if not c["ok"]]


# -- the head ------------------------------------------------------------------------------


def test_verify_prints_the_head_and_checks_it_later(synced: Path) -> None:
    code, out, _ = verify(synced)
    assert code == 0
    assert out.startswith("OK: 59 events, hash chain intact, file sound; head 59:")
    conn = sqlite3.connect(synced)
    last = conn.execute("SELECT hash FROM events WHERE position = 59").fetchone()[0]
    conn.close()
    assert head_of(synced) == f"59:{last}"
    assert verify(synced, "--expect", f"59:{last}")[0] == 0
    assert verify(synced, "--expect", f"59:{last.upper()}")[0] == 0
    # An older head is still held by a longer log.
    sync = run_cli("--db", str(synced), "-q", "sync", "--demo", "--full")
    assert sync.returncode == 0
    assert verify(synced, "--expect", f"59:{last}")[0] == 0
    assert verify(synced, "--expect", f"0:{GENESIS}")[0] == 0


@pytest.mark.parametrize("bad", ["59", "59:abc", "x:" + "0" * 64, "-1:" + "0" * 64, ""])
def test_a_malformed_expected_head_is_a_usage_error(synced: Path, bad: str) -> None:
    code, _, err = verify(synced, "--expect", bad)
    assert code == 2
    assert err.startswith("Error: --expect wants POSITION:HASH") and err.count("\n") == 1


def test_an_empty_log_has_head_zero(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    assert run_cli("--db", str(db), "migrate").returncode == 0
    assert head_of(db) == f"0:{GENESIS}"


# -- a log cut short ---------------------------------------------------------------------


def test_a_cut_log_fails_verify_validate_and_status(synced: Path) -> None:
    kept = head_of(synced)
    cut(synced, 54)
    code, out, err = verify(synced)
    assert (code, out) == (3, "")
    assert err.count("\n") == 1
    assert err.startswith(
        "Error: events were removed: the log ends at position 54 but reached 59 before ("
    )
    assert "views at position up to 59" in err and "sync run " in err
    assert verify(synced, "--expect", kept)[0] == 3
    code, failures = validate_failures(synced)
    assert code == 3
    assert "log not cut short or rewritten" in failures
    assert "projection opportunity_view current" in failures
    value = status(synced)
    assert value["head"] == 54
    assert {p["state"] for p in value["projections"]} == {"beyond_head"}
    assert all("beyond the head 54" in p["error"] for p in value["projections"])
    assert value["problems"] and value["problems"][0].startswith("events were removed")
    # The views still show the removed events: queries refuse them.
    view = run_cli("--db", str(synced), "view", "--as", "vinsha")
    assert view.returncode == 1
    assert "shows events the log no longer holds" in view.stderr


def test_a_cut_is_caught_by_the_sync_run_when_other_witnesses_are_erased(synced: Path) -> None:
    cut(synced, 54)
    # A careful editor also resets what else remembers the head...
    sql(
        synced,
        "UPDATE checkpoints SET position = 54",
        "UPDATE sqlite_sequence SET seq = 54 WHERE name = 'events'",
    )
    code, _, err = verify(synced)
    assert code == 3
    assert re.fullmatch(
        r"Error: events were removed: the log ends at position 54 but reached 59 before "
        r"\(sync run [0-9a-f-]{36} reached 59\)\n",
        err,
    ), err
    assert status(synced)["problems"]


def test_an_expected_head_catches_a_cut_nothing_in_the_file_remembers(synced: Path) -> None:
    kept = head_of(synced)
    cut(synced, 54)
    sql(
        synced,
        "UPDATE checkpoints SET position = 54",
        "UPDATE sqlite_sequence SET seq = 54 WHERE name = 'events'",
        "DELETE FROM sync_runs",
    )
    assert verify(synced)[0] == 0  # the file alone cannot tell...
    code, _, err = verify(synced, "--expect", kept)
    assert code == 3  # ...the head kept elsewhere can
    assert err == "Error: expected head 59 but the log ends at 54: events were removed\n"


def test_a_rewritten_chain_is_caught_by_the_sync_run_and_an_expected_head(synced: Path) -> None:
    kept = head_of(synced)
    rewrite(synced, 30)
    code, _, err = verify(synced)
    assert code == 3
    assert "the log was rewritten: sync run " in err and "at position 59" in err
    code, failures = validate_failures(synced)
    assert code == 3 and failures == ["log not cut short or rewritten"]
    sql(synced, "DELETE FROM sync_runs")
    assert verify(synced)[0] == 0  # an intact chain: only the kept head knows
    code, _, err = verify(synced, "--expect", kept)
    assert code == 3
    assert re.fullmatch(
        r"Error: the event at position 59 has hash [0-9a-f]{12}\.\.\., expected "
        r"[0-9a-f]{12}\.\.\.: the log was rewritten\n",
        err,
    ), err


# -- a damaged file ----------------------------------------------------------------------


def damage_index(db: Path) -> None:
    """Zero the cells of the `events_by_type` index: SQLite's integrity check fails, while
    the events themselves (and so the hash chain) still read fine."""
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute(
        "SELECT rootpage FROM sqlite_master WHERE name = 'events_by_type'"
    ).fetchone()[0]
    conn.close()
    with db.open("r+b") as fh:
        base = (root - 1) * page_size
        fh.seek(base + 5)
        content = int.from_bytes(fh.read(2), "big")
        fh.seek(base + content)
        fh.write(b"\x00" * (page_size - content))


def test_a_damaged_file_fails_verify_and_validate_in_one_line(synced: Path) -> None:
    damage_index(synced)
    conn = sqlite3.connect(synced)
    assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 59  # still readable
    conn.close()
    code, out, err = verify(synced)
    assert (code, out) == (3, "")
    assert err.startswith("Error: the file is damaged: SQLite integrity check: ")
    assert err.count("\n") == 1 and "Traceback" not in err
    res = run_cli("--db", str(synced), "validate", "--format", "json")
    assert res.returncode == 3
    [check] = json.loads(res.stdout)["checks"]
    assert (check["name"], check["ok"], check["actual"]) == ("file integrity", False, "damaged")
    assert res.stderr == "Error: 1 of 1 checks failed: file integrity\n"


@pytest.mark.parametrize("offset", [68, 100])  # the application id; the schema page
def test_a_file_with_a_damaged_header_or_schema_fails_in_one_line(
    synced: Path, offset: int
) -> None:
    with synced.open("r+b") as fh:
        fh.seek(offset)
        fh.write(b"\xff" * 400)
    code, _, err = verify(synced)
    assert code == 3, err
    assert err.startswith("Error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert "malformed" in err
    res = run_cli("--db", str(synced), "validate")
    assert res.returncode == 3 and res.stderr.count("\n") == 1, res.stderr
    # Other commands cannot check, but say so in one line too.
    res = run_cli("--db", str(synced), "status")
    assert res.returncode == 1 and res.stderr.count("\n") == 1, res.stderr
    assert "damaged" in res.stderr or "malformed" in res.stderr
