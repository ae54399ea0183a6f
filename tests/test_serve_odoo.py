"""`cqrs serve --auth odoo`: signing in on the page with one's own Odoo login, checked by
the fake Odoo over JSON-RPC (through odoorpc); and the command's own safe defaults."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from cqrs_cli.app.tokens import create_token
from tests.conftest import REPO, demo_data, run_cli
from tests.demo_file import synced_copy
from tests.fake_odoo import FakeOdoo, Login
from tests.serve_support import Server

VINSHA_PASSWORD = "vinsha-Pa55-word"


@pytest.fixture(scope="module")
def odoo() -> Iterator[FakeOdoo]:
    fake = FakeOdoo("demo")
    fake.load(demo_data())
    fake.logins["vinsha@demo.example"] = Login(uid=3, password=VINSHA_PASSWORD)
    fake.logins["ghost@demo.example"] = Login(uid=99, password="ghost-pw")  # not synced here
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synced_copy(tmp_path_factory.mktemp("serve-odoo"))


@pytest.fixture(scope="module")
def server(db: Path, odoo: FakeOdoo) -> Iterator[Server]:
    running = Server(
        db,
        "--auth",
        "odoo",
        "--odoo-url",
        odoo.url,
        "--odoo-db",
        "demo",
        "--cors-origin",
        "https://crm.example.com",
    )
    yield running
    running.stop()


def test_signing_in_with_odoo_maps_to_the_synced_user(server: Server, odoo: FakeOdoo) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        page = browser.get("/")
        assert 'name="login"' in page.text and 'name="password"' in page.text
        signed = browser.post(
            "/sign-in", data={"login": "vinsha@demo.example", "password": VINSHA_PASSWORD}
        )
        assert signed.status_code == 303
        cookie = signed.headers["set-cookie"]
        assert cookie.startswith("cqrs_session=") and "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        assert VINSHA_PASSWORD not in cookie
        home = browser.get("/")
        assert "Vinsha Rao" in home.text and '<span id="total">4</span>' in home.text
        api = browser.get("/api/v2/opportunities").json()
        assert api["total"] == 4
        browser.post("/sign-out")
        assert browser.get("/api/v2/opportunities").status_code == 401
    assert any(b'"login"' in body and b"vinsha@demo.example" in body for _, body in odoo.requests)


@pytest.mark.parametrize(
    ("login", "password"),
    [
        ("vinsha@demo.example", "wrong"),  # Odoo refuses the password
        ("nobody@demo.example", "whatever"),  # Odoo knows no such login
        ("ghost@demo.example", "ghost-pw"),  # Odoo accepts, but no such synced user here
    ],
)
def test_a_failed_sign_in_says_only_that_it_failed(
    server: Server, login: str, password: str
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        failed = browser.post("/sign-in", data={"login": login, "password": password})
        assert failed.status_code == 401
        assert "Sign-in failed." in failed.text
        assert "set-cookie" not in failed.headers
        for word in ("password", "Odoo refused", "not synced", "unknown"):
            assert word not in failed.text.split("<main>")[1].split("<form")[0]
        assert browser.get("/api/v2/dashboard").status_code == 401
    assert password not in server.output() and VINSHA_PASSWORD not in server.output()


def test_auth_odoo_needs_its_url_and_database(db: Path) -> None:
    found = run_cli("--db", str(db), "serve", "--auth", "odoo", "--port", "0")
    assert found.returncode == 2
    assert found.stderr.strip() == "Error: --auth odoo needs --odoo-url and --odoo-db"


def test_beyond_loopback_it_warns_to_put_tls_in_front(db: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cqrs_cli",
            "--db",
            str(db),
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--no-access-log",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert process.stderr is not None
        lines = [process.stderr.readline(), process.stderr.readline()]
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert lines[0].startswith("Warning: listening on 0.0.0.0") and "TLS" in lines[0]
    assert lines[1].startswith("Serving ") and "http://0.0.0.0:" in lines[1]


def test_an_unexpected_error_is_json_without_internals(tmp_path: Path) -> None:
    db = synced_copy(tmp_path)
    secret = create_token(db, "vinsha", expires=None).secret
    server = Server(db, "--no-access-log")
    try:
        conn = sqlite3.connect(db)
        conn.execute("DROP TABLE dashboard_metrics")  # a file damaged under the server
        conn.close()
        got = httpx.get(
            server.url + "/api/v2/dashboard",
            headers={"Authorization": f"Bearer {secret}"},
            timeout=30,
        )
        assert got.status_code == 500
        assert got.json() == {"detail": "internal error; the server's log says more"}
        assert "dashboard_metrics" in server.output() and "Traceback" in server.output()
        # The rest still answers.
        assert (
            httpx.get(
                server.url + "/api/v2/users/profile",
                headers={"Authorization": f"Bearer {secret}"},
                timeout=30,
            ).status_code
            == 200
        )
    finally:
        server.stop()


def test_cors_only_for_the_origins_given(server: Server) -> None:
    allowed = httpx.get(
        server.url + "/api/v2/dashboard", headers={"Origin": "https://crm.example.com"}
    )
    assert allowed.status_code == 401  # CORS lets the page ask; the token still decides
    assert allowed.headers["access-control-allow-origin"] == "https://crm.example.com"
    other = httpx.get(server.url + "/api/v2/dashboard", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
