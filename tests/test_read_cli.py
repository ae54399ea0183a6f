"""The query commands through the real CLI: pinned JSON shapes, user names, errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.read_support import VIEW_KEYS, VINSHA, ZAKARIYA, Org, demo_like, new_store

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli")
    store = new_store(path)
    demo_like(Org(store))
    store.close()
    return path / "cqrs.db"


def cqrs(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CQRS_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "cqrs_cli", "--db", str(db), *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )


def as_json(db: Path, *args: str) -> Any:
    out = cqrs(db, *args, "--format", "json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_view_json_shape(db: Path) -> None:
    items = as_json(db, "view", "--as", "vinsha")
    assert len(items) == 4
    for item in items:
        assert set(item) == set(VIEW_KEYS)
        assert set(item["salesperson"]) == {"id", "login", "name"}
        assert item["status"] in ("open", "won", "lost")
    won = as_json(db, "view", "--as", "vinsha", "--status", "won")
    assert [i["id"] for i in won] == [i["id"] for i in items if i["status"] == "won"]
    new = as_json(db, "view", "--as", "vinsha", "--stage", "new")
    assert [i["id"] for i in new] == [i["id"] for i in items if i["stage"] == "New"]


def test_whoami_and_explain(db: Path) -> None:
    plain = as_json(db, "whoami-can-see", "--as", "ZAK")  # case-insensitive prefix
    assert plain["user"] == {"id": ZAKARIYA, "login": "zakariya", "name": "Zakariya"}
    assert set(plain) == {"user", "opportunities", "accounts"}
    assert len(plain["opportunities"]) == 2
    explained = as_json(db, "whoami-can-see", "--as", str(VINSHA), "--explain")
    assert {r["reason"] for r in explained["reasons"].values()} == {"own", "subordinate"}
    assert sorted(int(k) for k in explained["reasons"]) == explained["opportunities"]


def test_metrics_json_shape(db: Path) -> None:
    value = as_json(db, "metrics", "--as", "Vinsha")
    assert value["user"]["login"] == "vinsha"
    keys = {
        "pipeline_value",
        "weighted_pipeline",
        "won_revenue",
        "active_opportunities",
        "by_stage",
    }
    assert set(value["own"]) == keys and set(value["team"]) == keys
    assert as_json(db, "metrics", "--as", "zakariya")["team"] is None
    table = cqrs(db, "metrics", "--as", "vinsha", "--format", "table")
    assert table.returncode == 0 and "█" in table.stdout


def test_users_and_tree(db: Path) -> None:
    users = as_json(db, "users")
    vinsha = next(u for u in users if u["login"] == "vinsha")
    assert {
        "id",
        "login",
        "name",
        "employee_id",
        "manager_id",
        "subordinates",
        "all_subordinates",
        "teams",
    } <= set(vinsha)
    assert vinsha["subordinates"] == [ZAKARIYA]
    tree = cqrs(db, "users", "--tree", "--format", "table")
    assert tree.returncode == 0
    assert tree.stdout.index("vinsha") < tree.stdout.index("zakariya")


def test_status_json(db: Path) -> None:
    value = as_json(db, "status")
    # The pinned keys; keys may be added (the last sync run, warnings), never removed.
    assert {"head", "projections"} <= set(value)
    assert [p["name"] for p in value["projections"]] == [
        "user_profiles",
        "opportunity_view",
        "user_access_matrix",
        "dashboard_metrics",
        "opportunity_versions",
    ]
    for p in value["projections"]:
        assert set(p) == {"name", "version", "position", "lag", "state", "error"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("nobody", "no user matches 'nobody'; known logins: admin, vinsha"),
        # Logins starting with "m" are the candidates; "Mitchell Admin", a name that only
        # starts with it, is not.
        ("m", "'m' is ambiguous: mitchell, marc;"),
    ],
)
def test_user_resolution_errors(db: Path, name: str, expected: str) -> None:
    out = cqrs(db, "view", "--as", name)
    assert out.returncode == 1
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {expected}")


def test_rebuild_reports_rate_and_usage_errors(db: Path) -> None:
    out = cqrs(db, "rebuild", "--all")
    assert out.returncode == 0, out.stderr
    assert "events/s" in out.stderr
    assert cqrs(db, "rebuild").returncode == 2
    bad = cqrs(db, "rebuild", "--projection", "nope")
    assert bad.returncode == 2 and "unknown projection 'nope'" in bad.stderr


def test_users_tree_survives_a_cycle_and_lists_archived(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    org = Org(store)
    org.user(2, "ann", ["sales_team.group_sale_salesman"])
    org.user(3, "bob", ["sales_team.group_sale_salesman"], active=False)
    org.employee(1, 2, 2)  # ann's employee would report to bob's...
    org.employee(2, 3, 1)  # ...and bob's to ann's: a loop
    store.close()
    db = tmp_path / "cqrs.db"
    out = cqrs(db, "users", "--tree", "--format", "table")
    assert out.returncode == 0, out.stderr
    assert "ann" in out.stdout and "bob" in out.stdout and "archived" in out.stdout
    assert "manager chain loops for ann, bob" in out.stderr
    listed = as_json(db, "users")
    assert [(u["login"], u["active"]) for u in listed] == [("ann", True), ("bob", False)]
    assert listed[0]["all_subordinates"] == [3] and listed[1]["all_subordinates"] == [2]
