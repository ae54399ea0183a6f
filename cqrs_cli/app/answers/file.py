"""Where the file stands (`cqrs status`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ViewState:
    """Where a view stands against the log (`cqrs status`)."""

    name: str
    version: int
    position: int
    lag: int
    state: str  # current, behind, paused, rebuild_needed, beyond_head
    error: str | None


@dataclass(frozen=True, slots=True)
class LastSync:
    id: str
    source: str
    mode: str
    status: str  # running, succeeded, failed, interrupted
    started_at: str
    finished_at: str | None
    events: int
    error: str | None
    head_position: int | None


@dataclass(frozen=True, slots=True)
class HeldLock:
    """A lock on the file another process holds, as it recorded itself."""

    name: str
    pid: int | None
    host: str | None
    command: str | None
    since: str | None
    scratch: str | None  # a rebuild's scratch tables (their suffix)

    def describe(self) -> str:
        from cqrs_cli.store.locks import Holder

        return Holder(self.pid, self.host, self.command, self.since).describe()


@dataclass(frozen=True, slots=True)
class Status:
    """`cqrs status --format json`."""

    head: int
    projections: tuple[ViewState, ...]
    last_sync: LastSync | None
    orphans: tuple[str, ...]  # scratch tables a killed rebuild left (dropped at the next write)
    locks: tuple[HeldLock, ...]
    problems: tuple[str, ...]  # signs that the log lost or changed events


@dataclass(frozen=True, slots=True)
class Freshness:
    """Where answers stand: the views' position, the log's head, the last sync run."""

    position: int
    head: int
    last_sync_status: str | None
    last_sync_at: str | None  # when it finished (or started, while it runs)
