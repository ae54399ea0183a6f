"""Tables a person can read at 80 columns (and more when wider): a number, an id, a date
or a status is never cut, numbers are right-aligned with thousands separators, text
folds instead of ending in an ellipsis. Through real processes (COLUMNS set, stdout a
pipe, `--format table` forcing the table) and CliRunner."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from cqrs_cli.cli.app import app
from cqrs_cli.cli.output import shared_domain
from cqrs_cli.projections.runner import catch_up
from tests.conftest import REPO, run_cli
from tests.demo_file import synced_copy
from tests.read_support import (
    ACCOUNTS,
    LEADS,
    SALESMAN,
    VINSHA,
    ZAKARIYA,
    Org,
    demo_like,
    new_store,
)

LONG_NAME = "Refit of the whole north campus: " + "desks, chairs and acoustic panels " * 4


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    store = new_store(tmp_path_factory.mktemp("tables"))
    org = Org(store)
    demo_like(org)
    org.put(ACCOUNTS, id=9, name="The Very Long Account Name of a Holding Company", is_company=True)
    org.put(
        LEADS,
        id=24,
        name=LONG_NAME,
        user_id=VINSHA,
        company_id=1,
        partner_id=9,
        stage_id=3,
        expected_revenue=123456789.5,
        probability=45.0,
    )
    catch_up(store)
    store.close()
    yield store.path


def table(db: Path, columns: int, *args: str) -> str:
    done = run_cli("--db", str(db), *args, "--format", "table", env={"COLUMNS": str(columns)})
    assert done.returncode == 0, done.stderr
    return done.stdout


def data(db: Path, *args: str) -> Any:
    done = run_cli("--db", str(db), *args, "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def fits(shown: str, columns: int) -> None:
    assert shown.strip()
    assert max(cell_len(line) for line in shown.splitlines()) <= columns, shown
    assert "…" not in shown, shown


def cells(shown: str) -> list[list[str]]:
    """The cells of each line of a rich table (its frame left out)."""
    return [
        [c.strip() for c in line.strip()[1:-1].split("│")]
        for line in shown.splitlines()
        if line.startswith("│")
    ]


def rows_of(shown: str) -> list[list[str]]:
    """The rows of a rich table whose first column is never empty: each cell's lines
    joined by spaces."""
    rows: list[list[list[str]]] = []
    for line in cells(shown):
        if line[0]:
            rows.append([[c] for c in line])
        else:
            for parts, c in zip(rows[-1], line, strict=True):
                parts.append(c)
    return [[" ".join(p for p in parts if p) for parts in row] for row in rows]


def header(shown: str) -> str:
    return " ".join(
        " ".join(c.strip() for c in line[1:-1].split("┃"))
        for line in shown.splitlines()
        if line.startswith("┃")
    )


@pytest.mark.parametrize("columns", [80, 100, 120, 160, 240])
def test_view_never_cuts_a_number_an_id_or_a_stage_at_any_width(db: Path, columns: int) -> None:
    shown = table(db, columns, "view", "--as", "vinsha")
    fits(shown, columns)
    lines = cells(shown)
    for item in data(db, "view", "--as", "vinsha"):
        # The row's first line holds its id and its whole revenue, right-aligned.
        row = next(r for r in lines if r[0] == str(item["id"]))
        assert f"{item['expected_revenue']:,.2f}" in row
    assert "123,456,789.50" in shown


def test_view_at_80_columns_shows_the_columns_that_matter(db: Path) -> None:
    shown = table(db, 80, "view", "--as", "vinsha")
    words = header(shown).split()
    for name in ("id", "name", "stage", "expected", "revenue", "salesperson", "reason"):
        assert name in words
    assert "manager" not in words and "probability" not in words
    # Numbers to the right: the revenue cells of a column end at the same place.
    revenue = [line for line in shown.splitlines() if ",000.00 " in line or "8,750.00 " in line]
    assert len({line.index(".00 ") for line in revenue}) == 1
    # Via whom in the reason; the status where the stage does not say it.
    flat = " ".join(c for r in cells(shown) for c in r)
    assert "subordinate" in flat and "· zakariya" in flat
    lost = [i["id"] for i in data(db, "view", "--as", "admin") if i["status"] == "lost"]
    stages = {int(r[0]): r[2] for r in rows_of(table(db, 80, "view", "--as", "admin"))}
    assert lost and all(stages[i].endswith(" · lost") for i in lost)
    assert all("lost" not in stage for i, stage in stages.items() if i not in lost)


def test_view_shows_more_columns_when_wider(db: Path) -> None:
    words = header(table(db, 240, "view", "--as", "vinsha")).split()
    for name in ("probability", "manager", "account", "expected"):
        assert name in words


def test_the_demo_table_fits_80_columns_in_cli_runner(tmp_path: Path) -> None:
    """CliRunner gives rich no terminal: the width comes from COLUMNS, as a shell's."""
    demo = synced_copy(tmp_path)
    done = CliRunner().invoke(
        app,
        ["--db", str(demo), "view", "--as", "vinsha", "--format", "table"],
        env={"COLUMNS": "80"},
    )
    assert done.exit_code == 0, done.stderr
    fits(done.stdout, 80)
    assert "subordinate ·" in done.stdout and "20,000.00" in done.stdout


@pytest.mark.parametrize("columns", [80, 120])
def test_users_at_80_columns(db: Path, columns: int) -> None:
    shown = table(db, columns, "users")
    fits(shown, columns)
    for user in data(db, "users"):
        row = next(r for r in cells(shown) if r[0] == str(user["id"]))
        assert user["access"] in row and ("yes" if user["active"] else "no") in row


@pytest.mark.parametrize("columns", [80, 120])
def test_events_never_cut_a_position_a_type_or_a_date(db: Path, columns: int) -> None:
    shown = table(db, columns, "events", "--limit", "30")
    fits(shown, columns)
    for event in data(db, "events", "--limit", "30"):
        row = next(r for r in cells(shown) if r[0] == str(event["position"]))
        assert event["type"] in row
        assert f"{event['stream_type']}:{event['stream_id']}" in row
        if columns >= 100:
            assert event["recorded_at"] in row


def test_whoami_table_lists_accounts_under_a_whole_title(db: Path) -> None:
    seen = data(db, "whoami-can-see", "--as", "vinsha")
    shown = table(db, 80, "whoami-can-see", "--as", "vinsha", "--explain")
    fits(shown, 80)
    title = (
        f"vinsha can see {len(seen['opportunities'])} opportunities"
        f" and {len(seen['accounts'])} accounts"
    )
    assert title in shown.splitlines()[0]
    rows = cells(shown)
    assert [int(r[1]) for r in rows if r[0] == "account"] == seen["accounts"]
    assert [int(r[1]) for r in rows if r[0] == "opportunity"] == seen["opportunities"]
    assert ["opportunity", "3", "subordinate", "zakariya"] in rows


def test_validate_fits_80_columns(db: Path) -> None:
    done = run_cli("--db", str(db), "validate", "--format", "table", env={"COLUMNS": "80"})
    assert done.returncode == 0, done.stderr
    fits(done.stdout, 80)
    assert "hash chain intact" in done.stdout


def test_a_terminal_too_narrow_for_the_numbers_wraps_rather_than_cuts(db: Path) -> None:
    shown = table(db, 30, "view", "--as", "vinsha")
    assert "…" not in shown
    assert "123,456,789.50" in shown


def test_logins_of_one_domain_are_shortened_in_the_table_only(tmp_path: Path) -> None:
    """The demo's logins all end @demo.example: the table says so once in its title and
    shows `zakariya` (a row's reason then fits: "subordinate · zakariya"); the data
    formats keep every login whole."""
    demo = synced_copy(tmp_path)
    shown = table(demo, 80, "view", "--as", "vinsha")
    assert "What vinsha@demo.example can see (4); logins @demo.example" in shown
    rows = {int(r[0]): r for r in rows_of(shown)}
    assert [rows[i][4] for i in (1, 2, 3, 4)] == ["vinsha", "vinsha", "zakariya", "zakariya"]
    assert rows[3][5] == rows[4][5] == "subordinate · zakariya"
    items = data(demo, "view", "--as", "vinsha")
    assert {i["via"] for i in items} == {None, "zakariya@demo.example"}
    piped = run_cli("--db", str(demo), "view", "--as", "vinsha")
    assert "\tsubordinate\tzakariya@demo.example\n" in piped.stdout


def test_users_table_shortens_logins_of_one_domain(tmp_path: Path) -> None:
    demo = synced_copy(tmp_path)
    shown = table(demo, 80, "users")
    assert "users; logins @demo.example" in shown
    rows = {int(r[0]): r for r in rows_of(shown)}
    people = data(demo, "users")
    assert {rows[p["id"]][1] for p in people} == {p["login"].split("@")[0] for p in people}
    assert all("@" not in " ".join(row) for row in rows.values())


@pytest.mark.parametrize(
    ("logins", "domain"),
    [
        (["a@x.example", "b@X.Example", None], "x.example"),
        (["a@x.example", "b@y.example"], None),
        (["a@x.example", "admin"], None),  # a login with no domain: shown whole
        (["a@x.example", "@x.example"], None),  # nothing would be left of one
        (["a@b@x.example", "c@x.example"], "x.example"),
        (["bob@x.example", "bob@X.EXAMPLE"], None),  # both would show as bob
        (["bob@x.example", "bob@x.example", "ann@x.example"], "x.example"),
        ([None], None),
    ],
)
def test_which_logins_share_a_domain(logins: list[str | None], domain: str | None) -> None:
    assert shared_domain(logins) == domain


def test_logins_of_several_domains_are_shown_whole(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    org = Org(store)
    demo_like(org)
    org.user(VINSHA, "vinsha@demo.example", [SALESMAN], name="Vinsha")
    org.user(ZAKARIYA, "zakariya@partner.example", [SALESMAN], name="Zakariya")
    catch_up(store)
    store.close()
    shown = table(store.path, 200, "view", "--as", "vinsha")
    assert "logins @" not in shown
    assert "subordinate · zakariya@partner.example" in shown
    assert "vinsha@demo.example" in [r[5] for r in rows_of(shown)]


def test_the_readme_shows_the_real_80_column_table(tmp_path: Path) -> None:
    """The README's first command, as it prints in an 80-column terminal."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start = readme.index("```text\n", readme.index("In an 80-column terminal")) + len("```text\n")
    sample = readme[start : readme.index("```", start)]
    demo = synced_copy(tmp_path)
    done = run_cli(
        "--db", str(demo), "view", "--as", "vinsha", "--format", "table", env={"COLUMNS": "80"}
    )
    assert done.returncode == 0, done.stderr
    assert sample == "".join(line.rstrip() + "\n" for line in done.stdout.splitlines())


@pytest.mark.parametrize("columns", [80, 140])
def test_history_never_cuts_a_date(db: Path, columns: int) -> None:
    shown = table(db, columns, "history", "24")
    fits(shown, columns)
    entries = data(db, "history", "24")["entries"]
    for entry in entries:
        row = next(r for r in cells(shown) if r[0] == str(entry["position"]))
        assert (entry["recorded_at"] in row) == (columns >= 120)
    # No date folded over lines: every cell that starts like one is a whole one.
    whole = {e[k] for e in entries for k in ("recorded_at", "write_date")} | {
        v[side]
        for e in entries
        for v in e["fields"].values()
        for side in ("old", "new")
        if isinstance(v[side], str)
    }
    started = [c for r in cells(shown) for c in r if re.match(r"\d{4}-\d\d-\d\d", c)]
    assert all(c in whole for c in started), started
    assert started or columns < 120
