"""Rendering for the CLI: data to stdout as a rich table, JSON, CSV or a tabulate format.

Tables (rich and tabulate) show data through cqrs_cli.cli.terminal: literally, control
characters made visible. JSON and CSV carry the data exactly as it is.

JSON is written by orjson, indented by two spaces like `json.dumps(indent=2)`, from the
answers as they are (dataclasses, tuples, dicts). A list is written item by item in
chunks (`stream_json`), so a 100,000-item answer never exists whole as text, nor, when
the items come from an iterator, as objects.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import orjson

from cqrs_cli.cli.terminal import console, out, shown, text
from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError

BUILTIN_FORMATS = ("table", "json", "csv")
# tabulate formats that write cells unescaped into a markup language: data would be obeyed.
RAW_FORMATS = {"unsafehtml": "html", "latex_raw": "latex"}
# JSON escapes C0 itself; DEL and C1 are escaped too, so the JSON a terminal shows cannot
# drive it while a JSON reader still gets the exact strings back. In UTF-8, C1 is
# \xc2\x80-\xc2\x9f, and \xc2 starts a character, so the bytes are matched whole.
_JSON_UNSAFE = re.compile(b"\x7f|\xc2[\x80-\x9f]")
_JSON_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
_CHUNK = 256  # items per write


def check_format(fmt: str) -> str:
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
            f"unknown format {fmt!r}; use table, json, csv or a tabulate format "
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


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def emit_rows(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    fmt: str,
    *,
    title: str | None = None,
    json_value: Any = None,
    stderr: bool = False,
) -> None:
    """Print rows in `fmt`. JSON prints `json_value` when given (the pinned shape), else rows.

    `stderr` prints a table as a message (a sync's summary), on stderr."""
    fmt = check_format(fmt)
    if fmt == "json":
        emit_json(list(rows) if json_value is None else json_value)
    elif fmt == "csv":
        emit_csv(rows, columns)
    elif fmt == "table":
        from rich.table import Table

        table = Table(title=None if title is None else text(title, "table.title"))
        for column in columns:
            table.add_column(text(column), justify=_align(rows, column))
        for r in rows:
            table.add_row(*(text(_cell(r.get(c))) for c in columns))
        console(stderr=stderr).print(table)
    else:
        from tabulate import tabulate

        # No number parsing: it would rewrite text that looks like a number ("1e5", "007").
        out(
            tabulate(
                [[shown(_cell(r.get(c))) for c in columns] for r in rows],
                [shown(c) for c in columns],
                tablefmt=fmt,
                disable_numparse=True,
                colalign=[_align(rows, c) for c in columns],
            )
        )


def _align(rows: Sequence[dict[str, Any]], column: str) -> Literal["left", "right"]:
    """Numbers to the right, as a column of figures reads."""
    values = [r.get(column) for r in rows if r.get(column) is not None]
    numeric = values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    return "right" if numeric else "left"
