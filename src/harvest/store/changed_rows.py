"""Writing only what changed: a trial already in the file is compared, row by row, with what it is now.

A data release that changes one MeSH word of a trial changes one ``browse_leaves`` row: that row is updated, and
its other tables (two hundred rows for a trial with results) are not touched. Rows are matched by their key,
``(nct_id, position)`` in the tables keyed so, ``(nct_id, field, source)`` in ``conflicts``; a row whose values
are all the same is left alone, a row that is no longer there is deleted, a new one inserted. The ``studies`` row
is updated only in the columns that differ, and not at all when none does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from harvest.store.sql import Row, select_in, unbound


def as_stored(values: Iterable[Any]) -> Row:
    """Values as SQLite gives them back: a boolean is stored as 0 or 1, ``sql.NULL`` as None."""
    return tuple(int(value) if isinstance(value, bool) else unbound(value) for value in values)


def old_rows(conn: sqlite3.Connection, table: str, columns: Sequence[str], key: int, ncts: Sequence[str]) -> dict:
    """The rows of ``table`` for these trials, by their key (its first ``key`` columns)."""
    sql = f"SELECT {', '.join(columns)} FROM {table} WHERE nct_id IN ({{marks}})"
    return {row[:key]: row for row in select_in(conn, sql, ncts)}


def write_changed(
    conn: sqlite3.Connection,
    table: str,
    columns: Sequence[str],
    key: int,
    ncts: Sequence[str],
    rows: Iterable[Row],
) -> int:
    """Bring the rows of ``table`` for the trials ``ncts`` to ``rows`` (all their rows now), writing only those that
    differ; returns how many rows were written or deleted."""
    before = old_rows(conn, table, columns, key, ncts)
    after = {row[:key]: as_stored(row) for row in rows}
    gone = [k for k in before if k not in after]
    added = [row for k, row in after.items() if k not in before]
    changed = [row for k, row in after.items() if k in before and before[k] != row]
    where = " AND ".join(f"{name} = ?" for name in columns[:key])
    if gone:
        conn.executemany(f"DELETE FROM {table} WHERE {where}", gone)
    if added:
        conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", added)
    if changed:
        assigned = ", ".join(f"{name} = ?" for name in columns[key:])
        conn.executemany(f"UPDATE {table} SET {assigned} WHERE {where}", [(*r[key:], *r[:key]) for r in changed])
    return len(gone) + len(added) + len(changed)


def update_studies(
    conn: sqlite3.Connection, columns: Sequence[str], rows: Mapping[str, Row], touched: Sequence[str]
) -> list[str]:
    """Update the ``studies`` rows of these trials in the columns whose values differ (``touched``: columns that
    change with any other, ``updated_at``); returns the trials whose row changed."""
    compared = [c for c in columns if c not in touched and c != "nct_id"]
    before = old_rows(conn, "studies", ["nct_id", *compared], 1, list(rows))
    at = [columns.index(c) for c in compared]
    changed = []
    for nct, row in rows.items():
        now, old = as_stored(row), before.get((nct,))
        differing = [i for i, position in enumerate(at) if old is None or old[i + 1] != now[position]]
        if not differing:
            continue
        names = [compared[i] for i in differing] + list(touched)
        values = [now[at[i]] for i in differing] + [now[columns.index(c)] for c in touched]
        conn.execute(f"UPDATE studies SET {', '.join(f'{n} = ?' for n in names)} WHERE nct_id = ?", [*values, nct])
        changed.append(nct)
    return changed
