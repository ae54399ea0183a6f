"""Snapshot mistakes are errors, not warnings: a key no sync reads, or no synced model at all,
stops before anything is written, in one line naming the key and the known models."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cqrs_cli.cli.app import app
from cqrs_cli.sources.base import SourceError
from cqrs_cli.sources.snapshot import SnapshotSource
from tests.conftest import demo_data, run_cli
from tests.demo_file import synced_copy

runner = CliRunner()


def _typo() -> dict[str, Any]:
    data = demo_data()
    data["crm.leads"] = data.pop("crm.lead")
    return data


CASES = [
    ({}, "holds none of the models a sync reads (res.users, hr.employee, "),
    ({"crm.leads": []}, "unknown model 'crm.leads' (did you mean crm.lead?); known models: "),
    ({"res.groups": []}, "holds none of the models a sync reads"),
]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(("data", "says"), CASES)
def test_a_bad_snapshot_is_one_line_and_writes_no_new_file(
    tmp_path: Path, data: dict[str, Any], says: str
) -> None:
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps(data))
    db = tmp_path / "new.db"
    res = run_cli("--db", str(db), "sync", "--from-file", str(snap))
    assert res.returncode == 1
    assert res.stdout == ""
    [line] = res.stderr.splitlines()
    assert line.startswith(f"Error: {snap}") and says in line
    assert "crm.lead" in line and "res.partner" in line  # the known ones are named
    assert not db.exists()


def test_a_typo_among_good_models_leaves_a_synced_file_as_it_was(tmp_path: Path) -> None:
    db = synced_copy(tmp_path)
    before = digest(db)
    snap = tmp_path / "snap.json"
    snap.write_text(json.dumps(_typo()))
    res = runner.invoke(app, ["--db", str(db), "sync", "--from-file", str(snap)])
    assert res.exit_code == 1
    assert res.stderr.startswith(
        f"Error: {snap}: unknown model 'crm.leads' (did you mean crm.lead?)"
    )
    assert res.stderr.count("\n") == 1
    assert digest(db) == before
    # The same file checked by validate: the same error, nothing compared.
    check = runner.invoke(
        app, ["--db", str(db), "validate", "--against-source", "--from-file", str(snap)]
    )
    assert check.exit_code == 1 and "unknown model 'crm.leads'" in check.stderr


def test_in_memory_snapshots_are_checked_too() -> None:
    with pytest.raises(SourceError, match=r"snapshot file: unknown model 'crm\.leads'"):
        SnapshotSource({"crm.leads": []})
    with pytest.raises(SourceError, match="snapshot demo holds none of the models"):
        SnapshotSource({}, name="demo")
    # The employees Odoo serves to users without HR rights are a synced model.
    assert SnapshotSource({"hr.employee.public": []}).provides("hr.employee")


def test_a_legacy_import_with_no_record_is_an_error_before_any_write(tmp_path: Path) -> None:
    empty = tmp_path / "data_lake_serving.json"
    empty.write_text("")
    db = tmp_path / "legacy.db"
    res = run_cli("--db", str(db), "migrate", "legacy", "--data", str(empty))
    assert res.returncode == 1
    assert res.stderr.splitlines() == [
        "Error: nothing to import: the input holds no Odoo record (users, employees, teams, "
        "stages, accounts or opportunities)"
    ]
    assert not db.exists()
    # Every document a problem, imported anyway: nothing is left, still nothing written.
    odd = tmp_path / "odd.json"
    odd.write_text('{"model": "invoice", "odoo_id": 1, "data": {}}\n')
    skipped = run_cli("--db", str(db), "migrate", "legacy", "--data", str(odd), "--skip-problems")
    assert skipped.returncode == 1
    assert skipped.stderr.splitlines()[-1].endswith("once its problems are left out")
    assert list(tmp_path.glob("legacy.db*")) == []
