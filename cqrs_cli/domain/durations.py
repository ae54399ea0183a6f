"""Durations as people type them: one or more parts of a number and a unit (s, m, h, d,
w): `30s`, `5m`, `36h`, `7d`, `2w`, `1h30m`, `1.5h`. One reading for every option that
takes one (`sync --every`, `tokens create --expires`, a WHEN like `7d`)."""

from __future__ import annotations

import re

UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
EXAMPLES = "30s, 5m, 36h, 7d, 2w, 1h30m"
# Nine digits at most: a number that long is already a typo, and stays a float exactly.
_PART = re.compile(r"(\d{1,9}(?:\.\d{1,9})?)([smhdw])")


def seconds_in(text: str) -> float | None:
    """The seconds `text` spells, or None when it spells no duration (spaces ignored)."""
    compact = "".join(text.split()).lower()
    parts = _PART.findall(compact)
    if not parts or "".join(n + u for n, u in parts) != compact:
        return None
    return sum(float(n) * UNITS[u] for n, u in parts)
