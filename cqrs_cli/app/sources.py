"""Where a sync (or a count check) reads from: a typed choice the faces build, made a
Source here.

A face turns its options into one `SourceChoice` (`choose_source` checks there is exactly
one); `open_source` makes it a `cqrs_cli.sources` Source, loading odoorpc only for Odoo.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError

if TYPE_CHECKING:
    from cqrs_cli.sources.base import Source


@dataclass(frozen=True, slots=True)
class Demo:
    """The demo organisation embedded in cqrs (docs/demo.md)."""


@dataclass(frozen=True, slots=True)
class SnapshotFile:
    """A snapshot file, as `cqrs export` writes them."""

    path: Path


@dataclass(frozen=True, slots=True)
class OdooLogin:
    url: str
    database: str
    user: str
    password: str = ""

    def __repr__(self) -> str:  # keeps the password out of any traceback or debug print
        return f"OdooLogin(url={self.url!r}, database={self.database!r}, user={self.user!r})"


@dataclass(frozen=True, slots=True)
class Odoo:
    """A live Odoo, over JSON-RPC."""

    login: OdooLogin
    timeout: float = 60.0  # seconds to wait for each answer


SourceChoice = Demo | SnapshotFile | Odoo
CHOICES = (Demo, SnapshotFile, Odoo)


def choose_source(
    *,
    demo: bool = False,
    from_file: Path | None = None,
    odoo: OdooLogin | None = None,
    odoo_asked: bool = False,
    timeout: float = 60.0,
) -> SourceChoice:
    """Exactly one source: the demo, a snapshot file or Odoo.

    `odoo_asked` says the Odoo connection was asked for explicitly (`--url`), not merely
    found in the environment: only then does it conflict with the demo or a file.
    """
    explicit = [
        name
        for name, on in (
            ("--demo", demo),
            ("--from-file", from_file is not None),
            ("--url", odoo_asked),
        )
        if on
    ]
    if len(explicit) > 1:
        raise CqrsError(f"choose one source, not {' and '.join(explicit)}", exit_code=EXIT_USAGE)
    if demo:
        return Demo()
    if from_file is not None:
        return SnapshotFile(from_file)
    if odoo is None:
        raise CqrsError(
            "no source: use --demo, --from-file PATH or --url (or ODOO_URL) with "
            "--database, --user and --password",
            exit_code=EXIT_USAGE,
        )
    return Odoo(odoo, timeout)


def open_source(choice: SourceChoice) -> Source:
    """The Source `choice` names; the caller closes it."""
    if isinstance(choice, Demo):
        from cqrs_cli.sources.snapshot import demo_source

        return demo_source()
    if isinstance(choice, SnapshotFile):
        from cqrs_cli.sources.snapshot import SnapshotSource

        return SnapshotSource.from_file(choice.path)
    from cqrs_cli.sources.odoo import OdooSource

    login = choice.login
    return OdooSource(login.url, login.database, login.user, login.password, timeout=choice.timeout)
