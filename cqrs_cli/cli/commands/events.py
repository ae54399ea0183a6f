"""`cqrs events`: list the log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from cqrs_cli.cli.commands.numbers import number_option
from cqrs_cli.cli.context import FORMAT_HELP, read_model

if TYPE_CHECKING:
    from cqrs_cli.app.answers.log import Event

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
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "table",
) -> None:
    """List events, oldest first (or --newest first)."""
    from cqrs_cli.app.answers.log import EventQuery
    from cqrs_cli.cli import output

    output.check_format(fmt)
    query = EventQuery(stream, tuple(types or ()), after, limit, newest)
    with read_model(ctx, migrate=False) as model, model.stream_events(query) as found:
        # JSON and CSV are written as the events come; a table needs them all first.
        if fmt == "json":
            output.stream_json(found)
            return
        if fmt == "csv":
            output.emit_csv(map(_row, found), COLUMNS)
            return
        rows = [_row(e) for e in found]
    output.emit_rows(rows, COLUMNS, fmt, title="events")
