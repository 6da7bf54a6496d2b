"""``harvest export --format parquet``: a Parquet file per table or view, typed, written as the rows stream.

Each column's Arrow type follows its kind (``store.kinds``): integers, doubles, booleans for flags, ``date32`` for
days, UTC timestamps, ``list<string>`` for JSON lists (``phases``); a date that may be known to the month or year
stays text beside its ``_type`` column (``length()`` of the text gives its precision), and other JSON stays its
text. Rows go from the SQLite cursor into bounded row groups (``pyarrow.parquet.ParquetWriter``), so memory holds
one row group, whatever the file's size. The bodies as received (``raw``, ``raw_fingerprint``) are left out, as
``harvest publish`` leaves them out. A file is written under a temporary name and renamed when complete: a
table's file is there whole or not at all.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from harvest.publish.columns import Column, Misfit, columns_of, row_converter, widened
from harvest.query.export import exportable, open_rows
from harvest.store.kinds import PAYLOADS, Kind

# A row group is written when it holds ROW_GROUP_ROWS rows, ROW_GROUP_CELLS values (a wide table's rows are many
# Python objects each) or ROW_GROUP_BYTES of text and bytes, whichever comes first: memory holds about five times
# one row group (the values, Arrow's copy, the writer's pages), whatever the file's size.
ROW_GROUP_ROWS = 100_000
ROW_GROUP_CELLS = 500_000
ROW_GROUP_BYTES = 16 * 1024 * 1024

ARROW_TYPES: dict[Kind, pa.DataType] = {
    Kind.INTEGER: pa.int64(),
    Kind.REAL: pa.float64(),
    Kind.TEXT: pa.string(),
    Kind.BLOB: pa.binary(),
    Kind.FLAG: pa.bool_(),
    Kind.DAY: pa.date32(),
    Kind.TIMESTAMP: pa.timestamp("ms", tz="UTC"),  # Parquet has no seconds; its least is ms
    Kind.LIST: pa.list_(pa.string()),
    Kind.JSON: pa.string(),
}


def schema_of(columns: list[Column]) -> pa.Schema:
    return pa.schema([pa.field(column.name, ARROW_TYPES[column.kind]) for column in columns])


def export(
    conn: sqlite3.Connection,
    folder: Path,
    tables: list[str] | None = None,
    *,
    where: str | None = None,
    on_table: Callable[[str, int, Path], None] | None = None,
    row_group_rows: int = ROW_GROUP_ROWS,
) -> dict[str, int]:
    """Write ``folder/<table>.parquet`` for each table (every one the file has, with None), all from one snapshot
    of the file; rows per table."""
    names = tables if tables is not None else exportable(conn)
    for name in names:
        open_rows(conn, name, where)  # an unknown table or a bad --where fails before anything is written
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    conn.execute("BEGIN")  # one snapshot: the files agree with each other even if a run writes meanwhile
    try:
        for name in names:
            target = folder / f"{name}.parquet"
            written[name] = write_table(conn, name, target, where=where, row_group_rows=row_group_rows)
            if on_table:
                on_table(name, written[name], target)
    finally:
        conn.rollback()
    return written


def write_table(
    conn: sqlite3.Connection,
    table: str,
    target: Path,
    *,
    where: str | None = None,
    row_group_rows: int = ROW_GROUP_ROWS,
) -> int:
    """One table or view as one Parquet file; a value that does not fit its column widens it (and the file is
    written again)."""
    columns = columns_of(conn, table)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    try:
        while True:
            try:
                count = _write(conn, table, columns, partial, where, row_group_rows)
                break
            except Misfit as misfit:
                columns = widened(columns, _in_all(columns, misfit))
        partial.replace(target)
        return count
    finally:
        partial.unlink(missing_ok=True)


def _in_all(columns: list[Column], misfit: Misfit) -> Misfit:
    """The misfit with its index among all the columns (it was raised among the kept ones)."""
    kept = [i for i, column in enumerate(columns) if column.name not in PAYLOADS]
    return Misfit(kept[misfit.index], misfit.value)


def _write(
    conn: sqlite3.Connection,
    table: str,
    columns: list[Column],
    path: Path,
    where: str | None,
    row_group_rows: int,
) -> int:
    keep = [i for i, column in enumerate(columns) if column.name not in PAYLOADS]
    kept = [columns[i] for i in keep]
    schema = schema_of(kept)
    convert = row_converter(kept)
    sized = [i for i, column in enumerate(kept) if column.kind in (Kind.TEXT, Kind.JSON, Kind.BLOB)]
    rows_per_group = max(1, min(row_group_rows, ROW_GROUP_CELLS // len(kept)))
    _, rows = open_rows(conn, table, where)
    count = 0
    # dictionaries pay for words repeated (statuses, countries), not for JSON documents, each one of a kind
    plain = [column.name for column in kept if column.kind is not Kind.JSON]
    with pq.ParquetWriter(path, schema, compression="zstd", use_dictionary=plain) as writer:
        group: list[list[Any]] = [[] for _ in kept]
        held = size = 0
        for row in rows:
            values = convert([row[i] for i in keep])
            for bucket, value in zip(group, values, strict=True):
                bucket.append(value)
            size += sum(len(values[i]) for i in sized if values[i] is not None)
            held += 1
            if held >= rows_per_group or size >= ROW_GROUP_BYTES:
                writer.write_batch(_batch(group, schema))
                count += held
                group, held, size = [[] for _ in kept], 0, 0
        if held or not count:
            writer.write_batch(_batch(group, schema))
            count += held
    return count


def _batch(group: list[list[Any]], schema: pa.Schema) -> pa.RecordBatch:
    arrays = [pa.array(values, type=field.type) for values, field in zip(group, schema, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
