"""`cqrs sync --every`: real processes looping against the fake Odoo over HTTP."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cqrs_cli.cli.app import app
from cqrs_cli.store.files import open_store
from tests.conftest import ADMIN, PASSWORD, REPO
from tests.fake_odoo import FakeOdoo, Fault, Login
from tests.helpers import events

WAIT = 20.0  # seconds a test waits for a line before it fails


class Loop:
    """A `cqrs sync --every` process, its stderr read line by line as it comes."""

    def __init__(self, db: Path, *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ODOO_", "CQRS_"))}
        env["PYTHONPATH"] = str(REPO)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "cqrs_cli", "--db", str(db), "sync", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line.rstrip("\n"))

    def next_line(self, wanted: Callable[[str], bool]) -> str:
        """The next stderr line `wanted` accepts (lines before it are kept in `seen`)."""
        deadline = time.monotonic() + WAIT
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.proc.kill()
                raise AssertionError(
                    f"no such line in {WAIT} s; stderr so far: {self.seen}"
                ) from None
            self.seen.append(line)
            if wanted(line):
                return line

    def finish(self, sig: int | None = signal.SIGTERM) -> tuple[int, list[str]]:
        """Send `sig` (if any), wait for the exit; the exit code and every stderr line."""
        if sig is not None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=WAIT)
        finally:
            self.proc.kill()
        self._reader.join(timeout=5)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return code, self.seen


def odoo_args(fake: FakeOdoo, password: str = PASSWORD) -> list[str]:
    return ["--url", fake.url, "--database", "demo", "--user", ADMIN, "--password", password]


def cqrs(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ODOO_", "CQRS_"))}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "cqrs_cli", "--db", str(db), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def is_run(line: str) -> bool:
    return (" sync: " in line and line.endswith(" s")) or "(--verbose shows them)" in line


def appended(line: str) -> int:
    return int(line.split(" sync: ")[1].split(" event")[0])


def lead_names(db: Path) -> dict[str, str]:
    with open_store(db) as store:
        return {
            e.stream_id: e.data["record"]["name"]
            for e in events(store)
            if e.type.startswith("OdooOpp")
        }


def test_each_run_picks_up_what_changed_since_the_last(fake: FakeOdoo, tmp_path: Path) -> None:
    db = tmp_path / "live.db"
    loop = Loop(db, *odoo_args(fake), "--every", "1s")
    first = loop.next_line(is_run)
    assert appended(first) == 59, loop.seen
    # One line per run: when it started (UTC), the events, how long it took.
    assert first[:4].isdigit() and first[19] == "Z" and first.endswith(" s")
    fake.write("crm.lead", 1, {"name": "Renamed once"})
    assert appended(loop.next_line(lambda line: is_run(line) and appended(line) > 0)) == 1
    fake.write("crm.lead", 2, {"name": "Renamed twice"})
    assert appended(loop.next_line(lambda line: is_run(line) and appended(line) > 0)) == 1
    code, lines = loop.finish()
    assert code == 0, lines
    runs = [line for line in lines if is_run(line)]
    assert len(runs) >= 3
    assert lines[-1].startswith("Stopped on SIGTERM after ") and lines[-1].endswith(" runs.")
    assert all("sync from odoo" not in line for line in lines)  # no summary without --verbose
    names = lead_names(db)
    assert names["1"] == "Renamed once" and names["2"] == "Renamed twice"
    assert cqrs(db, "verify").returncode == 0


def test_verbose_prints_each_runs_summary(fake: FakeOdoo, tmp_path: Path) -> None:
    loop = Loop(tmp_path / "v.db", *odoo_args(fake), "--every", "1s", "--verbose")
    loop.next_line(lambda line: line.startswith("Appended 59 events"))
    loop.next_line(lambda line: line == "No change: 0 events appended.")
    code, lines = loop.finish(signal.SIGINT)
    assert code == 0, lines
    tables = [line for line in lines if "sync from odoo (incremental)" in line]
    assert len(tables) >= 2  # each run's summary table
    assert lines[-1].startswith("Stopped on SIGINT after ")


def more_leads(fake: FakeOdoo, count: int) -> None:
    template = {
        k: v
        for k, v in fake.tables["crm.lead"][1].items()
        if k not in ("id", "create_date", "write_date")
    }
    for n in range(count):
        fake.create("crm.lead", {**template, "name": f"Lead {n}", "user_id": 3})


def test_sigterm_during_a_page_ends_the_loop_between_pages(fake: FakeOdoo, tmp_path: Path) -> None:
    db = tmp_path / "stop.db"
    more_leads(fake, 2000)  # 2023 opportunities: pages of 1000, 1000 and 23
    slow = Fault("slow", model="crm.lead", method="search_read", skip=1, delay=2.0)
    fake.faults.append(slow)
    loop = Loop(db, *odoo_args(fake), "--every", "1s")
    assert slow.fired.wait(WAIT), loop.seen  # the second page's answer is on its way
    code, lines = loop.finish(signal.SIGTERM)
    assert code == 0, lines
    stopped = [line for line in lines if "sync stopped between two pages" in line]
    assert len(stopped) == 1, lines
    with open_store(db) as store:
        logged = events(store)
        last_run = store.conn.execute(
            "SELECT status, error FROM sync_runs ORDER BY rowid DESC LIMIT 1"
        ).fetchone()
    # The page in flight committed whole, and the loop stopped before the third.
    leads = [e for e in logged if e.type == "OdooOpportunityCreated"]
    assert len(leads) == 2000
    assert [e.position for e in logged] == list(range(1, len(logged) + 1))  # no gap
    assert f"{len(logged)} events committed" in stopped[0]
    assert last_run[0] == "interrupted" and "stopped between two pages" in last_run[1]
    checked = cqrs(db, "verify")
    assert checked.returncode == 0 and checked.stdout.startswith("OK"), checked.stderr
    # The next sync goes on from there: the last page, nothing twice.
    assert cqrs(db, "sync", *odoo_args(fake)).returncode == 0
    with open_store(db) as store:
        after = [e.stream_id for e in events(store) if e.type == "OdooOpportunityCreated"]
    assert len(after) == len(set(after)) == 2023  # 23 of the demo, 2000 more


def test_a_failing_odoo_is_retried_and_the_loop_goes_on(fake: FakeOdoo, tmp_path: Path) -> None:
    db = tmp_path / "retry.db"
    fake.faults.append(Fault("http500", model="crm.lead", method="search_read"))
    loop = Loop(db, *odoo_args(fake), "--every", "1s")
    failed = loop.next_line(lambda line: " sync failed after " in line)
    assert "Odoo answered HTTP 500 reading crm.lead; trying again in " in failed
    line = loop.next_line(is_run)  # the next run gets the rest
    code, lines = loop.finish()
    assert code == 0, lines
    assert appended(line) > 0
    assert lines[-1].endswith(", 1 failed.")
    assert len(lead_names(db)) == 23  # every opportunity, once
    assert cqrs(db, "verify").returncode == 0


def test_an_unreachable_odoo_is_retried_with_backoff(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    args = ["--url", f"http://127.0.0.1:{port}", "--database", "demo", "--user", ADMIN]
    loop = Loop(tmp_path / "down.db", *args, "--password", PASSWORD, "--every", "1s")
    waits = []
    for _ in range(3):
        line = loop.next_line(lambda line: " sync failed after " in line)
        assert "cannot reach Odoo" in line
        waits.append(float(line.rsplit("trying again in ", 1)[1].removesuffix(" s")))
    code, lines = loop.finish()
    assert code == 0, lines
    assert 0.5 <= waits[0] <= 1 and 1 <= waits[1] <= 2 and 2 <= waits[2] <= 4  # they grow
    assert PASSWORD not in "\n".join(lines)


def test_a_wrong_password_stops_the_loop(fake: FakeOdoo, tmp_path: Path) -> None:
    loop = Loop(tmp_path / "auth.db", *odoo_args(fake), "--every", "1s")
    loop.next_line(is_run)
    fake.logins[ADMIN] = Login(uid=2, password="rotated-by-the-admin")  # and no API key
    code, lines = loop.finish(sig=None)
    assert code == 1, lines
    assert lines[-1] == (
        f"Error: Odoo refused the login for {ADMIN} on demo; the loop stops "
        "(trying again cannot fix the credentials)"
    )
    assert PASSWORD not in "\n".join(lines)


def test_one_loop_per_file_and_a_plain_sync_still_runs(fake: FakeOdoo, tmp_path: Path) -> None:
    db = tmp_path / "one.db"
    first = Loop(db, *odoo_args(fake), "--every", "1s")
    first.next_line(is_run)
    second = cqrs(db, "sync", *odoo_args(fake), "--every", "5m")
    assert second.returncode == 1
    message = second.stderr.strip()
    assert message.startswith(f"Error: {db} is busy: its sync-loop lock is held by pid ")
    assert f"pid {first.proc.pid} (cqrs --db {db} sync --url {fake.url}" in message
    assert "--password ***" in message and PASSWORD not in message
    plain = cqrs(db, "sync", *odoo_args(fake))  # waits its turn, as ever
    assert plain.returncode == 0, plain.stderr
    # status names the running loop (a note on stderr; JSON: its pid and since).
    status = cqrs(db, "status")
    assert status.returncode == 0, status.stderr
    assert f"Note: pid {first.proc.pid} (cqrs --db {db} sync --url " in status.stderr
    assert "holds the sync-loop lock" in status.stderr and PASSWORD not in status.stderr
    locks = json.loads(cqrs(db, "status", "--format", "json").stdout)["locks"]
    assert [(lock["name"], lock["pid"]) for lock in locks] == [("sync-loop", first.proc.pid)]
    code, lines = first.finish()
    assert code == 0, lines
    assert json.loads(cqrs(db, "status", "--format", "json").stdout)["locks"] == []
    # Once the loop is gone, another may start.
    again = Loop(db, *odoo_args(fake), "--every", "1s")
    again.next_line(is_run)
    assert again.finish()[0] == 0


@pytest.mark.parametrize(
    ("every", "message"),
    [
        ("5", "Error: --every: not a duration: '5' (a number and a unit s, m, h, d or w: "),
        ("1x", "Error: --every: not a duration: '1x'"),
        ("0s", "Error: --every: '0s' is out of range (more than 0, at most a year)"),
        ("400d", "Error: --every: '400d' is out of range"),
    ],
)
def test_every_takes_a_duration(tmp_path: Path, every: str, message: str) -> None:
    db = str(tmp_path / "d.db")
    result = CliRunner().invoke(app, ["--db", db, "sync", "--demo", "--every", every])
    assert result.exit_code == 2
    assert result.stderr.startswith(message)
    assert not Path(db).exists()


def test_verbose_goes_with_every(tmp_path: Path) -> None:
    verbose = CliRunner().invoke(app, ["--db", str(tmp_path / "d.db"), "sync", "--verbose"])
    assert verbose.exit_code == 2
    assert verbose.stderr.strip() == (
        "Error: --verbose goes with --every (a single sync always prints its whole summary)"
    )
