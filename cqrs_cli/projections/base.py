"""The projection framework: a projection declares a name, a version and its handlers.

A handler only changes in-memory state; `flush` writes it. The runner calls
`begin(conn)`, `apply(event)` for each event of a batch, then `flush(conn)` and moves the
checkpoint in the same transaction, so a batch and its checkpoint commit together. The
tables a projection owns are named through `t()`, so a rebuild can build fresh copies
under scratch names and swap them in.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from cqrs_cli.projections.catalog import VERSIONS
from cqrs_cli.store.log import RecordedEvent

Handler = Callable[[Any, RecordedEvent], None]
_H = TypeVar("_H", bound=Callable[..., None])


def handles(*event_types: str) -> Callable[[_H], _H]:
    """Mark a method as the handler of these event types."""

    def mark(fn: _H) -> _H:
        fn.__handles__ = event_types  # type: ignore[attr-defined]
        return fn

    return mark


@dataclass(frozen=True)
class Index:
    name: str
    table: str
    columns: str


class _CatalogVersion:
    """A projection's version, read from `catalog.py` each time it is asked for: the one
    place it is kept, which a query reads without loading the projections' code."""

    def __get__(self, instance: object, owner: type[Projection]) -> int:
        return VERSIONS[owner.name]


class Projection:
    name: ClassVar[str]
    version = _CatalogVersion()
    # base table name -> column definitions, e.g. "(id INTEGER PRIMARY KEY, ...)"
    tables: ClassVar[dict[str, str]]
    indexes: ClassVar[tuple[Index, ...]] = ()
    _handlers: ClassVar[dict[str, Handler]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found: dict[str, Handler] = {}
        for klass in reversed(cls.__mro__):
            for attr in vars(klass).values():
                for event_type in getattr(attr, "__handles__", ()):
                    found[event_type] = attr
        cls._handlers = found

    def __init__(self, *, suffix: str = "") -> None:
        self.suffix = suffix
        self.conn: sqlite3.Connection | None = None
        # Bulk mode (a rebuild into scratch tables): the secondary indexes are created only
        # at the swap, so fan-out updates join a temporary table in one scan instead.
        self.bulk = False
        # Deferred mode (a replay into fresh, empty scratch tables): a projection may keep
        # rows that a later event would overwrite in memory, and write them once in
        # `end_replay`; what it derives per user (access rows, metrics) it computes there
        # once, for everybody. Nothing reads scratch tables before the swap.
        self.defer = False

    # -- tables ----------------------------------------------------------------------------

    def t(self, base: str) -> str:
        return base + self.suffix

    def table_names(self) -> list[str]:
        return [self.t(base) for base in self.tables]

    def create_sql(self) -> list[str]:
        return [f"CREATE TABLE IF NOT EXISTS {self.t(b)} {cols}" for b, cols in self.tables.items()]

    def index_sql(self) -> list[str]:
        return [
            f"CREATE INDEX IF NOT EXISTS {self.t(i.name)} ON {self.t(i.table)} ({i.columns})"
            for i in self.indexes
        ]

    def index_names(self) -> list[str]:
        return [self.t(i.name) for i in self.indexes]

    # -- events ----------------------------------------------------------------------------

    @classmethod
    def handled_types(cls) -> frozenset[str]:
        return frozenset(cls._handlers)

    def begin(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @classmethod
    def handlers(cls) -> dict[str, Handler]:
        """Event type -> handler (called as `handler(projection, event)`)."""
        return cls._handlers

    def apply(self, event: RecordedEvent) -> None:
        handler = self._handlers.get(event.type)
        if handler is not None:
            handler(self, event)

    def flush(self, conn: sqlite3.Connection) -> None:
        """Write what the handlers of this batch changed."""

    def end_replay(self, conn: sqlite3.Connection) -> None:
        """Write what a deferred replay kept in memory and leave deferred mode."""
        self.defer = False

    def discard(self) -> None:
        """Forget in-memory state after a rollback: it is reloaded from the tables."""


# -- helpers the views share -----------------------------------------------------------------


def record_of(event: RecordedEvent) -> dict[str, Any]:
    record = event.data.get("record")
    if not isinstance(record, dict):
        raise ValueError(f"{event.type} at position {event.position} has no record")
    return record


def record_id(event: RecordedEvent) -> int:
    rec = event.data.get("record")
    if isinstance(rec, dict) and "id" in rec:
        return int(rec["id"])
    return int(event.stream_id)


def is_deleted(event: RecordedEvent) -> bool:
    return event.type.endswith("Deleted")


def dumps(value: Any) -> str:
    """Deterministic JSON, so a rebuilt table is byte-identical to the incremental one."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fan_out(
    conn: sqlite3.Connection,
    table: str,
    key: str,
    assignments: dict[str, str],
    rows: list[tuple[Any, ...]],
    *,
    bulk: bool,
) -> None:
    """Set columns of every row of `table` whose `key` is in `rows`.

    `rows` are (key, v0, v1, ...); `assignments` maps a column to an SQL expression over
    `{v0}`, `{v1}`, ... With indexes, one indexed UPDATE per key; in bulk mode (no
    indexes yet) one UPDATE ... FROM a temporary table, a single scan of `table`.
    """
    if not rows:
        return
    width = len(rows[0]) - 1
    if not bulk:
        names = {f"v{i}": f":v{i}" for i in range(width)}
        sets = ", ".join(f"{c} = {e.format(**names)}" for c, e in assignments.items())
        conn.executemany(
            f"UPDATE {table} SET {sets} WHERE {key} = :k",
            [{"k": r[0], **{f"v{i}": r[i + 1] for i in range(width)}} for r in rows],
        )
        return
    names = {f"v{i}": f"f.v{i}" for i in range(width)}
    sets = ", ".join(f"{c} = {e.format(**names)}" for c, e in assignments.items())
    cols = ", ".join(["k PRIMARY KEY", *(f"v{i}" for i in range(width))])
    conn.execute("DROP TABLE IF EXISTS temp.fan_out")
    conn.execute(f"CREATE TEMP TABLE fan_out ({cols})")
    conn.executemany(
        f"INSERT OR REPLACE INTO temp.fan_out VALUES ({','.join('?' * (width + 1))})", rows
    )
    conn.execute(f"UPDATE {table} SET {sets} FROM temp.fan_out f WHERE {table}.{key} = f.k")
    conn.execute("DROP TABLE temp.fan_out")


class Mirror:
    """The latest record per (model, id) a projection needs, in one table and in memory.

    Only small models go here (users, employees, teams, stages, accounts); opportunities
    live in typed tables. The in-memory copy is loaded on first use and dropped on
    rollback.
    """

    DDL = "(model TEXT NOT NULL, id INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (model, id))"

    def __init__(self, table: str, models: Iterable[str]) -> None:
        self.table = table
        self.models = tuple(models)
        self._data: dict[str, dict[int, dict[str, Any]]] | None = None
        self._pending: dict[tuple[str, int], dict[str, Any] | None] = {}

    def load(self, conn: sqlite3.Connection) -> dict[str, dict[int, dict[str, Any]]]:
        if self._data is None:
            data: dict[str, dict[int, dict[str, Any]]] = {m: {} for m in self.models}
            for model, rid, text in conn.execute(f"SELECT model, id, data FROM {self.table}"):
                data.setdefault(model, {})[rid] = json.loads(text)
            self._data = data
        return self._data

    def of(self, conn: sqlite3.Connection, model: str) -> dict[int, dict[str, Any]]:
        return self.load(conn)[model]

    def put(self, conn: sqlite3.Connection, model: str, record: dict[str, Any]) -> None:
        rid = int(record["id"])
        self.load(conn)[model][rid] = record
        self._pending[(model, rid)] = record

    def remove(self, conn: sqlite3.Connection, model: str, rid: int) -> None:
        self.load(conn)[model].pop(rid, None)
        self._pending[(model, rid)] = None

    def flush(self, conn: sqlite3.Connection) -> None:
        if not self._pending:
            return
        upserts = [(m, i, dumps(r)) for (m, i), r in self._pending.items() if r is not None]
        deletes = [(m, i) for (m, i), r in self._pending.items() if r is None]
        if upserts:
            conn.executemany(
                f"INSERT INTO {self.table} (model, id, data) VALUES (?, ?, ?) "
                "ON CONFLICT (model, id) DO UPDATE SET data = excluded.data",
                upserts,
            )
        if deletes:
            conn.executemany(f"DELETE FROM {self.table} WHERE model = ? AND id = ?", deletes)
        self._pending.clear()

    def discard(self) -> None:
        self._data = None
        self._pending.clear()
