"""Failed sign-ins on the page are limited (docs/serve.md, "Security"): one address cannot
keep guessing, and the Odoo sign-ins of everyone together stop before Odoo's own
per-address cooldown (5 failures) would lock this server's address, and a sync from the
same host, out of Odoo. Through a real `cqrs serve` and the fake Odoo, and the limit's
own clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cqrs_cli.app.tokens import create_token
from cqrs_cli.http.limits import MAX_CLIENTS, SignInLimit
from tests.conftest import demo_data
from tests.demo_file import synced_copy
from tests.fake_odoo import FakeOdoo, Login
from tests.serve_support import Server

PASSWORD = "vinsha-Pa55-word"


@pytest.fixture
def odoo() -> Iterator[FakeOdoo]:
    fake = FakeOdoo("demo")
    fake.load(demo_data())
    fake.logins["vinsha@demo.example"] = Login(uid=3, password=PASSWORD)
    fake.start()
    yield fake
    fake.stop()


def logins_asked(odoo: FakeOdoo) -> int:
    return sum(b'"login"' in body and b'"common"' in body for _, body in odoo.requests)


def test_odoo_sign_ins_stop_before_odoo_would_lock_the_address(
    tmp_path: Path, odoo: FakeOdoo
) -> None:
    db = synced_copy(tmp_path)
    token = create_token(db, "vinsha", expires=None).secret
    args = ("--auth", "odoo", "--odoo-url", odoo.url, "--odoo-db", "demo", "--no-access-log")
    server = Server(db, *args)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as browser:
            for _ in range(4):
                wrong = {"login": "vinsha@demo.example", "password": "guess"}
                assert browser.post("/sign-in", data=wrong).status_code == 401
            assert logins_asked(odoo) == 4
            right = {"login": "vinsha@demo.example", "password": PASSWORD}
            refused = browser.post("/sign-in", data=right)
            assert refused.status_code == 429
            assert 1 <= int(refused.headers["retry-after"]) <= 60
            assert "Too many failed sign-ins: try again in " in refused.text
            assert "set-cookie" not in refused.headers
            assert logins_asked(odoo) == 4  # Odoo was not asked again
            # A token does not go through Odoo: this address has 4 failures, below 5.
            assert browser.post("/sign-in", data={"token": token}).status_code == 303
        assert PASSWORD not in server.output() and token not in server.output()
    finally:
        server.stop()


def test_one_address_guessing_tokens_is_stopped(tmp_path: Path) -> None:
    db = synced_copy(tmp_path)
    token = create_token(db, "vinsha", expires=None).secret
    server = Server(db, "--no-access-log")
    try:
        with httpx.Client(base_url=server.url, timeout=30) as browser:
            for n in range(5):
                guess = {"token": f"guess-{n}"}
                assert browser.post("/sign-in", data=guess).status_code == 401
            refused = browser.post("/sign-in", data={"token": token})
            assert refused.status_code == 429
            assert "set-cookie" not in refused.headers
            # The API's bearer tokens are not the page's sign-in: still answered.
            mine = {"Authorization": f"Bearer {token}"}
            assert browser.get("/api/v2/dashboard", headers=mine).status_code == 200
    finally:
        server.stop()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_limit_lifts_as_failures_leave_the_window() -> None:
    clock = Clock()
    limit = SignInLimit(window=60, per_client=3, odoo_failures=2, clock=clock)
    for _ in range(3):
        assert limit.wait("a", odoo=False) == 0
        limit.failed("a", odoo=False)
        clock.now += 10
    assert limit.wait("a", odoo=False) == pytest.approx(30)  # the first failure, at 1000
    assert limit.wait("b", odoo=False) == 0  # another address is not held back
    clock.now += 30
    assert limit.wait("a", odoo=False) == 0
    limit.succeeded("a", odoo=False)
    limit.failed("a", odoo=False)
    assert limit.wait("a", odoo=False) == 0  # a success forgot the earlier failures


def test_odoo_failures_count_across_addresses_until_a_success() -> None:
    clock = Clock()
    limit = SignInLimit(window=60, per_client=5, odoo_failures=2, clock=clock)
    limit.failed("a", odoo=True)
    clock.now += 5
    limit.failed("b", odoo=True)
    assert limit.wait("c", odoo=True) == pytest.approx(55)
    assert limit.wait("c", odoo=False) == 0  # a token sign-in does not reach Odoo
    limit.succeeded("c", odoo=True)  # as Odoo forgets them on a success
    assert limit.wait("c", odoo=True) == 0


def test_the_addresses_remembered_are_bounded() -> None:
    limit = SignInLimit(per_client=1, clock=Clock())
    for n in range(MAX_CLIENTS + 10):
        limit.failed(f"10.0.{n // 256}.{n % 256}", odoo=False)
    assert limit.wait("10.0.0.0", odoo=False) == 0  # the oldest were let go
    assert limit.wait(f"10.0.{(MAX_CLIENTS + 9) // 256}.{(MAX_CLIENTS + 9) % 256}", odoo=False) > 0
