"""The read side: projections that turn the event log into queryable views."""

from __future__ import annotations

from cqrs_cli.projections.access_matrix import AccessMatrix
from cqrs_cli.projections.base import Projection
from cqrs_cli.projections.metrics import DashboardMetrics
from cqrs_cli.projections.opportunity_versions import OpportunityVersions
from cqrs_cli.projections.opportunity_view import OpportunityView
from cqrs_cli.projections.user_profiles import UserProfiles

PROJECTION_TYPES: tuple[type[Projection], ...] = (
    UserProfiles,
    OpportunityView,
    AccessMatrix,
    DashboardMetrics,
    OpportunityVersions,
)
NAMES: tuple[str, ...] = tuple(p.name for p in PROJECTION_TYPES)


def make(name: str, *, suffix: str = "") -> Projection:
    for kind in PROJECTION_TYPES:
        if kind.name == name:
            return kind(suffix=suffix)
    raise KeyError(name)
