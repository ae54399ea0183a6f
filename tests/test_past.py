"""The past through the library (docs/past.md): WHEN and the log's clock, `history`'s
entries, and why `changes` says an opportunity was lost."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from cqrs_cli.app import as_of
from cqrs_cli.app.answers.opportunities import Opportunities
from cqrs_cli.app.answers.users import UserRef
from cqrs_cli.app.history import history
from cqrs_cli.app.read_model import ReadModel, ViewsBehind
from cqrs_cli.app.when import parse_when, resolve
from cqrs_cli.domain.errors import EXIT_ERROR, EXIT_USAGE, CqrsError
from cqrs_cli.projections.runner import catch_up
from cqrs_cli.store.files import Store, open_store
from cqrs_cli.store.log import EventLog
from tests.read_support import (
    EMPLOYEES,
    LEADS,
    MARC,
    MITCHELL,
    STAGE_NEW,
    STAGE_PROPOSITION,
    STAGE_QUALIFIED,
    STAGE_WON,
    STAGES,
    USERS,
    VINSHA,
    ZAKARIYA,
    Org,
    demo_like,
)

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class Clock:
    """The log's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> str:
        return self.now.isoformat(timespec="microseconds").replace("+00:00", "Z")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def org(tmp_path: Path, clock: Clock) -> Iterator[Org]:
    """The demo-like org, appended at 08:00 on 2 March 2026 (positions 1 to 46)."""
    opened = open_store(tmp_path / "cqrs.db", write=True)
    store = Store(opened.path, opened.conn, EventLog(opened.conn, clock=clock))
    o = Org(store)
    demo_like(o)
    catch_up(store)
    yield o
    store.close()


def later(org: Org, clock: Clock, hours: float) -> None:
    clock.now = T0 + timedelta(hours=hours)


def plain(answer: Any) -> Any:
    """An answer as its JSON reads (dicts and lists)."""
    return orjson.loads(orjson.dumps(answer))


def view(store: Store, who: str, when: str) -> Opportunities:
    with ReadModel(store).as_of(when) as past:
        return past.opportunities(who)


def metrics(store: Store, who: str, when: str) -> Any:
    with ReadModel(store).as_of(when) as past:
        return plain(past.metrics(who))


def changes(store: Store, who: str, since: str) -> Any:
    return plain(ReadModel(store).changes(who, since))


# -- WHEN and the log's clock --------------------------------------------------------------------


def test_when_forms() -> None:
    now = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    assert parse_when(" #12 ") == 12
    assert parse_when("7d", now=now) == now - timedelta(days=7)
    assert parse_when("36H", now=now) == now - timedelta(hours=36)
    assert parse_when("90m", now=now) == now - timedelta(minutes=90)
    assert parse_when("2w", now=now) == now - timedelta(weeks=2)
    assert parse_when("2026-03-02") == datetime(2026, 3, 2, tzinfo=UTC)  # midnight, UTC
    assert parse_when("2026-03-02T09:30") == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert parse_when("2026-03-02T09:30+02:00") == datetime(2026, 3, 2, 7, 30, tzinfo=UTC)
    assert parse_when("2026-03-02 09:30:00Z") == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    for bad in ("#", "#-1", "#²", "#1.5", "yesterday", "7 days", "", "7y"):
        with pytest.raises(CqrsError) as caught:
            parse_when(bad)
        assert caught.value.exit_code == EXIT_USAGE, bad


def test_a_clock_set_back_never_makes_recorded_at_go_back(org: Org, clock: Clock) -> None:
    log = org.store.log
    later(org, clock, 2)
    org.put(LEADS, id=1, expected_revenue=1.0)
    clock.now = T0 - timedelta(days=1)  # the machine's clock set back a day
    org.put(LEADS, id=1, expected_revenue=2.0)
    head = log.head()
    assert log.recorded_at(head) == log.recorded_at(head - 1) == "2026-03-02T10:00:00.000000Z"
    times = [str(log.recorded_at(p)) for p in range(1, head + 1)]
    assert times == sorted(times)


def test_a_time_is_the_last_event_recorded_by_then(org: Org, clock: Clock) -> None:
    log = org.store.log
    first_sync = log.head()
    later(org, clock, 24)  # a second sync the next day, at 08:00
    org.put(LEADS, id=3, user_id=VINSHA)
    org.put(LEADS, id=4, stage_id=STAGE_WON)
    assert resolve(log, "2026-03-02T12:00").position == first_sync
    assert resolve(log, "2026-03-03 08:00:00+00:00").position == first_sync + 2  # at: included
    assert resolve(log, "2026-03-03T09:59+02:00").position == first_sync  # 07:59 UTC
    assert resolve(log, "2026-03-03T09:59+01:00").position == first_sync + 2  # 08:59 UTC
    assert resolve(log, "2026-03-03").position == first_sync  # midnight
    head = resolve(log, "2027-01-01")
    assert (head.position, head.current) == (first_sync + 2, True)
    assert resolve(log, f"#{first_sync}").recorded_at == "2026-03-02T08:00:00.000000Z"
    assert resolve(log, "#10000").current
    for before in ("2026-03-01", "#0", "2026-03-02T07:59:59"):
        with pytest.raises(CqrsError, match="is before the first event") as caught:
            resolve(log, before)
        assert caught.value.exit_code == EXIT_ERROR


def test_an_empty_log_has_no_past(tmp_path: Path) -> None:
    with open_store(tmp_path / "empty.db", write=True) as store:
        with pytest.raises(CqrsError, match="holds no events yet"):
            resolve(store.log, "#1")
        assert as_of.visible_at(store, 1, 0) == {}


def test_as_of_a_time_and_the_user_named_among_those_of_then(org: Org, clock: Clock) -> None:
    store = org.store
    later(org, clock, 24)
    org.put(USERS, id=ZAKARIYA, login="zak", name="Zak")  # renamed the next day
    org.put(LEADS, id=3, user_id=VINSHA)
    catch_up(store)
    then = view(store, "zakariya", "2026-03-02T23:00")  # his login then
    assert [i.id for i in then.items] == [3, 4]
    assert then.user == UserRef(ZAKARIYA, "zakariya", "Zakariya")
    assert view(store, "zak", "2026-03-02T23:00").user == then.user  # today's login
    assert view(store, "zak", "1h").user.login == "zak"
    # Opportunity 3 was won, 4 open: his pipeline then, before he lost 3 (won stays won).
    assert metrics(store, "zakariya", "2026-03-02T23:00")["own"]["won_revenue"] == 3000.0
    assert metrics(store, "zak", "1h")["own"]["won_revenue"] == 0.0
    with pytest.raises(CqrsError, match="not synced yet at #2"):
        view(store, "zak", "#2")  # users 2 and 6 only, then


# -- history ------------------------------------------------------------------------------------


def entries(org: Org, oid: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = plain(history(org.store, oid))["entries"]
    return found


def test_history_names_references_as_they_were_then(org: Org, clock: Clock) -> None:
    later(org, clock, 1)
    org.put(LEADS, id=2, stage_id=STAGE_QUALIFIED)
    org.put(STAGES, id=STAGE_QUALIFIED, name="Qualified (old)")
    org.put(LEADS, id=2, stage_id=STAGE_WON)  # won
    org.put(STAGES, id=STAGE_QUALIFIED, name="Qualifying")  # renamed afterwards
    org.put(LEADS, id=2, active=False)  # archived: lost
    found = entries(org, 2)
    assert [e["change"] for e in found] == ["created", "updated", "updated", "updated"]
    assert found[0]["fields"]["stage"]["new"] == {"id": STAGE_PROPOSITION, "name": "Proposition"}
    assert found[1]["fields"] == {
        "stage": {
            "old": {"id": STAGE_PROPOSITION, "name": "Proposition"},
            "new": {"id": STAGE_QUALIFIED, "name": "Qualified"},  # its name at that event
        }
    }
    assert found[2]["fields"]["stage"]["old"]["name"] == "Qualified (old)"
    assert found[2]["fields"]["status"] == {"old": "open", "new": "won"}
    assert found[3]["fields"] == {
        "status": {"old": "won", "new": "lost"},
        "active": {"old": True, "new": False},
    }
    assert found[3]["recorded_at"] == "2026-03-02T09:00:00.000000Z"


def test_history_of_a_deleted_and_recreated_opportunity(org: Org) -> None:
    org.delete(LEADS, 5)
    org.opp(5, MARC, expected_revenue=1.0)
    org.put(LEADS, id=5, type="lead")  # turned back into a lead
    found = entries(org, 5)
    assert [e["change"] for e in found] == ["created", "deleted", "created", "updated"]
    assert found[1]["fields"] == {}
    assert found[2]["fields"]["expected_revenue"] == {"old": None, "new": 1.0}
    assert found[3]["fields"] == {"type": {"old": "opportunity", "new": "lead"}}
    assert plain(history(org.store, 5))["opportunity"] == {"id": 5, "name": "Opportunity 5"}


def test_history_of_a_reference_the_log_never_saw(org: Org) -> None:
    org.put(LEADS, id=6, user_id=999, partner_id=None)
    (_, moved) = entries(org, 6)
    assert moved["fields"]["salesperson"]["new"] == {"id": 999, "login": None, "name": None}
    assert moved["fields"]["account"]["new"] is None


# -- changes: why one was lost ------------------------------------------------------------------


def lost(org: Org, as_user: str, since: int) -> dict[int, str]:
    catch_up(org.store)
    found = changes(org.store, as_user, f"#{since}")
    return {item["id"]: item["why"] for item in found["lost"]}


def test_why_reassigned_deleted_and_hierarchy_moved(org: Org) -> None:
    start = org.store.log.head()
    org.put(LEADS, id=3, user_id=MITCHELL)  # Zakariya's, to someone outside Vinsha's team
    org.delete(LEADS, 4)
    org.put(LEADS, id=1, type="lead")  # Vinsha's, back to a lead
    org.put(EMPLOYEES, id=5, parent_id=2)  # Marc now reports to Vinsha...
    assert lost(org, "vinsha", start) == {1: "deleted", 3: "reassigned", 4: "deleted"}
    assert lost(org, "mitchell", start) == {
        oid: "hierarchy moved"
        for oid in range(10, 15)  # ...so Mitchell lost Marc's five
    }
    found = changes(org.store, "vinsha", f"#{start}")
    assert [(g["id"], g["reason"], g["via"]) for g in found["gained"]] == [
        (oid, "subordinate", "marc") for oid in range(10, 15)
    ]
    assert all("new" not in g for g in found["gained"])


def test_why_archived_access_and_company(org: Org) -> None:
    start = org.store.log.head()
    org.put(LEADS, id=14, company_id=2)  # Marc's, to a company Mitchell is not in
    org.put(USERS, id=ZAKARIYA, active=False)
    org.put(USERS, id=VINSHA, groups=[])  # no sales group any more
    assert lost(org, "zakariya", start) == {3: "archived", 4: "archived"}
    assert lost(org, "vinsha", start) == dict.fromkeys((1, 2, 3, 4), "access")
    assert lost(org, "mitchell", start) == {14: "company"}


def test_new_ones_and_changed_fields(org: Org) -> None:
    start = org.store.log.head()
    org.opp(30, ZAKARIYA, stage_id=STAGE_NEW, expected_revenue=10.0)
    org.put(LEADS, id=4, stage_id=STAGE_WON, expected_revenue=5.0)
    catch_up(org.store)
    found = changes(org.store, "vinsha", f"#{start}")
    assert found["gained"] == [
        {
            "id": 30,
            "name": "Opportunity 30",
            "reason": "subordinate",
            "via": "zakariya",
            "new": True,
        }
    ]
    assert found["changed"] == [
        {
            "id": 4,
            "name": "Opportunity 4",
            "fields": {
                "status": {"old": "open", "new": "won"},
                "stage": {"old": "New", "new": "Won"},
                "expected_revenue": {"old": 4000.0, "new": 5.0},
            },
        }
    ]
    assert found["until"]["position"] == org.store.log.head()
    # An administrator's all-documents view and the company rule through the past, too.
    admin = changes(org.store, "admin", f"#{start}")
    assert [g["id"] for g in admin["gained"]] == [30]
    assert {g["reason"] for g in admin["gained"]} == {"subordinate"}


def test_visible_at_waits_for_the_index_to_reach_the_position(org: Org) -> None:
    """A store whose `opportunity_versions` has not caught up with an event cannot say what
    was visible after it: an error, never the answer of an earlier position."""
    store = org.store
    org.put(LEADS, id=3, user_id=VINSHA)  # appended, not caught up
    head = store.log.head()
    with pytest.raises(ViewsBehind, match=f"opportunity_versions is at position {head - 1}"):
        as_of.visible_at(store, ZAKARIYA, head, only=[3])
    assert as_of.visible_at(store, ZAKARIYA, head - 1, only=[3]) == {3: {"reason": "own"}}
    catch_up(store)
    assert as_of.visible_at(store, ZAKARIYA, head, only=[3]) == {}
