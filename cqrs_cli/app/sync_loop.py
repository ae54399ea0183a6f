"""The `sync --every` use case: sync, wait, repeat, until asked to stop.

- Stopping: the caller requests `stop` (a face does on SIGTERM or SIGINT). A run in progress
  ends between two pages (every page before committed whole, its run recorded
  `interrupted`); a wait ends at once. Either way the loop returns normally.
- Failures: the source unreachable or failing (SourceError) and a sync stopped by the
  mass-deletion guard are reported and tried again after a backoff with jitter (doubling
  from `min(every, 5 s)` up to `max(every, 5 min)`), the loop going on; a refused login
  (SourceAuthError) ends it, since trying again cannot fix the credentials. Anything else
  (the file itself failing) ends it too, as it ends a single sync.
- One loop per file: the loop holds the file's `sync-loop` lock for its whole life, so a
  second loop fails at once with LockBusy naming the holder. A plain sync does not take
  that lock: it waits for SQLite's write lock between the loop's pages, as it always did.
- Webhooks: each run delivers after its commit, as a single sync does (`sync`).
"""

from __future__ import annotations

import contextlib
import os
import random
import select
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cqrs_cli.app.sources import SourceChoice
from cqrs_cli.app.sync import SyncOptions, SyncOutcome, sync
from cqrs_cli.bus.backoff import Backoff
from cqrs_cli.sources.base import SourceAuthError, SourceError
from cqrs_cli.store.locks import SYNC_LOOP, hold
from cqrs_cli.sync import MassDeletionError, SyncStopped

LOCK = SYNC_LOOP
FIRST_RETRY = 5.0  # seconds: the first wait after a failure, when `every` is longer
LONGEST_RETRY = 300.0  # seconds: the backoff's cap, when `every` is shorter


class Stop:
    """A request to stop, safe to make from a signal handler or another thread.

    A signal handler may run between any two bytecodes of the main thread, even inside a
    lock's `with` block, so a `threading.Event` (whose `set` takes a lock) could deadlock
    there. Here a request is a flag and a byte written to a pipe, which wakes a `wait`.
    """

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        self.requested = False

    def request(self) -> None:
        self.requested = True
        with contextlib.suppress(OSError):  # the pipe is full: a wake-up is pending anyway
            os.write(self._write, b"!")

    def __call__(self) -> bool:
        return self.requested

    def wait(self, seconds: float) -> bool:
        """Wait `seconds` or until a stop is requested; whether one was."""
        if not self.requested:
            select.select([self._read], [], [], max(0.0, seconds))
        return self.requested

    def close(self) -> None:
        for fd in (self._read, self._write):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> Stop:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class LoopRun:
    """One run of the loop, as it ended."""

    number: int  # 1 for the first run
    started: datetime  # UTC
    seconds: float  # how long it took, webhooks included
    outcome: SyncOutcome | None = None  # None when it failed or was stopped
    error: str | None = None  # why it failed; the loop tries again after `retry_in`
    retry_in: float | None = None
    stopped_after: int | None = None  # stopped between pages, after this many events


@dataclass(frozen=True, slots=True)
class LoopEnd:
    runs: int
    failed: int  # runs that failed (each tried again)


def retry_backoff(every: float) -> Backoff:
    """How long to wait after consecutive failures, for a loop syncing every `every` s."""
    return Backoff(base=min(every, FIRST_RETRY), cap=max(every, LONGEST_RETRY))


def sync_every(
    path: Path,
    source: SourceChoice,
    every: float,
    options: SyncOptions | None = None,
    *,
    stop: Stop,
    on_run: Callable[[LoopRun], None],
    on_committed: Callable[[SyncOutcome], None] | None = None,
    backoff: Backoff | None = None,
    rng: Callable[[], float] = random.random,
) -> LoopEnd:
    """Sync `source` into `path`, then wait `every` seconds, until a stop is requested.

    `on_run` hears each run as it ends; `on_committed` hears each committed sync before
    its webhooks (see `sync`). Raises LockBusy when another loop holds the file, and
    SourceAuthError when the source refuses the login.
    """
    backoff = backoff or retry_backoff(every)
    runs = failed = streak = 0
    with hold(path, LOCK):
        while not stop.requested:
            runs += 1
            started, clock = datetime.now(UTC), time.monotonic()

            def took() -> float:
                return time.monotonic() - clock  # noqa: B023 (called within this run)

            try:
                outcome = sync(path, source, options, on_committed=on_committed, stop=stop)
            except SyncStopped as stopped:
                on_run(LoopRun(runs, started, took(), stopped_after=stopped.appended))
                break
            except SourceAuthError as exc:
                raise SourceAuthError(
                    f"{exc.message}; the loop stops (trying again cannot fix the credentials)"
                ) from None
            except (SourceError, MassDeletionError) as exc:
                failed += 1
                streak += 1
                wait = backoff.delay(streak, rng)
                on_run(LoopRun(runs, started, took(), error=exc.message, retry_in=wait))
            else:
                streak = 0
                wait = every
                on_run(LoopRun(runs, started, took(), outcome=outcome))
            if stop.wait(wait):
                break
    return LoopEnd(runs, failed)
