"""`user_access_matrix`: who can see which opportunity, and why (docs/access.md).

`user_access_matrix` holds one row per user (their access and companies);
`user_access_rows` holds the visible set of each salesperson as an indexed
(user_id, opportunity_id) key, with the reason and the opportunity's account.
Administrators and all-documents users see every opportunity of their companies, so
their sets are answered from `uam_opportunities` without being expanded row by row.

The writer keeps the rows exact as of the checkpoint; a read never computes anything:
- a changed opportunity loses its rows and gets rows for the users who see it now (its
  owner, the owner's managers, or every salesperson of its companies when unassigned);
- a change of users or of the org chart recomputes the whole set of the users it
  affects (their access, companies or subordinates changed, or the login of someone
  below them, which their rows show as `via`);
- a rebuild expands every user's set once, at the end of its replay, in set-based SQL.
"""

from __future__ import annotations

import sqlite3
from typing import Any, ClassVar

from cqrs_cli.domain import hierarchy
from cqrs_cli.projections import reads
from cqrs_cli.projections.base import Index, Mirror, dumps
from cqrs_cli.projections.org import (
    OpportunityProjection,
    Pending,
    write_closure,
    write_pending,
)

REASONS = ("own", "subordinate", "unassigned", "administrator", "all_documents")
Header = tuple[str, int, str, str]  # login, active, access, company_ids (JSON)
_NONE: Header = ("", 0, "", "")  # the header of a user who is not there


class AccessMatrix(OpportunityProjection):
    name = "user_access_matrix"
    mirror_table = "uam_records"
    tables: ClassVar[dict[str, str]] = {
        "user_access_matrix": """(
            user_id INTEGER PRIMARY KEY, login TEXT NOT NULL, active INTEGER NOT NULL,
            access TEXT NOT NULL, company_ids TEXT NOT NULL
        )""",
        "user_access_rows": """(
            user_id INTEGER NOT NULL REFERENCES user_profiles (user_id),
            opportunity_id INTEGER NOT NULL REFERENCES opportunity_view (id),
            reason TEXT NOT NULL, via TEXT, partner_id INTEGER,
            PRIMARY KEY (user_id, opportunity_id)
        ) WITHOUT ROWID""",
        "uam_opportunities": """(
            id INTEGER PRIMARY KEY, user_id INTEGER, company_id INTEGER, partner_id INTEGER
        )""",
        "uam_subordinates": """(
            user_id INTEGER NOT NULL, sub_id INTEGER NOT NULL, PRIMARY KEY (user_id, sub_id)
        ) WITHOUT ROWID""",
        "uam_records": Mirror.DDL,
    }
    indexes = (
        Index("ix_uam_opportunities_user", "uam_opportunities", "user_id"),
        Index("ix_uam_subordinates_sub", "uam_subordinates", "sub_id"),
        Index("ix_user_access_rows_opportunity", "user_access_rows", "opportunity_id"),
    )

    @staticmethod
    def keep(record: dict[str, Any]) -> tuple[Any, ...]:
        return record.get("user_id"), record.get("company_id"), record.get("partner_id")

    def flush(self, conn: sqlite3.Connection) -> None:
        opps, table = self.take_opportunities(), self.t("uam_opportunities")
        affected = self._write_users(conn) if self.hierarchy_changed() else set()
        # A deferred replay expands every set once, in `end_replay`.
        moved = self._moved(conn, opps) if opps and not self.defer else []
        if opps:
            write_pending(conn, table, ("user_id", "company_id", "partner_id"), opps)
        if moved:
            self._refresh_opportunities(conn, moved)
        if affected and not self.defer:
            self._expand(conn, sorted(affected))
        self.end_batch(conn)

    def end_replay(self, conn: sqlite3.Connection) -> None:
        self._expand(conn, None)
        super().end_replay(conn)

    def _write_users(self, conn: sqlite3.Connection) -> set[int]:
        """Bring users and the subordinate closure up to date; return the users whose whole
        visible set must be computed again."""
        users = self.records("res.users")
        header_table = self.t("user_access_matrix")
        new: dict[int, Header] = {
            uid: (
                u["login"],
                int(bool(u.get("active", True))),
                hierarchy.access_of(u),
                dumps(sorted(u.get("company_ids") or [])),
            )
            for uid, u in users.items()
        }
        old: dict[int, Header] = {
            r[0]: (r[1], r[2], r[3], r[4])
            for r in conn.execute(
                f"SELECT user_id, login, active, access, company_ids FROM {header_table}"
            )
        }
        changed = {u for u in new.keys() | old.keys() if new.get(u) != old.get(u)}
        gone = sorted(old.keys() - new.keys())
        if gone:
            conn.executemany(f"DELETE FROM {header_table} WHERE user_id = ?", [(u,) for u in gone])
        upserts = [(u, *new[u]) for u in sorted(changed) if u in new]
        if upserts:
            conn.executemany(
                f"INSERT INTO {header_table} (user_id, login, active, access, company_ids) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET "
                "login = excluded.login, active = excluded.active, access = excluded.access,"
                " company_ids = excluded.company_ids",
                upserts,
            )
        h = self.hierarchy()
        # A user's own set depends on their access and companies; their login only shows
        # in their managers' rows (`via`).
        affected = {u for u in changed if new.get(u, _NONE)[1:] != old.get(u, _NONE)[1:]}
        affected |= write_closure(conn, self.t("uam_subordinates"), h)
        renamed = {u for u in changed if u in new and u in old and new[u][0] != old[u][0]}
        if renamed:
            affected |= {uid for uid, subs in h.below.items() if renamed.intersection(subs)}
        return affected

    def _moved(self, conn: sqlite3.Connection, opps: Pending) -> list[int]:
        """The opportunities of a batch whose owner, company or account changed (or that
        came or left): only their rows change. A new stage or amount changes no row."""
        stored = {
            r[0]: r[1:]
            for r in conn.execute(
                f"SELECT id, user_id, company_id, partner_id FROM {self.t('uam_opportunities')} "
                "WHERE id IN (SELECT value FROM json_each(?))",
                (dumps(sorted(opps)),),
            )
        }
        return sorted(i for i, kept in opps.items() if stored.get(i) != kept)

    def _refresh_opportunities(self, conn: sqlite3.Connection, ids: list[int]) -> None:
        """Drop the rows of these opportunities and add rows for whoever sees them now."""
        rows = self.t("user_access_rows")
        chosen = dumps(ids)
        conn.execute(
            f"DELETE FROM {rows} WHERE opportunity_id IN (SELECT value FROM json_each(?))",
            (chosen,),
        )
        self._insert_rows(conn, "o.id IN (SELECT value FROM json_each(:chosen))", chosen)

    def _expand(self, conn: sqlite3.Connection, users: list[int] | None) -> None:
        """Compute the whole visible set of `users` (None: of everybody) again."""
        rows = self.t("user_access_rows")
        if users is None:
            conn.execute(f"DELETE FROM {rows}")
            self._insert_rows(conn, None, None)
            return
        chosen = dumps(users)
        conn.execute(
            f"DELETE FROM {rows} WHERE user_id IN (SELECT value FROM json_each(?))", (chosen,)
        )
        self._insert_rows(conn, "h.user_id IN (SELECT value FROM json_each(:chosen))", chosen)

    def _insert_rows(self, conn: sqlite3.Connection, scope: str | None, chosen: str | None) -> None:
        """Insert the rows of salespeople (`h`) for opportunities (`o`) within `scope`.

        One statement, a join per reason: own (the owner's row), subordinate (the owner's
        managers through the closure), unassigned (every salesperson: the few unassigned
        opportunities drive that loop, hence CROSS JOIN, which keeps SQLite from scanning
        the opportunities once per user). Sorted by the table's key, the rows go into it
        in order: a rebuild inserts a few hundred thousand of them.
        """
        header, opps = self.t("user_access_matrix"), self.t("uam_opportunities")
        subs, rows = self.t("uam_subordinates"), self.t("user_access_rows")
        where = f"h.access = '{hierarchy.OWN_DOCUMENTS}' AND {reads.COMPANY_SQL}"
        if scope is not None:
            where += f" AND {scope}"
        conn.execute(
            f"INSERT INTO {rows} (user_id, opportunity_id, reason, via, partner_id) "
            "SELECT * FROM ("
            "SELECT h.user_id, o.id, 'own', NULL, o.partner_id "
            f"FROM {opps} o JOIN {header} h ON h.user_id = o.user_id WHERE {where} "
            "UNION ALL SELECT h.user_id, o.id, 'subordinate', w.login, o.partner_id "
            f"FROM {subs} s JOIN {header} h ON h.user_id = s.user_id "
            f"JOIN {opps} o ON o.user_id = s.sub_id "
            f"LEFT JOIN {header} w ON w.user_id = o.user_id WHERE {where} "
            "UNION ALL SELECT h.user_id, o.id, 'unassigned', NULL, o.partner_id "
            f"FROM {opps} o CROSS JOIN {header} h WHERE o.user_id IS NULL AND {where}"
            ") ORDER BY 1, 2",
            {"chosen": chosen},
        )

    # -- reading -----------------------------------------------------------------------------

    def visible_sql(self, conn: sqlite3.Connection, user_id: int) -> tuple[str, dict[str, Any]]:
        """What `user_id` sees in this projection's tables: see `reads.visible_sql`."""
        return reads.visible_sql(conn, user_id, suffix=self.suffix)
