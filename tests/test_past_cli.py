"""The demo of docs/past.md through the CLI: after a sync, one of Zakariya's opportunities is
reassigned to Vinsha in a snapshot and synced again; `history` shows the owner change,
`changes --as zakariya --since` the first sync shows it lost because it was reassigned,
and the answer as of the first sync is Zakariya's old two. Real subprocesses and typer's
CliRunner."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cqrs_cli.app import as_of
from cqrs_cli.app.queries import open_current
from cqrs_cli.cli.app import app
from tests.conftest import demo_data, run_cli
from tests.demo_file import synced_copy

runner = CliRunner()
ZAKARIYA, VINSHA = 4, 3
REASSIGNED = 3  # Lumber: Lobby design, Zakariya's until the second sync
FIRST_SYNC = 59  # the demo's first sync appends 59 events
NEW_WRITE_DATE = "2026-02-01 10:00:00"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo file after `sync --demo` and a sync of a snapshot that reassigns one
    of Zakariya's opportunities to Vinsha."""
    folder = tmp_path_factory.mktemp("past")
    db = synced_copy(folder)
    data = demo_data()
    lead = next(r for r in data["crm.lead"] if r["id"] == REASSIGNED)
    assert lead["user_id"][0] == ZAKARIYA
    lead["user_id"] = [VINSHA, "Vinsha Rao"]
    lead["write_date"] = NEW_WRITE_DATE
    snapshot = folder / "reassigned.json"
    snapshot.write_text(json.dumps(data))
    synced = run_cli("--db", str(db), "-q", "sync", "--from-file", str(snapshot))
    assert synced.returncode == 0, synced.stderr
    return db


def cli(db: Path, *args: str) -> Any:
    """The same command through CliRunner and as a real process: same exit code and output."""
    wide = {"COLUMNS": "200"}  # a table's cells unwrapped
    inside = runner.invoke(app, ["--db", str(db), *args], env=wide)
    outside = run_cli("--db", str(db), *args, env=wide)
    assert (inside.exit_code, inside.stdout) == (outside.returncode, outside.stdout), args
    return outside


def test_history_shows_the_owner_change(demo: Path) -> None:
    for name in ("3", "LUMBER: lobby"):  # its id, or a part of its name in any case
        found = cli(demo, "history", name, "--format", "json")
        assert found.returncode == 0, found.stderr
        value = json.loads(found.stdout)
        assert value["opportunity"] == {"id": REASSIGNED, "name": "Lumber: Lobby design"}
        created, updated = value["entries"]
        assert (created["change"], created["position"]) == ("created", 29)
        assert created["fields"]["salesperson"] == {
            "old": None,
            "new": {"id": ZAKARIYA, "login": "zakariya@demo.example", "name": "Zakariya Haddad"},
        }
        assert created["fields"]["stage"]["new"] == {"id": 2, "name": "Qualified"}
        assert created["fields"]["account"]["new"]["name"] == "Lumber Inc"
        assert created["fields"]["status"] == {"old": None, "new": "open"}
        assert updated["change"] == "updated" and updated["position"] == FIRST_SYNC + 1
        assert updated["write_date"] == "2026-02-01T10:00:00Z"
        assert updated["recorded_at"] >= created["recorded_at"]
        assert updated["fields"] == {
            "salesperson": {
                "old": {
                    "id": ZAKARIYA,
                    "login": "zakariya@demo.example",
                    "name": "Zakariya Haddad",
                },
                "new": {"id": VINSHA, "login": "vinsha@demo.example", "name": "Vinsha Rao"},
            }
        }
    table = cli(demo, "history", "3")
    assert table.returncode == 0
    assert "Zakariya Haddad" in table.stdout and "Vinsha Rao" in table.stdout
    assert "salesperson" in table.stdout and "updated" in table.stdout
    last = cli(demo, "history", "3", "--format", "csv").stdout.splitlines()[-1]
    assert last.startswith(f"{FIRST_SYNC + 1},")  # each CSV row stands alone
    assert last.endswith(",2026-02-01T10:00:00Z,updated,salesperson,Zakariya Haddad,Vinsha Rao")


def test_changes_since_the_first_sync_lose_the_reassigned_one(demo: Path) -> None:
    found = cli(
        demo, "changes", "--as", "zakariya", "--since", f"#{FIRST_SYNC}", "--format", "json"
    )
    assert found.returncode == 0, found.stderr
    value = json.loads(found.stdout)
    assert value["user"] == {
        "id": ZAKARIYA,
        "login": "zakariya@demo.example",
        "name": "Zakariya Haddad",
    }
    assert value["since"]["position"] == FIRST_SYNC and value["until"]["position"] == FIRST_SYNC + 1
    assert value["gained"] == [] and value["changed"] == []
    assert value["lost"] == [
        {"id": REASSIGNED, "name": "Lumber: Lobby design", "why": "reassigned"}
    ]
    # Vinsha saw it before (Zakariya is below her) and still does: only its salesperson moved.
    vinsha = json.loads(
        cli(
            demo, "changes", "--as", "vinsha", "--since", f"#{FIRST_SYNC}", "--format", "json"
        ).stdout
    )
    assert vinsha["lost"] == [] and vinsha["gained"] == []
    (changed,) = vinsha["changed"]
    assert changed["id"] == REASSIGNED and list(changed["fields"]) == ["salesperson"]
    table = cli(demo, "changes", "--as", "zakariya", "--since", f"#{FIRST_SYNC}")
    assert table.returncode == 0
    out = table.stdout
    assert out.index("gained (0)") < out.index("lost (1)") < out.index("changed (0)")
    assert "reassigned" in out and "Lumber: Lobby design" in out
    assert f"#{FIRST_SYNC} (" in table.stderr  # the span, as a message
    rows = cli(demo, "changes", "--as", "zakariya", "--since", f"#{FIRST_SYNC}", "--format", "csv")
    assert rows.stdout.splitlines()[1] == "lost,3,Lumber: Lobby design,,,,reassigned,,,"


def test_the_answer_as_of_the_first_sync_is_the_old_two(demo: Path) -> None:
    with open_current(demo, as_of.AS_OF_VIEWS) as store:
        then = as_of.view(store, "zakariya", f"#{FIRST_SYNC}")
        now = as_of.view(store, "zakariya", "#999999")
    assert [i["id"] for i in then.items] == [3, 4]
    assert then.as_of.position == FIRST_SYNC and not then.as_of.current
    assert [i["id"] for i in now.items] == [4] and now.as_of.current


def test_an_older_file_builds_the_past_on_its_first_query(tmp_path: Path) -> None:
    """A file from before `opportunity_versions` existed: its first query that can write the
    file builds the index from the log (a catch-up), and answers."""
    db = synced_copy(tmp_path)
    untouched = tmp_path / "untouched.db"
    shutil.copy2(db, untouched)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("DROP TABLE opportunity_versions")
        conn.execute("DELETE FROM checkpoints WHERE projection = 'opportunity_versions'")
    conn.close()
    args = ("changes", "--as", "vinsha", "--since", "#28", "--format", "json")
    found = cli(db, *args)
    assert found.returncode == 0, found.stderr
    assert [g["id"] for g in json.loads(found.stdout)["gained"]] == [3, 4]  # 1 and 2 were there
    assert found.stdout == cli(untouched, *args).stdout
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM opportunity_versions").fetchone() == (23,)
    conn.close()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["changes", "--as", "vinsha", "--since", "2000-01-01"], 1, "is before the first event"),
        (["changes", "--as", "vinsha", "--since", "#0"], 1, "is before the first event"),
        (["changes", "--as", "vinsha", "--since", "last week"], 2, "is not a WHEN"),
        (["changes", "--as", "vinsha", "--since", "#x"], 2, "a position is # and a whole"),
        (["changes", "--as", "vinsha", "--since", "#40", "--until", "#30"], 2, "is after --until"),
        (["changes", "--as", "nobody", "--since", "#40"], 1, "no user matches 'nobody'"),
        (["history", "999"], 1, "no opportunity 999 in the log"),
        (["history", "conference"], 1, "'conference' is ambiguous: 1 Deco: Conference tables;"),
        (["history", "zzz"], 1, "no opportunity's name contains 'zzz'"),
    ],
)
def test_bad_input_is_one_line(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    db = synced_copy(tmp_path)
    before = db.read_bytes()
    res = cli(db, *args)
    assert res.returncode == code and res.stdout == ""
    (line,) = [x for x in res.stderr.splitlines() if x.startswith("Error:")]
    assert message in line
    assert db.read_bytes() == before  # nothing written


def test_read_only_file(tmp_path: Path) -> None:
    """Reads never write: both commands answer from a file they cannot write."""
    folder = tmp_path / "ro"
    folder.mkdir()
    db = synced_copy(folder)
    shutil.copy2(db, tmp_path / "check.db")
    db.chmod(0o400)
    folder.chmod(0o500)
    try:
        for args in (
            ["history", "1", "--format", "json"],
            ["changes", "--as", "vinsha", "--since", "#30"],
        ):
            res = run_cli("--db", str(db), *args)
            assert res.returncode == 0, res.stderr
    finally:
        folder.chmod(0o700)
    assert db.read_bytes() == (tmp_path / "check.db").read_bytes()
