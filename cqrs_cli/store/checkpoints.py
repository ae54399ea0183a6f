"""The `checkpoints` table: how far each view has applied the log. This module owns it:
no other module reads or writes the table.

A view's checkpoint moves in the same transaction as the rows the view wrote for those
events (docs/architecture.md: How projections checkpoint and rebuild), so a crash never
applies an event twice or skips one. A paused view keeps its position and says which
event stopped it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from cqrs_cli.store.log import utc_now_iso

RUNNING, PAUSED = "running", "paused"


@dataclass
class Checkpoint:
    name: str
    position: int = 0
    version: int | None = None  # None: never run
    status: str = RUNNING
    error: str | None = None
    error_position: int | None = None


def load_checkpoint(conn: sqlite3.Connection, name: str) -> Checkpoint:
    """The view's checkpoint; a fresh one (position 0, never run) when it has none."""
    row = conn.execute(
        "SELECT position, version, status, error, error_position FROM checkpoints "
        "WHERE projection = ?",
        (name,),
    ).fetchone()
    if row is None:
        return Checkpoint(name)
    return Checkpoint(name, row[0], row[1], row[2], row[3], row[4])


def save_checkpoint(conn: sqlite3.Connection, cp: Checkpoint) -> None:
    """Write `cp` (inside the caller's transaction, with the view's rows)."""
    conn.execute(
        "INSERT INTO checkpoints (projection, position, version, status, error, error_position,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (projection) DO UPDATE SET "
        "position = excluded.position, version = excluded.version, status = excluded.status,"
        " error = excluded.error, error_position = excluded.error_position,"
        " updated_at = excluded.updated_at",
        (cp.name, cp.position, cp.version, cp.status, cp.error, cp.error_position, utc_now_iso()),
    )


def beyond(conn: sqlite3.Connection, position: int) -> list[tuple[str, int]]:
    """(view, position) of every checkpoint past `position`, by view name: views that
    applied events a log ending at `position` no longer holds."""
    return [
        (str(name), int(at))
        for name, at in conn.execute(
            "SELECT projection, position FROM checkpoints WHERE position > ? ORDER BY projection",
            (position,),
        )
    ]
