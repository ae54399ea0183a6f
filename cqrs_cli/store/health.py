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
from cqrs_cli.store.chain import ChainReport, verify_chain
from cqrs_cli.store.checkpoints import beyond
from cqrs_cli.store.log import Head, hash_at, head
from cqrs_cli.store.sync_state import furthest_head

_HEAD = re.compile(r"(\d+):([0-9a-fA-F]{64})")


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
    ahead = beyond(conn, now.position)
    if ahead:
        top = max(p for _, p in ahead)
        views = ", ".join(name for name, _ in ahead)
        witnesses.append((top, f"views at position up to {top} ({views})"))
    rewritten = None
    furthest = furthest_head(conn)
    if furthest is not None:
        run_id, position, recorded = furthest
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
