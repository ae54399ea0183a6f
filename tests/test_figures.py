"""Owners' exact sums add up to the figures `math.fsum` gives over all the rows, whatever the
split among owners and whatever was added and taken away on the way."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from cqrs_cli.projections.figures import Row, Tally, add_up, exact_parts, figures

STAGES: dict[int, dict[str, Any]] = {
    1: {"name": "New", "sequence": 2, "is_won": False},
    2: {"name": "Won", "sequence": 1, "is_won": True},
}
money = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False) | st.sampled_from(
    [0.1, 0.2, 1e-300, 5e-324, 1e12, -1e12, 12345.67]
)
rows = st.lists(
    st.tuples(
        st.integers(0, 4),  # owner
        st.tuples(
            st.sampled_from([0, 1, 1]),  # active
            st.sampled_from([None, 1, 2, 3]),  # 3: a stage nobody knows
            money,
            st.sampled_from([0.0, 10.0, 33.3, 100.0]),
        ),
    ),
    max_size=40,
)


def reference(found: list[Row]) -> dict[str, Any]:
    """The figures the plain way, one fsum over every value (docs/access.md, Metrics)."""
    open_ = [r for r in found if r[0] and not (r[1] in STAGES and STAGES[r[1]]["is_won"])]
    won = [r for r in found if r[0] and r[1] in STAGES and STAGES[r[1]]["is_won"]]
    return {
        "pipeline_value": math.fsum(r[2] for r in open_),
        "weighted_pipeline": math.fsum(r[2] * r[3] / 100.0 for r in open_),
        "won_revenue": math.fsum(r[2] for r in won),
        "active_opportunities": len(open_),
    }


@settings(max_examples=300, deadline=None)
@given(st.lists(money, max_size=50))
def test_exact_parts_sum_to_the_same_fsum(values: list[float]) -> None:
    parts = exact_parts(values)
    assert math.fsum(parts) == math.fsum(values)
    assert all(p != 0.0 for p in parts)
    assert math.fsum(exact_parts(parts + [-v for v in values[:1]])) == math.fsum(values[1:])


@settings(max_examples=300, deadline=None)
@given(rows, rows)
def test_owners_sums_add_up_to_the_figures_of_all_rows(
    kept: list[tuple[int, Row]], passing: list[tuple[int, Row]]
) -> None:
    tally = Tally(STAGES)
    for owner, row in kept + passing:
        tally.add(owner, row)
    sums = {o: tally.apply(o) for o in tally.owners()}
    # Take the passing ones away again, in another tally, as a later batch would.
    later = Tally(STAGES)
    for owner, row in passing:
        later.add(owner, row, -1)
    sums = {o: later.apply(o, sums.get(o)) for o in set(sums) | later.owners()}
    all_rows = [row for _, row in kept]
    whole = figures(all_rows, STAGES)
    assert add_up(sums.values(), STAGES) == whole
    expected = reference(all_rows)
    assert {k: whole[k] for k in expected} == {k: v + 0.0 for k, v in expected.items()}
    names = [s["stage"] for s in whole["by_stage"]]
    assert names == sorted(names, key=lambda n: (n is None, {"Won": 1, "New": 2}.get(n, 0)))
    assert sum(s["count"] for s in whole["by_stage"]) == sum(1 for r in all_rows if r[0])
