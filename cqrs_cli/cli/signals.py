"""SIGTERM and SIGINT as a request to stop, for a face running a long use case."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from cqrs_cli.app.sync_loop import Stop

SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def stop_on_signals(stop: Stop) -> Iterator[list[str]]:
    """Within the block, SIGTERM or SIGINT requests `stop`; the list yielded gets the
    signal's name. The first signal also puts the previous handlers back, so a second one
    acts as usual (Ctrl-C twice: KeyboardInterrupt; the transaction in progress, if any,
    rolls back whole)."""
    received: list[str] = []
    previous: dict[int, Any] = {}

    def restore() -> None:
        for number, handler in previous.items():
            signal.signal(number, handler)

    def handler(number: int, frame: FrameType | None) -> None:
        received.append(signal.Signals(number).name)
        stop.request()
        restore()

    for number in SIGNALS:
        # A signal ignored when we started (SIGINT in a shell's background job) stays so.
        if signal.getsignal(number) is not signal.SIG_IGN:
            previous[number] = signal.signal(number, handler)
    try:
        yield received
    finally:
        restore()
