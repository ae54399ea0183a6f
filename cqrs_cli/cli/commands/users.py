"""`cqrs users [--tree]`: every synced user (archived ones too) and the org chart."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from cqrs_cli.cli.context import WHEN_HELP, Format, as_of_title, info, read_model

if TYPE_CHECKING:
    from cqrs_cli.app.answers.people import OrgChart
    from cqrs_cli.cli.output import Col

COLUMNS = ["id", "login", "name", "active", "access", "manager", "subordinates", "teams"]


def run(
    ctx: typer.Context,
    tree: Annotated[bool, typer.Option("--tree", help="Draw the org chart.")] = False,
    fmt: Format = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", metavar="WHEN", help=WHEN_HELP, show_default=False)
    ] = None,
) -> None:
    """List users with their manager, subordinates and teams."""
    from cqrs_cli.app.read_model import org_chart
    from cqrs_cli.cli.output import check_format, emit_rows, shared_domain, short_login

    fmt = check_format(fmt)
    with read_model(ctx, as_of=as_of) as model:
        found = model.profiles()
    if found.looping:
        info(ctx, f"Warning: the manager chain loops for {', '.join(found.looping)}")
    if tree:
        chart = org_chart(found.items)
        if fmt == "table":
            _tree(chart, as_of_title(model, "org chart"))
        else:
            # JSON: the chart nested (each person with their `children`); other formats:
            # one row per person, in the chart's order, with their depth and manager.
            emit_rows(_tree_rows(chart), TREE_COLUMNS, fmt, json_value=chart.roots)
        return
    # Only the box table shortens logins: its title says the domain they share.
    domain = shared_domain(p.login for p in found.items) if fmt == "table" else None
    login = {p.id: short_login(p.login, domain) for p in found.items}
    rows = [
        {
            "id": p.id,
            "login": login[p.id],
            "name": p.name,
            "active": p.active,
            "access": p.access,
            "manager": None if p.manager_id is None else login.get(p.manager_id),
            "subordinates": list(p.subordinates),
            "teams": ", ".join(t["name"] or str(t["id"]) for t in p.teams),
        }
        for p in found.items
    ]
    title = as_of_title(model, "users") + ("" if domain is None else f"; logins @{domain}")
    emit_rows(rows, _columns(), fmt, title=title, json_value=found.items)


TREE_COLUMNS = ["depth", "id", "login", "name", "access", "active", "manager"]


def _tree_rows(chart: OrgChart) -> list[dict[str, object]]:
    from cqrs_cli.app.answers.people import OrgNode

    rows: list[dict[str, object]] = []

    def walk(node: OrgNode, depth: int, manager: str | None) -> None:
        rows.append(
            {
                "depth": depth,
                "id": node.id,
                "login": node.login,
                "name": node.name,
                "access": node.access,
                "active": node.active,
                "manager": manager,
            }
        )
        for child in node.children:
            walk(child, depth + 1, node.login)

    for root in chart.roots:
        walk(root, 0, None)
    return rows


def _columns() -> list[Col]:
    """At 80 columns: who, their access and manager; teams and subordinates when wider."""
    from cqrs_cli.cli.output import Col

    return [
        Col("id", keep=True),
        Col("login"),
        Col("name"),
        Col("active", keep=True),
        Col("access", keep=True),
        Col("manager"),
        Col("subordinates", rank=2),
        Col("teams", rank=1),
    ]


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
