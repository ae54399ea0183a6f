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

from cqrs_cli.app.read_model import open_read_model
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
    with (
        open_read_model(demo) as model,
        model.as_of(f"#{FIRST_SYNC}") as then,
        model.as_of("#999999") as now,
    ):
        assert [i.id for i in then.opportunities("zakariya").items] == [3, 4]
        assert then.at is not None and then.at.position == FIRST_SYNC
        assert not then.at.current
        assert [i.id for i in now.opportunities("zakariya").items] == [4]
        assert now.at is not None and now.at.current


def test_view_as_of_differs_from_now_as_the_log_says(demo: Path) -> None:
    """`view --as zakariya --as-of` the first sync: his old two; now one. The difference is
    the one event after the first sync: opportunity 3 moved from him to Vinsha."""
    then = cli(demo, "view", "--as", "zakariya", "--as-of", f"#{FIRST_SYNC}", "--format", "json")
    now = cli(demo, "view", "--as", "zakariya", "--format", "json")
    assert then.returncode == now.returncode == 0, then.stderr
    old, new = json.loads(then.stdout), json.loads(now.stdout)  # lists: no envelope
    assert [i["id"] for i in old] == [3, 4] and [i["id"] for i in new] == [4]
    assert old[1] == new[0]  # the one untouched is the same item
    (moved,) = [i for i in old if i["id"] == REASSIGNED]
    assert moved["salesperson"]["id"] == ZAKARIYA and moved["reason"] == "own"
    events = json.loads(cli(demo, "events", "--after", str(FIRST_SYNC), "--format", "json").stdout)
    (event,) = events
    assert (event["stream_type"], event["stream_id"]) == ("crm.lead", str(REASSIGNED))
    assert event["data"]["record"]["user_id"] == VINSHA
    recorded = json.loads(
        cli(demo, "events", "--limit", str(FIRST_SYNC), "--format", "json").stdout
    )
    label = f"#{FIRST_SYNC} ({recorded[-1]['recorded_at']})"
    assert f"As of {label}" in then.stderr  # the note says what the list is as of
    table = cli(demo, "view", "--as", "zakariya", "--as-of", f"#{FIRST_SYNC}")
    assert f"What zakariya@demo.example can see (2), as of {label}" in table.stdout
    # A time works as a position does: the first sync's time is its last event.
    by_time = cli(demo, "view", "--as", "zakariya", "--as-of", recorded[-1]["recorded_at"])
    assert by_time.stdout == table.stdout


def test_json_objects_carry_as_of_at_the_top(demo: Path) -> None:
    for command in (["whoami-can-see", "--explain"], ["metrics"]):
        args = [*command, "--as", "vinsha", "--format", "json"]
        then = cli(demo, *args, "--as-of", "#30")
        assert then.returncode == 0, then.stderr
        value = json.loads(then.stdout)
        assert list(value)[-1] == "as_of"
        assert value["as_of"]["position"] == 30 and value["as_of"]["recorded_at"]
        # At or after the head: the current answer, as of the head.
        head = json.loads(cli(demo, *args, "--as-of", "#99999").stdout)
        assert head.pop("as_of")["position"] == FIRST_SYNC + 1
        assert head == json.loads(cli(demo, *args).stdout)
    see = json.loads(cli(demo, "whoami-can-see", "--as", "vinsha", "--as-of", "#28").stdout)
    assert see["opportunities"] == [1, 2]  # 3 and 4 (Zakariya's) came at #29 and #30


def test_users_as_of(demo: Path) -> None:
    early = cli(demo, "users", "--as-of", "#2", "--format", "json")
    assert early.returncode == 0, early.stderr
    assert [u["id"] for u in json.loads(early.stdout)] == [2, VINSHA]  # a list: no envelope
    assert "As of #2 (" in early.stderr
    tree = cli(demo, "users", "--tree", "--as-of", "#2")
    assert tree.stdout.startswith("org chart, as of #2 (")
    assert "vinsha@demo.example" in tree.stdout and "zakariya" not in tree.stdout
    now = cli(demo, "users", "--format", "json").stdout
    assert cli(demo, "users", "--as-of", "2999-01-01", "--format", "json").stdout == now


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
        (["view", "--as", "vinsha", "--as-of", "2000-01-01"], 1, "is before the first event"),
        (["metrics", "--as", "vinsha", "--as-of", "#0"], 1, "is before the first event"),
        (["users", "--as-of", "yesterday"], 2, "--as-of 'yesterday' is not a WHEN"),
        (["whoami-can-see", "--as", "zakariya", "--as-of", "#2"], 1, "not synced yet at #2"),
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
            ["view", "--as", "vinsha", "--as-of", "#30"],
            ["users", "--tree", "--as-of", "#30"],
        ):
            res = run_cli("--db", str(db), *args)
            assert res.returncode == 0, res.stderr
    finally:
        folder.chmod(0o700)
    assert db.read_bytes() == (tmp_path / "check.db").read_bytes()


def test_visible_right_before_and_right_after_an_event(demo: Path) -> None:
    """The webhooks' question: could USER see opportunity O right before or right after the
    event at p. The reassignment at FIRST_SYNC + 1 took 3 from Zakariya; Vinsha (his
    manager, then its salesperson) saw it on both sides."""
    from cqrs_cli.app.as_of import visible_at
    from cqrs_cli.store.files import open_store

    moved = FIRST_SYNC + 1
    with open_store(demo) as store:
        assert visible_at(store, ZAKARIYA, moved - 1, only=[REASSIGNED]) == {
            REASSIGNED: {"reason": "own"}
        }
        assert visible_at(store, ZAKARIYA, moved, only=[REASSIGNED]) == {}
        assert visible_at(store, VINSHA, moved - 1, only=[REASSIGNED]) == {
            REASSIGNED: {"reason": "subordinate", "via": "zakariya@demo.example"}
        }
        assert visible_at(store, VINSHA, moved, only=[REASSIGNED]) == {
            REASSIGNED: {"reason": "own"}
        }
        # Without `only`: everything, the same as the as-of answer's reasons.
        assert set(visible_at(store, ZAKARIYA, moved - 1)) == {3, 4}
        assert set(visible_at(store, ZAKARIYA, moved + 100)) == {4}  # past the head: the head
        assert visible_at(store, ZAKARIYA, 0) == {}  # an empty log
        assert visible_at(store, ZAKARIYA, 2) == {}  # not synced yet
        assert visible_at(store, 999, moved) == {}  # no such user


def test_the_commands_print_the_read_models_answers(demo: Path) -> None:
    """Each command's JSON is its answer's JSON: the faces only render (issue 9)."""
    import orjson

    def printed(*args: str) -> Any:
        res = cli(demo, *args, "--format", "json")
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout)

    def as_json(answer: Any) -> Any:
        return orjson.loads(orjson.dumps(answer))

    since = f"#{FIRST_SYNC}"
    with open_read_model(demo) as model, model.as_of("#40") as then:
        assert as_json(model.history("3")) == printed("history", "3")
        assert as_json(model.changes("zakariya", since)) == printed(
            "changes", "--as", "zakariya", "--since", since
        )
        at = ("--as-of", "#40")
        assert as_json(then.opportunities("vinsha").items) == printed("view", "--as", "vinsha", *at)
        assert as_json(then.can_see("vinsha", explain=True)) == printed(
            "whoami-can-see", "--as", "vinsha", "--explain", *at
        )
        assert as_json(then.metrics("vinsha")) == printed("metrics", "--as", "vinsha", *at)
        assert as_json(then.profiles().items) == printed("users", *at)


def test_view_filters_apply_to_the_past(demo: Path) -> None:
    """`--as-of` with view's filters: the filters run, by the same code, over the past."""
    args = ["view", "--as", "vinsha", "--salesperson", "zakariya", "--format", "json"]
    then = json.loads(cli(demo, *args, "--as-of", f"#{FIRST_SYNC}").stdout)
    assert [i["id"] for i in then] == [3, 4]
    assert {i["via"] for i in then} == {"zakariya@demo.example"}
    assert [i["id"] for i in json.loads(cli(demo, *args).stdout)] == [4]
    page = ["--sort", "revenue:desc", "--limit", "1", "--as-of", f"#{FIRST_SYNC}"]
    (top,) = json.loads(cli(demo, *args, *page).stdout)
    assert top["expected_revenue"] == max(i["expected_revenue"] for i in then)
    with open_read_model(demo) as model, model.as_of(f"#{FIRST_SYNC}") as past:
        from cqrs_cli.app.answers.opportunities import OpportunityFilter

        found = past.opportunities("vinsha", OpportunityFilter(salesperson="zakariya", limit=1))
        assert (len(found.items), found.total) == (1, 2)
