"""One trial as the file holds it: its ``studies`` row and, by name, its sections (the tables keyed by its NCT
number: conditions, locations, design_outcomes, outcomes, ...). What an agent or a script asks for one trial.

The row is the merged study harvest wrote (no merge is done here); JSON columns come back as JSON values.
Sections are found in the file, not listed here: every table with ``nct_id`` and ``position`` columns, so a
table added to the schema is a section without a line changed.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from typing import Any

from harvest.store.kinds import JSON_OF, LISTS_OF, PAYLOADS


def current_nct(conn: sqlite3.Connection, nct_id: str) -> str:
    """The trial's current NCT number (a retired one, an alias, gives the one it was merged into)."""
    row = conn.execute("SELECT nct_id FROM nct_aliases WHERE alias = ?", [nct_id]).fetchone()
    return row[0] if row else nct_id


def _decoded(table: str, row: sqlite3.Row) -> dict[str, Any]:
    as_json = LISTS_OF.get(table, frozenset()) | JSON_OF.get(table, frozenset())
    out = {}
    for name in row.keys():  # noqa: SIM118 - sqlite3.Row has keys(), not iteration over names
        if name in PAYLOADS:
            continue
        value = row[name]
        if name in as_json and isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        out[name] = value
    return out


def study(conn: sqlite3.Connection, nct_id: str) -> dict[str, Any] | None:
    """The ``studies`` row of a trial, None when the file has no such trial."""
    cursor = conn.cursor()
    cursor.row_factory = sqlite3.Row
    row = cursor.execute("SELECT * FROM studies WHERE nct_id = ?", [nct_id]).fetchone()
    return _decoded("studies", row) if row else None


def section_names(conn: sqlite3.Connection) -> list[str]:
    """Every table of a trial's own rows (``nct_id`` and ``position``), by name."""
    tables = [name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return [
        name
        for name in tables
        if {"nct_id", "position"} <= {row[1] for row in conn.execute(f'PRAGMA table_info("{name}")')}
    ]


def section_counts(conn: sqlite3.Connection, nct_id: str) -> dict[str, int]:
    """Section -> how many rows the trial has there (sections it has no rows in are left out)."""
    counts = {}
    for name in section_names(conn):
        (count,) = conn.execute(f'SELECT count(*) FROM "{name}" WHERE nct_id = ?', [nct_id]).fetchone()
        if count:
            counts[name] = count
    return counts


def section(conn: sqlite3.Connection, nct_id: str, name: str, limit: int) -> tuple[list[dict[str, Any]], int]:
    """The trial's rows of one section in their order, at most ``limit``, and how many there are."""
    if name not in section_names(conn):
        raise KeyError(name)
    cursor = conn.cursor()
    cursor.row_factory = sqlite3.Row
    rows = cursor.execute(f'SELECT * FROM "{name}" WHERE nct_id = ? ORDER BY position LIMIT ?', [nct_id, limit])
    found = [_decoded(name, row) for row in rows]
    (total,) = conn.execute(f'SELECT count(*) FROM "{name}" WHERE nct_id = ?', [nct_id]).fetchone()
    return found, total
