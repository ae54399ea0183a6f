"""`cqrs validate`: the checks CI runs after a sync. Exit 0 when all pass, 3 when one fails."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cqrs_cli.cli.context import Format, state
from cqrs_cli.cli.source_options import Database, Password, Timeout, Url, User, source_choice
from cqrs_cli.domain.errors import EXIT_CHECK_FAILED, EXIT_USAGE, CqrsError

COLUMNS = ["name", "expected", "actual", "ok", "detail"]
# What a check found is never cut; its name and detail fold.
KEPT = ("expected", "actual", "ok")
# The count keys of app/validation.py's COUNTERS, spelled out here so `--help` does not
# load the checks.
COUNT_KEYS = ("users", "opportunities", "accounts", "employees", "teams", "stages", "events")


def run(
    ctx: typer.Context,
    expect: Annotated[
        list[str] | None,
        typer.Option(
            "--expect",
            metavar="KEY=N",
            help=f"Expected count (repeatable); KEY in {', '.join(COUNT_KEYS)}.",
        ),
    ] = None,
    deep: Annotated[
        bool, typer.Option("--deep", help="Rebuild every view into scratch tables and compare.")
    ] = False,
    against_source: Annotated[
        bool,
        typer.Option(
            "--against-source",
            help="Compare the file's counts with the source's (--demo, --from-file or --url).",
        ),
    ] = False,
    demo: Annotated[
        bool, typer.Option("--demo", help="With --against-source: the embedded demo.")
    ] = False,
    from_file: Annotated[
        Path | None, typer.Option("--from-file", help="With --against-source: a snapshot file.")
    ] = None,
    url: Url = None,
    database: Database = None,
    user: User = None,
    password: Password = None,
    timeout: Timeout = 60.0,
    fmt: Format = None,
) -> None:
    """Check counts, invariants, views and the hash chain; exit 3 when a check fails."""
    from cqrs_cli.app.validation import parse_expectations, validate
    from cqrs_cli.cli.output import check_format, emit_rows

    fmt = check_format(fmt)
    expected = parse_expectations(expect or [])
    if not against_source and (demo or from_file is not None or url is not None):
        raise CqrsError("a source option needs --against-source", exit_code=EXIT_USAGE)
    source = (
        source_choice(demo, from_file, url, database, user, password, timeout)
        if against_source
        else None
    )
    found = validate(state(ctx).db, expected=expected, deep=deep, source=source)
    rows = [c.as_json() for c in found.checks]
    from cqrs_cli.cli.output import Col

    columns = [Col(c, keep=c in KEPT) for c in COLUMNS]
    emit_rows(rows, columns, fmt, title="validate", json_value=found)
    if found.failed:
        raise CqrsError(
            f"{len(found.failed)} of {len(found.checks)} checks failed: {', '.join(found.failed)}",
            exit_code=EXIT_CHECK_FAILED,
        )
