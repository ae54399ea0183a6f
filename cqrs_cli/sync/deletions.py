"""The guard against mass deletions (docs/sync.md: Deletions).

A sync account that lost its rights, or a snapshot cut short, looks exactly like a source
whose records were deleted. So before writing anything the sync lists every model's ids
and compares them with the records alive in the file; when it would delete more than
`count` records AND more than `percent` % of a model's live records, it stops, unless the
caller allows it (`--allow-deletions`).
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass

from cqrs_cli.domain.errors import CqrsError
from cqrs_cli.sources.base import Source
from cqrs_cli.store.sync_state import alive_ids
from cqrs_cli.sync.scope import ORDER, referenced_partners, scope


@dataclass(frozen=True)
class DeletionLimit:
    count: int = 10
    percent: float = 20.0
    allowed: bool = False

    def exceeded(self, deleting: int, alive: int) -> bool:
        return not self.allowed and deleting > self.count and deleting * 100 > self.percent * alive


@dataclass(frozen=True)
class Deletion:
    """`count` of the `alive` records of `model` in the file would be deleted."""

    model: str
    count: int
    alive: int

    def __str__(self) -> str:
        # Floored: 99.6 % is not "all of them".
        share = math.floor(self.count * 100 / self.alive) if self.alive else 100
        return f"{self.count} of {self.alive} {self.model} records ({share} %)"


class MassDeletionError(CqrsError):
    def __init__(self, over: list[Deletion], limit: DeletionLimit, *, written: str = "") -> None:
        self.over, self.limit = over, limit
        what = " and ".join(str(d) for d in over)
        nothing = f"nothing of {written} was written" if written else "nothing was written"
        super().__init__(
            f"the sync would delete {what} in the file, more than {limit.count} records and "
            f"more than {limit.percent:g} % of a model: {nothing}. If they really are gone "
            "from the source, run it again with --allow-deletions; if not, check the sync "
            "account's access rights in Odoo, or the snapshot"
        )


@dataclass
class Listed:
    """The ids each model holds in the source, listed before anything was written (only for
    models with live records in the file: nothing else can be deleted)."""

    ids: dict[str, set[int]]
    partners_referenced: list[int]


def check_deletions(conn: sqlite3.Connection, source: Source, limit: DeletionLimit) -> Listed:
    """List the ids of every model the file holds; raise MassDeletionError, having written
    nothing, when a model would lose more than `limit` allows."""
    listed = Listed({}, referenced_partners(conn))
    over: list[Deletion] = []
    for kind in ORDER:
        model = kind.MODEL
        if not source.provides(model):
            continue
        alive = alive_ids(conn, model)
        if not alive:
            continue
        # Accounts: the scope of the opportunities stored now; the sync re-lists them if
        # the opportunities it reads point elsewhere.
        referenced = listed.partners_referenced if model == "res.partner" else None
        ids = set(source.search_ids(model, scope(model, referenced)))
        listed.ids[model] = ids
        gone = len(alive - ids)
        if limit.exceeded(gone, len(alive)):
            over.append(Deletion(model, gone, len(alive)))
    if over:
        raise MassDeletionError(over, limit)
    return listed
