"""Durations as people type them: `30s`, `5m`, `1h30m`, `1.5h`, `2d`."""

from __future__ import annotations

import re

from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError

UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
LONGEST = 365 * 86400.0  # a year: anything longer is a typo


def parse_duration(text: str, option: str) -> float:
    """Seconds in `text`, one or more number-and-unit parts; a usage error otherwise."""
    compact = text.strip().lower()
    parts = PART.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        raise CqrsError(
            f"{option}: not a duration: {text!r} (a number and a unit s, m, h or d: "
            "30s, 5m, 1h30m)",
            exit_code=EXIT_USAGE,
        )
    seconds = sum(float(n) * UNITS[u] for n, u in parts)
    if not 0 < seconds <= LONGEST:
        raise CqrsError(
            f"{option}: {text!r} is out of range (more than 0, at most a year)",
            exit_code=EXIT_USAGE,
        )
    return seconds
