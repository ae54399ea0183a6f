"""What every command shares: the global options and how to open the file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer

from cqrs_cli.store.files import Store, open_store
from cqrs_cli.terminal import say


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


def open_for(ctx: typer.Context, *, write: bool = False, create: bool | None = None) -> Store:
    st = state(ctx)
    store = open_store(st.db, write=write, create=create)
    if store.migrated:
        names = ", ".join(m.name for m in store.migrated)
        info(ctx, f"Prepared {st.db}: applied {names}")
    return store


FORMAT_HELP = "Output format: table, json, csv or any tabulate format (github, plain, ...)."
