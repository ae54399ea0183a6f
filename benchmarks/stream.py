"""Big answers stream: `view --format json` for an administrator and `events --format json`
on a 1,000-user / 100,000-opportunity file (the org of benchmarks/sync.py), whole process.

Run from the repository root: `python benchmarks/stream.py [--users N] [--opportunities N]
[--small N] [--before REPO]`. Prints, in one run, for each command: wall and CPU time of the
whole process and its peak RSS, at two sizes of the same org (`--small` opportunities, then
`--opportunities`), so that a memory flat in the row count shows; beside it, baselines
reading the same rows in the same run: the `sqlite3` command-line shell writing them as
JSON (`sqlite3 -json`), and Python fetching them and writing each row with orjson (no read
model, no CLI). Targets at the full size: view <= 2 s, events <= 3 s.

`--before REPO` also runs another checkout's cqrs (e.g. the main branch) on the same files.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The org of benchmarks/sync.py, written by a child process: this one stays small, and
# each command it measures runs under /usr/bin/time, which reports that command alone.
GENERATE = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/benchmarks"]
from sync import generate
with open(sys.argv[4], "w") as out:
    json.dump(generate(int(sys.argv[2]), int(sys.argv[3])), out)
"""
TIME = "/usr/bin/time"
ADMIN = "user2@bench.example"  # the org's one sales administrator: sees everything
TARGETS = {"view": 2.0, "events": 3.0}
VIEW_SQL = (
    "SELECT id, name, status, stage, expected_revenue, probability, user_id,"
    " salesperson_login, salesperson_name, manager_id, manager_login, manager_name,"
    " partner_id, account FROM opportunity_view ORDER BY id"
)
EVENTS_SQL = (
    "SELECT position, event_id, stream_type, stream_id, version, type, schema_version,"
    " data, metadata, recorded_at FROM events ORDER BY position"
)
RAW = """
import sqlite3, sys
import orjson
conn = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
out = sys.stdout.buffer
out.write(b"[")
first = True
cursor = conn.execute(sys.argv[2])
names = [d[0] for d in cursor.description]
while rows := cursor.fetchmany(1000):
    for row in rows:
        out.write((b"" if first else b",") + orjson.dumps(dict(zip(names, row))))
        first = False
out.write(b"]\\n")
"""


@dataclass
class Figures:
    wall: float
    cpu: float
    rss_mb: float
    size_mb: float


def measure(command: list[str], out: Path, *, cwd: Path = REPO) -> Figures:
    """One whole process writing to `out`: its wall and CPU time and its peak RSS."""
    report = out.with_suffix(".time")
    with out.open("wb") as sink:
        done = subprocess.run(
            [TIME, "-o", str(report), "-f", "%e %U %S %M", *command],
            stdout=sink,
            stderr=subprocess.PIPE,
            cwd=cwd,
            check=False,
        )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {done.stderr.decode()}")
    wall, user, system, rss_kb = report.read_text().split()[-4:]
    return Figures(
        float(wall), float(user) + float(system), int(rss_kb) / 1024, out.stat().st_size / 1e6
    )


def build(folder: Path, users: int, opportunities: int) -> Path:
    snapshot = folder / f"org-{opportunities}.json"
    subprocess.run(
        [sys.executable, "-c", GENERATE, str(REPO), str(users), str(opportunities), str(snapshot)],
        check=True,
    )
    db = folder / f"org-{opportunities}.db"
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "cqrs_cli",
            "--db",
            str(db),
            "-q",
            "sync",
            "--from-file",
            str(snapshot),
        ],
        check=True,
        cwd=REPO,
    )
    snapshot.unlink()
    print(
        f"built {db.name}: {opportunities:,} opportunities in {time.perf_counter() - started:.1f} s"
    )
    return db


def row(label: str, f: Figures, target: float | None = None) -> None:
    verdict = ""
    if target is not None:
        verdict = f"  (target <= {target:.0f} s: {'ok' if f.wall <= target else 'OVER'})"
    print(
        f"  {label:44} {f.wall:6.2f} s wall {f.cpu:6.2f} s cpu {f.rss_mb:6.0f} MB peak RSS"
        f" {f.size_mb:6.1f} MB out{verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--opportunities", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=20_000)
    parser.add_argument("--before", type=Path, help="Another checkout of cqrs to run too.")
    args = parser.parse_args()
    shell = shutil.which("sqlite3")
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="cqrs-stream-") as tmp:
        folder = Path(tmp)
        out = folder / "out.json"
        for count in (args.small, args.opportunities):
            db = build(folder, args.users, count)
            full = count == args.opportunities
            for name, cli, sql in (
                ("view", ["view", "--as", ADMIN], VIEW_SQL),
                ("events", ["events"], EVENTS_SQL),
            ):
                print(f"{name} --format json, {count:,} opportunities:")
                command = [py, "-m", "cqrs_cli", "--db", str(db), *cli, "--format", "json"]
                found = measure(command, out)
                items = len(json.loads(out.read_bytes()))
                row(f"cqrs {name} ({items:,} items)", found, TARGETS[name] if full else None)
                if args.before is not None:  # `-m cqrs_cli` runs the checkout it starts in
                    row(f"  before ({args.before})", measure(command, out, cwd=args.before))
                if shell is not None:
                    row(
                        "  baseline: sqlite3 -json, same rows",
                        measure([shell, "-json", str(db), sql], out),
                    )
                row(
                    "  baseline: Python fetch + orjson per row",
                    measure([py, "-c", RAW, str(db), sql], out),
                )


if __name__ == "__main__":
    main()
