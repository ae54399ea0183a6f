"""The in-process event bus: handlers called with the events a sync just appended
(docs/architecture.md: Subscribers).

Projections catch up from the log by checkpoint, and after-commit subscribers such as
webhooks have checkpoints of their own (`delivery.py`); the handlers here have none: they
hear of what this process appended, once it committed.

Handlers subscribe per event type or to all; sync handlers run in subscription order,
async ones run concurrently. Each handler is isolated: a failure is retried with
exponential backoff, and an event that keeps failing goes to the dead-letter table with
the error and the attempt count, while the other handlers go on.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cqrs_cli.bus.dead_letters import DeadLetter, DeadLetters
from cqrs_cli.store.log import RecordedEvent

SyncHandler = Callable[[RecordedEvent], Any]
AsyncHandler = Callable[[RecordedEvent], Awaitable[Any]]


@dataclass(frozen=True)
class Subscription:
    name: str
    handler: SyncHandler | AsyncHandler
    types: frozenset[str] | None  # None: every event
    is_async: bool

    def wants(self, event: RecordedEvent) -> bool:
        return self.types is None or event.type in self.types


@dataclass(frozen=True)
class Failure:
    handler: str
    event: RecordedEvent
    error: str
    attempts: int


class EventBus:
    def __init__(
        self,
        *,
        retries: int = 3,
        backoff: float = 0.05,
        sleep: Callable[[float], None] = time.sleep,
        async_sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        dead_letters: DeadLetters | None = None,
    ) -> None:
        self.retries = retries
        self.backoff = backoff
        self._sleep = sleep
        self._async_sleep = async_sleep
        self.dead_letters = dead_letters
        self._subs: dict[str, Subscription] = {}

    def subscribe(
        self,
        handler: SyncHandler | AsyncHandler,
        types: str | Iterable[str] | None = None,
        *,
        name: str | None = None,
    ) -> Subscription:
        """Subscribe to one type, several, or (None) every event. Names must be unique:
        dead letters refer to handlers by name."""
        key: str = name or str(getattr(handler, "__qualname__", repr(handler)))
        if key in self._subs:
            raise ValueError(f"a handler named {key!r} is already subscribed")
        wanted = frozenset([types] if isinstance(types, str) else types) if types else None
        sub = Subscription(key, handler, wanted, inspect.iscoroutinefunction(handler))
        self._subs[key] = sub
        return sub

    @property
    def has_subscribers(self) -> bool:
        return bool(self._subs)

    def unsubscribe(self, name: str) -> None:
        self._subs.pop(name, None)

    def handler(self, name: str) -> Subscription | None:
        return self._subs.get(name)

    def _delays(self) -> list[float]:
        return [self.backoff * 2**i for i in range(self.retries)]

    def publish(self, events: Sequence[RecordedEvent]) -> list[Failure]:
        """Deliver events in order; return the deliveries that failed for good."""
        failures: list[Failure] = []
        for event in events:
            subs = [s for s in self._subs.values() if s.wants(event)]
            for sub in subs:
                if not sub.is_async:
                    failure = self._call(sub, event)
                    if failure:
                        failures.append(failure)
            jobs = [s for s in subs if s.is_async]
            if jobs:
                failures.extend(f for f in asyncio.run(self._gather(jobs, event)) if f)
        for failure in failures:
            if self.dead_letters is not None:
                self.dead_letters.add(
                    failure.handler, failure.event, failure.error, failure.attempts
                )
        return failures

    def _call(self, sub: Subscription, event: RecordedEvent) -> Failure | None:
        delays = self._delays()
        attempts = 0
        while True:
            attempts += 1
            try:
                sub.handler(event)
                return None
            except Exception as exc:
                if attempts > len(delays):
                    return Failure(sub.name, event, f"{type(exc).__name__}: {exc}", attempts)
                self._sleep(delays[attempts - 1])

    async def _gather(self, subs: list[Subscription], event: RecordedEvent) -> list[Failure | None]:
        return list(await asyncio.gather(*(self._call_async(s, event) for s in subs)))

    async def _call_async(self, sub: Subscription, event: RecordedEvent) -> Failure | None:
        delays = self._delays()
        attempts = 0
        while True:
            attempts += 1
            try:
                await sub.handler(event)
                return None
            except Exception as exc:
                if attempts > len(delays):
                    return Failure(sub.name, event, f"{type(exc).__name__}: {exc}", attempts)
                await self._async_sleep(delays[attempts - 1])

    def retry_dead_letters(self, letters: Iterable[DeadLetter] | None = None) -> RetryReport:
        """Deliver each dead letter (all, or `letters`) again to its handler; delivered
        ones leave the table."""
        report = RetryReport()
        if self.dead_letters is None:
            return report
        for letter in self.dead_letters.all() if letters is None else letters:
            sub = self._subs.get(letter.handler)
            event = self.dead_letters.event(letter)
            if sub is None or event is None:
                report.skipped.append(letter)
                continue
            if sub.is_async:
                failure = asyncio.run(self._call_async(sub, event))
            else:
                failure = self._call(sub, event)
            if failure is None:
                self.dead_letters.remove(letter.id)
                report.delivered.append(letter)
            else:
                self.dead_letters.add(failure.handler, event, failure.error, failure.attempts)
                report.failed.append(letter)
        return report


@dataclass
class RetryReport:
    delivered: list[DeadLetter]
    failed: list[DeadLetter]
    skipped: list[DeadLetter]  # handler not subscribed in this process, or event missing

    def __init__(self) -> None:
        self.delivered, self.failed, self.skipped = [], [], []


# Handlers the CLI subscribes in every process, so `cqrs dead-letters --retry` can
# deliver to them again. Other parts of the program add theirs with `register`.
_REGISTRY: dict[str, tuple[SyncHandler | AsyncHandler, frozenset[str] | None]] = {}


def register(
    name: str, handler: SyncHandler | AsyncHandler, types: Iterable[str] | None = None
) -> None:
    _REGISTRY[name] = (handler, frozenset(types) if types is not None else None)


def default_bus(dead_letters: DeadLetters | None = None, **options: Any) -> EventBus:
    bus = EventBus(dead_letters=dead_letters, **options)
    for name, (handler, types) in _REGISTRY.items():
        bus.subscribe(handler, types, name=name)
    return bus
