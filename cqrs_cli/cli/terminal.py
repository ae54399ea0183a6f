"""Text from data on a terminal: shown literally, never obeyed.

Names, logins, Odoo's messages and snapshot content can hold terminal control sequences
(ESC, CSI, OSC, C1) and rich markup (`[/]`, `[link=...]`, `:smile:`). Every human output
of the CLI goes through this module: `shown` turns each control character into the visible
text `\\xNN`, and the rich console and texts made here never read markup, emoji codes or
highlighting in what they print. Our own styling is applied as rich styles on `Text`,
never as markup strings, so data inside a styled message stays plain.
JSON and CSV output keep the data exactly (see output.py). docs/troubleshooting.md
describes the visible form.
"""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

# C0 but tab and newline, DEL, C1: ESC starts CSI and OSC sequences, \x9b is CSI alone.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# A message line on stderr must stay one line: data cannot add a forged `Error:` line.
_CONTROL_OR_NEWLINE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def shown(value: object, *, one_line: bool = False) -> str:
    """`value` as text a terminal prints and never obeys: each control character as `\\xNN`.

    With `one_line`, a newline is shown the same way, so the text stays on one line.
    """
    pattern = _CONTROL_OR_NEWLINE if one_line else _CONTROL
    return pattern.sub(_visible, str(value))


def text(value: object, style: str = "") -> Text:
    """A rich Text of `value` as `shown`, styled by us: markup in `value` stays literal."""
    from rich.text import Text

    return Text(shown(value), style=style)


def console(*, stderr: bool = False, width: int | None = None) -> Console:
    """A rich console that prints strings as they are: no markup, emoji codes or highlighting
    (`width`: this many cells, whatever the terminal's)."""
    from rich.console import Console

    return Console(stderr=stderr, markup=False, emoji=False, highlight=False, width=width)


def say(message: str) -> None:
    """One message line for the person at the terminal, on stderr, data made visible."""
    print(shown(message, one_line=True), file=sys.stderr)


def out(line: str) -> None:
    """One line of plain output on stdout, data made visible."""
    print(shown(line))
