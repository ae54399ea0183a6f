"""`cqrs status`: the head of the log, where each view stands, the last sync run."""

from __future__ import annotations

import typer

from cqrs_cli.cli.context import Format, info, read_model

COLUMNS = ["name", "version", "position", "lag", "state", "error"]
KEPT = ("name", "state")  # a view's name and state are never cut
SYNC_FIELDS = ["id", "source", "mode", "status", "started_at", "finished_at", "events", "error"]
SCRATCH = "__rebuild"  # the scratch tables' mark (cqrs_cli/projections/runner.py)


def run(
    ctx: typer.Context,
    fmt: Format = None,
) -> None:
    """Head position, each projection's checkpoint, lag, state and error, the last sync run,
    warnings (a log cut short, scratch tables a killed rebuild left) and who works on the
    file now: a rebuild, a `sync --every` loop, a webhook delivery."""
    from cqrs_cli.cli.output import check_format, emit_rows, plain
    from cqrs_cli.cli.terminal import say

    fmt = check_format(fmt)
    with read_model(ctx, migrate=False) as model:
        found = model.status()
    if fmt == "json":
        emit_rows([], COLUMNS, fmt, json_value=found)
        return
    from cqrs_cli.cli.output import Col

    columns = [Col(c, keep=c in KEPT) for c in COLUMNS]
    emit_rows(plain(found.projections), columns, fmt, title=f"head {found.head}")
    if fmt == "table":
        # One run, many fields: a field per line stays readable on a narrow terminal.
        run = plain(found.last_sync) if found.last_sync else {}
        rows = [{"field": f, "value": run.get(f)} for f in SYNC_FIELDS] if run else []
        emit_rows(
            rows, ["field", "value"], fmt, title="last sync run" if run else "no sync run yet"
        )
    for problem in found.problems:
        say(f"Warning: {problem}")
    for lock in found.locks:
        info(ctx, f"Note: {lock.describe()} holds the {lock.name} lock")
    if found.orphans:
        # Named by run: one killed rebuild leaves a dozen tables with the same suffix.
        runs = sorted({n[n.rfind(SCRATCH) :] for n in found.orphans})
        say(
            f"Warning: {len(found.orphans)} scratch tables left by an interrupted rebuild "
            f"(*{', *'.join(runs)}; dropped at the next write)"
        )
