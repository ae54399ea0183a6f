"""The bottom layer: normalized Odoo records, event type names, errors, the org rules."""
