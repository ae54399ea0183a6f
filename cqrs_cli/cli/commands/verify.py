"""`cqrs verify`: is the file sound, its chain intact, its log whole?"""

from __future__ import annotations

import sqlite3
from typing import Annotated

import typer

from cqrs_cli.cli.context import open_for
from cqrs_cli.cli.terminal import out
from cqrs_cli.domain.errors import EXIT_CHECK_FAILED, CqrsError
from cqrs_cli.store.db import StoreError
from cqrs_cli.store.health import FileReport, check_file, parse_head


def run(
    ctx: typer.Context,
    expect: Annotated[
        str | None,
        typer.Option(
            "--expect",
            metavar="POSITION:HASH",
            help="A head printed by an earlier verify: fail unless the log still holds it.",
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="Print what was found as data on stdout: table, tsv, json, csv or any"
            " tabulate format. Without it: one line, OK and the head (or the problems as"
            " an error).",
            show_default=False,
            metavar="FORMAT",
        ),
    ] = None,
) -> None:
    """SQLite's integrity check, the hash chain, and the log's head against every record of it
    (checkpoints, sync runs, --expect). Prints OK and the head, or the problems (exit 3)."""
    from cqrs_cli.cli.output import check_format, emit_rows

    if fmt is not None:
        fmt = check_format(fmt)
    expected = parse_head(expect) if expect is not None else None
    try:
        with open_for(ctx) as store:
            report = check_file(store.conn, expected)
    except StoreError as exc:
        if isinstance(exc.__cause__, sqlite3.DatabaseError):  # a SQLite file, unreadable
            raise CqrsError(exc.message, exit_code=EXIT_CHECK_FAILED) from exc
        raise
    except sqlite3.DatabaseError as exc:  # so damaged that opening it failed
        raise CqrsError(f"the file is damaged: {exc}", exit_code=EXIT_CHECK_FAILED) from exc
    if fmt is not None:
        found = {
            "ok": report.ok,
            "events": report.events,
            "head": None if report.head is None else str(report.head),  # as --expect takes it
            "problems": report.problems,
        }
        emit_rows([found], list(found), fmt, title="verify", json_value=found)
    if not report.ok:
        raise CqrsError("; ".join(report.problems), exit_code=EXIT_CHECK_FAILED)
    if fmt is None:
        out(ok_line(report))


def ok_line(report: FileReport) -> str:
    return f"OK: {report.events} events, hash chain intact, file sound; head {report.head}"
