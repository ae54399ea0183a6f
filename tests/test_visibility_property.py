"""For random orgs, every user's subordinates, visible set (and reasons) and pipeline equal a
plain reference computation of docs/access.md, after incremental updates and after
`rebuild --all`."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cqrs_cli.projections import NAMES
from cqrs_cli.projections.compare import compare_with_rebuild
from cqrs_cli.projections.runner import catch_up, rebuild
from tests.read_support import (
    ALL_LEADS,
    EMPLOYEES,
    LEADS,
    MANAGER,
    SALESMAN,
    STAGES,
    SYSTEM,
    USERS,
    Org,
    apply_change,
    can_see,
    metrics_of,
    new_store,
    profiles,
)

GROUPS = (SALESMAN, ALL_LEADS, MANAGER, SYSTEM)
COMPANIES = (1, 2)
WON_STAGE = 2


def reference_below(state: dict[tuple[str, int], dict[str, Any]]) -> dict[int, set[int]]:
    """user -> all their subordinates, straight from docs/access.md."""
    users = {i for (m, i) in state if m == USERS}
    emps = {i: r for (m, i), r in state.items() if m == EMPLOYEES}

    def chosen(uid: int) -> int | None:
        mine = [e for e in emps.values() if e["user_id"] == uid]
        pool = [e for e in mine if e["active"]] or mine
        return min(e["id"] for e in pool) if pool else None

    def stands_for(e: dict[str, Any]) -> int | None:
        """Only a user's own (chosen) record stands for them; any other record linked to
        the same user counts as a record without a user."""
        uid = e["user_id"]
        return uid if uid in users and chosen(uid) == e["id"] else None

    def below(uid: int) -> set[int]:
        top = chosen(uid)
        if top is None:
            return set()
        seen, todo, found = {top}, [top], set()
        while todo:
            current = todo.pop()
            for e in emps.values():
                if e["parent_id"] == current and e["id"] not in seen:
                    seen.add(e["id"])
                    todo.append(e["id"])  # the walk goes on below a record without a user
                    sub = stands_for(e)
                    if sub is not None:
                        found.add(sub)
        found.discard(uid)
        return found

    return {uid: below(uid) for uid in users}


def reference(state: dict[tuple[str, int], dict[str, Any]]) -> dict[int, dict[int, str]]:
    """user -> {opportunity: reason}, straight from docs/access.md."""
    users = {i: r for (m, i), r in state.items() if m == USERS}
    opps = {i: r for (m, i), r in state.items() if m == LEADS}
    below = reference_below(state)
    out: dict[int, dict[int, str]] = {}
    for uid, user in users.items():
        groups = set(user["groups"])
        visible: dict[int, str] = {}
        # Odoo gives crm.lead to the sales groups only: Settings (SYSTEM) alone is none.
        if user["active"] and groups & {SALESMAN, ALL_LEADS, MANAGER}:
            subs = below[uid]
            everything = bool(groups & {MANAGER, ALL_LEADS})
            fallback = "administrator" if MANAGER in groups else "all_documents"
            for oid, opp in opps.items():
                if opp["company_id"] is not None and opp["company_id"] not in user["company_ids"]:
                    continue
                owner = opp["user_id"]
                if owner == uid:
                    visible[oid] = "own"
                elif owner is not None and owner in subs:
                    visible[oid] = "subordinate"
                elif owner is None:
                    visible[oid] = "unassigned"
                elif everything:
                    visible[oid] = fallback
        out[uid] = visible
    return out


def open_pipeline(state: dict[tuple[str, int], dict[str, Any]], owners: set[int]) -> float:
    return math.fsum(
        r["expected_revenue"]
        for (m, _), r in state.items()
        if m == LEADS and r["user_id"] in owners and r["active"] and r["stage_id"] != WON_STAGE
    )


def open_count(state: dict[tuple[str, int], dict[str, Any]], uid: int) -> int:
    return sum(
        1
        for (m, _), r in state.items()
        if m == LEADS and r["user_id"] == uid and r["active"] and r["stage_id"] != WON_STAGE
    )


def check(org: Org) -> None:
    catch_up(org.store)
    expected = reference(org.known)
    below = reference_below(org.known)
    listed = {p["id"]: p for p in profiles(org.store)}
    for uid, visible in expected.items():
        assert listed[uid]["all_subordinates"] == sorted(below[uid]), uid
        found = can_see(org.store, uid, explain=True)
        assert found["opportunities"] == sorted(visible), uid
        assert {int(k): v["reason"] for k, v in found["reasons"].items()} == visible, uid
        own, team = metrics_of(org.store, uid)
        assert own is not None
        assert (own["pipeline_value"], own["active_opportunities"]) == (
            open_pipeline(org.known, {uid}),
            open_count(org.known, uid),
        )
        if below[uid]:
            assert team is not None
            assert team["pipeline_value"] == open_pipeline(org.known, {uid} | below[uid]), uid
        else:
            assert team is None, uid


user_st = st.fixed_dictionaries(
    {
        "groups": st.lists(st.sampled_from(GROUPS), unique=True, max_size=2),
        "active": st.booleans() | st.just(True),
        "company_ids": st.lists(st.sampled_from(COMPANIES), unique=True, min_size=1),
    }
)


@st.composite
def orgs(draw: st.DrawFn) -> dict[str, Any]:
    n_users = draw(st.integers(2, 6))
    users = {10 + i: draw(user_st) for i in range(n_users)}
    uids = sorted(users)
    n_emps = draw(st.integers(1, n_users + 3))
    # Some users always hold several records, an archived one among them: an old job
    # left in a former team, or a record wrongly linked to them.
    several = draw(st.lists(st.sampled_from(uids), min_size=1, max_size=2, unique=True))
    extra = [(uid, active) for uid in several for active in (False, draw(st.booleans()))]
    emp_ids = list(range(100, 100 + n_emps + len(extra)))
    links = [draw(st.none() | st.sampled_from(uids)) for _ in range(n_emps)]
    actives = [draw(st.booleans() | st.just(True)) for _ in range(n_emps)]
    for uid, active in extra:
        links.append(uid)
        actives.append(active)
    emps = {
        eid: {
            "user_id": user_id,
            "parent_id": draw(st.none() | st.sampled_from(emp_ids)),
            "active": active,
        }
        for eid, user_id, active in zip(emp_ids, links, actives, strict=True)
    }
    owner = st.none() | st.sampled_from([*uids, 999])
    opp = st.fixed_dictionaries(
        {
            "user_id": owner,
            "company_id": st.none() | st.sampled_from(COMPANIES),
            "active": st.booleans() | st.just(True),
            "stage_id": st.none() | st.sampled_from([1, 2]),
            "expected_revenue": st.integers(0, 10_000).map(lambda x: x / 4),
            "probability": st.integers(0, 100).map(float),
        }
    )
    opps = {500 + i: draw(opp) for i in range(draw(st.integers(0, 12)))}
    changes = draw(
        st.lists(
            st.one_of(
                st.tuples(st.just("owner"), st.sampled_from(sorted(opps) or [0]), owner),
                st.tuples(
                    st.just("parent"),
                    st.sampled_from(emp_ids),
                    st.none() | st.sampled_from(emp_ids),
                ),
                st.tuples(st.just("user"), st.sampled_from(uids), user_st),
                st.tuples(st.just("archive"), st.sampled_from(emp_ids), st.booleans()),
                st.tuples(
                    st.just("relink"), st.sampled_from(emp_ids), st.none() | st.sampled_from(uids)
                ),
                st.tuples(st.just("delete"), st.sampled_from(sorted(opps) or [0]), st.none()),
            ),
            max_size=8,
        )
    )
    return {"users": users, "emps": emps, "opps": opps, "changes": changes}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orgs())
def test_visible_sets_match_the_reference(spec: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        org = Org(new_store(Path(tmp)))
        try:
            org.put(STAGES, id=1, name="Open", sequence=1)
            org.put(STAGES, id=WON_STAGE, name="Won", sequence=2, is_won=True)
            for uid, u in spec["users"].items():
                org.user(uid, f"user{uid}", **u)
            for eid, e in spec["emps"].items():
                org.employee(eid, **e)
            for oid, o in spec["opps"].items():
                org.opp(oid, **o)
            check(org)
            for kind, target, value in spec["changes"]:
                apply_change(org, kind, target, value)
                if len(org.known) % 2:  # catch up at irregular points, not only at the end
                    catch_up(org.store)
            check(org)
            assert compare_with_rebuild(org.store) == {name: [] for name in NAMES}
            rebuild(org.store, NAMES)
            check(org)
        finally:
            org.store.close()
