"""The rebuild use case: replay the log into fresh tables and swap them in
(docs/architecture.md, "How projections checkpoint and rebuild")."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError
from cqrs_cli.projections.catalog import NAMES
from cqrs_cli.projections.runner import RebuildReport
from cqrs_cli.projections.runner import rebuild as rebuild_views
from cqrs_cli.store.files import open_store


class RebuildProgress(Protocol):
    """Told how far a rebuild got, e.g. to draw a bar."""

    def start(self, total: int) -> None: ...  # events to replay
    def advance(self, events: int) -> None: ...


def views_named(names: Sequence[str] | None) -> list[str]:
    """The views to rebuild: `names` (each once, checked), or every view for None."""
    if names is None:
        return list(NAMES)
    chosen = list(dict.fromkeys(names))
    unknown = [n for n in chosen if n not in NAMES]
    if unknown:
        raise CqrsError(
            f"unknown projection {unknown[0]!r}; known: {', '.join(NAMES)}", exit_code=EXIT_USAGE
        )
    return chosen


def rebuild(
    path: Path, names: Sequence[str] | None = None, *, progress: RebuildProgress | None = None
) -> RebuildReport:
    """Rebuild the views `names` (all for None) of the file at `path`, which must exist:
    readers see the old views until the new ones are complete."""
    chosen = views_named(names)
    with open_store(path, write=True, create=False) as store:
        if progress is None:
            return rebuild_views(store, chosen)
        progress.start(store.log.head())
        return rebuild_views(store, chosen, progress=progress.advance)
