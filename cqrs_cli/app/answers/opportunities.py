"""What a user can see: the opportunities, with why (`cqrs view`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

from cqrs_cli.app.answers.users import UserRef, Who
from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError

STATUSES = ("open", "won", "lost")
# What `sort` takes: FIELD or FIELD:desc. Ties, and no `sort`, go by id.
SORT_FIELDS = ("revenue", "probability", "stage", "name", "id")


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
    via: str | None  # the owner's login when `reason` is subordinate, else None


@dataclass(frozen=True, slots=True)
class OpportunityFilter:
    """Which of the visible opportunities a question wants, in which order, which page.

    Checked when made, but for what only the file knows (stage and team names, the
    salesperson), which the question checks: each unknown value is a usage error that
    lists the valid ones.
    """

    status: str | None = None  # open, won or lost
    stage: str | None = None  # a stage name (any case) or id
    search: str | None = None  # in the name or the account's name, any case
    salesperson: Who | None = None  # a user, named as `--as` names one
    team: str | None = None  # a sales team's name (any case) or id
    sort: str | None = None  # FIELD or FIELD:desc, FIELD one of SORT_FIELDS
    limit: int | None = None  # at most this many items (after `offset`)
    offset: int = 0  # skip this many first

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in STATUSES:
            raise CqrsError(
                f"--status must be one of {', '.join(STATUSES)}, got {self.status!r}",
                exit_code=EXIT_USAGE,
            )
        self.order()
        for name, value in (("--limit", self.limit), ("--offset", self.offset)):
            if value is not None and value < 0:
                raise CqrsError(f"{name} must be 0 or more, got {value}", exit_code=EXIT_USAGE)

    def order(self) -> tuple[str, bool]:
        """The sort field and whether it goes from the largest down."""
        if self.sort is None:
            return "id", False
        field, sep, way = self.sort.strip().lower().partition(":")
        if field not in SORT_FIELDS or (sep and way not in ("asc", "desc")):
            raise CqrsError(
                f"--sort must be FIELD or FIELD:desc with FIELD one of "
                f"{', '.join(SORT_FIELDS)}, got {self.sort!r}",
                exit_code=EXIT_USAGE,
            )
        return field, way == "desc"

    @property
    def paged(self) -> bool:
        return self.limit is not None or self.offset > 0


@dataclass(frozen=True, slots=True)
class Opportunities:
    """What a user can see, whole: `items` is the JSON of `cqrs view`; `total` counts the
    items the filters keep before `limit` and `offset` cut a page out of them."""

    user: UserRef
    items: tuple[Opportunity, ...]
    total: int


class OpportunityStream(NamedTuple):
    """What a user can see, one item at a time, read inside the question's transaction:
    iterate `items` before leaving the `with` block that gave it. Not an answer to print
    whole (its items come one by one), so a plain tuple."""

    user: UserRef
    items: Iterator[Opportunity]
