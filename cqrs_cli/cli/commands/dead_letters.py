"""`cqrs dead-letters [--retry]`: events a webhook or a bus handler kept failing on."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from cqrs_cli.cli.context import Format, info, open_for
from cqrs_cli.cli.output import Col, check_format, emit_rows

COLUMNS = [
    Col("id"),
    Col("handler"),
    Col("position"),
    Col("event_type", keep=True),
    Col("attempts"),
    Col("failed_at", keep=True, rank=1),
    Col("error"),
]


def run(
    ctx: typer.Context,
    retry: Annotated[
        bool,
        typer.Option(
            "--retry",
            help="Deliver each one again; a webhook paused on one resumes from there.",
        ),
    ] = False,
    fmt: Format = None,
) -> None:
    """List dead letters; --retry delivers them again (delivered ones leave the list)."""
    from cqrs_cli.bus.dead_letters import DeadLetters
    from cqrs_cli.bus.event_bus import default_bus

    fmt = check_format(fmt)
    with open_for(ctx, write=retry, create=False) as store:
        letters = DeadLetters(store)
        if retry:
            from cqrs_cli.app.webhook_filter import filter_for
            from cqrs_cli.bus.webhooks.registry import PREFIX
            from cqrs_cli.bus.webhooks.run import retry_dead_letters
            from cqrs_cli.cli.commands.webhooks import delivery_lines

            resumed = retry_dead_letters(store, filter_for=filter_for)
            for line in delivery_lines(resumed, resumed=True):
                info(ctx, line)
            others = [x for x in letters.all() if not x.handler.startswith(PREFIX)]
            if others:
                report = default_bus(letters).retry_dead_letters(others)
                info(
                    ctx,
                    f"Retried dead letters: {len(report.delivered)} delivered, "
                    f"{len(report.failed)} failed again, {len(report.skipped)} kept "
                    "(handler not subscribed here or event missing)",
                )
        rows = [asdict(letter) for letter in letters.all()]
    emit_rows(rows, COLUMNS, fmt, title="dead letters")
