"""`--every DURATION`: a duration (domain/durations.py) within a year."""

from __future__ import annotations

from cqrs_cli.domain.durations import EXAMPLES, seconds_in
from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError

LONGEST = 365 * 86400.0  # a year: anything longer is a typo


def parse_duration(text: str, option: str) -> float:
    """Seconds in `text`; a usage error when it is no duration or out of range."""
    seconds = seconds_in(text)
    if seconds is None:
        raise CqrsError(
            f"{option}: not a duration: {text!r} (a number and a unit s, m, h, d or w: {EXAMPLES})",
            exit_code=EXIT_USAGE,
        )
    if not 0 < seconds <= LONGEST:
        raise CqrsError(
            f"{option}: {text!r} is out of range (more than 0, at most a year)",
            exit_code=EXIT_USAGE,
        )
    return seconds
