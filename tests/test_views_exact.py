"""The writer keeps `user_access_matrix` and `dashboard_metrics` exact as of their checkpoint:
a batch computes the rows of the users it touched, and only theirs; a query computes
nothing (docs/architecture.md, "How views stay exact")."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from cqrs_cli.projections import NAMES
from cqrs_cli.projections.compare import compare_with_rebuild
from cqrs_cli.projections.figures import figures
from cqrs_cli.projections.opportunity_versions import OpportunityVersions
from cqrs_cli.projections.org import OpportunityProjection
from cqrs_cli.projections.registry import make
from cqrs_cli.projections.runner import catch_up, rebuild
from cqrs_cli.store.files import Store
from tests.read_support import (
    EMPLOYEES,
    JOEL,
    LEADS,
    LISA,
    MARC,
    MITCHELL,
    STAGES,
    SUPERADMIN,
    VINSHA,
    ZAKARIYA,
    Org,
    can_see,
    demo_like,
    metrics_of,
    new_store,
)

SALESPEOPLE = (VINSHA, ZAKARIYA, MITCHELL, MARC, LISA, JOEL)


@pytest.fixture
def org(tmp_path: Path) -> Iterator[Org]:
    s = new_store(tmp_path)
    o = Org(s)
    demo_like(o)
    catch_up(s)
    yield o
    s.close()


def stored_rows(store: Store, user_id: int) -> dict[int, tuple[str, str | None]]:
    return {
        r[0]: (r[1], r[2])
        for r in store.conn.execute(
            "SELECT opportunity_id, reason, via FROM user_access_rows WHERE user_id = ?",
            (user_id,),
        )
    }


def stored_metrics(store: Store) -> dict[int, tuple[str, str | None, str]]:
    return {
        r[0]: (r[1], r[2], r[3])
        for r in store.conn.execute("SELECT user_id, own, team, computed_at FROM dashboard_metrics")
    }


def watch_rows(store: Store) -> None:
    """Log every row the writer inserts into or deletes from user_access_rows."""
    with store.transaction() as conn:
        conn.execute("CREATE TABLE row_log (op TEXT, user_id INTEGER, opportunity_id INTEGER)")
        for op, row in (("INSERT", "new"), ("DELETE", "old")):
            conn.execute(
                f"CREATE TRIGGER log_{op.lower()} AFTER {op} ON user_access_rows BEGIN "
                f"INSERT INTO row_log VALUES ('{op}', {row}.user_id, {row}.opportunity_id); END"
            )


def logged(store: Store) -> list[tuple[str, int, int]]:
    rows = store.conn.execute("SELECT op, user_id, opportunity_id FROM row_log ORDER BY 1, 2, 3")
    with store.transaction() as conn:
        conn.execute("DELETE FROM row_log")
    return [tuple(r) for r in rows]


def test_a_catch_up_leaves_every_set_and_figure_computed(org: Org) -> None:
    store = org.store
    # Straight from the tables, before any query: Vinsha's 2 and Zakariya's 2.
    assert stored_rows(store, VINSHA) == {
        1: ("own", None),
        2: ("own", None),
        3: ("subordinate", "zakariya"),
        4: ("subordinate", "zakariya"),
    }
    assert set(stored_rows(store, ZAKARIYA)) == {3, 4}
    metrics = stored_metrics(store)
    assert set(metrics) == {SUPERADMIN, *SALESPEOPLE}
    stages = {r["id"]: r for (m, _), r in org.known.items() if m == STAGES}
    mine = [
        (int(r["active"]), r["stage_id"], r["expected_revenue"], r["probability"])
        for (m, _), r in org.known.items()
        if m == LEADS and r["user_id"] == ZAKARIYA
    ]
    assert json.loads(metrics[ZAKARIYA][0]) == figures(mine, stages)
    assert metrics[ZAKARIYA][1] is None  # no subordinates: no team figures
    assert json.loads(metrics[VINSHA][1] or "null")["active_opportunities"] > 0


def test_a_query_computes_nothing_and_answers_what_is_stored(org: Org) -> None:
    store = org.store
    with store.transaction() as conn:  # change the stored answer behind the writer's back
        conn.execute("DELETE FROM user_access_rows WHERE user_id = ? AND opportunity_id = 1", (6,))
        conn.execute("UPDATE dashboard_metrics SET own = '{\"marker\": 1}' WHERE user_id = 7")
    before = store.conn.total_changes
    assert can_see(store, VINSHA)["opportunities"] == [2, 3, 4]
    assert metrics_of(store, ZAKARIYA)[0] == {"marker": 1}
    assert store.conn.total_changes == before  # the reads wrote nothing


def test_one_unassigned_opportunity_changes_only_its_own_rows(org: Org) -> None:
    store = org.store
    watch_rows(store)
    org.opp(900, None, name="Nobody's")
    catch_up(store)
    assert logged(store) == [("INSERT", u, 900) for u in sorted(SALESPEOPLE)]
    org.put(LEADS, id=900, expected_revenue=5.0, stage_id=2)  # no row shows these
    catch_up(store)
    assert logged(store) == []
    org.put(LEADS, id=900, user_id=ZAKARIYA)  # assigned: Zakariya and Vinsha above him
    catch_up(store)
    assert logged(store) == [
        *(("DELETE", u, 900) for u in sorted(SALESPEOPLE)),
        ("INSERT", VINSHA, 900),
        ("INSERT", ZAKARIYA, 900),
    ]
    assert stored_rows(store, VINSHA)[900] == ("subordinate", "zakariya")
    assert compare_with_rebuild(store) == {name: [] for name in NAMES}


def test_a_move_in_the_chart_recomputes_only_the_managers_it_concerns(org: Org) -> None:
    store = org.store
    watch_rows(store)
    org.put(EMPLOYEES, id=3, parent_id=4)  # Zakariya now reports to Mitchell, not Vinsha
    catch_up(store)
    touched = {u for _, u, _ in logged(store)}
    assert touched == {VINSHA, MITCHELL}
    assert set(stored_rows(store, VINSHA)) == {1, 2}
    assert stored_rows(store, MITCHELL)[3] == ("subordinate", "zakariya")
    org.put("res.users", id=ZAKARIYA, login="zak")  # shown as `via` in Mitchell's rows
    catch_up(store)
    assert {u for _, u, _ in logged(store)} == {MITCHELL}
    assert stored_rows(store, MITCHELL)[3] == ("subordinate", "zak")
    assert compare_with_rebuild(store) == {name: [] for name in NAMES}


def test_metrics_recompute_the_owners_touched_and_everyone_above_them(org: Org) -> None:
    store = org.store
    with store.transaction() as conn:  # log whose exact sums the writer rewrites
        conn.execute("CREATE TABLE sums_log (user_id INTEGER)")
        conn.execute(
            "CREATE TRIGGER log_sums AFTER UPDATE ON dm_owners BEGIN "
            "INSERT INTO sums_log VALUES (new.user_id); END"
        )
    before = stored_metrics(store)
    org.put(LEADS, id=3, expected_revenue=123.25)  # Zakariya's
    catch_up(store)
    # Only his sums change; Vinsha's and the admin's teams add the owners' sums up again.
    assert [r[0] for r in store.conn.execute("SELECT user_id FROM sums_log")] == [ZAKARIYA]
    after = stored_metrics(store)
    recomputed = {u for u in after if after[u][2] != before[u][2]}
    assert recomputed == {ZAKARIYA, VINSHA, SUPERADMIN}
    assert metrics_of(store, ZAKARIYA)[0] != json.loads(before[ZAKARIYA][0])
    org.put(STAGES, id=4, name="Signed")  # a renamed stage reaches its owners' figures
    catch_up(store)
    after_stage = stored_metrics(store)
    names = {s["stage"] for s in json.loads(after_stage[MARC][0])["by_stage"]}
    assert "Signed" in names and "Won" not in names
    assert compare_with_rebuild(store) == {name: [] for name in NAMES}
    rebuild(store, NAMES)
    assert {u: m[:2] for u, m in stored_metrics(store).items()} == {
        u: m[:2] for u, m in after_stage.items()
    }


def test_one_handler_decides_what_leaves_every_view_of_opportunities(org: Org) -> None:
    store = org.store
    kinds = {make(name).handlers().get("OdooOpportunityUpdated") for name in NAMES}
    # Every view of opportunities shares the one handler; the past's index keeps every
    # version, and marks what is gone by the same rule (`standing`, checked below).
    assert kinds - {None} == {
        OpportunityProjection.on_opportunity,
        OpportunityVersions.on_opportunity,
    }
    own_before = metrics_of(store, VINSHA)[0]
    assert own_before is not None
    org.put(LEADS, id=1, type="lead")  # Vinsha's, open: back to a lead
    org.delete(LEADS, 3)  # Zakariya's
    catch_up(store)
    for table in ("opportunity_view", "uam_opportunities", "dm_opportunities"):
        ids = {r[0] for r in store.conn.execute(f"SELECT id FROM {table}")}
        assert not ids & {1, 3}, table
    left = {r[0] for r in store.conn.execute("SELECT opportunity_id FROM user_access_rows")}
    assert not left & {1, 3}
    head = store.log.head()
    versions = OpportunityVersions().versions_at(store.conn, [1, 2, 3], head)
    assert {oid: v[3] for oid, v in versions.items()} == {1: False, 2: True, 3: False}
    own = metrics_of(store, VINSHA)[0]
    assert own is not None
    assert own["pipeline_value"] == own_before["pipeline_value"] - 1000.0
