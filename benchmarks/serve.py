"""`cqrs serve` latency under load, beside the framework's floor.

The org of benchmarks/rebuild.py (1,000 users, 100,000 opportunities, ~1,000,000 events),
built through the store API and caught up (not timed). Then, with `cqrs serve` in its
own process on 127.0.0.1 and 20 concurrent clients (asyncio + httpx, one process) for a
bounded time per phase:
  - `/api/v2/opportunities?limit=50` and `/api/v2/dashboard` for a manager who sees about
    2,000 opportunities: p50 and p95 (targets <= 50 ms each);
  - the same while a writer appends to the same file in another process, batch after
    batch, each caught up like a sync's page (target p95 <= 100 ms), beside the bare
    endpoint below under the same writer;
  - beside, in the same run, a bare Starlette endpoint on uvicorn returning a constant
    JSON of the same size as each answer (the framework's floor).

    python benchmarks/serve.py [--scale 1.0] [--seconds 30] [--clients 20] [--db PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from rebuild import MANAGER_ID, generate  # noqa: E402

from cqrs_cli.app.tokens import create_token  # noqa: E402
from cqrs_cli.projections.runner import catch_up  # noqa: E402
from cqrs_cli.store.files import open_store  # noqa: E402
from tests.serve_support import Server  # noqa: E402

PATHS = ("/api/v2/opportunities?limit=50", "/api/v2/dashboard")
TARGET, TARGET_WRITING = 50.0, 100.0

# A bare Starlette app on uvicorn: each path returns a constant body of the given size.
FLOOR = """
import sys, uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
sizes = dict(a.split("=") for a in sys.argv[2:])
def endpoint(body):
    async def handle(request):
        return Response(body, media_type="application/json")
    return handle
routes = [Route(p, endpoint(b'"' + b"x" * (int(n) - 2) + b'"')) for p, n in sizes.items()]
config = uvicorn.Config(Starlette(routes=routes), host="127.0.0.1", port=int(sys.argv[1]),
                        log_level="warning", access_log=False, server_header=False)
uvicorn.Server(config).run()
"""

# A writer like a sync: batches of opportunity updates appended, then the views caught up.
WRITER = """
import random, sys, time
sys.path[:0] = [sys.argv[1]]
from cqrs_cli.domain.event_types import event_type
from cqrs_cli.projections.runner import catch_up
from cqrs_cli.store.envelope import NewEvent
from cqrs_cli.store.files import open_store
rng = random.Random(11)
batches = events = 0
end = time.monotonic() + float(sys.argv[3])
with open_store(__import__("pathlib").Path(sys.argv[2]), write=True) as store:
    while time.monotonic() < end:
        chosen = rng.sample(range(1, int(sys.argv[4]) + 1), 500)
        with store.transaction():
            store.log.append_many([
                ("crm.lead", str(oid), [NewEvent(type=event_type("crm.lead", "Updated"),
                 data={"record": {"id": oid, "name": f"Opportunity {oid}", "type": "opportunity",
                 "active": True, "stage_id": 2, "user_id": 1000 + oid % 900,
                 "team_id": oid % 10 + 1, "partner_id": oid % 5000 + 1, "company_id": 1,
                 "expected_revenue": float(rng.randrange(100, 100000)), "probability": 20.0},
                 "changes": {"probability": [10.0, 20.0]}})], "any")
                for oid in chosen])
        catch_up(store)
        batches += 1
        events += len(chosen)
print(f"{batches} {events}")
"""


def build(db: Path, scale: float) -> None:
    started = time.perf_counter()
    with open_store(db, write=True) as store:
        total = generate(store, scale)
        catch_up(store)
    print(f"built {db.name}: {total:,} events in {time.perf_counter() - started:.0f} s")


async def load(
    url: str, path: str, token: str | None, clients: int, seconds: float
) -> tuple[list[float], int]:
    """`clients` clients asking `path` one request after another for `seconds`: the
    latency of each request (ms) and the size of the last answer."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    latencies: list[float] = []
    size = 0
    end = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=60) as c:

        async def client() -> None:
            nonlocal size
            while time.monotonic() < end:
                started = time.perf_counter()
                answer = await c.get(path)
                latencies.append((time.perf_counter() - started) * 1000)
                if answer.status_code != 200:
                    raise SystemExit(f"{path}: HTTP {answer.status_code} {answer.text[:200]}")
                size = len(answer.content)

        await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, size


def percentiles(latencies: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(latencies, n=100)
    return statistics.median(latencies), cuts[94]


def line(label: str, latencies: list[float], target: float | None) -> str:
    p50, p95 = percentiles(latencies)
    rate = len(latencies)
    verdict = "" if target is None else ("  ok" if p95 <= target else f"  OVER {target:.0f} ms")
    return f"  {label:<44} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  ({rate:,} requests){verdict}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--db", type=Path, help="reuse (or keep) the org's file here")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="cqrs-serve-bench-"))
    try:
        db = args.db or folder / "org.db"
        if not db.exists():
            build(db, args.scale)
        token = create_token(db, MANAGER_ID, expires=None, label="benchmark").secret
        server = Server(db, "--no-access-log")
        floor: subprocess.Popen[bytes] | None = None
        try:
            with httpx.Client(
                base_url=server.url, headers={"Authorization": f"Bearer {token}"}
            ) as c:
                seen = c.get("/api/v2/opportunities").json()["total"]
                sizes = {p: len(c.get(p).content) for p in PATHS}
            print(
                f"cqrs serve: manager user {MANAGER_ID} sees {seen:,} opportunities; "
                f"{args.clients} clients, {args.seconds:.0f} s per run; "
                f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
            )
            port = 18000 + os.getpid() % 1000
            floor = subprocess.Popen(
                [sys.executable, "-c", FLOOR, str(port)]
                + [f"{p.split('?')[0]}={n}" for p, n in sizes.items()]
            )
            floor_url = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    httpx.get(floor_url + "/api/v2/dashboard")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)

            for path in PATHS:
                print(f"{path} ({sizes[path]:,} bytes)")
                found, _ = asyncio.run(load(server.url, path, token, args.clients, args.seconds))
                print(line("cqrs serve", found, TARGET))
                bare, _ = asyncio.run(
                    load(floor_url, path.split("?")[0], None, args.clients, args.seconds)
                )
                print(line("bare Starlette, constant JSON of that size", bare, None))

            def while_writing(url: str, path: str, token: str | None) -> tuple[list[float], str]:
                writer = subprocess.Popen(
                    [
                        sys.executable,
                        "-c",
                        WRITER,
                        str(ROOT),
                        str(db),
                        str(args.seconds),
                        str(int(100_000 * args.scale)),
                    ],
                    stdout=subprocess.PIPE,
                    text=True,
                )
                found, _ = asyncio.run(load(url, path, token, args.clients, args.seconds))
                out, _ = writer.communicate()
                batches, events = out.split()
                return found, f"(the writer committed {batches} batches, {events} events)"

            print("while a writer appends to the file (batches of 500 events, each caught up)")
            for path in PATHS:
                found, wrote = while_writing(server.url, path, token)
                print(line(f"{path} ", found, TARGET_WRITING))
                print(f"  {'':<44} {wrote}")
                # The writer takes a CPU from the server and the clients alike: the floor
                # under the same writer is the fair baseline of this line.
                bare, wrote = while_writing(floor_url, path.split("?")[0], None)
                print(line("bare Starlette, same writer", bare, None))
                print(f"  {'':<44} {wrote}")
        finally:
            server.stop()
            if floor is not None:
                floor.terminate()
                floor.wait()
    finally:
        if args.db is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
