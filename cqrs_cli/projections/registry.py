"""The projections' classes, by name: what builds and rebuilds the views."""

from __future__ import annotations

from cqrs_cli.projections.access_matrix import AccessMatrix
from cqrs_cli.projections.base import Projection
from cqrs_cli.projections.metrics import DashboardMetrics
from cqrs_cli.projections.opportunity_versions import OpportunityVersions
from cqrs_cli.projections.opportunity_view import OpportunityView
from cqrs_cli.projections.user_profiles import UserProfiles

# In the order of catalog.NAMES.
PROJECTION_TYPES: tuple[type[Projection], ...] = (
    UserProfiles,
    OpportunityView,
    AccessMatrix,
    DashboardMetrics,
    OpportunityVersions,
)


def make(name: str, *, suffix: str = "") -> Projection:
    for kind in PROJECTION_TYPES:
        if kind.name == name:
            return kind(suffix=suffix)
    raise KeyError(name)
