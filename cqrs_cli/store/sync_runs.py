"""The `sync_runs` table: one row per sync run, its process, and the head it reached.

A run's row says `running` from its start until it ends `succeeded` or `failed`. A run
killed outright (kill -9, power loss) cannot say so: the next run marks every `running`
row whose process is gone `interrupted`, and `status` already shows it so. The head
position and hash a run reached are kept after every page it commits, so a log cut below
them is noticed (see `health.cut_log`).
"""

from __future__ import annotations

import os
import socket
import sqlite3
from dataclasses import dataclass
from typing import Any

from cqrs_cli.store.health import Head, head
from cqrs_cli.store.locks import process_gone

RUNNING, SUCCEEDED, FAILED, INTERRUPTED = "running", "succeeded", "failed", "interrupted"


@dataclass(frozen=True)
class SyncRun:
    id: str
    source: str
    mode: str
    status: str  # as recorded, or `interrupted` for a running row whose process is gone
    started_at: str
    finished_at: str | None
    events_appended: int
    error: str | None
    head_position: int | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "mode": self.mode,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "events": self.events_appended,
            "error": self.error,
            "head_position": self.head_position,
        }


def _gone_message(pid: int | None, host: str | None) -> str:
    if pid is None:
        return "interrupted: started by an older cqrs that did not record its process"
    return f"interrupted: its process (pid {pid} on {host}) is gone"


def mark_interrupted(conn: sqlite3.Connection, now: str) -> list[str]:
    """Mark `interrupted` every running run whose process is gone; return their ids.

    Call it inside the transaction that starts a new run.
    """
    gone = [
        (run_id, pid, host)
        for run_id, pid, host in conn.execute(
            "SELECT id, pid, host FROM sync_runs WHERE status = 'running'"
        )
        if process_gone(pid, host)
    ]
    conn.executemany(
        "UPDATE sync_runs SET status = 'interrupted', finished_at = ?, error = ? WHERE id = ?",
        [(now, _gone_message(pid, host), run_id) for run_id, pid, host in gone],
    )
    return [run_id for run_id, _, _ in gone]


def start(
    conn: sqlite3.Connection,
    run_id: str,
    source: str,
    mode: str,
    now: str,
    *,
    clock_skew: float | None = None,
) -> list[str]:
    """Record a new running run (this process, the head it starts from, how far this
    machine's clock is ahead of the source's); return the ids of the earlier runs found
    interrupted."""
    interrupted = mark_interrupted(conn, now)
    at = head(conn)
    conn.execute(
        "INSERT INTO sync_runs (id, source, mode, started_at, status, pid, host, head_position,"
        " head_hash, clock_skew_seconds) VALUES (?,?,?,?,?,?,?,?,?,?)",
        (
            run_id,
            source,
            mode,
            now,
            RUNNING,
            os.getpid(),
            socket.gethostname(),
            *_cols(at),
            clock_skew,
        ),
    )
    return interrupted


def record_progress(conn: sqlite3.Connection, run_id: str, appended: int) -> None:
    """Count `appended` more events and remember the head the run reached, in the
    transaction that appended them: a run killed later still says how far it got."""
    conn.execute(
        "UPDATE sync_runs SET head_position = ?, head_hash = ?,"
        " events_appended = events_appended + ? WHERE id = ?",
        (*_cols(head(conn)), appended, run_id),
    )


def _cols(at: Head) -> tuple[int, str]:
    return at.position, at.hash


def last_run(conn: sqlite3.Connection) -> SyncRun | None:
    """The newest run, `interrupted` when it says running but its process is gone."""
    row = conn.execute(
        "SELECT id, source, mode, status, started_at, finished_at, events_appended, error,"
        " head_position, pid, host FROM sync_runs ORDER BY started_at DESC, rowid DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    status, error = row[3], row[7]
    if status == RUNNING and process_gone(row[9], row[10]):
        status, error = INTERRUPTED, _gone_message(row[9], row[10])
    return SyncRun(row[0], row[1], row[2], status, row[4], row[5], row[6], error, row[8])
