"""`user_profiles`: every synced user with their place in the org chart, teams and groups."""

from __future__ import annotations

import sqlite3
from typing import Any, ClassVar

from cqrs_cli.domain import hierarchy
from cqrs_cli.projections.base import Index, Mirror, dumps
from cqrs_cli.projections.org import OrgProjection

COLUMNS = (
    "user_id",
    "login",
    "name",
    "email",
    "active",
    "employee_id",
    "manager_id",
    "manager_login",
    "manager_name",
    "subordinates",
    "all_subordinates",
    "teams",
    "groups",
    "access",
    "is_salesman",
    "is_all_documents",
    "is_sales_admin",
    "company_id",
    "company_ids",
    "in_cycle",
)


class UserProfiles(OrgProjection):
    name = "user_profiles"
    mirrored = ("res.users", "hr.employee", "crm.team", "crm.team.member")
    mirror_table = "up_records"
    tables: ClassVar[dict[str, str]] = {
        "user_profiles": """(
            user_id INTEGER PRIMARY KEY, login TEXT NOT NULL, name TEXT, email TEXT,
            active INTEGER NOT NULL, employee_id INTEGER,
            manager_id INTEGER REFERENCES user_profiles (user_id),
            manager_login TEXT, manager_name TEXT,
            subordinates TEXT NOT NULL, all_subordinates TEXT NOT NULL, teams TEXT NOT NULL,
            groups TEXT NOT NULL, access TEXT NOT NULL, is_salesman INTEGER NOT NULL,
            is_all_documents INTEGER NOT NULL, is_sales_admin INTEGER NOT NULL,
            company_id INTEGER, company_ids TEXT NOT NULL, in_cycle INTEGER NOT NULL
        )""",
        "up_records": Mirror.DDL,
    }
    indexes = (
        Index("ix_user_profiles_login", "user_profiles", "login"),
        Index("ix_user_profiles_manager", "user_profiles", "manager_id"),
    )

    def flush(self, conn: sqlite3.Connection) -> None:
        dirty = any(self.changed.values())
        if dirty:
            rows = self.rows()
            conn.execute(f"DELETE FROM {self.t('user_profiles')}")
            marks = ",".join("?" * len(COLUMNS))
            conn.executemany(
                f"INSERT INTO {self.t('user_profiles')} ({','.join(COLUMNS)}) VALUES ({marks})",
                [tuple(r[c] for c in COLUMNS) for r in rows],
            )
        self.end_batch(conn)

    def rows(self) -> list[dict[str, Any]]:
        users = self.records("res.users")
        h = self.hierarchy()
        teams = self._teams_by_user()
        out = []
        for uid in sorted(users):
            user = users[uid]
            manager = h.manager_of.get(uid)
            groups = sorted(user.get("groups") or [])
            out.append(
                {
                    "user_id": uid,
                    "login": user["login"],
                    "name": user.get("name"),
                    "email": user.get("email"),
                    "active": int(bool(user.get("active", True))),
                    "employee_id": h.employee_of.get(uid),
                    "manager_id": manager,
                    "manager_login": users[manager]["login"] if manager is not None else None,
                    "manager_name": users[manager].get("name") if manager is not None else None,
                    "subordinates": dumps(h.direct.get(uid, [])),
                    "all_subordinates": dumps(h.below.get(uid, [])),
                    "teams": dumps(teams.get(uid, [])),
                    "groups": dumps(groups),
                    "access": hierarchy.access_of(user),
                    "is_salesman": int(hierarchy.SALESMAN in groups),
                    "is_all_documents": int(hierarchy.ALL_LEADS in groups),
                    "is_sales_admin": int(hierarchy.SALE_MANAGER in groups),
                    "company_id": user.get("company_id"),
                    "company_ids": dumps(sorted(user.get("company_ids") or [])),
                    "in_cycle": int(uid in h.in_cycle),
                }
            )
        return out

    def _teams_by_user(self) -> dict[int, list[dict[str, Any]]]:
        """Active teams a user leads or is an active member of."""
        teams = {tid: t for tid, t in self.records("crm.team").items() if t.get("active", True)}
        found: dict[int, set[int]] = {}
        for tid, team in teams.items():
            if team.get("user_id") is not None:
                found.setdefault(team["user_id"], set()).add(tid)
        for member in self.records("crm.team.member").values():
            if member.get("active", True) and member.get("crm_team_id") in teams:
                found.setdefault(member["user_id"], set()).add(member["crm_team_id"])
        return {
            uid: [{"id": tid, "name": teams[tid].get("name")} for tid in sorted(tids)]
            for uid, tids in found.items()
        }
