from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from tests.fake_odoo import FakeOdoo, Login

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "s3cret-Pa55word"
API_KEY = "0123456789abcdef-api-key"
ADMIN = "superadmin@demo.example"


def demo_data() -> dict[str, Any]:
    text = resources.files("cqrs_cli.sources").joinpath("demo.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


@pytest.fixture
def fake() -> Iterator[FakeOdoo]:
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
