"""The views cqrs keeps: their names and code versions, known without loading their code.

A query checks where its views stand (`readiness.py`) before it reads them, and that
needs each view's version, not its handlers: this module lets the read path skip the
projections' code. Each projection class takes its version from here.

A view's version goes up when the rows it stores for the same events change; a file
built by another version is reported `rebuild_needed` and not served until
`cqrs rebuild`.
"""

from __future__ import annotations

VERSIONS: dict[str, int] = {
    # 2: only a user's own employee stands for them, Settings is no sales access.
    "user_profiles": 2,
    # 2: only a user's own employee stands for them (docs/access.md).
    "opportunity_view": 2,
    # 2: only a user's own employee stands for them, Settings is no sales access.
    # 3: rows kept exact by the writer (no dirty flag, no computed_at, no TTL).
    "user_access_matrix": 3,
    # 2: only a user's own employee stands for them (docs/access.md).
    # 3: rows kept exact by the writer (no dirty flag, no TTL), owners' exact sums.
    "dashboard_metrics": 3,
    # 1: one row per opportunity event (position, id, salesperson, company, present), the
    # temporal index of the past (docs/past.md).
    "opportunity_versions": 1,
}
NAMES: tuple[str, ...] = tuple(VERSIONS)
