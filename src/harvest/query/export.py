"""Export a table or view as CSV or JSON Lines, streaming: each row goes from the cursor to the output.

Nothing is materialised, so a 500,000-study file exports in the memory of one row. The caller passes a
read-only connection (``Store(readonly=True)`` plus ``PRAGMA query_only``): ``--where`` is user SQL, and
SQLite's own read-only mode is what makes it harmless, not a filter on its text.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import json
import sqlite3
from collections.abc import Iterator
from typing import Any, TextIO

from harvest.core.errors import QueryError
from harvest.store.fts import FTS_TABLE
from harvest.store.sql import refuses_writes

FORMATS = ("csv", "jsonl")

# Columns that hold JSON text: in JSON Lines they are written as JSON values, not as strings of JSON.
JSON_COLUMNS: dict[str, frozenset[str]] = {
    "studies": frozenset({"phases", "nct_aliases", "unmapped", "sources", "provenance"}),
    "source_records": frozenset({"record"}),
    "conflicts": frozenset({"value"}),
    "changes": frozenset({"old", "new"}),
    "harvest_state": frozenset({"cursor"}),
    "unresolved": frozenset({"candidates"}),
    "watches": frozenset({"filters", "nct_ids", "compliance", "fields"}),
    "watch_matches": frozenset({"state"}),
    "watch_entries": frozenset({"detail"}),  # old and new: JSON text of a change, or an outcome word
}


def exportable(conn: sqlite3.Connection) -> list[str]:
    """Tables and views a user can export (not SQLite's own tables, nor the search index's)."""
    rows = conn.execute(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' "
        "AND name NOT LIKE ? ORDER BY type, name",
        (f"{FTS_TABLE}%",),
    )
    return [name for (name,) in rows]


def _bad_where(table: str, where: str, exc: sqlite3.Error) -> QueryError:
    text = str(exc)
    if "one statement at a time" in text or 'near ";"' in text:
        return QueryError(f"--where must be one SQL condition, not statements: {where!r}")
    if refuses_writes(exc):
        return QueryError("export is read-only: --where cannot write")
    return QueryError(f"bad --where for {table}: {text}")


def open_rows(
    conn: sqlite3.Connection, table: str = "studies", where: str | None = None
) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
    """Column names and a lazy row iterator for ``SELECT * FROM table [WHERE where]``.

    The statement is prepared here, so an unknown table, an unknown column or bad SQL in ``where`` fails
    before anything is written.
    """
    names = exportable(conn)
    if table not in names:
        raise QueryError(f"no table or view named {table!r} (one of: {', '.join(names)})")
    sql = f'SELECT * FROM "{table}"'
    if where is not None and where.strip():
        sql += f" WHERE ({where})"
    try:
        cursor = conn.execute(sql)
    except sqlite3.Error as exc:
        raise _bad_where(table, where or "", exc) from None

    def rows() -> Iterator[tuple[Any, ...]]:
        try:
            # Not `yield from`: closing the generator (a reader that stopped early) would close the cursor too.
            for row in cursor:  # noqa: UP028
                yield row
        except sqlite3.Error as exc:
            raise _bad_where(table, where or "", exc) from None

    return [d[0] for d in cursor.description], rows()


def _text(value: Any) -> Any:
    return base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value


def write_csv(columns: list[str], rows: Iterator[tuple[Any, ...]], out: TextIO) -> int:
    """CSV with a header row; NULL is an empty cell, BLOBs are base64."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow(["" if v is None else _text(v) for v in row])
        count += 1
    return count


def write_jsonl(columns: list[str], rows: Iterator[tuple[Any, ...]], out: TextIO, table: str) -> int:
    """One JSON object per line; JSON-text columns become JSON values, BLOBs base64 strings."""
    json_columns = JSON_COLUMNS.get(table, frozenset())
    decode = [name in json_columns for name in columns]
    count = 0
    for row in rows:
        item = {}
        for name, value, is_json in zip(columns, row, decode, strict=True):
            if is_json and isinstance(value, str):
                with contextlib.suppress(ValueError):  # not JSON after all: keep the text
                    value = json.loads(value)
            item[name] = _text(value)
        out.write(json.dumps(item, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_rows(fmt: str, columns: list[str], rows: Iterator[tuple[Any, ...]], out: TextIO, table: str) -> int:
    """Write rows from ``open_rows`` in ``fmt`` (csv or jsonl); returns how many were written."""
    if fmt == "csv":
        return write_csv(columns, rows, out)
    if fmt == "jsonl":
        return write_jsonl(columns, rows, out, table)
    raise QueryError(f"unknown export format {fmt!r} (one of: {', '.join(FORMATS)})")


def export(
    conn: sqlite3.Connection, out: TextIO, *, table: str = "studies", fmt: str = "csv", where: str | None = None
) -> int:
    """Write a table or view to ``out`` in ``fmt`` (csv or jsonl); returns the number of rows written."""
    if fmt not in FORMATS:
        raise QueryError(f"unknown export format {fmt!r} (one of: {', '.join(FORMATS)})")
    columns, rows = open_rows(conn, table, where)
    return write_rows(fmt, columns, rows, out, table)
