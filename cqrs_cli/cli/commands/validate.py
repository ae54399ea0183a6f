"""`cqrs validate`: the checks CI runs after a sync. Exit 0 when all pass, 3 when one fails."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from cqrs_cli.app.validation import (
    COUNTERS,
    count_checks,
    deep_checks,
    file_checks,
    invariant_checks,
    parse_expectations,
    projection_checks,
    source_checks,
)
from cqrs_cli.cli.context import FORMAT_HELP, open_for
from cqrs_cli.cli.output import check_format, emit_rows
from cqrs_cli.cli.source_options import Database, Password, Timeout, Url, User, pick_source
from cqrs_cli.domain.errors import EXIT_CHECK_FAILED, EXIT_USAGE, CqrsError
from cqrs_cli.store.db import StoreError
from cqrs_cli.store.files import Store

COLUMNS = ["name", "expected", "actual", "ok", "detail"]


@contextmanager
def opened(ctx: typer.Context) -> Iterator[Store]:
    """The file for reading; a file SQLite cannot read is a failed check (exit 3)."""
    try:
        with open_for(ctx) as store:
            yield store
    except StoreError as exc:
        if isinstance(exc.__cause__, sqlite3.DatabaseError):
            raise CqrsError(exc.message, exit_code=EXIT_CHECK_FAILED) from exc
        raise


def run(
    ctx: typer.Context,
    expect: Annotated[
        list[str] | None,
        typer.Option(
            "--expect",
            metavar="KEY=N",
            help=f"Expected count (repeatable); KEY in {', '.join(COUNTERS)}.",
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
    fmt: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "table",
) -> None:
    """Check counts, invariants, views and the hash chain; exit 3 when a check fails."""
    check_format(fmt)
    expected = parse_expectations(expect or [])
    if not against_source and (demo or from_file is not None or url is not None):
        raise CqrsError("a source option needs --against-source", exit_code=EXIT_USAGE)
    with opened(ctx) as store:
        checks = file_checks(store.conn)
        if all(c.ok for c in checks[:1]):  # a damaged file: the rest would read garbage
            checks += [
                *count_checks(store.conn, expected),
                *invariant_checks(store.conn),
                *projection_checks(store),
            ]
    if deep and checks[0].ok:
        with open_for(ctx, write=True) as store:
            checks += deep_checks(store)
    if against_source:
        source = pick_source(demo, from_file, url, database, user, password, timeout)
        try:
            with open_for(ctx) as store:
                checks += source_checks(store.conn, source)
        finally:
            source.close()
    ok = all(c.ok for c in checks)
    rows = [c.as_json() for c in checks]
    emit_rows(rows, COLUMNS, fmt, title="validate", json_value={"ok": ok, "checks": rows})
    failed = [c.name for c in checks if not c.ok]
    if failed:
        raise CqrsError(
            f"{len(failed)} of {len(checks)} checks failed: {', '.join(failed)}",
            exit_code=EXIT_CHECK_FAILED,
        )
