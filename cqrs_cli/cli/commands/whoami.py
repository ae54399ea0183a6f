"""`cqrs whoami-can-see --as USER`: ids of what a user can see, with reasons on request."""

from __future__ import annotations

from typing import Annotated

import typer

from cqrs_cli.cli.context import AS_HELP, FORMAT_HELP, WHEN_HELP, as_of_title, read_model


def run(
    ctx: typer.Context,
    as_user: Annotated[str, typer.Option("--as", help=AS_HELP)],
    explain: Annotated[bool, typer.Option("--explain", help="Say why for each id.")] = False,
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "json",
    as_of: Annotated[
        str | None, typer.Option("--as-of", metavar="WHEN", help=WHEN_HELP, show_default=False)
    ] = None,
) -> None:
    """Which opportunities and accounts USER can see."""
    from cqrs_cli.app.answers.visibility import CanSeeExplained
    from cqrs_cli.cli.output import check_format, emit_rows

    check_format(fmt)
    with read_model(ctx, as_of=as_of) as model:
        found = model.can_see(as_user, explain=explain or fmt != "json")
    if fmt == "json":
        emit_rows([], [], fmt, json_value=found)
        return
    assert isinstance(found, CanSeeExplained)
    rows = [
        {"opportunity": int(oid), "reason": r["reason"], "via": r.get("via")}
        for oid, r in found.reasons.items()
    ]
    columns = ["opportunity", "reason", "via"] if explain else ["opportunity"]
    emit_rows(rows, columns, fmt, title=as_of_title(model, f"{found.user.login} can see"))
