"""The views as they stood right after position P of the log, built for one question.

Every view is a function of the records' state: a row depends on its record and on the
people, stages, accounts and teams as they stand, whatever order the events came in
(the deferred replay of a rebuild relies on the same fact, and the property tests hold
rebuilt and incrementally kept views equal). So the views right after P are what the
*same* projection classes give when fed, into fresh tables, one `...Created` event per
record that existed at P. No second copy of the rules exists to drift from the first.

Only the records a question needs are fed, into an in-memory SQLite database:

- the org (users, employees, teams, team members, stages: small), each record's
  newest event at or before P, found on the log's `events_by_type` index;
- the opportunities that can matter to one user at P: those owned by the user or by
  anyone below them in the org chart at P, the unassigned ones, and for administrators
  and all-documents users every one of their companies. `opportunity_versions` lists
  them without reading the log; each record is then read by its position;
- the accounts those opportunities name, one seek per account stream.

The projections run in their rebuild mode (bulk, deferred: everything derived once at
the end), the path a rebuild takes and the tests compare with the incremental one. The
rows of users other than the one asked about may be incomplete (their opportunities were
not fed): read only that user's answer from a `PastViews`.

Questions asked at many positions (a webhook's filter asks at each event) share the org:
the org right after P is the org right after the last org event at or before P, so
`PastOrgs` builds it once per state of the org, and the views of that org alone once
(`OrgViews`); a question about a few opportunities adds them to those views as a sync
adds a batch, and takes them back.
"""

from __future__ import annotations

import copy
import sqlite3
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from cqrs_cli.domain import hierarchy
from cqrs_cli.domain.event_types import ENTITY_BY_MODEL, event_type, types_of
from cqrs_cli.projections.opportunity_versions import OpportunityVersions
from cqrs_cli.projections.registry import make
from cqrs_cli.store.log import EventLog, RecordedEvent

ORG_MODELS = ("res.users", "hr.employee", "crm.team", "crm.team.member", "crm.stage")
ACCOUNTS, OPPORTUNITIES = "res.partner", "crm.lead"
_ORG_TYPES = tuple(t for model in ORG_MODELS for t in types_of(ENTITY_BY_MODEL[model]))


def _created(event: RecordedEvent) -> RecordedEvent | None:
    """The event as a `...Created` of the record it leaves, None when it deleted it."""
    if event.type.endswith("Deleted"):
        return None
    record = event.data.get("record")
    if not isinstance(record, dict):
        return None
    return RecordedEvent(
        event.position,
        "",
        event.stream_type,
        event.stream_id,
        0,
        event_type(event.stream_type, "Created"),
        event.schema_version,
        {"record": record},
        {},
        "",
        "",
    )


class PastOrg:
    """The org as it stood right after `position`: records of the small models and the
    chart they form, computed by the domain rules the views use.

    Read-only once built: `PastOrgs` hands the same records to the questions of every
    position up to the next org event, and its views are built from `events`.
    """

    def __init__(self, log: EventLog, position: int) -> None:
        self.position = position
        latest = log.latest_of_types(_ORG_TYPES, position)
        # The newest org event at or before `position` is the newest of its own stream.
        self.since = max((e.position for e in latest), default=0)
        self.events = tuple(e for e in map(_created, latest) if e)
        self.records: dict[str, dict[int, dict[str, Any]]] = {m: {} for m in ORG_MODELS}
        for event in self.events:
            record = event.data["record"]
            self.records[event.stream_type][int(record["id"])] = record
        self.hierarchy = hierarchy.build(self.records["res.users"], self.records["hr.employee"])

    def standing_at(self, position: int) -> PastOrg:
        """This org as the org right after `position`, a later position with no org event
        since `since` (the caller checks it): the same records, shared, not copied."""
        if position < self.since:
            raise ValueError(f"the org of #{self.since} did not stand at #{position}")
        moved = copy.copy(self)
        moved.position = position
        return moved

    def user(self, user_id: int) -> dict[str, Any] | None:
        return self.records["res.users"].get(user_id)

    def access(self, user_id: int) -> str:
        user = self.user(user_id)
        return hierarchy.NO_ACCESS if user is None else hierarchy.access_of(user)

    def team_of(self, user_id: int) -> list[int]:
        """The user and everyone below them."""
        return [user_id, *self.hierarchy.below.get(user_id, [])]


class PastOrgs:
    """The org at any position of `log`, built once per state of the org and shared.

    The org right after P is the org right after the last org event at or before P (found
    with one seek per event type): a run of opportunity events between two org events
    asks about one org, so a filter asking at each of them builds it once. The views of
    that org alone (`OrgViews`) are kept with it. The newest `keep` orgs are kept; `close`
    releases their views (an in-memory database each). For one caller at a time: the
    questions take turns on those views.
    """

    def __init__(self, log: EventLog, *, keep: int = 2) -> None:
        self.log = log
        self.keep = keep
        self._kept: OrderedDict[int, tuple[PastOrg, dict[tuple[str, ...], OrgViews]]] = (
            OrderedDict()
        )

    def at(self, position: int) -> PastOrg:
        """The org right after `position` (in the caller's read transaction)."""
        org, _ = self._entry(self.log.last_of_types(_ORG_TYPES, position))
        return org if org.position == position else org.standing_at(position)

    def views(self, org: PastOrg, names: Sequence[str]) -> OrgViews:
        """The views `names` of `org` alone, built once per org."""
        _, built = self._entry(org.since)
        key = tuple(names)
        if key not in built:
            built[key] = OrgViews(names, org)
        return built[key]

    def _entry(self, since: int) -> tuple[PastOrg, dict[tuple[str, ...], OrgViews]]:
        found = self._kept.get(since)
        if found is not None:
            self._kept.move_to_end(since)
            return found
        entry: tuple[PastOrg, dict[tuple[str, ...], OrgViews]] = (PastOrg(self.log, since), {})
        self._kept[since] = entry
        while len(self._kept) > self.keep:
            _, (_, dropped) = self._kept.popitem(last=False)
            for views in dropped.values():
                views.close()
        return entry

    def close(self) -> None:
        for _, built in self._kept.values():
            for views in built.values():
                views.close()
        self._kept.clear()


def opportunities_for(
    conn: sqlite3.Connection, org: PastOrg, user_id: int, versions: OpportunityVersions
) -> list[int]:
    """Positions of the opportunity versions that can matter to `user_id` at the org's
    position: whatever their views (visible set, own and team figures) are made of.

    More is harmless (another user's rows), fewer would be wrong: the selection is wide
    on purpose (every unassigned one, whatever its company).
    """
    team = org.team_of(user_id)
    access = org.access(user_id)
    if access in (hierarchy.ADMINISTRATOR, hierarchy.ALL_DOCUMENTS):
        user = org.user(user_id) or {}
        return versions.all_at(
            conn, org.position, companies=user.get("company_ids") or [], owners=team
        )
    return versions.owned_at(conn, org.position, team, unassigned=access == hierarchy.OWN_DOCUMENTS)


class PastViews:
    """Views built as of one position for the records given: an in-memory database whose
    tables have the live views' names, so the same read code answers over it."""

    def __init__(self, names: Sequence[str], events: Iterable[RecordedEvent]) -> None:
        self.names = tuple(names)
        self.conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        fed = list(events)
        self.conn.execute("BEGIN")
        try:
            for name in names:
                projection = make(name)
                projection.bulk = True  # fresh tables: indexes once, at the end
                projection.defer = True  # derived rows once, for everybody, at the end
                for sql in projection.create_sql():
                    self.conn.execute(sql)
                projection.begin(self.conn)
                handler_of = projection.handlers().get
                for event in fed:
                    handler = handler_of(event.type)
                    if handler is not None:
                        handler(projection, event)
                projection.flush(self.conn)
                projection.end_replay(self.conn)
                for sql in projection.index_sql():
                    self.conn.execute(sql)
            self.conn.execute("COMMIT")
        except BaseException:
            self.conn.close()
            raise

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> PastViews:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def records_for(
    log: EventLog, org: PastOrg, opportunity_positions: Iterable[int]
) -> list[RecordedEvent]:
    """The org's events, then the opportunities at these positions and the accounts they
    name as they stood at the org's position, all as `...Created` events."""
    return [*org.events, *question_records(log, org, opportunity_positions)]


def question_records(
    log: EventLog, org: PastOrg, opportunity_positions: Iterable[int]
) -> list[RecordedEvent]:
    """`records_for` without the org's events: the accounts, then the opportunities."""
    opportunities = [e for e in map(_created, log.events_at(opportunity_positions)) if e]
    accounts = {
        e.data["record"].get("partner_id")
        for e in opportunities
        if e.data["record"].get("partner_id") is not None
    }
    named = [e for e in map(_created, log.latest_in_streams(ACCOUNTS, accounts, org.position)) if e]
    return [*named, *opportunities]


def org_views(org: PastOrg, names: Sequence[str]) -> PastViews:
    """The views `names` as of the org's position with no opportunity: exact for what
    depends on the org alone (`user_profiles`)."""
    return PastViews(names, org.events)


class OrgViews:
    """The views `names` of an org alone (`org_views`), to which one question adds its
    records (the opportunities asked about and their accounts) and takes them back.

    The records are fed as a sync feeds a batch to views that already hold the org: fresh
    projection objects (their state is the tables', as in a process that just opened the
    file), one batch, `flush` (the incremental path the live views take, which the
    property tests hold equal to a rebuild), all inside a savepoint rolled back after the
    question. So the org's share of the views, most of the cost, is built once per org.
    """

    def __init__(self, names: Sequence[str], org: PastOrg) -> None:
        self.names = tuple(names)
        self.views = org_views(org, names)

    @contextmanager
    def adding(self, events: Sequence[RecordedEvent]) -> Iterator[sqlite3.Connection]:
        """The views with `events` fed, for reading only, until the block ends."""
        conn = self.views.conn
        conn.execute("SAVEPOINT question")
        try:
            for name in self.names:
                projection = make(name)
                projection.begin(conn)
                handler_of = projection.handlers().get
                for event in events:
                    handler = handler_of(event.type)
                    if handler is not None:
                        handler(projection, event)
                projection.flush(conn)
            yield conn
        finally:
            conn.execute("ROLLBACK TO question")
            conn.execute("RELEASE question")

    def close(self) -> None:
        self.views.close()
