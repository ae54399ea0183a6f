"""The in-process bus: per-type and catch-all subscriptions, sync and async handlers,
isolation, retries with backoff, dead letters and retrying them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cqrs_cli.bus.dead_letters import DeadLetters
from cqrs_cli.bus.event_bus import EventBus
from cqrs_cli.store.files import Store
from cqrs_cli.store.log import RecordedEvent
from tests.read_support import Org, new_store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = new_store(tmp_path)
    org = Org(s)
    org.user(5, "ann", ["sales_team.group_sale_salesman"])
    org.opp(1, 5)
    org.opp(2, None)
    return s


def events(store: Store) -> list[RecordedEvent]:
    return list(store.log.read_all())


def test_per_type_and_catch_all(store: Store) -> None:
    bus = EventBus()
    typed: list[str] = []
    every: list[int] = []
    bus.subscribe(lambda e: typed.append(e.stream_id), "OdooOpportunityCreated", name="typed")
    bus.subscribe(lambda e: every.append(e.position), name="all")
    assert bus.publish(events(store)) == []
    assert typed == ["1", "2"] and every == [1, 2, 3]
    with pytest.raises(ValueError, match="already subscribed"):
        bus.subscribe(print, name="all")


def test_async_handlers_run_concurrently(store: Store) -> None:
    running = 0
    peak = 0

    async def slow(_: RecordedEvent) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1

    bus = EventBus()
    bus.subscribe(slow, name="a")

    async def slow_b(e: RecordedEvent) -> None:
        await slow(e)

    bus.subscribe(slow_b, name="b")
    assert bus.publish(events(store)[:1]) == []
    assert peak == 2


def test_failing_handler_is_isolated_retried_and_dead_lettered(store: Store) -> None:
    slept: list[float] = []
    calls: list[str] = []

    def broken(e: RecordedEvent) -> None:
        calls.append("broken")
        raise RuntimeError(f"cannot handle {e.type}")

    letters = DeadLetters(store)
    bus = EventBus(retries=3, backoff=0.5, sleep=slept.append, dead_letters=letters)
    bus.subscribe(broken, "OdooUserCreated", name="broken")
    bus.subscribe(lambda e: calls.append("fine"), name="fine")
    failures = bus.publish(events(store))
    assert [f.handler for f in failures] == ["broken"]
    assert slept == [0.5, 1.0, 2.0]  # exponential backoff between the 4 attempts
    assert calls.count("broken") == 4 and calls.count("fine") == 3
    [letter] = letters.all()
    assert (letter.handler, letter.position, letter.event_type, letter.attempts) == (
        "broken",
        1,
        "OdooUserCreated",
        4,
    )
    assert letter.error == "RuntimeError: cannot handle OdooUserCreated"


def test_async_failure_retries_with_async_sleep(store: Store) -> None:
    waits: list[float] = []
    attempts = 0

    async def pause(seconds: float) -> None:
        waits.append(seconds)

    async def flaky(_: RecordedEvent) -> None:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise ConnectionError("try again")

    bus = EventBus(retries=3, backoff=0.1, async_sleep=pause)
    bus.subscribe(flaky, name="flaky")
    assert bus.publish(events(store)[:1]) == []  # third attempt works: no dead letter
    assert attempts == 3 and waits == pytest.approx([0.1, 0.2])


def test_retry_dead_letters(store: Store) -> None:
    letters = DeadLetters(store)
    healthy = False
    seen: list[int] = []

    def sometimes(e: RecordedEvent) -> None:
        if not healthy:
            raise RuntimeError("down")
        seen.append(e.position)

    bus = EventBus(retries=1, sleep=lambda s: None, dead_letters=letters)
    bus.subscribe(sometimes, "OdooOpportunityCreated", name="sometimes")
    bus.publish(events(store))
    assert [(x.position, x.attempts) for x in letters.all()] == [(2, 2), (3, 2)]
    again = bus.retry_dead_letters()
    assert len(again.failed) == 2 and [x.attempts for x in letters.all()] == [4, 4]
    healthy = True
    done = bus.retry_dead_letters()
    assert len(done.delivered) == 2 and letters.all() == [] and seen == [2, 3]


def test_dead_letters_command(store: Store) -> None:
    letters = DeadLetters(store)
    letters.add("gone", events(store)[0], "ValueError: boom", 4)
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    base = [sys.executable, "-m", "cqrs_cli", "--db", str(store.path), "dead-letters"]
    listed = subprocess.run(
        [*base, "--format", "json"], env=env, capture_output=True, text=True, check=True
    )
    [row] = json.loads(listed.stdout)
    assert (row["handler"], row["attempts"], row["error"]) == ("gone", 4, "ValueError: boom")
    retried = subprocess.run(
        [*base, "--retry", "--format", "json"], env=env, capture_output=True, text=True, check=True
    )
    assert "1 kept" in retried.stderr  # no handler named "gone" here: kept, not dropped
    assert len(json.loads(retried.stdout)) == 1
