"""What the query commands share: open the file, catch the views up, name the user."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import typer

from cqrs_cli.commands.common import open_for
from cqrs_cli.errors import EXIT_USAGE, CqrsError
from cqrs_cli.projections.base import DEFAULT_TTL, Settings
from cqrs_cli.queries import prepare, resolve_user
from cqrs_cli.store.files import Store

AS_HELP = (
    "The user: Odoo id or exact login; else an exact name or the start of a login, else the"
    " start of a name, when only one user fits (see docs/access.md)."
)
TTL_ENV = "CQRS_CACHE_TTL"


def settings() -> Settings:
    """Cache TTL in seconds from CQRS_CACHE_TTL (default 300)."""
    raw = os.environ.get(TTL_ENV)
    if raw is None:
        return Settings(ttl=DEFAULT_TTL)
    try:
        ttl = float(raw)
    except ValueError:
        raise CqrsError(
            f"{TTL_ENV} must be a number of seconds, got {raw!r}", exit_code=EXIT_USAGE
        ) from None
    return Settings(ttl=ttl)


def open_current(ctx: typer.Context, views: Sequence[str], conf: Settings) -> Store:
    """Open the file for writing (catching up writes the views) with `views` at the head."""
    store = open_for(ctx, write=True, create=False)
    try:
        prepare(store, views, conf)
    except BaseException:
        store.close()
        raise
    return store


def person(store: Store, text: str) -> dict[str, Any]:
    return resolve_user(store.conn, text)
