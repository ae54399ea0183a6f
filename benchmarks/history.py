"""The past, measured: `--as-of`, `history` and `changes` beside the current-state query.

The org of rebuild.py (1,000 users, 100,000 opportunities, ~1,000,000 events), appended
through the store API with the log's clock 30 days back, then a week of 10 syncs, 16 hours
apart: each updates 2,000 opportunities (stage moves, revenue, a few reassignments),
deletes a few, moves one salesperson of the manager's team to another manager, and
changes one opportunity of the manager's team until its history holds 50 entries.
Generation is not timed. Then, in process, each beside the current-state query of the
same run:

  - `view --as MANAGER --as-of` the middle position of the log      target <= 1 s
  - `history` of the opportunity with 50 entries                      target <= 50 ms
  - `changes --as MANAGER --since 7d` (the week of 10 syncs)          target <= 1 s
  - the file's growth for the past it keeps (`opportunity_versions`)  target <= 2x

    python benchmarks/history.py [--scale 0.1] [--db PATH] [--keep] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import rebuild as base  # noqa: E402  (benchmarks/rebuild.py: the org and its generator)

from cqrs_cli.app.as_of import visible_at  # noqa: E402
from cqrs_cli.app.history import history  # noqa: E402
from cqrs_cli.app.read_model import ReadModel  # noqa: E402
from cqrs_cli.domain.event_types import event_type  # noqa: E402
from cqrs_cli.projections.runner import catch_up  # noqa: E402
from cqrs_cli.store.envelope import NewEvent  # noqa: E402
from cqrs_cli.store.files import Store, open_store  # noqa: E402
from cqrs_cli.store.log import EventLog  # noqa: E402

MANAGER = base.MANAGER_ID
LOGIN = f"user{MANAGER}"
SYNCS, UPDATES_PER_SYNC, ENTRIES = 10, 2_000, 50


class Clock:
    """The log's clock, set by the benchmark: a microsecond later at every append."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> str:
        self.now += timedelta(microseconds=1)
        return self.now.isoformat(timespec="microseconds").replace("+00:00", "Z")


def with_clock(store: Store, clock: Clock) -> Store:
    return Store(store.path, store.conn, EventLog(store.conn, clock=clock))


def latest(store: Store, ids: list[int]) -> dict[int, dict[str, Any]]:
    """The current records of these opportunities (deleted ones left out)."""
    head = store.log.head()
    return {
        int(e.stream_id): dict(e.data["record"])
        for e in store.log.latest_in_streams("crm.lead", ids, head)
        if not e.type.endswith("Deleted")
    }


def updated(old: dict[str, Any], new: dict[str, Any]) -> NewEvent:
    changes_ = {k: [old.get(k), v] for k, v in new.items() if old.get(k) != v}
    return NewEvent(
        type=event_type("crm.lead", "Updated"), data={"record": new, "changes": changes_}
    )


def week_of_syncs(store: Store, clock: Clock, n_opps: int, rng: random.Random) -> int:
    """Append the 10 syncs; return the id of the opportunity given 50 entries."""
    team = {
        int(r[0])
        for r in store.conn.execute(
            "SELECT sub_id FROM uam_subordinates WHERE user_id = ?", (MANAGER,)
        )
    }
    owned = [
        int(r[0])
        for r in store.conn.execute(
            "SELECT id FROM opportunity_view WHERE user_id IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted(team)),),
        )
    ]
    chosen = owned[0]
    have = store.log.stream_version("crm.lead", str(chosen))
    extra = ENTRIES - have
    others = list(range(MANAGER + 1, MANAGER + 45))
    moved_seller = min(team)
    # The first sync 6 hours into the week: a rerun on a kept file within 6 hours still
    # finds all 10 in `--since 7d`.
    start = datetime.now(UTC) - timedelta(days=7) + timedelta(hours=6)
    for sync in range(SYNCS):
        clock.now = start + timedelta(hours=16 * sync)
        ids = sorted({rng.randrange(1, n_opps + 1) for _ in range(UPDATES_PER_SYNC)} - {chosen})
        records = latest(store, ids)
        batch: list[tuple[str, str, list[NewEvent], Any]] = []
        for oid, old in records.items():
            new = dict(old)
            roll = rng.random()
            if roll < 0.005:
                batch.append(
                    (
                        "crm.lead",
                        str(oid),
                        [NewEvent(type=event_type("crm.lead", "Deleted"), data={"record": old})],
                        "any",
                    )
                )
                continue
            if roll < 0.6:
                new["stage_id"] = min(8, int(old["stage_id"] or 1) + 1)
            elif roll < 0.9:
                new["expected_revenue"] = old["expected_revenue"] + rng.randrange(1, 500)
            else:
                new["user_id"] = rng.choice([*sorted(team), *others])
            batch.append(("crm.lead", str(oid), [updated(old, new)], "any"))
        # The chosen opportunity: its share of the entries left, as stage and revenue moves.
        old = latest(store, [chosen])[chosen]
        events = []
        for _ in range(extra // SYNCS + (1 if sync < extra % SYNCS else 0)):
            new = dict(old, expected_revenue=old["expected_revenue"] + 100.0)
            events.append(updated(old, new))
            old = new
        if events:
            batch.append(("crm.lead", str(chosen), events, "any"))
        store.log.append_many(batch)
        if sync == SYNCS // 2:  # a salesperson of the manager's team moves to another one
            emp = store.log.latest_in_streams("hr.employee", [moved_seller], store.log.head())
            record = dict(emp[0].data["record"])
            new = dict(record, parent_id=others[0])
            store.log.append(
                "hr.employee",
                str(moved_seller),
                [
                    NewEvent(
                        type=event_type("hr.employee", "Updated"),
                        data={
                            "record": new,
                            "changes": {"parent_id": [record["parent_id"], new["parent_id"]]},
                        },
                    )
                ],
            )
        catch_up(store)
    return chosen


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float, float]:
    """First, median and p95 time in ms."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    first = samples[0]
    samples.sort()
    return first, statistics.median(samples), samples[max(math.ceil(len(samples) * 0.95) - 1, 0)]


def line(label: str, figures: tuple[float, float, float], extra: str = "") -> None:
    first, median, p95 = figures
    print(f"{label}: median {median:,.1f} ms, p95 {p95:,.1f} ms (first {first:,.1f} ms){extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--keep", action="store_true", help="Keep the generated file.")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="cqrs-bench-")
    db = args.db or Path(tmp.name) / "bench.db"
    fresh = not db.exists()
    store = open_store(db, write=True)
    clock = Clock(datetime.now(UTC) - timedelta(days=30))
    chosen: int | None = None
    if fresh:
        began = time.perf_counter()
        timed_store = with_clock(store, clock)
        total = base.generate(timed_store, args.scale)
        catch_up(timed_store)
        chosen = week_of_syncs(timed_store, clock, int(100_000 * args.scale), random.Random(11))
        print(
            f"generated {total:,} events and {SYNCS} syncs in "
            f"{time.perf_counter() - began:.0f} s (not timed)"
        )
    catch_up(store)
    head = store.log.head()
    if chosen is None:  # a kept file: the opportunity with the longest history of the team
        chosen = int(
            store.conn.execute(
                "SELECT id FROM opportunity_versions GROUP BY id ORDER BY count(*) DESC LIMIT 1"
            ).fetchone()[0]
        )
    store.close()

    store = open_store(db, write=True)
    model = ReadModel(store)

    def current_view() -> Any:
        return model.opportunities(MANAGER).items  # its views checked first, as a query does

    def view_as_of(who: str, when: str) -> Any:
        with model.as_of(when) as past:
            return past.opportunities(who).items

    def metrics_as_of(who: str, when: str) -> Any:
        with model.as_of(when) as past:
            return past.metrics(who)

    middle = head // 2
    now_items = current_view()
    then = view_as_of(LOGIN, f"#{middle}")
    print(
        f"log: {head:,} events; {LOGIN} sees {len(now_items):,} opportunities now "
        f"and {len(then):,} as of #{middle:,} ({store.log.recorded_at(middle)})"
    )
    runs = args.runs
    line("view --as MANAGER, now (catch-up check + query)", timed(current_view, runs))
    line(
        f"view --as MANAGER --as-of #{middle:,} (the middle of the log)",
        timed(lambda: view_as_of(LOGIN, f"#{middle}"), runs),
        " (target <= 1,000 ms)",
    )
    line(
        f"  metrics --as MANAGER --as-of #{middle:,}",
        timed(lambda: metrics_as_of(LOGIN, f"#{middle}"), runs),
    )
    line(
        "  view --as ADMINISTRATOR --as-of the middle (every opportunity)",
        timed(lambda: view_as_of("user2", f"#{middle}"), max(runs // 5, 1)),
    )

    one = [then[0].id] if then else []
    line(
        f"visible_at(MANAGER, #{middle:,}, only=[one opportunity]) (a webhook filter's step)",
        timed(lambda: visible_at(store, MANAGER, middle, only=one), runs),
    )
    line(
        f"  visible_at(MANAGER, #{middle:,}): everything the manager saw",
        timed(lambda: visible_at(store, MANAGER, middle), runs),
    )

    entries = len(history(store, chosen).entries)
    line(
        f"history of opportunity {chosen} ({entries} entries)",
        timed(lambda: history(store, chosen), runs),
        " (target <= 50 ms)",
    )
    line(
        "  baseline: its raw events (`events --stream`)",
        timed(lambda: store.log.read_stream("crm.lead", str(chosen)), runs),
    )

    found = model.changes(LOGIN, "7d")
    print(
        f"changes --as MANAGER --since 7d: #{found.since.position:,} to "
        f"#{found.until.position:,}: {len(found.gained)} gained, "
        f"{len(found.lost)} lost, {len(found.changed)} changed"
    )
    line(
        "changes --as MANAGER --since 7d (10 syncs)",
        timed(lambda: model.changes(LOGIN, "7d"), runs),
        " (target <= 1,000 ms)",
    )
    line(
        "  baseline: the current view twice", timed(lambda: (current_view(), current_view()), runs)
    )

    sizes = dict(
        store.conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
    )
    total_bytes = sum(sizes.values())
    past_bytes = sum(v for k, v in sizes.items() if "opportunity_versions" in k)
    print(
        f"file: {total_bytes / 2**20:,.0f} MB, of which the past's index (opportunity_versions"
        f" and its indexes) {past_bytes / 2**20:,.0f} MB: the file is "
        f"{total_bytes / (total_bytes - past_bytes):.2f}x what it would be without it"
        " (target <= 2x)"
    )
    store.close()
    if args.keep:
        print(f"kept {db}")
    else:
        tmp.cleanup()


if __name__ == "__main__":
    main()
