"""WHEN, the moment a question about the past is asked at (docs/past.md).

A WHEN is a log position (`#1234`), an ISO date (`2026-01-15`, its midnight) or date-time
(`2026-01-15T09:30`), in UTC unless it carries an offset (`+02:00`, `Z`), or a time
before now (`90m`, `36h`, `7d`, `2w`). Its meaning, pinned: the answer cqrs would have
given right after the last event recorded at or before WHEN. That is transaction time,
the log's `recorded_at` (what the file knew then), not Odoo's `write_date` (when the
record changed in Odoo): a position P gives exactly the views rebuilt from events 1..P.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cqrs_cli.app.answers.past import Moment
from cqrs_cli.domain.durations import seconds_in
from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError
from cqrs_cli.domain.numbers import whole_number
from cqrs_cli.store.log import EventLog


@dataclass(frozen=True)
class AsOf:
    """The position an answer is as of, when it was recorded, and whether it is the head
    of the log (the current answer)."""

    position: int
    recorded_at: str | None
    current: bool

    def moment(self) -> Moment:
        """The `as_of` of an answer."""
        return Moment(self.position, self.recorded_at)

    def label(self) -> str:
        """`#P (recorded_at)` for titles and notes."""
        return self.moment().label()


def parse_when(
    text: str, *, now: datetime | None = None, option: str = "--as-of"
) -> int | datetime:
    """A position (int) or an aware UTC datetime; a usage error for anything else."""
    raw = text.strip()
    if raw.startswith("#"):
        position = whole_number(raw[1:])
        if position is None:
            raise CqrsError(
                f"{option} {text!r}: a position is # and a whole number (#1234)",
                exit_code=EXIT_USAGE,
            )
        return position
    seconds = seconds_in(raw)
    if seconds is not None:
        try:
            return (now or datetime.now(UTC)) - timedelta(seconds=seconds)
        except OverflowError:
            raise CqrsError(f"{option} {text!r} is too far back", exit_code=EXIT_USAGE) from None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise CqrsError(
            f"{option} {text!r} is not a WHEN: give a position (#1234), an ISO date or"
            " date-time (2026-01-15, 2026-01-15T09:30+02:00) or a time before now (7d, 36h)",
            exit_code=EXIT_USAGE,
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def resolve(
    log: EventLog,
    text: str,
    *,
    now: datetime | None = None,
    option: str = "--as-of",
    head: int | None = None,
) -> AsOf:
    """The position WHEN stands for. Before the first event there is no answer (an
    error); at or after the head (`head`, default the log's), it is the current answer."""
    wanted = parse_when(text, now=now, option=option)
    head = log.head() if head is None else head
    position = min(wanted if isinstance(wanted, int) else log.position_at(wanted), head)
    if position < 1:
        first = log.recorded_at(1)
        if first is None:
            raise CqrsError(f"{option} {text}: the log holds no events yet; run a sync first")
        raise CqrsError(
            f"{option} {text} is before the first event (#1, recorded at {first}): the file"
            " knew nothing then"
        )
    return AsOf(position, log.recorded_at(position), position == head)
