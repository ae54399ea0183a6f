"""`view`'s filters, sorting and pages, and `via` (docs/access.md, "Why a row is visible"):
through the read model (`OpportunityFilter`, `Opportunities.total`) and the real CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cqrs_cli.app.answers.opportunities import Opportunity, OpportunityFilter
from cqrs_cli.app.read_model import ReadModel, UnknownUser
from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError
from cqrs_cli.projections.runner import catch_up
from tests.conftest import run_cli
from tests.read_support import (
    ALL_LEADS,
    LEADS,
    LISA,
    MARC,
    MITCHELL,
    SALESMAN,
    SUPERADMIN,
    VIEW_KEYS,
    VINSHA,
    ZAKARIYA,
    Org,
    demo_like,
    new_store,
)


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Org]:
    store = new_store(tmp_path)
    org = Org(store)
    demo_like(org)
    # Names a filter must fold beyond ASCII, and sort without regard to case.
    org.opp(3, ZAKARIYA, name="Café Straße", stage_id=4, partner_id=4, team_id=1)
    org.opp(9, MITCHELL, name="aardvark", stage_id=2, partner_id=5, team_id=2)
    catch_up(store)
    yield org
    store.close()


def ids(items: tuple[Opportunity, ...]) -> list[int]:
    return [i.id for i in items]


def test_a_subordinates_row_says_via_whom(org: Org) -> None:
    found = ReadModel(org.store).opportunities("vinsha").items
    assert [(i.id, i.reason, i.via) for i in found] == [
        (1, "own", None),
        (2, "own", None),
        (3, "subordinate", "zakariya"),
        (4, "subordinate", "zakariya"),
    ]
    admin = ReadModel(org.store).opportunities(SUPERADMIN).items
    assert {(i.reason, i.via == (i.salesperson and i.salesperson.login)) for i in admin} == {
        ("subordinate", True)
    }


def test_sorting_by_each_field_ties_by_id(org: Org) -> None:
    model = ReadModel(org.store)
    everything = model.opportunities(SUPERADMIN).items
    assert ids(everything) == list(range(1, 24))

    def sort(by: str) -> list[int]:
        return ids(model.opportunities(SUPERADMIN, OpportunityFilter(sort=by)).items)

    revenue = {i.id: i.expected_revenue or 0.0 for i in everything}
    assert sort("revenue") == sorted(revenue, key=lambda i: (revenue[i], i))
    assert sort("REVENUE:desc") == sorted(revenue, key=lambda i: (-revenue[i], i))
    chance = {i.id: i.probability or 0.0 for i in everything}
    assert sort("probability:desc") == sorted(chance, key=lambda i: (-chance[i], i))
    pipeline = {"New": 1, "Qualified": 2, "Proposition": 3, "Won": 4}
    by_stage = sorted(everything, key=lambda i: (pipeline[i.stage or ""], i.id))
    assert sort("stage") == ids(tuple(by_stage))
    # Names in any case: "aardvark" first, "Café Straße" before "Opportunity 1".
    assert sort("name")[:3] == [9, 3, 1]
    assert sort("name:desc")[-2:] == [3, 9]
    assert sort("id:desc") == list(range(23, 0, -1))
    assert sort("id:asc") == list(range(1, 24))


def test_a_page_and_the_total_before_it(org: Org) -> None:
    model = ReadModel(org.store)
    page = model.opportunities(
        SUPERADMIN, OpportunityFilter(sort="revenue:desc", limit=5, offset=2)
    )
    assert ids(page.items) == [21, 20, 19, 18, 17] and page.total == 23
    opened = model.opportunities(SUPERADMIN, OpportunityFilter(status="open", limit=2))
    everything_open = model.opportunities(SUPERADMIN, OpportunityFilter(status="open"))
    assert opened.items == everything_open.items[:2]
    assert opened.total == everything_open.total == len(everything_open.items) > 2
    nothing = model.opportunities(SUPERADMIN, OpportunityFilter(limit=0))
    assert nothing.items == () and nothing.total == 23
    past_the_end = model.opportunities(SUPERADMIN, OpportunityFilter(offset=50))
    assert past_the_end.items == () and past_the_end.total == 23
    with model.stream_opportunities(SUPERADMIN, OpportunityFilter(offset=20)) as found:
        assert [i.id for i in found.items] == [21, 22, 23]


def test_a_pages_total_is_what_the_whole_answer_holds_for_every_kind_of_user(
    org: Org,
) -> None:
    """A page with no filter counts the visible set alone, without the join to
    opportunity_view: both views must keep the same opportunities, whoever asks, after
    one is deleted, one turns back into a lead and one is in another company."""
    org.user(20, "alice", [SALESMAN, ALL_LEADS], name="Alice All")
    org.user(21, "nobody", [], name="No Groups")
    org.opp(30, MARC, company_id=2, partner_id=1, team_id=2)
    org.opp(31, None, partner_id=2)
    org.delete(LEADS, 5)
    org.opp(6, LISA, type="lead")
    catch_up(org.store)
    model = ReadModel(org.store)
    access = {p.id: p.access for p in model.profiles().items}
    kinds = [access[u] for u in (SUPERADMIN, 20, VINSHA, 21)]
    assert kinds == ["administrator", "all_documents", "own_documents", "none"]
    for who in (SUPERADMIN, 20, VINSHA, MITCHELL, MARC, 21):
        whole = model.opportunities(who).items
        assert 5 not in ids(whole) and 6 not in ids(whole)
        for sort, expected in (("id", whole), ("id:desc", whole[::-1])):
            page = model.opportunities(who, OpportunityFilter(sort=sort, limit=3, offset=1))
            assert page.items == expected[1:4]
            assert page.total == len(whole), (who, sort)
    assert len(model.opportunities(21).items) == 0
    assert model.opportunities(SUPERADMIN, OpportunityFilter(limit=1)).total == 23 - 2 + 1


def test_search_is_in_the_name_or_the_account_in_any_case(org: Org) -> None:
    model = ReadModel(org.store)

    def search(text: str, who: str | int = SUPERADMIN) -> list[int]:
        return ids(model.opportunities(who, OpportunityFilter(search=text)).items)

    # Account k is the partner of opportunities with 1 + id % 5 == k (3 and 9 moved).
    assert search("ACCOUNT 2") == [1, 6, 11, 16, 21]
    assert search("opportunity 1") == [1, *range(10, 20)]
    assert search("STRASSE") == [3]  # ß folds to ss: beyond what SQLite's LIKE folds
    assert search("café") == search("CAFÉ") == [3]
    assert search("account 4", "vinsha") == [3]  # within what Vinsha sees
    assert search("nowhere") == []


def test_salesperson_and_team_filters(org: Org) -> None:
    model = ReadModel(org.store)

    def found(**kw: Any) -> list[int]:
        return ids(model.opportunities(SUPERADMIN, OpportunityFilter(**kw)).items)

    assert found(salesperson="zak") == [3, 4]
    assert found(salesperson=str(MARC)) == [10, 11, 12, 13, 14]
    assert found(team="direct SALES") == found(team="1") == [1, 2, 3, 4]
    assert found(team="Partners", salesperson="mitchell", status="open")[:1] == [5]
    with pytest.raises(UnknownUser, match="no user matches 'nobody'"):
        found(salesperson="nobody")
    assert ids(model.opportunities("vinsha", OpportunityFilter(team="Partners")).items) == []


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"stage": "Nope"}, "--stage: no stage is named 'Nope'; stages: New, Qualified, "),
        ({"team": "Nope"}, "--team: no team is named 'Nope'; teams: Direct Sales, Partners"),
    ],
)
def test_an_unknown_stage_or_team_lists_the_known_ones(
    org: Org, kw: dict[str, str], message: str
) -> None:
    with pytest.raises(CqrsError) as err:
        ReadModel(org.store).opportunities(VINSHA, OpportunityFilter(**kw))  # type: ignore[arg-type]
    assert err.value.exit_code == EXIT_USAGE
    assert str(err.value).startswith(message)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"sort": "size"}, "--sort must be FIELD or FIELD:desc with FIELD one of revenue, "),
        ({"sort": "revenue:up"}, "--sort must be FIELD or FIELD:desc"),
        ({"status": "closed"}, "--status must be one of open, won, lost"),
        ({"limit": -1}, "--limit must be 0 or more"),
        ({"offset": -3}, "--offset must be 0 or more"),
    ],
)
def test_filters_are_checked_when_made(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(CqrsError) as err:
        OpportunityFilter(**kw)
    assert err.value.exit_code == EXIT_USAGE
    assert str(err.value).startswith(message)


# --- through the CLI, in a real process -------------------------------------------------


def test_view_json_carries_via_and_the_options_filter(org: Org) -> None:
    db = ["--db", str(org.store.path)]

    def view(*args: str) -> Any:
        done = run_cli(*db, "view", *args, "--format", "json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    items = view("--as", "vinsha")
    assert [(i["reason"], i["via"]) for i in items] == [
        ("own", None),
        ("own", None),
        ("subordinate", "zakariya"),
        ("subordinate", "zakariya"),
    ]
    assert list(items[0]) == VIEW_KEYS
    top = view("--as", "admin", "--sort", "revenue:desc", "--limit", "2", "--offset", "1")
    assert [i["id"] for i in top] == [22, 21]
    searched = view("--as", "admin", "--search", "account 2", "--team", "partners")
    assert [i["id"] for i in searched] == [6, 11, 16, 21]
    assert [i["id"] for i in view("--as", "admin", "--salesperson", "zakariya")] == [3, 4]
    csv = run_cli(*db, "view", "--as", "vinsha", "--format", "csv")
    assert csv.stdout.splitlines()[0].endswith(",reason,via")
    assert csv.stdout.splitlines()[3].endswith(",subordinate,zakariya")


@pytest.mark.parametrize(
    ("args", "listed"),
    [
        (["--stage", "Nope"], "stages: New, Qualified, Proposition, Won (or an id)"),
        (["--team", "Nope"], "teams: Direct Sales, Partners (or an id)"),
        (["--status", "closed"], "one of open, won, lost"),
        (["--sort", "size"], "one of revenue, probability, stage, name, id"),
        (["--limit", "-1"], "--limit must be a whole number from 0"),
    ],
)
def test_view_refuses_unknown_values_listing_the_valid_ones(
    org: Org, args: list[str], listed: str
) -> None:
    done = run_cli("--db", str(org.store.path), "view", "--as", "vinsha", *args)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and listed in lines[0]


def test_a_table_says_via_whom_in_the_reason(org: Org) -> None:
    done = run_cli("--db", str(org.store.path), "view", "--as", "vinsha", "--format", "github")
    assert done.returncode == 0, done.stderr
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in done.stdout.splitlines()]
    reason = rows[0].index("reason")
    assert [r[reason] for r in rows[2:]] == [
        "own",
        "own",
        "subordinate · zakariya",
        "subordinate · zakariya",
    ]
