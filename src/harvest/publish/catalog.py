"""What the file holds, as a copy elsewhere sees it: every table and view, where it goes, and how it is refreshed.

Nothing here names a table of the file but ``store.kinds.BOOKKEEPING`` and ``NOT_BY_TRIAL``: whatever tables and
views the file has (harvest's own, and AACT's under AACT's names) are published, so a table or view added to the
schema is published without a line changed here.

- **Schema.** Bookkeeping (runs, pages, quarantine, ...) goes to the ``harvest`` schema; every other table and
  view, the trials' data under harvest's names and AACT's, goes to ``ctgov`` (AACT's schema name).
- **By study.** A table with an ``nct_id`` column, not bookkeeping nor a watch's (``NOT_BY_TRIAL``), holds rows
  that belong to one trial: a later publish replaces just the rows of the trials that changed. A view is
  published as a table of its rows (SQLite's SQL is not PostgreSQL's); it is refreshed by study too when it has
  ``nct_id``, reads only such tables (and such views), and never the clock (``'now'``, ``current_date``,
  ``date()``): its rows for a trial then follow from that trial's rows alone. Every other table and view is
  copied whole at every publish.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from harvest.store.fts import FTS_TABLE
from harvest.store.kinds import BOOKKEEPING, NOT_BY_TRIAL

TRIALS_SCHEMA = "ctgov"
BOOKKEEPING_SCHEMA = "harvest"

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CLOCK = re.compile(
    r"'now'|\bcurrent_(date|time|timestamp)\b|\b(date|time|datetime|julianday|unixepoch)\s*\(\s*\)"
    r"|\bstrftime\s*\(\s*'[^']*'\s*\)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Relation:
    name: str
    is_view: bool
    schema: str
    by_study: bool
    positional: bool  # rows keyed by (nct_id, position): written and deleted with the trial's studies row
    unique_keys: tuple[tuple[str, ...], ...] = ()  # the primary key and unique indexes
    indexes: tuple[tuple[str, ...], ...] = ()  # other plain indexes, to query the copy as the file is queried


def relations(conn: sqlite3.Connection) -> list[Relation]:
    """Every table and view of the file a user can read (not SQLite's own tables, nor the search index's)."""
    found = conn.execute(
        "SELECT name, type, coalesce(sql, '') FROM sqlite_master WHERE type IN ('table', 'view') "
        "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE ? ORDER BY type, name",
        (f"{FTS_TABLE}%",),
    ).fetchall()
    names = {name for name, _, _ in found}
    columns = {name: {row[1] for row in conn.execute(f'PRAGMA table_xinfo("{name}")')} for name in names}
    reads = {name: (set(_WORD.findall(sql)) & names) - {name} for name, kind, sql in found if kind == "view"}
    clock = {name for name, kind, sql in found if kind == "view" and _CLOCK.search(sql)}

    def table_by_study(name: str) -> bool:
        return "nct_id" in columns[name] and name not in BOOKKEEPING and name not in NOT_BY_TRIAL

    by_study = {name for name, kind, _ in found if kind == "table" and table_by_study(name)}
    views = {name for name, kind, _ in found if kind == "view" and "nct_id" in columns[name] and name not in clock}
    # a view is by study when all it reads is; settle it by repeatedly dropping the views that read something else
    while True:
        dropped = {view for view in views if not reads[view] <= (by_study | views)}
        if not dropped:
            break
        views -= dropped
    by_study |= views
    out = []
    for name, kind, _ in found:
        keys, indexes = _indexes(conn, name) if kind == "table" else ((), ())
        out.append(
            Relation(
                name=name,
                is_view=kind == "view",
                schema=BOOKKEEPING_SCHEMA if name in BOOKKEEPING else TRIALS_SCHEMA,
                by_study=name in by_study,
                positional=kind == "table" and {"nct_id", "position"} <= columns[name],
                unique_keys=keys,
                indexes=indexes,
            )
        )
    return out


def _indexes(conn: sqlite3.Connection, table: str) -> tuple[tuple[tuple[str, ...], ...], tuple[tuple[str, ...], ...]]:
    """The table's primary key and unique indexes, and its other indexes, as column lists (partial indexes and
    indexes on expressions are SQLite's own business and left out)."""
    keys: list[tuple[str, ...]] = []
    others: list[tuple[str, ...]] = []
    primary = sorted((row[5], row[1]) for row in conn.execute(f'PRAGMA table_info("{table}")') if row[5])
    if primary:
        keys.append(tuple(name for _, name in primary))
    for _, index, unique, origin, partial in conn.execute(f'PRAGMA index_list("{table}")'):
        if partial or origin == "pk":
            continue
        names = tuple(row[2] for row in conn.execute(f'PRAGMA index_info("{index}")'))
        if not names or any(name is None for name in names):
            continue
        (keys if unique else others).append(names)
    return tuple(dict.fromkeys(keys)), tuple(dict.fromkeys(others))


def universe_sql(found: list[Relation]) -> str:
    """The SQL of every trial the file holds rows of: the by-study tables that are not a trial's positional rows
    (those are written and deleted with its ``studies`` row)."""
    tables = [r.name for r in found if r.by_study and not r.is_view and not r.positional]
    return " UNION ".join(f'SELECT nct_id FROM "{name}" WHERE nct_id IS NOT NULL' for name in tables)
