from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cqrs_cli.store.files import Store, open_store

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "cqrs.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    with open_store(db_path, write=True) as s:
        yield s


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m cqrs_cli` in a real subprocess, importing this checkout."""
    base = {k: v for k, v in os.environ.items() if k != "CQRS_DEBUG"}
    full_env = {**base, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "cqrs_cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )
