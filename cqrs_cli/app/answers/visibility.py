"""What a user can see, as ids (`cqrs whoami-can-see`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NotRequired, TypedDict

from cqrs_cli.app.answers.users import UserRef


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
