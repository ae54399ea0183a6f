"""The `subscriber_checkpoints` table: where each after-commit subscriber is in the log.

A row names its subscriber (`webhook:3`), the last position it handled (delivered, or
not wanted by it), how many attempts at the next event have failed so far (a delivery cut
short by its time budget goes on counting at the next run), and whether it is paused on
a dead letter. Projections keep their checkpoints in `checkpoints` instead: theirs moves
in the same transaction as their tables.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from cqrs_cli.store.files import Store
from cqrs_cli.store.log import utc_now_iso

RUNNING, PAUSED = "running", "paused"
_COLUMNS = "subscriber, position, state, failures, error, error_position, updated_at"


@dataclass(frozen=True)
class SubscriberCheckpoint:
    subscriber: str
    position: int
    state: str  # running / paused
    failures: int  # failed attempts at the event after `position`
    error: str | None
    error_position: int | None  # the event the last failure was about
    updated_at: str

    @property
    def paused(self) -> bool:
        return self.state == PAUSED


class SubscriberCheckpoints:
    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, subscriber: str) -> SubscriberCheckpoint | None:
        row = self.store.conn.execute(
            f"SELECT {_COLUMNS} FROM subscriber_checkpoints WHERE subscriber = ?", (subscriber,)
        ).fetchone()
        return SubscriberCheckpoint(*row) if row else None

    def all(self) -> dict[str, SubscriberCheckpoint]:
        rows = self.store.conn.execute(f"SELECT {_COLUMNS} FROM subscriber_checkpoints")
        return {row[0]: SubscriberCheckpoint(*row) for row in rows}

    def start(self, conn: sqlite3.Connection, subscriber: str, position: int) -> None:
        """A new subscriber, starting after `position` (inside the caller's transaction)."""
        conn.execute(
            "INSERT INTO subscriber_checkpoints (subscriber, position, updated_at)"
            " VALUES (?, ?, ?)",
            (subscriber, position, utc_now_iso()),
        )

    def advance(self, subscriber: str, position: int) -> None:
        """Everything up to `position` is handled: failures and error are forgotten."""
        self._update(
            subscriber,
            "position = max(position, ?), failures = 0, error = NULL, error_position = NULL",
            position,
        )

    def failing(self, subscriber: str, position: int, failures: int, error: str, at: int) -> None:
        """Handled up to `position`; the event at `at` failed `failures` times so far."""
        self._update(
            subscriber,
            "position = max(position, ?), failures = ?, error = ?, error_position = ?",
            position,
            failures,
            error,
            at,
        )

    def pause(self, subscriber: str, position: int, error: str, at: int) -> None:
        """Stop at the event `at` (now a dead letter) until it is retried."""
        self._update(
            subscriber,
            "position = max(position, ?), state = 'paused', failures = 0, error = ?,"
            " error_position = ?",
            position,
            error,
            at,
        )

    def resume(self, subscriber: str) -> None:
        self._update(subscriber, "state = 'running', failures = 0")

    def remove(self, conn: sqlite3.Connection, subscriber: str) -> None:
        conn.execute("DELETE FROM subscriber_checkpoints WHERE subscriber = ?", (subscriber,))

    def _update(self, subscriber: str, assignments: str, *params: object) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                f"UPDATE subscriber_checkpoints SET {assignments}, updated_at = ?"
                " WHERE subscriber = ?",
                (*params, utc_now_iso(), subscriber),
            )
