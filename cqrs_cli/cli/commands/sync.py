"""`cqrs sync`: pull records from Odoo, a snapshot file or the demo into the event log."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cqrs_cli.cli.context import (
    SUMMARY_FORMAT_HELP,
    check_summary_format,
    emit_summary,
    info,
    paused,
    prepared,
    state,
)
from cqrs_cli.cli.source_options import Database, Password, Timeout, Url, User, source_choice
from cqrs_cli.cli.terminal import console, shown
from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError
from cqrs_cli.domain.numbers import counted

# The sync engine (pydantic, records) and odoorpc load only when `sync` runs: the CLI's
# start-up, and so every read command, does not pay for them.
if TYPE_CHECKING:
    from cqrs_cli.app.sources import SourceChoice
    from cqrs_cli.app.sync import SyncOptions, SyncOutcome, SyncSummary
    from cqrs_cli.app.sync_loop import LoopRun
    from cqrs_cli.bus.webhooks.run import DeliveryReport
    from cqrs_cli.sync import Invalid

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
        self.stop()

    def stop(self) -> None:
        """Take the bars away (again: harmless), before the lines that follow the sync."""
        self._bar.stop()

    def start(self, model: str, total: int | None) -> None:
        self._tasks[model] = self._bar.add_task(shown(f"sync {model}"), total=total)

    def advance(self, model: str, records: int) -> None:
        self._bar.advance(self._tasks[model], records)

    def finish(self, model: str) -> None:
        task = self._tasks[model]
        done = self._bar.tasks[task].completed
        self._bar.update(task, total=done)


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
    every: Annotated[
        str | None,
        typer.Option(
            "--every",
            metavar="DURATION",
            help="Sync again DURATION after each run ends (30s, 5m, 1h30m) until SIGTERM or "
            "SIGINT, one line per run on stderr; Odoo failing is retried with backoff, a "
            "refused login stops it (exit 1). One such loop per file (docs/operations.md).",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[
        bool,
        typer.Option("--verbose", help="With --every: each run's whole summary, not one line."),
    ] = False,
) -> None:
    """Pull users, employees, teams, stages, accounts and opportunities into the event log.

    Stops before writing anything when it would delete more than --max-deletions records
    and more than --max-deletions-percent of a model, unless --allow-deletions.
    """
    from cqrs_cli.app.sync import SyncOptions, sync
    from cqrs_cli.cli.durations import parse_duration
    from cqrs_cli.sync import DeletionLimit

    fmt = check_summary_format(fmt)
    seconds = None if every is None else parse_duration(every, "--every")
    if verbose and seconds is None:
        raise CqrsError(
            "--verbose goes with --every (a single sync always prints its whole summary)",
            exit_code=EXIT_USAGE,
        )
    options = SyncOptions(
        full, DeletionLimit(max_deletions, max_deletions_percent, allow_deletions), delivery_budget
    )
    choice = source_choice(demo, from_file, url, database, user, password, timeout)
    if seconds is not None:
        _every(ctx, choice, options, seconds, verbose=verbose, fmt=fmt)
        return
    # Bars only for a person at a terminal: a script's stderr stays plain lines.
    bars = not state(ctx).quiet and sys.stderr.isatty()
    with RichProgress() if bars else nullcontext() as progress:

        def committed(outcome: SyncOutcome) -> None:
            if progress is not None:
                progress.stop()
            report_sync(ctx, outcome, fmt)

        done = sync(state(ctx).db, choice, options, progress=progress, on_committed=committed)
    report_delivery(ctx, done.delivery, done.delivery_error)


def _every(
    ctx: typer.Context,
    choice: SourceChoice,
    options: SyncOptions,
    seconds: float,
    *,
    verbose: bool,
    fmt: str | None,
) -> None:
    """`sync --every`: the loop, one line per run; its whole summary with --verbose."""
    from cqrs_cli.app.sync_loop import Stop, sync_every
    from cqrs_cli.cli.signals import stop_on_signals

    def committed(outcome: SyncOutcome) -> None:
        if verbose:
            report_sync(ctx, outcome, fmt)
            return
        prepared(ctx, outcome.migrated)
        if fmt is not None:
            _summary(ctx, outcome.summary, fmt)

    def ran(run: LoopRun) -> None:
        info(ctx, run_line(run, verbose=verbose))
        if run.outcome is not None:
            lines = _delivery(run.outcome.delivery, run.outcome.delivery_error)
            for line in lines if verbose else [x for x in lines if x.startswith("Warning")]:
                info(ctx, line)

    with Stop() as stop, stop_on_signals(stop) as received:
        end = sync_every(
            state(ctx).db, choice, seconds, options, stop=stop, on_run=ran, on_committed=committed
        )
    why = f" on {received[0]}" if received else ""
    failed = f", {end.failed} failed" if end.failed else ""
    info(ctx, f"Stopped{why} after {counted(end.runs, 'run')}{failed}.")


def run_line(run: LoopRun, *, verbose: bool = False) -> str:
    """One line for one run of the loop: when it started, what it did, how long it took."""
    at = run.started.isoformat(timespec="seconds").replace("+00:00", "Z")
    took = f"{run.seconds:.1f} s"
    if run.error is not None:
        wait = run.retry_in or 0.0
        again = f"{wait:.1f}" if wait < 10 else f"{wait:.0f}"
        return f"{at} sync failed after {took}: {run.error}; trying again in {again} s"
    if run.outcome is None:
        return (
            f"{at} sync stopped between two pages after {took}: "
            f"{counted(run.stopped_after or 0, 'event')} committed, the next run goes on from there"
        )
    summary = run.outcome.summary
    n = summary.events_appended
    line = f"{at} sync: {counted(n, 'event')} in {took}"
    if not verbose:
        notes = [
            counted(len(items), name)
            for name, items in (
                ("warning", summary.warnings),
                ("invalid record", summary.invalid),
                ("paused view", tuple(run.outcome.paused)),
            )
            if items
        ]
        if notes:
            line += f"; {', '.join(notes)} (--verbose shows them)"
    return line


def report_sync(ctx: typer.Context, outcome: SyncOutcome, fmt: str | None) -> None:
    """What a sync did, once it committed: the file's migrations, the views it paused, the
    summary and its lines."""
    prepared(ctx, outcome.migrated)
    paused(ctx, outcome.paused)
    _report(ctx, outcome, fmt)


def report_delivery(ctx: typer.Context, report: DeliveryReport | None, error: str | None) -> None:
    """What the webhooks came to: said on stderr, never a failure of the sync."""
    for line in _delivery(report, error):
        info(ctx, line)


def _delivery(report: DeliveryReport | None, error: str | None) -> list[str]:
    from cqrs_cli.cli.commands.webhooks import delivery_lines

    lines = [] if error is None else [f"Warning: webhooks not delivered: {error}"]
    return lines + ([] if report is None else delivery_lines(report))


def invalid_line(bad: Invalid) -> str:
    # A record with an odd id may name no record at all (`true`, 2^64): the reason quotes it.
    which = f"id {bad.odoo_id}" if bad.odoo_id is not None else "(no usable id)"
    return f"{bad.model} {which}: {bad.field}: {bad.reason}"


def _summary(ctx: typer.Context, summary: SyncSummary, fmt: str | None) -> None:
    rows = [
        {
            "model": c.model,
            "created": c.created,
            "updated": c.updated,
            "deleted": c.deleted,
            "unchanged": c.unchanged,
            "invalid": c.invalid,
        }
        for c in summary.counts
    ]
    emit_summary(
        ctx,
        rows,
        COLUMNS,
        fmt,
        title=f"sync from {summary.source} ({summary.mode})",
        json_value=summary,
    )


def _report(ctx: typer.Context, outcome: SyncOutcome, fmt: str | None) -> None:
    summary: SyncSummary = outcome.summary
    _summary(ctx, summary, fmt)
    for bad in summary.invalid:
        info(ctx, f"Invalid record skipped: {invalid_line(bad)}")
    for warning in summary.warnings:
        info(ctx, f"Warning: {warning}")
    if summary.events_appended:
        info(
            ctx,
            f"Appended {counted(summary.events_appended, 'event')} "
            f"(positions {outcome.first_position} to {outcome.last_position}).",
        )
    else:
        info(ctx, "No change: 0 events appended.")
    sys.stdout.flush()
