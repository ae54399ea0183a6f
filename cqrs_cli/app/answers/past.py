"""Answers about the past (docs/past.md): `--as-of`, `cqrs history`, `cqrs changes`.

An answer as of a position is the current answer's own type; the JSON objects among them
(`whoami-can-see`, `metrics`) carry `"as_of": {"position", "recorded_at"}` last, so they
are the same classes with that one field added.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

from cqrs_cli.app.answers.metrics import Metrics
from cqrs_cli.app.answers.users import UserRef
from cqrs_cli.app.answers.visibility import CanSee, CanSeeExplained


@dataclass(frozen=True, slots=True)
class Moment:
    """A position of the log and when it was recorded: what an answer is as of."""

    position: int
    recorded_at: str | None

    def label(self) -> str:
        """`#P (recorded_at)`, for titles and notes."""
        return f"#{self.position}" + (f" ({self.recorded_at})" if self.recorded_at else "")


@dataclass(frozen=True, slots=True)
class CanSeeAsOf(CanSee):
    """`cqrs whoami-can-see --as-of WHEN --format json`."""

    as_of: Moment


@dataclass(frozen=True, slots=True)
class CanSeeExplainedAsOf(CanSeeExplained):
    """`cqrs whoami-can-see --explain --as-of WHEN --format json`."""

    as_of: Moment


@dataclass(frozen=True, slots=True)
class MetricsAsOf(Metrics):
    """`cqrs metrics --as-of WHEN --format json`."""

    as_of: Moment


class FieldChange(TypedDict):
    """A field before and after; a reference is `{"id", "name"}` (`{"id", "login",
    "name"}` for a person), named as it was then."""

    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class OpportunityRef:
    id: int
    name: str | None


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One event of an opportunity: `change` is created, updated or deleted; `fields`
    holds every field for `created`, the ones that changed for `updated`."""

    position: int
    recorded_at: str
    write_date: str | None
    change: str
    fields: dict[str, FieldChange]


@dataclass(frozen=True, slots=True)
class History:
    """`cqrs history --format json`: the timeline of one opportunity, oldest first."""

    opportunity: OpportunityRef
    entries: tuple[HistoryEntry, ...]


class Gained(TypedDict):
    """An opportunity the user came to see: why (`reason`, `via` for a subordinate's),
    and `new` when it was created in between."""

    id: int
    name: str | None
    reason: str
    via: NotRequired[str]
    new: NotRequired[bool]


@dataclass(frozen=True, slots=True)
class Lost:
    """An opportunity the user no longer sees, and why (`changes.WHYS`)."""

    id: int
    name: str | None
    why: str


@dataclass(frozen=True, slots=True)
class Changed:
    """An opportunity seen at both ends whose fields (as `view` shows them) moved."""

    id: int
    name: str | None
    fields: dict[str, FieldChange]


@dataclass(frozen=True, slots=True)
class Changes:
    """`cqrs changes --format json`: what changed in what `user` can see."""

    user: UserRef
    since: Moment
    until: Moment
    gained: tuple[Gained, ...]
    lost: tuple[Lost, ...]
    changed: tuple[Changed, ...]
