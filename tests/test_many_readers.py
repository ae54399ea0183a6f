"""Several read-only connections in one process (a server's worker threads) keep seeing
what other processes commit.

Opening a connection must not drop the POSIX locks the process's other connections hold
on the file (closing any descriptor of it does): a writer elsewhere would then take
itself for the file's last user when it closes, delete the -wal and unlink the -shm, and
the connections still open here would keep reading the state of that moment forever.
"""

from __future__ import annotations

from pathlib import Path

from cqrs_cli.app.read_model import open_read_model
from cqrs_cli.app.tokens import now_iso
from tests.conftest import run_cli
from tests.demo_file import synced_copy


def made_elsewhere(db: Path, who: str) -> str:
    """A token made by another process, which closes the file when done."""
    made = run_cli("--db", str(db), "tokens", "create", "--as", who, "-q")
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def test_a_reader_sees_every_commit_after_more_readers_open(tmp_path: Path) -> None:
    db = synced_copy(tmp_path)
    first = open_read_model(db, behind="answer")
    try:
        assert first.user("vinsha").login == "vinsha@demo.example"
        others = [open_read_model(db, behind="answer") for _ in range(2)]
        try:
            for who in ("vinsha", "zakariya", "meera"):
                secret = made_elsewhere(db, who)
                for model in (first, *others):
                    found = model.token_holder(secret, now_iso())
                    assert found is not None and found.login.startswith(who)
        finally:
            for model in others:
                model.close()
    finally:
        first.close()
