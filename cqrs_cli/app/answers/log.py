"""The events of the log (`cqrs events`)."""

from __future__ import annotations

from dataclasses import dataclass

from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError


# Not frozen: a frozen dataclass is three times slower to build, and `events` builds
# one per event of the log (see answers/opportunities.py). Nothing mutates it.
@dataclass(slots=True)
class Event:
    """An event of the log: an item of `cqrs events --format json`."""

    position: int
    event_id: str
    stream_type: str
    stream_id: str
    version: int
    type: str
    schema_version: int
    data: dict[str, object]
    metadata: dict[str, object]
    recorded_at: str


@dataclass(frozen=True, slots=True)
class EventQuery:
    """Which events: one stream (`MODEL:ID`), some types, after a position, at most
    `limit`, oldest or newest first. Checked when made."""

    stream: str | None = None
    types: tuple[str, ...] = ()
    after: int = 0
    limit: int | None = None
    newest: bool = False

    def __post_init__(self) -> None:
        if self.stream is not None:
            kind, sep, number = self.stream.rpartition(":")
            if not sep or not kind or not number:
                raise CqrsError(
                    f"--stream must be MODEL:ID, got {self.stream!r}", exit_code=EXIT_USAGE
                )
