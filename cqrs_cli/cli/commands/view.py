"""`cqrs view --as USER`: the opportunities a user can see."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cqrs_cli.app.queries import STATUSES, visible_opportunities
from cqrs_cli.cli.commands.reading import AS_HELP, open_current, person
from cqrs_cli.cli.context import FORMAT_HELP
from cqrs_cli.cli.output import check_format, emit_rows
from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError

VIEWS = ("user_profiles", "opportunity_view", "user_access_matrix")
COLUMNS = [
    "id",
    "name",
    "status",
    "stage",
    "expected_revenue",
    "probability",
    "salesperson",
    "manager",
    "account",
    "reason",
]


def _flat(item: dict[str, Any]) -> dict[str, Any]:
    row = dict(item)
    for key, field in (("salesperson", "login"), ("manager", "login"), ("account", "name")):
        row[key] = item[key][field] if item[key] else None
    return row


def run(
    ctx: typer.Context,
    as_user: Annotated[str, typer.Option("--as", help=AS_HELP)],
    status: Annotated[
        str | None, typer.Option("--status", help="Only open, won or lost ones.")
    ] = None,
    stage: Annotated[
        str | None, typer.Option("--stage", help="Only this stage (name or id).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "table",
) -> None:
    """The opportunities USER can see (open, won and lost), with the reason for each."""
    check_format(fmt)
    if status is not None and status not in STATUSES:
        raise CqrsError(
            f"--status must be one of {', '.join(STATUSES)}, got {status!r}", exit_code=EXIT_USAGE
        )
    with open_current(ctx, VIEWS) as store:
        user = person(store, as_user)
        items = visible_opportunities(store, user["id"], status=status, stage=stage)
    emit_rows(
        [_flat(i) for i in items],
        COLUMNS,
        fmt,
        title=f"What {user['login']} can see ({len(items)})",
        json_value=items,
    )
