"""One reading of a typed duration for every option that takes one (domain/durations.py):
`sync --every`, `tokens create --expires` and a WHEN before now (`--as-of 7d`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cqrs_cli.app.tokens import parse_duration as expiry
from cqrs_cli.app.when import parse_when
from cqrs_cli.cli.durations import parse_duration as every
from cqrs_cli.domain.durations import seconds_in
from cqrs_cli.domain.errors import CqrsError


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("36h", 129_600),
        ("7d", 604_800),
        ("2w", 1_209_600),
        ("1h30m", 5_400),
        ("1.5h", 5_400),
        (" 7 D ", 604_800),
    ],
)
def test_a_duration_reads_the_same_everywhere(text: str, seconds: float) -> None:
    assert seconds_in(text) == seconds
    now = datetime(2026, 12, 1, tzinfo=UTC)
    assert parse_when(text, now=now) == now - timedelta(seconds=seconds)
    assert expiry(text) == timedelta(seconds=seconds)
    assert every(text, "--every") == seconds


@pytest.mark.parametrize("text", ["", "5", "1x", "3y", "h", "1.h", "-5m", "1e3s", "5m!"])
def test_what_is_no_duration(text: str) -> None:
    assert seconds_in(text) is None
    with pytest.raises(CqrsError):
        every(text, "--every")
    with pytest.raises(CqrsError):
        expiry(text)


def test_each_option_keeps_its_own_range() -> None:
    assert expiry("never") is None
    with pytest.raises(CqrsError, match="at most ten years"):
        expiry("999999999w")  # no overflow: a usage error
    with pytest.raises(CqrsError, match="at most a year"):
        every("400d", "--every")
    with pytest.raises(CqrsError, match="too far back"):
        parse_when("999999999w")
