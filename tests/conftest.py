from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from cqrs_cli.store.files import Store, open_store
from tests.fake_odoo import FakeOdoo, Login

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "s3cret-Pa55word"
API_KEY = "0123456789abcdef-api-key"
ADMIN = "superadmin@demo.example"


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


def demo_data() -> dict[str, Any]:
    """The embedded demo organisation, as a fresh dict (tests may change it)."""
    text = resources.files("cqrs_cli.sources").joinpath("demo.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


@pytest.fixture
def fake() -> Iterator[FakeOdoo]:
    """A fake Odoo 17 serving the demo organisation on 127.0.0.1 (a free port)."""
    odoo = FakeOdoo("demo")
    odoo.load(demo_data())
    odoo.logins[ADMIN] = Login(uid=2, password=PASSWORD, api_keys=(API_KEY,))
    # Odoo's clock a little behind ours: what a test writes is older than the sync's
    # `until` bound (now - buffer) and so is read by the very next sync.
    odoo.clock_offset = timedelta(seconds=-30)
    odoo.start()
    try:
        yield odoo
    finally:
        odoo.stop()
