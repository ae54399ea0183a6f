"""What `cqrs status` reports: the views, the last sync run, and what is amiss in the file.

Read-only and cheap (no replay, no integrity check): `cqrs verify` does the thorough job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cqrs_cli.projections.runner import (
    REBUILD_LOCK,
    ProjectionStatus,
    orphan_tables,
    status,
)
from cqrs_cli.store.files import Store
from cqrs_cli.store.health import cut_log
from cqrs_cli.store.locks import Holder, holder
from cqrs_cli.store.sync_state import SyncRun, last_run

LOCKS = (REBUILD_LOCK,)


@dataclass
class Overview:
    head: int
    projections: list[ProjectionStatus]
    last_sync: SyncRun | None
    orphans: list[str]  # scratch tables a killed rebuild left (dropped at the next write)
    locks: dict[str, Holder]  # lock name -> who holds it now
    problems: list[str]  # signs that the log lost or changed events

    def as_json(self) -> dict[str, Any]:
        return {
            "head": self.head,
            "projections": [p.as_json() for p in self.projections],
            "last_sync": self.last_sync.as_json() if self.last_sync else None,
            "orphans": self.orphans,
            "locks": [{"name": name, **h.as_json()} for name, h in self.locks.items()],
            "problems": self.problems,
        }


def overview(store: Store) -> Overview:
    head, projections = status(store)
    locks = {name: h for name in LOCKS if (h := holder(store.path, name)) is not None}
    return Overview(
        head,
        projections,
        last_run(store.conn),
        orphan_tables(store),
        locks,
        cut_log(store.conn),
    )
