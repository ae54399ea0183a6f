"""`cqrs webhooks` and delivery after `cqrs sync`, as a user meets them: Typer's runner,
real subprocesses, a real receiver on 127.0.0.1, and the receiver docs/webhooks.md prints."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cqrs_cli.cli.app import app
from tests.conftest import ADMIN, PASSWORD, REPO, demo_data
from tests.demo_file import synced_copy
from tests.fake_odoo import FakeOdoo
from tests.webhook_receiver import GONE, Receiver, RefusingPort

runner = CliRunner()


def cqrs(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("ODOO_", "CQRS_"))}
    full_env.update(PYTHONPATH=str(REPO), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "cqrs_cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=60,
        check=False,
    )


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(synced_copy(tmp_path))  # the demo, 59 events


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def changed(tmp_path: Path) -> str:
    """A snapshot of the demo with three opportunities renamed: three events to send."""
    data = demo_data()
    for lead in data["crm.lead"][:3]:
        lead["name"] += " (renamed)"
    path = tmp_path / "changed.json"
    path.write_text(json.dumps(data))
    return str(path)


def new_event_ids(db: str, after: int = 59) -> list[str]:
    listed = cqrs("--db", db, "events", "--after", str(after), "--format", "json")
    return [e["event_id"] for e in json.loads(listed.stdout)]


def listed(db: str) -> list[dict[str, Any]]:
    result = runner.invoke(app, ["--db", db, "webhooks", "list", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def test_add_list_and_remove(db: str, receiver: Receiver) -> None:
    url = receiver.url + "?token=s3cr3t"
    args = ["--name", "crm", "--type", "OdooOpportunityUpdated", "--secret-env", "HOOK_KEY"]
    added = runner.invoke(
        app,
        ["--db", db, "webhooks", "add", url, *args, "--format", "json"],
        env={"HOOK_KEY": ""},
    )
    assert added.exit_code == 0, added.output
    row = json.loads(added.stdout)
    assert (row["id"], row["name"], row["position"], row["state"]) == (1, "crm", 59, "current")
    assert row["types"] == ["OdooOpportunityUpdated"] and row["secret_env"] == "HOOK_KEY"
    assert row["url"].endswith("/hook?token=***")  # query values may be tokens
    assert (
        "Added webhook 1 (crm). It starts at position 59: it gets the events appended from "
        "now on, not the 59 already in the log, delivered after each sync." in added.stderr
    )
    assert "Warning: HOOK_KEY is not set here" in added.stderr

    [shown] = listed(db)
    assert {k: shown[k] for k in ("id", "position", "lag", "pending", "state", "failures")} == {
        "id": 1,
        "position": 59,
        "lag": 0,
        "pending": 0,
        "state": "current",
        "failures": 0,
    }
    table = runner.invoke(app, ["--db", db, "webhooks", "list", "--format", "plain"])
    assert "OdooOpportunityUpdated" in table.stdout and "s3cr3t" not in table.stdout

    missing = runner.invoke(app, ["--db", db, "webhooks", "remove", "9"])
    assert missing.exit_code == 1
    assert missing.stderr.strip() == "Error: no webhook '9'; `cqrs webhooks list` shows them"
    removed = runner.invoke(app, ["--db", db, "webhooks", "remove", "crm"])
    assert removed.exit_code == 0 and removed.stderr.strip() == "Removed webhook 1 (crm)."
    assert listed(db) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ftp://example.com/x"], "must start with http:// or https:// (scheme: ftp:)"),
        (["example.com/hook"], "must start with http:// or https:// (scheme: none)"),
        (["javascript:alert(1)"], "must start with http:// or https://"),
        (["http:///hook"], "needs a host"),
        (["https://user:pw@example.com/"], "cannot hold a user or password"),
        (["https://example.com/#x"], "cannot have a #fragment"),
        (["https://example.com:99999/"], "not a usable URL"),
        (["https://example.com/\x1b[31mred"], "cannot hold spaces or control characters"),
        (["https://example.com/", "--type", "OdooLeadCreated"], "unknown event type"),
        (["https://example.com/", "--name", "12"], "not only digits"),
        (["https://example.com/", "--secret-env", "sk live"], "NAME of an environment variable"),
    ],
)
def test_bad_input_is_one_line_and_leaves_the_file(db: str, args: list[str], message: str) -> None:
    before = Path(db).read_bytes()
    result = runner.invoke(app, ["--db", db, "webhooks", "add", *args])
    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("Error: ") and message in line
    assert "\x1b" not in result.stderr
    assert Path(db).read_bytes() == before


def test_a_sync_whose_receiver_is_down_exits_0_says_so_and_retry_resumes(
    db: str, changed: str
) -> None:
    closed = RefusingPort()
    add = cqrs("--db", db, "webhooks", "add", closed.url, "--max-attempts", "2")
    assert add.returncode == 0, add.stderr

    synced = cqrs("--db", db, "sync", "--from-file", changed, "--format", "json")

    assert synced.returncode == 0, synced.stderr
    assert json.loads(synced.stdout)["events_appended"] == 3
    warnings = [x for x in synced.stderr.splitlines() if "webhook" in x]
    assert warnings == [
        "Warning: webhook 1: delivered 0 events, then paused at position 60 "
        "(OdooOpportunityUpdated) after 2 failed attempts: connection refused; it is a dead "
        "letter and 3 events waiting: fix the receiver, then run `cqrs dead-letters --retry`"
    ]
    [letter] = json.loads(cqrs("--db", db, "dead-letters", "--format", "json").stdout)
    assert (letter["handler"], letter["position"], letter["attempts"]) == ("webhook:1", 60, 2)
    assert letter["error"] == "connection refused"
    [row] = listed(db)
    assert (row["state"], row["position"], row["pending"]) == ("paused", 59, 3)

    again = cqrs("--db", db, "sync", "--from-file", changed)  # no change, still paused
    assert again.returncode == 0
    assert "Warning: webhook 1 is paused at position 60 (OdooOpportunityUpdated)" in again.stderr

    receiver = Receiver()
    receiver.port = closed.release()  # the receiver is back, on its port
    receiver.start()
    try:
        retried = cqrs("--db", db, "dead-letters", "--retry", "--format", "json")
    finally:
        receiver.stop()
    assert retried.returncode == 0, retried.stderr
    assert "webhook 1: resumed, delivered 3 events, caught up" in retried.stderr
    assert "kept" not in retried.stderr  # not counted again as an in-process handler's
    assert json.loads(retried.stdout) == []
    assert receiver.unique_ids() == new_event_ids(db)
    [row] = listed(db)
    assert (row["state"], row["position"], row["pending"], row["error"]) == (
        "current",
        62,
        0,
        None,
    )


def test_the_delivery_budget_says_what_is_left_for_the_next_sync(
    db: str, changed: str, receiver: Receiver
) -> None:
    assert runner.invoke(app, ["--db", db, "webhooks", "add", receiver.url]).exit_code == 0
    cut = runner.invoke(app, ["--db", db, "sync", "--from-file", changed, "--delivery-budget", "0"])
    assert cut.exit_code == 0, cut.output
    assert (
        "Warning: webhook 1: delivered 0 events, 3 left for the next sync "
        "(the 0 s delivery budget ran out)" in cut.stderr
    )
    assert receiver.requests == []
    nothing_new = runner.invoke(app, ["--db", db, "sync", "--from-file", changed])
    assert "No change: 0 events appended." in nothing_new.stderr
    assert "webhook 1: delivered 3 events" in nothing_new.stderr
    assert receiver.unique_ids() == new_event_ids(db)


def test_a_sync_from_odoo_reports_a_gone_receiver_and_exits_0(
    tmp_path: Path, fake: FakeOdoo, receiver: Receiver
) -> None:
    db = str(tmp_path / "odoo.db")
    odoo = ["--url", fake.url, "--database", "demo", "--user", ADMIN, "--password", PASSWORD]
    assert cqrs("--db", db, "sync", *odoo).returncode == 0
    assert cqrs("--db", db, "webhooks", "add", receiver.url).returncode == 0
    fake.write("crm.lead", 1, {"name": "Renamed in Odoo"})
    receiver.mode = GONE
    synced = cqrs("--db", db, "sync", *odoo)
    assert synced.returncode == 0, synced.stderr
    assert "Appended 1 event " in synced.stderr
    assert "paused at position 60 (OdooOpportunityUpdated) after 1 failed attempt: " in (
        synced.stderr
    )
    assert "HTTP 410 Gone: receiver says no" in synced.stderr
    assert [r.event["data"]["record"]["name"] for r in receiver.requests] == ["Renamed in Odoo"]


def python_blocks(doc: str) -> list[str]:
    text = (REPO / "docs" / doc).read_text()
    return re.findall(r"```python\n(.*?)```", text, re.S)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[str]) -> None:
    for _ in range(200):
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.02)
    raise AssertionError(f"the receiver never listened on {port}")


def test_the_documented_receiver_checks_the_signature_and_drops_repeats(
    tmp_path: Path, db: str, changed: str
) -> None:
    verify_block, receiver_block = python_blocks("webhooks.md")
    script = tmp_path / "receiver.py"
    script.write_text(verify_block + "\n\n" + receiver_block)  # literally as printed
    port = free_port()
    key = "a-key-for-the-docs-receiver"
    env = {**os.environ, "PORT": str(port), "CQRS_HOOK_KEY": key}
    process = subprocess.Popen(
        [sys.executable, str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        wait_for_port(port, process)
        url = f"http://127.0.0.1:{port}/"
        assert (
            cqrs("--db", db, "webhooks", "add", url, "--secret-env", "CQRS_HOOK_KEY").returncode
            == 0
        )

        without_key = cqrs("--db", db, "sync", "--from-file", changed)
        assert without_key.returncode == 0
        assert (
            "Warning: webhook 1 skipped: environment variable CQRS_HOOK_KEY (its signing key) "
            "is not set; 3 events waiting" in without_key.stderr
        )
        with_key = cqrs("--db", db, "sync", "--from-file", changed, env={"CQRS_HOOK_KEY": key})
        assert with_key.returncode == 0 and "webhook 1: delivered 3 events" in with_key.stderr

        forged = urllib.request.Request(
            url,
            data=b'{"id": "x"}',
            headers={"X-Cqrs-Timestamp": str(int(time.time())), "X-Cqrs-Signature": "sha256=00"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(forged, timeout=5)
        assert refused.value.code == 401
    finally:
        process.terminate()
        out, _ = process.communicate(timeout=10)
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ["60", "61", "62"]
    assert all(line.split()[1] == "OdooOpportunityUpdated" for line in lines)
    assert key not in Path(db).read_bytes().decode("latin-1")


def test_add_needs_an_existing_file_and_says_when_the_log_is_empty(tmp_path: Path) -> None:
    db = str(tmp_path / "typo.db")
    missing = runner.invoke(app, ["--db", db, "webhooks", "add", "https://example.com/"])
    assert missing.exit_code == 1 and missing.stderr.startswith("Error: no database at ")
    assert not Path(db).exists()
    assert runner.invoke(app, ["--db", db, "migrate"]).exit_code == 0
    empty = runner.invoke(app, ["--db", db, "webhooks", "add", "https://example.com/"])
    assert empty.exit_code == 0
    assert "(the log is empty: the first sync sends the whole CRM)" in empty.stderr
