"""`cqrs view --as USER`: the opportunities a user can see."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cqrs_cli.cli.commands.numbers import number_option
from cqrs_cli.cli.context import AS_HELP, WHEN_HELP, Format, as_of_title, read_model

if TYPE_CHECKING:
    from cqrs_cli.app.answers.opportunities import Opportunity
    from cqrs_cli.cli.output import Col

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


def _table_columns() -> list[Col]:
    """What a table shows: at 80 columns the id, name, stage (and status), expected
    revenue, salesperson and reason; the account, the probability and the manager as
    the terminal widens."""
    from cqrs_cli.cli.output import Col

    return [
        Col("id", keep=True),
        Col("name"),
        Col("stage"),
        Col("expected_revenue"),
        Col("probability", rank=2),
        Col("salesperson"),
        Col("manager", rank=3),
        Col("account", rank=1),
        Col("reason"),
    ]


def _logins(items: Sequence[Opportunity]) -> Iterator[str | None]:
    for item in items:
        yield item.salesperson.login if item.salesperson else None
        yield item.manager.login if item.manager else None
        yield item.via


def _table_row(item: Opportunity, domain: str | None) -> dict[str, Any]:
    from cqrs_cli.cli.output import short_login

    row = _flat(item)
    for key in ("salesperson", "manager"):
        row[key] = short_login(row[key], domain)
    # The status where the stage does not say it ("Qualified · lost"), and via whom in
    # the reason ("subordinate · zakariya").
    stage = row["stage"]
    if stage is None or (item.status != "open" and item.status != stage.casefold()):
        row["stage"] = item.status if stage is None else f"{stage} · {item.status}"
    if item.via is not None:
        row["reason"] = f"{item.reason} · {short_login(item.via, domain)}"
    return row


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
    fmt: Format = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", metavar="WHEN", help=WHEN_HELP, show_default=False)
    ] = None,
) -> None:
    """The opportunities USER can see (open, won and lost), with the reason for each."""
    from cqrs_cli.app.answers.opportunities import OpportunityFilter
    from cqrs_cli.cli import output

    fmt = output.check_format(fmt)
    filters = OpportunityFilter(status, stage, search, salesperson, team, sort, limit, offset)
    with (
        read_model(ctx, as_of=as_of) as model,
        model.stream_opportunities(as_user, filters) as found,
    ):
        # JSON, CSV and TSV are written as the rows come; a table needs them all first.
        if fmt == "json":
            output.stream_json(found.items)
            return
        if fmt == "csv":
            output.emit_csv(map(_flat, found.items), COLUMNS)
            return
        if fmt == "tsv":
            output.emit_tsv(map(_flat, found.items), COLUMNS)
            return
        user, items = found.user, list(found.items)
    # Only the box table shortens logins: its title says the domain they share.
    domain = output.shared_domain(_logins(items)) if fmt == "table" else None
    title = as_of_title(model, f"What {user.login} can see ({len(items)})")
    if domain is not None:
        title += f"; logins @{domain}"
    output.emit_rows([_table_row(i, domain) for i in items], _table_columns(), fmt, title=title)
