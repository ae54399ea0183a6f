"""`cqrs backup PATH`: a consistent, verified copy of a live file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cqrs_cli.cli.context import state
from cqrs_cli.cli.terminal import out
from cqrs_cli.domain.errors import EXIT_CHECK_FAILED, CqrsError
from cqrs_cli.store.backup import backup


def run(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="The new file to write (never overwritten).")],
) -> None:
    """Copy the file with SQLite's online backup API (safe while a sync writes), mode 0600,
    then check the copy: SQLite's integrity check and the hash chain (exit 3 when it fails)."""
    report = backup(state(ctx).db, path)
    if not report.ok:
        raise CqrsError(
            f"the copy at {path} fails verification (so does the file it was taken from): "
            + "; ".join(report.problems),
            exit_code=EXIT_CHECK_FAILED,
        )
    out(
        f"OK: backed up to {path}: {report.events} events, hash chain intact, file sound; "
        f"head {report.head}"
    )
