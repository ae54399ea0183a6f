"""What counts as an Odoo record id, and what an odd one still names (docs/sync.md).

Odoo's ids are positive integers. A snapshot written by hand or a broken server can say
`"4"`, `4.0`, `true` or a number too large for SQLite instead: such a record is invalid
(reported, skipped). `"4"` and `4.0` still clearly name record 4, so record 4 is not taken
for deleted; `true` (which Python would take for 1), 0, negative or huge numbers name none.
"""

from __future__ import annotations

from typing import TypeGuard

MAX_ID = 2**63 - 1  # the largest SQLite INTEGER; Odoo's own ids stay far below it
_MAX_DIGITS = len(str(MAX_ID))


def is_id(value: object) -> TypeGuard[int]:
    """A valid Odoo id: an integer (not a boolean) from 1 to MAX_ID."""
    return type(value) is int and 0 < value <= MAX_ID


def denoted_id(value: object) -> int | None:
    """The id `value` names: itself when valid, the number of "4" or 4.0, else None."""
    if type(value) is int:
        number = value
    elif _names_a_number(value):
        number = int(value)  # type: ignore[call-overload]
    else:
        return None
    return number if 0 < number <= MAX_ID else None


def _names_a_number(value: object) -> bool:
    if type(value) is float:
        return value.is_integer()
    return type(value) is str and value.isascii() and value.isdigit() and len(value) <= _MAX_DIGITS


def odd_id_reason(value: object, *, missing: bool = False) -> str:
    """Why `value` is not an id, quoting it (shortened) so the record can be found."""
    if missing:
        return "the record has no id"
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    if type(value) is int:
        return f"id {shown} is out of range (1 to 2^63-1)"
    kinds = {bool: "a boolean", str: "text", float: "a decimal number", type(None): "null"}
    kind = kinds.get(type(value), type(value).__name__)
    return f"id {shown} is {kind}, not an integer"
