"""The delivery loop of one after-commit subscriber: in log order, at least once.

From its checkpoint on, each event the subscriber wants is delivered; the checkpoint
moves only past events that got through (or that it does not want). A failed attempt is
retried after a backoff; after `max_attempts` failures (or at once, for a failure that
retrying cannot help) the event becomes a dead letter and the subscriber pauses there:
order matters more than speed, so nothing after it is delivered until the dead letter
is retried. The loop stops at the `deadline` it is given, remembering the failures so
far, and the next run goes on from there.

The checkpoint is written every `save_every` deliveries, not after each one: a crash in
between delivers those events again, which at-least-once allows (receivers drop repeats
by event id).
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from cqrs_cli.bus.backoff import Backoff
from cqrs_cli.bus.checkpoints import SubscriberCheckpoints
from cqrs_cli.bus.dead_letters import DeadLetters
from cqrs_cli.bus.subscriber import Subscriber
from cqrs_cli.store.files import Store
from cqrs_cli.store.log import RecordedEvent

CAUGHT_UP, PAUSED, OUT_OF_TIME, WAS_PAUSED = "caught_up", "paused", "out_of_time", "was_paused"


@dataclass(frozen=True)
class Pacing:
    """The clock, the sleep and the dice of a run (tests give their own)."""

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    rng: Callable[[], float] = random.random
    backoff: Backoff = field(default_factory=Backoff)
    save_every: int = 200


@dataclass(frozen=True)
class RunReport:
    subscriber: str
    outcome: str  # caught_up / paused / out_of_time / was_paused
    delivered: int
    position: int  # the checkpoint after the run
    left: int  # events of its types still to deliver (0 when caught up)
    failures: int = 0  # failed attempts at the event it stopped on (this run and before)
    error: str | None = None  # the last failure, if any
    error_position: int | None = None
    error_type: str | None = None


class _Stop(Exception):
    def __init__(self, outcome: str) -> None:
        self.outcome = outcome


def deliver(
    store: Store, subscriber: Subscriber, *, deadline: float, pacing: Pacing | None = None
) -> RunReport:
    """Deliver what `subscriber` has not had yet, until caught up, paused or `deadline`."""
    return _Run(store, subscriber, deadline, pacing or Pacing()).run()


def pending(store: Store, types: frozenset[str] | None, after: int, head: int) -> int:
    """How many events of `types` lie in (after, head]."""
    return store.log.count(after=after, until=head, types=types)


class _Run:
    def __init__(self, store: Store, sub: Subscriber, deadline: float, pacing: Pacing) -> None:
        self.store, self.sub, self.deadline, self.pacing = store, sub, deadline, pacing
        self.checkpoints = SubscriberCheckpoints(store)
        self.delivered = 0
        self.unsaved = 0
        self.failures = 0
        self.error: str | None = None
        self.failed_event: RecordedEvent | None = None

    def run(self) -> RunReport:
        name = self.sub.name
        checkpoint = self.checkpoints.get(name)
        if checkpoint is None:
            raise LookupError(f"subscriber {name} has no checkpoint")
        self.position = checkpoint.position
        head = self.store.log.head()
        if checkpoint.paused:
            return self._report(WAS_PAUSED, head, checkpoint.error, checkpoint.error_position)
        self.failures = checkpoint.failures
        self.error = checkpoint.error
        try:
            events = self.store.log.read_all(
                self.position, types=self.sub.types, before_position=head + 1
            )
            for event in events:
                if self.sub.wants(event):
                    self._deliver(event)
                else:
                    if self.failures:  # the event it failed on is no longer wanted
                        self._forget_failures()
                    # A filter may take time of its own (what one user could see): the
                    # budget holds while events are only looked at, too.
                    if self.pacing.clock() >= self.deadline:
                        self.position = event.position
                        self._stop_for_time(event)
                self.position = event.position
                if self.unsaved >= self.pacing.save_every:
                    self._save()
        except _Stop as stop:
            return self._report(stop.outcome, head)
        except BaseException:
            # Ctrl-C, or a bug: keep what was delivered, so fewer events come twice.
            with contextlib.suppress(Exception):
                self._save()
            raise
        self.position = max(self.position, head)
        self._save()
        return self._report(CAUGHT_UP, head)

    def _deliver(self, event: RecordedEvent) -> None:
        pacing = self.pacing
        while True:
            if pacing.clock() >= self.deadline:
                self._stop_for_time(event)
            outcome = self.sub.deliver(event, self.deadline - pacing.clock())
            if outcome.ok:
                self.delivered += 1
                self.unsaved += 1
                if self.failures:
                    self._forget_failures()
                return
            if outcome.cut_short:
                self._stop_for_time(event)
            self.failures += 1
            self.error = outcome.error
            self.failed_event = event
            if not outcome.retryable or self.failures >= self.sub.max_attempts:
                self._dead_letter(event, outcome.error)
            wait = pacing.backoff.delay(self.failures, pacing.rng, outcome.retry_after)
            if pacing.clock() + wait >= self.deadline:
                self._stop_for_time(event)
            pacing.sleep(wait)

    def _forget_failures(self) -> None:
        self.failures, self.error, self.failed_event = 0, None, None
        self.unsaved = self.pacing.save_every  # saved at once: the row forgets them too

    def _stop_for_time(self, event: RecordedEvent) -> None:
        if self.failures:
            self.failed_event = event
            self.checkpoints.failing(
                self.sub.name, self.position, self.failures, self.error or "", event.position
            )
        else:
            self._save()
        raise _Stop(OUT_OF_TIME)

    def _dead_letter(self, event: RecordedEvent, error: str) -> None:
        with self.store.transaction():
            DeadLetters(self.store).add(self.sub.name, event, error, self.failures)
            self.checkpoints.pause(self.sub.name, self.position, error, event.position)
        raise _Stop(PAUSED)

    def _save(self) -> None:
        if self.failures:
            return  # `failing` or `pause` wrote the row
        self.checkpoints.advance(self.sub.name, self.position)
        self.unsaved = 0

    def _report(
        self, outcome: str, head: int, error: str | None = None, at: int | None = None
    ) -> RunReport:
        left = (
            0 if outcome == CAUGHT_UP else pending(self.store, self.sub.types, self.position, head)
        )
        report = RunReport(self.sub.name, outcome, self.delivered, self.position, left)
        if outcome == CAUGHT_UP:
            return report
        if outcome != WAS_PAUSED:
            error = self.error
            at = self.failed_event.position if self.failed_event else None
        event_type = None
        if at is not None:
            found = list(self.store.log.read_all(at - 1, limit=1))
            event_type = found[0].type if found else None
        failures = 0 if outcome == WAS_PAUSED else self.failures
        return replace(
            report, failures=failures, error=error, error_position=at, error_type=event_type
        )


def resume(
    store: Store, subscriber: Subscriber, *, deadline: float, pacing: Pacing | None = None
) -> RunReport:
    """Unpause `subscriber` and deliver from its checkpoint: its dead letter first (the
    event it paused on), then what followed. A dead letter the checkpoint got past leaves
    the table; one that fails again stays, its attempts added up, and pauses it again."""
    SubscriberCheckpoints(store).resume(subscriber.name)
    report = deliver(store, subscriber, deadline=deadline, pacing=pacing)
    letters = DeadLetters(store)
    for letter in letters.of(subscriber.name):
        if letter.position <= report.position:
            letters.remove(letter.id)
    return report
