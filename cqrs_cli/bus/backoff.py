"""Exponential backoff with jitter between the attempts at one event.

The nominal delay doubles from `base` up to `cap`; the delay used is drawn between half
the nominal one and all of it, so subscribers failing together do not retry in step,
and each delay is at least the largest the previous one could have been.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    base: float = 0.5
    factor: float = 2.0
    cap: float = 30.0

    def nominal(self, failures: int) -> float:
        """The upper bound of the delay after `failures` (>= 1) failed attempts."""
        return float(min(self.cap, self.base * self.factor ** max(0, failures - 1)))

    def delay(
        self, failures: int, rng: Callable[[], float], retry_after: float | None = None
    ) -> float:
        """The wait after `failures` failed attempts; `rng` gives a float in [0, 1).

        A receiver's Retry-After is honoured up to `cap`."""
        nominal = self.nominal(failures)
        wait = nominal / 2 + rng() * nominal / 2
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.cap))
        return wait
