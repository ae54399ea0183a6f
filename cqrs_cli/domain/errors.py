"""Errors the user is meant to read: one line, no traceback, a known exit code."""

from __future__ import annotations

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CHECK_FAILED = 3


class CqrsError(Exception):
    """An error with a one-line message for the user and the process exit code."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        return str(self.args[0])
