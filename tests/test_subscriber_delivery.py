"""The delivery loop of an after-commit subscriber, with a subscriber written here (no
HTTP): any object with a name, types, max attempts, `wants` and `deliver` is one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cqrs_cli.bus.checkpoints import SubscriberCheckpoints
from cqrs_cli.bus.delivery import CAUGHT_UP, OUT_OF_TIME, Pacing, deliver
from cqrs_cli.bus.subscriber import DELIVERED, Outcome, retry
from cqrs_cli.store.files import Store
from cqrs_cli.store.log import RecordedEvent
from tests.read_support import Org, new_store

NAME = "test:1"


class Recorder:
    def __init__(self, answer: Callable[[RecordedEvent], Outcome]) -> None:
        self.answer = answer
        self.seen: list[int] = []
        self.wanted: Callable[[RecordedEvent], bool] = lambda e: True
        self.name, self.types, self.max_attempts = NAME, None, 3

    def wants(self, event: RecordedEvent) -> bool:
        return self.wanted(event)

    def deliver(self, event: RecordedEvent, time_left: float) -> Outcome:
        self.seen.append(event.position)
        return self.answer(event)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = new_store(tmp_path)
    with s.transaction() as conn:
        SubscriberCheckpoints(s).start(conn, NAME, 0)
    org = Org(s)
    for oid in range(1, 11):
        org.opp(oid, None)
    yield s
    s.close()


def position(store: Store) -> int:
    found = SubscriberCheckpoints(store).get(NAME)
    assert found is not None
    return found.position


def test_an_interrupted_run_keeps_what_was_delivered(store: Store) -> None:
    def answer(event: RecordedEvent) -> Outcome:
        if event.position == 5:
            raise KeyboardInterrupt
        return DELIVERED

    sub = Recorder(answer)
    with pytest.raises(KeyboardInterrupt):
        deliver(store, sub, deadline=float("inf"), pacing=Pacing(save_every=1000))
    assert position(store) == 4  # not 0: events 1-4 will not come again


def test_failures_on_an_event_no_longer_wanted_are_forgotten(store: Store) -> None:
    sub = Recorder(lambda e: retry("down") if e.position == 3 else DELIVERED)
    clock = iter(range(1000))
    # Out of time after the first failure at event 3 (the backoff does not fit).
    run = deliver(store, sub, deadline=6, pacing=Pacing(clock=lambda: next(clock)))
    assert run.outcome == OUT_OF_TIME and run.failures == 1 and position(store) == 2
    sub.wanted = lambda e: e.position < 3  # a filter that now leaves it, and all after, out
    done = deliver(store, sub, deadline=float("inf"), pacing=Pacing(sleep=lambda s: None))
    assert done.outcome == CAUGHT_UP and position(store) == 10
    checkpoint = SubscriberCheckpoints(store).get(NAME)
    assert checkpoint is not None and checkpoint.failures == 0 and checkpoint.error is None
    assert sub.seen == [1, 2, 3]
