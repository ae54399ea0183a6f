"""The `dead_letters` table: events a subscriber or a bus handler kept failing on, with
the error and the attempts. `handler` names who failed: an in-process handler's name, or
an after-commit subscriber's (`webhook:3`)."""

from __future__ import annotations

from dataclasses import dataclass

from cqrs_cli.store.files import Store
from cqrs_cli.store.log import RecordedEvent, utc_now_iso


@dataclass(frozen=True)
class DeadLetter:
    id: int
    handler: str
    position: int
    event_id: str
    event_type: str
    error: str
    attempts: int
    failed_at: str


class DeadLetters:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, handler: str, event: RecordedEvent, error: str, attempts: int) -> None:
        """Record a failure; a letter already there adds the attempts and keeps the last error."""
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO dead_letters (handler, position, event_id, event_type, error,"
                " attempts, failed_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (handler, event_id) DO UPDATE SET error = excluded.error,"
                " attempts = dead_letters.attempts + excluded.attempts,"
                " failed_at = excluded.failed_at",
                (
                    handler,
                    event.position,
                    event.event_id,
                    event.type,
                    error,
                    attempts,
                    utc_now_iso(),
                ),
            )

    def all(self) -> list[DeadLetter]:
        rows = self.store.conn.execute(
            "SELECT id, handler, position, event_id, event_type, error, attempts, failed_at"
            " FROM dead_letters ORDER BY id"
        ).fetchall()
        return [DeadLetter(*row) for row in rows]

    def of(self, handler: str) -> list[DeadLetter]:
        rows = self.store.conn.execute(
            "SELECT id, handler, position, event_id, event_type, error, attempts, failed_at"
            " FROM dead_letters WHERE handler = ? ORDER BY position",
            (handler,),
        ).fetchall()
        return [DeadLetter(*row) for row in rows]

    def remove(self, letter_id: int) -> None:
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM dead_letters WHERE id = ?", (letter_id,))

    def remove_handler(self, handler: str) -> int:
        """Remove every letter of `handler` (a removed webhook); return how many went."""
        with self.store.transaction() as conn:
            gone = conn.execute("DELETE FROM dead_letters WHERE handler = ?", (handler,))
            return int(gone.rowcount)

    def event(self, letter: DeadLetter) -> RecordedEvent | None:
        found = list(self.store.log.read_all(letter.position - 1, limit=1))
        if found and found[0].event_id == letter.event_id:
            return found[0]
        return None
