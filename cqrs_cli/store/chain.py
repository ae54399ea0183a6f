"""The hash chain that makes the log tamper-evident.

Canonical form of an event (what its `hash` covers), fields joined by U+001E:

    prev_hash, position, event_id, stream_type, stream_id, version, type,
    schema_version, data, metadata, recorded_at

where `prev_hash` is the previous row's hash (64 zeros before the first event), numbers are
decimal, and `data` / `metadata` are the stored JSON text, which the log writes
canonically: keys sorted, no whitespace, UTF-8 unescaped (orjson with OPT_SORT_KEYS; the
same text as `json.dumps(value, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)` for the values events hold).
`hash = sha256(canonical form as UTF-8)` in lowercase hex. Hashing the stored text (not a
re-serialization) means any byte changed in a row, a row removed or rows reordered breaks
the chain at that position. Removing the newest rows is not detectable by the chain alone.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from typing import Any

import orjson

GENESIS = "0" * 64
SEP = "\x1e"


_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def canonical_json(value: Any) -> str:
    # orjson: serializing the payload was most of an append's cost with the json module.
    return orjson.dumps(value, option=_CANONICAL).decode()


def event_hash(
    prev_hash: str,
    position: int,
    event_id: str,
    stream_type: str,
    stream_id: str,
    version: int,
    type_: str,
    schema_version: int,
    data: str,
    metadata: str,
    recorded_at: str,
) -> str:
    text = SEP.join(
        (
            prev_hash,
            str(position),
            event_id,
            stream_type,
            stream_id,
            str(version),
            type_,
            str(schema_version),
            data,
            metadata,
            recorded_at,
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    count: int
    bad_position: int | None = None
    reason: str | None = None


def verify_chain(conn: sqlite3.Connection, page_size: int = 5000) -> ChainReport:
    """Recompute every hash in position order, in constant memory."""
    cursor = conn.execute(
        "SELECT position, event_id, stream_type, stream_id, version, type, schema_version,"
        " data, metadata, recorded_at, hash FROM events ORDER BY position"
    )
    prev_hash, expected_position, count = GENESIS, 1, 0
    while rows := cursor.fetchmany(page_size):
        for row in rows:
            position = row[0]
            if position != expected_position:
                return ChainReport(
                    False,
                    count,
                    expected_position,
                    f"position {expected_position} is missing (next is {position})",
                )
            if event_hash(prev_hash, *row[:10]) != row[10]:
                return ChainReport(False, count, position, "hash does not match the content")
            prev_hash, expected_position, count = row[10], position + 1, count + 1
    return ChainReport(True, count)
