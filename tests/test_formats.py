"""`--format` is honoured by every command that prints data, the same way: each one's
`--format json` through the CLI (real processes, and CliRunner), the org chart nested,
the metrics' by-stage rows in every other format, verify and rebuild as data."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cqrs_cli.cli.app import app
from tests.conftest import run_cli
from tests.demo_file import synced_copy


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return synced_copy(tmp_path)


def as_json(db: Path, *args: str) -> Any:
    done = run_cli("--db", str(db), *args, "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# Every command that prints data, and what its JSON holds.
EVERY = [
    (["view", "--as", "vinsha"], list),
    (["whoami-can-see", "--as", "vinsha"], dict),
    (["metrics", "--as", "vinsha"], dict),
    (["users"], list),
    (["users", "--tree"], list),
    (["events", "--limit", "3"], list),
    (["status"], dict),
    (["verify"], dict),
    (["rebuild", "--all"], dict),
    (["dead-letters"], list),
    (["validate"], dict),
    (["migrate", "--status"], list),
    (["webhooks", "list"], list),
    (["sync", "--demo"], dict),
]


@pytest.mark.parametrize(("args", "kind"), EVERY, ids=[" ".join(a) for a, _ in EVERY])
def test_every_command_that_prints_data_takes_format_json(
    demo: Path, args: list[str], kind: type
) -> None:
    done = run_cli("--db", str(demo), *args, "--format", "json")
    assert done.returncode == 0, done.stderr
    assert isinstance(json.loads(done.stdout), kind)
    assert "Error" not in done.stderr


@pytest.mark.parametrize("args", [a for a, _ in EVERY], ids=lambda a: " ".join(a))
def test_every_command_that_prints_data_takes_format_json_in_cli_runner(
    demo: Path, args: list[str]
) -> None:
    done = CliRunner().invoke(app, ["--db", str(demo), *args, "--format", "json"])
    assert done.exit_code == 0, done.stderr
    json.loads(done.stdout)


def test_the_org_chart_as_json_is_nested(demo: Path) -> None:
    roots = as_json(demo, "users", "--tree")

    def logins(nodes: list[dict[str, Any]]) -> list[Any]:
        return [[n["login"], logins(n["children"])] for n in nodes]

    chart = logins(roots)
    assert chart[0][0] == "superadmin@demo.example"
    vinsha = next(c for c in chart[0][1] if c[0] == "vinsha@demo.example")
    assert vinsha == ["vinsha@demo.example", [["zakariya@demo.example", []]]]
    assert set(roots[0]) == {"id", "login", "name", "access", "active", "children"}
    # Every user once.
    flat: list[str] = []

    def walk(nodes: list[dict[str, Any]]) -> None:
        for n in nodes:
            flat.append(n["login"])
            walk(n["children"])

    walk(roots)
    assert sorted(flat) == sorted(u["login"] for u in as_json(demo, "users"))


def test_the_org_chart_in_rows_has_depth_and_manager(demo: Path) -> None:
    done = run_cli("--db", str(demo), "users", "--tree", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    by_login = {r["login"]: r for r in rows}
    assert by_login["superadmin@demo.example"]["depth"] == "0"
    assert by_login["zakariya@demo.example"]["depth"] == "2"
    assert by_login["zakariya@demo.example"]["manager"] == "vinsha@demo.example"


@pytest.mark.parametrize("fmt", ["csv", "tsv", "github", "plain"])
def test_metrics_in_every_format_has_the_by_stage_rows(demo: Path, fmt: str) -> None:
    figures = as_json(demo, "metrics", "--as", "vinsha")
    done = run_cli("--db", str(demo), "metrics", "--as", "vinsha", "--format", fmt)
    assert done.returncode == 0, done.stderr
    for scope in ("own", "team"):
        rows = [re.split(r"[\s,|]+", line.strip(" |")) for line in done.stdout.splitlines()]
        for stage in figures[scope]["by_stage"]:
            # The scope, the stage's name and its count, in one row.
            assert any(
                r[0] == scope and stage["stage"] in r and str(stage["count"]) in r for r in rows
            ), (stage, done.stdout)


def test_metrics_csv_rows_add_up_to_the_json(demo: Path) -> None:
    figures = as_json(demo, "metrics", "--as", "vinsha")
    done = run_cli("--db", str(demo), "metrics", "--as", "vinsha", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    for scope in ("own", "team"):
        mine = [r for r in rows if r["scope"] == scope]
        assert float(mine[0]["pipeline_value"]) == figures[scope]["pipeline_value"]
        assert [(r["stage"], int(r["count"]), float(r["value"])) for r in mine[1:]] == [
            (s["stage"], s["count"], s["value"]) for s in figures[scope]["by_stage"]
        ]


def test_verify_as_json_and_a_failed_check(demo: Path) -> None:
    found = as_json(demo, "verify")
    assert found["ok"] is True and found["problems"] == []
    assert found["head"].startswith(f"{found['events']}:")
    raw = sqlite3.connect(demo)
    raw.execute("DROP TRIGGER events_no_update")
    raw.execute("UPDATE events SET data = '{\"n\":666}' WHERE position = 3")
    raw.commit()
    raw.close()
    done = run_cli("--db", str(demo), "verify", "--format", "json")
    assert done.returncode == 3
    broken = json.loads(done.stdout)
    assert broken["ok"] is False and any("position 3" in p for p in broken["problems"])
    assert done.stderr.startswith("Error: ") and len(done.stderr.strip().splitlines()) == 1


def test_rebuild_as_data_and_as_a_message(demo: Path) -> None:
    found = as_json(demo, "rebuild", "--projection", "opportunity_view")
    assert found["views"] == ["opportunity_view"] and found["events"] > 0
    assert set(found) == {"views", "events", "seconds", "events_per_second"}
    quiet = run_cli("--db", str(demo), "rebuild", "--all")
    assert quiet.stdout == "" and "events/s" in quiet.stderr


def test_status_dead_letters_and_whoami_json_shapes(demo: Path) -> None:
    assert {"head", "projections", "last_sync"} <= set(as_json(demo, "status"))
    assert as_json(demo, "dead-letters") == []
    assert set(as_json(demo, "whoami-can-see", "--as", "vinsha")) == {
        "user",
        "opportunities",
        "accounts",
    }
