"""Opening the file: the checks that keep a foreign or newer file untouched."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

from cqrs_cli.domain.errors import CqrsError

# PRAGMA application_id marks a file as ours ("cqrs" in ASCII), so we never write
# migrations into somebody else's SQLite database.
APPLICATION_ID = 0x63717273
SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 10_000
CACHE_KB = 32_768


class StoreError(CqrsError):
    """The file cannot be used as a cqrs store."""


def _check_path(path: Path, *, create: bool) -> bool:
    """Validate the path; return True when the file does not exist yet."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise StoreError(f"directory {parent} does not exist (for --db {path})")
    if path.is_dir():
        raise StoreError(f"{path} is a directory, not a database file")
    if not path.exists():
        if not create:
            raise StoreError(
                f"no database at {path}; run `cqrs --db {path} migrate` (or a sync) first"
            )
        if not os.access(parent, os.W_OK):
            raise StoreError(f"cannot create {path}: directory {parent} is not writable")
        return True
    if not os.access(path, os.R_OK):
        raise StoreError(f"cannot read {path}: permission denied")
    # The header is checked by SQLite itself (`_check_ours`), never by opening the file
    # here: closing any descriptor of the file drops every POSIX lock this process holds
    # on it, those of its open connections too. A writer elsewhere then takes itself for
    # the last user, deletes the -wal and unlinks the -shm, and a connection still open
    # here keeps reading the old state forever (sqlite.org/howtocorrupt.html, 2.2).
    return False


def can_write(path: Path) -> bool:
    """Can this process write `path` in place: the file, and beside it SQLite's -wal/-shm?"""
    parent = path.parent if str(path.parent) else Path(".")
    return os.access(path, os.W_OK) and os.access(parent, os.W_OK)


def read_only_uri(path: Path) -> str:
    """The URI that opens `path` for reading only, wherever it lies.

    `mode=ro`: SQLite refuses every write on the connection, so a query cannot change the
    file. A WAL file also needs its -shm (and -wal) beside it: SQLite reuses them, or
    creates them (empty) when the directory lets it; they never change the file itself,
    and the next writer reuses them. In a directory this process cannot write, with no
    -wal there, SQLite can create neither, and only `immutable=1` opens the file: safe
    here, because without a -wal nobody is writing it, and in that directory no writer
    of this account can start one. With a -wal there (a writer is at work, or one left
    committed pages in it), `immutable=1` would miss those pages, so `mode=ro` it is.
    """
    target = quote(str(path.resolve()))
    parent = path.parent if str(path.parent) else Path(".")
    wal = Path(f"{path}-wal")
    if os.access(parent, os.W_OK) or wal.exists():
        return f"file:{target}?mode=ro"
    return f"file:{target}?mode=ro&immutable=1"


def _sqlite_header(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(16) == SQLITE_HEADER


def _create_private(path: Path) -> None:
    # CRM data is private: the file (and, through SQLite, its -wal/-shm) get mode 0600.
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)


def connect(path: Path, *, create: bool = False, write: bool = False) -> sqlite3.Connection:
    """Open a cqrs file. Raises StoreError, leaving the file as it was, when it is not usable.

    The connection is in autocommit mode: writers open their own `BEGIN IMMEDIATE`. A
    reader's connection is read-only (`read_only_uri`): reads never write.
    """
    is_new = _check_path(path, create=create)
    if not is_new and (write or create) and not os.access(path, os.W_OK):
        raise StoreError(f"cannot write {path}: permission denied")
    if is_new:
        _create_private(path)
    try:
        if write or create:
            conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        else:
            conn = sqlite3.connect(
                read_only_uri(path), uri=True, isolation_level=None, check_same_thread=False
            )
        _check_ours(conn, path)
    except sqlite3.DatabaseError as exc:
        # Only now, when SQLite has refused the file, is it read here: a file no
        # connection could open has no locks to lose.
        if "file is not a database" in str(exc) and not _sqlite_header(path):
            raise StoreError(f"{path} is not a SQLite database") from None
        raise StoreError(f"{path} is not a usable SQLite database ({exc})") from exc
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    # The views declare foreign keys (opportunity_view.user_id → user_profiles, ...) so that
    # Datasette and sqlite-utils link them; SQLite must never enforce them. Each view
    # follows the log at its own pace (one may be paused or rebuilt alone), a user
    # profile is rewritten in place, and an opportunity may name a user the sync never
    # saw: enforced, any of these would fail (docs/architecture.md, "Foreign keys").
    conn.execute("PRAGMA foreign_keys = OFF")
    if write or create:
        conn.execute("PRAGMA journal_mode = WAL")
        # FULL: every COMMIT syncs the WAL to disk before it returns, so a sync that said
        # it committed survives a power loss too (NORMAL would only sync at checkpoints
        # and could lose the last commits). Measured cost: docs/operations.md.
        conn.execute("PRAGMA synchronous = FULL")
    return conn


def _check_ours(conn: sqlite3.Connection, path: Path) -> None:
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    if app_id == APPLICATION_ID:
        return
    tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if app_id != 0 or tables:
        conn.close()
        raise StoreError(f"{path} is a SQLite database but not a cqrs file; refusing to touch it")


def roomy_cache(conn: sqlite3.Connection) -> None:
    """A page cache that holds a large view (a setting of the connection, not a write)."""
    # A replay touches the view tables all over, and so does a query joining 2,000 access
    # rows to their opportunities; SQLite's default 2 MB page cache makes both re-read
    # pages from the OS. 32 MB keeps a 100k-opportunity view hot.
    conn.execute(f"PRAGMA cache_size = -{CACHE_KB}")
