"""The append-only event log: the `events` table (docs/events.md).

This module owns the table: it alone writes it, and every read the rest of the program
needs is a method of `EventLog` (or `head` / `hash_at` below). Inside `store/`, the
chain check (chain.py), the latest state of each record (current_state.py) and the
health checks (health.py) read it too; nothing outside `store/` does.

Writers take `BEGIN IMMEDIATE`, so a batch holds the write lock from its first read of the
stream version to its commit: positions are gapless and never interleave with another
writer's batch, across processes too.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import orjson

from cqrs_cli.domain.errors import CqrsError
from cqrs_cli.store.chain import GENESIS, canonical_json, event_hash
from cqrs_cli.store.transactions import Transactions
from cqrs_cli.store.upcasting import UPCASTERS, Upcasters

if TYPE_CHECKING:
    from cqrs_cli.store.envelope import NewEvent

ANY: Literal["any"] = "any"
NO_STREAM: Literal["no stream"] = "no stream"
ExpectedVersion = int | Literal["any", "no stream"]

_COLUMNS = (
    "position, event_id, stream_type, stream_id, version, type, schema_version,"
    " data, metadata, recorded_at, hash"
)
_ID_CHUNK = 500  # stays far below SQLite's bound-parameter limit
_POSITION_CHUNK = 20_000  # positions or stream ids per JSON list bound as one parameter


class ConcurrencyError(CqrsError):
    """The stream moved since the caller read it."""

    def __init__(self, stream_type: str, stream_id: str, expected: object, actual: int) -> None:
        shown = "no stream" if actual == 0 else f"version {actual}"
        super().__init__(
            f"stream {stream_type}:{stream_id} expected {expected!r} but is at {shown}"
        )
        self.stream_type, self.stream_id = stream_type, stream_id
        self.expected, self.actual = expected, actual


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    position: int
    event_id: str
    stream_type: str
    stream_id: str
    version: int
    type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: str
    hash: str


def _check_expected(
    stream_type: str, stream_id: str, expected: ExpectedVersion, actual: int
) -> None:
    if expected == ANY:
        return
    if expected == NO_STREAM:
        wanted = 0
    elif isinstance(expected, int) and not isinstance(expected, bool) and expected >= 0:
        wanted = expected
    else:
        raise ValueError(
            f"expected_version must be an int >= 0, 'any' or 'no stream': {expected!r}"
        )
    if wanted != actual:
        raise ConcurrencyError(stream_type, stream_id, expected, actual)


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_recorded_at(text: str) -> datetime:
    """A `recorded_at` as an aware UTC datetime (a naive one is read as UTC)."""
    moment = datetime.fromisoformat(text)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _not_before(now: str, last: str) -> str:
    """The append's time, never earlier than the previous event's: `recorded_at` rises with
    the position, so "what the log knew at time T" is a prefix of it (docs/past.md), even
    when the machine's clock is set back."""
    if not last:
        return now
    try:
        return last if parse_recorded_at(now) < parse_recorded_at(last) else now
    except ValueError:
        return now  # an unreadable stored time (written by hand): nothing to compare with


@dataclass(frozen=True)
class Head:
    """The newest event: its position (0 for an empty log) and its hash."""

    position: int
    hash: str

    def __str__(self) -> str:
        return f"{self.position}:{self.hash}"


def head(conn: sqlite3.Connection) -> Head:
    row = conn.execute(
        "SELECT position, hash FROM events ORDER BY position DESC LIMIT 1"
    ).fetchone()
    return Head(int(row[0]), str(row[1])) if row else Head(0, GENESIS)


def hash_at(conn: sqlite3.Connection, position: int) -> str | None:
    """The hash of the event at `position` (the genesis hash at 0), None when absent."""
    if position == 0:
        return GENESIS
    row = conn.execute("SELECT hash FROM events WHERE position = ?", (position,)).fetchone()
    return str(row[0]) if row else None


class EventLog:
    """Typed access to the `events` table of one open connection."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        upcasters: Upcasters = UPCASTERS,
        clock: Callable[[], str] = utc_now_iso,
        transactions: Transactions | None = None,
    ) -> None:
        self.conn = conn
        self._upcasters = upcasters
        self._clock = clock
        self._tx = transactions or Transactions(conn)
        # (position, hash, recorded_at) of the newest row
        self._tail: tuple[int, str, str] | None = None
        self._tx.on_reset(self._forget_tail)

    @property
    def transactions(self) -> Transactions:
        return self._tx

    def _forget_tail(self) -> None:
        self._tail = None

    # -- writing ---------------------------------------------------------------------------

    def append(
        self,
        stream_type: str,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: ExpectedVersion = ANY,
    ) -> list[int]:
        """Append to one stream; return the positions written (empty if all were known)."""
        return self.append_many([(stream_type, stream_id, events, expected_version)])

    def append_many(
        self, batches: Iterable[tuple[str, str, Sequence[NewEvent], ExpectedVersion]]
    ) -> list[int]:
        """Append to several streams in one transaction: all of them or none.

        Per-stream work is batched (one query for known ids, one per chunk of streams for
        their versions) because a sync appends one event to each of many streams.
        """
        with self._tx.transaction():
            pending: list[tuple[str, str, list[NewEvent], ExpectedVersion]] = []
            listed = [(t, str(i), list(evs), exp) for t, i, evs, exp in batches]
            seen = self._stored_ids([e.event_id for _, _, evs, _ in listed for e in evs])
            for stream_type, stream_id, events, expected in listed:
                fresh = []
                for event in events:
                    if event.event_id not in seen:  # stored already: a no-op, forever
                        seen.add(event.event_id)
                        fresh.append(event)
                if fresh:
                    pending.append((stream_type, stream_id, fresh, expected))
            if not pending:
                return []
            versions = self._versions_of({(t, i) for t, i, _, _ in pending})
            position, prev_hash, last_recorded = self._tail_state()
            recorded_at = _not_before(self._clock(), last_recorded)
            metadata_json: dict[int, tuple[object, str]] = {}
            rows: list[tuple[Any, ...]] = []
            for stream_type, stream_id, events, expected in pending:
                version = versions.get((stream_type, stream_id), 0)
                _check_expected(stream_type, stream_id, expected, version)
                for event in events:
                    position += 1
                    version += 1
                    data = canonical_json(event.data)
                    # A sync shares metadata objects across events: serialize each once.
                    cached = metadata_json.get(id(event.metadata))
                    if cached is None or cached[0] is not event.metadata:
                        dumped = event.metadata.model_dump(exclude_none=True)
                        cached = (event.metadata, canonical_json(dumped))
                        metadata_json[id(event.metadata)] = cached
                    metadata = cached[1]
                    digest = event_hash(
                        prev_hash, position, event.event_id, stream_type, stream_id, version,
                        event.type, event.schema_version, data, metadata, recorded_at,
                    )  # fmt: skip
                    rows.append((
                        position, event.event_id, stream_type, stream_id, version, event.type,
                        event.schema_version, data, metadata, recorded_at, digest,
                    ))  # fmt: skip
                    prev_hash = digest
                versions[(stream_type, stream_id)] = version
            self.conn.executemany(
                f"INSERT INTO events ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows
            )
            self._tail = (position, prev_hash, recorded_at)
            return [row[0] for row in rows]

    def _versions_of(self, streams: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Current version of each stream that exists (absent ones are at 0)."""
        found: dict[tuple[str, str], int] = {}
        pairs = sorted(streams)
        for start in range(0, len(pairs), _ID_CHUNK // 2):
            chunk = pairs[start : start + _ID_CHUNK // 2]
            values = ",".join("(?,?)" for _ in chunk)
            params = [part for pair in chunk for part in pair]
            # The VALUES list drives the query so each stream is one index seek.
            for stream_type, stream_id, version in self.conn.execute(
                "SELECT v.column1, v.column2, (SELECT max(e.version) FROM events e"
                "  WHERE e.stream_type = v.column1 AND e.stream_id = v.column2)"
                f" FROM (VALUES {values}) v",
                params,
            ):
                if version is not None:
                    found[(stream_type, stream_id)] = version
        return found

    def _stored_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of these event ids the log already holds."""
        found: set[str] = set()
        for start in range(0, len(ids), _ID_CHUNK):
            chunk = ids[start : start + _ID_CHUNK]
            marks = ",".join("?" * len(chunk))
            found.update(
                r[0]
                for r in self.conn.execute(
                    f"SELECT event_id FROM events WHERE event_id IN ({marks})", chunk
                )
            )
        return found

    def _tail_state(self) -> tuple[int, str, str]:
        if self._tail is None:
            row = self.conn.execute(
                "SELECT position, hash, recorded_at FROM events ORDER BY position DESC LIMIT 1"
            ).fetchone()
            self._tail = (row[0], row[1], row[2]) if row else (0, GENESIS, "")
        return self._tail

    # -- reading ---------------------------------------------------------------------------

    def head(self) -> int:
        """Position of the newest event, 0 for an empty log."""
        row = self.conn.execute("SELECT max(position) FROM events").fetchone()
        return int(row[0] or 0)

    def count(
        self, *, after: int = 0, until: int | None = None, types: Iterable[str] | None = None
    ) -> int:
        """How many events the log holds, or of `types` in positions (after, until]."""
        sql = "SELECT count(*) FROM events WHERE position > ?"
        params: list[Any] = [after]
        if until is not None:
            sql += " AND position <= ?"
            params.append(until)
        if types is not None:
            listed = sorted(set(types))
            sql += f" AND type IN ({','.join('?' * len(listed))})"
            params.extend(listed)
        return int(self.conn.execute(sql, params).fetchone()[0])

    def stream_versions(self, stream_type: str) -> dict[str, int]:
        """The current version of every stream of `stream_type`, by stream id."""
        return {
            str(stream_id): int(version)
            for stream_id, version in self.conn.execute(
                "SELECT stream_id, max(version) FROM events WHERE stream_type = ?"
                " GROUP BY stream_id",
                (stream_type,),
            )
        }

    def other_source(self, source: str) -> str | None:
        """The metadata `source` of an event that `source` did not write, if there is one
        (`an unnamed source` for an event whose metadata names none)."""
        row = self.conn.execute(
            "SELECT json_extract(metadata, '$.source') FROM events"
            " WHERE json_extract(metadata, '$.source') IS NOT ? LIMIT 1",
            (source,),
        ).fetchone()
        if row is None:
            return None
        return "an unnamed source" if row[0] is None else str(row[0])

    def stream_version(self, stream_type: str, stream_id: str) -> int:
        row = self.conn.execute(
            "SELECT max(version) FROM events WHERE stream_type = ? AND stream_id = ?",
            (stream_type, str(stream_id)),
        ).fetchone()
        return int(row[0] or 0)

    def read_stream(
        self,
        stream_type: str,
        stream_id: str,
        *,
        from_version: int | None = None,
        to_version: int | None = None,
        backwards: bool = False,
        limit: int | None = None,
    ) -> list[RecordedEvent]:
        """Events of one stream between from/to version (inclusive)."""
        sql = f"SELECT {_COLUMNS} FROM events WHERE stream_type = ? AND stream_id = ?"
        params: list[Any] = [stream_type, str(stream_id)]
        if from_version is not None:
            sql += " AND version >= ?"
            params.append(from_version)
        if to_version is not None:
            sql += " AND version <= ?"
            params.append(to_version)
        sql += " ORDER BY version" + (" DESC" if backwards else "")
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [self._decode(row) for row in self.conn.execute(sql, params)]

    def read_all(
        self,
        after_position: int = 0,
        *,
        limit: int | None = None,
        types: Iterable[str] | None = None,
        before_position: int | None = None,
        backwards: bool = False,
        page_size: int = 1000,
    ) -> Iterator[RecordedEvent]:
        """Stream the log in position order (or newest first), one page in memory at a time."""
        type_list = sorted(set(types)) if types is not None else None
        remaining = limit
        low, high = after_position, before_position
        while remaining is None or remaining > 0:
            size = page_size if remaining is None else min(page_size, remaining)
            sql = f"SELECT {_COLUMNS} FROM events WHERE position > ?"
            params: list[Any] = [low]
            if high is not None:
                sql += " AND position < ?"
                params.append(high)
            if type_list is not None:
                sql += f" AND type IN ({','.join('?' * len(type_list))})"
                params.extend(type_list)
            sql += f" ORDER BY position {'DESC' if backwards else 'ASC'} LIMIT ?"
            params.append(size)
            rows = self.conn.execute(sql, params).fetchall()
            for row in rows:
                yield self._decode(row)
            if len(rows) < size:
                return
            if backwards:
                high = rows[-1][0]
            else:
                low = rows[-1][0]
            if remaining is not None:
                remaining -= len(rows)

    def projection_pages(self, after: int, size: int) -> Iterator[list[RecordedEvent]]:
        """The log past `after` in pages of `size`, decoded for projections only: upcast
        data, nothing else.

        Projections read an event's position, stream, type and data: the event id, stream
        version, timestamp and hash stay in the log (blank here), and so does the metadata
        JSON. Fetching and decoding them was a fifth of the cost of a replay (the hot path
        of a rebuild). The bus gets full events from `read_all`.
        """
        upcast = self._upcasters.upcast
        # orjson parses the stored JSON about twice as fast as the json module's C scanner,
        # and decoding is most of a replay's cost at a million events.
        loads = orjson.loads
        execute = self.conn.execute
        low = after
        while True:
            rows = execute(
                "SELECT position, stream_type, stream_id, type, schema_version, data FROM events"
                " WHERE position > ? ORDER BY position LIMIT ?",
                (low, size),
            ).fetchall()
            if not rows:
                return
            page: list[RecordedEvent] = []
            append = page.append
            for pos, st, sid, typ, sv, data in rows:
                sv, payload = upcast(typ, sv, loads(data))
                append(RecordedEvent(pos, "", st, sid, 0, typ, sv, payload, {}, "", ""))
            yield page
            if len(rows) < size:
                return
            low = rows[-1][0]

    # -- the past: reads by position (the key) and by stream, never a scan of the log ---------

    def events_at(self, positions: Iterable[int]) -> list[RecordedEvent]:
        """The events at these positions, in position order, decoded for projections as
        `projection_pages` decodes them (upcast data; no id, time, hash or metadata)."""
        wanted = sorted(set(positions))
        upcast, loads = self._upcasters.upcast, orjson.loads
        out: list[RecordedEvent] = []
        for start in range(0, len(wanted), _POSITION_CHUNK):
            chunk = orjson.dumps(wanted[start : start + _POSITION_CHUNK]).decode()
            for pos, st, sid, typ, sv, data in self.conn.execute(
                "SELECT position, stream_type, stream_id, type, schema_version, data FROM events"
                " WHERE position IN (SELECT value FROM json_each(?)) ORDER BY position",
                (chunk,),
            ):
                sv, payload = upcast(typ, sv, loads(data))
                out.append(RecordedEvent(pos, "", st, sid, 0, typ, sv, payload, {}, "", ""))
        return out

    def latest_of_types(self, types: Iterable[str], at: int) -> list[RecordedEvent]:
        """The newest event at or before position `at` of every stream that has events of
        `types`, in position order (decoded as `events_at`). Reads the `events_by_type`
        index, then only the events it keeps."""
        listed = sorted(set(types))
        positions = [
            int(r[0])
            for r in self.conn.execute(
                "SELECT max(position) FROM events"
                f" WHERE type IN ({','.join('?' * len(listed))}) AND position <= ?"
                " GROUP BY stream_type, stream_id",
                [*listed, at],
            )
        ]
        return self.events_at(positions)

    def last_of_types(self, types: Iterable[str], at: int) -> int:
        """The position of the newest event of `types` at or before position `at`, 0 when
        there is none: one seek per type on the `events_by_type` index."""
        listed = orjson.dumps(sorted(set(types))).decode()
        row = self.conn.execute(
            "SELECT max(p) FROM (SELECT (SELECT max(e.position) FROM events e"
            " WHERE e.type = j.value AND e.position <= ?) AS p FROM json_each(?) j)",
            (at, listed),
        ).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def latest_in_streams(
        self, stream_type: str, stream_ids: Iterable[object], at: int
    ) -> list[RecordedEvent]:
        """The newest event at or before position `at` of each of these streams that had
        one by then, in position order: one seek per stream on its (stream, version) key."""
        ids = sorted({str(i) for i in stream_ids})
        positions: list[int] = []
        for start in range(0, len(ids), _POSITION_CHUNK):
            chunk = orjson.dumps(ids[start : start + _POSITION_CHUNK]).decode()
            positions.extend(
                int(r[0])
                for r in self.conn.execute(
                    "SELECT (SELECT max(e.position) FROM events e WHERE e.stream_type = ?"
                    " AND e.stream_id = j.value AND e.position <= ?) AS p"
                    " FROM json_each(?) j WHERE p IS NOT NULL",
                    (stream_type, at, chunk),
                )
            )
        return self.events_at(positions)

    def recorded_at(self, position: int) -> str | None:
        """When the event at `position` was appended, None when there is none."""
        row = self.conn.execute(
            "SELECT recorded_at FROM events WHERE position = ?", (position,)
        ).fetchone()
        return None if row is None else str(row[0])

    def position_at(self, moment: datetime) -> int:
        """The last position recorded at or before `moment` (an aware datetime); 0 when the
        first event is later.

        `recorded_at` never goes back as positions rise (`append_many`), so this is a
        binary search on the log's key: about twenty reads for a million events.
        """
        low, high = 0, self.head()
        while low < high:
            middle = (low + high + 1) // 2
            text = self.recorded_at(middle)
            if text is not None and parse_recorded_at(text) <= moment:
                low = middle
            else:
                high = middle - 1
        return low

    def _decode(self, row: tuple[Any, ...]) -> RecordedEvent:
        schema_version, data = self._upcasters.upcast(row[5], row[6], orjson.loads(row[7]))
        return RecordedEvent(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            schema_version,
            data,
            orjson.loads(row[8]),
            row[9],
            row[10],
        )
