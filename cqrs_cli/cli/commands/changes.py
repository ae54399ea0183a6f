"""`cqrs changes --as USER --since WHEN [--until WHEN]`: what changed in what USER can see."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from cqrs_cli.cli.commands.history import shown_value
from cqrs_cli.cli.context import AS_HELP, FORMAT_HELP, WHEN_HELP, info, read_model

if TYPE_CHECKING:
    from cqrs_cli.app.answers.past import Changes, Moment

GAINED = ["id", "name", "reason", "via", "new"]
LOST = ["id", "name", "why"]
CHANGED = ["id", "name", "field", "old", "new"]
ALL = ["group", "id", "name", "reason", "via", "new_one", "why", "field", "old", "new"]


def _changed_rows(found: Changes, *, repeat: bool = False) -> list[dict[str, Any]]:
    """One row per changed field; the id and name on the first of an opportunity's rows
    (on each with `repeat`, for CSV and the like)."""
    rows = []
    for item in found.changed:
        for index, (field, values) in enumerate(item.fields.items()):
            rows.append(
                {
                    **({"id": item.id, "name": item.name} if index == 0 or repeat else {}),
                    "field": field,
                    "old": shown_value(values["old"]),
                    "new": shown_value(values["new"]),
                }
            )
    return rows


def _span(found: Changes) -> str:
    def at(end: Moment) -> str:
        return f"#{end.position} ({end.recorded_at})"

    return f"{at(found.since)} to {at(found.until)}"


def run(
    ctx: typer.Context,
    as_user: Annotated[str, typer.Option("--as", help=AS_HELP)],
    since: Annotated[str, typer.Option("--since", metavar="WHEN", help=WHEN_HELP)],
    until: Annotated[
        str | None,
        typer.Option("--until", metavar="WHEN", help="The end, the same way (default: now)."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "table",
) -> None:
    """What changed in what USER can see between two moments: the opportunities gained
    (with the reason), lost (with why: reassigned, deleted, archived, hierarchy moved,
    company, access) and changed (stage, won or lost, expected revenue, ...)."""
    from cqrs_cli.cli.output import check_format, emit_json, emit_rows

    check_format(fmt)
    with read_model(ctx) as model:
        found = model.changes(as_user, since, until)
    login = found.user.login
    lost = [{"id": item.id, "name": item.name, "why": item.why} for item in found.lost]
    gained: list[dict[str, Any]] = [
        {**g, "new": "new" if g.get("new") else ""} for g in found.gained
    ]
    if fmt == "json":
        emit_json(found)
    elif fmt == "table":
        info(ctx, f"What {login} can see: changes from {_span(found)}")
        emit_rows(gained, GAINED, fmt, title=f"gained ({len(gained)})")
        emit_rows(lost, LOST, fmt, title=f"lost ({len(lost)})")
        emit_rows(_changed_rows(found), CHANGED, fmt, title=f"changed ({len(found.changed)})")
    else:
        rows = [
            *({"group": "gained", **g, "new_one": g["new"], "new": None} for g in gained),
            *({"group": "lost", **item} for item in lost),
            *({"group": "changed", **row} for row in _changed_rows(found, repeat=True)),
        ]
        emit_rows(rows, ALL, fmt)
