"""Which Odoo records the sync reads, in which order, and with which domain (docs/sync.md:
What is read)."""

from __future__ import annotations

import sqlite3

from cqrs_cli.domain.records import (
    AccountRecord,
    EmployeeRecord,
    OdooRecord,
    OpportunityRecord,
    StageRecord,
    TeamMemberRecord,
    TeamRecord,
    UserRecord,
)
from cqrs_cli.sources.base import Domain
from cqrs_cli.store.sync_state import alive_values

# Opportunities come before accounts because the accounts we keep are the companies plus
# whatever partner an opportunity points to, known only once the opportunities are in.
ORDER: tuple[type[OdooRecord], ...] = (
    UserRecord,
    EmployeeRecord,
    TeamRecord,
    TeamMemberRecord,
    StageRecord,
    OpportunityRecord,
    AccountRecord,
)

SUPERUSER_ID = 1  # `__system__` (OdooBot): never synced

SCOPE: dict[str, Domain] = {
    # Internal users only: portal and public users are `share` True.
    "res.users": [("share", "=", False), ("id", "!=", SUPERUSER_ID)],
    # Leads are not opportunities.
    "crm.lead": [("type", "=", "opportunity")],
}


def scope(model: str, referenced: list[int] | None = None) -> Domain:
    """The domain of the records of `model` that belong in the file."""
    if model == "res.partner":
        return ["|", ("is_company", "=", True), ("id", "in", sorted(referenced or []))]
    return list(SCOPE.get(model, []))


def referenced_partners(conn: sqlite3.Connection) -> list[int]:
    """The partners the opportunities alive in the file point to."""
    return sorted(int(v) for v in alive_values(conn, OpportunityRecord.MODEL, "partner_id"))
