"""Append throughput: the store API against raw sqlite3.executemany, in one run.

100,000 events of ~300 bytes of JSON, 10 per stream. Both sides write into a fresh file
with the same schema; the baseline inserts precomputed rows (the same JSON text, no hash,
no version or duplicate checks) with one executemany in one transaction.
Target: the store reaches >= 0.5x the raw rate. Each side runs three times; best of each.

    python benchmarks/append.py [--events N]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from pathlib import Path

from cqrs_cli.store.envelope import EventMetadata, NewEvent
from cqrs_cli.store.files import open_store
from cqrs_cli.store.log import NO_STREAM

PER_STREAM = 10


def make_events(count: int) -> list[tuple[str, list[NewEvent]]]:
    streams = []
    meta = EventMetadata(source="demo", sync_run_id="bench")
    for s in range(count // PER_STREAM):
        events = [
            NewEvent(
                type="OdooOpportunityUpdated",
                event_id=f"bench-{s}-{v}",
                metadata=meta,
                data={
                    "record": {
                        "id": s,
                        "name": f"Opportunity {s} for a customer account",
                        "active": True,
                        "stage_id": v % 4 + 1,
                        "user_id": s % 1000,
                        "partner_id": s % 5000,
                        "expected_revenue": 1000.0 + v,
                        "probability": 10.0 * (v % 10),
                        "company_id": 1,
                        "write_date": "2024-05-01T10:00:00Z",
                    },
                    "changes": {"stage_id": [v % 4, v % 4 + 1]},
                },
            )
            for v in range(PER_STREAM)
        ]
        streams.append((str(s), events))
    return streams


def run_store(path: Path, streams: list[tuple[str, list[NewEvent]]]) -> float:
    with open_store(path, write=True) as store:
        start = time.perf_counter()
        store.log.append_many(("crm.lead", sid, evs, NO_STREAM) for sid, evs in streams)
        return time.perf_counter() - start


def run_raw(path: Path, streams: list[tuple[str, list[NewEvent]]]) -> float:
    open_store(path, write=True).close()  # same schema, indexes and triggers
    rows = []
    position = 0
    for sid, evs in streams:
        for version, e in enumerate(evs, 1):
            position += 1
            rows.append(
                (
                    position,
                    e.event_id,
                    "crm.lead",
                    sid,
                    version,
                    e.type,
                    1,
                    json.dumps(e.data),
                    json.dumps(e.metadata.model_dump(exclude_none=True)),
                    "2024-05-01T10:00:00.000000Z",
                    "0" * 64,
                )
            )
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany("INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    streams = make_events(args.events)
    count = sum(len(evs) for _, evs in streams)
    size = sum(len(json.dumps(e.data)) for _, evs in streams for e in evs) / count
    # Best of three, alternating, so a busy moment on the machine does not favour either side.
    raw_times, our_times = [], []
    for attempt in range(3):
        with tempfile.TemporaryDirectory() as tmp:
            raw_times.append(run_raw(Path(tmp) / f"raw{attempt}.db", streams))
            our_times.append(run_store(Path(tmp) / f"store{attempt}.db", streams))
    raw, ours = min(raw_times), min(our_times)
    print(f"events: {count:,} in {count // PER_STREAM:,} streams, {size:.0f} B of JSON each")
    print(f"raw sqlite3.executemany : {count / raw:12,.0f} events/s  ({raw:.2f} s)")
    print(f"store append_many       : {count / ours:12,.0f} events/s  ({ours:.2f} s)")
    ratio = raw / ours
    verdict = "met" if ratio >= 0.5 else "NOT met"
    print(f"ratio store/raw         : {ratio:.2f}x  (target >= 0.50x: {verdict})")


if __name__ == "__main__":
    main()
