"""The read side: projections that turn the event log into queryable views.

The package itself loads no projection: a query needs only the names and versions of the
views (`catalog.py`), their read API (`reads.py`) and where they stand (`readiness.py`);
`registry.py` has the classes that build them.
"""

from __future__ import annotations

from cqrs_cli.projections.catalog import NAMES

__all__ = ["NAMES"]
