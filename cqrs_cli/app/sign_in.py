"""Signing in with one's own Odoo login (`cqrs serve --auth odoo`, docs/serve.md)."""

from __future__ import annotations

import logging

from cqrs_cli.app.answers.users import UserRef
from cqrs_cli.app.read_model import ReadModel
from cqrs_cli.sources.base import SourceError
from cqrs_cli.sources.odoo_login import odoo_uid

log = logging.getLogger("cqrs.serve")


def odoo_user(
    model: ReadModel, url: str, database: str, login: str, password: str, timeout: float
) -> UserRef | None:
    """The synced, active user whose Odoo login and password these are, or None: Odoo
    refused them, could not be asked, or the user is not synced (or archived) here. Why
    is logged, never told: a failed sign-in says only that it failed."""
    try:
        uid = odoo_uid(url, database, login, password, timeout)
    except SourceError as exc:
        log.warning("Odoo sign-in could not be checked: %s", exc.message)
        return None
    if uid is None:
        log.info("Odoo refused a sign-in")
        return None
    user = model.active_user(uid)
    if user is None:
        log.info("Odoo user %s signed in but is not an active synced user here", uid)
    return user
