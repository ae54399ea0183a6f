"""Usage errors as one `Error: ...` line (and a `Try '... --help'` line), exit 2.

Typer draws click's usage errors in a boxed rich panel under a usage line; every other
error of cqrs is one line on stderr, and a script reading stderr expects the same here.
The text comes from the command line the user typed: it is shown, never interpreted
(`terminal.say`).
"""

from __future__ import annotations

import re

import typer
from typer._click.core import Parameter
from typer._click.exceptions import BadOptionUsage, MissingParameter, NoSuchOption, UsageError

from cqrs_cli.cli.terminal import say
from cqrs_cli.domain.errors import EXIT_USAGE

_DID_YOU_MEAN = re.compile(r"\.\s*Did you mean (?P<which>.+)\?$")


def _command_words(exc: UsageError) -> tuple[str, str]:
    """(`cqrs view`, `view`): the whole command path and the part after the program."""
    ctx = exc.ctx
    if ctx is None:
        return "cqrs", ""
    path = ctx.command_path
    root = ctx.find_root().command_path
    return path, path[len(root) :].strip()


def _root_option(exc: UsageError, name: str) -> Parameter | None:
    if exc.ctx is None:
        return None
    root = exc.ctx.find_root().command
    return next((p for p in root.params if name in (*p.opts, *p.secondary_opts)), None)


def message(exc: UsageError) -> str:
    """The one-line text of a usage error, without the `Error: ` prefix."""
    path, sub = _command_words(exc)
    if isinstance(exc, NoSuchOption):
        text = f"no such option {exc.option_name}"
        if sub:
            text += f" for {sub}"
        root_option = _root_option(exc, exc.option_name) if sub else None
        if root_option is not None:
            program = path[: len(path) - len(sub)].strip()
            value = "" if getattr(root_option, "is_flag", False) else " VALUE"
            text += (
                f" (global options go before the command: "
                f"{program} {exc.option_name}{value} {sub} ...)"
            )
        elif exc.possibilities:
            text += f" (did you mean {', '.join(sorted(exc.possibilities))}?)"
        return text
    text = exc.format_message().strip()
    text = _DID_YOU_MEAN.sub(lambda m: f" (did you mean {m['which']}?)", text).rstrip(".")
    text = text[:1].lower() + text[1:]
    if isinstance(exc, MissingParameter | BadOptionUsage) and sub:
        text += f" for {sub}"
    return text


def fail(exc: UsageError) -> typer.Exit:
    """Print the usage error as cqrs prints errors; the caller raises what this returns."""
    say(f"Error: {message(exc)}")
    if exc.ctx is not None and exc.ctx.command.get_help_option(exc.ctx) is not None:
        say(f"Try '{exc.ctx.command_path} {exc.ctx.help_option_names[0]}'")
    return typer.Exit(EXIT_USAGE)
