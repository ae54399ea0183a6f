"""`cqrs datasette-metadata`: Datasette metadata that shows the views and hides the rest."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cqrs_cli.app.datasette import metadata
from cqrs_cli.cli.context import info, open_for, state
from cqrs_cli.cli.output import emit_json, write_json


def run(
    ctx: typer.Context,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the metadata to this file instead of stdout."),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            "--name",
            help="The database name Datasette serves the file as (default: the file's name "
            "without its extension, as Datasette names it).",
        ),
    ] = None,
) -> None:
    """Datasette metadata (JSON) for the file: the event log and the views described, column
    by column; the internal tables (each view's copies of records, scratch tables, raw
    rows, cursors, sync runs, checkpoints, dead letters, migrations) hidden. Serve a copy
    with it: datasette serve --immutable COPY.db --metadata FILE (docs/operations.md)."""
    with open_for(ctx) as store:
        value = metadata(store.conn, name or state(ctx).db.stem)
    if output is None:
        emit_json(value)
        return
    write_json(output, value)
    tables = value["databases"][name or state(ctx).db.stem]["tables"]
    hidden = sum(1 for t in tables.values() if t.get("hidden"))
    info(ctx, f"Wrote {output}: {len(tables) - hidden} tables described, {hidden} hidden")
