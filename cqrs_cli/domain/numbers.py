"""Whole numbers a person types (ids, positions, limits): ASCII digits within SQLite's range.

`str.isdigit` also accepts '²' or '٣', and SQLite refuses integers above 2**63 - 1, so
both are checked here once instead of failing deep inside a query.
"""

from __future__ import annotations

SQLITE_MAX = 2**63 - 1


def whole_number(text: str) -> int | None:
    """The number `text` spells in ASCII digits (no sign), or None when it spells none
    or one SQLite cannot hold."""
    digits = text.strip()
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    value = int(digits)
    return value if value <= SQLITE_MAX else None


def counted(count: int, noun: str) -> str:
    """`1 event`, `2 events`: the count and the noun agreeing, in every message."""
    return f"{count} {noun}{'' if count == 1 else 's'}"
