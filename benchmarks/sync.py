"""Sync figures for a large org: 1,000 users and 100,000 opportunities.

Run from the repository root: `python benchmarks/sync.py [--users N] [--opportunities N]`.
Prints, in one run:
- the initial sync from a snapshot file (target <= 10 s) beside appending the same number
  of events straight through the store API;
- the initial sync from the fake Odoo over loopback (target <= 60 s) beside plain odoorpc
  search_read of the same records;
- a no-change re-sync from the fake Odoo (target <= 5 s, zero events).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import odoorpc  # noqa: E402

from cqrs_cli.sources.odoo import OdooSource  # noqa: E402
from cqrs_cli.sources.snapshot import SnapshotSource  # noqa: E402
from cqrs_cli.store.envelope import EventMetadata, NewEvent  # noqa: E402
from cqrs_cli.store.files import open_store  # noqa: E402
from cqrs_cli.sync import run_sync  # noqa: E402
from cqrs_cli.sync.scope import ORDER, scope  # noqa: E402
from tests.fake_odoo import FakeOdoo, Login  # noqa: E402

WD = "2026-01-15 09:00:00"
PASSWORD = "bench-password"


def generate(users: int, opportunities: int, seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    rnd = random.Random(seed)
    company = [1, "Bench Company"]
    data: dict[str, list[dict[str, Any]]] = {
        "res.groups": [
            {
                "id": 10,
                "name": "User: Own Documents Only",
                "full_name": "Sales / User: Own Documents Only",
                "write_date": WD,
            },
            {
                "id": 12,
                "name": "Administrator",
                "full_name": "Sales / Administrator",
                "write_date": WD,
            },
        ],
        "ir.model.data": [
            {
                "id": 1,
                "module": "sales_team",
                "name": "group_sale_salesman",
                "model": "res.groups",
                "res_id": 10,
                "write_date": WD,
            },
            {
                "id": 2,
                "module": "sales_team",
                "name": "group_sale_manager",
                "model": "res.groups",
                "res_id": 12,
                "write_date": WD,
            },
        ],
        "res.users": [],
        "hr.employee": [],
        "crm.team": [],
        "crm.team.member": [],
        "crm.stage": [],
        "res.partner": [],
        "crm.lead": [],
    }
    uids = list(range(2, users + 2))
    for n, uid in enumerate(uids):
        name = f"User {uid}"
        data["res.users"].append(
            {
                "id": uid,
                "login": f"user{uid}@bench.example",
                "name": name,
                "email": f"user{uid}@bench.example",
                "active": True,
                "share": False,
                "company_id": company,
                "company_ids": [1],
                "groups_id": [12] if n == 0 else [10],
                "write_date": WD,
            }
        )
        parent = uids[(n - 1) // 10] if n else None  # a tree ten wide
        data["hr.employee"].append(
            {
                "id": uid,
                "name": name,
                "user_id": [uid, name],
                "parent_id": [parent, f"User {parent}"] if parent else False,
                "active": True,
                "company_id": company,
                "work_email": f"user{uid}@bench.example",
                "write_date": WD,
            }
        )
    teams = max(1, users // 50)
    for t in range(1, teams + 1):
        data["crm.team"].append(
            {
                "id": t,
                "name": f"Team {t}",
                "user_id": [uids[t], "x"],
                "active": True,
                "company_id": company,
                "write_date": WD,
            }
        )
    for i, uid in enumerate(uids, start=1):
        data["crm.team.member"].append(
            {
                "id": i,
                "crm_team_id": [1 + i % teams, "t"],
                "user_id": [uid, "u"],
                "active": True,
                "write_date": WD,
            }
        )
    for s, (name, won) in enumerate(
        [("New", False), ("Qualified", False), ("Proposition", False), ("Won", True)], start=1
    ):
        data["crm.stage"].append(
            {
                "id": s,
                "name": name,
                "sequence": s,
                "is_won": won,
                "fold": False,
                "team_id": False,
                "write_date": WD,
            }
        )
    partners = max(10, opportunities // 50)
    for p in range(1, partners + 1):
        data["res.partner"].append(
            {
                "id": p,
                "name": f"Account {p}",
                "email": False,
                "is_company": True,
                "active": True,
                "company_id": False,
                "parent_id": False,
                "write_date": WD,
            }
        )
    for i in range(1, opportunities + 1):
        stage = rnd.randint(1, 4)
        lost = stage != 4 and rnd.random() < 0.1
        data["crm.lead"].append(
            {
                "id": i,
                "name": f"Deal {i}",
                "type": "opportunity",
                "active": not lost,
                "stage_id": [stage, "s"],
                "user_id": [rnd.choice(uids), "u"],
                "team_id": [1 + i % teams, "t"],
                "partner_id": [1 + i % partners, "p"],
                "company_id": company,
                "expected_revenue": float(rnd.randint(1, 500) * 100),
                "probability": 0.0 if lost else (100.0 if stage == 4 else 10.0 * stage),
                "date_deadline": "2026-06-30",
                "date_closed": WD if stage == 4 or lost else False,
                "create_date": WD,
                "write_date": WD,
            }
        )
    return data


def timed(label: str, fn: Any) -> Any:
    """Wall time, and this process's CPU time beside it: on a shared machine the wall time
    also counts the waits for a core (the fake Odoo runs in this process too)."""
    start, cpu = time.perf_counter(), time.process_time()
    value = fn()
    elapsed, used = time.perf_counter() - start, time.process_time() - cpu
    print(f"  {label:<58} {elapsed:7.2f} s wall {used:7.2f} s cpu", flush=True)
    return value, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--opportunities", type=int, default=100_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cqrs-bench-"))
    data = generate(args.users, args.opportunities)
    snap = tmp / "org.json"
    snap.write_text(json.dumps(data))
    total = sum(len(v) for k, v in data.items() if k not in ("res.groups", "ir.model.data"))
    print(
        f"org: {args.users} users, {args.opportunities} opportunities, "
        f"{total} records; snapshot {snap.stat().st_size / 1e6:.1f} MB"
    )

    print("1. initial sync from a snapshot file (target <= 10 s)")
    store = open_store(tmp / "file.db", write=True)
    result, t_file = timed(
        "cqrs sync --from-file (load + normalize + diff + append)",
        lambda: run_sync(store, SnapshotSource.from_file(snap)),
    )
    events = result.events_appended
    store.close()
    raw = open_store(tmp / "raw.db", write=True)
    sample = {"record": data["crm.lead"][0]}

    def append_raw() -> None:
        batch = [
            (
                "crm.lead",
                str(i),
                [
                    NewEvent(
                        type="OdooOpportunityCreated",
                        data=sample,
                        metadata=EventMetadata(source="bench"),
                    )
                ],
                0,
            )
            for i in range(1, events + 1)
        ]
        for start in range(0, len(batch), 1000):
            raw.log.append_many(batch[start : start + 1000])

    timed(f"same {events} events straight through EventLog.append_many", append_raw)
    raw.close()

    print("2. initial sync from the fake Odoo over loopback (target <= 60 s)")
    fake = FakeOdoo("bench")
    fake.load(data)
    fake.logins["user2@bench.example"] = Login(2, PASSWORD)
    fake.start()
    try:
        store = open_store(tmp / "odoo.db", write=True)
        src = OdooSource(fake.url, "bench", "user2@bench.example", PASSWORD)
        result, t_odoo = timed(
            "cqrs sync (odoorpc + normalize + diff + append)", lambda: run_sync(store, src)
        )
        assert result.events_appended == events, (result.events_appended, events)

        def plain_fetch() -> int:
            odoo = odoorpc.ODOO("127.0.0.1", port=int(fake.url.rsplit(":", 1)[1]))
            odoo.login("bench", "user2@bench.example", PASSWORD)
            n = 0
            for kind in ORDER:
                last = 0
                while True:
                    page = odoo.execute_kw(
                        kind.MODEL,
                        "search_read",
                        [[*scope(kind.MODEL), ("id", ">", last)]],
                        {
                            "fields": list(kind.FIELDS),
                            "limit": 1000,
                            "order": "id",
                            "context": {"active_test": False},
                        },
                    )
                    n += len(page)
                    if len(page) < 1000:
                        break
                    last = page[-1]["id"]
            return n

        fetched, _ = timed("plain odoorpc search_read of the same records", plain_fetch)
        print("3. no-change re-sync from the fake Odoo (target <= 5 s, zero events)")
        again, t_again = timed(
            "cqrs sync (incremental, nothing changed)", lambda: run_sync(store, src)
        )
        print(f"     events appended: {again.events_appended}")
        full, _ = timed(
            "cqrs sync --full (nothing changed)", lambda: run_sync(store, src, full=True)
        )
        print(f"     events appended: {full.events_appended}")
        store.close()
    finally:
        fake.stop()
    print(
        f"summary: file {t_file:.1f}s (<=10), odoo {t_odoo:.1f}s (<=60), "
        f"re-sync {t_again:.1f}s (<=5); {events} events; {fetched} records fetched plain"
    )


if __name__ == "__main__":
    main()
