"""`dashboard_metrics`: pipeline figures per user, own and team (docs/access.md for "team").

Events mark users dirty; a user's row is recomputed when read while dirty or older than
the TTL. Sums use `math.fsum` (correctly rounded, independent of row order), so a
rebuilt row equals the incremental one and no figure is Odoo's rounded prorated revenue.
"""

from __future__ import annotations

import json
import math
import sqlite3
from typing import Any, ClassVar

from cqrs_cli.event_types import types_of
from cqrs_cli.projections.base import (
    Index,
    Mirror,
    any_clean,
    dumps,
    epoch,
    handles,
    record_id,
    record_of,
)
from cqrs_cli.projections.org import (
    OrgProjection,
    closure_rows,
    mark_dirty_with_managers,
    owners_of,
    write_pending,
)
from cqrs_cli.store.log import RecordedEvent

DELETED = "OdooOpportunityDeleted"

Opp = tuple[int | None, int, int | None, float, float]  # user, active, stage, revenue, prob


def figures(
    rows: list[tuple[int, int | None, float, float]], stages: dict[int, dict[str, Any]]
) -> dict[str, Any]:
    """Figures over (active, stage_id, expected_revenue, probability) rows."""
    pipeline: list[float] = []
    weighted: list[float] = []
    won: list[float] = []
    per_stage: dict[int | None, list[float]] = {}
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
    known = sorted(
        (k for k in per_stage if k is not None),
        key=lambda sid: (stages[sid].get("sequence") or 0, sid),
    )
    by_stage = [
        {
            "stage": stages[sid].get("name"),
            "count": len(per_stage[sid]),
            "value": math.fsum(per_stage[sid]),
        }
        for sid in known
    ]
    if None in per_stage:
        by_stage.append(
            {"stage": None, "count": len(per_stage[None]), "value": math.fsum(per_stage[None])}
        )
    return {
        "pipeline_value": math.fsum(pipeline),
        "weighted_pipeline": math.fsum(weighted),
        "won_revenue": math.fsum(won),
        "active_opportunities": len(pipeline),
        "by_stage": by_stage,
    }


class DashboardMetrics(OrgProjection):
    name = "dashboard_metrics"
    version = 2  # 2: only a user's own employee stands for them (docs/access.md)
    mirrored = ("res.users", "hr.employee", "crm.stage")
    mirror_table = "dm_records"
    tables: ClassVar[dict[str, str]] = {
        "dashboard_metrics": """(
            user_id INTEGER PRIMARY KEY, own TEXT, team TEXT,
            dirty INTEGER NOT NULL DEFAULT 1, computed_at TEXT
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

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._opps: dict[int, Opp | None] = {}

    @handles(*types_of("Opportunity"))
    def on_opportunity(self, event: RecordedEvent) -> None:
        # Hot in a replay: `is_deleted`, `record_of` and `is_opportunity` inlined.
        if event.type == DELETED:
            self._opps[record_id(event)] = None
            return
        r = event.data.get("record")
        if not isinstance(r, dict):
            r = record_of(event)  # raises
        self._opps[int(r["id"])] = (
            (
                r.get("user_id"),
                1 if r.get("active", True) else 0,
                r.get("stage_id"),
                float(r.get("expected_revenue") or 0.0),
                float(r.get("probability") or 0.0),
            )
            if r.get("type", "opportunity") == "opportunity"
            else None
        )

    def flush(self, conn: sqlite3.Connection) -> None:
        table, opps = self.t("dashboard_metrics"), self.t("dm_opportunities")
        if self.hierarchy_changed():
            users = sorted(self.records("res.users"))
            conn.execute(f"DELETE FROM {table}")
            conn.executemany(
                f"INSERT INTO {table} (user_id, dirty) VALUES (?, 1)", [(u,) for u in users]
            )
            conn.execute(f"DELETE FROM {self.t('dm_subordinates')}")
            conn.executemany(
                f"INSERT INTO {self.t('dm_subordinates')} VALUES (?, ?)",
                closure_rows(self.hierarchy()),
            )
        if self.changed["crm.stage"]:
            conn.execute(f"UPDATE {table} SET dirty = 1 WHERE dirty = 0")
        # Marking users dirty only matters when some are clean; in a replay nobody is.
        if self._opps and any_clean(conn, table):
            owners = {o for o in owners_of(conn, opps, self._opps) if o is not None}
            if owners:
                mark_dirty_with_managers(conn, table, self.t("dm_subordinates"), owners)
        if self._opps:
            write_pending(
                conn,
                opps,
                ("user_id", "active", "stage_id", "expected_revenue", "probability"),
                self._opps,
            )
            self._opps.clear()
        self.end_batch(conn)

    def discard(self) -> None:
        super().discard()
        self._opps.clear()

    # -- reading -----------------------------------------------------------------------------

    def refresh(self, conn: sqlite3.Connection, user_id: int) -> None:
        """Recompute a user's figures when dirty or expired (call inside a transaction)."""
        row = conn.execute(
            f"SELECT dirty, computed_at FROM {self.t('dashboard_metrics')} WHERE user_id = ?",
            (user_id,),
        ).fetchone()
        if row is None:
            return
        dirty, computed_at = row
        if (
            not dirty
            and computed_at is not None
            and (self.settings.clock() - epoch(computed_at) < self.settings.ttl)
        ):
            return
        stages = {
            rid: json.loads(text)
            for rid, text in conn.execute(
                f"SELECT id, data FROM {self.t('dm_records')} WHERE model = 'crm.stage'"
            )
        }
        subs = [
            r[0]
            for r in conn.execute(
                f"SELECT sub_id FROM {self.t('dm_subordinates')} WHERE user_id = ?", (user_id,)
            )
        ]
        own_rows = self._rows(conn, [user_id])
        own = figures(own_rows, stages)
        team = figures(own_rows + self._rows(conn, subs), stages) if subs else None
        conn.execute(
            f"UPDATE {self.t('dashboard_metrics')} SET own = ?, team = ?, dirty = 0, "
            "computed_at = ? WHERE user_id = ?",
            (
                dumps(own),
                dumps(team) if team is not None else None,
                self.settings.now_iso(),
                user_id,
            ),
        )

    def refresh_all(self, conn: sqlite3.Connection) -> None:
        for (uid,) in conn.execute(f"SELECT user_id FROM {self.t('dashboard_metrics')}").fetchall():
            self.refresh(conn, uid)

    def _rows(
        self, conn: sqlite3.Connection, users: list[int]
    ) -> list[tuple[int, int | None, float, float]]:
        if not users:
            return []
        return conn.execute(
            "SELECT active, stage_id, expected_revenue, probability"
            f" FROM {self.t('dm_opportunities')}"
            " WHERE user_id IN (SELECT value FROM json_each(?))",
            (dumps(users),),
        ).fetchall()

    def read(self, conn: sqlite3.Connection, user_id: int) -> tuple[Any, Any] | None:
        row = conn.execute(
            f"SELECT own, team FROM {self.t('dashboard_metrics')} WHERE user_id = ?", (user_id,)
        ).fetchone()
        if row is None:
            return None
        return json.loads(row[0]) if row[0] else None, json.loads(row[1]) if row[1] else None
