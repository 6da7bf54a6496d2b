"""The file compared with its copy in PostgreSQL, and a session reading the copy as an AACT user's does.

The server is ``harvest.testing.postgres.PostgresServer`` (Debian's binaries, initdb'd into /tmp, run as the
``postgres`` user under root); ``conftest.py`` starts one per test session and each test gets a database of its
own. Without the binaries (``apt-get install postgresql``; ``.ci/run`` does it) the tests that need it skip.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from harvest.store.kinds import PAYLOADS
from harvest.testing.postgres import PostgresServer, pg_bin

__all__ = [
    "PUBLISH_MARKS",
    "PostgresServer",
    "connect",
    "copy_rows",
    "differences",
    "file_rows",
    "pg_bin",
    "published_columns",
    "sqlite_values",
]


def connect(url: str) -> Any:
    """A connection reading the published schemas first, as an AACT user's session does."""
    import psycopg

    return psycopg.connect(url, autocommit=True, options="-c search_path=ctgov,harvest,public")


# -- comparing a copy with the file ----------------------------------------------------------------------------


def sqlite_values(rows: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    """PostgreSQL's values as SQLite gives them: dates and timestamps as the file's ISO text, flags as 0/1,
    lists and JSON as JSON values (compare with ``json.loads`` of the file's text)."""
    return [tuple(_as_sqlite(value) for value in row) for row in rows]


def _as_sqlite(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def _file_value(value: Any, parsed: bool) -> Any:
    if parsed and isinstance(value, str):
        return json.loads(value)
    return value


# The file's identity and publish positions: harvest_meta rows a publish writes into the file (the position after
# the copy is made, so the copy holds the one before).
PUBLISH_MARKS = "key = 'file_id' OR key LIKE 'published %'"


def file_rows(db: Path, relation: str, columns: Sequence[str], parsed: Sequence[str] = ()) -> list[tuple[Any, ...]]:
    """A relation's rows in the file, the ``parsed`` columns as JSON values, sorted."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        names = ", ".join(f'"{c}"' for c in columns)
        where = f" WHERE NOT ({PUBLISH_MARKS})" if relation == "harvest_meta" else ""
        rows = conn.execute(f'SELECT {names} FROM "{relation}"{where}').fetchall()
    finally:
        conn.close()
    flags = [c in parsed for c in columns]
    return sorted((tuple(_file_value(v, p) for v, p in zip(row, flags, strict=True)) for row in rows), key=repr)


def copy_rows(pg: Any, schema: str, relation: str, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    names = ", ".join(f'"{c}"' for c in columns)
    where = f" WHERE NOT ({PUBLISH_MARKS})" if relation == "harvest_meta" else ""
    rows = pg.execute(f'SELECT {names} FROM "{schema}"."{relation}"{where}').fetchall()
    return sorted(sqlite_values(rows), key=repr)


def published_columns(pg: Any, schema: str, relation: str) -> dict[str, str]:
    """column -> PostgreSQL type of a published table."""
    rows = pg.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
        "ORDER BY ordinal_position",
        [schema, relation],
    ).fetchall()
    return dict(rows)


def differences(db: Path, pg: Any) -> dict[str, str]:
    """Every table and view of the file against its copy: {relation: what differs}; {} when all are equal."""
    from harvest.publish.catalog import relations

    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        found = relations(conn)
        columns = {
            r.name: [row[1] for row in conn.execute(f'PRAGMA table_xinfo("{r.name}")') if row[1] not in PAYLOADS]
            for r in found
        }
    finally:
        conn.close()
    out: dict[str, str] = {}
    for relation in found:
        types = published_columns(pg, relation.schema, relation.name)
        if list(types) != columns[relation.name]:
            out[relation.name] = f"columns {list(types)} != {columns[relation.name]}"
            continue
        parsed = [c for c, kind in types.items() if kind in ("ARRAY", "jsonb")]
        mine = file_rows(db, relation.name, columns[relation.name], parsed)
        theirs = copy_rows(pg, relation.schema, relation.name, columns[relation.name])
        if mine != theirs:
            extra = [row for row in theirs if row not in mine][:2]
            lacking = [row for row in mine if row not in theirs][:2]
            out[relation.name] = f"{len(mine)} rows in the file, {len(theirs)} in the copy; " \
                                 f"copy only: {extra}; file only: {lacking}"  # fmt: skip
    return out
