"""`cqrs validate`: the checks a CI pipeline runs on the file after a sync.

Counts are computed from the log itself (`current_state`), so they check the views
rather than repeat them. Count keys and what they count:

- users: active internal users (share false, OdooBot excluded by the sync)
- opportunities: crm.lead of type opportunity, open + won + lost (archived included)
- accounts: res.partner records in the file
- employees: active employees
- teams: active sales teams
- stages: CRM stages
- events: events in the log
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cqrs_cli.domain.errors import EXIT_CHECK_FAILED, EXIT_USAGE, CqrsError
from cqrs_cli.store.chain import verify_chain
from cqrs_cli.store.current_state import live_records
from cqrs_cli.store.log import EventLog

if TYPE_CHECKING:
    from cqrs_cli.app.sources import SourceChoice
    from cqrs_cli.sources.base import Domain, Source
    from cqrs_cli.store.files import Store


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    expected: Any = None
    actual: Any = None
    detail: str | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _count(
    model: str, keep: Callable[[dict[str, Any]], bool]
) -> Callable[[sqlite3.Connection], int]:
    return lambda conn: sum(1 for r in live_records(conn, model) if keep(r))


def _events(conn: sqlite3.Connection) -> int:
    return EventLog(conn).count()


def _active(record: dict[str, Any]) -> bool:
    return record.get("active", True) is not False


COUNTERS: dict[str, Callable[[sqlite3.Connection], int]] = {
    "users": _count("res.users", lambda r: _active(r) and not r.get("share")),
    "opportunities": _count("crm.lead", lambda r: r.get("type", "opportunity") == "opportunity"),
    "accounts": _count("res.partner", lambda r: True),
    "employees": _count("hr.employee", _active),
    "teams": _count("crm.team", _active),
    "stages": _count("crm.stage", lambda r: True),
    "events": _events,
}


def parse_expectations(items: list[str]) -> dict[str, int]:
    """`KEY=N` strings from the command line, checked."""
    out: dict[str, int] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in COUNTERS:
            raise CqrsError(
                f"--expect wants KEY=N with KEY in {', '.join(COUNTERS)}; got {item!r}",
                exit_code=EXIT_USAGE,
            )
        try:
            out[key] = int(value)
        except ValueError:
            raise CqrsError(
                f"--expect {key}: {value!r} is not a number", exit_code=EXIT_USAGE
            ) from None
    return out


def count_checks(conn: sqlite3.Connection, expected: dict[str, int]) -> list[Check]:
    checks = []
    for key, want in expected.items():
        got = COUNTERS[key](conn)
        checks.append(Check(f"count {key}", got == want, want, got))
    return checks


def _ids(records: list[dict[str, Any]]) -> set[int]:
    return {int(r["id"]) for r in records}


def invariant_checks(conn: sqlite3.Connection) -> list[Check]:
    users = list(live_records(conn, "res.users"))
    stages = _ids(list(live_records(conn, "crm.stage")))
    user_ids = _ids(users)
    opportunities = [
        r for r in live_records(conn, "crm.lead") if r.get("type", "opportunity") == "opportunity"
    ]
    orphans = sorted(
        int(o["id"])
        for o in opportunities
        if (o.get("user_id") is not None and o["user_id"] not in user_ids)
        or (o.get("stage_id") is not None and o["stage_id"] not in stages)
    )
    logins = Counter(u.get("login") for u in users)
    duplicates = sorted(str(login) for login, n in logins.items() if n > 1)
    chain = verify_chain(conn)
    return [
        Check(
            "no orphaned opportunity",
            not orphans,
            0,
            len(orphans),
            f"salesperson or stage unknown for opportunities {orphans[:10]}" if orphans else None,
        ),
        Check(
            "no duplicate user login",
            not duplicates,
            0,
            len(duplicates),
            f"logins used twice: {duplicates[:10]}" if duplicates else None,
        ),
        Check(
            "hash chain intact",
            chain.ok,
            chain.count if chain.ok else None,
            chain.count,
            None if chain.ok else f"broken at position {chain.bad_position}: {chain.reason}",
        ),
    ]


def file_checks(conn: sqlite3.Connection) -> list[Check]:
    """SQLite's integrity check, and the log against what remembers its head (checkpoints,
    sync runs). A damaged file gets only the first: other checks would read garbage."""
    from cqrs_cli.store.health import cut_log, integrity

    damage = integrity(conn)
    checks = [Check("file integrity", damage is None, "ok", "damaged" if damage else "ok", damage)]
    if damage is None:
        cut = cut_log(conn)
        checks.append(
            Check(
                "log not cut short or rewritten",
                not cut,
                0,
                len(cut),
                "; ".join(cut) or None,
            )
        )
    return checks


def projection_checks(store: Store) -> list[Check]:
    """Every view at the head of the log and not paused (validate does not catch them up)."""
    from cqrs_cli.projections.readiness import status

    head, found = status(store)
    return [
        Check(
            f"projection {p.name} current",
            p.state == "current",
            head,
            p.position,
            None if p.state == "current" else f"{p.state}" + (f": {p.error}" if p.error else ""),
        )
        for p in found
    ]


def deep_checks(store: Store) -> list[Check]:
    """Replay the log into scratch tables and compare them with the live views, row by row."""
    from cqrs_cli.projections.compare import compare_with_rebuild

    checks = []
    for name, differences in compare_with_rebuild(store).items():
        detail = "; ".join(differences[:3]) if differences else None
        checks.append(
            Check(f"view {name} equals a rebuild", not differences, 0, len(differences), detail)
        )
    return checks


def _source_domains(source: Source) -> dict[str, tuple[str, Domain]]:
    """The source-side query for each count key: same definitions as COUNTERS."""
    from cqrs_cli.sync.scope import scope

    referenced = sorted(
        {
            int(r["partner_id"][0] if isinstance(r["partner_id"], list) else r["partner_id"])
            for page in source.search_read("crm.lead", scope("crm.lead"), ["partner_id"])
            for r in page
            if r.get("partner_id")
        }
    )
    return {
        "users": ("res.users", [*scope("res.users"), ("active", "=", True)]),
        "opportunities": ("crm.lead", scope("crm.lead")),
        "accounts": ("res.partner", scope("res.partner", referenced)),
        "employees": ("hr.employee", [("active", "=", True)]),
        "teams": ("crm.team", [("active", "=", True)]),
        "stages": ("crm.stage", []),
    }


def source_checks(conn: sqlite3.Connection, source: Source) -> list[Check]:
    """The file's counts against the source's own counts (catches a sync that missed records)."""
    checks = []
    for key, (model, domain) in _source_domains(source).items():
        if not source.provides(model):
            continue
        want = source.search_count(model, domain)
        got = COUNTERS[key](conn)
        checks.append(
            Check(
                f"{key} match the source",
                want == got,
                want,
                got,
                None if want == got else f"source has {want}, file has {got}",
            )
        )
    return checks


@dataclass(frozen=True, slots=True)
class Validation:
    """`cqrs validate --format json`."""

    ok: bool
    checks: tuple[Check, ...]

    @property
    def failed(self) -> list[str]:
        return [c.name for c in self.checks if not c.ok]


def validate(
    path: Path,
    *,
    expected: Mapping[str, int] | None = None,
    deep: bool = False,
    source: SourceChoice | None = None,
) -> Validation:
    """The checks CI runs on the file: its integrity and its log's, the counts `expected`,
    the invariants, every view current; with `deep`, every view against a rebuild; with a
    `source`, the file's counts against the source's. A file SQLite cannot read is a
    failed check (exit 3), not an error; a damaged one gets only the file checks."""
    from cqrs_cli.store.db import StoreError
    from cqrs_cli.store.files import open_store

    try:
        with open_store(path) as store:
            checks = file_checks(store.conn)
            if checks[0].ok:  # a damaged file: the rest would read garbage
                checks += [
                    *count_checks(store.conn, dict(expected or {})),
                    *invariant_checks(store.conn),
                    *projection_checks(store),
                ]
    except StoreError as exc:
        if isinstance(exc.__cause__, sqlite3.DatabaseError):
            raise CqrsError(exc.message, exit_code=EXIT_CHECK_FAILED) from exc
        raise
    if deep and checks[0].ok:
        with open_store(path, write=True) as store:
            checks += deep_checks(store)
    if source is not None:
        from cqrs_cli.app.sources import open_source

        opened = open_source(source)
        try:
            with open_store(path) as store:
                checks += source_checks(store.conn, opened)
        finally:
            opened.close()
    return Validation(all(c.ok for c in checks), tuple(checks))
