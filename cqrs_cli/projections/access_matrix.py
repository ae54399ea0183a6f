"""`user_access_matrix`: who can see which opportunity, and why (docs/access.md).

`user_access_matrix` holds one row per user (their access, companies, cache state);
`user_access_rows` holds the visible set of each salesperson as an indexed
(user_id, opportunity_id) key, with the reason and the opportunity's account.
Administrators and all-documents users see every opportunity of their companies, so
their sets are answered from `uam_opportunities` without being expanded row by row.

Events only mark users dirty; a user's rows are recomputed when read while dirty or
older than the TTL, so replaying a million events does not expand anybody's set.
"""

from __future__ import annotations

import sqlite3
from typing import Any, ClassVar

from cqrs_cli.domain import hierarchy
from cqrs_cli.domain.event_types import types_of
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

REASONS = ("own", "subordinate", "unassigned", "administrator", "all_documents")


class AccessMatrix(OrgProjection):
    name = "user_access_matrix"
    version = 2  # 2: only a user's own employee stands for them, Settings is no sales access
    mirror_table = "uam_records"
    tables: ClassVar[dict[str, str]] = {
        "user_access_matrix": """(
            user_id INTEGER PRIMARY KEY, login TEXT NOT NULL, active INTEGER NOT NULL,
            access TEXT NOT NULL, company_ids TEXT NOT NULL,
            dirty INTEGER NOT NULL DEFAULT 1, computed_at TEXT
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

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._opps: dict[int, tuple[int | None, int | None, int | None] | None] = {}

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
            (r.get("user_id"), r.get("company_id"), r.get("partner_id"))
            if r.get("type", "opportunity") == "opportunity"
            else None
        )

    def flush(self, conn: sqlite3.Connection) -> None:
        header, opps = self.t("user_access_matrix"), self.t("uam_opportunities")
        if self.hierarchy_changed():
            self._write_users(conn)
        # Marking users dirty only matters when some are clean; in a replay nobody is (no
        # set is computed before the swap), so the owner lookups are skipped.
        if self._opps and any_clean(conn, header):
            owners = owners_of(conn, opps, self._opps)
            # Unassigned ones are seen by every salesperson; a gone one's owner is unknown.
            if None in owners or any(v is None for v in self._opps.values()):
                conn.execute(f"UPDATE {header} SET dirty = 1 WHERE dirty = 0")
            else:
                mark_dirty_with_managers(
                    conn,
                    header,
                    self.t("uam_subordinates"),
                    (o for o in owners if o is not None),
                )
        if self._opps:
            write_pending(conn, opps, ("user_id", "company_id", "partner_id"), self._opps)
            self._opps.clear()
        self.end_batch(conn)

    def discard(self) -> None:
        super().discard()
        self._opps.clear()

    def _write_users(self, conn: sqlite3.Connection) -> None:
        """Users, their access and the subordinate closure; every cached set goes stale."""
        users = self.records("res.users")
        h = self.hierarchy()
        conn.execute(f"DELETE FROM {self.t('user_access_matrix')}")
        conn.executemany(
            f"INSERT INTO {self.t('user_access_matrix')} "
            "(user_id, login, active, access, company_ids, dirty, computed_at) "
            "VALUES (?, ?, ?, ?, ?, 1, NULL)",
            [
                (
                    uid,
                    u["login"],
                    int(bool(u.get("active", True))),
                    hierarchy.access_of(u),
                    dumps(sorted(u.get("company_ids") or [])),
                )
                for uid, u in sorted(users.items())
            ],
        )
        conn.execute(f"DELETE FROM {self.t('user_access_rows')}")
        conn.execute(f"DELETE FROM {self.t('uam_subordinates')}")
        conn.executemany(f"INSERT INTO {self.t('uam_subordinates')} VALUES (?, ?)", closure_rows(h))

    # -- reading -----------------------------------------------------------------------------

    def refresh(self, conn: sqlite3.Connection, user_id: int) -> None:
        """Recompute a salesperson's rows when dirty or expired (call inside a transaction)."""
        row = conn.execute(
            f"SELECT access, company_ids, dirty, computed_at FROM {self.t('user_access_matrix')}"
            " WHERE user_id = ?",
            (user_id,),
        ).fetchone()
        if row is None:
            return
        access, companies, dirty, computed_at = row
        now = self.settings.clock()
        fresh = (
            not dirty and computed_at is not None and (now - epoch(computed_at) < self.settings.ttl)
        )
        if fresh:
            return
        rows = self.t("user_access_rows")
        conn.execute(f"DELETE FROM {rows} WHERE user_id = ?", (user_id,))
        if access == hierarchy.OWN_DOCUMENTS:
            conn.execute(
                f"INSERT INTO {rows} (user_id, opportunity_id, reason, via, partner_id) "
                f"SELECT :u, o.id, {_REASON_SQL}, "
                f"{self._via_sql()}, o.partner_id "
                f"FROM {self.t('uam_opportunities')} o WHERE ("
                "o.user_id = :u OR o.user_id IS NULL OR o.user_id IN "
                f"(SELECT sub_id FROM {self.t('uam_subordinates')} WHERE user_id = :u)) "
                f"AND {_COMPANY_SQL}",
                {"u": user_id, "companies": companies},
            )
        conn.execute(
            f"UPDATE {self.t('user_access_matrix')} SET dirty = 0, computed_at = ? "
            "WHERE user_id = ?",
            (self.settings.now_iso(), user_id),
        )

    def refresh_all(self, conn: sqlite3.Connection) -> None:
        for (uid,) in conn.execute(
            f"SELECT user_id FROM {self.t('user_access_matrix')}"
        ).fetchall():
            self.refresh(conn, uid)

    def _via_sql(self) -> str:
        return _VIA_SQL.format(header=self.t("user_access_matrix"), subs=self.t("uam_subordinates"))

    def visible_sql(self, conn: sqlite3.Connection, user_id: int) -> tuple[str, dict[str, Any]]:
        """A query giving (opportunity_id, reason, via, partner_id) of what `user_id` sees,
        ordered by opportunity_id.

        Call `refresh` first; the query reads the stored rows of salespeople and the
        opportunity table for administrators and all-documents users.
        """
        row = conn.execute(
            f"SELECT access, company_ids FROM {self.t('user_access_matrix')} WHERE user_id = ?",
            (user_id,),
        ).fetchone()
        access = row[0] if row else hierarchy.NO_ACCESS
        params: dict[str, Any] = {"u": user_id, "companies": row[1] if row else "[]"}
        opps = self.t("uam_opportunities")
        if access == hierarchy.OWN_DOCUMENTS:
            return (
                "SELECT r.opportunity_id AS opportunity_id, r.reason AS reason, r.via AS via,"
                f" r.partner_id AS partner_id FROM {self.t('user_access_rows')} r"
                " WHERE r.user_id = :u",
                params,
            )
        if access in (hierarchy.ADMINISTRATOR, hierarchy.ALL_DOCUMENTS):
            params["fallback"] = access
            subs = f"SELECT sub_id FROM {self.t('uam_subordinates')} WHERE user_id = :u"
            reason = (
                "CASE WHEN o.user_id = :u THEN 'own' "
                f"WHEN o.user_id IN ({subs}) THEN 'subordinate' "
                "WHEN o.user_id IS NULL THEN 'unassigned' ELSE :fallback END"
            )
            return (
                f"SELECT o.id AS opportunity_id, {reason} AS reason, "
                f"{self._via_sql()} AS via, o.partner_id AS partner_id "
                f"FROM {opps} o WHERE {_COMPANY_SQL} ORDER BY o.id",
                params,
            )
        return (
            "SELECT NULL AS opportunity_id, NULL AS reason, NULL AS via, NULL AS partner_id"
            " WHERE 0",
            params,
        )


_REASON_SQL = (
    "CASE WHEN o.user_id = :u THEN 'own' WHEN o.user_id IS NULL THEN 'unassigned' "
    "ELSE 'subordinate' END"
)
_VIA_SQL = (
    "CASE WHEN o.user_id IS NOT NULL AND o.user_id != :u AND o.user_id IN "
    "(SELECT sub_id FROM {subs} WHERE user_id = :u) "
    "THEN (SELECT login FROM {header} h WHERE h.user_id = o.user_id) END"
)
_COMPANY_SQL = "(o.company_id IS NULL OR o.company_id IN (SELECT value FROM json_each(:companies)))"
