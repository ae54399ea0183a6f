"""Options that take a whole number, refused in one line when they do not hold one."""

from __future__ import annotations

from collections.abc import Callable

from cqrs_cli.errors import EXIT_USAGE, CqrsError
from cqrs_cli.numbers import SQLITE_MAX, whole_number


def number_option(option: str, minimum: int) -> Callable[[str | int | None], int | None]:
    """A typer `parser` for `option`: a whole number from `minimum` to SQLite's maximum.

    Typer's own int parsing answers bad input with a boxed usage message, and lets
    integers through that SQLite cannot hold; this gives the usual one `Error:` line.
    """

    def parse(value: str | int | None) -> int | None:
        if value is None or isinstance(value, int):
            return value  # the option's default, not typed by anyone
        number = whole_number(value)
        if number is None or number < minimum:
            raise CqrsError(
                f"{option} must be a whole number from {minimum} to {SQLITE_MAX}, got {value!r}",
                exit_code=EXIT_USAGE,
            )
        return number

    return parse
