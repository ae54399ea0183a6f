"""The source options shared by `sync`, `export` and `validate` (env ODOO_URL, ODOO_DB, ...).

Environment values are read here rather than by Typer so that an ODOO_URL in the
environment does not count as a chosen source when the user asks for `--demo`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError

if TYPE_CHECKING:
    from cqrs_cli.app.sources import OdooLogin, SourceChoice

Url = Annotated[
    str | None, typer.Option("--url", help="Odoo URL, e.g. https://crm.example.com (env ODOO_URL).")
]
Database = Annotated[str | None, typer.Option("--database", help="Odoo database (env ODOO_DB).")]
User = Annotated[str | None, typer.Option("--user", help="Odoo login (env ODOO_USER).")]
Password = Annotated[
    str | None,
    typer.Option(
        "--password",
        help="Password or API key (env ODOO_PASSWORD). Never printed, logged or stored.",
        show_default=False,
    ),
]
Timeout = Annotated[
    float, typer.Option("--timeout", min=1, help="Seconds to wait for each Odoo answer.")
]


def odoo_login(
    url: str | None, database: str | None, user: str | None, password: str | None
) -> OdooLogin | None:
    """The connection asked for on the command line or in the environment, if any."""
    url = url or os.environ.get("ODOO_URL") or None
    if url is None:
        return None
    values = {
        "--database (or ODOO_DB)": database or os.environ.get("ODOO_DB"),
        "--user (or ODOO_USER)": user or os.environ.get("ODOO_USER"),
        "--password (or ODOO_PASSWORD)": password or os.environ.get("ODOO_PASSWORD"),
    }
    missing = [name for name, value in values.items() if not value]
    if missing:
        raise CqrsError(f"missing {', '.join(missing)} for {url}", exit_code=EXIT_USAGE)
    from cqrs_cli.app.sources import OdooLogin

    db, login, secret = (str(v) for v in values.values())
    return OdooLogin(url, db, login, secret)


def source_choice(
    demo: bool,
    from_file: Path | None,
    url: str | None,
    database: str | None,
    user: str | None,
    password: str | None,
    timeout: float,
) -> SourceChoice:
    """Exactly one source: --demo, --from-file or an Odoo connection (options or env)."""
    from cqrs_cli.app.sources import choose_source

    # The environment's Odoo is only looked at when no other source was asked for.
    odoo = None if demo or from_file is not None else odoo_login(url, database, user, password)
    return choose_source(
        demo=demo, from_file=from_file, odoo=odoo, odoo_asked=url is not None, timeout=timeout
    )
