"""Quiet means quiet: a write command's summary is a message (stderr, none with --quiet),
and data on stdout only when a --format asks for it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from cqrs_cli.cli.app import app
from tests.conftest import REPO, run_cli

runner = CliRunner()
LEGACY = [
    "migrate",
    "legacy",
    "--data",
    str(REPO / "tests" / "legacy" / "data_lake_serving.json"),
    "--users",
    str(REPO / "tests" / "legacy" / "users.json"),
]


def test_a_quiet_sync_prints_nothing_at_all(tmp_path: Path) -> None:
    db = str(tmp_path / "cqrs.db")
    first = run_cli("--quiet", "--db", db, "sync", "--demo")
    again = run_cli("--db", db, "sync", "--demo", "-q")  # nothing to do; -q after the command
    for res in (first, again):
        assert res.returncode == 0
        assert (res.stdout, res.stderr) == ("", "")
    events = run_cli("--db", db, "events", "--format", "json")
    assert len(json.loads(events.stdout)) == 59


def test_the_sync_summary_is_a_message_unless_a_format_asks_for_data(tmp_path: Path) -> None:
    db = str(tmp_path / "cqrs.db")
    loud = run_cli("--db", db, "sync", "--demo")  # stdout piped, as in a script
    assert loud.returncode == 0 and loud.stdout == ""
    assert "sync from demo (full)" in loud.stderr and "crm.lead" in loud.stderr
    assert "Appended 59 events" in loud.stderr
    data = run_cli("--quiet", "--db", db, "sync", "--demo", "--format", "json")
    assert data.returncode == 0 and data.stderr == ""
    assert json.loads(data.stdout)["events_appended"] == 0
    table = runner.invoke(app, ["--db", db, "sync", "--demo", "--format", "table"])
    assert "crm.lead" in table.stdout and "No change" in table.stderr
    csv = runner.invoke(app, ["--db", db, "-q", "sync", "--demo", "--format", "csv"])
    assert csv.stdout.splitlines()[0] == "model,created,updated,deleted,unchanged,invalid"
    assert csv.stderr == ""


def test_a_quiet_legacy_import_prints_nothing_at_all(tmp_path: Path) -> None:
    db = str(tmp_path / "cqrs.db")
    for _ in range(2):  # the second one has nothing to do
        res = run_cli("--quiet", "--db", db, *LEGACY)
        assert res.returncode == 0
        assert (res.stdout, res.stderr) == ("", "")
    loud = run_cli("--db", db, *LEGACY)
    assert loud.stdout == "" and "legacy import" in loud.stderr and "No change" in loud.stderr
    data = runner.invoke(app, ["--db", db, "--quiet", *LEGACY, "--format", "json"])
    assert json.loads(data.stdout)["events_appended"] == 0 and data.stderr == ""
