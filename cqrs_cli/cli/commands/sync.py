"""`cqrs sync`: pull records from Odoo, a snapshot file or the demo into the event log."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cqrs_cli.cli.context import (
    SUMMARY_FORMAT_HELP,
    check_summary_format,
    emit_summary,
    info,
    open_for,
    state,
)
from cqrs_cli.cli.source_options import Database, Password, Timeout, Url, User, pick_source
from cqrs_cli.cli.terminal import console, shown

# The sync engine (pydantic, records) and odoorpc load only when `sync` runs: the CLI's
# start-up, and so every read command, does not pay for them.
if TYPE_CHECKING:
    from cqrs_cli.store.files import Store
    from cqrs_cli.store.log import RecordedEvent
    from cqrs_cli.sync import Invalid, SyncResult

COLUMNS = ["model", "created", "updated", "deleted", "unchanged", "invalid"]

AllowDeletions = Annotated[
    bool,
    typer.Option(
        "--allow-deletions",
        help="Go ahead when the sync would delete more than --max-deletions records and more "
        "than --max-deletions-percent of a model (by default it stops, writing nothing: "
        "lost access rights or a cut snapshot look the same).",
    ),
]
MaxDeletions = Annotated[
    int,
    typer.Option(
        "--max-deletions", min=0, help="Deletions per model allowed whatever their share."
    ),
]
MaxDeletionsPercent = Annotated[
    float,
    typer.Option(
        "--max-deletions-percent",
        min=0,
        max=100,
        help="Share of a model's records (%) a sync may delete, whatever their number.",
    ),
]


class RichProgress:
    """One progress bar per model on stderr: records read of the records to read."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console(stderr=True),
            transient=True,
        )
        self._tasks: dict[str, Any] = {}

    def __enter__(self) -> RichProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def start(self, model: str, total: int | None) -> None:
        self._tasks[model] = self._bar.add_task(shown(f"sync {model}"), total=total)

    def advance(self, model: str, records: int) -> None:
        self._bar.advance(self._tasks[model], records)

    def finish(self, model: str) -> None:
        task = self._tasks[model]
        done = self._bar.tasks[task].completed
        self._bar.update(task, total=done)


def after_sync(ctx: typer.Context, store: Store, result: SyncResult) -> None:
    """Runs after every successful sync: the views catch up, then the bus carries the news
    to in-process handlers. Webhooks come after (`deliver_webhooks`)."""
    from cqrs_cli.bus.dead_letters import DeadLetters
    from cqrs_cli.bus.event_bus import default_bus
    from cqrs_cli.projections.runner import catch_up

    report = catch_up(store)
    for name, error in report.paused.items():
        info(ctx, f"Warning: projection {name} is paused: {error} (see `cqrs status`)")
    bus = default_bus(DeadLetters(store))
    if result.first_position is None or not bus.has_subscribers:
        return
    events = store.log.read_all(
        result.first_position - 1, before_position=(result.last_position or 0) + 1
    )
    # Page by page: an initial sync appends ~100k events, too many to hold at once.
    page: list[RecordedEvent] = []
    for event in events:
        page.append(event)
        if len(page) == 1000:
            bus.publish(page)
            page = []
    if page:
        bus.publish(page)


def run(
    ctx: typer.Context,
    demo: Annotated[
        bool, typer.Option("--demo", help="Sync the embedded demo organisation.")
    ] = False,
    from_file: Annotated[
        Path | None, typer.Option("--from-file", help="Sync a snapshot file (see `cqrs export`).")
    ] = None,
    url: Url = None,
    database: Database = None,
    user: User = None,
    password: Password = None,
    full: Annotated[
        bool, typer.Option("--full", help="Re-read everything, not just what changed.")
    ] = False,
    timeout: Timeout = 60.0,
    allow_deletions: AllowDeletions = False,
    max_deletions: MaxDeletions = 10,
    max_deletions_percent: MaxDeletionsPercent = 20.0,
    delivery_budget: Annotated[
        float,
        typer.Option(
            "--delivery-budget",
            min=0,
            help="Seconds webhooks may take after the sync; what is left waits for the next.",
        ),
    ] = 30.0,
    fmt: Annotated[str | None, typer.Option("--format", help=SUMMARY_FORMAT_HELP)] = None,
) -> None:
    """Pull users, employees, teams, stages, accounts and opportunities into the event log.

    Stops before writing anything when it would delete more than --max-deletions records
    and more than --max-deletions-percent of a model, unless --allow-deletions.
    """
    from cqrs_cli.sync import DeletionLimit, run_sync

    fmt = check_summary_format(fmt)
    limit = DeletionLimit(max_deletions, max_deletions_percent, allow_deletions)
    source = pick_source(demo, from_file, url, database, user, password, timeout)
    try:
        with open_for(ctx, write=True) as store:
            # Bars only for a person at a terminal: a script's stderr stays plain lines.
            if state(ctx).quiet or not sys.stderr.isatty():
                result = run_sync(store, source, full=full, deletions=limit)
            else:
                with RichProgress() as progress:
                    result = run_sync(store, source, full=full, progress=progress, deletions=limit)
            after_sync(ctx, store, result)
    finally:
        source.close()
    _report(ctx, result, fmt)
    deliver_webhooks(ctx, delivery_budget)


def deliver_webhooks(ctx: typer.Context, budget: float) -> None:
    """Each webhook gets the events it has not had yet, once the sync has committed: a
    receiver that is down is said on stderr and never fails the sync."""
    from cqrs_cli.bus.webhooks.run import deliver_pending
    from cqrs_cli.cli.commands.webhooks import delivery_lines

    try:
        with open_for(ctx, write=True) as store:
            report = deliver_pending(store, budget=budget)
    except Exception as exc:  # the sync has committed: it stays a success
        info(ctx, f"Warning: webhooks not delivered: {getattr(exc, 'message', exc)}")
        return
    for line in delivery_lines(report):
        info(ctx, line)


def invalid_line(bad: Invalid) -> str:
    # A record with an odd id may name no record at all (`true`, 2^64): the reason quotes it.
    which = f"id {bad.odoo_id}" if bad.odoo_id is not None else "(no usable id)"
    return f"{bad.model} {which}: {bad.field}: {bad.reason}"


def _report(ctx: typer.Context, result: SyncResult, fmt: str | None) -> None:
    rows = [{"model": m, **vars(c)} for m, c in result.counts.items()]
    emit_summary(
        ctx,
        rows,
        COLUMNS,
        fmt,
        title=f"sync from {result.source} ({result.mode})",
        json_value={
            "sync_run_id": result.run_id,
            "source": result.source,
            "mode": result.mode,
            "events_appended": result.events_appended,
            "counts": rows,
            "invalid": [vars(i) for i in result.invalid],
            "warnings": result.warnings,
        },
    )
    for bad in result.invalid:
        info(ctx, f"Invalid record skipped: {invalid_line(bad)}")
    for warning in result.warnings:
        info(ctx, f"Warning: {warning}")
    if result.events_appended:
        info(
            ctx,
            f"Appended {result.events_appended} events "
            f"(positions {result.first_position} to {result.last_position}).",
        )
    else:
        info(ctx, "No change: 0 events appended.")
    sys.stdout.flush()
