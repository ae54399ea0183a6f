"""`cqrs migrate`: create or upgrade the file; `--status` lists applied and pending.

`cqrs migrate legacy` imports the old MongoDB app's exports (docs/legacy.md).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cqrs_cli.cli.context import (
    SUMMARY_FORMAT_HELP,
    Format,
    check_summary_format,
    emit_summary,
    info,
    open_for,
    paused,
    prepared,
    state,
)
from cqrs_cli.cli.output import emit_rows
from cqrs_cli.cli.terminal import say
from cqrs_cli.store.db import connect
from cqrs_cli.store.migrations import LATEST, check_not_newer, status

# The legacy importer (pydantic, the sync engine) loads only when `migrate legacy` runs.
if TYPE_CHECKING:
    from cqrs_cli.app.legacy_import import LegacyOutcome

app = typer.Typer(help="Create or upgrade the file's schema.")


@app.callback(invoke_without_command=True)
def run(
    ctx: typer.Context,
    show_status: Annotated[
        bool, typer.Option("--status", help="List applied and pending migrations, change nothing.")
    ] = False,
    fmt: Format = None,
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
    from cqrs_cli.app.legacy_import import import_legacy, require_counts
    from cqrs_cli.legacy.parse import load_legacy

    fmt = check_summary_format(fmt)
    db = state(ctx).db
    loaded = load_legacy(data, users)
    # Listed even with --quiet: each one is data that is not imported as it stands.
    for problem in loaded.problems:
        say(f"Problem: {problem}")
    try:
        outcome = import_legacy(
            db,
            loaded,
            dry_run=dry_run,
            skip_problems=skip_problems,
            allow_deletions=allow_deletions,
        )
    except BaseException as exc:
        for note in getattr(exc, "__notes__", ()):  # where the file as it was is kept
            info(ctx, note)
        raise
    if dry_run:
        info(ctx, f"Dry run: {db} was not written.")
    elif outcome.backup is not None:
        info(ctx, f"Backed up {db} to {outcome.backup}")
    else:
        info(ctx, f"No backup: {db} does not exist yet (it is created).")
    prepared(ctx, outcome.migrated)
    paused(ctx, outcome.paused)
    _report(ctx, outcome, fmt)
    for view in outcome.lagging:
        info(ctx, f"Warning: {view} (see `cqrs status`)")
    require_counts(list(outcome.checks))


def _report(ctx: typer.Context, outcome: LegacyOutcome, fmt: str | None) -> None:
    from cqrs_cli.cli.commands.sync import invalid_line

    summary = outcome.summary
    dry_run = summary.dry_run
    rows = [
        {
            "model": c.model,
            "input": c.input,
            "created": c.created,
            "updated": c.updated,
            "deleted": c.deleted,
            "unchanged": c.unchanged,
            "invalid": c.invalid,
        }
        for c in summary.counts
    ]
    title = "legacy import" + (" (dry run: nothing written)" if dry_run else "")
    emit_summary(ctx, rows, LEGACY_COLUMNS, fmt, title=title, json_value=summary)
    would = "Would append" if dry_run else "Appended"
    for bad in summary.invalid:
        info(ctx, f"Invalid record skipped: {invalid_line(bad)}")
    for warning in summary.warnings:
        info(ctx, f"Warning: {warning}")
    for line in summary.filled:
        info(ctx, f"Filled from the users export: {line}")
    if outcome.deleted:
        # A legacy export is a complete snapshot: what the file holds beyond it goes.
        info(
            ctx,
            f"Warning: {outcome.deleted} records in the file but not in the export "
            f"{'would be' if dry_run else 'were'} marked deleted.",
        )
    if summary.events_appended:
        info(ctx, f"{would} {summary.events_appended} events.")
    else:
        info(
            ctx,
            f"No change: 0 events {'would be ' if dry_run else ''}appended "
            "(the file already holds everything in the export).",
        )
    for check in summary.checks:
        mark = "ok" if check.ok else "MISMATCH"
        info(
            ctx,
            f"Check {check.name}: {check.expected} in the input, "
            f"{check.actual} in the file: {mark}",
        )
    sys.stdout.flush()
