"""Event type names (docs/events.md). Plain strings so the read path needs no pydantic.

Stream = one Odoo record: stream_type is the Odoo model, stream_id its id as text.
`...Created` data: {"record": {...}}; `...Updated`: {"record": {...}, "changes":
{field: [old, new]}}; `...Deleted`: {"record": last known record}.
"""

from __future__ import annotations

ENTITY_BY_MODEL: dict[str, str] = {
    "res.users": "User",
    "hr.employee": "Employee",
    "crm.team": "Team",
    "crm.team.member": "TeamMember",
    "crm.stage": "Stage",
    "res.partner": "Account",
    "crm.lead": "Opportunity",
}
CHANGES = ("Created", "Updated", "Deleted")


def event_type(model: str, change: str) -> str:
    """`Odoo<Entity><Change>` for an Odoo model, e.g. ("crm.lead", "Updated")."""
    return f"Odoo{ENTITY_BY_MODEL[model]}{change}"


def types_of(entity: str) -> tuple[str, ...]:
    return tuple(f"Odoo{entity}{change}" for change in CHANGES)
