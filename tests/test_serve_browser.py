"""The dashboard in a real browser: headless Chromium (Debian's package, which `.ci/run`
installs when missing) driven by Playwright's Python API against `cqrs serve`. Each page
is saved as a screenshot in the test's temp dir."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from cqrs_cli.app.tokens import create_token
from tests.demo_file import synced_copy
from tests.serve_support import Server

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary (apt-get install chromium; .ci/run does)"
)
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if CHROMIUM is not None:
    from playwright.sync_api import Browser, Page, sync_playwright


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    db = synced_copy(tmp_path_factory.mktemp("browser"))
    tokens = {who: create_token(db, who, expires=None).secret for who in ("vinsha", "zakariya")}
    server = Server(db, "--no-access-log")
    yield server, tokens
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


def sign_in(browser: Browser, url: str, token: str, width: int = 1280) -> Page:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.set_default_timeout(10_000)
    page.goto(url + "/")
    page.fill("#token", token)
    page.click("text=Sign in with a token")
    page.wait_for_selector("#opportunities")
    return page


def rows(page: Page) -> int:
    return page.locator("#opportunities tbody tr").count()


def test_vinsha_sees_her_four_her_figures_and_zakariya_below_her(
    served: tuple[Server, dict[str, str]], browser: Browser, tmp_path: Path
) -> None:
    server, tokens = served
    errors: list[str] = []
    page = sign_in(browser, server.url, tokens["vinsha"])
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.screenshot(path=tmp_path / "1-dashboard-vinsha.png", full_page=True)
    assert page.locator("h1").inner_text() == "Vinsha Rao"
    assert rows(page) == 4 and page.locator("#total").inner_text() == "4"
    assert page.locator("#kpi-pipeline").inner_text() == "8,750"
    assert page.locator("#kpi-won").inner_text() == "12,500"
    assert page.locator("#kpi-active").inner_text() == "1"
    assert page.locator("svg.chart rect").count() == 2
    # The stylesheet loaded under the CSP: the KPIs are laid out as a grid.
    assert page.eval_on_selector(".kpis", "e => getComputedStyle(e).display") == "grid"

    page.click(".switch >> text=Team")  # the own / team switch
    page.wait_for_url("**/?scope=team")
    assert page.locator("#kpi-active").inner_text() == "2"
    page.screenshot(path=tmp_path / "2-dashboard-team.png", full_page=True)

    page.select_option("select[name=status]", "won")
    page.click("button:has-text('Filter')")
    page.wait_for_url("**status=won**")
    assert rows(page) == 1
    page.screenshot(path=tmp_path / "3-filtered-won.png", full_page=True)

    page.select_option("select[name=status]", "")
    page.fill("input[name=search]", "LOBBY")
    page.click("button:has-text('Filter')")
    page.wait_for_url("**search=LOBBY**")
    assert rows(page) == 1 and "Lobby" in page.locator("#opportunities tbody").inner_text()
    assert "via zakariya@demo.example" in page.locator("#opportunities tbody").inner_text()
    page.screenshot(path=tmp_path / "3b-search.png", full_page=True)

    page.click("header >> text=Team")
    page.wait_for_selector("#tree")
    tree = page.locator("#tree > li")
    assert tree.count() == 1 and "Vinsha Rao" in tree.first.inner_text()
    assert page.locator("#tree > li > ul > li").first.inner_text().startswith("Zakariya Haddad")
    page.screenshot(path=tmp_path / "4-hierarchy.png", full_page=True)
    assert errors == []  # the CSP blocked nothing the page needs
    page.close()


def test_zakariya_sees_two_and_an_opportunitys_page(
    served: tuple[Server, dict[str, str]], browser: Browser, tmp_path: Path
) -> None:
    server, tokens = served
    page = sign_in(browser, server.url, tokens["zakariya"], width=390)  # a phone
    page.screenshot(path=tmp_path / "5-dashboard-zakariya-phone.png", full_page=True)
    assert rows(page) == 2
    # Nothing wider than the phone's screen but the table, which scrolls in its own box.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    first = page.locator("#opportunities tbody tr a").first
    name = first.inner_text()
    first.click()
    page.wait_for_selector("#history")
    assert page.locator("h1").inner_text() == name
    entries = page.locator("#history > li")
    assert entries.count() >= 1 and "created" in entries.first.inner_text()
    assert name in entries.first.inner_text()  # the name it was created with
    page.screenshot(path=tmp_path / "6-opportunity.png", full_page=True)
    page.click("text=Sign out")
    page.wait_for_selector("#token")
    page.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "5-dashboard-zakariya-phone.png",
        "6-opportunity.png",
    ]


def test_the_api_docs_work_with_no_internet(
    served: tuple[Server, dict[str, str]], browser: Browser, tmp_path: Path
) -> None:
    """/docs is Swagger UI served by cqrs itself: every request the page makes goes to
    the server, and its Content-Security-Policy lets the UI run (no violation)."""
    server, _ = served
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(10_000)
    requested: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(server.url + "/docs")
    page.wait_for_selector(".opblock-summary-path")
    page.screenshot(path=tmp_path / "docs.png", full_page=True)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v2/opportunities" in [p.strip() for p in paths]
    assert requested and all(url.startswith(server.url) for url in requested), requested
    assert errors == []
