"""`cqrs migrate`: create or upgrade the file; `--status` lists applied and pending."""

from __future__ import annotations

from typing import Annotated

import typer

from cqrs_cli.commands.common import FORMAT_HELP, info, open_for, state
from cqrs_cli.output import emit_rows
from cqrs_cli.store.db import connect
from cqrs_cli.store.migrations import LATEST, check_not_newer, status

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
                {"number": m.number, "name": m.name, "state": "applied" if at else "pending",
                 "applied_at": at}
                for m, at in status(conn)
            ]
        finally:
            conn.close()
        emit_rows(rows, ["number", "name", "state", "applied_at"], fmt)
        return
    with open_for(ctx, write=True) as store:
        if not store.migrated:
            info(ctx, f"{path} is up to date (schema {LATEST})")
