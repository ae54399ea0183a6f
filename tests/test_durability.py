"""A commit that returned survives a power loss (docs/operations.md: Crashes and power loss).

In WAL mode, `synchronous = NORMAL` syncs the WAL only at checkpoints: a power loss can
drop the last commits even though the sync said it had written them. Writers run FULL,
which syncs the WAL at every commit. A power cut cannot be simulated in a test, so this
pins the setting every writer gets.
"""

from __future__ import annotations

from pathlib import Path

from cqrs_cli.sources import demo_source
from cqrs_cli.store.files import open_store
from cqrs_cli.sync import run_sync

FULL = 2  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA


def test_writers_sync_the_wal_at_every_commit(tmp_path: Path) -> None:
    db = tmp_path / "cqrs.db"
    with open_store(db, write=True) as store:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.conn.execute("PRAGMA synchronous").fetchone()[0] == FULL
        run_sync(store, demo_source())
    with open_store(db, write=True) as again:  # an existing file, opened to write again
        assert again.conn.execute("PRAGMA synchronous").fetchone()[0] == FULL
