"""Named locks on a file: one holder at a time, who holds it readable by anyone.

A lock named `rebuild` on `crm.db` is an `flock` on the side file `crm.db-rebuild.lock`,
which also holds the holder's record (pid, host, command, since). The kernel releases an
`flock` when its holder dies, even by SIGKILL, so a lock is never left behind; the stale
record a dead holder leaves is ignored (a record counts only while its file is locked)
and overwritten by the next holder. A holder removes the side file when it lets go; an
acquirer that locked a file removed meanwhile starts again on the new one.

Readers of the record (`holder`) take a shared lock for an instant; an acquirer that
finds the lock busy keeps trying for `wait` seconds, so such a glance never makes it fail.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cqrs_cli.domain.errors import CqrsError

POLL = 0.05  # seconds between two tries of a busy lock
GRACE = 0.5  # how long an acquirer that "does not wait" still retries a busy lock
SECRET_OPTIONS = ("--password",)
# The locks a file has, named here so that whoever only asks who holds them (`status`)
# need not load the code that takes them.
REBUILD = "rebuild"  # a rebuild or a deep validation (projections/runner.py)
SYNC_LOOP = "sync-loop"  # a `sync --every` loop (app/sync_loop.py)
WEBHOOKS = "webhooks"  # a webhook delivery (bus/webhooks/run.py)
FILE_LOCKS = (REBUILD, SYNC_LOOP, WEBHOOKS)


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as its holder recorded it."""

    pid: int | None
    host: str | None
    command: str | None
    since: str | None
    detail: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        if self.pid is None:
            return "another process (it has not said who it is yet)"
        where = f" on {self.host}" if self.host and self.host != socket.gethostname() else ""
        what = f" ({printable(self.command)})" if self.command else ""
        since = f" since {self.since}" if self.since else ""
        return f"pid {self.pid}{where}{what}{since}"

    def as_json(self) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "host": self.host,
            "command": self.command,
            "since": self.since,
            **self.detail,
        }


class LockBusy(CqrsError):
    """Another process holds the lock."""

    def __init__(self, name: str, db: Path, holder: Holder) -> None:
        super().__init__(
            f"{db} is busy: its {name} lock is held by {holder.describe()}; try again later"
        )
        self.name, self.holder = name, holder


def lock_path(db: Path, name: str) -> Path:
    # Next to the real file, whatever symlink or relative path named it: every process
    # that opens the same database must meet on the same side file.
    real = Path(os.path.realpath(db))
    return real.with_name(f"{real.name}-{name}.lock")


def command_line(argv: Sequence[str] | None = None) -> str:
    """This process's command line, as a holder record shows it (secrets masked)."""
    args = list(sys.argv if argv is None else argv)
    first = Path(args[0]).name if args else "python"
    if first in ("__main__.py", "cqrs"):
        first = "cqrs"
    shown = [first]
    hide_next = False
    for arg in args[1:]:
        if hide_next:
            shown.append("***")
            hide_next = False
        elif arg in SECRET_OPTIONS:
            shown.append(arg)
            hide_next = True
        elif arg.startswith(tuple(f"{o}=" for o in SECRET_OPTIONS)):
            shown.append(arg.split("=", 1)[0] + "=***")
        else:
            shown.append(arg)
    return " ".join(shown)


def printable(text: str) -> str:
    # A record is written by the file's owner, but shown on a terminal: no control bytes.
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class FileLock:
    """An exclusive named lock on a database file (see the module docstring)."""

    def __init__(self, db: Path, name: str) -> None:
        self.db, self.name = db, name
        self.path = lock_path(db, name)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(
        self,
        *,
        wait: float = 0.0,
        command: str | None = None,
        detail: Mapping[str, str] | None = None,
    ) -> None:
        """Take the lock or raise `LockBusy` naming the holder after `wait` seconds
        (at least `GRACE`)."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this object")
        deadline = time.monotonic() + max(wait, GRACE)
        while True:
            fd = self._try_once()
            if fd is not None:
                break
            if time.monotonic() >= deadline:
                raise LockBusy(
                    self.name, self.db, holder(self.db, self.name) or Holder(None, None, None, None)
                )
            time.sleep(POLL)
        record = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": command if command is not None else command_line(),
            "since": utc_now(),
            "detail": dict(detail or {}),
        }
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(record).encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd

    def _try_once(self) -> int | None:
        """Lock the side file as it is now; None when somebody else holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return None
            raise
        # The previous holder may have removed the file between our open and our lock:
        # then we locked an orphaned inode, and must start again on the current file.
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            os.close(fd)
            return self._try_once()
        mine = os.fstat(fd)
        if (mine.st_dev, mine.st_ino) != (current.st_dev, current.st_ino):
            os.close(fd)
            return self._try_once()
        return fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            # Removed while still locked, so no acquirer can lock this name in between.
            self.path.unlink(missing_ok=True)
        finally:
            os.close(fd)

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


@contextmanager
def hold(
    db: Path,
    name: str,
    *,
    wait: float = 0.0,
    command: str | None = None,
    detail: Mapping[str, str] | None = None,
) -> Iterator[FileLock]:
    """Hold the lock `name` on `db` for the duration of the block."""
    lock = FileLock(db, name)
    lock.acquire(wait=wait, command=command, detail=detail)
    try:
        yield lock
    finally:
        lock.release()


def holder(db: Path, name: str) -> Holder | None:
    """Who holds the lock `name` on `db` now; None when nobody does."""
    path = lock_path(db, name)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
        else:
            return None  # a record left by a holder that is gone
        return _parse(os.pread(fd, 65_536, 0))
    finally:
        os.close(fd)


def _parse(raw: bytes) -> Holder:
    try:
        record = json.loads(raw)
    except ValueError:
        record = None
    if not isinstance(record, dict):  # locked, its record not written yet
        return Holder(None, None, None, None)
    pid = record.get("pid")
    detail = record.get("detail")
    return Holder(
        pid if isinstance(pid, int) else None,
        _text(record.get("host")),
        _text(record.get("command")),
        _text(record.get("since")),
        {str(k): str(v) for k, v in detail.items()} if isinstance(detail, dict) else {},
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def process_gone(pid: int | None, host: str | None) -> bool:
    """Whether the process `pid` on `host` is known to be gone.

    Only a process on this machine can be checked; one elsewhere is never declared gone.
    A row without a pid (written before cqrs recorded pids) has no process to wait for.
    """
    if pid is None:
        return True
    if host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, another user's
    return False
