"""The sync use case: pull a source into the file, catch the views up, tell the bus, then
deliver to the webhooks. One call for every face (`cqrs sync`, a `--every` loop, a test).

Each step's trouble is data in the outcome, not a message: records skipped as invalid
and the sync's warnings (in `summary`), views the catch-up paused (`paused`), and what
the webhooks came to (`delivery`, or `delivery_error` when they could not be tried). A
receiver that is down never fails the sync: it committed before delivery starts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cqrs_cli.app.sources import CHOICES, SourceChoice, open_source
from cqrs_cli.app.webhook_filter import filter_for
from cqrs_cli.bus.dead_letters import DeadLetters
from cqrs_cli.bus.event_bus import default_bus
from cqrs_cli.bus.webhooks.run import DEFAULT_BUDGET, DeliveryReport, deliver_pending
from cqrs_cli.projections.runner import catch_up
from cqrs_cli.sources.base import Source
from cqrs_cli.store.files import Store, open_store
from cqrs_cli.store.log import RecordedEvent
from cqrs_cli.sync import DeletionLimit, Invalid, Progress, SyncResult, run_sync

PUBLISH_PAGE = 1000  # events handed to the in-process bus at a time


@dataclass(frozen=True, slots=True)
class SyncOptions:
    full: bool = False  # re-read everything, not only what changed
    deletions: DeletionLimit = field(default_factory=DeletionLimit)
    delivery_budget: float = DEFAULT_BUDGET  # seconds the webhooks may take afterwards


@dataclass(frozen=True, slots=True)
class ModelSummary:
    model: str
    created: int
    updated: int
    deleted: int
    unchanged: int
    invalid: int


@dataclass(frozen=True, slots=True)
class SyncSummary:
    """`cqrs sync --format json`."""

    sync_run_id: str
    source: str
    mode: str  # full or incremental
    events_appended: int
    counts: tuple[ModelSummary, ...]
    invalid: tuple[Invalid, ...]  # records skipped (reported, never appended)
    warnings: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    summary: SyncSummary
    first_position: int | None  # of the events appended
    last_position: int | None
    migrated: tuple[str, ...]  # migrations applied to the file first
    paused: dict[str, str]  # views the catch-up paused -> the error
    delivery: DeliveryReport | None = None  # the webhooks' run (None: not tried yet)
    delivery_error: str | None = None  # why the webhooks could not be tried at all


def summary_of(result: SyncResult) -> SyncSummary:
    return SyncSummary(
        result.run_id,
        result.source,
        result.mode,
        result.events_appended,
        tuple(ModelSummary(m, **dataclasses.asdict(c)) for m, c in result.counts.items()),
        tuple(result.invalid),
        tuple(result.warnings),
    )


def sync(
    path: Path,
    source: SourceChoice | Source,
    options: SyncOptions | None = None,
    *,
    progress: Progress | None = None,
    on_committed: Callable[[SyncOutcome], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> SyncOutcome:
    """Sync `source` into the file at `path` (created when missing), catch the views up
    and publish the new events to the in-process bus; then deliver to the webhooks.

    `on_committed` hears the outcome once the sync and its catch-up committed, before the
    webhooks (which may take `delivery_budget` seconds): a face shows it then. A source
    given as a Source stays the caller's to close; one given as a choice is opened and
    closed here.

    `stop` is asked between pages: when it says True the sync ends there (SyncStopped,
    every page before committed whole), and once the sync committed, the webhooks wait
    for the next run rather than hold up the stop.
    """
    options = options or SyncOptions()
    opened = isinstance(source, CHOICES)
    src = open_source(source) if isinstance(source, CHOICES) else source
    try:
        with open_store(path, write=True) as store:
            result = run_sync(
                store,
                src,
                full=options.full,
                progress=progress,
                deletions=options.deletions,
                stop=stop,
            )
            migrated = tuple(m.name for m in store.migrated)
            paused = after_commit(store, result)
    finally:
        if opened:
            src.close()
    outcome = SyncOutcome(
        summary_of(result), result.first_position, result.last_position, migrated, paused
    )
    if on_committed is not None:
        on_committed(outcome)
    if stop is not None and stop():
        return outcome
    try:
        with open_store(path, write=True) as store:
            report = deliver_pending(store, budget=options.delivery_budget, filter_for=filter_for)
    except Exception as exc:  # the sync has committed: it stays a success
        return dataclasses.replace(outcome, delivery_error=str(getattr(exc, "message", exc)))
    return dataclasses.replace(outcome, delivery=report)


def after_commit(store: Store, result: SyncResult) -> dict[str, str]:
    """What follows every sync that committed: the views catch up, then the in-process bus
    hears of the new events. Returns the views the catch-up paused, with their error."""
    report = catch_up(store)
    bus = default_bus(DeadLetters(store))
    if result.first_position is not None and bus.has_subscribers:
        events = store.log.read_all(
            result.first_position - 1, before_position=(result.last_position or 0) + 1
        )
        # Page by page: an initial sync appends ~100k events, too many to hold at once.
        page: list[RecordedEvent] = []
        for event in events:
            page.append(event)
            if len(page) == PUBLISH_PAGE:
                bus.publish(page)
                page = []
        if page:
            bus.publish(page)
    return dict(report.paused)
