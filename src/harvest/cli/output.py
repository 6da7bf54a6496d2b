"""Printing rows for people (an aligned table on a terminal) and for programs (JSON lines, CSV).

What is printed for a person (a table, a text report, CSV on a terminal) shows control characters written out
(``\x1b``), so that a value cannot drive the reader's terminal; JSON escapes every one of them.
"""

from __future__ import annotations

import csv
import functools
import json
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO, TypeVar

import click

from harvest.core.text import escape_controls

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
    text = escape_controls(" ".join(text.split()))
    return text if len(text) <= width else text[: width - 1] + "…"


# JSON escapes the C0 controls itself; DEL and the C1 controls (CSI is U+009B) it leaves as they are.
_RAW_IN_JSON = re.compile("[\x7f-\x9f]")


def json_text(value: Any, **options: Any) -> str:
    """``json.dumps`` (non-ASCII as it is) with every control character escaped: the same JSON value."""
    text = json.dumps(value, ensure_ascii=False, **options)
    return _RAW_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text) if _RAW_IN_JSON.search(text) else text


def echo_text(text: str, *, err: bool = False) -> None:
    """A text report for a person (compliance, stats, a timeline): its lines as they are, controls written out."""
    click.echo(escape_controls(text, lines=True), err=err)


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
            out.write(json_text(dict(zip(columns, row, strict=True)), default=_default) + "\n")
            count += 1
        return count
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(columns)
        shown = out.isatty()  # CSV is for programs, exact; on a terminal a person reads it
        for row in rows:
            writer.writerow(["" if v is None else escape_controls(v, lines=True) if shown and isinstance(v, str) else v
                             for v in row])  # fmt: skip
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
