"""`cqrs verify`: recompute the hash chain."""

from __future__ import annotations

import typer

from cqrs_cli.commands.common import open_for
from cqrs_cli.errors import EXIT_CHECK_FAILED, CqrsError
from cqrs_cli.store.chain import verify_chain
from cqrs_cli.terminal import out


def run(ctx: typer.Context) -> None:
    """Recompute the hash chain; report OK with the count or the first bad position (exit 3)."""
    with open_for(ctx) as store:
        report = verify_chain(store.conn)
    if not report.ok:
        raise CqrsError(
            f"chain broken at position {report.bad_position}: {report.reason} "
            f"({report.count} events before it are intact)",
            exit_code=EXIT_CHECK_FAILED,
        )
    out(f"OK: {report.count} events, hash chain intact")
