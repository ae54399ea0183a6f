"""A projection that mirrors small Odoo models and knows the org chart they form."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any, ClassVar

from cqrs_cli.domain import hierarchy
from cqrs_cli.domain.event_types import ENTITY_BY_MODEL, types_of
from cqrs_cli.projections.base import (
    Mirror,
    Projection,
    Settings,
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


def _all(*entities: str) -> tuple[str, ...]:
    return tuple(t for e in entities for t in types_of(e))


class OrgProjection(Projection):
    """Mirrors `mirrored` models; `changed[model]` lists the ids touched in this batch."""

    mirrored: ClassVar[tuple[str, ...]] = ("res.users", "hr.employee")
    mirror_table: ClassVar[str]

    def __init__(self, *, suffix: str = "", settings: Settings | None = None) -> None:
        super().__init__(suffix=suffix, settings=settings)
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


def closure_rows(h: hierarchy.Hierarchy) -> Iterable[tuple[int, int]]:
    for uid, subs in h.below.items():
        for sub in subs:
            yield uid, sub


# The cache views (access matrix, metrics) keep their own copy of the opportunity columns
# they compute from; these helpers keep that copy and the dirty flags in step.
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


def mark_dirty_with_managers(
    conn: sqlite3.Connection, table: str, subordinates: str, owners: Iterable[int]
) -> None:
    """Mark the owners' rows dirty, and the rows of everyone above them in the chart."""
    known = dumps(sorted(owners))
    conn.execute(
        f"UPDATE {table} SET dirty = 1 WHERE dirty = 0 AND ("
        "user_id IN (SELECT value FROM json_each(?)) OR user_id IN ("
        f"SELECT user_id FROM {subordinates} WHERE sub_id IN (SELECT value FROM json_each(?))))",
        (known, known),
    )


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
