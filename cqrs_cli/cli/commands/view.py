"""`cqrs view --as USER`: the opportunities a user can see."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from cqrs_cli.cli.commands.numbers import number_option
from cqrs_cli.cli.context import AS_HELP, FORMAT_HELP, WHEN_HELP, as_of_title, read_model

if TYPE_CHECKING:
    from cqrs_cli.app.answers.opportunities import Opportunity

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
    "via",
]
# A table says via whom in the reason: "subordinate · zakariya".
TABLE_COLUMNS = COLUMNS[:-1]


def _flat(item: Opportunity) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "status": item.status,
        "stage": item.stage,
        "expected_revenue": item.expected_revenue,
        "probability": item.probability,
        "salesperson": item.salesperson.login if item.salesperson else None,
        "manager": item.manager.login if item.manager else None,
        "account": item.account.name if item.account else None,
        "reason": item.reason,
        "via": item.via,
    }


def run(
    ctx: typer.Context,
    as_user: Annotated[str, typer.Option("--as", help=AS_HELP)],
    status: Annotated[
        str | None, typer.Option("--status", help="Only open, won or lost ones.")
    ] = None,
    stage: Annotated[
        str | None, typer.Option("--stage", help="Only this stage (name or id).")
    ] = None,
    search: Annotated[
        str | None,
        typer.Option(
            "--search",
            metavar="TEXT",
            help="Only those whose name or account holds TEXT (any case).",
        ),
    ] = None,
    salesperson: Annotated[
        str | None,
        typer.Option(
            "--salesperson", metavar="USER", help="Only those USER owns (named as --as names one)."
        ),
    ] = None,
    team: Annotated[
        str | None,
        typer.Option("--team", metavar="NAME", help="Only this sales team's (name or id)."),
    ] = None,
    sort: Annotated[
        str | None,
        typer.Option(
            "--sort",
            metavar="FIELD[:desc]",
            help="Order by revenue, probability, stage, name or id (the default);"
            " FIELD:desc from the largest.",
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", parser=number_option("--limit", 0), metavar="N", help="At most N of them."
        ),
    ] = None,
    offset: Annotated[
        int,
        typer.Option(
            "--offset", parser=number_option("--offset", 0), metavar="N", help="Skip the first N."
        ),
    ] = 0,
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "table",
    as_of: Annotated[
        str | None, typer.Option("--as-of", metavar="WHEN", help=WHEN_HELP, show_default=False)
    ] = None,
) -> None:
    """The opportunities USER can see (open, won and lost), with the reason for each."""
    from cqrs_cli.app.answers.opportunities import OpportunityFilter
    from cqrs_cli.cli import output

    output.check_format(fmt)
    filters = OpportunityFilter(status, stage, search, salesperson, team, sort, limit, offset)
    with (
        read_model(ctx, as_of=as_of) as model,
        model.stream_opportunities(as_user, filters) as found,
    ):
        # JSON and CSV are written as the rows come; a table needs them all first.
        if fmt == "json":
            output.stream_json(found.items)
            return
        if fmt == "csv":
            output.emit_csv(map(_flat, found.items), COLUMNS)
            return
        user, items = found.user, list(found.items)
    rows = [_flat(i) for i in items]
    for row in rows:
        if row["via"] is not None:
            row["reason"] = f"{row['reason']} · {row['via']}"
    title = as_of_title(model, f"What {user.login} can see ({len(items)})")
    output.emit_rows(rows, TABLE_COLUMNS, fmt, title=title)
