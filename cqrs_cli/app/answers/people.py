"""The synced users and the org chart (`cqrs users`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict


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
