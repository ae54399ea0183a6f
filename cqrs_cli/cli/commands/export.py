"""`cqrs export PATH`: write a snapshot file from a live Odoo (for offline syncs, bug reports)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cqrs_cli.cli.context import info
from cqrs_cli.cli.source_options import Database, Password, Timeout, Url, User, odoo_login
from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError


def run(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="The snapshot file to write (JSON).")],
    url: Url = None,
    database: Database = None,
    user: User = None,
    password: Password = None,
    timeout: Timeout = 60.0,
) -> None:
    """Write what a sync would read from Odoo to a snapshot file for `sync --from-file`."""
    login = odoo_login(url, database, user, password)
    if login is None:
        raise CqrsError("export needs --url (or ODOO_URL)", exit_code=EXIT_USAGE)
    from cqrs_cli.sources.odoo import OdooSource
    from cqrs_cli.sync.export import write_snapshot

    source = OdooSource(login.url, login.database, login.user, login.password, timeout=timeout)
    try:
        counts = write_snapshot(source, path)
    finally:
        source.close()
    info(ctx, f"Wrote {path}: " + ", ".join(f"{n} {m}" for m, n in counts.items()))
