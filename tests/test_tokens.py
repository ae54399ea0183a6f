"""`cqrs tokens create | list | revoke` and the tokens the server accepts (docs/serve.md)."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from cqrs_cli.app.read_model import open_read_model
from cqrs_cli.app.sources import SnapshotFile
from cqrs_cli.app.sync import SyncOptions, sync
from cqrs_cli.app.tokens import create_token, list_tokens, parse_duration, revoke_token
from cqrs_cli.domain.errors import CqrsError
from cqrs_cli.store.tokens import digest
from tests.conftest import demo_data, run_cli
from tests.demo_file import synced_copy

NOW = "2026-06-01T00:00:00Z"


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return synced_copy(tmp_path)


def holder(db: Path, secret: str, now: str = NOW) -> str | None:
    with open_read_model(db, behind="answer") as model:
        user = model.token_holder(secret, now)
    return None if user is None else user.login


def test_create_prints_the_token_once_and_the_file_keeps_only_its_hash(demo: Path) -> None:
    made = run_cli("--db", str(demo), "tokens", "create", "--as", "vinsha", "--name", "laptop")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert secret.startswith("cqrs_") and len(secret) > 40
    assert secret not in made.stderr and "shown only now" in made.stderr
    raw = demo.read_bytes() + (
        demo.with_name("cqrs.db-wal").read_bytes()
        if demo.with_name("cqrs.db-wal").exists()
        else b""
    )
    assert secret.encode() not in raw
    conn = sqlite3.connect(demo)
    assert conn.execute("SELECT secret_sha256 FROM access_tokens").fetchall() == [(digest(secret),)]
    conn.close()
    assert holder(demo, secret) == "vinsha@demo.example"

    listed = run_cli("--db", str(demo), "tokens", "list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert secret not in listed.stdout
    (token,) = json.loads(listed.stdout)
    assert token["user"]["login"] == "vinsha@demo.example"
    assert token["label"] == "laptop" and token["state"] == "active"
    assert token["expires_at"] > token["created_at"]


def test_revoked_expired_unknown_and_archived_tokens_answer_as_nobody(demo: Path) -> None:
    kept = create_token(demo, "zakariya", expires=None)
    revoked = create_token(demo, "vinsha", expires=timedelta(days=30))
    short = create_token(demo, "meera", expires=timedelta(hours=1))
    assert holder(demo, kept.secret) == "zakariya@demo.example"
    assert holder(demo, revoked.secret) == "vinsha@demo.example"

    done = revoke_token(demo, revoked.info.id)
    assert done.state == "revoked" and done.revoked_at is not None
    assert holder(demo, revoked.secret) is None
    assert holder(demo, kept.secret) == "zakariya@demo.example"

    assert short.info.expires_at is not None
    assert holder(demo, short.secret, now=short.info.created_at) == "meera@demo.example"
    assert holder(demo, short.secret, now=short.info.expires_at) is None
    assert holder(demo, kept.secret + "x") is None
    assert holder(demo, "") is None

    # Zakariya archived in Odoo since: the next sync makes his token answer as nobody.
    data = demo_data()
    for user in data["res.users"]:
        if user["login"] == "zakariya@demo.example":
            user["active"] = False
    snapshot = demo.with_name("snapshot.json")
    snapshot.write_text(json.dumps(data))
    sync(demo, SnapshotFile(snapshot), SyncOptions())
    assert holder(demo, kept.secret) is None
    states = {t.id: t.state for t in list_tokens(demo)}
    assert states == {kept.info.id: "active", revoked.info.id: "revoked", short.info.id: "active"}


def test_bad_input_is_one_line_and_changes_nothing(demo: Path) -> None:
    for args, message in [
        (("create", "--as", "nobody-here"), "no user matches"),
        (("create", "--as", "vinsha", "--expires", "3y"), "--expires takes"),
        (("create", "--as", "vinsha", "--name", "a\x1bb"), "--name takes"),
        (("revoke", "42"), "no token has the id 42"),
    ]:
        found = run_cli("--db", str(demo), "tokens", *args)
        assert found.returncode in (1, 2), found
        assert found.stderr.startswith("Error: ") and message in found.stderr
        assert found.stdout == ""
    assert list_tokens(demo) == ()


def test_a_token_is_refused_for_an_archived_user(demo: Path) -> None:
    data = demo_data()
    for user in data["res.users"]:
        if user["login"] == "omar@demo.example":
            user["active"] = False
    snapshot = demo.with_name("snapshot.json")
    snapshot.write_text(json.dumps(data))
    sync(demo, SnapshotFile(snapshot), SyncOptions())
    with pytest.raises(CqrsError, match="archived"):
        create_token(demo, "omar", expires=None)


def test_durations() -> None:
    assert parse_duration("30d") == timedelta(days=30)
    assert parse_duration("12h") == timedelta(hours=12)
    assert parse_duration("2W") == timedelta(weeks=2)
    assert parse_duration("never") is None
    assert parse_duration("1.5d") == timedelta(hours=36)  # as --every and --as-of read it
    for bad in ("0d", "-1d", "30", "d", "30 days", "11000d"):
        with pytest.raises(CqrsError):
            parse_duration(bad)
