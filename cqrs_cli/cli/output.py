"""Rendering for the CLI: data to stdout as a rich table, JSON, CSV or a tabulate format.

Tables (rich and tabulate) show data through cqrs_cli.cli.terminal: literally, control
characters made visible. JSON and CSV carry the data exactly as it is.

A rich table fits the terminal (docs/troubleshooting.md, "Reading the tables"): numbers
are right-aligned with thousands separators, and a number, an id, a date or a status
(`Col.keep`) is never cut or folded; the other text folds onto more lines, never ending
in an ellipsis; columns of a higher `rank` are shown only when the terminal has room.

JSON is written by orjson, indented by two spaces like `json.dumps(indent=2)`, from the
answers as they are (dataclasses, tuples, dicts). A list is written item by item in
chunks (`stream_json`), so a 100,000-item answer never exists whole as text, nor, when
the items come from an iterator, as objects.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from cqrs_cli.cli.terminal import console, out, shown, text
from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError

BUILTIN_FORMATS = ("table", "tsv", "json", "csv")
# TSV cells are one line each and hold no tab: a backslash, a tab, a newline and a
# carriage return are written as \\, \t, \n and \r, any other control character as \xNN
# (as a terminal shows it). docs/troubleshooting.md, "Output in a pipe".
_TSV_ESCAPES = str.maketrans(
    {
        **{c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7F, 0xA0)]},
        ord("\\"): "\\\\",
        ord("\t"): "\\t",
        ord("\n"): "\\n",
        ord("\r"): "\\r",
    }
)
# tabulate formats that write cells unescaped into a markup language: data would be obeyed.
RAW_FORMATS = {"unsafehtml": "html", "latex_raw": "latex"}
# JSON escapes C0 itself; DEL and C1 are escaped too, so the JSON a terminal shows cannot
# drive it while a JSON reader still gets the exact strings back. In UTF-8, C1 is
# \xc2\x80-\xc2\x9f, and \xc2 starts a character, so the bytes are matched whole.
_JSON_UNSAFE = re.compile(b"\x7f|\xc2[\x80-\x9f]")
_JSON_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
_CHUNK = 256  # items per write


def check_format(fmt: str | None) -> str:
    """`fmt`, checked; None (no --format given) is a table for a person at a terminal and
    TSV, which a script reads whole, when stdout is a pipe or a file."""
    if fmt is None:
        return "table" if sys.stdout.isatty() else "tsv"
    if fmt in BUILTIN_FORMATS:
        return fmt
    if fmt in RAW_FORMATS:
        raise CqrsError(
            f"format {fmt} would let the data write {RAW_FORMATS[fmt]} markup; "
            f"use {RAW_FORMATS[fmt]}, which escapes it",
            exit_code=EXIT_USAGE,
        )
    from tabulate import tabulate_formats

    if fmt not in tabulate_formats:
        raise CqrsError(
            f"unknown format {fmt!r}; use table, tsv, json, csv or a tabulate format "
            f"({', '.join(sorted(tabulate_formats)[:6])}, ...)",
            exit_code=EXIT_USAGE,
        )
    return fmt


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return str(value)


def plain(value: Any) -> Any:
    """An answer's JSON form as plain values (dicts, lists, ...): rows for a table."""
    return orjson.loads(orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS))


def json_bytes(value: Any) -> bytes:
    """`value` as indented JSON, terminal-safe (see _JSON_UNSAFE)."""
    try:
        encoded = orjson.dumps(value, default=str, option=_JSON_OPTIONS)
    except orjson.JSONEncodeError:
        # What orjson refuses and json takes: an integer beyond 64 bits, a lone surrogate.
        encoded = json.dumps(value, indent=2, ensure_ascii=False, default=_plain).encode(
            "utf-8", "backslashreplace"
        )
    return _JSON_UNSAFE.sub(lambda m: b"\\u%04x" % ord(m.group().decode()), encoded)


def _write(data: bytes) -> None:
    stdout = sys.stdout
    stdout.flush()
    stdout.buffer.write(data)


def emit_json(value: Any) -> None:
    _write(json_bytes(value) + b"\n")
    sys.stdout.flush()


def stream_json(items: Iterable[Any]) -> None:
    """A JSON array of `items`, written as they come: the same text as `emit_json` of the
    whole list."""
    chunk: list[bytes] = []
    first = True
    for item in items:
        # Each item indented one level deeper: JSON text holds no raw newline but these.
        chunk.append(b"  " + json_bytes(item).replace(b"\n", b"\n  "))
        if len(chunk) == _CHUNK:
            _write((b"[\n" if first else b",\n") + b",\n".join(chunk))
            first, chunk = False, []
    if chunk:
        _write((b"[\n" if first else b",\n") + b",\n".join(chunk))
        first = False
    _write(b"[]\n" if first else b"\n]\n")
    sys.stdout.flush()


def write_json(path: Path, value: Any) -> None:
    """`value` as JSON in a new or replaced file, whole or not at all."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CqrsError(f"cannot write {path}: {exc.strerror or exc}") from exc


def emit_csv(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> None:
    """CSV with a header line, written row by row."""
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([_cell(r.get(c)) for c in columns] for r in rows)


def emit_tsv(rows: Iterable[dict[str, Any]], columns: Sequence[str]) -> None:
    """Tab-separated values with a header line, written as the rows come: one line per
    row, each cell whole, escaped (see _TSV_ESCAPES), nothing else changed."""
    write = sys.stdout.write
    write("\t".join(c.translate(_TSV_ESCAPES) for c in columns) + "\n")
    lines: list[str] = []
    for row in rows:
        lines.append("\t".join(_tsv(row.get(c)) for c in columns))
        if len(lines) == 1000:
            write("\n".join(lines) + "\n")
            lines = []
    if lines:
        write("\n".join(lines) + "\n")
    sys.stdout.flush()


def _tsv(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.translate(_TSV_ESCAPES)
    if isinstance(value, int | float):
        return str(value)
    return _cell(value).translate(_TSV_ESCAPES)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


@dataclass(frozen=True, slots=True)
class Col:
    """A column of a table: `key` in each row, `header` as shown (the key with spaces by
    default). `keep`: never cut nor folded (ids, dates, statuses; numbers always are).
    `rank` 0: always shown; higher: shown when the terminal has room, the lowest first."""

    key: str
    header: str | None = None
    keep: bool = False
    rank: int = 0

    @property
    def title(self) -> str:
        return self.key.replace("_", " ") if self.header is None else self.header


Columns = Sequence["str | Col"]
TEXT_MIN = 10  # a column of text folds down to this many cells, never less
TEXT_ROOM = 30  # ...and a column of a higher rank is shown when the others get this many


def _cols(columns: Columns) -> list[Col]:
    return [c if isinstance(c, Col) else Col(c) for c in columns]


def emit_rows(
    rows: Sequence[dict[str, Any]],
    columns: Columns,
    fmt: str | None,
    *,
    title: str | None = None,
    json_value: Any = None,
    stderr: bool = False,
) -> None:
    """Print rows in `fmt`. JSON prints `json_value` when given (the pinned shape), else rows.

    `stderr` prints a table as a message (a sync's summary), on stderr."""
    fmt = check_format(fmt)
    cols = _cols(columns)
    if fmt == "json":
        emit_json(list(rows) if json_value is None else json_value)
    elif fmt == "csv":
        emit_csv(rows, [c.key for c in cols])
    elif fmt == "tsv":
        emit_tsv(rows, [c.key for c in cols])
    elif fmt == "table":
        _rich_table(rows, cols, title, stderr)
    else:
        from tabulate import tabulate

        numeric = [_numeric(rows, c.key) for c in cols]
        # No number parsing: it would rewrite text that looks like a number ("1e5", "007").
        out(
            tabulate(
                [[shown(_shown(r.get(c.key))) for c in cols] for r in rows],
                [shown(c.key) for c in cols],
                tablefmt=fmt,
                disable_numparse=True,
                colalign=["right" if n else "left" for n in numeric],
            )
        )


def _rich_table(
    rows: Sequence[dict[str, Any]], cols: list[Col], title: str | None, stderr: bool
) -> None:
    from rich.cells import cell_len
    from rich.table import Table

    screen = console(stderr=stderr)
    cells = [[shown(_shown(r.get(c.key))) for c in cols] for r in rows]
    numeric = [_numeric(rows, c.key) for c in cols]
    kept = [c.keep or n for c, n in zip(cols, numeric, strict=True)]

    def widest(texts: Iterable[str]) -> int:
        return max((cell_len(line) for t in texts for line in t.splitlines()), default=0)

    data = [widest(row[i] for row in cells) for i in range(len(cols))]
    # A header may wrap between its words, never inside one.
    word = [widest(c.title.split()) for c in cols]
    natural = [max(d, cell_len(c.title)) for d, c in zip(data, cols, strict=True)]
    # The width a column cannot do without, and the width it is given when deciding
    # whether a column of a higher rank has room.
    need = [
        max(d, w) if k else max(min(d, TEXT_MIN), w)
        for d, w, k in zip(data, word, kept, strict=True)
    ]
    room = [n if k else min(m, TEXT_ROOM) for n, m, k in zip(need, natural, kept, strict=True)]

    def width(chosen: list[int], sizes: list[int]) -> int:
        return sum(sizes[i] for i in chosen) + 3 * len(chosen) + 1  # borders and padding

    chosen = [i for i, c in enumerate(cols) if c.rank == 0]
    for i in sorted((i for i, c in enumerate(cols) if c.rank > 0), key=lambda i: cols[i].rank):
        if width([*chosen, i], room) <= screen.width:
            chosen.append(i)
    chosen.sort()
    # Too narrow for what cannot fold: text goes, last first; then the table is drawn as
    # wide as it must be, and the terminal wraps its lines, rather than cut a number.
    while width(chosen, need) > screen.width and any(not kept[i] for i in chosen):
        chosen.remove(max(i for i in chosen if not kept[i]))
    if width(chosen, need) > screen.width:
        screen = console(stderr=stderr, width=width(chosen, need))
    # A kept column's header on one line when nothing else then folds.
    spare = screen.width - width(chosen, [max(n, m) for n, m in zip(need, natural, strict=True)])
    for i in chosen:
        if kept[i] and 0 < natural[i] - need[i] <= spare:
            spare -= natural[i] - need[i]
            need[i] = natural[i]
    table = Table()
    if title is not None:
        # Above a table narrower than itself, the title is a line of its own: inside, rich
        # would wrap it to the table's width, inside words.
        if cell_len(title) > min(width(chosen, natural), screen.width):
            screen.print(text(title, "table.title"))
        else:
            table.title = text(title, "table.title")
    for i in chosen:
        if kept[i]:
            table.add_column(
                text(_header(cols[i], need[i])),
                justify="right" if numeric[i] else "left",
                width=need[i],
                no_wrap=True,
            )
        else:
            table.add_column(text(cols[i].title), min_width=need[i], overflow="fold")
    for row in cells:
        table.add_row(*(text(row[i]) for i in chosen))
    screen.print(table)


def _header(col: Col, width: int) -> str:
    """A kept column's header in `width` cells: its words on lines of their own if need be."""
    return col.title if len(col.title) <= width else "\n".join(col.title.split())


def _numeric(rows: Sequence[dict[str, Any]], column: str) -> bool:
    """Numbers to the right, as a column of figures reads."""
    values = [r.get(column) for r in rows if r.get(column) is not None]
    return bool(values) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    )


def shared_domain(logins: Iterable[str | None]) -> str | None:
    """The domain every one of these logins ends with (`demo.example`), if they all share
    one: a table then shows `zakariya` and says the domain once in its title, which keeps
    a login from breaking over two lines. None as soon as shortening would show two
    logins alike (`bob@x.example` and `bob@X.EXAMPLE`)."""
    domains: set[str] = set()
    seen: set[str] = set()
    locals_: set[str] = set()
    for login in logins:
        if login is None or login in seen:
            continue
        local, at, domain = login.rpartition("@")
        if not at or not local or local in locals_:
            return None
        seen.add(login)
        locals_.add(local)
        domains.add(domain.casefold())
        if len(domains) > 1:
            return None
    return next(iter(domains), None)


def short_login(login: str | None, domain: str | None) -> str | None:
    """`login` without the `@domain` that `shared_domain` found (as it is without one)."""
    return login if login is None or domain is None else login.rpartition("@")[0]


def _shown(value: Any) -> str:
    """A cell of a table for people: amounts with thousands separators and two decimals;
    whole numbers (ids, positions, counts) as they are; yes and no for true and false."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:,.2f}"
    return _cell(value)
