"""`cqrs serve` over real HTTP: a uvicorn subprocess on 127.0.0.1 over the demo file,
driven with httpx (docs/serve.md). One server for the module; the tests that change the
file (a sync, an archived user) come last."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from cqrs_cli.app.sources import SnapshotFile
from cqrs_cli.app.sync import SyncOptions, sync
from cqrs_cli.app.tokens import create_token, revoke_token
from tests.conftest import demo_data, run_cli
from tests.demo_file import synced_copy
from tests.serve_support import Server

USERS = [
    "superadmin@demo.example",
    "vinsha@demo.example",
    "zakariya@demo.example",
    "meera@demo.example",
    "omar@demo.example",
    "lucas@demo.example",
    "priya@demo.example",
]


@pytest.fixture(scope="module")
def odoo_data() -> dict[str, Any]:
    """What Odoo holds for this module's file: the tests that sync change it in turn."""
    return demo_data()


def sync_to(db: Path, data: dict[str, Any], name: str) -> None:
    snapshot = db.with_name(f"{name}.json")
    snapshot.write_text(json.dumps(data))
    sync(db, SnapshotFile(snapshot), SyncOptions())


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synced_copy(tmp_path_factory.mktemp("serve"))


@pytest.fixture(scope="module")
def tokens(db: Path) -> dict[str, str]:
    return {login: create_token(db, login, expires=None).secret for login in USERS}


@pytest.fixture(scope="module")
def server(db: Path, tokens: dict[str, str]) -> Iterator[Server]:
    running = Server(db)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


def ask(http: httpx.Client, token: str, path: str, **params: Any) -> httpx.Response:
    return http.get(path, params=params, headers={"Authorization": f"Bearer {token}"})


def cli_json(db: Path, *args: str) -> Any:
    found = run_cli("--db", str(db), *args, "--format", "json")
    assert found.returncode == 0, found.stderr
    return json.loads(found.stdout)


def test_the_answers_are_the_commands_json(
    db: Path, tokens: dict[str, str], http: httpx.Client
) -> None:
    vinsha = tokens["vinsha@demo.example"]
    got = ask(http, vinsha, "/api/v2/dashboard")
    assert got.status_code == 200 and got.headers["content-type"] == "application/json"
    assert got.json() == cli_json(db, "metrics", "--as", "vinsha")

    listed = ask(http, vinsha, "/api/v2/opportunities").json()
    view = cli_json(db, "view", "--as", "vinsha")
    assert listed == {"items": view, "total": 4}
    open_only = ask(http, vinsha, "/api/v2/opportunities", status="open").json()
    assert open_only["items"] == [i for i in view if i["status"] == "open"]
    assert ask(http, vinsha, "/api/v2/opportunities", stage="Won").json()["items"] == [
        i for i in view if i["stage"] == "Won"
    ]

    # The filters, the order and the page are the read model's, as `cqrs view` takes them.
    for params, args in [
        ({"search": "lobby"}, ["--search", "lobby"]),
        ({"salesperson": "zakariya"}, ["--salesperson", "zakariya"]),
        ({"team": "Direct Sales"}, ["--team", "Direct Sales"]),
        (
            {"sort": "revenue:desc", "limit": 2, "offset": 1},
            ["--sort", "revenue:desc", "--limit", "2", "--offset", "1"],
        ),
    ]:
        page = ask(http, vinsha, "/api/v2/opportunities", **params).json()
        assert page["items"] == cli_json(db, "view", "--as", "vinsha", *args), params
    paged = ask(http, vinsha, "/api/v2/opportunities", sort="revenue:desc", limit=2, offset=1)
    assert paged.json()["total"] == 4 and len(paged.json()["items"]) == 2
    assert {i["via"] for i in view if i["reason"] == "subordinate"} == {"zakariya@demo.example"}

    one = ask(http, vinsha, f"/api/v2/opportunities/{view[0]['id']}")
    assert one.status_code == 200 and one.json() == view[0]

    history = ask(http, vinsha, f"/api/v2/opportunities/{view[0]['id']}/history")
    assert history.status_code == 200
    assert history.json() == cli_json(db, "history", str(view[0]["id"]))
    assert history.json()["entries"][0]["change"] == "created"
    changed = ask(http, vinsha, "/api/v2/changes", since="#1")
    assert changed.status_code == 200
    assert changed.json() == cli_json(db, "changes", "--as", "vinsha", "--since", "#1")

    users = {u["login"]: u for u in cli_json(db, "users")}
    assert ask(http, vinsha, "/api/v2/users/profile").json() == users["vinsha@demo.example"]
    below = ask(http, vinsha, "/api/v2/users/profile", user="zakariya")
    assert below.status_code == 200 and below.json() == users["zakariya@demo.example"]

    tree = ask(http, vinsha, "/api/v2/users/hierarchy").json()
    (root,) = tree["roots"]
    assert root["login"] == "vinsha@demo.example"
    assert [c["login"] for c in root["children"]] == ["zakariya@demo.example"]
    whole = ask(http, tokens["superadmin@demo.example"], "/api/v2/users/hierarchy").json()
    assert whole["roots"][0]["login"] == "superadmin@demo.example"

    status = ask(http, tokens["superadmin@demo.example"], "/api/v2/status")
    assert status.status_code == 200
    assert status.json()["head"] == cli_json(db, "status")["head"]


def test_every_user_sees_through_the_api_what_whoami_can_see_says(
    db: Path, tokens: dict[str, str], http: httpx.Client
) -> None:
    counts = {}
    for login, token in tokens.items():
        api = ask(http, token, "/api/v2/opportunities").json()
        cli = cli_json(db, "whoami-can-see", "--as", login)
        ids = [item["id"] for item in api["items"]]
        assert ids == cli["opportunities"], login
        assert api["total"] == len(ids)
        for oid in ids[:3]:
            assert ask(http, token, f"/api/v2/opportunities/{oid}").status_code == 200
        counts[login] = len(ids)
    assert counts["vinsha@demo.example"] == 4
    assert counts["zakariya@demo.example"] == 2
    assert counts["superadmin@demo.example"] == 23


def test_401_without_a_usable_token(
    db: Path, tokens: dict[str, str], http: httpx.Client, server: Server
) -> None:
    expired = create_token(db, "meera", expires=timedelta(seconds=-1)).secret
    revoked = create_token(db, "omar", expires=None)
    assert ask(http, revoked.secret, "/api/v2/dashboard").status_code == 200
    revoke_token(db, revoked.info.id)  # by the CLI's use case while the server runs
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer nope"},
        {"Authorization": f"Basic {tokens['vinsha@demo.example']}"},
        {"Authorization": f"Bearer {tokens['vinsha@demo.example']}x"},
        {"Authorization": f"Bearer {expired}"},
        {"Authorization": f"Bearer {revoked.secret}"},
    ):
        for path in (
            "/api/v2/dashboard",
            "/api/v2/opportunities",
            "/api/v2/opportunities/1",
            "/api/v2/users/profile",
            "/api/v2/users/hierarchy",
            "/api/v2/status",
            "/api/v2/opportunities/1/history",
            "/api/v2/changes?since=%231",
        ):
            got = http.get(path, headers=headers)
            assert got.status_code == 401, (headers, path)
            assert got.json() == {"detail": got.json()["detail"]}
            assert got.headers["www-authenticate"] == "Bearer"
            for secret in (*tokens.values(), expired, revoked.secret):
                assert secret not in got.text
    # A token made while the server runs works at once.
    fresh = create_token(db, "lucas", expires=None).secret
    assert ask(http, fresh, "/api/v2/users/profile").json()["login"] == "lucas@demo.example"
    # Tokens never reach the server's log (its access log is on).
    log = server.output()
    assert "GET /api/v2/dashboard" in log
    for secret in (*tokens.values(), expired, revoked.secret, fresh):
        assert secret not in log


def test_404_never_says_whether_an_invisible_thing_exists(
    tokens: dict[str, str], http: httpx.Client
) -> None:
    zakariya = tokens["zakariya@demo.example"]
    mine = {i["id"] for i in ask(http, zakariya, "/api/v2/opportunities").json()["items"]}
    everyone = ask(http, tokens["superadmin@demo.example"], "/api/v2/opportunities").json()
    hidden = next(i["id"] for i in everyone["items"] if i["id"] not in mine)
    invisible = ask(http, zakariya, f"/api/v2/opportunities/{hidden}")
    missing = ask(http, zakariya, "/api/v2/opportunities/999999")
    assert invisible.status_code == missing.status_code == 404
    assert invisible.json() == missing.json()
    hidden_history = ask(http, zakariya, f"/api/v2/opportunities/{hidden}/history")
    missing_history = ask(http, zakariya, "/api/v2/opportunities/999999/history")
    assert hidden_history.status_code == missing_history.status_code == 404
    assert hidden_history.json() == missing_history.json() == invisible.json()

    vinsha = tokens["vinsha@demo.example"]
    outside = ask(http, vinsha, "/api/v2/users/profile", user="meera")
    unknown = ask(http, vinsha, "/api/v2/users/profile", user="nobody-at-all")
    ambiguous = ask(http, tokens["superadmin@demo.example"], "/api/v2/users/profile", user="demo")
    assert outside.status_code == unknown.status_code == ambiguous.status_code == 404
    assert outside.json() == unknown.json() == ambiguous.json()
    assert "meera" not in outside.text and "@" not in unknown.text
    # An administrator may ask for anyone; someone below may not ask upwards.
    admin = ask(http, tokens["superadmin@demo.example"], "/api/v2/users/profile", user="meera")
    assert admin.json()["login"] == "meera@demo.example"
    assert ask(http, zakariya, "/api/v2/users/profile", user="vinsha").status_code == 404

    forbidden = ask(http, vinsha, "/api/v2/status")
    assert forbidden.status_code == 403 and forbidden.json() == {"detail": "administrators only"}
    nowhere = ask(http, vinsha, "/api/v2/nothing-here")
    assert nowhere.status_code == 404 and nowhere.json() == {"detail": "Not Found"}


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/api/v2/opportunities", {"status": "maybe"}, "query parameter status"),
        ("/api/v2/opportunities", {"stage": "x" * 201}, "query parameter stage"),
        ("/api/v2/opportunities/abc", {}, "path parameter opportunity_id"),
        ("/api/v2/opportunities/1.5", {}, "path parameter opportunity_id"),
        ("/api/v2/users/profile", {"user": ""}, "query parameter user"),
        ("/api/v2/opportunities", {"limit": "-1"}, "query parameter limit"),
        ("/api/v2/opportunities", {"limit": "100000"}, "query parameter limit"),
        ("/api/v2/opportunities", {"offset": "x"}, "query parameter offset"),
        ("/api/v2/opportunities", {"sort": "colour"}, "query parameter sort"),
        ("/api/v2/opportunities", {"stage": "Nowhere"}, "query parameter stage"),
        ("/api/v2/opportunities", {"team": "Nowhere"}, "query parameter team"),
        ("/api/v2/opportunities", {"salesperson": "nobody-here"}, "query parameter salesperson"),
        ("/api/v2/changes", {}, "query parameter since"),
        ("/api/v2/changes", {"since": "bogus"}, "query parameter since"),
        ("/api/v2/changes", {"since": "#1", "until": "someday"}, "query parameter until"),
        ("/api/v2/opportunities/x/history", {}, "path parameter opportunity_id"),
    ],
)
def test_422_names_the_parameter(
    tokens: dict[str, str], http: httpx.Client, path: str, params: dict[str, str], named: str
) -> None:
    got = ask(http, tokens["vinsha@demo.example"], path, **params)
    assert got.status_code == 422
    (detail,) = got.json().values()
    assert detail.startswith(named + ":"), detail


def test_safe_headers_no_cors_no_internals(
    db: Path, tokens: dict[str, str], http: httpx.Client
) -> None:
    token = tokens["superadmin@demo.example"]
    seen = []
    for path in (
        "/api/v2/dashboard",
        "/api/v2/status",
        "/api/v2/opportunities/0",
        "/",
        "/api/v2/opportunities/abc",
        "/static/style.css",
        "/openapi.json",
    ):
        got = http.get(
            path, headers={"Authorization": f"Bearer {token}", "Origin": "https://evil.example"}
        )
        assert "default-src 'none'" in got.headers["content-security-policy"], path
        assert "server" not in got.headers and "access-control-allow-origin" not in got.headers
        assert got.headers["x-content-type-options"] == "nosniff"
        seen.append(got.text)
    for text in seen:
        assert (
            str(db.parent) not in text and "Traceback" not in text and "sqlite" not in text.lower()
        )
    spec = http.get("/openapi.json").json()
    assert {
        "/api/v2/dashboard",
        "/api/v2/opportunities",
        "/api/v2/opportunities/{opportunity_id}",
        "/api/v2/users/profile",
        "/api/v2/users/hierarchy",
        "/api/v2/status",
        "/api/v2/opportunities/{opportunity_id}/history",
        "/api/v2/changes",
    } <= set(spec["paths"])
    assert http.get("/docs").status_code == 200


def test_the_pages_sign_in_with_a_token_into_an_httponly_cookie(
    tokens: dict[str, str], server: Server
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        page = browser.get("/")
        assert page.status_code == 200 and 'name="token"' in page.text
        assert 'name="password"' not in page.text  # no Odoo sign-in unless --auth odoo
        failed = browser.post("/sign-in", data={"token": "wrong"})
        assert failed.status_code == 401 and "Sign-in failed." in failed.text
        signed = browser.post("/sign-in", data={"token": tokens["vinsha@demo.example"]})
        assert signed.status_code == 303
        cookie = signed.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # plain HTTP: a Secure cookie would never come back
        home = browser.get("/")
        assert "Vinsha Rao" in home.text and '<span id="total">4</span>' in home.text
        assert "<script" not in home.text and "<svg" in home.text
        assert 'name="viewport"' in home.text and "Data as of log position" in home.text
        assert browser.get("/opportunities/1").status_code == 200
        assert browser.get("/opportunities/9").status_code == 404
        assert "Zakariya Haddad" in browser.get("/hierarchy").text
        browser.post("/sign-out")
        assert 'name="token"' in browser.get("/").text


def test_behind_a_local_tls_proxy_the_cookie_is_secure(
    tokens: dict[str, str], server: Server
) -> None:
    """A reverse proxy on this host that ends TLS says so (X-Forwarded-Proto); the cookie
    is then Secure, and the address a failed sign-in counts against is the client's."""
    proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    with httpx.Client(base_url=server.url, timeout=30, headers=proxied) as browser:
        signed = browser.post("/sign-in", data={"token": tokens["vinsha@demo.example"]})
        assert signed.status_code == 303
        assert "Secure" in signed.headers["set-cookie"]
    for n in range(5):  # one client behind the proxy guesses...
        with httpx.Client(base_url=server.url, timeout=30, headers=proxied) as guesser:
            assert guesser.post("/sign-in", data={"token": f"guess-{n}"}).status_code == 401
    with httpx.Client(base_url=server.url, timeout=30, headers=proxied) as guesser:
        assert guesser.post("/sign-in", data={"token": "guess"}).status_code == 429
    other = {**proxied, "X-Forwarded-For": "198.51.100.9"}  # ...another is not held back
    with httpx.Client(base_url=server.url, timeout=30, headers=other) as browser:
        signed = browser.post("/sign-in", data={"token": tokens["vinsha@demo.example"]})
        assert signed.status_code == 303


def test_hostile_names_are_shown_not_obeyed(
    db: Path, tokens: dict[str, str], server: Server
) -> None:
    data = demo_data()
    data["crm.lead"][0]["name"] = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    data["crm.lead"][0]["write_date"] = "2026-02-01 00:00:00"
    sync_to(db, data, "hostile")
    with httpx.Client(base_url=server.url, timeout=30) as browser:
        browser.post("/sign-in", data={"token": tokens["vinsha@demo.example"]})
        home = browser.get("/").text
        assert "<script>alert" not in home and "<img src=x" not in home
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in home


def test_a_sync_while_serving_is_seen_whole_by_the_next_request(
    db: Path, tokens: dict[str, str], http: httpx.Client, odoo_data: dict[str, Any]
) -> None:
    vinsha = tokens["vinsha@demo.example"]
    before = ask(http, vinsha, "/api/v2/opportunities").json()["total"]
    data = odoo_data
    lead = next(x for x in data["crm.lead"] if x["user_id"] and x["user_id"][0] == 3)
    extra = 300
    data["crm.lead"] += [
        {**lead, "id": 5000 + n, "name": f"Extra {n}", "write_date": "2026-03-01 00:00:00"}
        for n in range(extra)
    ]

    totals: list[int] = []
    broken: list[str] = []
    stop = threading.Event()

    def poll() -> None:
        with httpx.Client(base_url=http.base_url, timeout=30) as client:
            while not stop.is_set():
                got = ask(client, vinsha, "/api/v2/opportunities", limit=1000)
                answer = got.json()
                if got.status_code != 200 or answer["total"] != len(answer["items"]):
                    broken.append(got.text[:200])  # a thread's assert would go unheard
                    return
                totals.append(answer["total"])

    pollers = [threading.Thread(target=poll) for _ in range(2)]
    for t in pollers:
        t.start()
    try:
        while len(totals) < 4 and not broken:  # the pollers are asking before the sync
            time.sleep(0.01)
        sync_to(db, data, "bigger")
        seen = len(totals)
        while len(totals) < seen + 4 and not broken:  # and after it
            time.sleep(0.01)
    finally:
        stop.set()
        for t in pollers:
            t.join()
    after = ask(http, vinsha, "/api/v2/opportunities").json()["total"]
    assert after == before + extra
    assert broken == []
    assert set(totals) == {before, after}, sorted(set(totals))  # never a half-applied sync


def test_a_user_archived_since_is_refused(
    db: Path, tokens: dict[str, str], http: httpx.Client, odoo_data: dict[str, Any]
) -> None:
    priya = tokens["priya@demo.example"]
    assert ask(http, priya, "/api/v2/dashboard").status_code == 200
    data = odoo_data
    for user in data["res.users"]:
        if user["login"] == "priya@demo.example":
            user["active"] = False
            user["write_date"] = "2026-03-02 00:00:00"
    sync_to(db, data, "archived")
    assert ask(http, priya, "/api/v2/dashboard").status_code == 401
    assert ask(http, tokens["vinsha@demo.example"], "/api/v2/dashboard").status_code == 200
