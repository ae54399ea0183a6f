"""Checking a person's own Odoo login and password (`cqrs serve --auth odoo`).

Through odoorpc, as the sync talks to Odoo: Odoo's JSON-RPC `common.login` says which
user id the login and password belong to, or refuses them. The password is passed on
and forgotten: never stored, logged or put in an error.
"""

from __future__ import annotations

from cqrs_cli.sources.base import SourceAuthError, SourceError
from cqrs_cli.sources.odoo import logged_in, parse_url


def odoo_uid(url: str, database: str, login: str, password: str, timeout: float) -> int | None:
    """The Odoo user id of `login` when Odoo accepts `password` for it, else None.
    `SourceError` when Odoo cannot be asked (down, a bad answer)."""
    try:
        odoo = logged_in(parse_url(url), database, login, password, timeout)
    except SourceAuthError:
        return None
    uid = odoo.env.uid
    return uid if isinstance(uid, int) and not isinstance(uid, bool) else None


__all__ = ["SourceError", "odoo_uid"]
