"""Printing rows for people (an aligned table on a terminal) and for programs (JSON lines, CSV)."""

from __future__ import annotations

import csv
import functools
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

_FORMAT_OPTIONS = (
    click.option("--json", "as_json", is_flag=True, help="JSON lines (default when stdout is not a terminal)."),
    click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row."),
    click.option("--table", "as_table", is_flag=True, help="An aligned table (default on a terminal)."),
)


def choose_format(json_flag: bool, csv_flag: bool, table_flag: bool = False) -> str:
    if json_flag:
        return "json"
    if csv_flag:
        return "csv"
    if table_flag:
        return "table"
    return "table" if sys.stdout.isatty() else "json"


def row_format(command: F) -> F:
    """--json, --csv and --table, handed to the command as one ``fmt`` argument: every command that prints rows
    offers the same three, with the same default (a table on a terminal, JSON lines in a pipe)."""

    @functools.wraps(command)
    def with_format(*args: Any, as_json: bool, as_csv: bool, as_table: bool, **kwargs: Any) -> Any:
        return command(*args, fmt=choose_format(as_json, as_csv, as_table), **kwargs)

    decorated: Any = with_format
    for option in reversed(_FORMAT_OPTIONS):
        decorated = option(decorated)
    return decorated


def _cell(value: Any, width: int) -> str:
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def print_rows(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    fmt: str,
    out: TextIO | None = None,
    max_width: int = 60,
) -> int:
    """Write rows in the chosen format; return how many were written. Streams for json and csv."""
    out = out or sys.stdout
    count = 0
    if fmt == "json":
        for row in rows:
            out.write(json.dumps(dict(zip(columns, row, strict=True)), ensure_ascii=False, default=_default) + "\n")
            count += 1
        return count
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
            count += 1
        return count
    materialised = [[_cell(v, max_width) for v in row] for row in rows]
    widths = [len(c) for c in columns]
    for row in materialised:
        widths = [max(w, len(v)) for w, v in zip(widths, row, strict=True)]
    out.write("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip() + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in materialised:
        out.write("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() + "\n")
    return len(materialised)


def _default(value: Any) -> Any:
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return str(value)
