"""What the views answer: the read API of `user_access_matrix` and `dashboard_metrics`.

Read-only, exact as of the views' checkpoint, and free of the projections' code, so a
query loads none of it. `suffix` names a copy of the views (`<table><suffix>`), such as
a rebuild's scratch tables.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from cqrs_cli.domain.access import ADMINISTRATOR, ALL_DOCUMENTS, NO_ACCESS, OWN_DOCUMENTS

# The company rule of docs/access.md: the opportunity's company is one of the user's, or
# unset. `h` is the user's row of user_access_matrix; `:companies` their company_ids.
COMPANY_SQL = (
    "(o.company_id IS NULL OR o.company_id IN (SELECT value FROM json_each(h.company_ids)))"
)
_USER_COMPANY_SQL = (
    "(o.company_id IS NULL OR o.company_id IN (SELECT value FROM json_each(:companies)))"
)
_VIA_SQL = (
    "CASE WHEN o.user_id IS NOT NULL AND o.user_id != :u AND o.user_id IN "
    "(SELECT sub_id FROM {subs} WHERE user_id = :u) "
    "THEN (SELECT login FROM {header} h WHERE h.user_id = o.user_id) END"
)


def visible_sql(
    conn: sqlite3.Connection, user_id: int, *, suffix: str = "", count: bool = False
) -> tuple[str, dict[str, Any]]:
    """A query giving (opportunity_id, reason, via, partner_id) of what `user_id` sees,
    ordered by opportunity_id, and its parameters. With `count`, a query giving how many
    rows that is, which computes no reason or via per row.

    Salespeople's rows are stored; administrators and all-documents users are answered
    from the opportunity table. An unknown user sees nothing.
    """
    header, subs = f"user_access_matrix{suffix}", f"uam_subordinates{suffix}"
    row = conn.execute(
        f"SELECT access, company_ids FROM {header} WHERE user_id = ?", (user_id,)
    ).fetchone()
    access = row[0] if row else NO_ACCESS
    params: dict[str, Any] = {"u": user_id, "companies": row[1] if row else "[]"}
    if access == OWN_DOCUMENTS:
        columns = (
            "count(*)"
            if count
            else "r.opportunity_id AS opportunity_id, r.reason AS reason, r.via AS via,"
            " r.partner_id AS partner_id"
        )
        return f"SELECT {columns} FROM user_access_rows{suffix} r WHERE r.user_id = :u", params
    if access in (ADMINISTRATOR, ALL_DOCUMENTS) and count:
        return f"SELECT count(*) FROM uam_opportunities{suffix} o WHERE {_USER_COMPANY_SQL}", params
    if access in (ADMINISTRATOR, ALL_DOCUMENTS):
        params["fallback"] = access
        reason = (
            "CASE WHEN o.user_id = :u THEN 'own' "
            f"WHEN o.user_id IN (SELECT sub_id FROM {subs} WHERE user_id = :u) THEN 'subordinate' "
            "WHEN o.user_id IS NULL THEN 'unassigned' ELSE :fallback END"
        )
        via = _VIA_SQL.format(header=header, subs=subs)
        return (
            f"SELECT o.id AS opportunity_id, {reason} AS reason, {via} AS via,"
            f" o.partner_id AS partner_id FROM uam_opportunities{suffix} o"
            f" WHERE {_USER_COMPANY_SQL} ORDER BY o.id",
            params,
        )
    if count:
        return "SELECT 0", params
    return (
        "SELECT NULL AS opportunity_id, NULL AS reason, NULL AS via, NULL AS partner_id WHERE 0",
        params,
    )


def metrics(conn: sqlite3.Connection, user_id: int, *, suffix: str = "") -> tuple[Any, Any] | None:
    """(own, team) figures of `user_id` as stored; team is None for a user with no
    subordinates, the whole is None for an unknown user."""
    row = conn.execute(
        f"SELECT own, team FROM dashboard_metrics{suffix} WHERE user_id = ?", (user_id,)
    ).fetchone()
    if row is None:
        return None
    return orjson.loads(row[0]) if row[0] else None, orjson.loads(row[1]) if row[1] else None


def names(
    conn: sqlite3.Connection, model: str, *, suffix: str = ""
) -> list[tuple[int, str | None]]:
    """(id, name) of each `crm.stage` or `crm.team` opportunity_view knows, in pipeline
    order (stages) or by id: those holding no opportunity too, archived teams too
    (opportunities keep theirs)."""
    return conn.execute(
        f"SELECT id, json_extract(data, '$.name') FROM ov_records{suffix}"
        " WHERE model = ? ORDER BY json_extract(data, '$.sequence'), id",
        (model,),
    ).fetchall()
