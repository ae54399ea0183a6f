"""A user's pipeline figures (`cqrs metrics`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

from cqrs_cli.app.answers.users import UserRef


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
