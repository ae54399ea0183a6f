"""Where each view stands against the log: current, behind, paused, rebuild needed.

Only the checkpoints and the log's head are read, and the views' versions come from
`catalog.py`: a query checks its views without loading the projections' code.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from cqrs_cli.domain.errors import CqrsError
from cqrs_cli.projections.catalog import NAMES, VERSIONS
from cqrs_cli.store.checkpoints import Checkpoint, load_checkpoint
from cqrs_cli.store.files import Store

CURRENT, BEHIND, PAUSED, REBUILD_NEEDED = "current", "behind", "paused", "rebuild_needed"
# The checkpoint is past the newest event: the log lost events the view still shows.
BEYOND_HEAD = "beyond_head"


@dataclass
class ProjectionStatus:
    name: str
    version: int
    position: int
    lag: int
    state: str
    error: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "position": self.position,
            "lag": self.lag,
            "state": self.state,
            "error": self.error,
        }


class ProjectionNotReady(CqrsError):
    """A query needs a view that is paused or needs a rebuild."""


def state_of(cp: Checkpoint, version: int, head: int) -> str:
    if cp.position > head:
        return BEYOND_HEAD
    if cp.version is not None and cp.version != version:
        return REBUILD_NEEDED
    if cp.status == "paused":
        return PAUSED
    return CURRENT if cp.position >= head else BEHIND


def status(store: Store, names: Sequence[str] = NAMES) -> tuple[int, list[ProjectionStatus]]:
    """The head of the log and where each view of `names` stands (read-only)."""
    head = store.log.head()
    out = []
    for name in names:
        version = VERSIONS[name]
        cp = load_checkpoint(store.conn, name)
        error = cp.error
        if cp.version is not None and cp.version != version:
            error = f"stored view is version {cp.version}, this cqrs builds version {version}"
        if cp.position > head:
            error = (
                f"checkpoint at position {cp.position} is beyond the head {head} of the log: "
                "events were removed (see `cqrs verify`)"
            )
        out.append(
            ProjectionStatus(
                name,
                version,
                cp.position,
                max(head - cp.position, 0),
                state_of(cp, version, head),
                error,
            )
        )
    return head, out


def require_ready(statuses: Iterable[ProjectionStatus]) -> None:
    """Raise when a view is paused, needs a rebuild or shows events the log lost."""
    for st in statuses:
        if st.state == BEYOND_HEAD:
            raise ProjectionNotReady(
                f"view {st.name} shows events the log no longer holds: its checkpoint is "
                f"beyond the head of the log; restore a backup, or run `cqrs rebuild --all` "
                "to show only what the log still holds (`cqrs verify` says more)"
            )
        if st.state in (PAUSED, REBUILD_NEEDED):
            what = "is paused" if st.state == PAUSED else "needs a rebuild"
            raise ProjectionNotReady(
                f"view {st.name} {what} ({st.error}); run `cqrs rebuild --projection {st.name}`"
            )


def require_current(store: Store, names: Iterable[str]) -> None:
    """Raise when a view a query needs is paused or needs a rebuild.

    Call it right after `catch_up`: a view found behind here only means a writer appended
    since, and the answer is as of the head the catch-up saw.
    """
    require_ready(status(store, list(names))[1])
