"""`cqrs rebuild`: replay the log into fresh tables and swap them in."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from cqrs_cli.cli.context import info, open_for, state
from cqrs_cli.cli.terminal import console
from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError
from cqrs_cli.projections import NAMES
from cqrs_cli.projections.runner import rebuild


def run(
    ctx: typer.Context,
    projection: Annotated[
        list[str] | None,
        typer.Option("--projection", help=f"A view to rebuild: {', '.join(NAMES)} (repeatable)."),
    ] = None,
    everything: Annotated[bool, typer.Option("--all", help="Rebuild every view.")] = False,
) -> None:
    """Replay from position 0 into fresh tables; readers keep the old view until the swap."""
    if everything == bool(projection):
        raise CqrsError("give --projection NAME or --all", exit_code=EXIT_USAGE)
    names = list(NAMES) if everything else list(dict.fromkeys(projection or []))
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        raise CqrsError(
            f"unknown projection {unknown[0]!r}; known: {', '.join(NAMES)}", exit_code=EXIT_USAGE
        )
    with open_for(ctx, write=True, create=False) as store:
        total = store.log.head()
        # A bar only for a person at a terminal: a script's stderr stays plain lines.
        if state(ctx).quiet or not sys.stderr.isatty():
            report = rebuild(store, names)
        else:
            from rich.progress import Progress

            with Progress(console=console(stderr=True), transient=True) as bar:
                task = bar.add_task(f"rebuilding {', '.join(names)}", total=total or 1)
                report = rebuild(store, names, progress=lambda n: bar.advance(task, n))
    info(
        ctx,
        f"Rebuilt {', '.join(names)}: {report.events:,} events in "
        f"{report.seconds:.2f} s ({report.rate:,.0f} events/s)",
    )
