"""Does the file tell the truth? SQLite's own integrity, the hash chain, and a cut log.

The chain proves every row is what was written, in order, but not that the newest rows
are still there: removing the tail leaves a shorter, valid chain. What remembers the
tail is elsewhere in the file (each checkpoint's position, the head each sync run
recorded, SQLite's AUTOINCREMENT counter) and outside it (a head someone kept, checked
with `cqrs verify --expect POSITION:HASH`).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field

from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError
from cqrs_cli.store.chain import GENESIS, ChainReport, verify_chain

_HEAD = re.compile(r"(\d+):([0-9a-fA-F]{64})")


@dataclass(frozen=True)
class Head:
    """The newest event: its position (0 for an empty log) and its hash."""

    position: int
    hash: str

    def __str__(self) -> str:
        return f"{self.position}:{self.hash}"


def parse_head(text: str) -> Head:
    """`POSITION:HASH` as `verify` prints it."""
    found = _HEAD.fullmatch(text.strip())
    if not found:
        raise CqrsError(
            f"--expect wants POSITION:HASH as `cqrs verify` prints it (a 64-digit hex hash); "
            f"got {text!r}",
            exit_code=EXIT_USAGE,
        )
    return Head(int(found[1]), found[2].lower())


def head(conn: sqlite3.Connection) -> Head:
    row = conn.execute(
        "SELECT position, hash FROM events ORDER BY position DESC LIMIT 1"
    ).fetchone()
    return Head(int(row[0]), str(row[1])) if row else Head(0, GENESIS)


def hash_at(conn: sqlite3.Connection, position: int) -> str | None:
    if position == 0:
        return GENESIS
    row = conn.execute("SELECT hash FROM events WHERE position = ?", (position,)).fetchone()
    return str(row[0]) if row else None


def integrity(conn: sqlite3.Connection) -> str | None:
    """None when SQLite finds the file sound, else the first thing it found wrong."""
    try:
        rows = [str(r[0]) for r in conn.execute("PRAGMA integrity_check(5)")]
    except sqlite3.DatabaseError as exc:
        return str(exc)
    if rows == ["ok"]:
        return None
    first = rows[0].replace("*** in database main ***", "")
    more = f" (and {len(rows) - 1} more)" if len(rows) > 1 else ""
    return " ".join(first.split()) + more


def _has_column(conn: sqlite3.Connection, table: str, column: str) -> bool:
    return any(r[1] == column for r in conn.execute(f"PRAGMA table_info({table})"))


def _short(text: str) -> str:
    return text[:12]


def cut_log(conn: sqlite3.Connection, at: Head | None = None) -> list[str]:
    """What says the log once went further than it does, or held other events: at most one
    line for each (empty when all is well).

    Cheap: one query per kind of witness, however long the log.
    """
    now = at or head(conn)
    witnesses: list[tuple[int, str]] = []  # (position beyond the head, who says so)
    seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
    if seq and int(seq[0]) > now.position:
        witnesses.append((int(seq[0]), f"SQLite handed out positions up to {seq[0]}"))
    ahead = conn.execute(
        "SELECT projection, position FROM checkpoints WHERE position > ? ORDER BY projection",
        (now.position,),
    ).fetchall()
    if ahead:
        top = max(int(p) for _, p in ahead)
        views = ", ".join(str(name) for name, _ in ahead)
        witnesses.append((top, f"views at position up to {top} ({views})"))
    rewritten = None
    if _has_column(conn, "sync_runs", "head_position"):
        row = conn.execute(
            "SELECT id, head_position, head_hash FROM sync_runs WHERE head_position IS NOT NULL"
            " ORDER BY head_position DESC, started_at DESC LIMIT 1"
        ).fetchone()
        if row is not None:
            run_id, position, recorded = str(row[0]), int(row[1]), row[2]
            found = hash_at(conn, position) if position <= now.position else None
            if position > now.position:
                witnesses.append((position, f"sync run {run_id} reached {position}"))
            elif recorded is not None and found != recorded:
                rewritten = (
                    f"the log was rewritten: sync run {run_id} recorded hash "
                    f"{_short(recorded)}... at position {position}, the log now has "
                    f"{_short(found or '?')}... there"
                )
    problems = []
    if witnesses:
        top = max(p for p, _ in witnesses)
        problems.append(
            f"events were removed: the log ends at position {now.position} but reached {top} "
            f"before ({'; '.join(w for _, w in witnesses)})"
        )
    if rewritten:
        problems.append(rewritten)
    return problems


def expected_head(conn: sqlite3.Connection, expected: Head) -> str | None:
    """None when the log still holds `expected` (a head recorded elsewhere), else why not."""
    now = head(conn)
    if expected.position > now.position:
        return (
            f"expected head {expected.position} but the log ends at {now.position}: "
            "events were removed"
        )
    found = hash_at(conn, expected.position)
    if found != expected.hash:
        return (
            f"the event at position {expected.position} has hash {_short(found or '?')}..., "
            f"expected {_short(expected.hash)}...: the log was rewritten"
        )
    return None


@dataclass
class FileReport:
    """What `verify` found: the head, and every problem as one line."""

    events: int = 0
    head: Head | None = None
    chain: ChainReport | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_file(conn: sqlite3.Connection, expected: Head | None = None) -> FileReport:
    """SQLite's integrity check, the hash chain, a cut log and an expected head.

    A damaged file stops at the first step: what follows would read garbage.
    """
    report = FileReport()
    damage = integrity(conn)
    if damage is not None:
        report.problems.append(f"the file is damaged: SQLite integrity check: {damage}")
        return report
    try:
        report.chain = chain = verify_chain(conn)
        report.events = chain.count
        report.head = head(conn)
        if not chain.ok:
            report.problems.append(
                f"chain broken at position {chain.bad_position}: {chain.reason} "
                f"({chain.count} events before it are intact)"
            )
        report.problems.extend(cut_log(conn, report.head))
        if expected is not None:
            mismatch = expected_head(conn, expected)
            if mismatch:
                report.problems.append(mismatch)
    except sqlite3.DatabaseError as exc:
        report.problems.append(f"the file is damaged: {exc}")
    return report
