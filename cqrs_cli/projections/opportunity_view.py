"""`opportunity_view`: each opportunity with its salesperson, their manager, account, stage
and team denormalized, kept right when any of those change later (fan-out)."""

from __future__ import annotations

import sqlite3
from operator import itemgetter
from typing import Any, ClassVar

from cqrs_cli.projections.base import Index, Mirror, fan_out
from cqrs_cli.projections.org import OpportunityProjection

COLUMNS = (
    "id",
    "name",
    "status",
    "active",
    "stage_id",
    "stage",
    "stage_sequence",
    "user_id",
    "salesperson_login",
    "salesperson_name",
    "manager_id",
    "manager_login",
    "manager_name",
    "partner_id",
    "account",
    "team_id",
    "team",
    "company_id",
    "expected_revenue",
    "probability",
    "date_deadline",
    "date_closed",
    "create_date",
    "write_date",
)


def _upsert(table: str) -> str:
    # An upsert rewrites only the index entries whose column changed; REPLACE would delete
    # and re-insert the row in all five indexes.
    marks = ",".join("?" * len(COLUMNS))
    updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[1:])
    return (
        f"INSERT INTO {table} ({','.join(COLUMNS)}) VALUES ({marks}) "
        f"ON CONFLICT (id) DO UPDATE SET {updates}"
    )


class OpportunityView(OpportunityProjection):
    name = "opportunity_view"
    mirrored = ("res.users", "hr.employee", "crm.stage", "res.partner", "crm.team")
    mirror_table = "ov_records"
    tables: ClassVar[dict[str, str]] = {
        "opportunity_view": """(
            id INTEGER PRIMARY KEY, name TEXT, status TEXT NOT NULL, active INTEGER NOT NULL,
            stage_id INTEGER, stage TEXT, stage_sequence INTEGER,
            user_id INTEGER REFERENCES user_profiles (user_id),
            salesperson_login TEXT, salesperson_name TEXT,
            manager_id INTEGER REFERENCES user_profiles (user_id),
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
        # Deferred mode: each opportunity's latest fields (see `_FIELDS`), written once at
        # the end of the replay. A view row is a function of the record and of the people,
        # stages, accounts and teams as they stand (fan-out keeps it so), so rows computed
        # from the final mirrors are the rows every intermediate write would have led to.
        self._held: dict[int, tuple[Any, ...]] = {}

    @staticmethod
    def keep(record: dict[str, Any]) -> tuple[Any, ...]:
        return _FIELDS({**_DEFAULTS, **record})  # type: ignore[no-any-return]

    def flush(self, conn: sqlite3.Connection) -> None:
        view = self.t("opportunity_view")
        users = self.records("res.users")
        bulk = self.bulk
        if self.changed["res.users"]:
            rows = [
                (u, users.get(u, {}).get("login"), users.get(u, {}).get("name"))
                for u in sorted(self.changed["res.users"])
            ]
            fan_out(
                conn,
                view,
                "user_id",
                {"salesperson_login": "{v0}", "salesperson_name": "{v1}"},
                rows,
                bulk=bulk,
            )
            fan_out(
                conn,
                view,
                "manager_id",
                {"manager_login": "{v0}", "manager_name": "{v1}"},
                rows,
                bulk=bulk,
            )
        if self.hierarchy_changed() and self.previous_hierarchy is not None:
            before = self.previous_hierarchy.manager_of
            after = self.hierarchy().manager_of
            moved = [u for u in set(before) | set(after) if before.get(u) != after.get(u)]
            fan_out(
                conn,
                view,
                "user_id",
                {"manager_id": "{v0}", "manager_login": "{v1}", "manager_name": "{v2}"},
                [(u, *self._person(after.get(u))) for u in sorted(moved)],
                bulk=bulk,
            )
        stages = self.records("crm.stage")
        if self.changed["crm.stage"]:
            fan_out(
                conn,
                view,
                "stage_id",
                {
                    "stage": "{v0}",
                    "stage_sequence": "{v1}",
                    "status": (
                        "CASE WHEN active = 0 THEN 'lost' WHEN {v2} THEN 'won' ELSE 'open' END"
                    ),
                },
                [
                    (sid, s.get("name"), s.get("sequence"), int(bool(s.get("is_won"))))
                    if (s := stages.get(sid)) is not None
                    else (sid, None, None, 0)
                    for sid in sorted(self.changed["crm.stage"])
                ],
                bulk=bulk,
            )
        accounts = self.records("res.partner")
        if self.changed["res.partner"]:
            changed = sorted(self.changed["res.partner"])
            named = [(a, accounts.get(a, {}).get("name")) for a in changed]
            fan_out(conn, view, "partner_id", {"account": "{v0}"}, named, bulk=bulk)
        teams = self.records("crm.team")
        if self.changed["crm.team"]:
            fan_out(
                conn,
                view,
                "team_id",
                {"team": "{v0}"},
                [(t, teams.get(t, {}).get("name")) for t in sorted(self.changed["crm.team"])],
                bulk=bulk,
            )
        opps = self.take_opportunities()
        if opps and self.defer:
            held = self._held
            for i, fields in opps.items():
                if fields is None:
                    held.pop(i, None)  # the scratch table is empty: nothing to delete
                else:
                    held[i] = fields
        elif opps:
            gone = [(i,) for i, fields in opps.items() if fields is None]
            rows_ = self._rows([fields for fields in opps.values() if fields is not None])
            if gone:
                conn.executemany(f"DELETE FROM {view} WHERE id = ?", gone)
            if rows_:
                conn.executemany(_upsert(view), rows_)
        self.end_batch(conn)

    def end_replay(self, conn: sqlite3.Connection, chunk: int = 10_000) -> None:
        """Write the held opportunities, in id order and in chunks (bounded memory)."""
        view = self.t("opportunity_view")
        ids = sorted(self._held)
        held = self._held
        for start in range(0, len(ids), chunk):
            part = ids[start : start + chunk]
            conn.executemany(_upsert(view), self._rows([held.pop(i) for i in part]))
        held.clear()
        super().end_replay(conn)

    def discard(self) -> None:
        super().discard()
        self._held.clear()

    def _person(self, uid: int | None) -> tuple[int | None, str | None, str | None]:
        user = self.records("res.users").get(uid) if uid is not None else None
        if user is None:
            return uid, None, None
        return uid, user.get("login"), user.get("name")

    def _rows(self, records: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """View rows for opportunity records, given as their `_FIELDS` (the hot path of a
        replay).

        Each person, stage, account and team is looked up once per batch, and a record's
        own fields come out of one C-level `itemgetter` call over defaults + record.
        """
        users = self.records("res.users")
        stages = self.records("crm.stage")
        accounts = self.records("res.partner")
        teams = self.records("crm.team")
        manager_of = self.hierarchy().manager_of
        people: dict[Any, tuple[Any, ...]] = {}
        stage_info: dict[Any, tuple[Any, Any, bool]] = {}
        account_name: dict[Any, Any] = {}
        team_name: dict[Any, Any] = {}
        out = []
        for (
            oid,
            name,
            active,
            stage_id,
            uid,
            pid,
            tid,
            cid,
            rev,
            prob,
            deadline,
            closed,
            created,
            written,
        ) in records:
            person = people.get(uid)
            if person is None:
                user = users.get(uid, _NOBODY)
                manager = manager_of.get(uid) if uid is not None else None
                boss = users.get(manager, _NOBODY) if manager is not None else _NOBODY
                person = people[uid] = (
                    user.get("login"),
                    user.get("name"),
                    manager,
                    boss.get("login"),
                    boss.get("name"),
                )
            stage = stage_info.get(stage_id)
            if stage is None:
                found = stages.get(stage_id, _NOBODY)
                stage = stage_info[stage_id] = (
                    found.get("name"),
                    found.get("sequence"),
                    bool(found.get("is_won")),
                )
            if pid not in account_name:
                account_name[pid] = accounts.get(pid, _NOBODY).get("name")
            if tid not in team_name:
                team_name[tid] = teams.get(tid, _NOBODY).get("name")
            active = bool(active)
            status = "open" if active and not stage[2] else ("won" if active else "lost")
            out.append(
                (
                    oid,
                    name,
                    status,
                    int(active),
                    stage_id,
                    stage[0],
                    stage[1],
                    uid,
                    person[0],
                    person[1],
                    person[2],
                    person[3],
                    person[4],
                    pid,
                    account_name[pid],
                    tid,
                    team_name[tid],
                    cid,
                    float(rev or 0.0),
                    float(prob or 0.0),
                    deadline,
                    closed,
                    created,
                    written,
                )
            )
        return out


_FIELDS = itemgetter(
    "id",
    "name",
    "active",
    "stage_id",
    "user_id",
    "partner_id",
    "team_id",
    "company_id",
    "expected_revenue",
    "probability",
    "date_deadline",
    "date_closed",
    "create_date",
    "write_date",
)
_DEFAULTS: dict[str, Any] = {
    "name": None,
    "active": True,
    "stage_id": None,
    "user_id": None,
    "partner_id": None,
    "team_id": None,
    "company_id": None,
    "expected_revenue": 0.0,
    "probability": 0.0,
    "date_deadline": None,
    "date_closed": None,
    "create_date": None,
    "write_date": None,
}
_NOBODY: dict[str, Any] = {}
