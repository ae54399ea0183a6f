"""Odoo's clock against ours (docs/sync.md: Incremental).

The incremental window is in Odoo's write_date, the cursor in our clock. With Odoo's
clock S seconds behind ours, a record written right after a sync carries a write_date S
seconds older than the cursor, beyond the fixed overlap: the window opens S seconds
earlier to catch it. The skew of the previous run counts too, so a clock that was just
corrected does not lose what was written under the old one.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from cqrs_cli.store.sync_state import last_skew

WARN_ABOVE = 60.0  # seconds


def widening(conn: sqlite3.Connection, source: str, skew: float | None) -> timedelta:
    """How much earlier the incremental window opens: the larger of this run's and the
    last recorded run's skew, when Odoo's clock is (or was) behind ours."""
    previous = last_skew(conn, source) or 0.0
    return timedelta(seconds=max(0.0, previous, skew or 0.0))


def skew_warning(skew: float | None, name: str) -> str | None:
    if skew is None:
        return (
            f"could not read {name}'s clock (no usable Date header in its answer): the "
            "incremental window is not widened beyond the last measured skew"
        )
    if abs(skew) <= WARN_ABOVE:
        return None
    if skew > 0:
        return (
            f"{name}'s clock is {duration(skew)} behind this machine's: the incremental "
            "window is widened by as much (fix the clock of one of them)"
        )
    return (
        f"{name}'s clock is {duration(-skew)} ahead of this machine's: changes are read up "
        "to that much later (fix the clock of one of them)"
    )


def duration(seconds: float) -> str:
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h"] if hours else []
    if minutes or hours:
        parts.append(f"{minutes} min")
    if secs or not parts:
        parts.append(f"{secs} s")
    return " ".join(parts)
