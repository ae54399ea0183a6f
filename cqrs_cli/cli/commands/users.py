"""`cqrs users [--tree]`: every synced user (archived ones too) and the org chart."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from cqrs_cli.app.queries import profiles
from cqrs_cli.cli.commands.reading import open_current
from cqrs_cli.cli.context import FORMAT_HELP, info
from cqrs_cli.cli.output import check_format, emit_rows
from cqrs_cli.cli.terminal import console, text

VIEWS = ("user_profiles",)
JSON_FIELDS = (
    "id",
    "login",
    "name",
    "active",
    "employee_id",
    "manager_id",
    "subordinates",
    "all_subordinates",
    "teams",
    "access",
)
COLUMNS = ["id", "login", "name", "active", "access", "manager", "subordinates", "teams"]


def run(
    ctx: typer.Context,
    tree: Annotated[bool, typer.Option("--tree", help="Draw the org chart.")] = False,
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "table",
) -> None:
    """List users with their manager, subordinates and teams."""
    check_format(fmt)
    with open_current(ctx, VIEWS) as store:
        found = profiles(store)
    looping = [p["login"] for p in found if p["in_cycle"]]
    if looping:
        info(ctx, f"Warning: the manager chain loops for {', '.join(looping)}")
    if tree:
        _tree(found)
        return
    rows = [
        {
            **p,
            "manager": p["manager_login"],
            "teams": ", ".join(t["name"] or str(t["id"]) for t in p["teams"]),
        }
        for p in found
    ]
    emit_rows(
        rows,
        COLUMNS,
        fmt,
        title="users",
        json_value=[{k: p[k] for k in JSON_FIELDS} for p in found],
    )


def _tree(found: list[dict[str, Any]]) -> None:
    from rich.text import Text
    from rich.tree import Tree

    by_id = {p["id"]: p for p in found}

    def label(p: dict[str, Any]) -> Text:
        parts = [text(p["name"]), text(" "), text(p["login"], "bold"), text(f" ({p['access']})")]
        if not p["active"]:
            parts.append(text(" (archived)", "dim"))
        return Text.assemble(*parts)

    root = Tree(text("org chart"))
    drawn: set[int] = set()

    def grow(node: Tree, p: dict[str, Any]) -> None:
        drawn.add(p["id"])
        branch = node.add(label(p))
        for sub in p["subordinates"]:
            if sub in by_id and sub not in drawn:  # `drawn` stops a looping chain
                grow(branch, by_id[sub])

    for p in found:
        if p["manager_id"] is None or p["manager_id"] not in by_id:
            grow(root, p)
    for p in found:  # users only reachable through a loop
        if p["id"] not in drawn:
            grow(root, p)
    console().print(root)
