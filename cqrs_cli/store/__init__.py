"""The SQLite file: opening it, migrations, transactions, and the tables every part shares,
each owned by one module (docs/architecture.md: The tables of the file):

- `log.py`: `events`, the append-only log;
- `sync_state.py`: `odoo_raw_data`, `sync_cursors`, `sync_runs`;
- `checkpoints.py`: `checkpoints`.

Knows nothing of Odoo or of any view.
"""
