"""Projections that mirror small Odoo models and know the org chart they form, and the rule
every view of opportunities shares: what leaves the view."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any, ClassVar

from cqrs_cli.domain import hierarchy
from cqrs_cli.domain.event_types import ENTITY_BY_MODEL, types_of
from cqrs_cli.projections.base import (
    Mirror,
    Projection,
    dumps,
    handles,
    is_deleted,
    record_id,
    record_of,
)
from cqrs_cli.store.log import RecordedEvent

MODEL_BY_TYPE: dict[str, str] = {
    t: model for model, entity in ENTITY_BY_MODEL.items() for t in types_of(entity)
}
HIERARCHY_MODELS = frozenset({"res.users", "hr.employee"})
OPPORTUNITY_DELETED = "OdooOpportunityDeleted"


def _all(*entities: str) -> tuple[str, ...]:
    return tuple(t for e in entities for t in types_of(e))


class OrgProjection(Projection):
    """Mirrors `mirrored` models; `changed[model]` lists the ids touched in this batch."""

    mirrored: ClassVar[tuple[str, ...]] = ("res.users", "hr.employee")
    mirror_table: ClassVar[str]

    def __init__(self, *, suffix: str = "") -> None:
        super().__init__(suffix=suffix)
        self.mirror = Mirror(self.t(self.mirror_table), self.mirrored)
        self.changed: dict[str, set[int]] = {m: set() for m in self.mirrored}
        self._hierarchy: hierarchy.Hierarchy | None = None
        self.previous_hierarchy: hierarchy.Hierarchy | None = None

    @handles(*_all("User", "Employee", "Team", "TeamMember", "Stage", "Account"))
    def on_entity(self, event: RecordedEvent) -> None:
        model = MODEL_BY_TYPE[event.type]
        if model not in self.mirrored:
            return
        conn = self._conn()
        if model in HIERARCHY_MODELS and self.previous_hierarchy is None:
            self.previous_hierarchy = self.hierarchy()  # the chart before this batch
        if is_deleted(event):
            self.mirror.remove(conn, model, record_id(event))
        else:
            self.mirror.put(conn, model, record_of(event))
        self.changed[model].add(record_id(event))
        if model in HIERARCHY_MODELS:
            self._hierarchy = None

    def _conn(self) -> sqlite3.Connection:
        if self.conn is None:
            raise RuntimeError(f"{self.name}: begin(conn) was not called")
        return self.conn

    def records(self, model: str) -> dict[int, dict[str, Any]]:
        return self.mirror.of(self._conn(), model)

    def hierarchy(self) -> hierarchy.Hierarchy:
        if self._hierarchy is None:
            self._hierarchy = hierarchy.build(
                self.records("res.users"), self.records("hr.employee")
            )
        return self._hierarchy

    def hierarchy_changed(self) -> bool:
        return any(self.changed[m] for m in HIERARCHY_MODELS)

    def end_batch(self, conn: sqlite3.Connection) -> None:
        self.mirror.flush(conn)
        for ids in self.changed.values():
            ids.clear()
        self.previous_hierarchy = None

    def discard(self) -> None:
        self.mirror.discard()
        for ids in self.changed.values():
            ids.clear()
        self._hierarchy = None
        self.previous_hierarchy = None


class OpportunityProjection(OrgProjection):
    """An org projection that also keeps a tuple of fields per opportunity.

    The one rule of what leaves such a view lives here: an opportunity deleted in Odoo, or
    turned back into a lead, is no opportunity any more (sync drops leads; a record that
    becomes one leaves the views all the same). A projection supplies only `keep`, the
    tuple it stores for an opportunity that stays, and reads the batch's changes with
    `take_opportunities` in its `flush`.
    """

    def __init__(self, *, suffix: str = "") -> None:
        super().__init__(suffix=suffix)
        # Opportunity id -> its latest record in this batch, None once it left.
        self.opportunities: dict[int, dict[str, Any] | None] = {}

    @staticmethod
    def keep(record: dict[str, Any]) -> tuple[Any, ...]:
        """The fields this projection stores for an opportunity."""
        raise NotImplementedError

    @handles(*types_of("Opportunity"))
    def on_opportunity(self, event: RecordedEvent) -> None:
        # The hot handler of a replay (a million calls per view): the record is kept as it
        # is; `keep` runs once per opportunity and batch in `take_opportunities`, not once
        # per event.
        record = standing(event)
        self.opportunities[record_id(event) if record is None else int(record["id"])] = record

    def take_opportunities(self) -> dict[int, tuple[Any, ...] | None]:
        """The batch's opportunities as `keep` tuples (None: leaves the view), and forget
        them."""
        keep = self.keep
        taken = {i: None if r is None else keep(r) for i, r in self.opportunities.items()}
        self.opportunities.clear()
        return taken

    def discard(self) -> None:
        super().discard()
        self.opportunities.clear()


def standing(event: RecordedEvent) -> dict[str, Any] | None:
    """The one rule of what leaves the views of opportunities: the record an opportunity's
    event leaves standing, or None when the event took it out: deleted in Odoo, or turned
    back into a lead (sync drops leads; a record that becomes one leaves all the same).
    `opportunity_versions` marks what is gone by the same rule."""
    if event.type == OPPORTUNITY_DELETED:
        return None
    record = event.data.get("record")
    if not isinstance(record, dict):
        record = record_of(event)  # raises
    return record if record.get("type", "opportunity") == "opportunity" else None


def closure_rows(h: hierarchy.Hierarchy) -> Iterable[tuple[int, int]]:
    for uid, subs in h.below.items():
        for sub in subs:
            yield uid, sub


# The per-user views (access matrix, metrics) keep their own copy of the opportunity
# columns they compute from; these helpers keep that copy in step.
Pending = dict[int, tuple[Any, ...] | None]  # opportunity id -> new columns, None when gone


def owners_of(conn: sqlite3.Connection, table: str, pending: Pending) -> set[int | None]:
    """Owners before (stored rows) and after (pending) of the opportunities of a batch."""
    ids = dumps(sorted(pending))
    owners: set[int | None] = {
        row[0]
        for row in conn.execute(
            f"SELECT user_id FROM {table} WHERE id IN (SELECT value FROM json_each(?))", (ids,)
        )
    }
    owners |= {v[0] for v in pending.values() if v is not None}
    return owners


def managers_of(conn: sqlite3.Connection, subordinates: str, users: Iterable[int]) -> set[int]:
    """Everyone above `users` in the stored subordinate closure."""
    return {
        row[0]
        for row in conn.execute(
            f"SELECT DISTINCT user_id FROM {subordinates} "
            "WHERE sub_id IN (SELECT value FROM json_each(?))",
            (dumps(sorted(users)),),
        )
    }


def write_closure(conn: sqlite3.Connection, table: str, h: hierarchy.Hierarchy) -> set[int]:
    """Bring the stored closure (user_id, sub_id) to `h`; return the users whose set of
    subordinates changed."""
    new = set(closure_rows(h))
    old = set(conn.execute(f"SELECT user_id, sub_id FROM {table}"))
    gone, added = old - new, new - old
    if gone:
        conn.executemany(f"DELETE FROM {table} WHERE user_id = ? AND sub_id = ?", sorted(gone))
    if added:
        conn.executemany(f"INSERT INTO {table} VALUES (?, ?)", sorted(added))
    return {uid for uid, _ in gone | added}


def write_pending(
    conn: sqlite3.Connection, table: str, columns: tuple[str, ...], pending: Pending
) -> None:
    """Delete the gone opportunities and upsert the others (`id` first, then `columns`)."""
    gone = [(i,) for i, v in pending.items() if v is None]
    kept = [(i, *v) for i, v in pending.items() if v is not None]
    if gone:
        conn.executemany(f"DELETE FROM {table} WHERE id = ?", gone)
    if kept:
        marks = ", ".join("?" * (len(columns) + 1))
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns)
        conn.executemany(
            f"INSERT INTO {table} VALUES ({marks}) ON CONFLICT (id) DO UPDATE SET {updates}",
            kept,
        )
