"""What the sync keeps beside the log: the tables `odoo_raw_data`, `sync_cursors` and
`sync_runs`. This module owns them: no other module reads or writes them.

- `odoo_raw_data`: the last normalized record seen per (model, Odoo id): its canonical
  JSON without write_date (`payload`), the sha256 of that text (`content_hash`), the
  write_date, when it was first and last seen, and when it left the source
  (`deleted_at`). The sync diffs what it reads against it.
- `sync_cursors`: per source and model, the write_date up to which an incremental sync has
  read.
- `sync_runs`: one row per run. A run's row says `running` from its start until it ends
  `succeeded` or `failed`. A run killed outright (kill -9, power loss) cannot say so: the
  next run marks every `running` row whose process is gone `interrupted`, and `status`
  already shows it so. The head position and hash a run reached are kept after every page
  it commits, so a log cut below them is noticed (see `health.cut_log`).

Every write here happens inside the caller's transaction, with the events it goes with
(docs/sync.md: one page, one transaction).
"""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cqrs_cli.store.locks import process_gone
from cqrs_cli.store.log import Head, head

RUNNING, SUCCEEDED, FAILED, INTERRUPTED = "running", "succeeded", "failed", "interrupted"

# -- odoo_raw_data -------------------------------------------------------------------------

# (model, odoo_id, payload, content_hash, write_date, first_seen, last_seen)
RawRow = tuple[str, int, str, str, str | None, str, str]


def stored_rows(conn: sqlite3.Connection, model: str) -> dict[int, tuple[str, str | None, bool]]:
    """Every stored record of `model`: id → (content hash, write_date, deleted?)."""
    return {
        int(i): (h, w, d is not None)
        for i, h, w, d in conn.execute(
            "SELECT odoo_id, content_hash, write_date, deleted_at FROM odoo_raw_data"
            " WHERE model = ?",
            (model,),
        )
    }


def stored_payload(conn: sqlite3.Connection, model: str, odoo_id: int) -> tuple[str, str | None]:
    """The stored (payload, write_date) of one record, which must exist."""
    payload, write_date = conn.execute(
        "SELECT payload, write_date FROM odoo_raw_data WHERE model = ? AND odoo_id = ?",
        (model, odoo_id),
    ).fetchone()
    return str(payload), write_date


def alive_ids(conn: sqlite3.Connection, model: str) -> set[int]:
    """The ids of the records of `model` still in the source at the last sync."""
    return {
        int(i)
        for (i,) in conn.execute(
            "SELECT odoo_id FROM odoo_raw_data WHERE model = ? AND deleted_at IS NULL", (model,)
        )
    }


def alive_field(conn: sqlite3.Connection, model: str, field: str) -> dict[int, Any]:
    """`field` of every live record of `model`, by id (None where it is empty)."""
    return {
        int(i): value
        for i, value in conn.execute(
            "SELECT odoo_id, json_extract(payload, ?) FROM odoo_raw_data"
            " WHERE model = ? AND deleted_at IS NULL",
            (f"$.{field}", model),
        )
    }


def alive_values(conn: sqlite3.Connection, model: str, field: str) -> list[Any]:
    """The distinct non-empty values of `field` among the live records of `model`."""
    return [
        value
        for (value,) in conn.execute(
            "SELECT DISTINCT json_extract(payload, ?1) FROM odoo_raw_data"
            " WHERE model = ?2 AND deleted_at IS NULL AND json_extract(payload, ?1) IS NOT NULL",
            (f"$.{field}", model),
        )
    ]


def write_raw(
    conn: sqlite3.Connection,
    upserts: Sequence[RawRow] = (),
    touches: Sequence[tuple[str, str, int]] = (),
    deletions: Sequence[tuple[str, str, int]] = (),
) -> None:
    """Store records read (`upserts`, alive again if they were deleted), mark records seen
    unchanged (`touches`: last_seen, model, id) and records gone (`deletions`:
    deleted_at, model, id)."""
    if upserts:
        conn.executemany(
            "INSERT INTO odoo_raw_data (model, odoo_id, payload, content_hash,"
            " write_date, first_seen, last_seen, deleted_at)"
            " VALUES (?,?,?,?,?,?,?,NULL) ON CONFLICT (model, odoo_id) DO UPDATE SET"
            " payload = excluded.payload, content_hash = excluded.content_hash,"
            " write_date = excluded.write_date, last_seen = excluded.last_seen,"
            " deleted_at = NULL",
            upserts,
        )
    if touches:
        conn.executemany(
            "UPDATE odoo_raw_data SET last_seen = ? WHERE model = ? AND odoo_id = ?", touches
        )
    if deletions:
        conn.executemany(
            "UPDATE odoo_raw_data SET deleted_at = ? WHERE model = ? AND odoo_id = ?", deletions
        )


# -- sync_cursors --------------------------------------------------------------------------


def cursor(conn: sqlite3.Connection, source: str, model: str) -> str | None:
    """The write_date up to which `source` has been read for `model`, if it has been."""
    row = conn.execute(
        "SELECT write_date FROM sync_cursors WHERE source = ? AND model = ?", (source, model)
    ).fetchone()
    return str(row[0]) if row else None


def save_cursor(
    conn: sqlite3.Connection, source: str, model: str, write_date: str, now: str
) -> None:
    conn.execute(
        "INSERT INTO sync_cursors (source, model, write_date, updated_at)"
        " VALUES (?,?,?,?) ON CONFLICT (source, model) DO UPDATE SET"
        " write_date = excluded.write_date, updated_at = excluded.updated_at",
        (source, model, write_date, now),
    )


# -- sync_runs -----------------------------------------------------------------------------


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


def finish(
    conn: sqlite3.Connection,
    run_id: str,
    status: str,
    now: str,
    counts: str,
    appended: int,
    error: str | None = None,
) -> None:
    """End a run `succeeded`, `failed` or `interrupted` (asked to stop between pages),
    with its counts (JSON) and events appended."""
    conn.execute(
        "UPDATE sync_runs SET status = ?, finished_at = ?, counts = ?, events_appended = ?,"
        " error = ? WHERE id = ?",
        (status, now, counts, appended, error, run_id),
    )


def last_skew(conn: sqlite3.Connection, source: str) -> float | None:
    """The clock skew the newest run from `source` recorded, if any did."""
    row = conn.execute(
        "SELECT clock_skew_seconds FROM sync_runs WHERE source = ?"
        " AND clock_skew_seconds IS NOT NULL ORDER BY started_at DESC LIMIT 1",
        (source,),
    ).fetchone()
    return float(row[0]) if row else None


def first_other_source(conn: sqlite3.Connection, source: str) -> str | None:
    """The source of the oldest run not from `source`, if any (a run that appended
    nothing counts: it still moved cursors and vouched for the data)."""
    row = conn.execute(
        "SELECT source FROM sync_runs WHERE source != ? ORDER BY started_at LIMIT 1", (source,)
    ).fetchone()
    return str(row[0]) if row else None


def furthest_head(conn: sqlite3.Connection) -> tuple[str, int, str | None] | None:
    """(run id, position, hash) of the furthest head a run recorded, if any did. A file
    from before runs recorded their head (schema 4) has none."""
    if not any(r[1] == "head_position" for r in conn.execute("PRAGMA table_info(sync_runs)")):
        return None
    row = conn.execute(
        "SELECT id, head_position, head_hash FROM sync_runs WHERE head_position IS NOT NULL"
        " ORDER BY head_position DESC, started_at DESC LIMIT 1"
    ).fetchone()
    return None if row is None else (str(row[0]), int(row[1]), row[2])
