"""Webhook delivery `--as USER` on a large org, beside the same delivery without `--as`.

The org of rebuild.py (1,000 users, 100,000 opportunities, ~1,000,000 events), appended
through the store API and caught up (not timed). Then one sync's worth of events: N
updates of distinct random opportunities (stage moves, revenue, 1 in 10 reassigned,
into and out of the manager's team too), with one org event halfway (a salesperson of the
manager's team moves to another manager: the filter's org changes there). Two copies of
the file get the same events, one with a webhook, the other with a webhook `--as` the
manager (user100, whose team holds ~2% of the opportunities); each is delivered by
`deliver_pending` with the filter a sync uses, to a receiver on 127.0.0.1 (benchmarks/
webhooks.py's). Timed: `deliver_pending` alone, in the same run for both. Then, not
timed, a sample of the events is checked against questions asked afresh (`visible_at`,
no shared org): sent exactly when the manager could see the opportunity before or after.

    python benchmarks/webhooks_as.py [--scale 1] [--events N] [--db PATH] [--keep]
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import rebuild as base  # noqa: E402  (benchmarks/rebuild.py: the org and its generator)
import webhooks as plain  # noqa: E402  (benchmarks/webhooks.py: the receiver)

from cqrs_cli.app.as_of import visible_at  # noqa: E402
from cqrs_cli.app.webhook_filter import filter_for  # noqa: E402
from cqrs_cli.bus.webhooks.registry import Webhooks  # noqa: E402
from cqrs_cli.bus.webhooks.run import deliver_pending  # noqa: E402
from cqrs_cli.domain.event_types import event_type, types_of  # noqa: E402
from cqrs_cli.projections.runner import catch_up  # noqa: E402
from cqrs_cli.store.envelope import NewEvent  # noqa: E402
from cqrs_cli.store.files import Store, open_store  # noqa: E402

MANAGER = base.MANAGER_ID
SAMPLE = 60
Batch = list[tuple[str, str, list[NewEvent], Any]]


def updated(model: str, old: dict[str, Any], new: dict[str, Any]) -> NewEvent:
    changes = {k: [old.get(k), v] for k, v in new.items() if old.get(k) != v}
    return NewEvent(type=event_type(model, "Updated"), data={"record": new, "changes": changes})


def team_of(store: Store) -> list[int]:
    """The manager's salespeople (employee id = user id in rebuild.py's org)."""
    return sorted(
        int(e.stream_id)
        for e in store.log.latest_of_types(types_of("Employee"), store.log.head())
        if e.data["record"].get("parent_id") == MANAGER
    )


def a_sync(store: Store, count: int, rng: random.Random) -> tuple[Batch, Batch, Batch]:
    """The events of one sync: opportunities, one org event, opportunities."""
    head = store.log.head()
    total = len(store.log.stream_versions("crm.lead"))
    team = team_of(store)
    others = list(range(MANAGER + 1, MANAGER + 45))
    ids = rng.sample(range(1, total + 1), min(count, total))
    batch: Batch = []
    for event in store.log.latest_in_streams("crm.lead", ids, head):
        if event.type.endswith("Deleted"):
            continue
        old = event.data["record"]
        new = dict(old)
        roll = rng.random()
        if roll < 0.6:
            new["stage_id"] = min(8, int(old["stage_id"] or 1) + 1)
        elif roll < 0.9:
            new["expected_revenue"] = old["expected_revenue"] + rng.randrange(1, 500)
        else:
            new["user_id"] = rng.choice([*team, *others])
        batch.append(("crm.lead", event.stream_id, [updated("crm.lead", old, new)], "any"))
    rng.shuffle(batch)
    [employee] = store.log.latest_in_streams("hr.employee", [team[0]], head)
    old = employee.data["record"]
    move: Batch = [
        (
            "hr.employee",
            str(team[0]),
            [updated("hr.employee", old, {**old, "parent_id": others[0]})],
            "any",
        )
    ]
    half = len(batch) // 2
    return batch[:half], move, batch[half:]


def prepare(
    base_db: Path, path: Path, sync: tuple[Batch, ...], url: str, as_user: int | None
) -> int:
    """A copy of the org with a webhook added, then the sync appended; its first position."""
    shutil.copyfile(base_db, path)
    with open_store(path, write=True) as store:
        _, start = Webhooks(store).add(url, secret_env="BENCH_KEY", as_user=as_user)
        for part in sync:
            store.log.append_many(part)
        catch_up(store)
    return start


def deliver(path: Path, receiver: plain.Receiver) -> tuple[float, int]:
    """Seconds to deliver, and how many events were sent."""
    receiver.positions.clear()
    with open_store(path, write=True) as store:
        began = time.perf_counter()
        report = deliver_pending(
            store, budget=3600, environ={"BENCH_KEY": "k" * 32}, filter_for=filter_for
        )
        seconds = time.perf_counter() - began
        [run] = report.runs
        assert run.run is not None and run.run.outcome == "caught_up", report
        assert run.run.position == store.log.head()
    sent = list(receiver.positions)
    assert sent == sorted(set(sent)), "not each event once, in order"
    return seconds, len(sent)


def check_sample(path: Path, start: int, sent: set[int], rng: random.Random) -> int:
    """Sent exactly when the manager saw the opportunity before or after, on a sample asked
    afresh (every sent event's half of the sample is drawn among the sent ones)."""
    with open_store(path) as store:
        events = list(store.log.read_all(start))
        opportunities = [e for e in events if e.stream_type == "crm.lead"]
        chosen = rng.sample(opportunities, min(SAMPLE // 2, len(opportunities)))
        shown = [e for e in opportunities if e.position in sent]
        chosen += rng.sample(shown, min(SAMPLE // 2, len(shown)))
        for e in chosen:
            oid, p = int(e.stream_id), e.position
            saw = oid in visible_at(store, MANAGER, p - 1, only=[oid]) or oid in visible_at(
                store, MANAGER, p, only=[oid]
            )
            assert saw == (p in sent), (p, oid, saw)
        return len(chosen)


def single_questions(path: Path, position: int) -> tuple[float, float, float]:
    """Milliseconds, each the best of 3 (not the delivery's): the org and its views built
    (an org event's share), an opportunity question with them built, and an account
    question (what the manager could see as a whole then) with them built."""
    from cqrs_cli.app.as_of import SEE_VIEWS, past_model
    from cqrs_cli.app.read_model import ReadModel
    from cqrs_cli.projections.past import PastOrgs

    def best(fn: Any) -> float:
        times = []
        for _ in range(3):
            began = time.perf_counter()
            fn()
            times.append((time.perf_counter() - began) * 1000)
        return min(times)

    with open_store(path) as store:
        oid = int(next(store.log.read_all(position - 1, limit=1)).stream_id)

        def org_built() -> None:
            orgs = PastOrgs(store.log)
            orgs.views(orgs.at(position), SEE_VIEWS)
            orgs.close()

        shared = PastOrgs(store.log)
        visible_at(store, MANAGER, position, only=[oid], orgs=shared)

        def accounts() -> None:
            with past_model(ReadModel(store, behind="answer"), position, orgs=shared) as past:
                past.can_see(MANAGER)

        figures = (
            best(org_built),
            best(lambda: visible_at(store, MANAGER, position, only=[oid], orgs=shared)),
            best(accounts),
        )
        shared.close()
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--db", type=Path, help="The generated org (kept with --keep).")
    parser.add_argument("--keep", action="store_true", help="Keep the generated org.")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="cqrs-bench-")
    folder = Path(tmp.name)
    base_db = args.db or folder / "org.db"
    if not base_db.exists():
        began = time.perf_counter()
        with open_store(base_db, write=True) as store:
            total = base.generate(store, args.scale)
            catch_up(store)
        print(f"generated {total:,} events in {time.perf_counter() - began:.0f} s (not timed)")
    with open_store(base_db) as store:
        sync = a_sync(store, args.events, random.Random(5))
        head = store.log.head()
    looked_at = sum(len(part) for part in sync)
    receiver = plain.Receiver()
    try:
        unfiltered_db, as_db = folder / "plain.db", folder / "as.db"
        prepare(base_db, unfiltered_db, sync, receiver.url, None)
        start = prepare(base_db, as_db, sync, receiver.url, MANAGER)
        unfiltered, n_plain = deliver(unfiltered_db, receiver)
        filtered, n_as = deliver(as_db, receiver)
        sent = set(receiver.positions)
    finally:
        receiver.stop()
    checked = check_sample(as_db, start, sent, random.Random(6))
    org_ms, question_ms, account_ms = single_questions(
        as_db, start + looked_at - 1
    )  # not the head: the live views would answer
    print(
        f"one sync of {looked_at - 1:,} opportunity events and 1 org event (a hierarchy move"
        f" halfway), after {head:,} events of a 1,000-user org"
    )
    print(
        f"  webhook without --as:        {unfiltered:7.2f} s  {looked_at / unfiltered:8.0f} "
        f"events/s  ({n_plain:,} sent)"
    )
    print(
        f"  webhook --as user{MANAGER} (manager): {filtered:7.2f} s  {looked_at / filtered:8.0f} "
        f"events/s  ({n_as:,} sent, {looked_at - n_as:,} left out; {checked} checked afresh)"
    )
    print(f"  --as / without: {filtered / unfiltered:.2f}x")
    print(
        f"  the filter's questions alone: the org and its views built {org_ms:.0f} ms (once per"
        f" org event); then an opportunity {question_ms:.2f} ms; an account (what the manager"
        f" sees as a whole) {account_ms:.0f} ms"
    )
    if args.keep and args.db is None:
        kept = Path(tempfile.gettempdir()) / "cqrs-webhooks-as-org.db"
        shutil.move(base_db, kept)
        print(f"kept the org in {kept}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
