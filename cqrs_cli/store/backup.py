"""Consistent copies of a live file (`cqrs backup`, the legacy importer's safety copy).

Copying the bytes of a WAL database while a sync writes gives a malformed file more often
than not, and misses what is still in the `-wal`. SQLite's online backup API copies one
consistent state, WAL included, while writers go on.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from cqrs_cli.store.db import StoreError, connect
from cqrs_cli.store.health import FileReport, check_file


def copy_database(src: Path, dest: Path) -> None:
    """Copy the cqrs file `src` into the new file `dest` (mode 0600, never overwritten).

    The copy is switched to a rollback journal so it is one self-contained file. Raises
    FileExistsError when `dest` exists; a failed copy leaves no `dest` behind.
    """
    # CRM data is private: created 0600 before SQLite writes a byte into it.
    fd = os.open(dest, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    try:
        source = connect(src)
        try:
            target = sqlite3.connect(str(dest), isolation_level=None)
            try:
                source.backup(target)
                target.execute("PRAGMA journal_mode = DELETE")
            finally:
                target.close()
        finally:
            source.close()
    except BaseException:
        dest.unlink(missing_ok=True)
        raise


def backup(src: Path, dest: Path) -> FileReport:
    """Copy `src` to `dest` (see `copy_database`), then check the copy: SQLite's integrity
    check and the hash chain. Returns the copy's report; one-line errors as StoreError."""
    if dest.exists() or dest.is_symlink():
        raise StoreError(f"{dest} already exists; cqrs backup never overwrites a file")
    try:
        copy_database(src, dest)
    except FileExistsError:
        raise StoreError(f"{dest} already exists; cqrs backup never overwrites a file") from None
    except sqlite3.Error as exc:
        raise StoreError(f"cannot back up {src} to {dest}: {exc}") from exc
    except OSError as exc:
        raise StoreError(f"cannot back up {src} to {dest}: {exc.strerror or exc}") from exc
    copy = connect(dest)
    try:
        return check_file(copy)
    finally:
        copy.close()
