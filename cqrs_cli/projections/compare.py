"""Is a view what a replay from zero gives? For rebuild tests and `cqrs validate --deep`."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

from cqrs_cli.projections import NAMES
from cqrs_cli.projections.base import Projection
from cqrs_cli.projections.registry import make
from cqrs_cli.projections.runner import (
    catch_up,
    drop_scratch,
    new_suffix,
    rebuild_into_scratch,
    rebuild_lock,
)
from cqrs_cli.store.files import Store

# When a row was computed is not part of what it says.
VOLATILE = frozenset({"computed_at"})


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def table_differences(
    conn: sqlite3.Connection, left: Projection, right: Projection, limit: int = 5
) -> list[str]:
    """Rows in one projection's tables and not in the other's (`computed_at` ignored)."""
    out: list[str] = []
    for base in left.tables:
        a, b = left.t(base), right.t(base)
        cols = [c for c in _columns(conn, a) if c not in VOLATILE]
        listed = ", ".join(cols)
        for x, y, label in ((a, b, "only in live"), (b, a, "only in rebuilt")):
            rows = conn.execute(
                f"SELECT {listed} FROM {x} EXCEPT SELECT {listed} FROM {y} LIMIT ?", (limit,)
            ).fetchall()
            out.extend(f"{base}: {label}: {row}" for row in rows)
    return out


def compare_with_rebuild(
    store: Store,
    names: Sequence[str] = NAMES,
    *,
    progress: Callable[[int], None] | None = None,
) -> dict[str, list[str]]:
    """Replay the log into scratch tables and diff them with the live views.

    The live views are caught up first; the scratch tables are dropped afterwards. An
    empty list per name means the view is exactly what a rebuild would give. Holds the
    rebuild lock: a rebuild or another deep validation of the file is refused meanwhile.
    """
    suffix = new_suffix()
    with rebuild_lock(store, suffix):
        return _compare(store, names, suffix, progress)


def _compare(
    store: Store,
    names: Sequence[str],
    suffix: str,
    progress: Callable[[int], None] | None,
) -> dict[str, list[str]]:
    catch_up(store, names)
    scratch, position = rebuild_into_scratch(store, names, suffix=suffix, progress=progress)
    try:
        # Bring the scratch copies to the same position without making them live.
        _catch_scratch_up(store, scratch, position)
        result: dict[str, list[str]] = {}
        for projection in scratch:
            live = make(projection.name)
            result[projection.name] = table_differences(store.conn, live, projection)
        return result
    finally:
        drop_scratch(store, scratch)


def _catch_scratch_up(store: Store, scratch: Sequence[Projection], position: int) -> None:
    with store.transaction() as conn:
        events = list(store.log.read_all(position))
        for projection in scratch:
            projection.begin(conn)
            for event in events:
                projection.apply(event)
            projection.flush(conn)
