"""The synced demo file, built once per test run and copied for each test that needs one:
a `cqrs sync --demo` in a fresh process costs more than most of those tests."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from cqrs_cli.projections.runner import catch_up
from cqrs_cli.sources.snapshot import demo_source
from cqrs_cli.store.files import open_store
from cqrs_cli.sync import run_sync

_template: Path | None = None


def _build() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="cqrs-demo-"))
    atexit.register(shutil.rmtree, folder, True)
    path = folder / "cqrs.db"
    with open_store(path, write=True) as store:
        run_sync(store, demo_source())
        catch_up(store)
    return path  # closed: one self-contained file, no -wal to copy


def synced_copy(folder: Path) -> Path:
    """`folder/cqrs.db`: a private copy of the demo file as `cqrs sync --demo` leaves it."""
    global _template
    if _template is None:
        _template = _build()
    db = folder / "cqrs.db"
    shutil.copy2(_template, db)
    return db
