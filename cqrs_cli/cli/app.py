"""The Typer app: global options, one-line errors, and the command list.

Commands load when they are called: `cqrs view` imports the module of `view` and builds
that one command, not the other fifteen, so a query starts about as fast as a bare Typer
app (benchmarks/startup.py). `--help`, the reference and shell completion load them all.
"""

from __future__ import annotations

import importlib
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click.core import Command, Context
from typer._click.exceptions import NoArgsIsHelpError, UsageError
from typer.core import TyperGroup
from typer.exceptions import TyperException

from cqrs_cli import __version__
from cqrs_cli.cli import examples, usage
from cqrs_cli.cli.context import DB_HELP, QUIET_HELP, AppState, late_global_options
from cqrs_cli.cli.terminal import out, say
from cqrs_cli.domain.errors import EXIT_ERROR, CqrsError

# Command name → (module in cqrs_cli.cli.commands, its function, or its Typer for a group),
# in the order `cqrs --help` lists them.
COMMANDS: dict[str, tuple[str, str]] = {
    "verify": ("verify", "run"),
    "backup": ("backup", "run"),
    "events": ("events", "run"),
    "sync": ("sync", "run"),
    "export": ("export", "run"),
    "view": ("view", "run"),
    "whoami-can-see": ("whoami", "run"),
    "metrics": ("metrics", "run"),
    "users": ("users", "run"),
    "history": ("history", "run"),
    "changes": ("changes", "run"),
    "status": ("status", "run"),
    "rebuild": ("rebuild", "run"),
    "dead-letters": ("dead_letters", "run"),
    "validate": ("validate", "run"),
    "datasette-metadata": ("datasette_metadata", "run"),
    # Groups of commands, listed after the commands as Typer lists them.
    "migrate": ("migrate", "app"),
    "webhooks": ("webhooks", "app"),
}


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


def _load(name: str) -> Command:
    """The click command `name`, built from its module (imported now)."""
    module, attribute = COMMANDS[name]
    target = getattr(importlib.import_module(f"cqrs_cli.cli.commands.{module}"), attribute)
    # Built as the root would build it: inside a Typer without completion options of its own.
    holder = typer.Typer(add_completion=False)
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name)
        group = typer.main.get_command(holder)
        command: Command = getattr(group, "commands")[name]  # noqa: B009 - a click Group
    else:
        holder.command(name)(target)
        command = typer.main.get_command(holder)
    _prepare(command, name)
    return command


class _Commands(MutableMapping[str, Command]):
    """The group's commands, each built the first time it is asked for."""

    def __init__(self, load: Callable[[str], Command]) -> None:
        self._load = load
        self._built: dict[str, Command] = {}

    def __getitem__(self, name: str) -> Command:
        if name not in self._built:
            if name not in COMMANDS:
                raise KeyError(name)
            self._built[name] = self._load(name)
        return self._built[name]

    def __setitem__(self, name: str, command: Command) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._built[name]

    def __iter__(self) -> Iterator[str]:
        yield from COMMANDS
        yield from (name for name in self._built if name not in COMMANDS)

    def __len__(self) -> int:
        return len(set(COMMANDS) | set(self._built))


class _Group(TyperGroup):
    """Turns every error into one `Error: ...` line on stderr (traceback with CQRS_DEBUG=1),
    usage errors too; lets every command take the global `--db` and `--quiet` as well;
    builds each command only when it is asked for."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.epilog = examples.epilog("")
        self.commands = _Commands(_load)

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


def main() -> None:
    # Named `cqrs` however it was started (`python -m cqrs_cli` too): in usage errors and
    # in the shell completion script, whose variable is _CQRS_COMPLETE.
    app(prog_name="cqrs")
