"""Rendering for the CLI: data to stdout as a rich table, JSON, CSV or a tabulate format."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from typing import Any

from cqrs_cli.domain.errors import EXIT_USAGE, CqrsError

BUILTIN_FORMATS = ("table", "json", "csv")


def check_format(fmt: str) -> str:
    if fmt in BUILTIN_FORMATS:
        return fmt
    from tabulate import tabulate_formats

    if fmt not in tabulate_formats:
        raise CqrsError(
            f"unknown format {fmt!r}; use table, json, csv or a tabulate format "
            f"({', '.join(sorted(tabulate_formats)[:6])}, ...)",
            exit_code=EXIT_USAGE,
        )
    return fmt


def emit_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


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
) -> None:
    """Print rows in `fmt`. JSON prints `json_value` when given (the pinned shape), else rows."""
    fmt = check_format(fmt)
    if fmt == "json":
        emit_json(list(rows) if json_value is None else json_value)
    elif fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_cell(r.get(c)) for c in columns] for r in rows)
    elif fmt == "table":
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, show_lines=False)
        for column in columns:
            table.add_column(column)
        for r in rows:
            table.add_row(*(_cell(r.get(c)) for c in columns))
        Console().print(table)
    else:
        from tabulate import tabulate

        print(tabulate([[_cell(r.get(c)) for c in columns] for r in rows], columns, tablefmt=fmt))
