"""Datasette metadata for a cqrs file (`cqrs datasette-metadata`, docs/operations.md).

A person browsing the file meets the log and the views; everything else in it is the
machinery that keeps them (each view's private copies of records, scratch tables of a
rebuild, raw rows, cursors, sync runs, checkpoints, dead letters, migrations). The
metadata hides every table but those of `CATALOG`, and describes each of those and each
of its columns. The links between the views are the foreign keys their tables declare
(docs/architecture.md, "Foreign keys"), which Datasette follows by itself; `label` names
the column Datasette shows for a link to a row of that table.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Table:
    description: str
    columns: dict[str, str]
    label: str | None = None


_USER = "Odoo id of a user (res.users): links to user_profiles."
_JSON_IDS = "JSON list of Odoo user ids."

CATALOG: dict[str, Table] = {
    "events": Table(
        "The event log: every change cqrs read from Odoo, append-only and hash-chained. "
        "`cqrs events` lists it; `cqrs verify` checks it.",
        {
            "position": "Place in the log: 1, 2, 3, ... without gaps.",
            "event_id": "Deterministic id: the same change is never appended twice.",
            "stream_type": "The Odoo model of the record (res.users, crm.lead, ...).",
            "stream_id": "The Odoo id of the record, as text.",
            "version": "The record's own event count, from 1.",
            "type": "What happened: Odoo<Entity>Created, Updated or Deleted.",
            "schema_version": "Version of the data's shape for this type.",
            "data": "JSON: the record (and for an update, the changed fields as [old, new]).",
            "metadata": "JSON: source (odoo, file, demo, legacy), sync_run_id, write_date, ...",
            "recorded_at": "When cqrs appended it (UTC).",
            "hash": "sha256 of the previous event's hash and this event: the chain.",
        },
    ),
    "user_profiles": Table(
        "One row per synced Odoo user, archived ones too: place in the org chart, teams, "
        "sales groups and the access they give.",
        {
            "user_id": "Odoo id of the user (res.users).",
            "login": "Odoo login.",
            "name": "Display name.",
            "email": "E-mail address.",
            "active": "1 for an active user, 0 for an archived one.",
            "employee_id": "Odoo id of the user's employee (hr.employee), if any.",
            "manager_id": "The user's manager, from the employee hierarchy. " + _USER,
            "manager_login": "The manager's login.",
            "manager_name": "The manager's name.",
            "subordinates": "Direct reports: " + _JSON_IDS,
            "all_subordinates": "Everyone below the user, at any depth: " + _JSON_IDS,
            "teams": "JSON list of the active sales teams the user leads or is a member of "
            '({"id", "name"}).',
            "groups": "JSON list of the user's groups, as XML ids.",
            "access": "Sales access from the groups: administrator, all_documents, "
            "own_documents or none (archived users: none).",
            "is_salesman": "1 when the user is in Sales / User: Own Documents Only.",
            "is_all_documents": "1 when the user is in Sales / User: All Documents.",
            "is_sales_admin": "1 when the user is in Sales / Administrator.",
            "company_id": "Odoo id of the user's main company.",
            "company_ids": "JSON list of the companies the user may work in.",
            "in_cycle": "1 when the user's managers loop back to them (their chain is cut).",
        },
        label="login",
    ),
    "opportunity_view": Table(
        "One row per opportunity (crm.lead of type opportunity), with its stage, "
        "salesperson, manager, account and team written out.",
        {
            "id": "Odoo id of the opportunity (crm.lead).",
            "name": "Title of the opportunity.",
            "status": "open, won (a won stage) or lost (archived).",
            "active": "1 unless archived (lost).",
            "stage_id": "Odoo id of the stage (crm.stage).",
            "stage": "Name of the stage.",
            "stage_sequence": "Order of the stage in the pipeline.",
            "user_id": "The salesperson. " + _USER,
            "salesperson_login": "The salesperson's login.",
            "salesperson_name": "The salesperson's name.",
            "manager_id": "The salesperson's manager. " + _USER,
            "manager_login": "The manager's login.",
            "manager_name": "The manager's name.",
            "partner_id": "Odoo id of the account (res.partner).",
            "account": "Name of the account.",
            "team_id": "Odoo id of the sales team (crm.team).",
            "team": "Name of the sales team.",
            "company_id": "Odoo id of the company the opportunity belongs to.",
            "expected_revenue": "Expected revenue, in the company's currency.",
            "probability": "Probability of winning, in %.",
            "date_deadline": "Expected closing date.",
            "date_closed": "When it was won or lost (UTC).",
            "create_date": "When it was created in Odoo (UTC).",
            "write_date": "When it last changed in Odoo (UTC).",
        },
        label="name",
    ),
    "user_access_matrix": Table(
        "Per user, the sales access the visibility rules start from. Like every view, "
        "exact as of its checkpoint (`cqrs status`): the writer keeps it, reads compute nothing.",
        {
            "user_id": "Odoo id of the user (res.users).",
            "login": "Odoo login.",
            "active": "1 for an active user.",
            "access": "administrator, all_documents, own_documents or none.",
            "company_ids": "JSON list of the companies whose opportunities the user may see.",
        },
    ),
    "user_access_rows": Table(
        "Which opportunities a salesperson (own_documents) sees, and why. Administrators "
        "and all-documents users see every opportunity of their companies instead.",
        {
            "user_id": "The user who sees it. " + _USER,
            "opportunity_id": "Odoo id of the opportunity: links to opportunity_view.",
            "reason": "own, subordinate (owned by someone below the user) or unassigned.",
            "via": "For subordinate: the login of the owner.",
            "partner_id": "Odoo id of the opportunity's account (res.partner).",
        },
    ),
    "dashboard_metrics": Table(
        "Per user, the pipeline figures of `cqrs metrics`, exact as of the view's checkpoint.",
        {
            "user_id": "Odoo id of the user (res.users).",
            "own": "JSON figures of the user's own opportunities: pipeline_value, "
            "weighted_pipeline, won_revenue, active_opportunities and by_stage.",
            "team": "JSON figures of the opportunities of the user and everyone below them.",
            "computed_at": "When the writer last computed the row (UTC).",
        },
    ),
}


def _tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    return [name for (name,) in rows]


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute("SELECT * FROM pragma_table_info(?)", (table,))]


def metadata(conn: sqlite3.Connection, database: str) -> dict[str, Any]:
    """Datasette metadata for the file open on `conn`, served as database `database` (by
    default Datasette names a database after its file: `demo.db` is `demo`)."""
    tables: dict[str, Any] = {}
    for name in _tables(conn):
        table = CATALOG.get(name)
        if table is None:
            tables[name] = {"hidden": True}
            continue
        entry: dict[str, Any] = {
            "description": table.description,
            # Only the columns the file has: a file from another version may lack some.
            "columns": {c: table.columns[c] for c in _columns(conn, name) if c in table.columns},
        }
        if table.label:
            entry["label_column"] = table.label
        tables[name] = entry
    return {
        "title": f"{database}: an Odoo CRM in one SQLite file",
        "description": "The event log and the views cqrs keeps from it; the tables that "
        "keep them are hidden. Written by `cqrs datasette-metadata`.",
        "databases": {database: {"tables": tables}},
    }
