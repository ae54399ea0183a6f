"""Checking a person's own Odoo login and password (`cqrs serve --auth odoo`).

Through odoorpc, as the sync talks to Odoo: Odoo's JSON-RPC `common.login` says which
user id the login and password belong to, or refuses them. The password is passed on
and forgotten: never stored, logged or put in an error.
"""

from __future__ import annotations

from cqrs_cli.sources.base import SourceError
from cqrs_cli.sources.odoo import _describe, parse_url


def odoo_uid(url: str, database: str, login: str, password: str, timeout: float) -> int | None:
    """The Odoo user id of `login` when Odoo accepts `password` for it, else None.
    `SourceError` when Odoo cannot be asked (down, a bad answer)."""
    import odoorpc

    where = parse_url(url)
    errors = (odoorpc.error.Error, OSError, ValueError)
    try:
        odoo = odoorpc.ODOO(where.host, protocol=where.protocol, port=where.port, timeout=timeout)
    except errors as exc:
        raise _describe(exc, f"at {where}") from None
    try:
        odoo.login(database, login, password)
    except odoorpc.error.RPCError as exc:
        if str(exc) == "Wrong login ID or password":
            return None
        raise _describe(exc, f"signing in to {database}") from None
    except errors as exc:
        raise _describe(exc, f"signing in to {database}") from None
    uid = odoo.env.uid
    return uid if isinstance(uid, int) and not isinstance(uid, bool) else None


__all__ = ["SourceError", "odoo_uid"]
