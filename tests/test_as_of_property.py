"""As-of answers are exact (docs/past.md): on random orgs and random sequences of syncs
(creations, reassignments, hierarchy moves, archivals, deletions, stage renames), for
random positions P, `view` / `whoami-can-see` / `metrics` / `users` as of #P equal the
answers of a file holding only events 1..P, rebuilt; as of the head they equal the
current answers; `changes` between P and Q is the difference of the two answers."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cqrs_cli.app import as_of
from cqrs_cli.app.answers.visibility import CanSee, CanSeeExplained, Reason
from cqrs_cli.app.as_of import PastModel
from cqrs_cli.app.changes import FIELDS, WHYS
from cqrs_cli.app.read_model import ReadModel, UnknownUser
from cqrs_cli.app.when import AsOf
from cqrs_cli.cli.app import app
from cqrs_cli.projections import NAMES
from cqrs_cli.projections.runner import catch_up, rebuild
from cqrs_cli.store.envelope import EventMetadata, NewEvent
from cqrs_cli.store.files import Store
from tests.read_support import (
    ACCOUNTS,
    MEMBERS,
    STAGES,
    TEAMS,
    Org,
    apply_change,
    new_store,
)
from tests.test_visibility_property import COMPANIES, WON_STAGE, orgs, user_st

runner = CliRunner()
ACCOUNT_IDS = [1, 2, 3, 4]  # 4 is never synced
new_opp = st.fixed_dictionaries(
    {
        "user_id": st.none() | st.sampled_from([10, 11, 12, 20, 999]),
        "partner_id": st.none() | st.sampled_from(ACCOUNT_IDS),
        "team_id": st.none() | st.just(1),
        "company_id": st.none() | st.sampled_from(COMPANIES),
        "active": st.booleans(),
        "stage_id": st.none() | st.sampled_from([1, 2]),
        "expected_revenue": st.integers(0, 10_000).map(lambda x: x / 4),
        "probability": st.integers(0, 100).map(float),
    }
)
more_changes = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.integers(600, 603), new_opp),
        st.tuples(
            st.just("stage"),
            st.sampled_from([1, WON_STAGE]),
            st.tuples(st.sampled_from(["Open", "Won", "Renamed"]), st.booleans()),
        ),
        st.tuples(st.just("opp_active"), st.integers(500, 503), st.booleans()),
        st.tuples(st.just("opp_stage"), st.integers(500, 503), st.sampled_from([1, WON_STAGE])),
        st.tuples(st.just("opp_company"), st.integers(500, 503), st.sampled_from(COMPANIES)),
        st.tuples(st.just("new_user"), st.just(20), user_st),
        st.tuples(st.just("opp_account"), st.integers(500, 503), st.sampled_from(ACCOUNT_IDS)),
        st.tuples(st.just("account"), st.sampled_from([1, 2, 3]), st.sampled_from(["A", "B"])),
        st.tuples(st.just("account_delete"), st.sampled_from([1, 2, 3]), st.none()),
        st.tuples(st.just("team"), st.just(1), st.sampled_from(["Sales", "Renamed"])),
        st.tuples(st.just("member"), st.just(1), st.booleans()),
    ),
    max_size=6,
)


def seed(org: Org, spec: dict[str, Any]) -> None:
    """The first records of a random org (`orgs()`): stages, accounts, users, employees,
    a team with a member, opportunities."""
    org.put(STAGES, id=1, name="Open", sequence=1)
    org.put(STAGES, id=WON_STAGE, name="Won", sequence=2, is_won=True)
    for aid in ACCOUNT_IDS[:3]:
        org.put(ACCOUNTS, id=aid, name=f"Account {aid}")
    for uid, u in spec["users"].items():
        org.user(uid, f"user{uid}", **u)
    for eid, e in spec["emps"].items():
        org.employee(eid, **e)
    uids = sorted(spec["users"])
    org.put(TEAMS, id=1, name="Sales", user_id=uids[0])
    org.put(MEMBERS, id=1, crm_team_id=1, user_id=uids[-1])
    for oid, o in spec["opps"].items():
        org.opp(oid, partner_id=oid % 5 or None, team_id=1, **o)


def prefix(source: Store, position: int, folder: Path) -> Store:
    """A new file holding only events 1..position of `source`, its views rebuilt."""
    copy = new_store(folder, f"prefix-{position}.db")
    for event in source.log.read_all(0, before_position=position + 1):
        copy.log.append(
            event.stream_type,
            event.stream_id,
            [NewEvent(type=event.type, data=event.data, metadata=EventMetadata(source="test"))],
        )
    assert copy.log.head() == position
    rebuild(copy, NAMES)
    return copy


def plain(answer: Any) -> Any:
    """An answer as its JSON reads."""
    return orjson.loads(orjson.dumps(answer))


def answers(store: Store, uid: int) -> dict[str, Any]:
    """What the current questions answer for `uid`."""
    model = ReadModel(store)
    return {
        "view": model.opportunities(uid),
        "see": model.can_see(uid, explain=True),
        "metrics": model.metrics(uid),
    }


def reasons_of(found: CanSee) -> dict[int, Reason]:
    assert isinstance(found, CanSeeExplained)
    return {int(k): v for k, v in found.reasons.items()}


def cli_json(db: Path, *args: str) -> Any:
    res = runner.invoke(app, ["--db", str(db), *args, "--format", "json"])
    assert res.exit_code == 0, (args, res.output)
    return json.loads(res.stdout)


def check_past(store: Store, position: int, expected: Store, pick: int) -> None:
    """The as-of answers of `store` at `position` against the rebuilt prefix file: through
    the read model for every user, and through the commands for one (`pick`)."""
    at = {"position": position, "recorded_at": store.log.recorded_at(position)}
    with ReadModel(store).as_of(position) as past:
        assert past.at is not None and plain(past.at.moment()) == at
        users = past.profiles()
        assert users == ReadModel(expected).profiles()
        assert past.hierarchy() == ReadModel(expected).hierarchy()
        for uid in [p.id for p in users.items]:
            want = answers(expected, uid)
            assert past.opportunities(uid) == want["view"]
            assert plain(past.can_see(uid, explain=True)) == {**plain(want["see"]), "as_of": at}
            assert plain(past.metrics(uid)) == {**plain(want["metrics"]), "as_of": at}
            assert as_of.visible_at(store, uid, position) == reasons_of(want["see"])
            some = [*(i.id for i in want["view"].items[:2]), 501, 602]
            assert as_of.visible_at(store, uid, position, only=some) == {
                k: v for k, v in reasons_of(want["see"]).items() if k in some
            }
    # The commands: `--as-of #P` on the file is the plain command on the rebuilt prefix.
    when = ("--as-of", f"#{position}")
    assert cli_json(store.path, "users", *when) == cli_json(expected.path, "users")
    if not users.items:
        return
    who = str(users.items[pick % len(users.items)].id)
    command: list[str]
    for command in (["view", "--as", who], ["metrics", "--as", who]):
        got = cli_json(store.path, *command, *when)
        want_json = cli_json(expected.path, *command)
        assert got == (want_json if command[0] == "view" else {**want_json, "as_of": at})
    see = ["whoami-can-see", "--as", who, "--explain"]
    assert cli_json(store.path, *see, *when) == {**cli_json(expected.path, *see), "as_of": at}


def check_head(store: Store) -> None:
    """The engine's answer at the head (forced through the past's path) is the current one."""
    head = store.log.head()
    live = ReadModel(store)
    with PastModel(live, AsOf(head, None, current=False)) as past:
        assert past.profiles() == live.profiles()
        for uid in [p.id for p in live.profiles().items]:
            want = answers(store, uid)
            assert past.opportunities(uid) == want["view"]
            assert plain(past.can_see(uid, explain=True))["reasons"] == plain(want["see"].reasons)
            assert plain(past.metrics(uid))["team"] == plain(want["metrics"].team)
            assert plain(past.metrics(uid))["own"] == plain(want["metrics"].own)
    with live.as_of(f"#{head + 5}") as later:
        assert later.at is not None and later.at.current
        for uid in [p.id for p in live.profiles().items]:
            assert later.opportunities(uid) == answers(store, uid)["view"]


def check_changes(store: Store, start: int, end: int, before: Store, after: Store) -> None:
    """`changes` between two positions is the difference of the prefix files' answers."""
    ids = {p.id for p in ReadModel(before).profiles().items}
    ids |= {p.id for p in ReadModel(after).profiles().items}
    standing = {r[0] for r in after.conn.execute("SELECT id FROM opportunity_view")}
    for uid in sorted(ids):
        found = plain(ReadModel(store).changes(uid, f"#{start}", f"#{end}"))
        old = {i["id"]: i for i in _view(before, uid)}
        new = {i["id"]: i for i in _view(after, uid)}
        reasons = plain(ReadModel(after).can_see(uid, explain=True))["reasons"]
        assert [{k: v for k, v in g.items() if k != "new"} for g in found["gained"]] == [
            {"id": oid, "name": new[oid]["name"], **reasons[str(oid)]}
            for oid in sorted(new.keys() - old.keys())
        ]
        for g in found["gained"]:
            first = store.log.read_stream("crm.lead", str(g["id"]))[0].position
            assert g.get("new", False) == (first > start)
        assert [(x["id"], x["name"]) for x in found["lost"]] == [
            (oid, old[oid]["name"]) for oid in sorted(old.keys() - new.keys())
        ]
        for x in found["lost"]:
            assert x["why"] in WHYS
            assert (x["why"] == "deleted") == (x["id"] not in standing)
        assert found["changed"] == [
            {
                "id": oid,
                "name": new[oid]["name"],
                "fields": {
                    f: {"old": old[oid][f], "new": new[oid][f]}
                    for f in FIELDS
                    if old[oid][f] != new[oid][f]
                },
            }
            for oid in sorted(old.keys() & new.keys())
            if any(old[oid][f] != new[oid][f] for f in FIELDS)
        ]


def _view(store: Store, uid: int) -> list[dict[str, Any]]:
    """`view`'s JSON items; none for a user the file does not know."""
    try:
        items: list[dict[str, Any]] = plain(ReadModel(store).opportunities(uid).items)
    except UnknownUser:
        return []
    return items


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orgs(), more_changes, st.data())
def test_as_of_is_the_rebuilt_prefix(
    spec: dict[str, Any], extra: list[Any], data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        org = Org(new_store(folder))
        opened: list[Store] = [org.store]
        try:
            seed(org, spec)
            steps = data.draw(st.permutations([*spec["changes"], *extra]))
            for kind, target, value in steps:
                apply_change(org, kind, target, value)
                if data.draw(st.booleans()):
                    catch_up(org.store)  # a sync's catch-up, at irregular points
            catch_up(org.store)
            head = org.store.log.head()
            start = data.draw(st.integers(1, head), label="P")
            end = data.draw(st.integers(start, head), label="Q")
            before = prefix(org.store, start, folder)
            after = before if end == start else prefix(org.store, end, folder)
            opened += [before] if after is before else [before, after]
            pick = data.draw(st.integers(0, 50), label="user")
            check_past(org.store, start, before, pick)
            check_past(org.store, end, after, pick)
            check_head(org.store)
            check_changes(org.store, start, end, before, after)
        finally:
            for store in opened:
                store.close()
