"""What the query commands share: open the file with their views current, name the user."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import typer

from cqrs_cli.app import queries
from cqrs_cli.app.queries import resolve_user
from cqrs_cli.cli.context import info, state
from cqrs_cli.store.files import Store

AS_HELP = (
    "The user: Odoo id or exact login; else an exact name or the start of a login, else the"
    " start of a name, when only one user fits (see docs/access.md)."
)


def open_current(ctx: typer.Context, views: Sequence[str]) -> Store:
    """Open the file with `views` at the head of the log: read-only when they are current,
    caught up first when they are behind and the file is writable (see
    `queries.open_current`)."""
    st = state(ctx)
    store = queries.open_current(st.db, views)
    if store.migrated:
        names = ", ".join(m.name for m in store.migrated)
        info(ctx, f"Prepared {st.db}: applied {names}")
    return store


def person(store: Store, text: str) -> dict[str, Any]:
    return resolve_user(store.conn, text)
