"""Webhook delivery, end to end: 10,000 events from the log to a receiver on 127.0.0.1.

`deliver_pending` reads the events past the webhook's checkpoint, makes each a CloudEvent,
signs it, POSTs it and moves the checkpoint. The baseline, in the same run, is a bare loop
of the same number of POSTs of a body of the same size with the same HTTP client (kept-
alive connection), nothing else. The receiver (a threaded http.server, HTTP/1.1) reads
every body and checks the delivery: each event once, in order.
Target: the delivery takes <= 10 s. Each side runs `--runs` times; best of each.

    python benchmarks/webhooks.py [--events N] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cqrs_cli.bus.webhooks.http import HttpClient
from cqrs_cli.bus.webhooks.registry import Webhooks
from cqrs_cli.bus.webhooks.run import deliver_pending
from cqrs_cli.store.envelope import EventMetadata, NewEvent
from cqrs_cli.store.files import open_store

TARGET_SECONDS = 10.0


class Receiver:
    def __init__(self) -> None:
        self.positions: list[int] = []
        self.body_size = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if body.startswith(b"{"):  # a CloudEvent; the baseline's bodies are not
                    receiver.positions.append(json.loads(body)["cqrsposition"])
                    receiver.body_size = len(body)
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def make_events(count: int) -> list[tuple[str, list[NewEvent]]]:
    meta = EventMetadata(source="demo", sync_run_id="bench")
    return [
        (
            str(n),
            [
                NewEvent(
                    type="OdooOpportunityUpdated",
                    event_id=f"bench-{n}",
                    metadata=meta,
                    data={
                        "record": {
                            "id": n,
                            "name": f"Opportunity {n} for a customer account",
                            "active": True,
                            "stage_id": n % 4 + 1,
                            "user_id": n % 1000,
                            "partner_id": n % 5000,
                            "expected_revenue": 1000.0 + n,
                            "probability": 10.0 * (n % 10),
                            "company_id": 1,
                            "write_date": "2024-05-01T10:00:00Z",
                        },
                        "changes": {"stage_id": [n % 4, n % 4 + 1]},
                    },
                )
            ],
        )
        for n in range(count)
    ]


def deliver(folder: Path, run: int, count: int, receiver: Receiver) -> tuple[float, int]:
    """Seconds to deliver `count` events, and the size of the last body."""
    path = folder / f"run{run}.db"
    with open_store(path, write=True) as store:
        Webhooks(store).add(receiver.url, secret_env="BENCH_KEY")
        store.log.append_many(("crm.lead", sid, evs, "any") for sid, evs in make_events(count))
    receiver.positions.clear()
    with open_store(path, write=True) as store:
        start = time.perf_counter()
        report = deliver_pending(store, budget=600, environ={"BENCH_KEY": "k" * 32})
        seconds = time.perf_counter() - start
    run_report = report.runs[0].run
    assert run_report is not None and run_report.delivered == count, report
    assert receiver.positions == list(range(1, count + 1)), "not each event once, in order"
    return seconds, receiver.body_size


def bare(count: int, receiver: Receiver, body: bytes) -> float:
    with HttpClient() as client:
        start = time.perf_counter()
        for _ in range(count):
            response = client.post(receiver.url, body, {}, timeout=10)
            assert response.status == 204
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    receiver = Receiver()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            runs = [deliver(Path(tmp), r, args.events, receiver) for r in range(args.runs)]
        delivered, size = min(runs)
        body = b"x" * size  # as large as a delivered CloudEvent; the receiver skips parsing it
        baseline = min(bare(args.events, receiver, body) for _ in range(args.runs))
    finally:
        receiver.stop()
    n = args.events
    print(f"{n} events ({size} bytes each) to a webhook on 127.0.0.1, best of {args.runs} runs")
    print(
        f"  deliver_pending (log -> CloudEvent -> signed POST -> checkpoint): "
        f"{delivered:6.2f} s  {n / delivered:8.0f} events/s"
    )
    print(
        f"  bare loop of {n} POSTs, same client, same connection:        "
        f"{baseline:6.2f} s  {n / baseline:8.0f} POSTs/s"
    )
    print(
        f"  delivery / bare loop: {delivered / baseline:.2f}x; "
        f"target <= {TARGET_SECONDS:g} s: {'met' if delivered <= TARGET_SECONDS else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
