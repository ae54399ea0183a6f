"""The Typer app: global options, one-line errors, and the command list."""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup
from typer.exceptions import TyperException

from cqrs_cli import __version__
from cqrs_cli.cli.commands import (
    backup,
    dead_letters,
    events,
    export,
    metrics,
    migrate,
    rebuild,
    status,
    sync,
    users,
    validate,
    verify,
    view,
    webhooks,
    whoami,
)
from cqrs_cli.cli.context import AppState
from cqrs_cli.cli.terminal import out, say
from cqrs_cli.domain.errors import EXIT_ERROR, CqrsError


def _fail(message: str, code: int) -> None:
    say(f"Error: {message}")
    raise typer.Exit(code)


class _Group(TyperGroup):
    """Turns every error into one `Error: ...` line on stderr (traceback with CQRS_DEBUG=1)."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except (TyperException, typer.Exit, typer.Abort):
            raise
        except CqrsError as exc:
            if os.environ.get("CQRS_DEBUG") == "1":
                raise
            _fail(exc.message, exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except BrokenPipeError:
            # The reader went away (`cqrs events | head`): stop quietly, like other tools.
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - flush at exit must not fail again
            raise typer.Exit(0) from None
        except sqlite3.OperationalError as exc:
            if os.environ.get("CQRS_DEBUG") == "1":
                raise
            _fail(f"database error: {exc}", EXIT_ERROR)
        except Exception as exc:
            if os.environ.get("CQRS_DEBUG") == "1":
                raise
            if type(exc) is sqlite3.DatabaseError:  # "malformed", "not a database"
                _fail(f"the file is damaged: {exc} (`cqrs verify` says more)", EXIT_ERROR)
            _fail(f"{type(exc).__name__}: {exc} (set CQRS_DEBUG=1 for a traceback)", EXIT_ERROR)
        return None


app = typer.Typer(
    cls=_Group,
    name="cqrs",
    help="An Odoo CRM as an event log plus materialized views in one SQLite file.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        out(f"cqrs {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[
        Path, typer.Option("--db", envvar="CQRS_DB", help="The SQLite file.", show_default=True)
    ] = Path("cqrs.db"),
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No messages or progress on stderr.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """cqrs: ask one SQLite file what Odoo's CRM holds and who can see it."""
    ctx.obj = AppState(db=db, quiet=quiet)


app.add_typer(migrate.app, name="migrate")
app.command("verify")(verify.run)
app.command("backup")(backup.run)
app.command("events")(events.run)
app.command("sync")(sync.run)
app.command("export")(export.run)
app.command("view")(view.run)
app.command("whoami-can-see")(whoami.run)
app.command("metrics")(metrics.run)
app.command("users")(users.run)
app.command("status")(status.run)
app.command("rebuild")(rebuild.run)
app.command("dead-letters")(dead_letters.run)
app.add_typer(webhooks.app, name="webhooks")
app.command("validate")(validate.run)


def main() -> None:
    app()
