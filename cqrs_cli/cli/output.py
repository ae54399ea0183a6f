"""Rendering for the CLI: data to stdout as a rich table, JSON, CSV or a tabulate format.

Tables (rich and tabulate) show data through cqrs_cli.cli.terminal: literally, control
characters made visible. JSON and CSV carry the data exactly as it is.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from cqrs_cli.cli.terminal import console, out, shown, text
from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError

BUILTIN_FORMATS = ("table", "json", "csv")
# tabulate formats that write cells unescaped into a markup language: data would be obeyed.
RAW_FORMATS = {"unsafehtml": "html", "latex_raw": "latex"}
# JSON escapes C0 itself; DEL and C1 are escaped too, so the JSON a terminal shows cannot
# drive it while a JSON reader still gets the exact strings back.
_JSON_UNSAFE = re.compile("[\x7f-\x9f]")


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


def emit_json(value: Any) -> None:
    encoded = json.dumps(value, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write(_JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", encoded) + "\n")


def write_json(path: Path, value: Any) -> None:
    """`value` as JSON in a new or replaced file, whole or not at all."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CqrsError(f"cannot write {path}: {exc.strerror or exc}") from exc


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
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_cell(r.get(c)) for c in columns] for r in rows)
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
