"""What every command shares: the global options and how to open the file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cqrs_cli.cli.terminal import say

# The store and the application layer load when a command runs, not when the CLI starts.
if TYPE_CHECKING:
    from typer._click.core import Parameter

    from cqrs_cli.app.read_model import ReadModel
    from cqrs_cli.store.files import Store

DB_HELP = "The SQLite file."
QUIET_HELP = "No messages or progress on stderr."
# `--db` and `--quiet` are the root's options; each command accepts them too, after its
# name, as people type them (`cqrs view --db demo.db --as vinsha`). They set the same
# state the root's do, the last one given winning.
GLOBAL_PANEL = "Global options (also before the command)"


@dataclass
class AppState:
    db: Path
    quiet: bool = False


def state(ctx: typer.Context) -> AppState:
    obj = ctx.find_root().obj
    if not isinstance(obj, AppState):  # a command invoked without the root callback
        obj = AppState(Path("cqrs.db"))
    return obj


def info(ctx: typer.Context, message: str) -> None:
    """A message line for the person at the terminal: stderr, silenced by --quiet."""
    if not state(ctx).quiet:
        say(message)


AS_HELP = (
    "The user: Odoo id or exact login; else an exact name or the start of a login, else the"
    " start of a name, when only one user fits (see docs/access.md)."
)


def open_for(ctx: typer.Context, *, write: bool = False, create: bool | None = None) -> Store:
    from cqrs_cli.store.files import open_store

    st = state(ctx)
    store = open_store(st.db, write=write, create=create)
    prepared(ctx, [m.name for m in store.migrated])
    return store


def read_model(ctx: typer.Context, *, migrate: bool = True, as_of: str | None = None) -> ReadModel:
    """The read model over the file (see `open_read_model`); with `migrate` False, a file
    at an older schema is refused rather than migrated, as by a plain reader. With
    `as_of` (a WHEN), the model of the past (`ReadModel.as_of`), said in a note."""
    from cqrs_cli.app.read_model import open_read_model

    model = open_read_model(state(ctx).db, migrate=migrate)
    prepared(ctx, model.migrated)
    if as_of is None:
        return model
    try:
        past = model.as_of(as_of, owns=True)
    except BaseException:
        model.close()
        raise
    assert past.at is not None
    info(ctx, f"As of {past.at.label()}" + (" (now)" if past.at.current else ""))
    return past


def as_of_title(model: ReadModel, title: str) -> str:
    """A table's title, with the position its answer is as of."""
    return title if model.at is None else f"{title}, as of {model.at.label()}"


WHEN_HELP = (
    "A log position (#1234), an ISO date or date-time (UTC unless it has an offset), or a"
    " time before now (90m, 36h, 7d, 2w): the file as it stood right after the last event"
    " recorded by then (docs/past.md)."
)


def prepared(ctx: typer.Context, names: Sequence[str]) -> None:
    """The migrations a command applied to the file, if any."""
    if names:
        info(ctx, f"Prepared {state(ctx).db}: applied {', '.join(names)}")


def paused(ctx: typer.Context, views: Mapping[str, str]) -> None:
    """The views a write paused (a projection failed on an event), each with its error."""
    for name, error in views.items():
        info(ctx, f"Warning: projection {name} is paused: {error} (see `cqrs status`)")


FORMAT_HELP = (
    "Output format: table, tsv, json, csv or any tabulate format (github, plain, ...)."
    " Default: a table on a terminal, tsv when stdout is a pipe or a file."
)
# The --format of a command that prints data: None (not given) picks table or tsv.
Format = Annotated[
    str | None, typer.Option("--format", help=FORMAT_HELP, show_default=False, metavar="FORMAT")
]
SUMMARY_FORMAT_HELP = (
    "Print the summary as data on stdout in this format: table, tsv, json, csv or any tabulate "
    "format. Without it the summary is a message table on stderr (none with --quiet)."
)


def check_summary_format(fmt: str | None) -> str | None:
    from cqrs_cli.cli.output import check_format

    return None if fmt is None else check_format(fmt)


def emit_summary(
    ctx: typer.Context,
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    fmt: str | None,
    *,
    title: str,
    json_value: Any,
) -> None:
    """What a write command (sync, migrate legacy) did. It is data when `--format` asks for
    it: on stdout, even with --quiet. Otherwise it is a message for the person at the
    terminal, like the lines around it: a table on stderr, silenced by --quiet, so a
    quiet scheduled sync with nothing to do prints nothing at all."""
    from cqrs_cli.cli.output import emit_rows

    if fmt is not None:
        emit_rows(rows, columns, fmt, title=title, json_value=json_value)
    elif not state(ctx).quiet:
        emit_rows(rows, columns, "table", title=title, stderr=True)


def _set_db(ctx: typer.Context, value: Path | None) -> None:
    if value is not None:
        state(ctx).db = value


def _set_quiet(ctx: typer.Context, value: bool) -> None:
    if value:
        state(ctx).quiet = True


def _probe(
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            help=f"{DB_HELP} Same as `cqrs --db FILE COMMAND` (env CQRS_DB).",
            callback=_set_db,
            rich_help_panel=GLOBAL_PANEL,
            show_default=False,
        ),
    ] = None,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help=QUIET_HELP, callback=_set_quiet, rich_help_panel=GLOBAL_PANEL
        ),
    ] = False,
) -> None:
    """Only declares the options; never run."""


def late_global_options() -> list[Parameter]:
    """Fresh `--db` and `--quiet` options for one command, passed to no function."""
    probe = typer.Typer(add_completion=False)
    probe.command()(_probe)
    params = list(typer.main.get_command(probe).params)
    for param in params:
        param.expose_value = False
    return params


def is_late_global(param: Parameter) -> bool:
    return param.name in ("db", "quiet") and not param.expose_value
