"""The acceptance matrix on the embedded demo organisation, end to end (docs/demo.md)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli


def can_see(db: Path, user: str) -> dict[str, object]:
    res = run_cli("--db", str(db), "whoami-can-see", "--as", user, "--explain")
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)  # type: ignore[no-any-return]


def test_demo_matrix_through_the_command_line(db_path: Path) -> None:
    first = run_cli("--db", str(db_path), "sync", "--demo")
    assert first.returncode == 0, first.stderr
    again = run_cli("--db", str(db_path), "sync", "--demo")
    assert again.returncode == 0 and "0 events appended" in again.stderr

    vinsha, zakariya, admin = (can_see(db_path, u) for u in ("vinsha", "zakariya", "superadmin"))
    assert len(admin["opportunities"]) == 23  # type: ignore[arg-type]
    assert len(zakariya["opportunities"]) == 2  # type: ignore[arg-type]
    assert set(zakariya["opportunities"]) < set(vinsha["opportunities"])  # type: ignore[arg-type]
    assert len(vinsha["opportunities"]) == 4  # type: ignore[arg-type]

    users = json.loads(run_cli("--db", str(db_path), "users", "--format", "json").stdout)
    by_login = {u["login"].split("@")[0]: u for u in users}
    assert len(users) == 7
    assert by_login["zakariya"]["id"] in by_login["vinsha"]["subordinates"]
    assert by_login["zakariya"]["manager_id"] == by_login["vinsha"]["id"]

    view = json.loads(
        run_cli("--db", str(db_path), "view", "--as", "vinsha", "--format", "json").stdout
    )
    reasons = {item["id"]: (item["reason"], item["salesperson"]["login"]) for item in view}
    assert sorted(r for r, _ in reasons.values()) == ["own", "own", "subordinate", "subordinate"]
    assert all(login.startswith("zakariya") for r, login in reasons.values() if r == "subordinate")

    status = json.loads(run_cli("--db", str(db_path), "status", "--format", "json").stdout)
    assert status["head"] > 0
    assert {p["state"] for p in status["projections"]} == {"current"}


def test_demo_metrics_follow_the_rules(db_path: Path) -> None:
    assert run_cli("--db", str(db_path), "-q", "sync", "--demo").returncode == 0
    view = json.loads(
        run_cli("--db", str(db_path), "view", "--as", "vinsha", "--format", "json").stdout
    )
    metrics = json.loads(
        run_cli("--db", str(db_path), "metrics", "--as", "vinsha", "--format", "json").stdout
    )
    own = [o for o in view if o["reason"] == "own"]
    open_own = [o for o in own if o["status"] == "open"]
    assert metrics["own"]["active_opportunities"] == len(open_own)
    assert metrics["own"]["pipeline_value"] == sum(o["expected_revenue"] for o in open_own)
    assert metrics["own"]["won_revenue"] == sum(
        o["expected_revenue"] for o in own if o["status"] == "won"
    )
    team_open = [o for o in view if o["status"] == "open"]
    assert metrics["team"]["weighted_pipeline"] == sum(
        o["expected_revenue"] * o["probability"] / 100 for o in team_open
    )
    zak = json.loads(
        run_cli("--db", str(db_path), "metrics", "--as", "zakariya", "--format", "json").stdout
    )
    assert zak["team"] is None
