"""`cqrs status`: the head of the log and where each view stands."""

from __future__ import annotations

from typing import Annotated

import typer

from cqrs_cli.cli.context import FORMAT_HELP, open_for
from cqrs_cli.cli.output import check_format, emit_rows
from cqrs_cli.projections.runner import status

COLUMNS = ["name", "version", "position", "lag", "state", "error"]


def run(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "table",
) -> None:
    """Head position, and each projection's checkpoint, lag, state and error."""
    check_format(fmt)
    with open_for(ctx) as store:
        head, found = status(store)
    rows = [s.as_json() for s in found]
    emit_rows(
        rows, COLUMNS, fmt, title=f"head {head}", json_value={"head": head, "projections": rows}
    )
