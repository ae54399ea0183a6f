"""Pipeline figures kept per owner as exact sums, so a team's figures add owners up.

Every figure is `math.fsum` of the values it covers: the exact sum, correctly rounded, the
same whatever the order or grouping (no figure is Odoo's rounded prorated revenue). An
owner's values are kept as their *exact parts*: a few floats whose exact sum is the exact
sum of the values. Parts of several owners put together are the exact parts of all their
values, so a manager's team figure is `fsum` over a few floats per owner instead of over
every opportunity below them, and adding or removing one opportunity only changes its
owner's parts. The figures come out bit for bit what `fsum` over the rows gives.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

Row = tuple[int, int | None, float, float]  # active, stage_id, expected_revenue, probability
Stages = dict[int, dict[str, Any]]  # stage id -> stage record (name, sequence, is_won)


def exact_parts(values: list[float]) -> list[float]:
    """A few floats whose exact sum is the exact sum of `values`.

    `fsum` returns the exact sum correctly rounded; what it leaves out is the exact sum of
    the values and the negated result, so repeating until that is zero peels the sum off
    53 bits at a time (two or three rounds in practice, all in C).
    """
    parts: list[float] = []
    rest = list(values)
    while (top := math.fsum(rest)) != 0.0:
        parts.append(top)
        rest.append(-top)
    return parts


@dataclass
class OwnerSums:
    """One owner's open and won opportunities, as counts and exact parts."""

    open: int = 0  # active_opportunities
    pipeline: list[float] = field(default_factory=list)  # revenue of open ones
    weighted: list[float] = field(default_factory=list)  # revenue x probability / 100
    won: list[float] = field(default_factory=list)
    stages: dict[int | None, tuple[int, list[float]]] = field(default_factory=dict)

    def empty(self) -> bool:
        return not self.open and not self.won and not self.stages

    def as_json(self) -> list[Any]:
        stages = sorted(self.stages.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
        return [self.open, self.pipeline, self.weighted, self.won, [[k, *v] for k, v in stages]]

    @classmethod
    def from_json(cls, value: list[Any]) -> OwnerSums:
        open_, pipeline, weighted, won, stages = value
        return cls(open_, pipeline, weighted, won, {k: (n, parts) for k, n, parts in stages})


class Tally:
    """Values to add to (or take from) owners' sums, put in by row, summed up at the end."""

    def __init__(self, stages: Stages) -> None:
        self.stages = stages
        self.open: dict[int, int] = {}
        self.pipeline: dict[int, list[float]] = {}
        self.weighted: dict[int, list[float]] = {}
        self.won: dict[int, list[float]] = {}
        self.per_stage: dict[int, dict[int | None, tuple[int, list[float]]]] = {}

    def add(self, owner: int, row: Row, sign: int = 1) -> None:
        """Count `row` for `owner` (`sign` -1: take it away again)."""
        active, stage_id, revenue, probability = row
        if not active:
            return  # lost: in no figure
        stage = self.stages.get(stage_id) if stage_id is not None else None
        key = stage_id if stage is not None else None
        value = revenue if sign > 0 else -revenue
        if stage is not None and stage.get("is_won"):
            self.won.setdefault(owner, []).append(value)
        else:
            self.open[owner] = self.open.get(owner, 0) + sign
            self.pipeline.setdefault(owner, []).append(value)
            self.weighted.setdefault(owner, []).append(value * probability / 100.0)
        by_key = self.per_stage.setdefault(owner, {})
        count, values = by_key.get(key, (0, []))
        values.append(value)
        by_key[key] = (count + sign, values)

    def owners(self) -> set[int]:
        return set(self.open) | set(self.pipeline) | set(self.won) | set(self.per_stage)

    def apply(self, owner: int, sums: OwnerSums | None = None) -> OwnerSums:
        """`sums` (nothing: empty) with this tally's values for `owner` added."""
        base = sums or OwnerSums()
        stages = dict(base.stages)
        for key, (count, values) in self.per_stage.get(owner, {}).items():
            had, parts = stages.get(key, (0, []))
            if had + count:
                stages[key] = (had + count, exact_parts(parts + values))
            else:
                stages.pop(key, None)  # its last one left: the stage leaves by_stage
        return OwnerSums(
            base.open + self.open.get(owner, 0),
            exact_parts(base.pipeline + self.pipeline.get(owner, [])),
            exact_parts(base.weighted + self.weighted.get(owner, [])),
            exact_parts(base.won + self.won.get(owner, [])),
            stages,
        )


def add_up(owners: Iterable[OwnerSums], stages: Stages) -> dict[str, Any]:
    """The figures over the opportunities of these owners together."""
    group = list(owners)
    keys = {k for s in group for k in s.stages}
    known = sorted(
        (k for k in keys if k is not None),
        key=lambda sid: (stages[sid].get("sequence") or 0, sid),
    )

    def stage(key: int | None) -> tuple[int, float]:
        found = [s.stages[key] for s in group if key in s.stages]
        return sum(n for n, _ in found), _sum(parts for _, parts in found)

    by_stage = []
    for sid in known:
        count, value = stage(sid)
        by_stage.append({"stage": stages[sid].get("name"), "count": count, "value": value})
    if None in keys:
        count, value = stage(None)
        by_stage.append({"stage": None, "count": count, "value": value})
    return {
        "pipeline_value": _sum(s.pipeline for s in group),
        "weighted_pipeline": _sum(s.weighted for s in group),
        "won_revenue": _sum(s.won for s in group),
        "active_opportunities": sum(s.open for s in group),
        "by_stage": by_stage,
    }


def _sum(parts: Iterable[list[float]]) -> float:
    return math.fsum(chain.from_iterable(parts)) + 0.0  # + 0.0: never -0.0


def figures(rows: Iterable[Row], stages: Stages) -> dict[str, Any]:
    """Figures over (active, stage_id, expected_revenue, probability) rows."""
    tally = Tally(stages)
    for row in rows:
        tally.add(0, row)
    return add_up([tally.apply(0)], stages)
