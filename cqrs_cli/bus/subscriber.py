"""What a subscriber that runs after the commit is: a name, the events it wants, and a
delivery that says whether the event got through.

The delivery loop (`delivery.py`) owns everything else: the checkpoint, the order, the
retries and the dead letters. A webhook is one such subscriber (`webhooks/`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from cqrs_cli.store.log import RecordedEvent


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt came to."""

    ok: bool
    error: str = ""
    retryable: bool = True  # False: trying again cannot help (a 410): dead letter at once
    retry_after: float | None = None  # seconds the receiver asked us to wait
    cut_short: bool = False  # stopped by the run's time budget, not by the receiver


DELIVERED = Outcome(True)


def retry(error: str, *, retry_after: float | None = None) -> Outcome:
    return Outcome(False, error, retry_after=retry_after)


def reject(error: str) -> Outcome:
    return Outcome(False, error, retryable=False)


def cut_short(error: str) -> Outcome:
    return Outcome(False, error, cut_short=True)


class Subscriber(Protocol):
    """A reader of the log with its own checkpoint, delivered to after the commit."""

    @property
    def name(self) -> str:
        """Unique: its checkpoint and its dead letters are filed under it."""
        ...

    @property
    def types(self) -> frozenset[str] | None:
        """The event types it wants (None: all); the loop reads only those from the log."""
        ...

    @property
    def max_attempts(self) -> int:
        """Failed attempts at one event before it becomes a dead letter."""
        ...

    def wants(self, event: RecordedEvent) -> bool:
        """A finer filter over `types` (say, what one user may see); False skips the event."""
        ...

    def deliver(self, event: RecordedEvent, time_left: float) -> Outcome:
        """One attempt, over within `time_left` seconds (what the run's budget leaves);
        never raises for a failure of the receiver."""
        ...
