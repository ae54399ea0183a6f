"""What the query commands share: open the file, catch the views up, name the user."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import typer

from cqrs_cli.app.queries import prepare, resolve_user
from cqrs_cli.cli.context import open_for
from cqrs_cli.store.files import Store

AS_HELP = (
    "The user: Odoo id or exact login; else an exact name or the start of a login, else the"
    " start of a name, when only one user fits (see docs/access.md)."
)


def open_current(ctx: typer.Context, views: Sequence[str]) -> Store:
    """Open the file for writing (catching up writes the views) with `views` at the head."""
    store = open_for(ctx, write=True, create=False)
    try:
        prepare(store, views)
    except BaseException:
        store.close()
        raise
    return store


def person(store: Store, text: str) -> dict[str, Any]:
    return resolve_user(store.conn, text)
