"""The named file locks of the store: one holder, its record readable by anyone, released
when the holder dies (the facility a rebuild uses, and one `sync --every` loop per file)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cqrs_cli.store.locks import (
    FileLock,
    LockBusy,
    command_line,
    hold,
    holder,
    lock_path,
    process_gone,
)
from tests.conftest import REPO

HOLD = """
import sys, time
from pathlib import Path
from cqrs_cli.store.locks import hold
with hold(Path(sys.argv[1]), "loop", command="cqrs sync --every 60", detail={"k": "v"}):
    print("held", flush=True)
    time.sleep(120)
"""


def holding_process(db: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(db)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    return proc


def test_a_free_lock_is_taken_recorded_and_removed_on_release(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    assert holder(db, "loop") is None
    with hold(db, "loop", command="cqrs rebuild --all", detail={"scratch": "__rebuild_x"}):
        path = lock_path(db, "loop")
        assert path == tmp_path / "crm.db-loop.lock"
        assert path.stat().st_mode & 0o777 == 0o600
        who = holder(db, "loop")
        assert who is not None
        assert (who.pid, who.host, who.command) == (
            os.getpid(),
            socket.gethostname(),
            "cqrs rebuild --all",
        )
        assert who.detail == {"scratch": "__rebuild_x"}
        # Another lock name on the same file is independent.
        with hold(db, "other"):
            pass
    assert not path.exists() and holder(db, "loop") is None


def test_a_second_holder_is_refused_with_who_holds_it(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    proc = holding_process(db)
    try:
        started = time.monotonic()
        with pytest.raises(LockBusy) as refused:
            FileLock(db, "loop").acquire()
        assert time.monotonic() - started < 5
        assert refused.value.exit_code == 1
        message = refused.value.message
        assert re.fullmatch(
            rf"{re.escape(str(db))} is busy: its loop lock is held by pid {proc.pid} "
            r"\(cqrs sync --every 60\) since \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ; try again later",
            message,
        ), message
        who = holder(db, "loop")
        assert who is not None and who.pid == proc.pid and who.detail == {"k": "v"}
    finally:
        proc.kill()
        proc.wait()


def test_the_lock_dies_with_its_holder(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    proc = holding_process(db)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert lock_path(db, "loop").exists()  # its record stays behind...
    assert holder(db, "loop") is None  # ...but counts for nothing: nobody holds the lock
    with hold(db, "loop", command="next") as lock:
        assert lock.held
        who = holder(db, "loop")
        assert who is not None and (who.pid, who.command) == (os.getpid(), "next")


def test_an_acquirer_that_waits_gets_the_lock_when_it_is_released(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    first = FileLock(db, "loop")
    first.acquire()
    threading.Timer(0.3, first.release).start()
    second = FileLock(db, "loop")
    second.acquire(wait=10)
    assert second.held
    second.release()


def test_a_glance_at_the_holder_does_not_make_an_acquirer_fail(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    stop = threading.Event()

    def glance() -> None:
        while not stop.is_set():
            holder(db, "loop")

    reader = threading.Thread(target=glance)
    reader.start()
    try:
        for _ in range(50):
            with hold(db, "loop"):
                pass
    finally:
        stop.set()
        reader.join()


def test_the_command_line_hides_passwords() -> None:
    argv = ["/usr/bin/cqrs", "sync", "--password", "hunter2", "--password=s3cret", "--user", "u"]
    shown = command_line(argv)
    assert shown == "cqrs sync --password *** --password=*** --user u"
    assert "hunter2" not in shown and "s3cret" not in shown


def test_process_gone() -> None:
    assert not process_gone(os.getpid(), socket.gethostname())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert process_gone(child.pid, socket.gethostname())
    assert not process_gone(child.pid, "another-host.example")  # cannot tell: not gone
    assert process_gone(None, None)  # no process recorded
