"""Watches: saved searches, filters, trial lists and the compliance watch, and what their reports have said.

``harvest watch report`` prints what is new for each watch; ``harvest serve`` publishes the same entries as
an Atom feed. What counts as new is decided in ``query.watches``; this module keeps it:

- ``watches``: each watch's definition, and where its last report stopped: ``change_cursor`` (the last
  ``changes.id`` it has seen; the next report reads the rows after it), ``reported_at`` and, for a
  compliance watch, ``as_of`` (the day it last judged);
- ``watch_matches``: the trials the watch matched at its last report (for a compliance watch, with the outcome
  it judged then, as JSON in ``state``), so that the next report can say which trials newly match and which
  stopped: a search or a SQL condition cannot be asked what it matched yesterday;
- ``watch_entries``: every entry a report gave (a trial newly matching or no longer matching, a field's change,
  a compliance transition), so that a feed carries the same entries and ``--since`` can look back.

A report's entries, matches and cursor are written in one transaction: a report killed before it is saved is
given again in full by the next one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harvest.store.handle import Handle

WATCHES_SQL = """
CREATE TABLE IF NOT EXISTS watches (
    name TEXT PRIMARY KEY,
    search TEXT, filters TEXT, where_sql TEXT, nct_ids TEXT, compliance TEXT, fields TEXT,
    created_at TEXT NOT NULL, created_change_id INTEGER NOT NULL DEFAULT 0,
    reported_at TEXT, change_cursor INTEGER NOT NULL DEFAULT 0, as_of TEXT);
CREATE TABLE IF NOT EXISTS watch_matches (
    watch TEXT NOT NULL, nct_id TEXT NOT NULL, since TEXT, state TEXT,
    PRIMARY KEY (watch, nct_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS watch_entries (
    id INTEGER PRIMARY KEY, watch TEXT NOT NULL, entry_key TEXT NOT NULL, kind TEXT NOT NULL,
    nct_id TEXT NOT NULL, field TEXT, old TEXT, new TEXT, dated TEXT NOT NULL, change_id INTEGER,
    detail TEXT, reported_at TEXT NOT NULL, UNIQUE (watch, entry_key));
CREATE INDEX IF NOT EXISTS watch_entries_dated ON watch_entries (watch, dated);
"""

WATCH_COLUMNS = (
    "name",
    "search",
    "filters",
    "where_sql",
    "nct_ids",
    "compliance",
    "fields",
    "created_at",
    "created_change_id",
    "reported_at",
    "change_cursor",
    "as_of",
)
JSON_COLUMNS = frozenset({"filters", "nct_ids", "compliance", "fields"})
ENTRY_COLUMNS = ("entry_key", "kind", "nct_id", "field", "old", "new", "dated", "change_id", "detail")


def has_watches(conn: sqlite3.Connection) -> bool:
    """The file has the tables (a file an older harvest made, read without upgrading it, has not)."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'watches'").fetchone() is not None


def _decoded(row: Sequence[Any]) -> dict[str, Any]:
    found = dict(zip(WATCH_COLUMNS, row, strict=True))
    for name in JSON_COLUMNS:
        if found[name] is not None:
            found[name] = json.loads(found[name])
    return found


def read_watches(conn: sqlite3.Connection, names: Sequence[str] = ()) -> list[dict[str, Any]]:
    """The watches (those named, else all), by name, as dicts of ``WATCH_COLUMNS`` with JSON decoded."""
    if not has_watches(conn):
        return []
    sql = f"SELECT {', '.join(WATCH_COLUMNS)} FROM watches"
    if names:
        sql += f" WHERE name IN ({', '.join('?' * len(names))})"
    return [_decoded(row) for row in conn.execute(sql + " ORDER BY name", list(names))]


def read_matches(conn: sqlite3.Connection, watch: str) -> dict[str, tuple[str | None, Any]]:
    """nct_id -> (since when it matches, the state kept with it: JSON decoded) at the watch's last report."""
    rows = conn.execute("SELECT nct_id, since, state FROM watch_matches WHERE watch = ?", [watch])
    return {nct: (since, json.loads(state) if state else None) for nct, since, state in rows}


def read_entries(
    conn: sqlite3.Connection, watch: str, *, since: str = "", newest: int | None = None
) -> list[dict[str, Any]]:
    """The entries reports have given for a watch, dated ``since`` or later, oldest first (``newest``: only the
    last so many)."""
    sql = (
        f"SELECT {', '.join(ENTRY_COLUMNS)} FROM watch_entries WHERE watch = ? AND dated >= ? "
        "ORDER BY dated DESC, id DESC"
    )
    params: list[Any] = [watch, since]
    if newest is not None:
        sql += " LIMIT ?"
        params.append(newest)
    found = [dict(zip(ENTRY_COLUMNS, row, strict=True)) for row in conn.execute(sql, params)]
    for entry in found:
        entry["detail"] = json.loads(entry["detail"]) if entry["detail"] else None
    return found[::-1]


def occurrences(conn: sqlite3.Connection, watch: str) -> dict[tuple[str, str], int]:
    """(kind, nct_id) -> how many entries of that kind the watch has given the trial (changes aside): the next
    one is numbered after them, so its key is stable whether a feed shows it before or after a report."""
    rows = conn.execute(
        "SELECT kind, nct_id, count(*) FROM watch_entries WHERE watch = ? AND change_id IS NULL GROUP BY 1, 2", [watch]
    )
    return {(kind, nct): count for kind, nct, count in rows}


def last_change_id(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT coalesce(max(id), 0) FROM changes").fetchone()[0])


class Watches:
    """Writes of the watch tables (reads are the module's functions, which a read-only connection can use)."""

    def __init__(self, store: Handle) -> None:
        self._conn = store.conn

    def all(self, names: Sequence[str] = ()) -> list[dict[str, Any]]:
        return read_watches(self._conn, names)

    def add(self, definition: Mapping[str, Any], matches: Mapping[str, Any]) -> None:
        """A new watch and the trials it matches now (with their state), from which its first report starts."""
        values = [
            json.dumps(definition.get(name), ensure_ascii=False) if name in JSON_COLUMNS and definition.get(name)
            else definition.get(name)
            for name in WATCH_COLUMNS
        ]  # fmt: skip
        self._conn.execute(
            f"INSERT INTO watches ({', '.join(WATCH_COLUMNS)}) VALUES ({', '.join('?' * len(WATCH_COLUMNS))})", values
        )
        self._put_matches(definition["name"], {nct: (definition["created_at"], s) for nct, s in matches.items()})

    def remove(self, name: str) -> bool:
        """A watch, the trials it matched and every entry it gave; False when there is none of that name."""
        gone = self._conn.execute("DELETE FROM watches WHERE name = ?", [name]).rowcount
        self._conn.execute("DELETE FROM watch_matches WHERE watch = ?", [name])
        self._conn.execute("DELETE FROM watch_entries WHERE watch = ?", [name])
        return gone > 0

    def save_report(
        self,
        name: str,
        entries: Iterable[Mapping[str, Any]],
        matches: Mapping[str, tuple[str | None, Any]],
        *,
        cursor: int,
        reported_at: str,
        as_of: str | None,
    ) -> None:
        """What a report gave, the trials the watch matches now, and where the next report starts."""
        rows = [
            (name, *(entry.get(c) for c in ENTRY_COLUMNS[:-1]),
             json.dumps(entry["detail"], ensure_ascii=False) if entry.get("detail") else None, reported_at)
            for entry in entries
        ]  # fmt: skip
        self._conn.executemany(
            f"INSERT OR IGNORE INTO watch_entries (watch, {', '.join(ENTRY_COLUMNS)}, reported_at) "
            f"VALUES ({', '.join('?' * (len(ENTRY_COLUMNS) + 2))})",
            rows,
        )
        self._conn.execute("DELETE FROM watch_matches WHERE watch = ?", [name])
        self._put_matches(name, matches)
        self._conn.execute(
            "UPDATE watches SET change_cursor = ?, reported_at = ?, as_of = coalesce(?, as_of) WHERE name = ?",
            [cursor, reported_at, as_of, name],
        )

    def _put_matches(self, name: str, matches: Mapping[str, tuple[str | None, Any]]) -> None:
        self._conn.executemany(
            "INSERT INTO watch_matches (watch, nct_id, since, state) VALUES (?, ?, ?, ?)",
            [
                (name, nct, since, json.dumps(state, sort_keys=True) if state is not None else None)
                for nct, (since, state) in matches.items()
            ],
        )
