"""The read path imports only what it uses (docs/architecture.md: The layers): no odoorpc,
no sqlite-utils, and no pydantic from our side."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cqrs_cli.projections.runner import catch_up
from cqrs_cli.store.files import open_store
from tests.read_support import Org, demo_like, new_store

ROOT = Path(__file__).resolve().parents[1]
HEAVY_ALWAYS = ("odoorpc", "sqlite_utils", "cqrs_cli.domain.records", "cqrs_cli.store.envelope")

CLI_SCRIPT = """
import json, sys
sys.argv = ["cqrs", "--db", sys.argv[1], *sys.argv[2].split(), "--format", "json"]
from cqrs_cli.cli.app import app
try:
    app()
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules)), file=sys.stderr)
"""

LIBRARY_SCRIPT = """
import json, sys
from pathlib import Path
from cqrs_cli.app.read_model import open_read_model
with open_read_model(Path(sys.argv[1])) as model:  # catches the views up: the file is writable
    user = model.user("vinsha")
    assert len(model.opportunities(user.id).items) == 4
    model.metrics(user.id)
    model.can_see(user.id)
print(json.dumps(sorted(m for m in sys.modules)))
"""


def _demo(tmp_path: Path) -> Path:
    store = new_store(tmp_path)
    demo_like(Org(store))
    store.close()
    return tmp_path / "cqrs.db"


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_library_read_path_imports_no_pydantic(tmp_path: Path) -> None:
    db = _demo(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", LIBRARY_SCRIPT, str(db)],
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    loaded = set(json.loads(out.stdout))
    assert not [m for m in loaded if m.split(".")[0] == "pydantic"]
    assert not loaded & set(HEAVY_ALWAYS)


def test_cli_queries_skip_odoorpc_and_sqlite_utils(tmp_path: Path) -> None:
    db = _demo(tmp_path)
    for command in (
        "view --as vinsha",
        "metrics --as vinsha",
        "whoami-can-see --as vinsha",
        "history 1",
        "changes --as vinsha --since #20",
        "view --as vinsha --as-of #30",
        "users --as-of #10",
    ):
        out = subprocess.run(
            [sys.executable, "-c", CLI_SCRIPT, str(db), command],
            env=_env(),
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        loaded = set(json.loads(out.stderr.strip().splitlines()[-1]))
        assert json.loads(out.stdout)  # the command answered
        # typer 0.29 itself coerces options through pydantic (typer._adapters), so pydantic
        # may be present; none of our write-side modules or heavy clients may be.
        assert not loaded & set(HEAVY_ALWAYS), command


def test_a_query_on_current_views_loads_only_its_own_command_and_answers(tmp_path: Path) -> None:
    """What keeps a query's start-up lean (benchmarks/startup.py measures it): with its views
    current, `view` loads no projection code, no other command and no other answers."""
    db = _demo(tmp_path)
    with open_store(db, write=True) as store:
        catch_up(store)
    out = subprocess.run(
        [sys.executable, "-c", CLI_SCRIPT, str(db), "view --as vinsha"],
        env=_env(),
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    loaded = set(json.loads(out.stderr.strip().splitlines()[-1]))
    assert len(json.loads(out.stdout)) == 4  # Vinsha's opportunities
    ours = {m for m in loaded if m.startswith("cqrs_cli.")}
    assert "cqrs_cli.cli.commands.view" in ours
    assert "cqrs_cli.app.answers.opportunities" in ours
    assert not {m for m in ours if m.startswith("cqrs_cli.cli.commands.")} - {
        "cqrs_cli.cli.commands",
        "cqrs_cli.cli.commands.view",
        "cqrs_cli.cli.commands.numbers",  # the parser of --limit and --offset, no command
    }
    assert not ours & {
        "cqrs_cli.projections.base",
        "cqrs_cli.projections.registry",
        "cqrs_cli.projections.runner",
        "cqrs_cli.domain.hierarchy",
        "cqrs_cli.app.answers.people",
        "cqrs_cli.app.answers.file",
        "rich",
        "tabulate",
    }
