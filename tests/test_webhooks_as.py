"""`cqrs webhooks add URL --as USER`: each demo user's webhook gets exactly the events about
what that user could see just before or just after each event, checked against the
visible sets `whoami-can-see` gives before and after each sync, through real receivers on
127.0.0.1 and real `cqrs sync` processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cqrs_cli.cli.app import app
from tests.conftest import REPO, demo_data
from tests.demo_file import synced_copy
from tests.webhook_receiver import Receiver

runner = CliRunner()
LOGINS = ("superadmin", "vinsha", "zakariya", "meera", "omar", "lucas", "priya")
ORG_MODELS = ("res.users", "hr.employee", "crm.team", "crm.team.member", "crm.stage")


def cqrs(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ODOO_", "CQRS_"))}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "cqrs_cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def invoke(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def receivers() -> Iterator[dict[str, Receiver]]:
    started = {login: Receiver().start() for login in LOGINS}
    yield started
    for receiver in started.values():
        receiver.stop()


def snapshot(tmp_path: Path, name: str, data: dict[str, Any]) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(data))
    return str(path)


def lead(data: dict[str, Any], oid: int) -> dict[str, Any]:
    found: dict[str, Any] = next(r for r in data["crm.lead"] if r["id"] == oid)
    return found


def seen(db: str) -> dict[str, dict[str, Any]]:
    """Each user's visible opportunities and accounts, and whether they are an administrator."""
    admins = {
        u["login"].split("@")[0]
        for u in invoke("--db", db, "users", "--format", "json")
        if u["access"] == "administrator"
    }
    out = {}
    for login in LOGINS:
        found = invoke("--db", db, "whoami-can-see", "--as", login)
        out[login] = {
            "crm.lead": set(found["opportunities"]),
            "res.partner": set(found["accounts"]),
            "admin": login in admins,
        }
    return out


def expected(events: list[dict[str, Any]], before: dict[str, Any], after: dict[str, Any]) -> Any:
    """What each user's webhook should get of `events` (a sync that moves no opportunity
    but by its own event, and no user's place: so before and after the sync are before
    and after each event)."""
    out: dict[str, list[str]] = {}
    for login in LOGINS:
        wanted = []
        for event in events:
            model, oid = event["stream_type"], int(event["stream_id"])
            if model in ORG_MODELS:
                keep = before[login]["admin"] or after[login]["admin"]
            else:
                keep = oid in before[login][model] or oid in after[login][model]
            if keep:
                wanted.append(event["event_id"])
        out[login] = wanted
    return out


def sync_and_check(
    db: str, path: str, receivers: dict[str, Receiver], got: dict[str, int]
) -> dict[str, list[dict[str, Any]]]:
    """Sync `path`, check each webhook got exactly what its user could see; return what
    each got from this sync."""
    head = invoke("--db", db, "status", "--format", "json")["head"]
    before = seen(db)
    done = cqrs("--db", db, "sync", "--from-file", path)
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr, done.stderr
    after = seen(db)
    events = invoke("--db", db, "events", "--after", str(head), "--format", "json")
    assert events
    want = expected(events, before, after)
    new = {}
    for login, receiver in receivers.items():
        accepted = receiver.accepted()
        new[login] = accepted[got[login] :]
        got[login] = len(accepted)
        assert [e["id"] for e in new[login]] == want[login], login
    return new


def test_each_webhook_gets_what_its_user_could_see(
    tmp_path: Path, receivers: dict[str, Receiver]
) -> None:
    db = str(synced_copy(tmp_path))
    for login, receiver in receivers.items():
        added = invoke(
            "--db", db, "webhooks", "add", receiver.url, "--as", login, "--format", "json"
        )
        assert added["as_user"]["login"] == f"{login}@demo.example"
    said = runner.invoke(app, ["--db", db, "webhooks", "add", "http://127.0.0.1:9/x", "--as", "4"])
    assert said.exit_code == 0
    assert said.stderr.splitlines()[-1] == (
        "Only the events about what zakariya@demo.example could see right before or right "
        "after each one are sent (docs/webhooks.md, 'Who sees what')."
    )
    assert runner.invoke(app, ["--db", db, "webhooks", "remove", "8"]).exit_code == 0
    listed = invoke("--db", db, "webhooks", "list", "--format", "json")
    assert [w["as_user"]["login"].split("@")[0] for w in listed] == list(LOGINS)
    got = dict.fromkeys(LOGINS, 0)

    # A: Zakariya's opportunity 3 goes to Omar (in Meera's team); two renames; a user renamed.
    first = demo_data()
    lead(first, 3)["user_id"] = [6, "Omar Farouk"]
    lead(first, 1)["name"] += " (renamed)"
    lead(first, 20)["name"] += " (renamed)"
    next(u for u in first["res.users"] if u["id"] == 6)["name"] = "Omar F."
    new = sync_and_check(db, snapshot(tmp_path, "a", first), receivers, got)
    # The reassignment away from Zakariya reaches him and Vinsha above him, as it reaches
    # Omar and Meera, who see the opportunity from now on.
    for login in ("zakariya", "vinsha", "omar", "meera", "superadmin"):
        assert ("OdooOpportunityUpdated", "crm.lead:3") in {
            (e["type"], e["subject"]) for e in new[login]
        }
    assert not new["lucas"]  # nothing of this was ever his to see
    user_events = {
        login for login, got_now in new.items() for e in got_now if e["type"] == "OdooUserUpdated"
    }
    assert user_events == {"superadmin"}  # users and the org: administrators only

    # B: opportunity 3 renamed, now Omar's: nothing more for Zakariya and Vinsha; an
    # account renamed: to those who see an opportunity of it.
    second = json.loads(json.dumps(first))
    lead(second, 3)["name"] += " (again)"
    next(p for p in second["res.partner"] if p["id"] == 13)["name"] = "Lumber Inc."
    new = sync_and_check(db, snapshot(tmp_path, "b", second), receivers, got)
    assert not new["zakariya"] and not new["vinsha"]
    assert [e["type"] for e in new["omar"]] == ["OdooOpportunityUpdated", "OdooAccountUpdated"]
    assert [e["type"] for e in new["priya"]] == ["OdooAccountUpdated"]  # her 19 is at Lumber


def test_add_as_an_unknown_user_is_refused_and_leaves_the_file(tmp_path: Path) -> None:
    db = str(synced_copy(tmp_path))
    before = Path(db).read_bytes()
    result = runner.invoke(
        app, ["--db", db, "webhooks", "add", "http://127.0.0.1:9/hook", "--as", "nobody"]
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no user matches 'nobody'; known logins: ")
    assert Path(db).read_bytes() == before
    assert invoke("--db", db, "webhooks", "list", "--format", "json") == []


def test_a_webhook_as_a_user_is_never_sent_unfiltered(tmp_path: Path) -> None:
    from cqrs_cli.app.webhook_filter import filter_for
    from cqrs_cli.bus.webhooks.registry import Webhooks
    from cqrs_cli.bus.webhooks.run import deliver_pending
    from cqrs_cli.projections.runner import catch_up
    from cqrs_cli.sources.snapshot import SnapshotSource
    from cqrs_cli.store.files import open_store
    from cqrs_cli.sync import run_sync

    data = demo_data()
    lead(data, 14)["name"] += " (renamed)"  # Lucas's: nothing of Zakariya's
    lead(data, 4)["name"] += " (renamed)"  # Zakariya's
    path = snapshot(tmp_path, "c", data)
    receiver = Receiver().start()
    try:
        with open_store(synced_copy(tmp_path), write=True) as store:
            Webhooks(store).add(receiver.url, as_user=4)
            run_sync(store, SnapshotSource.from_file(Path(path)))
            catch_up(store)
            # A caller that cannot tell what the user sees delivers nothing to it.
            [skipped] = deliver_pending(store).runs
            assert skipped.skipped is not None and skipped.waiting == 2
            assert receiver.requests == []
            [run] = deliver_pending(store, filter_for=filter_for).runs
            assert run.run is not None and run.run.delivered == 1
    finally:
        receiver.stop()
    assert [e["subject"] for e in receiver.accepted()] == ["crm.lead:4"]
