"""`dashboard_metrics`: pipeline figures per user, own and team (docs/access.md for "team").

The writer keeps every row exact as of the checkpoint; a read never computes anything. A
batch recomputes the owners of the opportunities it touched (before and after), everyone
above them in the org chart, the users whose subordinates changed, and the owners of
opportunities in a changed stage; a rebuild computes every user once, at the end of its
replay. Sums use `math.fsum` (correctly rounded, independent of row order and grouping),
so a rebuilt row equals the incremental one and no figure is Odoo's rounded prorated
revenue.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, ClassVar

from cqrs_cli.projections.base import Index, Mirror, dumps
from cqrs_cli.projections.org import (
    OpportunityProjection,
    managers_of,
    owners_of,
    write_closure,
    write_pending,
)
from cqrs_cli.store.log import utc_now_iso

Row = tuple[int, int | None, float, float]  # active, stage_id, expected_revenue, probability


@dataclass
class Parts:
    """One owner's opportunities sorted into the lists the figures add up."""

    pipeline: list[float] = field(default_factory=list)  # revenue of open ones
    weighted: list[float] = field(default_factory=list)  # revenue x probability / 100
    won: list[float] = field(default_factory=list)
    stages: dict[int | None, list[float]] = field(default_factory=dict)  # open and won


def sort_rows(rows: Iterable[Row], stages: dict[int, dict[str, Any]]) -> Parts:
    """Sort (active, stage_id, expected_revenue, probability) rows into `Parts`."""
    parts = Parts()
    pipeline, weighted, won, per_stage = parts.pipeline, parts.weighted, parts.won, parts.stages
    for active, stage_id, revenue, probability in rows:
        if not active:
            continue  # lost
        stage = stages.get(stage_id) if stage_id is not None else None
        key = stage_id if stage is not None else None
        if stage is not None and stage.get("is_won"):
            won.append(revenue)
        else:
            pipeline.append(revenue)
            weighted.append(revenue * probability / 100.0)
        per_stage.setdefault(key, []).append(revenue)
    return parts


def add_up(parts: list[Parts], stages: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """The figures over the opportunities of several owners together.

    `math.fsum` over all their values at once is exact, so the figures do not depend on
    how the opportunities are split among owners or in which order they come.
    """
    keys = {k for p in parts for k in p.stages}
    known = sorted(
        (k for k in keys if k is not None),
        key=lambda sid: (stages[sid].get("sequence") or 0, sid),
    )

    def stage(key: int | None) -> tuple[int, float]:
        lists = [p.stages[key] for p in parts if key in p.stages]
        return sum(map(len, lists)), math.fsum(chain.from_iterable(lists))

    by_stage = []
    for sid in known:
        count, value = stage(sid)
        by_stage.append({"stage": stages[sid].get("name"), "count": count, "value": value})
    if None in keys:
        count, value = stage(None)
        by_stage.append({"stage": None, "count": count, "value": value})
    return {
        "pipeline_value": math.fsum(chain.from_iterable(p.pipeline for p in parts)),
        "weighted_pipeline": math.fsum(chain.from_iterable(p.weighted for p in parts)),
        "won_revenue": math.fsum(chain.from_iterable(p.won for p in parts)),
        "active_opportunities": sum(len(p.pipeline) for p in parts),
        "by_stage": by_stage,
    }


def figures(rows: list[Row], stages: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Figures over (active, stage_id, expected_revenue, probability) rows."""
    return add_up([sort_rows(rows, stages)], stages)


class DashboardMetrics(OpportunityProjection):
    name = "dashboard_metrics"
    # 2: only a user's own employee stands for them (docs/access.md).
    # 3: rows kept exact by the writer (no dirty flag, no TTL).
    version = 3
    mirrored = ("res.users", "hr.employee", "crm.stage")
    mirror_table = "dm_records"
    tables: ClassVar[dict[str, str]] = {
        "dashboard_metrics": """(
            user_id INTEGER PRIMARY KEY, own TEXT NOT NULL, team TEXT, computed_at TEXT NOT NULL
        )""",
        "dm_opportunities": """(
            id INTEGER PRIMARY KEY, user_id INTEGER, active INTEGER NOT NULL, stage_id INTEGER,
            expected_revenue REAL NOT NULL, probability REAL NOT NULL
        )""",
        "dm_subordinates": """(
            user_id INTEGER NOT NULL, sub_id INTEGER NOT NULL, PRIMARY KEY (user_id, sub_id)
        ) WITHOUT ROWID""",
        "dm_records": Mirror.DDL,
    }
    indexes = (
        Index("ix_dm_opportunities_user", "dm_opportunities", "user_id"),
        Index("ix_dm_subordinates_sub", "dm_subordinates", "sub_id"),
    )

    @staticmethod
    def keep(record: dict[str, Any]) -> tuple[Any, ...]:
        return (
            record.get("user_id"),
            1 if record.get("active", True) else 0,
            record.get("stage_id"),
            float(record.get("expected_revenue") or 0.0),
            float(record.get("probability") or 0.0),
        )

    def flush(self, conn: sqlite3.Connection) -> None:
        opps, table = self.take_opportunities(), self.t("dm_opportunities")
        touched: set[int | None] = set()
        if opps and not self.defer:
            touched |= owners_of(conn, table, opps)
        if opps:
            write_pending(
                conn,
                table,
                ("user_id", "active", "stage_id", "expected_revenue", "probability"),
                opps,
            )
        if self.hierarchy_changed():
            touched.update(self._write_users(conn))
        if self.changed["crm.stage"] and not self.defer:
            # Rare enough to scan for: no index on stage_id to keep up on every write.
            touched |= {
                r[0]
                for r in conn.execute(
                    f"SELECT DISTINCT user_id FROM {table} "
                    "WHERE stage_id IN (SELECT value FROM json_each(?))",
                    (dumps(sorted(self.changed["crm.stage"])),),
                )
            }
        # A deferred replay computes everybody once, in `end_replay`.
        owners = {u for u in touched if u is not None}
        if owners and not self.defer:
            owners |= managers_of(conn, self.t("dm_subordinates"), owners)
            self._compute(conn, owners)
        self.end_batch(conn)

    def end_replay(self, conn: sqlite3.Connection) -> None:
        self._compute(conn, None)
        super().end_replay(conn)

    def _write_users(self, conn: sqlite3.Connection) -> set[int]:
        """Bring the closure up to date and drop the rows of users gone; return the users
        whose figures change: new ones, gone ones and those whose subordinates changed."""
        table = self.t("dashboard_metrics")
        users = self.records("res.users")
        stored = {r[0] for r in conn.execute(f"SELECT user_id FROM {table}")}
        gone = stored - users.keys()
        if gone:
            conn.executemany(f"DELETE FROM {table} WHERE user_id = ?", [(u,) for u in gone])
        moved = write_closure(conn, self.t("dm_subordinates"), self.hierarchy())
        return (users.keys() - stored) | moved

    def _compute(self, conn: sqlite3.Connection, users: set[int] | None) -> None:
        """Compute the figures of `users` (None: of every user) and store them."""
        known = self.records("res.users")
        chosen = sorted(known if users is None else users & known.keys())
        if not chosen:
            return
        stages = self.records("crm.stage")
        subs_table, opps_table = self.t("dm_subordinates"), self.t("dm_opportunities")
        below: dict[int, list[int]] = {}
        if users is None:
            for uid, sub in conn.execute(f"SELECT user_id, sub_id FROM {subs_table}"):
                below.setdefault(uid, []).append(sub)
            found = conn.execute(
                "SELECT user_id, active, stage_id, expected_revenue, probability"
                f" FROM {opps_table} WHERE user_id IS NOT NULL"
            )
        else:
            for uid, sub in conn.execute(
                f"SELECT user_id, sub_id FROM {subs_table} "
                "WHERE user_id IN (SELECT value FROM json_each(?))",
                (dumps(chosen),),
            ):
                below.setdefault(uid, []).append(sub)
            owners = set(chosen).union(*below.values())
            found = conn.execute(
                "SELECT user_id, active, stage_id, expected_revenue, probability"
                f" FROM {opps_table} WHERE user_id IN (SELECT value FROM json_each(?))",
                (dumps(sorted(owners)),),
            )
        rows: dict[int, list[Row]] = {}
        for owner, active, stage_id, revenue, probability in found:
            rows.setdefault(owner, []).append((active, stage_id, revenue, probability))
        parts = {owner: sort_rows(owned, stages) for owner, owned in rows.items()}
        nothing = Parts()
        now = utc_now_iso()
        out = []
        for uid in chosen:
            own = parts.get(uid, nothing)
            subs = below.get(uid)
            team = add_up([own, *(parts[s] for s in subs if s in parts)], stages) if subs else None
            out.append(
                (uid, dumps(add_up([own], stages)), None if team is None else dumps(team), now)
            )
        conn.executemany(
            f"INSERT INTO {self.t('dashboard_metrics')} (user_id, own, team, computed_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET own = excluded.own, "
            "team = excluded.team, computed_at = excluded.computed_at",
            out,
        )

    # -- reading -----------------------------------------------------------------------------

    def read(self, conn: sqlite3.Connection, user_id: int) -> tuple[Any, Any] | None:
        """(own, team) figures of `user_id` as stored, exact as of the view's checkpoint;
        team is None for a user with no subordinates, the whole is None for an unknown
        user. Read-only."""
        row = conn.execute(
            f"SELECT own, team FROM {self.t('dashboard_metrics')} WHERE user_id = ?", (user_id,)
        ).fetchone()
        if row is None:
            return None
        return json.loads(row[0]) if row[0] else None, json.loads(row[1]) if row[1] else None
