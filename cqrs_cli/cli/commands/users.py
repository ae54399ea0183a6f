"""`cqrs users [--tree]`: every synced user (archived ones too) and the org chart."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cqrs_cli.cli.context import FORMAT_HELP, WHEN_HELP, as_of_title, info, read_model

if TYPE_CHECKING:
    from cqrs_cli.app.answers.people import OrgChart

COLUMNS = ["id", "login", "name", "active", "access", "manager", "subordinates", "teams"]


def run(
    ctx: typer.Context,
    tree: Annotated[bool, typer.Option("--tree", help="Draw the org chart.")] = False,
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "table",
    as_of: Annotated[
        str | None, typer.Option("--as-of", metavar="WHEN", help=WHEN_HELP, show_default=False)
    ] = None,
) -> None:
    """List users with their manager, subordinates and teams."""
    from cqrs_cli.app.read_model import org_chart
    from cqrs_cli.cli.output import check_format, emit_rows

    check_format(fmt)
    with read_model(ctx, as_of=as_of) as model:
        found = model.profiles()
    if found.looping:
        info(ctx, f"Warning: the manager chain loops for {', '.join(found.looping)}")
    if tree:
        _tree(org_chart(found.items), as_of_title(model, "org chart"))
        return
    login = {p.id: p.login for p in found.items}
    rows = [
        {
            "id": p.id,
            "login": p.login,
            "name": p.name,
            "active": p.active,
            "access": p.access,
            "manager": None if p.manager_id is None else login.get(p.manager_id),
            "subordinates": list(p.subordinates),
            "teams": ", ".join(t["name"] or str(t["id"]) for t in p.teams),
        }
        for p in found.items
    ]
    emit_rows(rows, COLUMNS, fmt, title=as_of_title(model, "users"), json_value=found.items)


def _tree(chart: OrgChart, title: str) -> None:
    from rich.text import Text
    from rich.tree import Tree

    from cqrs_cli.app.answers.people import OrgNode
    from cqrs_cli.cli.terminal import console, text

    def label(node: OrgNode) -> Text:
        parts = [
            text(node.name),
            text(" "),
            text(node.login, "bold"),
            text(f" ({node.access})"),
        ]
        if not node.active:
            parts.append(text(" (archived)", "dim"))
        return Text.assemble(*parts)

    def grow(parent: Tree, node: OrgNode) -> None:
        branch = parent.add(label(node))
        for child in node.children:
            grow(branch, child)

    root = Tree(text(title))
    for node in chart.roots:
        grow(root, node)
    console().print(root)
