"""What a user can see: the opportunities, with why (`cqrs view`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from cqrs_cli.app.answers.users import UserRef
from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError

STATUSES = ("open", "won", "lost")


# The row types of a large answer are plain (not frozen) slotted dataclasses: a frozen
# one sets each field through object.__setattr__: building the 2,374 items of the
# benchmark manager's view took 9.6 ms frozen, 3.1 ms plain. Nothing mutates them.
@dataclass(slots=True)
class Person:
    """A salesperson or a manager on an opportunity (a user the sync may not have read)."""

    id: int
    login: str | None
    name: str | None


@dataclass(slots=True)
class Account:
    id: int
    name: str | None


@dataclass(slots=True)
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


class OpportunityStream(NamedTuple):
    """What a user can see, one item at a time, read inside the question's transaction:
    iterate `items` before leaving the `with` block that gave it. Not an answer to print
    whole (its items come one by one), so a plain tuple."""

    user: UserRef
    items: Iterator[Opportunity]
