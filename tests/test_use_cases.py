"""The write use cases of the application layer (docs/architecture.md, "The application
layer"): what each takes and returns, with trouble as data; and the output that streams."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cqrs_cli.app.legacy_import import import_legacy
from cqrs_cli.app.read_model import open_read_model
from cqrs_cli.app.rebuild import rebuild, views_named
from cqrs_cli.app.sources import Demo, Odoo, OdooLogin, SnapshotFile, choose_source
from cqrs_cli.app.sync import SyncOptions, SyncOutcome, sync
from cqrs_cli.app.validation import COUNTERS, validate
from cqrs_cli.bus.webhooks.registry import Webhooks
from cqrs_cli.cli import output
from cqrs_cli.cli.commands import rebuild as rebuild_command
from cqrs_cli.cli.commands import validate as validate_command
from cqrs_cli.domain.errors import EXIT_CHECK_FAILED, EXIT_USAGE, CqrsError
from cqrs_cli.legacy.parse import load_legacy
from cqrs_cli.projections import NAMES
from cqrs_cli.sources.snapshot import SnapshotSource
from cqrs_cli.store.envelope import NewEvent
from cqrs_cli.store.files import open_store
from tests.conftest import REPO, demo_data, run_cli
from tests.read_support import MEMBERS, as_json
from tests.webhook_receiver import FAIL, Receiver

SAMPLES = Path(__file__).parent / "legacy"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


def snapshot_file(tmp_path: Path, data: dict[str, Any] | None = None) -> Path:
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(data or demo_data()))
    return path


# --- sync ------------------------------------------------------------------------------


def test_sync_returns_its_summary_and_tells_the_face_before_the_webhooks(
    tmp_path: Path, receiver: Receiver
) -> None:
    db = tmp_path / "cqrs.db"
    with open_store(db, write=True) as store:
        Webhooks(store).add(receiver.url)
    heard: list[SyncOutcome] = []
    done = sync(db, Demo(), on_committed=heard.append)
    [early] = heard
    assert early.delivery is None and done.delivery is not None  # told before delivering
    assert early.summary == done.summary and done.delivery_error is None
    summary = done.summary
    assert (summary.source, summary.mode, summary.events_appended) == ("demo", "full", 59)
    assert (done.first_position, done.last_position) == (1, 59)
    assert done.paused == {} and done.migrated == ()  # adding the webhook created the file
    [run] = done.delivery.runs
    assert run.run is not None and run.run.delivered == 59
    assert len(receiver.accepted()) == 59
    again = sync(db, SnapshotFile(snapshot_file(tmp_path)))
    assert again.summary.events_appended == 0 and again.migrated == ()


def test_sync_json_is_the_summary_the_command_prints(tmp_path: Path) -> None:
    done = sync(tmp_path / "a.db", Demo())
    assert done.migrated  # a new file: its schema made first
    printed = run_cli("--db", str(tmp_path / "b.db"), "sync", "--demo", "--format", "json")
    assert printed.returncode == 0, printed.stderr
    mine, theirs = as_json(done.summary), json.loads(printed.stdout)
    assert mine.pop("sync_run_id") != theirs.pop("sync_run_id")
    assert mine == theirs


def test_a_receiver_that_fails_and_a_paused_view_are_data_not_errors(
    tmp_path: Path, receiver: Receiver
) -> None:
    db = tmp_path / "cqrs.db"
    sync(db, Demo())
    with open_store(db, write=True) as store:
        Webhooks(store).add(receiver.url, max_attempts=1)
        # A team membership without an id: user_profiles pauses on it.
        store.log.append(MEMBERS, "99", [NewEvent(type="OdooTeamMemberCreated", data={})])
    receiver.mode = FAIL
    changed = demo_data()
    changed["crm.lead"][0]["name"] = "Renamed"
    done = sync(db, SnapshotFile(snapshot_file(tmp_path, changed)), SyncOptions(delivery_budget=5))
    assert list(done.paused) == ["user_profiles"]
    assert done.summary.events_appended == 1
    assert done.delivery is not None
    [run] = done.delivery.runs
    assert run.run is not None and run.run.outcome == "paused" and run.run.delivered == 0


def test_a_source_given_as_a_source_stays_open_for_the_caller(tmp_path: Path) -> None:
    source = SnapshotSource.from_file(snapshot_file(tmp_path))
    sync(tmp_path / "a.db", source)
    done = sync(tmp_path / "b.db", source)  # used again: it was not closed
    assert done.summary.events_appended == 59
    source.close()


def test_one_source_is_chosen() -> None:
    login = OdooLogin("http://127.0.0.1:1", "db", "admin", "secret")
    assert choose_source(demo=True) == Demo()
    assert choose_source(from_file=Path("x.json")) == SnapshotFile(Path("x.json"))
    assert choose_source(odoo=login, timeout=5) == Odoo(login, 5)
    assert "secret" not in repr(choose_source(odoo=login))
    for asked, expected in (
        ({"demo": True, "from_file": Path("x")}, "not --demo and --from-file"),
        ({"demo": True, "odoo": login, "odoo_asked": True}, "not --demo and --url"),
        ({}, "no source: use --demo"),
    ):
        with pytest.raises(CqrsError, match=expected) as err:
            choose_source(**asked)  # type: ignore[arg-type]
        assert err.value.exit_code == EXIT_USAGE
    # An Odoo only found in the environment gives way to an explicit source.
    assert choose_source(demo=True, odoo=login) == Demo()


# --- legacy import ---------------------------------------------------------------------


def test_a_dry_run_is_the_same_call_and_reports_what_the_import_does(tmp_path: Path) -> None:
    loaded = load_legacy(SAMPLES / "data_lake_serving.json", SAMPLES / "users.json")
    db = tmp_path / "cqrs.db"
    dry = import_legacy(db, loaded, dry_run=True)
    assert not db.exists() and dry.backup is None and not dry.existed
    real = import_legacy(db, loaded)
    assert real.backup is None and not real.existed and real.migrated
    mine, theirs = as_json(dry.summary), as_json(real.summary)
    assert (mine.pop("dry_run"), theirs.pop("dry_run")) == (True, False)
    assert mine.pop("sync_run_id") is None and theirs.pop("sync_run_id")
    assert mine == theirs
    assert [c.ok for c in real.checks] == [True, True] and real.lagging == ()
    again = import_legacy(db, loaded)  # the file exists now: backed up first
    assert again.existed and again.backup is not None and again.backup.exists()
    assert again.summary.events_appended == 0


def test_an_import_failing_after_the_backup_names_it(tmp_path: Path) -> None:
    loaded = load_legacy(SAMPLES / "data_lake_serving.json", SAMPLES / "users.json")
    db = tmp_path / "cqrs.db"
    import_legacy(db, loaded)
    fewer = load_legacy(SAMPLES / "data_lake_serving.json", None)
    fewer.snapshot["crm.lead"] = fewer.snapshot["crm.lead"][:2]  # 21 deletions: refused
    with pytest.raises(CqrsError, match="delete") as err:
        import_legacy(db, fewer)
    backed_up, note = err.value.__notes__
    assert backed_up.startswith(f"Backed up {db} to ")
    assert note.startswith("The file as it was before the import is in ")
    assert Path(note.rsplit(" ", 1)[1]).exists()


def test_problems_refuse_an_import_before_anything_is_written(tmp_path: Path) -> None:
    loaded = load_legacy(SAMPLES / "bad_shapes.json", None)
    assert loaded.problems
    with pytest.raises(CqrsError, match="problem"):
        import_legacy(tmp_path / "cqrs.db", loaded, dry_run=True)
    assert not (tmp_path / "cqrs.db").exists()


# --- validate and rebuild --------------------------------------------------------------


def test_validate_returns_its_checks_and_a_damaged_file_fails_them(tmp_path: Path) -> None:
    db = tmp_path / "cqrs.db"
    sync(db, Demo())
    found = validate(db, expected={"users": 7, "opportunities": 24}, source=Demo())
    assert not found.ok and found.failed == ["count opportunities"]
    printed = run_cli(
        "--db", str(db), "validate", "--expect", "users=7", "--expect", "opportunities=24",
        "--against-source", "--demo", "--format", "json",
    )  # fmt: skip
    assert printed.returncode == EXIT_CHECK_FAILED
    assert as_json(found) == json.loads(printed.stdout)
    assert validate(db, deep=True).ok
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    with pytest.raises(CqrsError) as err:
        validate(junk)
    assert err.value.exit_code == EXIT_CHECK_FAILED


def test_rebuild_names_its_views_and_reports_its_progress(tmp_path: Path) -> None:
    db = tmp_path / "cqrs.db"
    sync(db, Demo())
    told: list[tuple[str, int]] = []

    class Progress:
        def start(self, total: int) -> None:
            told.append(("start", total))

        def advance(self, events: int) -> None:
            told.append(("advance", events))

    report = rebuild(db, ["user_profiles", "user_profiles"], progress=Progress())
    assert report.names == ["user_profiles"] and report.events == 59
    assert told[0] == ("start", 59) and sum(n for kind, n in told[1:]) == 59
    assert views_named(None) == list(NAMES)
    with pytest.raises(CqrsError, match="unknown projection 'nope'") as err:
        views_named(["nope"])
    assert err.value.exit_code == EXIT_USAGE
    with open_read_model(db) as model:
        assert len(model.opportunities("vinsha").items) == 4


def test_what_the_help_names_without_loading_it_matches_the_code() -> None:
    assert ", ".join(NAMES) == rebuild_command.VIEWS
    assert tuple(COUNTERS) == validate_command.COUNT_KEYS


# --- output that streams ---------------------------------------------------------------


def test_streamed_json_is_the_text_json_dumps_writes(capsys: pytest.CaptureFixture[str]) -> None:
    items: list[Any] = [
        {"id": 1, "name": "Café \u2013 ünïcode", "tags": [], "more": {}, "nested": {"a": [1, 2]}},
        {"id": 2, "name": "tab\tnew\nline\x1b[2J", "value": 0.1, "big": 1e16, "none": None},
        [],
        "x\x85y\x7fz",
    ]
    expected = json.dumps(items, indent=2, ensure_ascii=False)
    expected = expected.replace("\x85", "\\u0085").replace("\x7f", "\\u007f") + "\n"
    output.stream_json(iter(items))
    assert capsys.readouterr().out == expected
    output.stream_json(iter(range(1000)))  # several chunks
    assert json.loads(capsys.readouterr().out) == list(range(1000))
    output.stream_json(iter([]))
    assert capsys.readouterr().out == "[]\n"
    output.emit_json({"n": 2**70})  # beyond orjson: json writes it
    assert json.loads(capsys.readouterr().out) == {"n": 2**70}


def test_view_and_events_json_print_as_json_dumps_would(tmp_path: Path) -> None:
    db = tmp_path / "cqrs.db"
    sync(db, Demo())
    for args in (["view", "--as", "superadmin"], ["events"]):
        done = run_cli("--db", str(db), *args, "--format", "json")
        assert done.returncode == 0, done.stderr
        value = json.loads(done.stdout)
        assert value and done.stdout == json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def test_a_reader_going_away_mid_stream_ends_the_command_quietly(tmp_path: Path) -> None:
    db = tmp_path / "cqrs.db"
    many = demo_data()
    lead = many["crm.lead"][0]
    many["crm.lead"] += [{**lead, "id": 1000 + n} for n in range(3000)]  # far beyond a pipe
    sync(db, SnapshotFile(snapshot_file(tmp_path, many)))
    script = "import sys; sys.stdin.buffer.read(10)"
    reader = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE)
    writer = subprocess.run(
        [sys.executable, "-m", "cqrs_cli", "--db", str(db), "events", "--format", "json"],
        stdout=reader.stdin,
        stderr=subprocess.PIPE,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert reader.stdin is not None
    reader.stdin.close()
    reader.wait(timeout=30)
    assert writer.returncode == 0, writer.stderr
    assert b"Traceback" not in writer.stderr
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 59 + 3000
    conn.close()
