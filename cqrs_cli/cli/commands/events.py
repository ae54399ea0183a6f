"""`cqrs events`: list the log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from cqrs_cli.cli.commands.numbers import number_option
from cqrs_cli.cli.context import Format, read_model

if TYPE_CHECKING:
    from cqrs_cli.app.answers.log import Event
    from cqrs_cli.cli.output import Col

COLUMNS = ["position", "type", "stream_type", "stream_id", "version", "recorded_at"]


def _row(e: Event) -> dict[str, Any]:
    return {
        "position": e.position,
        "type": e.type,
        "stream_type": e.stream_type,
        "stream_id": e.stream_id,
        "version": e.version,
        "recorded_at": e.recorded_at,
    }


def run(
    ctx: typer.Context,
    stream: Annotated[
        str | None, typer.Option("--stream", help="Only this stream, as MODEL:ID (crm.lead:7).")
    ] = None,
    types: Annotated[
        list[str] | None, typer.Option("--type", help="Only events of this type (repeatable).")
    ] = None,
    after: Annotated[
        int,
        typer.Option(
            "--after",
            parser=number_option("--after", 0),
            metavar="N",
            help="Only positions after N.",
        ),
    ] = 0,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", parser=number_option("--limit", 1), metavar="N", help="At most N events."
        ),
    ] = None,
    newest: Annotated[bool, typer.Option("--newest", help="Newest first.")] = False,
    fmt: Format = None,
) -> None:
    """List events, oldest first (or --newest first)."""
    from cqrs_cli.app.answers.log import EventQuery
    from cqrs_cli.cli import output

    fmt = output.check_format(fmt)
    query = EventQuery(stream, tuple(types or ()), after, limit, newest)
    with read_model(ctx, migrate=False) as model, model.stream_events(query) as found:
        # JSON, CSV and TSV are written as the events come; a table needs them all first.
        if fmt == "json":
            output.stream_json(found)
            return
        if fmt == "csv":
            output.emit_csv(map(_row, found), COLUMNS)
            return
        if fmt == "tsv":
            output.emit_tsv(map(_row, found), COLUMNS)
            return
        rows = [_row(e) for e in found]
    for row in rows:
        row["stream"] = f"{row['stream_type']}:{row['stream_id']}"  # as --stream takes it
    output.emit_rows(rows, _table_columns(), fmt, title="events")


def _table_columns() -> list[Col]:
    """At 80 columns: position, type, stream (as `--stream` takes it) and version; the
    time recorded when wider."""
    from cqrs_cli.cli.output import Col

    return [
        Col("position"),
        Col("type", keep=True),
        Col("stream", keep=True),
        Col("version", rank=2),
        Col("recorded_at", keep=True, rank=1),
    ]
