"""Webhook delivery through the library, to a real HTTP receiver on 127.0.0.1: CloudEvents
in log order, a checkpoint per webhook, retries with backoff and jitter, dead letters and
pausing, resuming, the time budget, signing, and the HTTP client's keep-alive and
deadlines."""

from __future__ import annotations

import itertools
import random
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_http_event

from cqrs_cli.bus.backoff import Backoff
from cqrs_cli.bus.checkpoints import SubscriberCheckpoints
from cqrs_cli.bus.dead_letters import DeadLetters
from cqrs_cli.bus.delivery import CAUGHT_UP, OUT_OF_TIME, PAUSED, WAS_PAUSED, Pacing
from cqrs_cli.bus.webhooks.http import HttpClient, Response, TransportError
from cqrs_cli.bus.webhooks.registry import Webhook, Webhooks
from cqrs_cli.bus.webhooks.run import LOCK, deliver_pending, retry_dead_letters
from cqrs_cli.bus.webhooks.subscriber import judge
from cqrs_cli.store.files import Store
from cqrs_cli.store.locks import hold
from cqrs_cli.store.log import RecordedEvent
from tests.conftest import REPO
from tests.read_support import Org, new_store
from tests.webhook_receiver import (
    CLOSE,
    DIE,
    DRIP,
    FAIL,
    GONE,
    OK,
    SLOW,
    THROTTLE,
    Receiver,
    RefusingPort,
)


class Sleeps:
    """An injected sleep: records the delays, waits for none of them."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def pacing(sleeps: Sleeps | None = None, *, seed: int = 7) -> Pacing:
    return Pacing(sleep=sleeps or Sleeps(), rng=random.Random(seed).random)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = new_store(tmp_path)
    org = Org(s)
    org.user(5, "ann")
    org.opp(1, 5)
    yield s
    s.close()


def more_events(store: Store, count: int, start: int = 100) -> list[RecordedEvent]:
    """`count` new opportunities; the events they appended."""
    head = store.log.head()
    org = Org(store)
    for oid in range(start, start + count):
        org.opp(oid, None)
    return list(store.log.read_all(head))


def add(store: Store, url: str, **options: Any) -> Webhook:
    webhook, _ = Webhooks(store).add(url, **options)
    return webhook


def checkpoint(store: Store, webhook: Webhook) -> Any:
    return SubscriberCheckpoints(store).get(webhook.subscriber)


def test_a_new_webhook_gets_only_new_events_in_log_order_as_cloudevents(
    store: Store, receiver: Receiver
) -> None:
    old_head = store.log.head()
    webhook, start = Webhooks(store).add(receiver.url)
    assert start == old_head == 2
    new = more_events(store, 5)

    report = deliver_pending(store, pacing=pacing())

    [run] = report.runs
    assert run.run is not None and run.run.outcome == CAUGHT_UP and run.run.delivered == 5
    got = receiver.accepted()
    assert [e["id"] for e in got] == [e.event_id for e in new]  # the old two never sent
    first_hash = store.conn.execute("SELECT hash FROM events WHERE position = 1").fetchone()[0]
    for body, request, event in zip(got, receiver.requests, new, strict=True):
        assert request.headers["Content-Type"] == "application/cloudevents+json; charset=utf-8"
        parsed = from_http_event(HTTPMessage(request.headers, request.body))  # valid CloudEvent
        assert parsed.get_id() == event.event_id and parsed.get_specversion() == "1.0"
        assert body == {
            "specversion": "1.0",
            "id": event.event_id,
            "source": f"urn:cqrs:log:{first_hash[:32]}",
            "type": "OdooOpportunityCreated",
            "subject": f"crm.lead:{event.stream_id}",
            "time": body["time"],
            "datacontenttype": "application/json",
            "cqrsposition": event.position,
            "data": event.data,
        }
        assert datetime.fromisoformat(body["time"]) == datetime.fromisoformat(event.recorded_at)
        assert "X-Cqrs-Signature" not in request.headers  # no key, no signature
    assert str(store.path) not in str(got) and "cqrs.db" not in str(got)
    assert checkpoint(store, webhook).position == store.log.head()
    assert deliver_pending(store, pacing=pacing()).runs[0].run.delivered == 0  # type: ignore[union-attr]
    assert len(receiver.requests) == 5


def test_a_type_filter_sends_only_those_types_and_the_checkpoint_reaches_the_head(
    store: Store, receiver: Receiver
) -> None:
    webhook = add(store, receiver.url, types=frozenset({"OdooOpportunityUpdated"}))
    org = Org(store)
    org.opp(50, None)  # created: not wanted
    org.put("crm.lead", id=50, name="Renamed")
    org.user(6, "bob")  # not wanted either, and last in the log
    report = deliver_pending(store, pacing=pacing())
    assert [e["type"] for e in receiver.accepted()] == ["OdooOpportunityUpdated"]
    assert [e["data"]["record"]["name"] for e in receiver.accepted()] == ["Renamed"]
    assert report.runs[0].run is not None and report.runs[0].run.position == store.log.head()
    assert checkpoint(store, webhook).position == store.log.head()


def test_5xx_is_retried_with_growing_jittered_delays_then_dead_lettered_and_paused(
    store: Store, receiver: Receiver
) -> None:
    webhook = add(store, receiver.url, max_attempts=4)
    first, *_rest = more_events(store, 3)
    receiver.mode = FAIL
    sleeps = Sleeps()

    report = deliver_pending(store, pacing=pacing(sleeps))

    run = report.runs[0].run
    assert run is not None and run.outcome == PAUSED and run.failures == 4
    assert (run.error_position, run.error_type, run.left) == (first.position, first.type, 3)
    assert run.error == "HTTP 500 Internal Server Error: receiver says no"
    # Four attempts at the first event, none at the ones after it: order before speed.
    assert [r.event["id"] for r in receiver.requests] == [first.event_id] * 4
    assert_backoff(sleeps.delays, Backoff())
    [letter] = DeadLetters(store).all()
    assert (letter.handler, letter.position, letter.attempts) == (
        webhook.subscriber,
        first.position,
        4,
    )
    assert letter.error == run.error
    cp = checkpoint(store, webhook)
    assert cp.paused and cp.position == first.position - 1

    receiver.mode = OK  # healthy again, but paused: a sync delivers nothing
    again = deliver_pending(store, pacing=pacing()).runs[0].run
    assert again is not None and again.outcome == WAS_PAUSED and again.left == 3
    assert len(receiver.requests) == 4


def assert_backoff(delays: list[float], backoff: Backoff) -> None:
    """Each delay lies between half its nominal value and all of it, the nominal value
    doubles, and the delays are not the nominal values themselves (jitter)."""
    assert len(delays) >= 2
    for failures, delay in enumerate(delays, 1):
        nominal = backoff.nominal(failures)
        assert nominal / 2 <= delay <= nominal, (failures, delay)
    assert [backoff.nominal(n) for n in range(1, len(delays) + 1)] == [
        backoff.base * 2**i for i in range(len(delays))
    ]
    assert all(later >= earlier for earlier, later in itertools.pairwise(delays))
    assert any(delay != backoff.nominal(n) for n, delay in enumerate(delays, 1))


def test_backoff_bounds_cap_and_retry_after() -> None:
    backoff = Backoff(base=0.5, cap=4.0)
    assert backoff.delay(1, lambda: 0.0) == 0.25 and backoff.delay(1, lambda: 0.999) < 0.5
    assert [backoff.nominal(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    rng = random.Random(1).random
    draws = [backoff.delay(3, rng) for _ in range(200)]
    assert min(draws) >= 1.0 and max(draws) <= 2.0 and len(set(draws)) > 100
    assert backoff.delay(1, lambda: 0.0, retry_after=3) == 3  # the receiver asked
    assert backoff.delay(1, lambda: 0.0, retry_after=600) == 4.0  # but never past the cap


def test_429_honours_retry_after_and_then_delivers(store: Store, receiver: Receiver) -> None:
    add(store, receiver.url)
    [event] = more_events(store, 1)
    receiver.script.extend([THROTTLE, THROTTLE])
    receiver.retry_after = "2"
    sleeps = Sleeps()
    run = deliver_pending(store, pacing=pacing(sleeps)).runs[0].run
    assert run is not None and run.outcome == CAUGHT_UP and run.delivered == 1
    assert [r.status for r in receiver.requests] == [429, 429, 204]
    assert sleeps.delays[0] == 2 and sleeps.delays[1] >= 2
    assert receiver.unique_ids() == [event.event_id]


def test_410_is_a_dead_letter_at_once(store: Store, receiver: Receiver) -> None:
    webhook = add(store, receiver.url)
    _first, _ = more_events(store, 2)
    receiver.mode = GONE
    sleeps = Sleeps()
    run = deliver_pending(store, pacing=pacing(sleeps)).runs[0].run
    assert run is not None and run.outcome == PAUSED and run.failures == 1
    assert len(receiver.requests) == 1 and sleeps.delays == []
    [letter] = DeadLetters(store).all()
    assert letter.attempts == 1 and letter.error.startswith("HTTP 410 Gone")
    assert checkpoint(store, webhook).paused


def test_a_refused_connection_is_retried_then_dead_lettered(store: Store) -> None:
    closed = RefusingPort()
    add(store, closed.url, max_attempts=3)
    more_events(store, 2)
    sleeps = Sleeps()
    run = deliver_pending(store, pacing=pacing(sleeps)).runs[0].run
    closed.release()
    assert run is not None and run.outcome == PAUSED and run.error == "connection refused"
    assert len(sleeps.delays) == 2
    [letter] = DeadLetters(store).all()
    assert letter.attempts == 3 and letter.error == "connection refused"


def test_a_receiver_that_does_not_answer_in_time_is_retried(
    store: Store, receiver: Receiver
) -> None:
    add(store, receiver.url, timeout=0.3, max_attempts=2)
    [event] = more_events(store, 1)
    receiver.script.append(SLOW)  # the first attempt times out, the second is answered
    started = time.monotonic()
    run = deliver_pending(store, pacing=pacing()).runs[0].run
    assert time.monotonic() - started < 4.5  # the slow answer comes after 5 s
    assert run is not None and run.outcome == CAUGHT_UP and run.delivered == 1
    assert receiver.unique_ids() == [event.event_id]


def test_retrying_the_dead_letter_resumes_the_webhook_in_order(
    store: Store, receiver: Receiver
) -> None:
    webhook = add(store, receiver.url, max_attempts=2)
    events = more_events(store, 6)
    receiver.script.extend([OK, OK, FAIL, FAIL])  # the third event fails twice: paused
    run = deliver_pending(store, pacing=pacing()).runs[0].run
    assert run is not None and run.outcome == PAUSED and run.error_position == events[2].position
    assert len(DeadLetters(store).all()) == 1

    receiver.script.append(FAIL)  # still failing at the first retry...
    receiver.script.append(FAIL)
    again = retry_dead_letters(store, pacing=pacing()).runs[0].run
    assert again is not None and again.outcome == PAUSED
    [letter] = DeadLetters(store).all()
    assert letter.attempts == 4  # the attempts add up

    resumed = retry_dead_letters(store, pacing=pacing()).runs[0].run  # ... healthy now
    assert resumed is not None and resumed.outcome == CAUGHT_UP and resumed.delivered == 4
    assert DeadLetters(store).all() == []
    assert receiver.unique_ids() == [e.event_id for e in events]
    cp = checkpoint(store, webhook)
    assert not cp.paused and cp.position == store.log.head() and cp.error is None


def test_each_event_once_per_id_across_a_receiver_restart(store: Store, receiver: Receiver) -> None:
    add(store, receiver.url, max_attempts=3)
    events = more_events(store, 12)
    # A 500 after handling the event (it comes again), then the receiver dies in the middle
    # of a request it had recorded but not answered (it comes again too).
    receiver.script.extend([OK, OK, FAIL, OK, OK, DIE])
    first = deliver_pending(store, pacing=pacing()).runs[0].run
    assert first is not None and first.outcome == PAUSED and first.error == "connection refused"

    receiver.restart()  # the same port, a fresh process as far as the client can tell
    second = retry_dead_letters(store, pacing=pacing()).runs[0].run
    assert second is not None and second.outcome == CAUGHT_UP

    all_ids = [r.event["id"] for r in receiver.requests]
    assert len(all_ids) > len(set(all_ids))  # some came twice...
    assert receiver.unique_ids() == [e.event_id for e in events]  # ...each once by id, in order
    positions = [e["cqrsposition"] for e in receiver.accepted()]
    assert positions == sorted(positions)  # and never out of order


def test_the_budget_stops_delivery_and_the_next_run_goes_on(
    store: Store, receiver: Receiver
) -> None:
    webhook = add(store, receiver.url)
    events = more_events(store, 30)
    clock = FakeClock(step=1.0)  # each look at the clock: one second later
    run = deliver_pending(store, budget=10, pacing=Pacing(clock=clock)).runs[0].run
    assert run is not None and run.outcome == OUT_OF_TIME
    assert 0 < run.delivered < 30 and run.left == 30 - run.delivered
    assert checkpoint(store, webhook).position == events[run.delivered - 1].position
    rest = deliver_pending(store, pacing=pacing()).runs[0].run
    assert rest is not None and rest.outcome == CAUGHT_UP
    assert receiver.unique_ids() == [e.event_id for e in events]
    assert len(receiver.requests) == 30  # the checkpoint was saved where it stopped


def test_failures_cut_short_by_the_budget_count_at_the_next_run(
    store: Store, receiver: Receiver
) -> None:
    webhook = add(store, receiver.url, max_attempts=3)
    more_events(store, 2)
    receiver.mode = FAIL
    clock = FakeClock(step=0.0)
    # The first backoff (0.25 to 0.5 s) does not fit in a 0.2 s budget: stop after one.
    run = deliver_pending(store, budget=0.2, pacing=Pacing(clock=clock)).runs[0].run
    assert run is not None and run.outcome == OUT_OF_TIME and run.failures == 1
    assert checkpoint(store, webhook).failures == 1
    later = deliver_pending(store, pacing=pacing()).runs[0].run
    assert later is not None and later.outcome == PAUSED
    assert len(receiver.requests) == 3  # 1 + 2 more: three attempts in all
    assert DeadLetters(store).all()[0].attempts == 3


class FakeClock:
    def __init__(self, step: float) -> None:
        self.now, self.step = 1000.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


def test_the_budget_is_shared_so_a_down_receiver_cannot_starve_the_others(
    store: Store, receiver: Receiver
) -> None:
    slow = Receiver().start()
    slow.mode = SLOW
    slow.slow_seconds = 10
    try:
        add(store, slow.url, timeout=5)
        add(store, receiver.url)
        events = more_events(store, 3)
        started = time.monotonic()
        report = deliver_pending(store, budget=1.0, pacing=pacing())
        assert time.monotonic() - started < 4  # less than the slow webhook's 5 s timeout
    finally:
        slow.stop()
    stuck, fine = (r.run for r in report.runs)
    assert stuck is not None and stuck.outcome == OUT_OF_TIME and stuck.failures == 0
    assert fine is not None and fine.outcome == CAUGHT_UP
    assert receiver.unique_ids() == [e.event_id for e in events]


def docs_verify() -> Callable[..., bool]:
    """The `verify` function of docs/webhooks.md, run as it is printed there."""
    text = (REPO / "docs" / "webhooks.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "def verify" in b)
    namespace: dict[str, Any] = {}
    exec(block, namespace)
    verify: Callable[..., bool] = namespace["verify"]
    return verify


def test_requests_are_signed_and_the_documented_recipe_checks_them(
    store: Store, receiver: Receiver
) -> None:
    add(store, receiver.url, secret_env="HOOK_KEY")
    more_events(store, 3)
    receiver.script.append(FAIL)  # a retry is signed anew
    key = "k3y-" + "x" * 40
    deliver_pending(store, environ={"HOOK_KEY": key}, pacing=pacing())
    verify = docs_verify()
    assert len(receiver.requests) == 4
    for request in receiver.requests:
        assert verify(key.encode(), request.headers, request.body)
        assert not verify(b"another key", request.headers, request.body)
        assert not verify(key.encode(), request.headers, request.body + b" ")
        stamp = int(request.headers["X-Cqrs-Timestamp"])
        assert abs(stamp - time.time()) < 60
        assert not verify(key.encode(), request.headers, request.body, now=stamp + 301)
        forged = {**request.headers, "X-Cqrs-Timestamp": str(stamp + 1)}  # replayed later
        assert not verify(key.encode(), forged, request.body, now=stamp + 1)
    assert key not in store.path.read_bytes().decode("latin-1")


def test_a_missing_key_skips_the_webhook_and_its_events_wait(
    store: Store, receiver: Receiver
) -> None:
    webhook = add(store, receiver.url, secret_env="HOOK_KEY")
    events = more_events(store, 2)
    [skipped] = deliver_pending(store, environ={}, pacing=pacing()).runs
    assert skipped.skipped is not None and "HOOK_KEY" in skipped.skipped
    assert skipped.waiting == 2 and receiver.requests == []
    assert checkpoint(store, webhook).position == events[0].position - 1
    deliver_pending(store, environ={"HOOK_KEY": "k"}, pacing=pacing())
    assert receiver.unique_ids() == [e.event_id for e in events]


def test_one_process_delivers_at_a_time(store: Store, receiver: Receiver) -> None:
    add(store, receiver.url)
    more_events(store, 2)
    with hold(store.path, LOCK, command="cqrs sync --demo"):
        report = deliver_pending(store, pacing=pacing())
    assert report.busy is not None and "cqrs sync --demo" in report.busy
    assert receiver.requests == []
    assert deliver_pending(store, pacing=pacing()).runs[0].run.delivered == 2  # type: ignore[union-attr]


def test_removing_a_webhook_takes_its_checkpoint_and_dead_letters(
    store: Store, receiver: Receiver
) -> None:
    webhooks = Webhooks(store)
    webhook = add(store, receiver.url, name="gone")
    keep = add(store, receiver.url, name="kept")
    more_events(store, 1)
    receiver.mode = GONE
    deliver_pending(store, pacing=pacing())
    assert len(DeadLetters(store).all()) == 2
    assert webhooks.remove(webhooks.find("gone")) == 1
    assert checkpoint(store, webhook) is None and checkpoint(store, keep) is not None
    assert [x.handler for x in DeadLetters(store).all()] == [keep.subscriber]
    assert [w.name for w in webhooks.all()] == ["kept"]


def test_the_client_keeps_one_connection_alive_and_reconnects_when_closed(
    receiver: Receiver,
) -> None:
    with HttpClient() as client:
        for _ in range(20):
            assert client.post(receiver.url, b"{}", {}, timeout=2).status == 204
        assert receiver.connections == 1
        receiver.script.append(CLOSE)  # the receiver ends the connection after answering
        for _ in range(3):
            assert client.post(receiver.url, b"{}", {}, timeout=2).status == 204
        assert receiver.connections == 2
        receiver.restart()  # an idle kept-alive connection the receiver dropped
        assert client.post(receiver.url, b"{}", {}, timeout=2).status == 204
        assert receiver.connections == 3


def test_the_client_ends_a_request_at_its_deadline_even_against_a_drip(
    receiver: Receiver,
) -> None:
    receiver.mode = DRIP  # a byte every 50 ms: no single read ever times out
    started = time.monotonic()
    with HttpClient() as client, pytest.raises(TransportError) as caught:
        client.post(receiver.url, b"{}", {}, timeout=0.5)
    assert caught.value.timed_out
    assert time.monotonic() - started < 5  # the drip alone would never end


@pytest.mark.parametrize(
    ("status", "ok", "retryable"),
    [
        (200, True, True),
        (202, True, True),
        (204, True, True),
        (408, False, True),
        (429, False, True),
        (500, False, True),
        (503, False, True),
        (301, False, False),
        (400, False, False),
        (401, False, False),
        (404, False, False),
        (410, False, False),
        (422, False, False),
    ],
)
def test_what_each_answer_means(status: int, ok: bool, retryable: bool) -> None:
    headers = {"location": "https://elsewhere.example/", "retry-after": "7"}
    outcome = judge(Response(status, "Reason", headers, b"  why\n\tnot  "))
    assert (outcome.ok, outcome.retryable) == (ok, retryable)
    if status == 301:
        assert "redirect to 'https://elsewhere.example/' not followed" in outcome.error
    elif not ok:
        assert outcome.error == f"HTTP {status} Reason: why not"
        assert outcome.retry_after == (7 if retryable else None)
