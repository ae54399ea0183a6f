"""`cqrs metrics --as USER`: pipeline figures, own and team."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cqrs_cli.app.queries import metrics_of
from cqrs_cli.cli.commands.reading import AS_HELP, open_current, person
from cqrs_cli.cli.context import FORMAT_HELP
from cqrs_cli.cli.output import check_format, emit_json, emit_rows
from cqrs_cli.cli.terminal import console, text

VIEWS = ("user_profiles", "dashboard_metrics")
FIGURES = ("pipeline_value", "weighted_pipeline", "won_revenue", "active_opportunities")
BAR_WIDTH = 30


def run(
    ctx: typer.Context,
    as_user: Annotated[str, typer.Option("--as", help=AS_HELP)],
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "table",
) -> None:
    """Pipeline value, weighted pipeline, won revenue and open count: own and team."""
    check_format(fmt)
    with open_current(ctx, VIEWS) as store:
        user = person(store, as_user)
        own, team = metrics_of(store, user["id"])
    value = {"user": user, "own": own, "team": team}
    if fmt == "json":
        emit_json(value)
    elif fmt == "table":
        _draw(value)
    else:
        rows = [
            {"scope": scope, **{k: figs[k] for k in FIGURES}}
            for scope, figs in (("own", own), ("team", team))
            if figs is not None
        ]
        emit_rows(rows, ["scope", *FIGURES], fmt)


def _draw(value: dict[str, Any]) -> None:
    from rich.table import Table

    screen = console()
    for scope in ("own", "team"):
        figs = value[scope]
        if figs is None:
            continue
        summary = Table(title=text(f"{value['user']['login']}: {scope}", "table.title"))
        for key in FIGURES:
            summary.add_column(key)
        summary.add_row(
            *(f"{figs[k]:,.2f}" if isinstance(figs[k], float) else str(figs[k]) for k in FIGURES)
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
