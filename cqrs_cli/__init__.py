"""cqrs: an Odoo CRM as an append-only event log plus materialized views in one SQLite file."""

__version__ = "0.1.0"
