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
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
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
    chart they form, computed by the domain rules the views use."""

    def __init__(self, log: EventLog, position: int) -> None:
        self.position = position
        self.events = [e for e in map(_created, log.latest_of_types(_ORG_TYPES, position)) if e]
        self.records: dict[str, dict[int, dict[str, Any]]] = {m: {} for m in ORG_MODELS}
        for event in self.events:
            record = event.data["record"]
            self.records[event.stream_type][int(record["id"])] = record
        self.hierarchy = hierarchy.build(self.records["res.users"], self.records["hr.employee"])

    def user(self, user_id: int) -> dict[str, Any] | None:
        return self.records["res.users"].get(user_id)

    def access(self, user_id: int) -> str:
        user = self.user(user_id)
        return hierarchy.NO_ACCESS if user is None else hierarchy.access_of(user)

    def team_of(self, user_id: int) -> list[int]:
        """The user and everyone below them."""
        return [user_id, *self.hierarchy.below.get(user_id, [])]


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
    opportunities = [e for e in map(_created, log.events_at(opportunity_positions)) if e]
    accounts = {
        e.data["record"].get("partner_id")
        for e in opportunities
        if e.data["record"].get("partner_id") is not None
    }
    named = [e for e in map(_created, log.latest_in_streams(ACCOUNTS, accounts, org.position)) if e]
    return [*org.events, *named, *opportunities]


def org_views(org: PastOrg, names: Sequence[str]) -> PastViews:
    """The views `names` as of the org's position with no opportunity: exact for what
    depends on the org alone (`user_profiles`)."""
    return PastViews(names, org.events)
