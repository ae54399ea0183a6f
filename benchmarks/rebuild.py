"""Read-side figures: rebuild throughput and memory, and query latency beside baselines.

An org of 1,000 users (1 administrator, 9 directors, 45 managers with 20 salespeople
each, the rest all-documents or without group), 100,000 opportunities and ~1,000,000
events, appended through the store API (not timed). Then, in a fresh process so peak RSS
is the rebuild's own: `rebuild --all` (events/s, peak RSS, and the time of the work done
once at the end of the replay: every salesperson's access rows, every user's figures).
Then in process, for a manager who sees ~2,000 opportunities: `view` and `metrics`
latency (median, p95), each including the catch-up check, beside two baselines measured
in the same run:
  - json list: the visible ids kept as one JSON list column per user (what the indexed
    (user_id, opportunity_id) table replaces);
  - from events: the visible set computed straight from the raw opportunity events.
Targets: rebuild >= 30k events/s with peak RSS <= 200 MB; each query <= 5 ms.
With --catch-up, also a catch-up of every view from position 0 on a copy (what the
first sync of a large org does, batch by batch, each batch computing what it touched).

    python benchmarks/rebuild.py [--scale 0.1] [--db PATH] [--keep] [--catch-up]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cqrs_cli.app.read_model import ReadModel  # noqa: E402
from cqrs_cli.domain.event_types import event_type  # noqa: E402
from cqrs_cli.projections import NAMES  # noqa: E402
from cqrs_cli.projections.registry import PROJECTION_TYPES, make  # noqa: E402
from cqrs_cli.projections.runner import catch_up, rebuild  # noqa: E402
from cqrs_cli.store.files import Store, open_store  # noqa: E402

SALESMAN = "sales_team.group_sale_salesman"
CHUNK = 10_000
MANAGER_ID = 100  # the first manager's user id (see `org`)


def org(scale: float) -> Iterator[tuple[str, int, str, dict[str, Any]]]:
    """(model, id, change, data) in log order: the org first, then the opportunities."""
    rng = random.Random(7)
    n_opps = int(100_000 * scale)
    updates_per_opp = 8.9  # ~1,000,000 events at scale 1
    users: dict[int, dict[str, Any]] = {}
    parent: dict[int, int | None] = {}

    def user(uid: int, groups: list[str], boss: int | None) -> None:
        users[uid] = {
            "id": uid,
            "login": f"user{uid}",
            "name": f"User {uid}",
            "active": True,
            "share": False,
            "company_id": 1,
            "company_ids": [1],
            "groups": groups,
        }
        parent[uid] = boss

    user(2, [SALESMAN, "sales_team.group_sale_manager"], None)
    directors = list(range(10, 19))
    for d in directors:
        user(d, [SALESMAN], 2)
    managers = list(range(MANAGER_ID, MANAGER_ID + 45))
    for i, m in enumerate(managers):
        user(m, [SALESMAN], directors[i % 9])
    sellers = list(range(1000, 1900))
    for i, s in enumerate(sellers):
        user(s, [SALESMAN], managers[i % 45])
    for extra in range(2000, 2000 + 1000 - len(users)):
        user(
            extra, [SALESMAN, "sales_team.group_sale_salesman_all_leads"] if extra % 2 else [], None
        )
    for uid, rec in users.items():
        yield "res.users", uid, "Created", {"record": rec}
    for uid in users:  # employee id = user id
        boss = parent[uid]
        yield (
            "hr.employee",
            uid,
            "Created",
            {
                "record": {
                    "id": uid,
                    "name": f"User {uid}",
                    "user_id": uid,
                    "parent_id": boss,
                    "active": True,
                    "company_id": 1,
                }
            },
        )
    for t in range(10):
        yield (
            "crm.team",
            t + 1,
            "Created",
            {
                "record": {
                    "id": t + 1,
                    "name": f"Team {t + 1}",
                    "user_id": managers[t],
                    "active": True,
                }
            },
        )
    for i, s in enumerate(sellers):
        yield (
            "crm.team.member",
            i + 1,
            "Created",
            {"record": {"id": i + 1, "crm_team_id": i % 10 + 1, "user_id": s, "active": True}},
        )
    for sid in range(1, 9):
        yield (
            "crm.stage",
            sid,
            "Created",
            {"record": {"id": sid, "name": f"Stage {sid}", "sequence": sid, "is_won": sid == 8}},
        )
    for aid in range(1, 5001):
        yield (
            "res.partner",
            aid,
            "Created",
            {"record": {"id": aid, "name": f"Account {aid}", "is_company": True, "active": True}},
        )
    owners = [*sellers, *managers]
    opps: dict[int, dict[str, Any]] = {}
    for oid in range(1, n_opps + 1):
        rec = {
            "id": oid,
            "name": f"Opportunity {oid}",
            "type": "opportunity",
            "active": True,
            "stage_id": 1,
            "user_id": None if oid % 1000 == 0 else owners[oid % len(owners)],
            "team_id": oid % 10 + 1,
            "partner_id": oid % 5000 + 1,
            "company_id": 1,
            "expected_revenue": float(rng.randrange(100, 100_000)),
            "probability": 10.0,
        }
        opps[oid] = rec
        yield "crm.lead", oid, "Created", {"record": rec}
    for _ in range(int(n_opps * updates_per_opp)):
        oid = rng.randrange(1, n_opps + 1)
        old = opps[oid]
        new = dict(old)
        roll = rng.random()
        if roll < 0.6:
            new["stage_id"] = min(8, old["stage_id"] + 1)
            new["probability"] = min(100.0, old["probability"] + 10.0)
        elif roll < 0.9:
            new["expected_revenue"] = old["expected_revenue"] + rng.randrange(1, 500)
        elif roll < 0.97:
            new["user_id"] = owners[rng.randrange(len(owners))]
        else:
            new["active"] = not old["active"]
        changes = {k: [old[k], v] for k, v in new.items() if old[k] != v}
        opps[oid] = new
        yield "crm.lead", oid, "Updated", {"record": new, "changes": changes}


def generate(store: Store, scale: float) -> int:
    from cqrs_cli.store.envelope import NewEvent

    # One entry per stream per append_many call (the log reads each stream's version
    # once per call), so a chunk groups its events by stream, keeping their order.
    batch: dict[tuple[str, str], list[NewEvent]] = {}
    total = pending = 0

    def flush() -> None:
        store.log.append_many([(m, i, evs, "any") for (m, i), evs in batch.items()])
        batch.clear()

    for model, rid, change, data in org(scale):
        batch.setdefault((model, str(rid)), []).append(
            NewEvent(type=event_type(model, change), data=data)
        )
        pending += 1
        if pending >= CHUNK:
            flush()
            total += pending
            pending = 0
            print(f"\r  generated {total:,} events", end="", file=sys.stderr)
    if batch:
        flush()
        total += pending
    print(file=sys.stderr)
    return total


def rebuild_child(db: Path, names: list[str]) -> None:
    """Run in a fresh process: rebuild the views, print events/s, peak RSS and the time
    of each view's end-of-replay work as JSON."""
    ends: dict[str, float] = {}
    for kind in PROJECTION_TYPES:
        end_replay = kind.end_replay

        def timed_end(self: Any, conn: Any, _end: Any = end_replay) -> None:
            start = time.perf_counter()
            _end(self, conn)
            ends[self.name] = time.perf_counter() - start

        kind.end_replay = timed_end  # type: ignore[method-assign]
    store = open_store(db, write=True)
    before = resource.getrusage(resource.RUSAGE_SELF)
    report = rebuild(store, names)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak_kb = usage.ru_maxrss
    # CPU time beside wall time: on a shared machine the wall time also counts the waits
    # for a core.
    cpu = usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime
    print(
        json.dumps(
            {
                "events": report.events,
                "seconds": report.seconds,
                "rate": report.rate,
                "cpu": cpu,
                "peak_rss_mb": peak_kb / 1024,
                "end_of_replay": ends,
            }
        )
    )


def catch_up_from_zero(db: Path) -> None:
    """A catch-up of every view from position 0, on a copy of `db` without views."""
    copy = db.with_name("catch-up.db")
    shutil.copy(db, copy)
    store = open_store(copy, write=True)
    with store.transaction() as conn:
        conn.execute("DELETE FROM checkpoints")
        for name in NAMES:
            projection = make(name)
            for table in projection.table_names():
                conn.execute(f"DROP TABLE IF EXISTS {table}")
    start, cpu = time.perf_counter(), time.process_time()
    report = catch_up(store)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    events = max(report.applied.values())
    store.close()
    copy.unlink()
    print(
        f"catch-up from position 0: {events:,} events in {seconds:.1f} s = "
        f"{events / seconds:,.0f} events/s ({cpu:.1f} s cpu)"
    )


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def naive_from_events(store: Store, uid: int) -> list[int]:
    """Visible set of a salesperson computed straight from raw events: no views at all."""
    emp_parent: dict[int, int | None] = {}
    owner: dict[int, int | None] = {}
    for stream_type, data in store.conn.execute(
        "SELECT stream_type, data FROM events WHERE stream_type IN ('hr.employee', 'crm.lead')"
    ):
        rec = json.loads(data)["record"]
        if stream_type == "hr.employee":
            emp_parent[rec["user_id"]] = rec["parent_id"]
        else:
            owner[rec["id"]] = rec["user_id"]
    below: set[int] = set()
    todo = [uid]
    while todo:
        boss = todo.pop()
        for u, p in emp_parent.items():
            if p == boss and u not in below:
                below.add(u)
                todo.append(u)
    return sorted(o for o, u in owner.items() if u is None or u == uid or u in below)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--keep", action="store_true", help="Keep the generated file.")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument(
        "--each", action="store_true", help="Also rebuild each view alone (four more replays)."
    )
    parser.add_argument(
        "--catch-up", action="store_true", help="Also catch every view up from position 0."
    )
    parser.add_argument("--rebuild-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--names", default=",".join(NAMES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rebuild_child:
        rebuild_child(args.rebuild_child, args.names.split(","))
        return
    tmp = tempfile.TemporaryDirectory(prefix="cqrs-bench-")
    db = args.db or Path(tmp.name) / "bench.db"
    fresh = not db.exists()
    store = open_store(db, write=True)
    if fresh:
        start = time.perf_counter()
        total = generate(store, args.scale)
        print(f"generated {total:,} events in {time.perf_counter() - start:.0f} s (not timed)")
    head = store.log.head()
    store.close()

    for names in [list(NAMES)] + ([[n] for n in NAMES] if args.each else []):
        child = subprocess.run(
            [sys.executable, __file__, "--rebuild-child", str(db), "--names", ",".join(names)],
            capture_output=True,
            text=True,
            check=True,
        )
        figures = json.loads(child.stdout)
        label = "--all" if len(names) > 1 else f"--projection {names[0]}"
        print(
            f"rebuild {label}: {figures['events']:,} events in {figures['seconds']:.1f} s = "
            f"{figures['rate']:,.0f} events/s ({figures['cpu']:.1f} s cpu); peak RSS "
            f"{figures['peak_rss_mb']:.0f} MB (target >= 30,000 events/s, <= 200 MB)"
        )
        ends = ", ".join(f"{n} {s:.2f} s" for n, s in figures["end_of_replay"].items() if s)
        print(f"  end of replay: {ends}")
    if args.catch_up:
        catch_up_from_zero(db)

    store = open_store(db, write=True)
    catch_up(store)
    uid = MANAGER_ID
    model = ReadModel(store, behind="catch_up")
    start = time.perf_counter()
    seen = model.opportunities(uid).items  # cold: the pages are not cached yet
    cold = (time.perf_counter() - start) * 1000
    print(
        f"manager user{uid} sees {len(seen):,} of {head:,}-event log's opportunities "
        f"(first read: {cold:.1f} ms)"
    )

    def view() -> object:
        return model.opportunities(uid)

    def metrics() -> object:
        return model.metrics(uid)

    ids = [item.id for item in seen]
    store.conn.execute("CREATE TEMP TABLE json_lists (user_id INTEGER PRIMARY KEY, ids TEXT)")
    store.conn.execute("INSERT INTO json_lists VALUES (?, ?)", (uid, json.dumps(ids)))

    def json_list() -> object:
        (text,) = store.conn.execute(
            "SELECT ids FROM json_lists WHERE user_id = ?", (uid,)
        ).fetchone()
        return store.conn.execute(
            "SELECT id, name, status, stage, expected_revenue, probability, salesperson_login,"
            " manager_login, account FROM opportunity_view WHERE id IN"
            " (SELECT value FROM json_each(?))",
            (text,),
        ).fetchall()

    def matrix_rows() -> object:
        return store.conn.execute(
            "SELECT v.id, v.name, v.status, v.stage, v.expected_revenue, v.probability,"
            " v.salesperson_login, v.manager_login, v.account FROM user_access_rows r"
            " JOIN opportunity_view v ON v.id = r.opportunity_id WHERE r.user_id = ?",
            (uid,),
        ).fetchall()

    assert len(json_list()) == len(matrix_rows()) == len(seen)  # type: ignore[arg-type]
    for label, fn in (
        ("view (views checked + one read transaction + typed items)", view),
        ("metrics (views checked + stored row)", metrics),
        ("  indexed (user_id, opportunity_id) rows, SQL only", matrix_rows),
        ("  baseline: JSON list column, SQL only", json_list),
    ):
        median, p95 = timed(fn, args.runs)
        print(f"{label}: median {median:.2f} ms, p95 {p95:.2f} ms")
    start = time.perf_counter()
    naive = naive_from_events(store, uid)
    print(
        f"  baseline: visible set from raw events: {(time.perf_counter() - start) * 1000:,.0f}"
        f" ms once ({len(naive):,} ids, same set: {naive == sorted(ids)})"
    )
    store.close()
    if args.keep:
        print(f"kept {db}")
    else:
        tmp.cleanup()


if __name__ == "__main__":
    main()
