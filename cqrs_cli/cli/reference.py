"""The command reference (docs/reference.md), generated from the Typer app itself.

    python -m cqrs_cli.cli.reference > docs/reference.md

A test regenerates it and fails when the file is stale, or when a command or option lacks
help or a command lacks examples (cqrs_cli/cli/examples.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer.main

from cqrs_cli.cli.app import app
from cqrs_cli.cli.context import is_late_global
from cqrs_cli.cli.examples import EXAMPLES

HEADER = (
    "# Command reference\n\n"
    "Generated from the program by `python -m cqrs_cli.cli.reference > docs/reference.md`;\n"
    "a test fails when this file is stale. Global options go before the command;\n"
    "`--db` and `--quiet` are accepted after it too (`cqrs view --db demo.db --as vinsha`).\n"
)


def _walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name in sorted(getattr(command, "commands", {}) or {}):
        yield from _walk(command.commands[name], (*path, name))


def _param_line(param: Any) -> str:
    names = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
    if param.param_type_name == "argument":
        names = f"`{param.name.upper()}`"
    help_text = (getattr(param, "help", None) or "").strip()
    extras = []
    envvar = getattr(param, "envvar", None)
    if envvar:
        extras.append(f"env `{envvar}`")
    default = param.default
    if default not in (None, False, (), []) and not callable(default):
        extras.append(f"default `{default}`")
    suffix = f" ({'; '.join(extras)})" if extras else ""
    return f"- {names}: {help_text}{suffix}"


def undocumented() -> list[str]:
    """Commands and options that have no help text."""
    missing = []
    for path, command in _walk(typer.main.get_command(app), ("cqrs",)):
        if not (command.help or "").strip():
            missing.append(" ".join(path))
        for param in command.params:
            if param.param_type_name == "option" and not (getattr(param, "help", "") or "").strip():
                missing.append(f"{' '.join(path)} {param.opts[0]}")
    return missing


def without_examples() -> list[str]:
    """Commands whose --help ends with no example."""
    return [
        " ".join(path)
        for path, _ in _walk(typer.main.get_command(app), ("cqrs",))
        if not EXAMPLES.get(" ".join(path[1:]))
    ]


def _examples(path: tuple[str, ...]) -> str:
    examples = EXAMPLES.get(" ".join(path[1:]), ())
    if not examples:
        return ""
    body = "\n".join(f"# {what}\n{line}" for what, line in examples)
    return f"\nExamples:\n\n```bash\n{body}\n```\n"


def render() -> str:
    parts = [HEADER]
    for path, command in _walk(typer.main.get_command(app), ("cqrs",)):
        title = " ".join(path)
        parts.append(f"\n## `{title}`\n\n{(command.help or '').strip()}\n")
        # The late `--db` and `--quiet` of every command are the root's, listed once there.
        lines = [
            _param_line(p)
            for p in command.params
            if p.name not in ("help",) and not is_late_global(p)
        ]
        if lines:
            parts.append("\n" + "\n".join(lines) + "\n")
        parts.append(_examples(path))
    return "".join(parts)


if __name__ == "__main__":
    print(render(), end="")
