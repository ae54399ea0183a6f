"""Delivering to every webhook after a commit, within a time budget.

`deliver_pending` runs after each sync (and wherever new events were committed): each
webhook gets the events past its checkpoint, one after the other, in log order. It never
raises for a receiver's failure, so the sync that committed is never failed by it. The
budget is shared: each webhook gets the time the ones before it left, divided among
those still to go, so one receiver that is down cannot starve the others.

One process delivers at a time (the `webhooks` lock on the file): a second one finds it
busy and leaves the events to it, so a receiver never sees two deliveries interleaved.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cqrs_cli import __version__
from cqrs_cli.bus.checkpoints import SubscriberCheckpoints
from cqrs_cli.bus.dead_letters import DeadLetters
from cqrs_cli.bus.delivery import Pacing, RunReport, deliver, pending, resume
from cqrs_cli.bus.webhooks.cloudevent import source_of
from cqrs_cli.bus.webhooks.http import HttpClient
from cqrs_cli.bus.webhooks.registry import Webhook, Webhooks
from cqrs_cli.bus.webhooks.subscriber import WebhookSubscriber
from cqrs_cli.store.files import Store
from cqrs_cli.store.locks import WEBHOOKS, LockBusy, hold
from cqrs_cli.store.log import RecordedEvent

DEFAULT_BUDGET = 30.0
LOCK = WEBHOOKS

# Which events a webhook made `--as USER` may send, made by the application layer (what a
# user could see is a question of the views' rules, above this layer).
EventFilter = Callable[[RecordedEvent], bool]
FilterFor = Callable[[Store, Webhook], EventFilter]


@dataclass(frozen=True)
class WebhookRun:
    """What one webhook's delivery came to: a run, or why it did not run."""

    webhook: Webhook
    run: RunReport | None = None
    skipped: str | None = None  # e.g. its key's environment variable is not set
    waiting: int = 0  # events left when skipped
    crashed: str | None = None  # an unexpected error in cqrs itself


@dataclass(frozen=True)
class DeliveryReport:
    runs: list[WebhookRun] = field(default_factory=list)
    busy: str | None = None  # who else was delivering
    budget: float = DEFAULT_BUDGET


def deliver_pending(
    store: Store,
    *,
    budget: float = DEFAULT_BUDGET,
    environ: Mapping[str, str] | None = None,
    pacing: Pacing | None = None,
    filter_for: FilterFor | None = None,
) -> DeliveryReport:
    """Deliver to every webhook what it has not had yet, for at most `budget` seconds.

    A webhook made `--as USER` sends only what `filter_for` lets through; without a
    `filter_for` it is skipped, never sent unfiltered."""
    return _each_webhook(store, budget, environ, pacing, filter_for, resume_paused=False)


def retry_dead_letters(
    store: Store,
    *,
    budget: float = DEFAULT_BUDGET,
    environ: Mapping[str, str] | None = None,
    pacing: Pacing | None = None,
    filter_for: FilterFor | None = None,
) -> DeliveryReport:
    """Resume every webhook paused on a dead letter: deliver that event again, then go on
    from there. Webhooks that are not paused are left for the next sync."""
    return _each_webhook(store, budget, environ, pacing, filter_for, resume_paused=True)


def _each_webhook(
    store: Store,
    budget: float,
    environ: Mapping[str, str] | None,
    pacing: Pacing | None,
    filter_for: FilterFor | None,
    *,
    resume_paused: bool,
) -> DeliveryReport:
    pacing = pacing or Pacing()
    webhooks = Webhooks(store).all()
    if resume_paused:
        webhooks = _paused_or_dead_lettered(store, webhooks)
    if not webhooks:
        return DeliveryReport(budget=budget)
    env = os.environ if environ is None else environ
    try:
        with hold(store.path, LOCK), HttpClient(user_agent=f"cqrs/{__version__}") as client:
            source = source_of(store)
            runs = []
            end = pacing.clock() + budget
            for index, webhook in enumerate(webhooks):
                share = (end - pacing.clock()) / (len(webhooks) - index)
                runs.append(
                    _one(
                        store,
                        webhook,
                        client,
                        source,
                        env,
                        pacing,
                        share,
                        filter_for,
                        resume_paused,
                    )
                )
    except LockBusy as busy:
        return DeliveryReport(busy=busy.holder.describe(), budget=budget)
    return DeliveryReport(runs, budget=budget)


def _one(
    store: Store,
    webhook: Webhook,
    client: HttpClient,
    source: str,
    env: Mapping[str, str],
    pacing: Pacing,
    share: float,
    filter_for: FilterFor | None,
    resume_paused: bool,
) -> WebhookRun:
    checkpoint = SubscriberCheckpoints(store).get(webhook.subscriber)
    if checkpoint is None:  # deleted by hand: no position to go on from
        return WebhookRun(webhook, crashed="its checkpoint is missing; remove it and add it again")
    if webhook.as_user is not None and filter_for is None:  # never sent unfiltered
        return WebhookRun(
            webhook,
            skipped="it sends only what one user may see, and this delivery cannot tell",
            waiting=pending(store, webhook.types, checkpoint.position, store.log.head()),
        )
    secret: bytes | None = None
    if webhook.secret_env is not None:
        value = env.get(webhook.secret_env, "")
        if not value:
            waiting = pending(store, webhook.types, checkpoint.position, store.log.head())
            return WebhookRun(
                webhook,
                skipped=f"environment variable {webhook.secret_env} (its signing key) is not set",
                waiting=waiting,
            )
        secret = value.encode()
    run: Callable[..., RunReport] = resume if resume_paused else deliver
    try:
        predicate = None
        if webhook.as_user is not None and filter_for is not None:
            predicate = filter_for(store, webhook)
        subscriber = WebhookSubscriber(
            webhook, client=client, source=source, secret=secret, predicate=predicate
        )
        return WebhookRun(
            webhook, run=run(store, subscriber, deadline=pacing.clock() + share, pacing=pacing)
        )
    except Exception as exc:  # a bug must not fail the sync that already committed
        return WebhookRun(webhook, crashed=f"{type(exc).__name__}: {exc}")


def _paused_or_dead_lettered(store: Store, webhooks: list[Webhook]) -> list[Webhook]:
    checkpoints = SubscriberCheckpoints(store).all()
    lettered = {letter.handler for letter in DeadLetters(store).all()}
    return [
        w
        for w in webhooks
        if w.subscriber in lettered
        or (w.subscriber in checkpoints and checkpoints[w.subscriber].paused)
    ]
