"""`cqrs metrics --as USER`: pipeline figures, own and team."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cqrs_cli.cli.context import AS_HELP, FORMAT_HELP, WHEN_HELP, as_of_title, read_model

if TYPE_CHECKING:
    from cqrs_cli.app.answers.metrics import Metrics

FIGURES = ("pipeline_value", "weighted_pipeline", "won_revenue", "active_opportunities")
BAR_WIDTH = 30


def run(
    ctx: typer.Context,
    as_user: Annotated[str, typer.Option("--as", help=AS_HELP)],
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "table",
    as_of: Annotated[
        str | None, typer.Option("--as-of", metavar="WHEN", help=WHEN_HELP, show_default=False)
    ] = None,
) -> None:
    """Pipeline value, weighted pipeline, won revenue and open count: own and team."""
    from cqrs_cli.cli.output import check_format, emit_json, emit_rows

    check_format(fmt)
    with read_model(ctx, as_of=as_of) as model:
        found = model.metrics(as_user)
    if fmt == "json":
        emit_json(found)
    elif fmt == "table":
        _draw(found, as_of_title(model, found.user.login))
    else:
        rows = [
            {"scope": scope, **{k: figs[k] for k in FIGURES}}  # type: ignore[literal-required]
            for scope, figs in (("own", found.own), ("team", found.team))
            if figs is not None
        ]
        emit_rows(rows, ["scope", *FIGURES], fmt)


def _draw(found: Metrics, who: str) -> None:
    from rich.table import Table

    from cqrs_cli.cli.terminal import console, text

    screen = console()
    for scope, figs in (("own", found.own), ("team", found.team)):
        if figs is None:
            continue
        summary = Table(title=text(f"{who}: {scope}", "table.title"))
        for key in FIGURES:
            summary.add_column(key)
        summary.add_row(
            *(
                f"{value:,.2f}" if isinstance(value, float) else str(value)
                for value in (figs[k] for k in FIGURES)  # type: ignore[literal-required]
            )
        )
        screen.print(summary)
        top = max((row["value"] for row in figs["by_stage"]), default=0.0) or 1.0
        bars = Table(title=text("by stage", "table.title"), show_header=True)
        for column in ("stage", "count", "value", ""):
            bars.add_column(column)
        for row in figs["by_stage"]:
            width = round(BAR_WIDTH * row["value"] / top) if row["value"] > 0 else 0
            bars.add_row(
                text(row["stage"] or "(no stage)"),
                str(row["count"]),
                f"{row['value']:,.2f}",
                "█" * width,
            )
        screen.print(bars)
