"""`cqrs migrate legacy`: importing the old MongoDB app's exports, end to end.

`TestLegacyContract` runs the contract every source keeps (tests/source_contract.py)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cqrs_cli.app.legacy_import import count_checks, import_into, require_counts
from cqrs_cli.cli.app import app
from cqrs_cli.domain.errors import EXIT_CHECK_FAILED, CqrsError
from cqrs_cli.legacy.parse import load_legacy
from cqrs_cli.projections import NAMES
from cqrs_cli.projections.compare import VOLATILE
from cqrs_cli.projections.registry import make
from cqrs_cli.projections.runner import catch_up
from cqrs_cli.store.files import Store, open_store
from tests.conftest import demo_data, run_cli
from tests.source_contract import (
    Org,
    Outcome,
    SourceContract,
    reported_by_loader,
    reported_by_sync,
)

SAMPLES = Path(__file__).parent / "legacy"
DATA = SAMPLES / "data_lake_serving.json"
USERS = SAMPLES / "users.json"
BAD = SAMPLES / "bad_shapes.json"
SAMPLE = ["--data", str(DATA), "--users", str(USERS)]

runner = CliRunner()


def legacy(db: Path, *args: str) -> Any:
    return runner.invoke(app, ["--db", str(db), "migrate", "legacy", *args])


def report(db: Path, *args: str) -> dict[str, Any]:
    result = legacy(db, *args, "--format", "json")
    assert result.exit_code == 0, result.output
    value: dict[str, Any] = json.loads(result.stdout)
    return value


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def backups(db: Path) -> list[Path]:
    return sorted(db.parent.glob(f"{db.name}.bak-*"))


def event_rows(path: Path) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT * FROM events ORDER BY position").fetchall()
    finally:
        conn.close()


def sees(db: Path, who: str) -> int:
    result = runner.invoke(app, ["--db", str(db), "whoami-can-see", "--as", who])
    assert result.exit_code == 0, result.output
    return len(json.loads(result.stdout)["opportunities"])


# --- the sample ----------------------------------------------------------------------


def test_sample_imports_the_demo_organisation_in_a_real_process(tmp_path: Path) -> None:
    db = tmp_path / "cqrs.db"
    done = run_cli("--db", str(db), "migrate", "legacy", *SAMPLE, "--format", "json")
    assert done.returncode == 0, done.stderr
    value = json.loads(done.stdout)
    assert value["source"] == "legacy" and not value["dry_run"]
    assert value["problems"] == [] and value["backup"] is None
    assert {c["name"]: (c["expected"], c["actual"], c["ok"]) for c in value["checks"]} == {
        "users": (7, 7, True),
        "opportunities": (23, 23, True),
    }
    created = {r["model"]: r["created"] for r in value["counts"]}
    assert created["res.users"] == 7 and created["crm.lead"] == 23
    assert value["events_appended"] == sum(created.values())
    assert "No backup" in done.stderr and "does not exist yet" in done.stderr
    assert f"Appended {value['events_appended']} events." in done.stderr
    for who, count in (("vinsha", 4), ("zakariya", 2), ("superadmin", 23)):
        asked = run_cli("--db", str(db), "whoami-can-see", "--as", who)
        assert asked.returncode == 0, asked.stderr
        assert len(json.loads(asked.stdout)["opportunities"]) == count, who


def test_events_say_legacy_and_synthetic(tmp_path: Path) -> None:
    db = tmp_path / "cqrs.db"
    report(db, *SAMPLE)
    conn = sqlite3.connect(db)
    try:
        metas = [json.loads(m) for (m,) in conn.execute("SELECT metadata FROM events")]
        types = {t for (t,) in conn.execute("SELECT DISTINCT type FROM events")}
        runs = conn.execute("SELECT source, status FROM sync_runs").fetchall()
    finally:
        conn.close()
    assert metas and all(m["source"] == "legacy" and m["synthetic"] is True for m in metas)
    assert all(t.startswith("Odoo") and t.endswith("Created") for t in types)
    assert runs == [("legacy", "succeeded")]


def test_importing_the_same_files_twice_appends_nothing(tmp_path: Path) -> None:
    db = tmp_path / "cqrs.db"
    first = report(db, *SAMPLE)
    assert first["events_appended"] > 0
    before = event_rows(db)
    again = legacy(db, *SAMPLE, "--format", "json")
    assert again.exit_code == 0, again.output
    second = json.loads(again.stdout)
    assert second["events_appended"] == 0
    assert {r["model"]: r["unchanged"] for r in second["counts"]}["crm.lead"] == 23
    assert "No change: 0 events appended" in again.stderr
    assert event_rows(db) == before
    assert (sees(db, "vinsha"), sees(db, "zakariya"), sees(db, "superadmin")) == (4, 2, 23)


def test_table_summary_and_messages(tmp_path: Path) -> None:
    result = legacy(tmp_path / "cqrs.db", *SAMPLE)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # the summary is a message, like the lines after it
    assert "legacy import" in result.stderr and "crm.lead" in result.stderr
    assert "Check users: 7 in the input, 7 in the file: ok" in result.stderr
    assert "Check opportunities: 23 in the input, 23 in the file: ok" in result.stderr
    assert "Filled from the users export: res.users 11" in result.stderr


# --- dry run ---------------------------------------------------------------------------


def test_dry_run_on_a_missing_file_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "cqrs.db"
    value = report(db, *SAMPLE, "--dry-run")
    assert not db.exists() and list(tmp_path.iterdir()) == []
    assert value["dry_run"] and value["sync_run_id"] is None and value["backup"] is None
    assert all(c["ok"] for c in value["checks"])
    # What the dry run announced is what the import then does.
    real = report(db, *SAMPLE)
    assert value["events_appended"] == real["events_appended"] > 0
    assert value["counts"] == real["counts"]


def own_files(folder: Path) -> list[str]:
    """The files in `folder` but SQLite's -wal/-shm, which a read-only look at the file may
    leave (empty) beside it (docs/operations.md)."""
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(("-wal", "-shm")))


def test_dry_run_leaves_an_existing_file_byte_for_byte(tmp_path: Path) -> None:
    db = tmp_path / "cqrs.db"
    report(db, "--data", str(DATA))  # without the users export: Rohan is missing
    files = own_files(tmp_path)
    before, events_before = digest(db), event_rows(db)
    result = legacy(db, *SAMPLE, "--dry-run", "--format", "json")
    assert result.exit_code == 0, result.output
    value = json.loads(result.stdout)
    assert digest(db) == before and event_rows(db) == events_before
    assert own_files(tmp_path) == files  # no backup, no scratch
    assert "Dry run" in result.stderr and "Would append" in result.stderr
    created = {r["model"]: r["created"] for r in value["counts"]}
    assert created["res.users"] == 1 and created["hr.employee"] == 1  # Rohan and his employee
    real = report(db, *SAMPLE)
    assert real["events_appended"] == value["events_appended"]


# --- backup ----------------------------------------------------------------------------


def test_backup_is_a_private_sqlite_copy_of_the_file_before_the_import(tmp_path: Path) -> None:
    db = tmp_path / "cqrs.db"
    report(db, "--data", str(DATA))
    assert backups(db) == []  # the first import had no file to back up
    before = event_rows(db)
    result = legacy(db, *SAMPLE, "--format", "json")
    assert result.exit_code == 0, result.output
    [bak] = backups(db)
    assert json.loads(result.stdout)["backup"] == str(bak)
    assert f"Backed up {db} to {bak}" in result.stderr
    assert bak.name.startswith("cqrs.db.bak-") and len(bak.name) == len("cqrs.db.bak-") + 16
    assert stat.S_IMODE(bak.stat().st_mode) == 0o600
    conn = sqlite3.connect(bak)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        # One self-contained file: no WAL to carry along.
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    finally:
        conn.close()
    assert event_rows(bak) == before
    assert len(event_rows(db)) > len(before)
    # The copy is a cqrs file the program opens like any other, and it answers as the
    # file did before: without the users export nobody is Zakariya's manager yet.
    assert (sees(bak, "vinsha"), sees(bak, "superadmin")) == (2, 23)
    assert sees(db, "vinsha") == 4


def test_a_foreign_file_is_refused_before_any_backup(tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    before = digest(db)
    result = legacy(db, *SAMPLE)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert "not a cqrs file" in result.stderr
    assert digest(db) == before and backups(db) == []


# --- problems --------------------------------------------------------------------------


def test_problems_abort_by_default_and_leave_the_file_untouched(tmp_path: Path) -> None:
    db = tmp_path / "cqrs.db"
    report(db, *SAMPLE)
    before = digest(db)
    result = legacy(db, "--data", str(BAD))
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    problems = [line for line in lines if line.startswith("Problem: ")]
    assert len(problems) == 11
    assert "Problem: bad_shapes.json:2: unknown model or entity type 'invoice'" in result.stderr
    assert (
        lines[-1].startswith("Error: 11 problems in the input (listed above); nothing imported")
        and "--skip-problems" in lines[-1]
    )
    assert len(lines) == len(problems) + 1
    assert result.stdout == ""
    assert digest(db) == before and backups(db) == []


def test_problems_abort_before_a_missing_file_is_created(tmp_path: Path) -> None:
    db = tmp_path / "cqrs.db"
    result = legacy(db, "--data", str(BAD))
    assert result.exit_code == 1 and not db.exists()


def test_skip_problems_imports_the_good_documents_and_still_lists_the_rest(tmp_path: Path) -> None:
    db = tmp_path / "cqrs.db"
    result = runner.invoke(
        app,
        [
            "--db",
            str(db),
            "--quiet",
            "migrate",
            "legacy",
            "--data",
            str(BAD),
            "--skip-problems",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    # --quiet silences progress, not the list of what was left out.
    assert sum(line.startswith("Problem: ") for line in result.stderr.splitlines()) == 11
    value = json.loads(result.stdout)
    assert len(value["problems"]) == 11
    assert value["problems"][0]["line"] == 2 and value["problems"][0]["file"] == "bad_shapes.json"
    created = {r["model"]: r["created"] for r in value["counts"]}
    assert created["crm.stage"] == 1  # line 1: the one good stage
    conn = sqlite3.connect(db)
    try:
        stages = conn.execute("SELECT stream_id FROM events WHERE type = 'OdooStageCreated'")
        assert stages.fetchall() == [("1",)]
    finally:
        conn.close()


# --- errors ----------------------------------------------------------------------------


def test_missing_input_file_is_a_one_line_error_in_a_real_process(tmp_path: Path) -> None:
    db = tmp_path / "cqrs.db"
    missing = tmp_path / "nope.json"
    done = run_cli("--db", str(db), "migrate", "legacy", "--data", str(missing))
    assert done.returncode == 1
    assert done.stderr == f"Error: {missing}: no such file\n"
    assert done.stdout == "" and not db.exists()


def test_no_input_at_all_is_an_error(tmp_path: Path) -> None:
    result = legacy(tmp_path / "cqrs.db")
    assert result.exit_code == 1 and result.stderr.startswith("Error: nothing to import")


def pause(db: Path, name: str) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "UPDATE checkpoints SET status = 'paused', error = 'boom',"
            " error_position = position + 1 WHERE projection = ?",
            (name,),
        )
    conn.close()


def test_counts_that_differ_fail_the_check_with_exit_3(tmp_path: Path) -> None:
    """A paused opportunity_view does not show a newly imported opportunity: the check
    compares the input with the views, so it fails and names the figures."""
    db = tmp_path / "cqrs.db"
    report(db, *SAMPLE)
    pause(db, "opportunity_view")
    doc = json.loads(DATA.read_text().splitlines()[47])
    assert doc["data"]["id"] == 101
    doc["odoo_id"] = {"$numberLong": "999"}
    doc["data"] = {**doc["data"], "id": 999, "name": "One more"}
    more = tmp_path / "more.json"
    more.write_text(DATA.read_text() + json.dumps(doc) + "\n")
    result = legacy(db, "--data", str(more), "--users", str(USERS), "--format", "json")
    assert result.exit_code == EXIT_CHECK_FAILED, result.output
    assert result.stderr.splitlines()[-1] == (
        "Error: counts differ after the import: opportunities: 24 in the input, 23 in the file"
    )
    assert "Warning: view opportunity_view is paused: boom (see `cqrs status`)" in result.stderr
    value = json.loads(result.stdout)
    assert value["events_appended"] == 1  # the import itself went through
    assert {c["name"]: c["ok"] for c in value["checks"]} == {"users": True, "opportunities": False}


def test_require_counts_names_every_figure(tmp_path: Path) -> None:
    loaded = load_legacy(DATA, USERS)
    with open_store(tmp_path / "cqrs.db", write=True) as store:
        import_into(store, loaded)
        catch_up(store)
        checks = count_checks(store.conn, replace(loaded, opportunities=24))
    with pytest.raises(CqrsError) as caught:
        require_counts(checks)
    assert caught.value.exit_code == EXIT_CHECK_FAILED
    assert caught.value.message == (
        "counts differ after the import: opportunities: 24 in the input, 23 in the file"
    )


# --- the acceptance test: same views as the equivalent snapshot file --------------------


def view_rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every view table, `computed_at` left out."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with open_store(db, write=True) as store:
        catch_up(store)
        conn = store.conn
        for name in NAMES:
            projection = make(name)
            for table in projection.table_names():
                cols = [
                    r[1]
                    for r in conn.execute(f"PRAGMA table_info({table})")
                    if r[1] not in VOLATILE
                ]
                out[table] = conn.execute(
                    f"SELECT {', '.join(cols)} FROM {table} ORDER BY {', '.join(cols)}"
                ).fetchall()
    return out


def test_legacy_sample_gives_the_same_views_as_the_equivalent_snapshot_file(tmp_path: Path) -> None:
    loaded = load_legacy(DATA, USERS)
    snapshot_file = tmp_path / "snapshot.json"
    snapshot_file.write_text(json.dumps(loaded.snapshot), encoding="utf-8")
    via_legacy, via_file = tmp_path / "legacy.db", tmp_path / "file.db"
    report(via_legacy, *SAMPLE)
    synced = runner.invoke(app, ["--db", str(via_file), "sync", "--from-file", str(snapshot_file)])
    assert synced.exit_code == 0, synced.output

    left, right = view_rows(via_legacy), view_rows(via_file)
    assert set(left) >= {
        "user_profiles",
        "opportunity_view",
        "user_access_matrix",
        "dashboard_metrics",
    }
    assert len(left["user_profiles"]) == 7 and len(left["opportunity_view"]) == 23
    for table in left:
        assert left[table] == right[table], table

    logins = [
        row[0]
        for row in sqlite3.connect(via_file).execute(
            "SELECT login FROM user_profiles ORDER BY user_id"
        )
    ]
    assert len(logins) == 7
    for login in logins:
        for command in (
            ["metrics", "--as", login, "--format", "json"],
            ["whoami-can-see", "--as", login, "--explain"],
        ):
            a = runner.invoke(app, ["--db", str(via_legacy), *command])
            b = runner.invoke(app, ["--db", str(via_file), *command])
            assert a.exit_code == b.exit_code == 0, a.output + b.output
            assert json.loads(a.stdout) == json.loads(b.stdout), (login, command)


# --- a synced file -----------------------------------------------------------------------


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_file_holding_a_real_sync_is_refused_untouched(tmp_path: Path, dry_run: bool) -> None:
    db = tmp_path / "cqrs.db"
    assert runner.invoke(app, ["--db", str(db), "sync", "--demo"]).exit_code == 0
    files = own_files(tmp_path)
    before = digest(db)
    result = legacy(db, *SAMPLE, *(["--dry-run"] if dry_run else []))
    assert result.exit_code == 1
    assert result.stdout == ""
    line = result.stderr
    assert line.startswith("Error: ") and line.count("\n") == 1
    assert "already holds a sync from demo" in line
    assert "fresh file" in line and "then sync" in line
    assert digest(db) == before
    assert own_files(tmp_path) == files  # no backup, no scratch


def test_a_file_synced_after_a_legacy_import_is_refused_in_a_real_process(tmp_path: Path) -> None:
    db = tmp_path / "cqrs.db"
    assert run_cli("--db", str(db), "migrate", "legacy", *SAMPLE).returncode == 0
    snap = tmp_path / "odoo.json"
    snap.write_text(json.dumps(demo_data()))
    # The sample and the demo number their opportunities differently: all of them change.
    synced = run_cli("--db", str(db), "sync", "--from-file", str(snap), "--allow-deletions")
    assert synced.returncode == 0, synced.stderr
    before = digest(db)
    again = run_cli("--db", str(db), "migrate", "legacy", *SAMPLE)
    assert again.returncode == 1
    assert again.stderr.count("\n") == 1 and "already holds a sync from file" in again.stderr
    assert digest(db) == before and backups(db) == []


def test_the_library_refuses_too(tmp_path: Path) -> None:
    from cqrs_cli.sources.snapshot import demo_source
    from cqrs_cli.sync import run_sync

    with open_store(tmp_path / "cqrs.db", write=True) as store:
        run_sync(store, demo_source())
        head = store.log.head()
        with pytest.raises(CqrsError, match="already holds a sync from demo"):
            import_into(store, load_legacy(DATA, USERS))
        assert store.log.head() == head


def test_problem_lines_never_print_a_secret_in_a_real_process(tmp_path: Path) -> None:
    users = tmp_path / "users.json"
    users.write_text(
        '{"name": "A", "odoo_user_id": "x", "pwd": {"$binary": {"base64": "U0VDUkVU"}}}\n'
        '{"name": "B", "odoo_user_id": 4, "api_key": {"$numberLong": "K3YVALUE"}}\n'
        '{"name": "C", "token": ["T0KEN1", {"deep": "T0KEN2"}], "odoo_user_id": \n'
    )
    done = run_cli("--db", str(tmp_path / "c.db"), "migrate", "legacy", "--users", str(users))
    assert done.returncode == 1
    problems = [line for line in done.stderr.splitlines() if line.startswith("Problem: ")]
    assert len(problems) == 3
    for secret in ("U0VDUkVU", "K3YVALUE", "T0KEN1", "T0KEN2"):
        assert secret not in done.stderr


def test_a_data_lake_without_ir_model_data_imports_by_default(tmp_path: Path) -> None:
    # The sync names the groups by their res.groups names then: no problem to refuse on.
    org = demo_data()
    del org["ir.model.data"]
    lake = tmp_path / "lake.json"
    lake.write_text(
        "".join(
            json.dumps({"model": model, "odoo_id": r["id"], "data": r}) + "\n"
            for model, records in org.items()
            for r in records
        )
    )
    db = tmp_path / "cqrs.db"
    done = run_cli("--db", str(db), "migrate", "legacy", "--data", str(lake))
    assert done.returncode == 0, done.stderr
    assert "Problem:" not in done.stderr
    for who, count in (("vinsha", 4), ("zakariya", 2), ("superadmin", 23)):
        assert sees(db, who) == count, who


class TestLegacyContract(SourceContract):
    """The old app's data lake: one document per Odoo record, read by `load_legacy` and
    imported by `import_into` (what `cqrs migrate legacy` runs). A change is a new export
    in which the record's document changed."""

    source_name = "legacy"

    def start(self, org: Org, *, employees_public: bool = False, no_xml_ids: bool = False) -> None:
        if employees_public:
            org["hr.employee.public"] = org.pop("hr.employee")
        if no_xml_ids:
            del org["ir.model.data"]
        self.org = org
        self.exports = 0

    def change(self, model: str, odoo_id: int, values: dict[str, Any]) -> None:
        next(r for r in self.org[model] if r["id"] == odoo_id).update(values)

    def delete(self, model: str, odoo_id: int) -> None:
        self.org[model] = [r for r in self.org[model] if r["id"] != odoo_id]

    def export(self) -> Path:
        """The org as mongoexport writes the data lake: one JSON document per line."""
        self.exports += 1
        path = self.tmp / f"data_lake_serving-{self.exports}.json"
        with path.open("w") as out:
            for model, records in self.org.items():
                for record in records:
                    doc = {
                        "model": model,
                        "odoo_id": record["id"],
                        "data": record,
                        "synced_at": {"$date": "2026-01-20T10:00:00.000Z"},
                    }
                    out.write(json.dumps(doc) + "\n")
        return path

    def sync(self, store: Store) -> Outcome:
        loaded = load_legacy(self.export(), None)
        result = import_into(store, loaded)
        reasons = [p.reason for p in loaded.problems]
        return Outcome(result, reported_by_sync(result) | reported_by_loader(reasons))
