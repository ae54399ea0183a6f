"""`cqrs migrate`: create or upgrade the file; `--status` lists applied and pending.

`cqrs migrate legacy` imports the old MongoDB app's exports (docs/legacy.md).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cqrs_cli.cli.context import (
    FORMAT_HELP,
    SUMMARY_FORMAT_HELP,
    check_summary_format,
    emit_summary,
    info,
    open_for,
    state,
)
from cqrs_cli.cli.output import emit_rows
from cqrs_cli.cli.terminal import say
from cqrs_cli.store.db import connect
from cqrs_cli.store.migrations import LATEST, check_not_newer, status

# The legacy importer (pydantic, the sync engine) loads only when `migrate legacy` runs.
if TYPE_CHECKING:
    from cqrs_cli.app.validation import Check
    from cqrs_cli.legacy.parse import LegacyImport
    from cqrs_cli.sync import SyncResult

app = typer.Typer(help="Create or upgrade the file's schema.")


@app.callback(invoke_without_command=True)
def run(
    ctx: typer.Context,
    show_status: Annotated[
        bool, typer.Option("--status", help="List applied and pending migrations, change nothing.")
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "table",
) -> None:
    """Create the file or apply pending migrations (idempotent)."""
    if ctx.invoked_subcommand is not None:
        return
    path = state(ctx).db
    if show_status:
        conn = connect(path)
        try:
            check_not_newer(conn, path)
            rows = [
                {
                    "number": m.number,
                    "name": m.name,
                    "state": "applied" if at else "pending",
                    "applied_at": at,
                }
                for m, at in status(conn)
            ]
        finally:
            conn.close()
        emit_rows(rows, ["number", "name", "state", "applied_at"], fmt)
        return
    with open_for(ctx, write=True) as store:
        if not store.migrated:
            info(ctx, f"{path} is up to date (schema {LATEST})")


LEGACY_COLUMNS = ["model", "input", "created", "updated", "deleted", "unchanged", "invalid"]


@app.command("legacy")
def legacy(
    ctx: typer.Context,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="The data_lake_serving export (mongoexport JSON Lines or "
            "array): one Odoo record per document.",
        ),
    ] = None,
    users: Annotated[
        Path | None,
        typer.Option(
            "--users",
            help="The app's users export: fills users, employees, "
            "managers and groups the data lake lacks.",
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Run the import on a scratch copy and report it; the file is not written.",
        ),
    ] = False,
    skip_problems: Annotated[
        bool,
        typer.Option(
            "--skip-problems",
            help="Import the rest when documents have problems "
            "(still listed); by default any problem aborts.",
        ),
    ] = False,
    allow_deletions: Annotated[
        bool,
        typer.Option(
            "--allow-deletions",
            help="Go ahead when the import would delete more than 10 records and more than "
            "20 % of a model already in the file (records missing from the export).",
        ),
    ] = False,
    fmt: Annotated[str | None, typer.Option("--format", help=SUMMARY_FORMAT_HELP)] = None,
) -> None:
    """Import the old MongoDB app's mongoexport files as a `legacy` sync (docs/legacy.md).

    Writes the Odoo...Created events a sync would (metadata source legacy, synthetic),
    after backing the file up to DB.bak-YYYYmmddTHHMMSSZ; catches the views up and checks
    their users and opportunities against the input (exit 3 when they differ). Any
    problem in the input aborts, unless --skip-problems. Importing again adds nothing.
    """
    from cqrs_cli.app import legacy_import as li
    from cqrs_cli.cli.commands.sync import after_sync
    from cqrs_cli.legacy.parse import load_legacy

    fmt = check_summary_format(fmt)
    db = state(ctx).db
    loaded = load_legacy(data, users)
    # Listed even with --quiet: each one is data that is not imported as it stands.
    for problem in loaded.problems:
        say(f"Problem: {problem}")
    li.refuse_problems(loaded, skip=skip_problems)
    backup: Path | None = None
    if dry_run:
        result, checks, lagging = li.dry_run(db, loaded, allow_deletions=allow_deletions)
        info(ctx, f"Dry run: {db} was not written.")
    else:
        if li.check_existing(db):
            backup = li.backup(db)
            info(ctx, f"Backed up {db} to {backup}")
        else:
            info(ctx, f"No backup: {db} does not exist yet (it is created).")
        try:
            with open_for(ctx, write=True) as store:
                result = li.import_into(store, loaded, allow_deletions=allow_deletions)
                after_sync(ctx, store, result)  # catches the views up
                checks = li.count_checks(store.conn, loaded)
                lagging = li.lagging_views(store)
        except BaseException:
            if backup is not None:
                info(ctx, f"The file as it was before the import is in {backup}")
            raise
    _report(ctx, loaded, result, checks, backup, dry_run, fmt)
    for view in lagging:
        info(ctx, f"Warning: {view} (see `cqrs status`)")
    li.require_counts(checks)


def _report(
    ctx: typer.Context,
    loaded: LegacyImport,
    result: SyncResult,
    checks: list[Check],
    backup: Path | None,
    dry_run: bool,
    fmt: str | None,
) -> None:
    from cqrs_cli.app.legacy_import import deleted_total
    from cqrs_cli.cli.commands.sync import invalid_line

    rows = [
        {"model": m, "input": loaded.counts.get(m, 0), **vars(c)} for m, c in result.counts.items()
    ]
    value: dict[str, Any] = {
        "dry_run": dry_run,
        "source": result.source,
        "sync_run_id": None if dry_run else result.run_id,
        "backup": None if backup is None else str(backup),
        "events_appended": result.events_appended,
        "counts": rows,
        "opportunities": loaded.opportunities,
        "leads": loaded.leads,
        "superseded": loaded.superseded,
        "filled": loaded.filled,
        "problems": [
            {"file": p.file, "line": p.line, "reason": p.reason, "excerpt": p.excerpt}
            for p in loaded.problems
        ],
        "checks": [c.as_json() for c in checks],
        "invalid": [vars(i) for i in result.invalid],
        "warnings": result.warnings,
    }
    title = "legacy import" + (" (dry run: nothing written)" if dry_run else "")
    emit_summary(ctx, rows, LEGACY_COLUMNS, fmt, title=title, json_value=value)
    would = "Would append" if dry_run else "Appended"
    for bad in result.invalid:
        info(ctx, f"Invalid record skipped: {invalid_line(bad)}")
    for warning in result.warnings:
        info(ctx, f"Warning: {warning}")
    for line in loaded.filled:
        info(ctx, f"Filled from the users export: {line}")
    deleted = deleted_total(result)
    if deleted:
        # A legacy export is a complete snapshot: what the file holds beyond it goes.
        info(
            ctx,
            f"Warning: {deleted} records in the file but not in the export "
            f"{'would be' if dry_run else 'were'} marked deleted.",
        )
    if result.events_appended:
        info(ctx, f"{would} {result.events_appended} events.")
    else:
        info(
            ctx,
            f"No change: 0 events {'would be ' if dry_run else ''}appended "
            "(the file already holds everything in the export).",
        )
    for check in checks:
        mark = "ok" if check.ok else "MISMATCH"
        info(
            ctx,
            f"Check {check.name}: {check.expected} in the input, "
            f"{check.actual} in the file: {mark}",
        )
    sys.stdout.flush()
