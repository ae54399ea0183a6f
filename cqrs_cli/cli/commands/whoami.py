"""`cqrs whoami-can-see --as USER`: ids of what a user can see, with reasons on request."""

from __future__ import annotations

from typing import Annotated

import typer

from cqrs_cli.app.queries import can_see
from cqrs_cli.cli.commands.reading import AS_HELP, open_current, person
from cqrs_cli.cli.context import FORMAT_HELP
from cqrs_cli.cli.output import check_format, emit_rows

VIEWS = ("user_profiles", "user_access_matrix")


def run(
    ctx: typer.Context,
    as_user: Annotated[str, typer.Option("--as", help=AS_HELP)],
    explain: Annotated[bool, typer.Option("--explain", help="Say why for each id.")] = False,
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "json",
) -> None:
    """Which opportunities and accounts USER can see."""
    check_format(fmt)
    with open_current(ctx, VIEWS) as store:
        user = person(store, as_user)
        found = can_see(store, user["id"], explain=True)
    reasons = found.pop("reasons")
    value = {"user": user, **found}
    if explain:
        value["reasons"] = reasons
    rows = [
        {"opportunity": int(oid), "reason": r["reason"], "via": r.get("via")}
        for oid, r in reasons.items()
    ]
    columns = ["opportunity", "reason", "via"] if explain else ["opportunity"]
    emit_rows(rows, columns, fmt, title=f"{user['login']} can see", json_value=value)
