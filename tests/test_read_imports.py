"""The read path imports only what it uses (docs/architecture.md: The layers): no odoorpc,
no sqlite-utils, and no pydantic from our side."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
from cqrs_cli.store.files import open_store
from cqrs_cli.app.queries import prepare, resolve_user, visible_opportunities, metrics_of, can_see
from cqrs_cli.projections import NAMES
store = open_store(Path(sys.argv[1]), write=True)
prepare(store, NAMES)
user = resolve_user(store.conn, "vinsha")
assert len(visible_opportunities(store, user["id"])) == 4
metrics_of(store, user["id"])
can_see(store, user["id"])
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
