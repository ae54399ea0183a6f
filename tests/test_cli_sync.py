"""`cqrs sync` and `cqrs export` through Typer's runner and real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cqrs_cli.cli.app import app
from tests.conftest import ADMIN, PASSWORD, REPO
from tests.fake_odoo import FakeOdoo, Fault

runner = CliRunner()


def cqrs(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("ODOO_", "CQRS_"))}
    full_env.update(PYTHONPATH=str(REPO), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "cqrs_cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
        check=False,
    )


def odoo_args(fake: FakeOdoo, password: str = PASSWORD) -> list[str]:
    return ["--url", fake.url, "--database", "demo", "--user", ADMIN, "--password", password]


def test_demo_sync_prints_a_summary_and_a_second_run_says_no_change(tmp_path: Path) -> None:
    db = str(tmp_path / "c.db")
    first = runner.invoke(app, ["--db", db, "sync", "--demo"])
    assert first.exit_code == 0, first.output
    # The summary is a message (stderr) unless a --format asks for it as data.
    assert first.stdout == ""
    assert "crm.lead" in first.stderr and "23" in first.stderr
    assert "Appended 59 events" in first.stderr
    second = runner.invoke(app, ["--db", db, "sync", "--demo", "--format", "json"])
    assert second.exit_code == 0
    report = json.loads(second.stdout)
    assert report["events_appended"] == 0 and report["source"] == "demo"
    assert {r["model"]: r["unchanged"] for r in report["counts"]}["crm.lead"] == 23
    assert "No change: 0 events appended." in second.stderr


def test_exactly_one_source(tmp_path: Path) -> None:
    db = str(tmp_path / "c.db")
    both = runner.invoke(app, ["--db", db, "sync", "--demo", "--from-file", "x.json"])
    assert both.exit_code == 2
    assert both.stderr.strip() == "Error: choose one source, not --demo and --from-file"
    none = runner.invoke(app, ["--db", db, "sync"], env={"ODOO_URL": ""})
    assert none.exit_code == 2 and none.stderr.startswith("Error: no source")
    half = runner.invoke(
        app,
        ["--db", db, "sync", "--url", "http://x"],
        env={"ODOO_DB": "", "ODOO_USER": "", "ODOO_PASSWORD": ""},
    )
    assert half.exit_code == 2 and "missing --database" in half.stderr


def test_bad_snapshot_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    result = runner.invoke(app, ["--db", str(tmp_path / "c.db"), "sync", "--from-file", str(bad)])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: ")


def test_sync_from_fake_odoo_with_env_then_no_change(fake: FakeOdoo, tmp_path: Path) -> None:
    db = str(tmp_path / "c.db")
    env = {"ODOO_URL": fake.url, "ODOO_DB": "demo", "ODOO_USER": ADMIN, "ODOO_PASSWORD": PASSWORD}
    first = cqrs("--db", db, "sync", "--format", "json", env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["events_appended"] == 59
    second = cqrs("--db", db, "sync", env=env)
    assert second.returncode == 0 and "No change: 0 events appended." in second.stderr
    for out in (first.stdout, first.stderr, second.stdout, second.stderr):
        assert PASSWORD not in out


def test_wrong_password(fake: FakeOdoo, tmp_path: Path) -> None:
    result = cqrs("--db", str(tmp_path / "c.db"), "sync", *odoo_args(fake, "not-it"))
    assert result.returncode == 1
    assert result.stderr == f"Error: Odoo refused the login for {ADMIN} on demo\n"
    assert "not-it" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("http500", "Error: Odoo answered HTTP 500 reading crm.stage"),
        ("malformed", "Error: Odoo sent a malformed answer reading crm.stage: "),
        ("slow", "Error: Odoo did not answer in time reading crm.stage"),
        ("access_error", "Error: Odoo refused access reading crm.stage: "),
        ("access_denied", "Error: Odoo denied access reading crm.stage (session or credentials): "),
    ],
)
def test_faults_are_one_line_errors_and_the_next_sync_resumes(
    fake: FakeOdoo, tmp_path: Path, kind: str, message: str
) -> None:
    db = str(tmp_path / "c.db")
    fake.faults.append(Fault(kind, model="crm.stage", method="search_read", delay=3))
    failed = cqrs("--db", db, "sync", "--timeout", "1", *odoo_args(fake))
    assert failed.returncode == 1
    errors = [ln for ln in failed.stderr.splitlines() if ln.startswith("Error")]
    assert len(errors) == 1 and errors[0].startswith(message), failed.stderr
    assert "Traceback" not in failed.stderr and PASSWORD not in failed.stderr
    resumed = cqrs("--db", db, "sync", "--format", "json", *odoo_args(fake))
    assert resumed.returncode == 0, resumed.stderr
    counts = {r["model"]: r for r in json.loads(resumed.stdout)["counts"]}
    assert counts["crm.stage"]["created"] == 4 and counts["res.users"]["created"] == 0


def test_server_down_is_one_line(fake: FakeOdoo, tmp_path: Path) -> None:
    args = odoo_args(fake)
    fake.stop()
    result = cqrs("--db", str(tmp_path / "c.db"), "sync", *args)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: cannot reach Odoo") and result.stderr.count("\n") == 1


def test_export_then_sync_from_the_file_equals_the_odoo_sync(
    fake: FakeOdoo, tmp_path: Path
) -> None:
    snap = tmp_path / "snap.json"
    exported = cqrs("export", str(snap), *odoo_args(fake))
    assert exported.returncode == 0, exported.stderr
    assert PASSWORD not in snap.read_text()
    assert oct(snap.stat().st_mode & 0o777) == "0o600"
    a, b = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    assert cqrs("--db", a, "sync", *odoo_args(fake)).returncode == 0
    from_file = cqrs("--db", b, "sync", "--from-file", str(snap))
    assert from_file.returncode == 0, from_file.stderr
    show = [cqrs("--db", p, "events", "--format", "json") for p in (a, b)]
    records = [
        sorted(
            (e["stream_type"], e["stream_id"], json.dumps(e["data"], sort_keys=True))
            for e in json.loads(s.stdout)
        )
        for s in show
    ]
    assert len(records[0]) == 59 and records[0] == records[1]


def test_concurrent_syncs_append_each_event_once(tmp_path: Path) -> None:
    db = str(tmp_path / "c.db")
    assert cqrs("--db", db, "migrate").returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ODOO_", "CQRS_"))}
    env["PYTHONPATH"] = str(REPO)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cqrs_cli",
                "--db",
                db,
                "-q",
                "sync",
                "--demo",
                "--format",
                "json",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err for _, err in outs]
    assert sum(json.loads(out)["events_appended"] for out, _ in outs) == 59
    shown = json.loads(cqrs("--db", db, "events", "--format", "json").stdout)
    assert len(shown) == 59 and len({(e["stream_type"], e["stream_id"]) for e in shown}) == 59


def test_cli_start_up_does_not_load_the_sync_machinery() -> None:
    code = (
        "import sys, cqrs_cli.cli.app; "
        "print([m for m in ('pydantic', 'odoorpc', 'cqrs_cli.sync', 'cqrs_cli.domain.records') "
        "if m in sys.modules])"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == "[]"
