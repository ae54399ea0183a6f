"""Importing the old MongoDB app's exports (`cqrs migrate legacy`): the steps around the sync.

The exports are read by `legacy.parse.load_legacy` into an Odoo snapshot; `import_legacy`
decides whether its problems stop the import, backs the file up, runs the ordinary sync
from that snapshot (metadata `source: legacy`, `synthetic: true`) with what follows every
sync (`app.sync.after_commit`), and checks the file's views against the figures of the
input. A dry run is the same call with `dry_run=True`: all of it on a scratch copy of
the file, so what it reports is what the import would do, not an estimate.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cqrs_cli.app.validation import Check
from cqrs_cli.domain.errors import EXIT_CHECK_FAILED, CqrsError
from cqrs_cli.domain.numbers import counted
from cqrs_cli.legacy.parse import LegacyImport
from cqrs_cli.legacy.source import SOURCE_NAME, LegacySource
from cqrs_cli.projections.readiness import CURRENT, status
from cqrs_cli.sources.snapshot import RECORD_MODELS
from cqrs_cli.store.backup import copy_database
from cqrs_cli.store.db import StoreError, connect
from cqrs_cli.store.files import Store, open_store
from cqrs_cli.store.log import EventLog
from cqrs_cli.store.migrations import check_not_newer
from cqrs_cli.store.sync_state import first_other_source
from cqrs_cli.sync import DeletionLimit, Invalid, SyncResult, run_sync

SKIP_FLAG = "--skip-problems"
BACKUP_STAMP = "%Y%m%dT%H%M%SZ"


def refuse_problems(loaded: LegacyImport, *, skip: bool) -> None:
    """Problems stop the import unless the caller chose to import the rest; an input with
    no Odoo record at all stops it too (checked here, before anything is written, rather
    than by the snapshot source once the file is backed up and open)."""
    if loaded.problems and not skip:
        count = len(loaded.problems)
        raise CqrsError(
            f"{counted(count, 'problem')} in the input (listed above); "
            f"nothing imported. Fix the export, or import the rest with {SKIP_FLAG}"
        )
    if not any(model in loaded.snapshot for model in RECORD_MODELS):
        raise CqrsError(
            "nothing to import: the input holds no Odoo record (users, employees, teams, "
            "stages, accounts or opportunities)"
            + (" once its problems are left out" if loaded.problems else "")
        )


def check_existing(db: Path) -> bool:
    """Whether `db` exists; an existing file must be a cqrs file this version can read,
    holding no sync but legacy imports.

    Checked before anything is written, so a foreign or newer file, or one already synced
    from Odoo, gets no backup and no scratch copy, only the usual one-line error.
    """
    if not db.exists():
        return False
    conn = connect(db)
    try:
        check_not_newer(conn, db)
        refuse_synced(conn, db)
    finally:
        conn.close()
    return True


def refuse_synced(conn: sqlite3.Connection, db: Path) -> None:
    """A legacy export is older than what a real sync wrote: importing it over that would
    revert records to their legacy content and mark the ones it lacks deleted, and later
    incremental syncs would not repair them (nothing changed in Odoo since)."""
    source = synced_from(conn)
    if source is not None:
        raise CqrsError(
            f"{db} already holds a sync from {source}: a legacy import would revert it to "
            "the older legacy data. Import into a fresh file first (cqrs --db NEW.db "
            "migrate legacy ...), then sync that file"
        )


def synced_from(conn: sqlite3.Connection) -> str | None:
    """The source of a sync other than a legacy import recorded in the file, if any."""
    tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    found = first_other_source(conn, SOURCE_NAME) if "sync_runs" in tables else None
    if found is None and "events" in tables:
        found = EventLog(conn).other_source(SOURCE_NAME)
    return found


def backup_path(db: Path, now: datetime) -> Path:
    """`<db>.bak-<UTC timestamp>`, with `-2`, `-3`... when that name is taken."""
    base = db.with_name(f"{db.name}.bak-{now.astimezone(UTC).strftime(BACKUP_STAMP)}")
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def backup(db: Path, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Path:
    """Back `db` up next to itself; return the backup's path."""
    dest = backup_path(db, clock())
    try:
        copy_database(db, dest)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot back up {db} to {dest}: {exc}") from exc
    except OSError as exc:
        raise StoreError(f"cannot back up {db} to {dest}: {exc.strerror or exc}") from exc
    return dest


def import_into(store: Store, loaded: LegacyImport, *, allow_deletions: bool = False) -> SyncResult:
    """The sync a `cqrs sync` from the same snapshot would run, under the name `legacy`.

    Refused on a file that already holds a real sync (see `refuse_synced`)."""
    refuse_synced(store.conn, store.path)
    source = LegacySource(loaded)
    try:
        return run_sync(store, source, full=True, deletions=DeletionLimit(allowed=allow_deletions))
    finally:
        source.close()


def view_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Internal users (active and archived) and opportunities (open, won, lost) in the views."""
    return {"users": _rows(conn, "user_profiles"), "opportunities": _rows(conn, "opportunity_view")}


def _rows(conn: sqlite3.Connection, table: str) -> int:
    # A projection paused before its first event never created its table: it shows nothing.
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]) if exists else 0


def count_checks(conn: sqlite3.Connection, loaded: LegacyImport) -> list[Check]:
    """The input's figures against the views (the caller has caught them up)."""
    got = view_counts(conn)
    return [
        _check(
            "users",
            loaded.internal_users,
            got["users"],
            "internal users (share false, not OdooBot) in the input; rows of user_profiles",
        ),
        _check(
            "opportunities",
            loaded.opportunities,
            got["opportunities"],
            "crm.lead of type opportunity in the input; rows of opportunity_view",
        ),
    ]


def lagging_views(store: Store) -> list[str]:
    """Views not at the head of the log after a catch-up (paused, rebuild needed): the
    likely reason when a count check fails."""
    _, views = status(store)
    return [
        f"view {v.name} is {v.state.replace('_', ' ')}" + (f": {v.error}" if v.error else "")
        for v in views
        if v.state != CURRENT
    ]


def _check(name: str, expected: int, actual: int, detail: str) -> Check:
    return Check(name, expected == actual, expected, actual, detail)


def require_counts(checks: list[Check]) -> None:
    failed = [c for c in checks if not c.ok]
    if failed:
        figures = "; ".join(
            f"{c.name}: {c.expected} in the input, {c.actual} in the file" for c in failed
        )
        raise CqrsError(f"counts differ after the import: {figures}", exit_code=EXIT_CHECK_FAILED)


@dataclass(frozen=True, slots=True)
class ModelFigures:
    model: str
    input: int  # records of the model in the input
    created: int
    updated: int
    deleted: int
    unchanged: int
    invalid: int


@dataclass(frozen=True, slots=True)
class InputProblem:
    file: str
    line: int | None
    reason: str
    excerpt: str


@dataclass(frozen=True, slots=True)
class LegacySummary:
    """`cqrs migrate legacy --format json`."""

    dry_run: bool
    source: str
    sync_run_id: str | None  # None for a dry run: its run was on a scratch copy
    backup: str | None
    events_appended: int
    counts: tuple[ModelFigures, ...]
    opportunities: int
    leads: int
    superseded: int
    filled: tuple[str, ...]
    problems: tuple[InputProblem, ...]
    checks: tuple[Check, ...]
    invalid: tuple[Invalid, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class LegacyOutcome:
    summary: LegacySummary
    existed: bool  # the file was there before (and was backed up, unless a dry run)
    backup: Path | None
    deleted: int  # records of the file the export lacks, marked deleted
    paused: dict[str, str]  # views the catch-up paused -> the error
    lagging: tuple[str, ...]  # views not current after the import: why a check may fail
    migrated: tuple[str, ...] = ()  # migrations applied to the file first

    @property
    def checks(self) -> tuple[Check, ...]:
        return self.summary.checks


def import_legacy(
    db: Path,
    loaded: LegacyImport,
    *,
    dry_run: bool = False,
    skip_problems: bool = False,
    allow_deletions: bool = False,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> LegacyOutcome:
    """Import `loaded` into `db` as a `legacy` sync, or with `dry_run`, into a scratch copy
    of it that is thrown away (`db` itself is then only read, through the backup API).

    Refused before anything is written when the input has problems (unless
    `skip_problems`) or no record, or when `db` is not a file a legacy import may go into
    (`check_existing`). An existing file is backed up first; when the import fails after
    that, the exception carries notes naming the backup. The count checks are data in
    the outcome: `require_counts` turns a mismatch into an error once they are shown.
    """
    refuse_problems(loaded, skip=skip_problems)
    existed = check_existing(db)
    if dry_run:
        with tempfile.TemporaryDirectory(prefix="cqrs-legacy-") as tmp:
            scratch = Path(tmp) / "dry-run.db"
            if existed:
                copy_database(db, scratch)
            result, paused, checks, lagging, _ = _import(scratch, loaded, allow_deletions)
        return _outcome(loaded, result, paused, checks, lagging, existed, None, dry_run=True)
    saved = backup(db, clock=clock) if existed else None
    try:
        result, paused, checks, lagging, migrated = _import(db, loaded, allow_deletions)
    except BaseException as exc:
        if saved is not None:
            exc.add_note(f"Backed up {db} to {saved}")
            exc.add_note(f"The file as it was before the import is in {saved}")
        raise
    outcome = _outcome(loaded, result, paused, checks, lagging, existed, saved, dry_run=False)
    return dataclasses.replace(outcome, migrated=migrated)


def _import(
    db: Path, loaded: LegacyImport, allow_deletions: bool
) -> tuple[SyncResult, dict[str, str], list[Check], list[str], tuple[str, ...]]:
    from cqrs_cli.app.sync import after_commit

    with open_store(db, write=True) as store:
        migrated = tuple(m.name for m in store.migrated)
        result = import_into(store, loaded, allow_deletions=allow_deletions)
        paused = after_commit(store, result)  # catches the views up
        checks = count_checks(store.conn, loaded)
        return result, paused, checks, lagging_views(store), migrated


def _outcome(
    loaded: LegacyImport,
    result: SyncResult,
    paused: dict[str, str],
    checks: list[Check],
    lagging: list[str],
    existed: bool,
    saved: Path | None,
    *,
    dry_run: bool,
) -> LegacyOutcome:
    summary = LegacySummary(
        dry_run,
        result.source,
        None if dry_run else result.run_id,
        None if saved is None else str(saved),
        result.events_appended,
        tuple(
            ModelFigures(m, loaded.counts.get(m, 0), **dataclasses.asdict(c))
            for m, c in result.counts.items()
        ),
        loaded.opportunities,
        loaded.leads,
        loaded.superseded,
        tuple(loaded.filled),
        tuple(InputProblem(p.file, p.line, p.reason, p.excerpt) for p in loaded.problems),
        tuple(checks),
        tuple(result.invalid),
        tuple(result.warnings),
    )
    return LegacyOutcome(summary, existed, saved, deleted_total(result), paused, tuple(lagging))


def deleted_total(result: SyncResult) -> int:
    return sum(c.deleted for c in result.counts.values())
