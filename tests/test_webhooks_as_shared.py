"""A webhook made `--as USER` shares one org among the questions of a run of events
(docs/webhooks.md, "Who sees what"): its answers equal those of fresh, unshared questions
at every position of logs where org events (hierarchy moves, archivals, group changes,
teams) come between opportunity and account events."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cqrs_cli.app.as_of import past_model, visible_at
from cqrs_cli.app.read_model import ReadModel, UnknownUser
from cqrs_cli.app.webhook_filter import Visibility
from cqrs_cli.domain import hierarchy
from cqrs_cli.domain.event_types import event_type
from cqrs_cli.projections.past import ORG_MODELS, PastOrg, PastOrgs
from cqrs_cli.projections.runner import catch_up
from cqrs_cli.store.files import Store
from tests.read_support import (
    ACCOUNTS,
    ALL_LEADS,
    EMPLOYEES,
    LEADS,
    MANAGER,
    MEMBERS,
    SALESMAN,
    STAGES,
    SYSTEM,
    TEAMS,
    USERS,
    Org,
    apply_change,
    new_store,
)
from tests.test_as_of_property import more_changes, seed
from tests.test_visibility_property import WON_STAGE, orgs

NOBODY, NO_OPPORTUNITY = 999, 777


def fresh(store: Store, uid: int, position: int) -> tuple[dict[int, Any], set[int], bool]:
    """What `uid` saw right after `position`, each question asked alone (no shared org):
    the opportunities with their reasons, the accounts, and being an administrator."""
    if position < 1:
        return {}, set(), False
    seen = visible_at(store, uid, position)
    with past_model(ReadModel(store, behind="answer"), position) as past:
        try:
            accounts = set(past.can_see(uid).accounts)
        except UnknownUser:
            accounts = set()
        admin = past.org().access(uid) == hierarchy.ADMINISTRATOR
    return seen, accounts, admin


def plain_org(org: PastOrg) -> bytes:
    return orjson.dumps(
        {"events": [(e.position, e.data) for e in org.events], "records": org.records},
        option=orjson.OPT_NON_STR_KEYS,
    )


def ids_of(store: Store, model: str) -> list[int]:
    return sorted({int(e.stream_id) for e in store.log.read_all(0) if e.stream_type == model})


def check_every_position(store: Store, *, each_opportunity: bool) -> None:
    """At every position and for every user (and one nobody knows): the shared org is the
    org built afresh at that position; `visible_at` with the shared org, for all
    opportunities at once and (with `each_opportunity`) one by one as the filter asks,
    is the fresh answer; and the filter sends exactly the events the fresh answers say."""
    catch_up(store)
    head = store.log.head()
    events = list(store.log.read_all(0))
    opportunities = [*ids_of(store, LEADS), NO_OPPORTUNITY]
    for uid in [*ids_of(store, USERS), NOBODY]:
        orgs = PastOrgs(store.log)
        handed: list[tuple[PastOrg, bytes]] = []
        then = [fresh(store, uid, p) for p in range(head + 1)]
        try:
            for p in range(1, head + 1):
                org = orgs.at(p)
                built = PastOrg(store.log, p)
                assert (org.position, plain_org(org)) == (p, plain_org(built))
                handed.append((org, plain_org(org)))
                seen, accounts, admin = then[p]
                assert visible_at(store, uid, p, only=opportunities, orgs=orgs) == seen
                if each_opportunity:
                    for oid in opportunities:
                        alone = visible_at(store, uid, p, only=[oid], orgs=orgs)
                        assert alone == {k: v for k, v in seen.items() if k == oid}, (p, oid)
                with past_model(ReadModel(store, behind="answer"), p, orgs=orgs) as past:
                    try:
                        assert set(past.can_see(uid).accounts) == accounts
                    except UnknownUser:
                        assert not accounts
                    assert (past.org().access(uid) == hierarchy.ADMINISTRATOR) == admin
        finally:
            orgs.close()
        # Nothing a question did changed an org it was handed (they are shared).
        for org, first in handed:
            assert plain_org(org) == first

        visibility = Visibility(store, uid)
        sent = [e.position for e in events if visibility.wants(e)]
        expected = []
        for e in events:
            before, after = then[e.position - 1], then[e.position]
            if e.stream_type == LEADS:
                keep = int(e.stream_id) in before[0] or int(e.stream_id) in after[0]
            elif e.stream_type == ACCOUNTS:
                keep = int(e.stream_id) in before[1] or int(e.stream_id) in after[1]
            else:
                keep = before[2] or after[2]
            if keep:
                expected.append(e.position)
        assert sent == expected, uid


def test_the_org_is_shared_between_two_org_events_and_never_across_one(tmp_path: Path) -> None:
    with new_store(tmp_path) as store:
        org = Org(store)
        org.user(10, "boss", [SALESMAN])
        org.user(11, "seller", [SALESMAN])
        org.employee(1, 10)
        org.employee(2, 11, 1)
        org.opp(500, 11)  # #5: the org's last event is at #4
        org.opp(501, 11)
        org.opp(500, 10)
        org.employee(2, 11, None)  # #8: the seller no longer under the boss
        org.opp(501, 10)
        assert store.log.head() == 9
        orgs = PastOrgs(store.log)
        at = {p: orgs.at(p) for p in range(1, 10)}
        assert [at[p].position for p in range(1, 10)] == list(range(1, 10))
        assert at[4].records is at[5].records is at[6].records is at[7].records
        assert at[8].records is at[9].records
        assert at[7].records is not at[8].records
        assert at[7].team_of(10) == [10, 11] and at[8].team_of(10) == [10]
        moved = event_type(EMPLOYEES, "Updated")
        assert store.log.last_of_types([moved], 9) == 8
        assert store.log.last_of_types([moved], 7) == 0
        orgs.close()


def test_shared_answers_equal_fresh_ones_on_a_log_with_org_events_between(
    tmp_path: Path,
) -> None:
    with new_store(tmp_path) as store:
        org = Org(store)
        org.put(STAGES, id=1, name="Open", sequence=1)
        org.put(STAGES, id=WON_STAGE, name="Won", sequence=2, is_won=True)
        for aid in (1, 2, 3):
            org.put(ACCOUNTS, id=aid, name=f"Account {aid}")
        org.user(10, "admin", [SALESMAN, ALL_LEADS, MANAGER, SYSTEM])
        org.user(11, "director", [SALESMAN])
        org.user(12, "manager", [SALESMAN])
        org.user(13, "seller", [SALESMAN])
        org.user(14, "other", [SALESMAN])
        org.user(15, "alldocs", [SALESMAN, ALL_LEADS], company_ids=[2])
        for eid, uid, parent in [(1, 10, None), (2, 11, 1), (3, 12, 2), (4, 13, 3), (5, 14, 1)]:
            org.employee(eid, uid, parent)
        org.put(TEAMS, id=1, name="Sales", user_id=12)
        org.put(MEMBERS, id=1, crm_team_id=1, user_id=13)
        for oid, owner, account in [(500, 13, 1), (501, 13, 2), (502, 14, 3), (503, None, 1)]:
            org.opp(oid, owner, partner_id=account, stage_id=1)
        org.opp(504, 12, company_id=2, partner_id=2)
        org.put(LEADS, id=500, stage_id=WON_STAGE)  # a run of opportunity events
        org.put(LEADS, id=501, user_id=14)  # a reassignment away from the team
        org.put(LEADS, id=501, name="After the move")  # nothing more for the team
        org.put(EMPLOYEES, id=4, parent_id=5)  # hierarchy move: the seller goes to `other`
        org.put(LEADS, id=500, expected_revenue=10.0)
        org.put(ACCOUNTS, id=1, name="Renamed")
        org.put(USERS, id=12, active=False)  # the manager archived
        org.put(LEADS, id=504, stage_id=WON_STAGE)
        org.put(LEADS, id=502, user_id=12)
        org.put(USERS, id=14, groups=sorted([SALESMAN, ALL_LEADS]))  # group change
        org.put(LEADS, id=502, partner_id=1)
        org.put(LEADS, id=503, user_id=13)
        org.put(TEAMS, id=1, name="Renamed team")
        org.put(USERS, id=12, active=True)
        org.put(USERS, id=11, groups=sorted([SALESMAN, MANAGER]))  # an administrator now
        org.put(LEADS, id=500, stage_id=1)
        org.delete(LEADS, 501)
        org.put(EMPLOYEES, id=4, parent_id=3)  # back under the manager
        org.put(LEADS, id=503, name="Last")
        org.user(16, "newcomer", [SALESMAN])
        org.employee(6, 16, 3)
        org.opp(505, 16, partner_id=3)
        kinds = [e.stream_type for e in store.log.read_all(0)]
        # Org events come between opportunity events, not only before them all.
        first_opportunity = kinds.index(LEADS)
        assert {k for k in kinds[first_opportunity:] if k in ORG_MODELS} >= {
            USERS,
            EMPLOYEES,
            TEAMS,
        }
        check_every_position(store, each_opportunity=True)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orgs(), more_changes, st.data())
def test_shared_answers_equal_fresh_ones_on_random_logs(
    spec: dict[str, Any], extra: list[Any], data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as tmp, new_store(Path(tmp)) as store:
        org = Org(store)
        seed(org, spec)
        for kind, target, value in data.draw(st.permutations([*spec["changes"], *extra])):
            apply_change(org, kind, target, value)
        check_every_position(store, each_opportunity=False)
