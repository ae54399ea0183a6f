"""`opportunity_view`: each opportunity with its salesperson, their manager, account, stage
and team denormalized, kept right when any of those change later (fan-out)."""

from __future__ import annotations

import sqlite3
from typing import Any, ClassVar

from cqrs_cli.event_types import types_of
from cqrs_cli.projections.base import (
    Index,
    Mirror,
    handles,
    is_deleted,
    is_opportunity,
    record_id,
    record_of,
)
from cqrs_cli.projections.org import OrgProjection
from cqrs_cli.store.log import RecordedEvent

COLUMNS = (
    "id", "name", "status", "active", "stage_id", "stage", "stage_sequence", "user_id",
    "salesperson_login", "salesperson_name", "manager_id", "manager_login", "manager_name",
    "partner_id", "account", "team_id", "team", "company_id", "expected_revenue",
    "probability", "date_deadline", "date_closed", "create_date", "write_date",
)
# Status from the stage, in SQL, for the fan-out of a stage change (DESIGN.md §4).
_STATUS_SQL = "CASE WHEN active = 0 THEN 'lost' WHEN ? THEN 'won' ELSE 'open' END"


def status_of(record: dict[str, Any], stage: dict[str, Any] | None) -> str:
    if not record.get("active", True):
        return "lost"
    if stage is not None and stage.get("is_won"):
        return "won"
    return "open"


class OpportunityView(OrgProjection):
    name = "opportunity_view"
    version = 1
    mirrored = ("res.users", "hr.employee", "crm.stage", "res.partner", "crm.team")
    mirror_table = "ov_records"
    tables: ClassVar[dict[str, str]] = {
        "opportunity_view": """(
            id INTEGER PRIMARY KEY, name TEXT, status TEXT NOT NULL, active INTEGER NOT NULL,
            stage_id INTEGER, stage TEXT, stage_sequence INTEGER, user_id INTEGER,
            salesperson_login TEXT, salesperson_name TEXT, manager_id INTEGER,
            manager_login TEXT, manager_name TEXT, partner_id INTEGER, account TEXT,
            team_id INTEGER, team TEXT, company_id INTEGER, expected_revenue REAL NOT NULL,
            probability REAL NOT NULL, date_deadline TEXT, date_closed TEXT,
            create_date TEXT, write_date TEXT
        )""",
        "ov_records": Mirror.DDL,
    }
    indexes = (
        Index("ix_opportunity_view_user", "opportunity_view", "user_id"),
        Index("ix_opportunity_view_manager", "opportunity_view", "manager_id"),
        Index("ix_opportunity_view_stage", "opportunity_view", "stage_id"),
        Index("ix_opportunity_view_partner", "opportunity_view", "partner_id"),
        Index("ix_opportunity_view_team", "opportunity_view", "team_id"),
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._opps: dict[int, dict[str, Any] | None] = {}

    @handles(*types_of("Opportunity"))
    def on_opportunity(self, event: RecordedEvent) -> None:
        if is_deleted(event):
            self._opps[record_id(event)] = None
            return
        record = record_of(event)
        self._opps[int(record["id"])] = record if is_opportunity(record) else None

    def flush(self, conn: sqlite3.Connection) -> None:
        view = self.t("opportunity_view")
        users = self.records("res.users")
        if self.changed["res.users"]:
            rows = [(users.get(u, {}).get("login"), users.get(u, {}).get("name"), u)
                    for u in sorted(self.changed["res.users"])]
            conn.executemany(
                f"UPDATE {view} SET salesperson_login = ?, salesperson_name = ? WHERE user_id = ?",
                rows,
            )
            conn.executemany(
                f"UPDATE {view} SET manager_login = ?, manager_name = ? WHERE manager_id = ?",
                rows,
            )
        if self.hierarchy_changed() and self.previous_hierarchy is not None:
            before = self.previous_hierarchy.manager_of
            after = self.hierarchy().manager_of
            moved = [u for u in set(before) | set(after) if before.get(u) != after.get(u)]
            conn.executemany(
                f"UPDATE {view} SET manager_id = ?, manager_login = ?, manager_name = ? "
                "WHERE user_id = ?",
                [(*self._person(after.get(u)), u) for u in sorted(moved)],
            )
        stages = self.records("crm.stage")
        if self.changed["crm.stage"]:
            conn.executemany(
                f"UPDATE {view} SET stage = ?, stage_sequence = ?, status = {_STATUS_SQL} "
                "WHERE stage_id = ?",
                [
                    (s.get("name"), s.get("sequence"), int(bool(s.get("is_won"))), sid)
                    if (s := stages.get(sid)) is not None else (None, None, 0, sid)
                    for sid in sorted(self.changed["crm.stage"])
                ],
            )
        accounts = self.records("res.partner")
        if self.changed["res.partner"]:
            conn.executemany(
                f"UPDATE {view} SET account = ? WHERE partner_id = ?",
                [(accounts.get(a, {}).get("name"), a) for a in sorted(self.changed["res.partner"])],
            )
        teams = self.records("crm.team")
        if self.changed["crm.team"]:
            conn.executemany(
                f"UPDATE {view} SET team = ? WHERE team_id = ?",
                [(teams.get(t, {}).get("name"), t) for t in sorted(self.changed["crm.team"])],
            )
        if self._opps:
            gone = [(i,) for i, r in self._opps.items() if r is None]
            rows_ = [self._row(r) for r in self._opps.values() if r is not None]
            if gone:
                conn.executemany(f"DELETE FROM {view} WHERE id = ?", gone)
            if rows_:
                marks = ",".join("?" * len(COLUMNS))
                conn.executemany(
                    f"INSERT OR REPLACE INTO {view} ({','.join(COLUMNS)}) VALUES ({marks})", rows_
                )
            self._opps.clear()
        self.end_batch(conn)

    def discard(self) -> None:
        super().discard()
        self._opps.clear()

    def _person(self, uid: int | None) -> tuple[int | None, str | None, str | None]:
        user = self.records("res.users").get(uid) if uid is not None else None
        if user is None:
            return uid, None, None
        return uid, user.get("login"), user.get("name")

    def _row(self, r: dict[str, Any]) -> tuple[Any, ...]:
        stage = self.records("crm.stage").get(r.get("stage_id"))  # type: ignore[arg-type]
        account = self.records("res.partner").get(r.get("partner_id"))  # type: ignore[arg-type]
        team = self.records("crm.team").get(r.get("team_id"))  # type: ignore[arg-type]
        uid = r.get("user_id")
        _, login, name = self._person(uid)
        manager = self.hierarchy().manager_of.get(uid) if uid is not None else None
        _, m_login, m_name = self._person(manager)
        return (
            r["id"], r.get("name"), status_of(r, stage), int(bool(r.get("active", True))),
            r.get("stage_id"), stage.get("name") if stage else None,
            stage.get("sequence") if stage else None, uid, login, name, manager, m_login,
            m_name, r.get("partner_id"), account.get("name") if account else None,
            r.get("team_id"), team.get("name") if team else None, r.get("company_id"),
            float(r.get("expected_revenue") or 0.0), float(r.get("probability") or 0.0),
            r.get("date_deadline"), r.get("date_closed"), r.get("create_date"),
            r.get("write_date"),
        )
