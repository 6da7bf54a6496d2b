"""A relation's columns as another engine types them, and each SQLite value turned into that type.

The kind of a column is declared (``store.kinds``); a view's expression, which has no declared type, takes
the kind its first rows show. A value that does not fit its column's kind (a date known only to the month in a
column of days, a 2.5 in a column of integers, text that is not JSON) is never dropped or forced: the copy
widens that column to the narrowest kind that holds the value (``fitting``) and starts that copy again. The
widening is one way (flag, integer, real, text; day or timestamp, text; list, JSON, text), so a column of a
copy only ever widens, and the values stay what the file says.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson

from harvest.store.kinds import Kind, kind_of

_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")  # ASCII digits only, as every pattern of the source
SAMPLE_ROWS = 1000  # rows read to type a view's expression columns


class Misfit(Exception):
    """A value that does not fit its column's kind."""

    def __init__(self, index: int, value: Any) -> None:
        self.index = index
        self.value = value
        self.relation = ""  # the table or view being read, once known
        super().__init__(f"column {index}: {value!r}")


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind


def _integer(value: Any) -> int:
    if type(value) is int:
        return value
    raise ValueError


def _real(value: Any) -> float:
    if type(value) in (int, float):
        return float(value)
    raise ValueError


def _text(value: Any) -> str:
    if type(value) is str:
        return value
    if type(value) in (int, float):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise ValueError


def _blob(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    raise ValueError


def _flag(value: Any) -> bool:
    if value == 0 or value == 1:  # 0/1 as the file writes flags (True/False too)
        return bool(value)
    raise ValueError


def _day(value: Any) -> dt.date:
    if type(value) is str and _DAY.match(value):
        return dt.date.fromisoformat(value)
    raise ValueError


def _timestamp(value: Any) -> dt.datetime:
    if type(value) is str and "T" in value:
        parsed = dt.datetime.fromisoformat(value)
        if parsed.tzinfo is not None:
            return parsed
    raise ValueError


def _list(value: Any) -> list[str | None]:
    if type(value) is str:
        parsed = orjson.loads(value)
        if type(parsed) is list and all(item is None or type(item) is str for item in parsed):
            return parsed
    raise ValueError


def _json(value: Any) -> str:
    # the text as the file holds it; PostgreSQL's jsonb refuses \u0000, so such text stays text
    if type(value) is str and "\\u0000" not in value:
        orjson.loads(value)
        return value
    raise ValueError


CONVERTERS: dict[Kind, Callable[[Any], Any]] = {
    Kind.INTEGER: _integer,
    Kind.REAL: _real,
    Kind.TEXT: _text,
    Kind.BLOB: _blob,
    Kind.FLAG: _flag,
    Kind.DAY: _day,
    Kind.TIMESTAMP: _timestamp,
    Kind.LIST: _list,
    Kind.JSON: _json,
}

# Each kind and the next wider one; text holds anything.
WIDER: dict[Kind, Kind] = {
    Kind.FLAG: Kind.INTEGER,
    Kind.INTEGER: Kind.REAL,
    Kind.REAL: Kind.TEXT,
    Kind.DAY: Kind.TEXT,
    Kind.TIMESTAMP: Kind.TEXT,
    Kind.LIST: Kind.JSON,
    Kind.JSON: Kind.TEXT,
    Kind.BLOB: Kind.TEXT,
}


def fitting(kind: Kind, value: Any) -> Kind:
    """The narrowest kind at or above ``kind`` that holds ``value``."""
    while kind is not Kind.TEXT:
        try:
            CONVERTERS[kind](value)
            return kind
        except ValueError:
            kind = WIDER[kind]
    return kind


def declared_columns(conn: sqlite3.Connection, relation: str) -> list[tuple[str, str]]:
    """(name, declared SQLite type) of every column ``SELECT *`` gives, generated columns included."""
    rows = conn.execute(f'PRAGMA table_xinfo("{relation}")').fetchall()
    return [(row[1], row[2] or "") for row in rows if row[6] != 1]  # hidden 1: a virtual table's own


def columns_of(conn: sqlite3.Connection, relation: str) -> list[Column]:
    """The relation's columns with their kinds; expression columns typed from the first ``SAMPLE_ROWS`` rows."""
    columns = [Column(name, kind_of(relation, name, declared)) for name, declared in declared_columns(conn, relation)]
    unknown = [i for i, column in enumerate(columns) if column.kind is Kind.UNKNOWN]
    if not unknown:
        return columns
    seen: list[set[type]] = [set() for _ in unknown]
    names = ", ".join(f'"{columns[i].name}"' for i in unknown)
    for row in conn.execute(f'SELECT {names} FROM "{relation}" LIMIT {SAMPLE_ROWS}'):
        for types, value in zip(seen, row, strict=True):
            if value is not None:
                types.add(type(value))
    for i, types in zip(unknown, seen, strict=True):
        columns[i] = replace(columns[i], kind=_kind_of_types(types))
    return columns


def _kind_of_types(types: set[type]) -> Kind:
    """The narrowest kind of the values seen; with none seen (an empty view), the narrowest of all, which widens
    when values come (text taking a number as its text would hide that the column holds numbers)."""
    if types <= {int}:
        return Kind.INTEGER
    if types and types <= {int, float}:
        return Kind.REAL
    if types == {bytes}:
        return Kind.BLOB
    return Kind.TEXT


def widened(columns: Sequence[Column], misfit: Misfit) -> list[Column]:
    """``columns`` with the misfit's column widened to hold its value."""
    out = list(columns)
    column = out[misfit.index]
    out[misfit.index] = replace(column, kind=fitting(WIDER[column.kind], misfit.value))
    return out


def row_converter(columns: Sequence[Column]) -> Callable[[Sequence[Any]], list[Any]]:
    """A function turning one SQLite row into the columns' types, raising ``Misfit`` for a value that does not fit."""
    converters = [CONVERTERS[column.kind] for column in columns]

    def convert(row: Sequence[Any]) -> list[Any]:
        try:
            return [None if value is None else to(value) for to, value in zip(converters, row, strict=True)]
        except ValueError:
            for i, (to, value) in enumerate(zip(converters, row, strict=True)):
                try:
                    if value is not None:
                        to(value)
                except ValueError:
                    raise Misfit(i, value) from None
            raise

    return convert
