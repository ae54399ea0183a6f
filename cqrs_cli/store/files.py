"""Opening a cqrs file for reading or writing, with its schema checked or brought up to date."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from cqrs_cli.store.db import StoreError, connect
from cqrs_cli.store.log import EventLog
from cqrs_cli.store.migrations import LATEST, Migration, check_not_newer, migrate
from cqrs_cli.store.transactions import Transactions


class NeedsMigration(StoreError):
    """A reader found the file at an older schema: only a writer may migrate it."""


@dataclass
class Store:
    path: Path
    conn: sqlite3.Connection
    log: EventLog
    migrated: list[Migration] = field(default_factory=list)  # applied while opening
    tx: Transactions | None = None  # set from `log` when not given

    def __post_init__(self) -> None:
        if self.tx is None:
            self.tx = self.log.transactions

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """One write transaction (`BEGIN IMMEDIATE`); nested calls are savepoints. Every
        write to the file goes through here: events, raw rows, checkpoints, views."""
        assert self.tx is not None
        return self.tx.transaction()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(path: Path, *, write: bool = False, create: bool | None = None) -> Store:
    """Open `path`. Writers migrate it as needed and create it unless `create` is False
    (a query may catch views up but has nothing to show in a new file); readers get a
    read-only connection and require the schema current (else NeedsMigration)."""
    conn = connect(path, create=write if create is None else create, write=write)
    try:
        version = check_not_newer(conn, path)
        applied: list[Migration] = []
        if version < LATEST:
            if not write:
                raise NeedsMigration(
                    f"{path} is at schema {version}, this cqrs needs {LATEST}; "
                    f"run `cqrs --db {path} migrate`"
                )
            applied = migrate(conn, path)
    except BaseException:
        conn.close()
        raise
    return Store(path, conn, EventLog(conn), applied)
