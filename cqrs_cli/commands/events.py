"""`cqrs events`: list the log."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cqrs_cli.commands.common import FORMAT_HELP, open_for
from cqrs_cli.commands.numbers import number_option
from cqrs_cli.errors import EXIT_USAGE, CqrsError
from cqrs_cli.output import check_format, emit_rows
from cqrs_cli.store.log import RecordedEvent

COLUMNS = ["position", "type", "stream_type", "stream_id", "version", "recorded_at"]


def _item(e: RecordedEvent) -> dict[str, Any]:
    return {
        "position": e.position,
        "event_id": e.event_id,
        "stream_type": e.stream_type,
        "stream_id": e.stream_id,
        "version": e.version,
        "type": e.type,
        "schema_version": e.schema_version,
        "data": e.data,
        "metadata": e.metadata,
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
    check_format(fmt)
    with open_for(ctx) as store:
        if stream is not None:
            stream_type, sep, stream_id = stream.rpartition(":")
            if not sep or not stream_type or not stream_id:
                raise CqrsError(f"--stream must be MODEL:ID, got {stream!r}", exit_code=EXIT_USAGE)
            found = [
                e
                for e in store.log.read_stream(stream_type, stream_id, backwards=newest)
                if e.position > after and (not types or e.type in types)
            ]
            items = found[:limit] if limit is not None else found
        else:
            items = list(
                store.log.read_all(after, limit=limit, types=types or None, backwards=newest)
            )
    rows = [_item(e) for e in items]
    emit_rows(rows, COLUMNS, fmt, title="events")
