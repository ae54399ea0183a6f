"""`cqrs history OPPORTUNITY`: the timeline of one opportunity, oldest first."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cqrs_cli.cli.context import FORMAT_HELP, read_model

COLUMNS = ["position", "recorded_at", "write_date", "change", "field", "old", "new"]


def shown_value(value: Any) -> Any:
    """A value of a field as a person reads it: a reference by its name (or #id)."""
    if isinstance(value, dict) and "id" in value:
        return value.get("name") or value.get("login") or f"#{value['id']}"
    if hasattr(value, "id"):  # a salesperson or an account of `view`'s items
        return getattr(value, "name", None) or getattr(value, "login", None) or f"#{value.id}"
    return value


def run(
    ctx: typer.Context,
    opportunity: Annotated[
        str,
        typer.Argument(
            metavar="OPPORTUNITY",
            help="Its Odoo id, or a part of its name that fits only one (case-insensitive).",
            show_default=False,
        ),
    ],
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "table",
) -> None:
    """The timeline of one opportunity, oldest first: created, each change of its fields
    (stage, salesperson, account, team by the names they had then), archived (lost),
    won, deleted; with Odoo's write_date and the log position and time of each."""
    from cqrs_cli.cli.output import check_format, emit_rows

    check_format(fmt)
    with read_model(ctx) as model:
        found = model.history(opportunity)
    rows: list[dict[str, Any]] = []
    for entry in found.entries:
        head = {
            "position": entry.position,
            "recorded_at": entry.recorded_at,
            "write_date": entry.write_date,
            "change": entry.change,
        }
        changed = [
            (field, values)
            for field, values in entry.fields.items()
            if entry.change != "created" or values["new"] is not None
        ]
        if not changed:
            rows.append(head)
        for index, (field, values) in enumerate(changed):
            rows.append(
                {
                    # An entry's position and times on its first row in a table; on each
                    # row in CSV and the like, where a row stands alone.
                    **(head if index == 0 or fmt != "table" else {}),
                    "field": field,
                    "old": shown_value(values["old"]),
                    "new": shown_value(values["new"]),
                }
            )
    opp = found.opportunity
    emit_rows(
        rows,
        COLUMNS,
        fmt,
        title=f"History of opportunity {opp.id}: {opp.name}",
        json_value=found,
    )
