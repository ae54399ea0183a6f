"""The SQLite file: connection, migrations, the event log, checkpoints.

Knows nothing of Odoo or of any view.
"""
