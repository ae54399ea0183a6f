"""What the query commands ask, answered from views that are never behind the log.

`open_current` opens the file for a query: read-only when the views are current, which
is the usual case (the writer catches them up in the batch that appends). The functions
after it only read. Plain sqlite3 and the projections only: no pydantic here."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError
from cqrs_cli.domain.numbers import whole_number
from cqrs_cli.projections.access_matrix import AccessMatrix
from cqrs_cli.projections.metrics import DashboardMetrics
from cqrs_cli.projections.runner import (
    BEHIND,
    catch_up,
    pause_cyclic_gc,
    require_current,
    roomy_cache,
    status,
)
from cqrs_cli.store.db import can_write
from cqrs_cli.store.files import NeedsMigration, Store, open_store

STATUSES = ("open", "won", "lost")


class UnknownUser(CqrsError):
    """No user, or more than one, matches the name given."""


class ViewsBehind(CqrsError):
    """A view a query needs is behind the log, and this process cannot write the file to
    catch it up."""


def open_current(path: Path, views: Sequence[str]) -> Store:
    """Open `path` for a query that reads `views`, with those views at the head of the log.

    Reads never write: the file is opened read-only and, when the views are current, that
    is all. Only when one is behind (appended to by something that did not catch the
    views up) or the file needs a migration does a query write first, as the writer would
    have, and only when this process can write the file; otherwise ViewsBehind (or
    NeedsMigration) says what to run, and by whom. A paused view, or one that needs a
    rebuild, raises ProjectionNotReady either way. The caller closes the store.
    """
    writable = can_write(path)
    try:
        store: Store | None = open_store(path)
    except NeedsMigration:
        if not writable:
            raise
        store = None
    if store is not None:
        try:
            head, found = status(store, list(views))
            late = [st for st in found if st.state == BEHIND]
            if not late:
                require_current(store, views)
                roomy_cache(store.conn)  # the query reads the same view pages again
                return store
        except BaseException:
            store.close()
            raise
        store.close()
        if not writable:
            first = late[0]
            raise ViewsBehind(
                f"view {first.name} is at position {first.position} but the log's head is "
                f"{head}, and this process cannot write {path} to catch it up; run "
                f"`cqrs --db {path} sync` (or `cqrs --db {path} rebuild --all`) as a user "
                "who can write it"
            )
    store = open_store(path, write=True, create=False)
    try:
        prepare(store, views)
    except BaseException:
        store.close()
        raise
    return store


def prepare(store: Store, names: Sequence[str]) -> None:
    """Catch every view up (the store must be open for writing), then check that `names`
    are current."""
    catch_up(store)
    require_current(store, names)


def resolve_user(conn: sqlite3.Connection, text: str) -> dict[str, Any]:
    """The one synced user `text` names (docs/access.md, "Naming the user").

    Steps, each only when the one before found nobody: an Odoo id or an exact login; the
    exact names together with the login prefixes; the name prefixes (case-insensitive).
    Several users at one step are refused, never guessed between, so nobody can take a
    name over by renaming themself.
    """
    users = [
        {"id": r[0], "login": r[1], "name": r[2]}
        for r in conn.execute("SELECT user_id, login, name FROM user_profiles ORDER BY user_id")
    ]
    wanted = text.strip()
    if not wanted:
        raise CqrsError("--as needs a user: an Odoo id, a login or a name", exit_code=EXIT_USAGE)
    low = wanted.casefold()
    number = whole_number(wanted)

    def login(u: dict[str, Any]) -> str:
        return str(u["login"]).casefold()

    def name(u: dict[str, Any]) -> str:
        return str(u["name"] or "").casefold()

    steps: tuple[Callable[[dict[str, Any]], bool], ...] = (
        lambda u: u["id"] == number or login(u) == low,
        lambda u: name(u) == low or login(u).startswith(low),
        lambda u: name(u).startswith(low),
    )
    for matches in steps:
        found = [u for u in users if matches(u)]
        if len(found) == 1:
            return found[0]
        if found:
            raise UnknownUser(
                f"{text!r} is ambiguous: {_logins(found)}; give the exact login or the id"
            )
    if not users:
        raise UnknownUser(f"no user matches {text!r}: no users synced yet")
    raise UnknownUser(f"no user matches {text!r}; known logins: {_logins(users)}")


def _logins(users: list[dict[str, Any]], limit: int = 20) -> str:
    shown = ", ".join(u["login"] for u in users[:limit])
    return shown + (f" (and {len(users) - limit} more)" if len(users) > limit else "")


def visible_opportunities(
    store: Store,
    user_id: int,
    *,
    status: str | None = None,
    stage: str | None = None,
) -> list[dict[str, Any]]:
    """The opportunities `user_id` can see, as the pinned JSON items of `cqrs view`."""
    sql, params = AccessMatrix().visible_sql(store.conn, user_id)
    where = []
    if status is not None:
        where.append("v.status = :status")
        params["status"] = status
    if stage is not None:
        where.append("(lower(v.stage) = lower(:stage) OR CAST(v.stage_id AS TEXT) = :stage)")
        params["stage"] = stage
    # Thousands of rows and items and no reference cycles: the collector's passes over
    # them would be pure cost (see pause_cyclic_gc).
    with pause_cyclic_gc():
        rows = store.conn.execute(
            "SELECT v.id, v.name, v.status, v.stage, v.expected_revenue, v.probability,"
            " v.user_id, v.salesperson_login, v.salesperson_name, v.manager_id,"
            " v.manager_login, v.manager_name, v.partner_id, v.account, a.reason"
            f" FROM ({sql}) a JOIN opportunity_view v ON v.id = a.opportunity_id"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY a.opportunity_id",
            params,
        ).fetchall()
        # Rows come in opportunity id order (the matrix key); building the items is the
        # hot part of a query, so it stays a flat comprehension.
        return [
            {
                "id": oid,
                "name": name,
                "status": st,
                "stage": stg,
                "expected_revenue": rev,
                "probability": prob,
                "salesperson": None if uid is None else {"id": uid, "login": ulog, "name": unam},
                "manager": None if mid is None else {"id": mid, "login": mlog, "name": mnam},
                "account": None if pid is None else {"id": pid, "name": acc},
                "reason": reason,
            }
            for (
                oid,
                name,
                st,
                stg,
                rev,
                prob,
                uid,
                ulog,
                unam,
                mid,
                mlog,
                mnam,
                pid,
                acc,
                reason,
            ) in rows
        ]


def can_see(store: Store, user_id: int, *, explain: bool = False) -> dict[str, Any]:
    """`whoami-can-see`: ids of visible opportunities and accounts (with reasons on request)."""
    sql, params = AccessMatrix().visible_sql(store.conn, user_id)
    rows = store.conn.execute(sql, params).fetchall()
    accounts = sorted({r[3] for r in rows if r[3] is not None})
    out: dict[str, Any] = {
        "opportunities": [r[0] for r in rows],
        "accounts": accounts,
    }
    if explain:
        out["reasons"] = {
            str(r[0]): ({"reason": r[1], "via": r[2]} if r[2] else {"reason": r[1]}) for r in rows
        }
    return out


def metrics_of(store: Store, user_id: int) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    found = DashboardMetrics().read(store.conn, user_id)
    if found is None:
        raise CqrsError(f"no metrics for user {user_id}")
    return found


PROFILE_FIELDS = (
    "user_id",
    "login",
    "name",
    "email",
    "active",
    "employee_id",
    "manager_id",
    "manager_login",
    "subordinates",
    "all_subordinates",
    "teams",
    "access",
    "company_ids",
    "in_cycle",
)


def profiles(store: Store) -> list[dict[str, Any]]:
    rows = store.conn.execute(
        f"SELECT {', '.join(PROFILE_FIELDS)} FROM user_profiles ORDER BY user_id"
    ).fetchall()
    out = []
    for r in rows:
        item = dict(zip(PROFILE_FIELDS, r, strict=True))
        item["id"] = item.pop("user_id")
        for key in ("subordinates", "all_subordinates", "teams", "company_ids"):
            item[key] = json.loads(item[key])
        item["active"] = bool(item["active"])
        item["in_cycle"] = bool(item["in_cycle"])
        out.append(item)
    return out
