"""Upcasters turn an old payload into the current shape on read; stored rows never change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]


class Upcasters:
    """A registry of (event type, from schema version) -> function giving version + 1."""

    def __init__(self) -> None:
        self._fns: dict[tuple[str, int], Upcaster] = {}
        self._types: set[str] = set()

    def register(self, event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
        def decorator(fn: Upcaster) -> Upcaster:
            key = (event_type, from_version)
            if key in self._fns:
                raise ValueError(f"an upcaster for {event_type} v{from_version} already exists")
            self._fns[key] = fn
            self._types.add(event_type)
            return fn

        return decorator

    def upcast(self, event_type: str, version: int, data: Payload) -> tuple[int, Payload]:
        """Apply upcasters in a chain until none is registered for the current version."""
        if event_type not in self._types:
            return version, data
        while (fn := self._fns.get((event_type, version))) is not None:
            data = fn(data)
            version += 1
        return version, data


# The program's own upcasters register here (see the modules that define event payloads).
UPCASTERS = Upcasters()
