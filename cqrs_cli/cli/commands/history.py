"""`cqrs history OPPORTUNITY`: the timeline of one opportunity, oldest first."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cqrs_cli.cli.context import Format, read_model

COLUMNS = ["position", "recorded_at", "write_date", "change", "field", "old", "new"]
DATES = ("recorded_at", "write_date")


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
    fmt: Format = None,
) -> None:
    """The timeline of one opportunity, oldest first: created, each change of its fields
    (stage, salesperson, account, team by the names they had then), archived (lost),
    won, deleted; with Odoo's write_date and the log position and time of each."""
    from cqrs_cli.cli.output import Col, check_format, emit_rows

    fmt = check_format(fmt)
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
    # The dates are never cut: in a table they show when the terminal has room for them
    # beside what changed (about 115 columns), the time recorded first.
    columns = [
        Col(c, keep=c in DATES, rank=DATES.index(c) + 1 if c in DATES else 0) for c in COLUMNS
    ]
    emit_rows(
        rows,
        columns,
        fmt,
        title=f"History of opportunity {opp.id}: {opp.name}",
        json_value=found,
    )
