"""The read model (docs/architecture.md, "The application layer"): each question declares its
views, answers from one read transaction, is safe from several threads, and handles views
behind the log the way its face asks."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cqrs_cli.app.answers.log import EventQuery
from cqrs_cli.app.answers.opportunities import OpportunityFilter
from cqrs_cli.app.answers.visibility import CanSeeExplained
from cqrs_cli.app.read_model import (
    Behind,
    ReadModel,
    UnknownUser,
    ViewsBehind,
    open_read_model,
)
from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError
from cqrs_cli.projections import NAMES, catalog
from cqrs_cli.projections.readiness import ProjectionNotReady
from cqrs_cli.projections.registry import PROJECTION_TYPES
from cqrs_cli.projections.runner import (
    catch_up,
    drop_scratch,
    new_suffix,
    rebuild_into_scratch,
    rebuild_lock,
)
from cqrs_cli.store.checkpoints import load_checkpoint, save_checkpoint
from cqrs_cli.store.files import open_store
from tests.conftest import run_cli
from tests.read_support import (
    MARC,
    MITCHELL,
    SUPERADMIN,
    USERS,
    VINSHA,
    ZAKARIYA,
    Org,
    as_json,
    demo_like,
    new_store,
)
from tests.test_read_only import unwritable


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Org]:
    store = new_store(tmp_path)
    org = Org(store)
    demo_like(org)
    catch_up(store)
    yield org
    store.close()


def sql_log(model: ReadModel) -> list[str]:
    statements: list[str] = []
    model.store.conn.set_trace_callback(statements.append)
    return statements


def between_statements(model: ReadModel, when: str, write: Callable[[], None]) -> list[bool]:
    """Run `write` (through another connection, committed) just before the first statement
    of `model` that contains `when`; the list says whether it ran."""
    done: list[bool] = []

    def trace(sql: str) -> None:
        if when in sql and not done:
            done.append(True)
            write()

    model.store.conn.set_trace_callback(trace)
    return done


def rewrite(path: Path, *statements: str) -> Callable[[], None]:
    def write() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("PRAGMA busy_timeout = 5000")
            other.execute("BEGIN IMMEDIATE")
            for sql in statements:
                other.execute(sql)
            other.execute("COMMIT")
        finally:
            other.close()

    return write


# --- one read transaction per question -------------------------------------------------


def test_a_question_reads_one_state_though_a_writer_commits_between_its_statements(
    org: Org,
) -> None:
    path = org.store.path
    rename = rewrite(
        path,
        f"UPDATE user_profiles SET login = 'renamed' WHERE user_id = {ZAKARIYA}",
        f"UPDATE opportunity_view SET salesperson_login = 'renamed' WHERE user_id = {ZAKARIYA}",
        f"UPDATE dashboard_metrics SET own = '{{\"marker\": 1}}' WHERE user_id = {ZAKARIYA}",
        f"DELETE FROM user_access_rows WHERE user_id = {ZAKARIYA}",
    )
    with open_read_model(path) as model:
        # The user is resolved first; the writer commits before the rows are read.
        ran = between_statements(model, "JOIN opportunity_view", rename)
        found = model.opportunities("zakariya")
        assert ran
        assert found.user.login == "zakariya"
        assert [i.salesperson.login for i in found.items if i.salesperson] == ["zakariya"] * 2
        # The next question sees the writer's state, whole.
        model.store.conn.set_trace_callback(None)
        after = model.opportunities(ZAKARIYA)
        assert after.user.login == "renamed" and after.items == ()


def test_can_see_and_metrics_read_one_state_too(org: Org) -> None:
    path = org.store.path
    with open_read_model(path) as model:
        before = model.can_see(ZAKARIYA, explain=True)
        ran = between_statements(
            model,
            "FROM user_access_matrix",
            rewrite(path, f"DELETE FROM user_access_rows WHERE user_id = {ZAKARIYA}"),
        )
        assert model.can_see("zakariya", explain=True) == before and ran
        ran = between_statements(
            model,
            "FROM dashboard_metrics",
            rewrite(
                path,
                f"UPDATE user_profiles SET login = 'renamed' WHERE user_id = {ZAKARIYA}",
                f"UPDATE dashboard_metrics SET own = '{{\"marker\": 1}}' "
                f"WHERE user_id = {ZAKARIYA}",
            ),
        )
        found = model.metrics("zakariya")
        assert ran and found.user.login == "zakariya" and found.own != {"marker": 1}


def test_each_question_is_one_transaction_that_writes_nothing(org: Org) -> None:
    with open_read_model(org.store.path) as model:
        statements = sql_log(model)
        model.opportunities(VINSHA)
        model.metrics(VINSHA)
        model.can_see(VINSHA)
        model.profiles()
        assert statements.count("BEGIN") == 4 and statements.count("ROLLBACK") == 4
        assert not any(s.split()[0].upper() in ("INSERT", "UPDATE", "DELETE") for s in statements)


def test_a_streamed_answer_holds_its_transaction_until_the_block_ends(org: Org) -> None:
    path = org.store.path
    with open_read_model(path) as model:
        with model.stream_opportunities(SUPERADMIN) as found:
            first = next(found.items)
            rewrite(path, "DELETE FROM uam_opportunities", "DELETE FROM opportunity_view")()
            rest = list(found.items)
        assert 1 + len(rest) == 23 and first.id == 1
        assert model.opportunities(SUPERADMIN).items == ()
        with model.stream_events(EventQuery()) as events:
            head = next(events).position
            org.opp(500, VINSHA)  # appended meanwhile: not in this answer
            seen = [head, *(e.position for e in events)]
        assert seen == list(range(1, org.store.log.head()))


# --- threads ---------------------------------------------------------------------------


def test_threads_asking_while_a_sync_toggles_the_file_always_get_one_state(
    tmp_path: Path,
) -> None:
    """A writer renames Zakariya back and forth (his profile and his opportunities' rows
    move in one catch-up batch) while threads ask: those with a model of their own
    (read-only connections, in parallel) and those sharing the writer's store (its lock
    takes turns). Every answer shows one state: his login and his rows agree."""
    writer = new_store(tmp_path)
    org = Org(writer)
    demo_like(org)
    catch_up(writer)
    path = writer.path
    shared = ReadModel(writer, behind="answer")
    stop = threading.Event()
    failures: list[str] = []
    seen: set[str] = set()

    def write() -> None:
        try:
            for turn in range(40):
                org.put(USERS, id=ZAKARIYA, login=f"zak-{turn % 2}")
                catch_up(writer)
        except Exception as exc:
            failures.append(f"writer: {exc!r}")
        finally:
            stop.set()

    def ask(model: ReadModel) -> None:
        try:
            while not stop.is_set():
                found = model.opportunities(ZAKARIYA)
                logins = {i.salesperson.login for i in found.items if i.salesperson}
                if logins != {found.user.login}:
                    failures.append(f"{found.user.login} beside rows of {logins}")
                seen.add(found.user.login)
                metrics = model.metrics(VINSHA)
                if metrics.team is None:
                    failures.append("Vinsha lost her team")
        except Exception as exc:
            failures.append(repr(exc))

    def own(behind: Behind | None) -> None:
        with open_read_model(path, behind=behind, roomy=True) as model:
            ask(model)

    threads = [threading.Thread(target=write)]
    # As a server would (the views as they stand), and as the CLI does (catch up first).
    threads += [threading.Thread(target=own, args=(b,)) for b in ("answer", "answer", None)]
    threads += [threading.Thread(target=ask, args=(shared,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    writer.close()
    assert not failures, failures[:5]
    assert {"zak-0", "zak-1"} <= seen  # the readers met both states


# --- views behind the log --------------------------------------------------------------


def reassigned_behind(org: Org) -> None:
    """Opportunity 3 goes from Zakariya (below Vinsha) to Marc in the log; the views do not
    catch up."""
    org.opp(3, MARC)


def test_catch_up_answers_the_head_and_leaves_the_views_current(org: Org) -> None:
    reassigned_behind(org)
    with open_read_model(org.store.path) as model:
        assert model.behind == "catch_up"
        assert 3 in model.can_see(MARC).opportunities
        assert 3 not in model.can_see(VINSHA).opportunities
    assert {load_checkpoint(org.store.conn, n).position for n in NAMES} == {org.store.log.head()}


def test_answer_gives_the_views_as_they_stand(org: Org) -> None:
    reassigned_behind(org)
    model = ReadModel(org.store, behind="answer")
    assert 3 in model.can_see(VINSHA).opportunities
    assert 3 not in model.can_see(MARC).opportunities


def test_refuse_names_the_position_the_head_and_the_fix(org: Org) -> None:
    reassigned_behind(org)
    head = org.store.log.head()
    with open_store(org.store.path) as reader:
        model = ReadModel(reader, behind="refuse")
        with pytest.raises(ViewsBehind) as err:
            model.opportunities(VINSHA)
        assert f"the log's head is {head}" in err.value.message
        assert f"`cqrs --db {org.store.path} sync`" in err.value.message
        assert model.events(EventQuery(after=head - 1))[0].position == head  # no views read


def test_a_read_only_file_refuses_and_a_writable_one_catches_up(org: Org) -> None:
    reassigned_behind(org)
    path = org.store.path
    with unwritable(path, 0o444), open_read_model(path) as model:
        assert model.behind == "refuse"
        with pytest.raises(ViewsBehind):
            model.can_see(VINSHA)
    with open_read_model(path) as model:
        assert 3 in model.can_see(MARC).opportunities


def test_a_paused_view_stops_only_the_questions_that_read_it(org: Org) -> None:
    with org.store.transaction() as conn:
        cp = load_checkpoint(conn, "dashboard_metrics")
        cp.status, cp.error = "paused", "KeyError at position 9"
        save_checkpoint(conn, cp)
    for behind in ("catch_up", "refuse", "answer"):
        model = ReadModel(org.store, behind=behind)  # type: ignore[arg-type]
        with pytest.raises(ProjectionNotReady, match="dashboard_metrics is paused"):
            model.metrics(VINSHA)
        assert len(model.opportunities(VINSHA).items) == 4


# --- the questions ---------------------------------------------------------------------


def test_users_are_named_by_id_login_or_name(org: Org) -> None:
    model = ReadModel(org.store)
    assert model.user(VINSHA).login == "vinsha"
    assert model.user("ZAKAR").id == ZAKARIYA
    assert model.user(str(MITCHELL)).login == "mitchell"
    with pytest.raises(UnknownUser, match="no user has the id 999"):
        model.user(999)
    with pytest.raises(CqrsError) as err:
        model.user("  ")
    assert err.value.exit_code == EXIT_USAGE


def test_filters_and_queries_are_checked_when_made() -> None:
    with pytest.raises(CqrsError, match="--status must be one of open, won, lost") as err:
        OpportunityFilter(status="closed")
    assert err.value.exit_code == EXIT_USAGE
    with pytest.raises(CqrsError, match="--stream must be MODEL:ID") as err:
        EventQuery(stream="crm.lead")
    assert err.value.exit_code == EXIT_USAGE


def test_answers_are_the_json_the_commands_print(org: Org) -> None:
    model = ReadModel(org.store)
    db = ["--db", str(org.store.path)]

    def printed(*args: str) -> Any:
        done = run_cli(*db, *args, "--format", "json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    assert as_json(model.opportunities(VINSHA).items) == printed("view", "--as", "vinsha")
    won = model.opportunities(SUPERADMIN, OpportunityFilter(status="won")).items
    assert as_json(won) == printed("view", "--as", "admin", "--status", "won")
    assert as_json(model.metrics(VINSHA)) == printed("metrics", "--as", "vinsha")
    explained = model.can_see(VINSHA, explain=True)
    assert isinstance(explained, CanSeeExplained)
    assert as_json(explained) == printed("whoami-can-see", "--as", "vinsha", "--explain")
    assert "reasons" not in as_json(model.can_see(VINSHA))
    assert as_json(model.profiles().items) == printed("users")
    assert as_json(model.events(EventQuery(stream="crm.lead:3"))) == printed(
        "events", "--stream", "crm.lead:3"
    )
    status = as_json(model.status())
    assert status == printed("status")
    assert [v["state"] for v in status["projections"]] == ["current"] * len(NAMES)


def test_the_org_chart_and_a_subtree(org: Org) -> None:
    model = ReadModel(org.store)

    def logins(nodes: Any) -> list[Any]:
        return [[n.login, logins(n.children)] for n in nodes]

    assert logins(model.hierarchy().roots) == [
        [
            "admin",
            [
                ["vinsha", [["zakariya", []]]],
                ["mitchell", [["marc", []], ["lisa", []], ["joel", []]]],
            ],
        ]
    ]
    assert logins(model.hierarchy("vinsha").roots) == [["vinsha", [["zakariya", []]]]]


def test_a_looping_chain_is_named_and_drawn_once(org: Org) -> None:
    org.employee(1, SUPERADMIN, 3)  # the admin now reports to Zakariya, who is below him
    catch_up(org.store)
    model = ReadModel(org.store)
    everyone = {p.login for p in model.profiles().items}
    assert set(model.profiles().looping) == everyone  # each one's chain reaches the loop
    chart = model.hierarchy()
    drawn: list[int] = []

    def walk(nodes: Any) -> None:
        for n in nodes:
            drawn.append(n.id)
            walk(n.children)

    walk(chart.roots)
    assert sorted(drawn) == sorted(p.id for p in model.profiles().items)


def test_the_same_questions_over_a_copy_of_the_views(org: Org) -> None:
    """The seam for answers as of a past position: the questions over copies of the
    views (here a rebuild's scratch tables, built from the log up to its head)."""
    reassigned_behind(org)
    live = ReadModel(org.store, behind="answer")  # the live views: not caught up
    suffix = new_suffix()
    # Held like a rebuild holds it: a catch-up drops scratch tables that no run owns.
    with rebuild_lock(org.store, suffix):
        scratch, _ = rebuild_into_scratch(org.store, NAMES, suffix=suffix)
        try:
            copy = ReadModel(org.store, suffix=suffix)
            assert 3 not in copy.can_see(VINSHA).opportunities
            assert 3 in live.can_see(VINSHA).opportunities
            catch_up(org.store)
            for who in (VINSHA, ZAKARIYA, SUPERADMIN):
                assert copy.opportunities(who) == live.opportunities(who)
                assert copy.metrics(who) == live.metrics(who)
            assert copy.profiles() == live.profiles()
        finally:
            drop_scratch(org.store, scratch)


def test_the_catalog_names_every_view_in_order() -> None:
    assert catalog.NAMES == tuple(kind.name for kind in PROJECTION_TYPES) == NAMES


def test_a_question_inside_a_writers_transaction_reads_that_transaction(org: Org) -> None:
    model = ReadModel(org.store)
    with pytest.raises(RuntimeError), org.store.transaction() as conn:
        conn.execute(f"UPDATE user_profiles SET login = 'inside' WHERE user_id = {VINSHA}")
        assert model.user(VINSHA).login == "inside"
        raise RuntimeError("roll it back")
    assert model.user(VINSHA).login == "vinsha"


def test_a_large_answer_streams_in_id_order_and_filters_by_stage_name_or_id(org: Org) -> None:
    for oid in range(100, 2600):  # more than a page of rows
        org.opp(oid, None if oid % 3 else VINSHA, stage_id=1 + oid % 4)
    catch_up(org.store)
    model = ReadModel(org.store)
    with model.stream_opportunities(SUPERADMIN, OpportunityFilter(stage="new")) as found:
        streamed = list(found.items)
    assert [i.id for i in streamed] == sorted(i.id for i in streamed)
    assert len(streamed) > 600 and {i.stage for i in streamed} == {"New"}
    by_id = model.opportunities(SUPERADMIN, OpportunityFilter(stage="1")).items
    assert by_id == tuple(streamed)
    everything = model.opportunities(SUPERADMIN).items
    assert len(everything) == 23 + 2500
