"""The read model's answers: typed values whose JSON form is the pinned JSON of the commands.

Frozen dataclasses with slots (and TypedDicts where the pinned JSON leaves a key out, or
where the value is a view's stored JSON): orjson writes them as they are, field by field
in the order declared here, and an HTTP face can declare them as its response models.
A sequence is a tuple (a JSON array). Changing a field's name or order changes a pinned
shape: tests/test_read_cli.py and the other CLI tests hold them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NotRequired, TypedDict

from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError

# Who a question is about: what `--as` takes (an Odoo id, a login or a name, by the
# rules of docs/access.md, "Naming the user"), or an Odoo user id as a number.
Who = str | int

STATUSES = ("open", "won", "lost")


@dataclass(frozen=True, slots=True)
class UserRef:
    """A synced user, as the answers name the one they are about."""

    id: int
    login: str
    name: str | None


@dataclass(frozen=True, slots=True)
class Person:
    """A salesperson or a manager on an opportunity (a user the sync may not have read)."""

    id: int
    login: str | None
    name: str | None


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    name: str | None


@dataclass(frozen=True, slots=True)
class Opportunity:
    """One opportunity a user can see: an item of `cqrs view --format json`."""

    id: int
    name: str | None
    status: str
    stage: str | None
    expected_revenue: float | None
    probability: float | None
    salesperson: Person | None
    manager: Person | None
    account: Account | None
    reason: str


@dataclass(frozen=True, slots=True)
class OpportunityFilter:
    """Which of the visible opportunities a question wants; checked when made."""

    status: str | None = None  # open, won or lost
    stage: str | None = None  # a stage name (any case) or id

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in STATUSES:
            raise CqrsError(
                f"--status must be one of {', '.join(STATUSES)}, got {self.status!r}",
                exit_code=EXIT_USAGE,
            )


@dataclass(frozen=True, slots=True)
class Opportunities:
    """What a user can see, whole: `items` is the JSON of `cqrs view`."""

    user: UserRef
    items: tuple[Opportunity, ...]


@dataclass(frozen=True, slots=True)
class OpportunityStream:
    """What a user can see, one item at a time, read inside the question's transaction:
    iterate `items` before leaving the `with` block that gave it."""

    user: UserRef
    items: Iterator[Opportunity]


class Reason(TypedDict):
    reason: str
    via: NotRequired[str]  # the owner's login, for `subordinate`


@dataclass(frozen=True, slots=True)
class CanSee:
    """`cqrs whoami-can-see --format json`."""

    user: UserRef
    opportunities: tuple[int, ...]
    accounts: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CanSeeExplained(CanSee):
    """`cqrs whoami-can-see --explain --format json`: why, by opportunity id (as text)."""

    reasons: dict[str, Reason]


class StageFigures(TypedDict):
    stage: str | None
    count: int
    value: float


class Figures(TypedDict):
    """A user's figures as the metrics view stores them (docs/architecture.md)."""

    pipeline_value: float
    weighted_pipeline: float
    won_revenue: float
    active_opportunities: int
    by_stage: list[StageFigures]


@dataclass(frozen=True, slots=True)
class Metrics:
    """`cqrs metrics --format json`: `team` is None for a user with nobody below them."""

    user: UserRef
    own: Figures | None
    team: Figures | None


class Team(TypedDict):
    id: int
    name: str | None


@dataclass(frozen=True, slots=True)
class Profile:
    """One synced user (archived ones too): an item of `cqrs users --format json`."""

    id: int
    login: str
    name: str | None
    active: bool
    employee_id: int | None
    manager_id: int | None
    subordinates: tuple[int, ...]
    all_subordinates: tuple[int, ...]
    teams: tuple[Team, ...]
    access: str


@dataclass(frozen=True, slots=True)
class Profiles:
    """Every synced user, by id; `looping` names those whose manager chain loops (it is
    cut where it comes back, docs/access.md)."""

    items: tuple[Profile, ...]
    looping: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OrgNode:
    """A user in the org chart, with the people who report to them."""

    id: int
    login: str
    name: str | None
    access: str
    active: bool
    children: tuple[OrgNode, ...]


@dataclass(frozen=True, slots=True)
class OrgChart:
    """The org chart: people with no manager (or one outside the chart) at the top; each
    person once, so a looping chain is drawn where it is first reached."""

    roots: tuple[OrgNode, ...]


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
