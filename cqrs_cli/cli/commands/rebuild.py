"""`cqrs rebuild`: replay the log into fresh tables and swap them in."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cqrs_cli.cli.context import info, state
from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError

if TYPE_CHECKING:
    from types import TracebackType

# Named here so that `--help` does not load the projections (projections/catalog.py).
VIEWS = (
    "user_profiles, opportunity_view, user_access_matrix, dashboard_metrics, opportunity_versions"
)


class Bar:
    """A progress bar on stderr: events replayed of the events to replay."""

    def __init__(self, names: list[str]) -> None:
        from rich.progress import Progress

        from cqrs_cli.cli.terminal import console

        self._names = names
        self._bar = Progress(console=console(stderr=True), transient=True)
        self._task: Any = None

    def __enter__(self) -> Bar:
        self._bar.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._bar.stop()

    def start(self, total: int) -> None:
        self._task = self._bar.add_task(f"rebuilding {', '.join(self._names)}", total=total or 1)

    def advance(self, events: int) -> None:
        self._bar.advance(self._task, events)


def run(
    ctx: typer.Context,
    projection: Annotated[
        list[str] | None,
        typer.Option("--projection", help=f"A view to rebuild: {VIEWS} (repeatable)."),
    ] = None,
    everything: Annotated[bool, typer.Option("--all", help="Rebuild every view.")] = False,
) -> None:
    """Replay from position 0 into fresh tables; readers keep the old view until the swap."""
    from cqrs_cli.app.rebuild import rebuild, views_named

    if everything == bool(projection):
        raise CqrsError("give --projection NAME or --all", exit_code=EXIT_USAGE)
    names = views_named(None if everything else projection)
    # A bar only for a person at a terminal: a script's stderr stays plain lines.
    if state(ctx).quiet or not sys.stderr.isatty():
        report = rebuild(state(ctx).db, names)
    else:
        with Bar(names) as bar:
            report = rebuild(state(ctx).db, names, progress=bar)
    info(
        ctx,
        f"Rebuilt {', '.join(names)}: {report.events:,} events in "
        f"{report.seconds:.2f} s ({report.rate:,.0f} events/s)",
    )
