"""`opportunity_versions`: where each opportunity stood after each of its events, so the
past can find "the opportunities X owned at position P" without reading the log.

One row per event of an opportunity's stream, written once and never changed (like the
log itself): the event's position (the row's key, and where the whole record is read
back, by the log's own key), the opportunity, its salesperson and company after the
event, and whether it was an opportunity then (0 once deleted in Odoo or turned back
into a lead). An opportunity's version at P is its row with the greatest position <= P;
no "valid to" column is kept, because the next row of the same opportunity says it, and
an append-only table is the same whether a catch-up or a rebuild wrote it.

Reads (`owned_at`, `all_at`, `versions_at`) use the indexes on (user_id) and (id), whose
entries carry the position (the rowid), so a range "position <= P" is a seek.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any, ClassVar

from cqrs_cli.domain.event_types import types_of
from cqrs_cli.projections.base import Index, Projection, dumps, handles, record_id
from cqrs_cli.projections.org import standing
from cqrs_cli.store.log import RecordedEvent


class OpportunityVersions(Projection):
    name = "opportunity_versions"
    tables: ClassVar[dict[str, str]] = {
        "opportunity_versions": """(
            position INTEGER PRIMARY KEY, id INTEGER NOT NULL, user_id INTEGER,
            company_id INTEGER, present INTEGER NOT NULL
        )""",
    }
    indexes = (
        Index("ix_opportunity_versions_user", "opportunity_versions", "user_id"),
        Index("ix_opportunity_versions_id", "opportunity_versions", "id"),
    )

    def __init__(self, *, suffix: str = "") -> None:
        super().__init__(suffix=suffix)
        self._rows: list[tuple[Any, ...]] = []

    @handles(*types_of("Opportunity"))
    def on_opportunity(self, event: RecordedEvent) -> None:
        # Whether it is gone: the views' own rule (`standing`). A gone one keeps the owner
        # and company of its last record, so it still shows in that owner's rows.
        record = standing(event)
        last = record if record is not None else event.data.get("record")
        last = last if isinstance(last, dict) else {}
        self._rows.append(
            (
                event.position,
                record_id(event),
                last.get("user_id"),
                last.get("company_id"),
                int(record is not None),
            )
        )

    def flush(self, conn: sqlite3.Connection) -> None:
        if self._rows:
            conn.executemany(
                f"INSERT INTO {self.t('opportunity_versions')}"
                " (position, id, user_id, company_id, present) VALUES (?, ?, ?, ?, ?)",
                self._rows,
            )
            self._rows.clear()

    def discard(self) -> None:
        self._rows.clear()

    # -- reading -----------------------------------------------------------------------------

    def _latest(self, alias: str) -> str:
        """`alias` is its opportunity's version at :at (no later row of it by then)."""
        table = self.t("opportunity_versions")
        return (
            f"NOT EXISTS (SELECT 1 FROM {table} n WHERE n.id = {alias}.id"
            f" AND n.position > {alias}.position AND n.position <= :at)"
        )

    def owned_at(
        self, conn: sqlite3.Connection, at: int, owners: Iterable[int], *, unassigned: bool
    ) -> list[int]:
        """Positions of the versions at `at` of the opportunities then owned by one of
        `owners` (and of those owned by nobody, when `unassigned`), deleted ones left out.

        Reads each owner's rows up to `at` on the (user_id) index and keeps the latest of
        each opportunity: a few thousand seeks for a manager's team.
        """
        table = self.t("opportunity_versions")
        params = {"at": at, "owners": dumps(sorted(set(owners)))}
        sql = (
            f"SELECT v.position FROM {table} v"
            " WHERE v.user_id IN (SELECT value FROM json_each(:owners)) AND v.position <= :at"
            f" AND v.present AND {self._latest('v')}"
        )
        if unassigned:
            sql += (
                f" UNION ALL SELECT v.position FROM {table} v"
                " WHERE v.user_id IS NULL AND v.position <= :at"
                f" AND v.present AND {self._latest('v')}"
            )
        return sorted(int(r[0]) for r in conn.execute(sql, params))

    def all_at(
        self,
        conn: sqlite3.Connection,
        at: int,
        *,
        companies: Iterable[int] | None = None,
        owners: Iterable[int] = (),
    ) -> list[int]:
        """Positions of the versions at `at` of every opportunity there was then; with
        `companies`, only those of these companies, of no company, or owned by `owners`."""
        table = self.t("opportunity_versions")
        params: dict[str, Any] = {"at": at}
        where = "v.present"
        if companies is not None:
            params["companies"] = dumps(sorted(set(companies)))
            params["owners"] = dumps(sorted(set(owners)))
            where += (
                " AND (v.company_id IS NULL"
                " OR v.company_id IN (SELECT value FROM json_each(:companies))"
                " OR v.user_id IN (SELECT value FROM json_each(:owners)))"
            )
        return [
            int(r[0])
            for r in conn.execute(
                f"SELECT v.position FROM (SELECT max(position) AS position FROM {table}"
                " WHERE position <= :at GROUP BY id) latest"
                f" JOIN {table} v ON v.position = latest.position WHERE {where}"
                " ORDER BY v.position",
                params,
            )
        ]

    def versions_at(
        self, conn: sqlite3.Connection, ids: Iterable[int], at: int
    ) -> dict[int, tuple[int, int | None, int | None, bool]]:
        """For each of these opportunities that had a version at `at`: (its position, its
        salesperson, its company, whether it was an opportunity then)."""
        table = self.t("opportunity_versions")
        out: dict[int, tuple[int, int | None, int | None, bool]] = {}
        for oid, position, user_id, company_id, present in conn.execute(
            f"SELECT v.id, v.position, v.user_id, v.company_id, v.present FROM {table} v"
            f" WHERE v.id IN (SELECT value FROM json_each(:ids)) AND v.position <= :at"
            f" AND {self._latest('v')}",
            {"ids": dumps(sorted(set(ids))), "at": at},
        ):
            out[int(oid)] = (int(position), user_id, company_id, bool(present))
        return out

    def first_positions(self, conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, int]:
        """The position of the first event of each of these opportunities."""
        table = self.t("opportunity_versions")
        return {
            int(r[0]): int(r[1])
            for r in conn.execute(
                f"SELECT j.value, (SELECT min(position) FROM {table} WHERE id = j.value)"
                " FROM json_each(?) j",
                (dumps(sorted(set(ids))),),
            )
            if r[1] is not None
        }
