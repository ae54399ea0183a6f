"""The Typer app: global options, one-line errors, and the command list."""

from __future__ import annotations

import os
import sqlite3
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click.core import Command, Context
from typer._click.exceptions import NoArgsIsHelpError, UsageError
from typer.core import TyperGroup
from typer.exceptions import TyperException

from cqrs_cli import __version__
from cqrs_cli.cli import examples, usage
from cqrs_cli.cli.commands import (
    backup,
    changes,
    datasette_metadata,
    dead_letters,
    events,
    export,
    history,
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
from cqrs_cli.cli.context import DB_HELP, QUIET_HELP, AppState, late_global_options
from cqrs_cli.cli.terminal import out, say
from cqrs_cli.domain.errors import EXIT_ERROR, CqrsError


def _fail(message: str, code: int) -> None:
    say(f"Error: {message}")
    raise typer.Exit(code)


def _prepare(command: Command, path: str) -> None:
    """Give `command` (and its subcommands) its examples, the late global options, and its
    usage errors the command they belong to."""
    command.epilog = examples.epilog(path)
    command.params.extend(late_global_options())
    parse_args = command.parse_args

    def parse_naming_the_command(ctx: Context, args: list[str]) -> list[str]:
        try:
            return parse_args(ctx, args)
        except UsageError as exc:
            # click's parser raises some (`--as` without its value) without the context
            # that names the command and its --help.
            if exc.ctx is None:
                exc.ctx, exc.cmd = ctx, ctx.command
            raise

    setattr(command, "parse_args", parse_naming_the_command)  # noqa: B010 - on this instance
    for name, sub in getattr(command, "commands", {}).items():
        _prepare(sub, f"{path} {name}")


class _Group(TyperGroup):
    """Turns every error into one `Error: ...` line on stderr (traceback with CQRS_DEBUG=1),
    usage errors too; lets every command take the global `--db` and `--quiet` as well."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.epilog = examples.epilog("")
        for name, command in self.commands.items():
            _prepare(command, name)

    def make_context(
        self, info_name: str | None, args: list[str], parent: Context | None = None, **extra: Any
    ) -> Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except NoArgsIsHelpError:
            raise
        except UsageError as exc:  # an unknown or bad global option
            raise usage.fail(exc) from None

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except NoArgsIsHelpError:
            raise
        except UsageError as exc:  # an unknown command, a command's bad or missing option
            raise usage.fail(exc) from None
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
    add_completion=True,
)


def _version(value: bool) -> None:
    if value:
        out(f"cqrs {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[
        Path, typer.Option("--db", envvar="CQRS_DB", help=DB_HELP, show_default=True)
    ] = Path("cqrs.db"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help=QUIET_HELP)] = False,
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
app.command("history")(history.run)
app.command("changes")(changes.run)
app.command("status")(status.run)
app.command("rebuild")(rebuild.run)
app.command("dead-letters")(dead_letters.run)
app.add_typer(webhooks.app, name="webhooks")
app.command("validate")(validate.run)
app.command("datasette-metadata")(datasette_metadata.run)


def main() -> None:
    # Named `cqrs` however it was started (`python -m cqrs_cli` too): in usage errors and
    # in the shell completion script, whose variable is _CQRS_COMPLETE.
    app(prog_name="cqrs")
