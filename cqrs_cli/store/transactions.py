"""Write transactions on one connection: the outermost is `BEGIN IMMEDIATE`, nested ones are
savepoints, and one lock keeps threads sharing the connection from interleaving them.

A nested call that fails rolls back only its own work (like sqlite-utils' `atomic()`), so a
caller can try a step inside a larger transaction and go on without it. Everything commits
when the outermost block ends.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Transactions:
    """The transaction state of one connection, shared by everything writing through it."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        # Reentrant: the thread holding a transaction may nest more; other threads wait for
        # the outermost block to end, so their statements never land inside it.
        self.lock = threading.RLock()
        self._depth = 0
        self._on_reset: list[Callable[[], None]] = []

    @property
    def depth(self) -> int:
        return self._depth

    def on_reset(self, callback: Callable[[], None]) -> None:
        """Call `callback` whenever written state may have been undone or committed (a
        rollback at any depth, the end of the outermost block): caches of what the
        transaction wrote (the log's tail) must be read again."""
        self._on_reset.append(callback)

    def _reset(self) -> None:
        for callback in self._on_reset:
            callback()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            if self._depth == 0:
                yield from self._outermost()
            else:
                yield from self._savepoint()

    def _outermost(self) -> Iterator[sqlite3.Connection]:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        else:
            try:
                conn.execute("COMMIT")
            except BaseException:
                # A failed COMMIT (disk full, I/O error) leaves the transaction open.
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        finally:
            self._depth = 0
            self._reset()

    def _savepoint(self) -> Iterator[sqlite3.Connection]:
        conn = self.conn
        name = f"cqrs_sp{self._depth}"
        conn.execute(f"SAVEPOINT {name}")
        self._depth += 1
        try:
            yield conn
        except BaseException:
            conn.execute(f"ROLLBACK TO {name}")
            conn.execute(f"RELEASE {name}")
            self._reset()
            raise
        else:
            conn.execute(f"RELEASE {name}")
        finally:
            self._depth -= 1
