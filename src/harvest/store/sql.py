"""Small SQL helpers the store's modules share."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

# SQLite caps the number of variables in one statement; 500 keeps far below every build's limit.
CHUNK = 500

# SQLite stores a NaN as NULL. Python's sqlite3 binds a float at once but tries to adapt a None first (lookups
# that fail, for each value), so a row with many NULLs binds about twice as fast with NaN in their place: a
# results table's rows are half NULLs. Rows read back have None, as always.
NULL = float("nan")

Row = tuple[Any, ...]


def bindable(rows: list[Row]) -> list[Row]:
    """Rows for an INSERT, with ``NULL`` for None (what SQLite stores is the same)."""
    return [row if None not in row else tuple([NULL if value is None else value for value in row]) for row in rows]


def unbound(value: Any) -> Any:
    """A value of a ``bindable`` row as SQLite gives it back: None for ``NULL`` (a NaN is the one value unequal to
    itself)."""
    return None if value != value else value


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def select_in(conn: sqlite3.Connection, sql: str, values: Sequence[Any], *params: Any) -> Iterator[Any]:
    """The rows of ``sql`` with ``{marks}`` standing for ``values`` (after ``params``), a chunk at a time."""
    for chunk in chunks(list(values)):
        yield from conn.execute(sql.format(marks=",".join("?" * len(chunk))), [*params, *chunk])


def iso(value: dt.datetime) -> str:
    """A timestamp as the file writes it: UTC, seconds, ``Z``."""
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def refuses_writes(exc: sqlite3.Error) -> bool:
    """Whether SQLite refused a statement because the file is open read-only: user SQL that writes, or that
    the read-only store's authorizer refused ("not authorized", "authorization denied": a PRAGMA that sets
    something, ATTACH, VACUUM)."""
    text = str(exc)
    refused = ("readonly", "read-only", "query_only", "not authorized", "authorization denied")
    return any(word in text for word in refused)
