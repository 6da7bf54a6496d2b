"""Trials the registry no longer shows: ``studies.removed_on``, and ``listed_studies``, what a full listing of
the registry has listed so far.

A full listing (``harvest run --full``, ``harvest reconcile``) notes every NCT number it sees in the transaction
of the page that listed it, so a listing killed half-way resumes with what it had seen. Once it is complete, the
stored trials it did not list are the ones the pipeline asks the registry about, one by one; those that answer
404 are marked here with a day, and a trial listed again is unmarked. Both are rows of ``changes`` (field
``removed_on``). Nothing is deleted: a removed trial keeps every row, mirrors' records included.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from harvest.core.dates import utcnow
from harvest.store.sql import select_in

if TYPE_CHECKING:
    from harvest.store.handle import Handle

OldNew = tuple[str | None, str | None]
REMOVED = "removed_on"  # the studies column, and the field its changes are recorded under

LISTED_STUDIES_SQL = """
CREATE TABLE IF NOT EXISTS listed_studies (
    listing TEXT NOT NULL, nct_id TEXT NOT NULL, PRIMARY KEY (listing, nct_id)) WITHOUT ROWID;
"""
# The removed studies alone, NCT number and day. removed_on is the last column of a wide row: read from the
# table, it costs a walk through the row's overflow pages, and every registry batch asks which of its studies
# are marked. This index answers that (and stats' count) from a few entries.
REMOVED_INDEX_SQL = """
CREATE INDEX IF NOT EXISTS studies_removed ON studies (nct_id, removed_on) WHERE removed_on IS NOT NULL;
"""
_MARKED = "SELECT nct_id, removed_on FROM studies INDEXED BY studies_removed WHERE removed_on IS NOT NULL"
_NOT_MARKED = f"nct_id NOT IN (SELECT nct_id FROM ({_MARKED}))"


class Removals:
    """Reads and writes of ``studies.removed_on`` and ``listed_studies``."""

    def __init__(self, store: Handle) -> None:
        self._conn = store.conn

    # -- a listing under way ------------------------------------------------------------------------

    def forget_listing(self, listing: str) -> None:
        """A listing starts over (or is done with): what it had seen is dropped."""
        self._conn.execute("DELETE FROM listed_studies WHERE listing = ?", [listing])

    def note_listed(self, listing: str, nct_ids: Sequence[str]) -> None:
        self._conn.executemany(
            "INSERT OR IGNORE INTO listed_studies (listing, nct_id) VALUES (?, ?)", [(listing, n) for n in nct_ids]
        )

    def listed_count(self, listing: str) -> int:
        return int(self._conn.execute("SELECT count(*) FROM listed_studies WHERE listing = ?", [listing]).fetchone()[0])

    def unlisted(self, listing: str, source: str) -> list[str]:
        """Trials with a record from ``source`` (the registry), not marked removed, that the listing did not list."""
        # Every stored NCT number, from the index on source_records.nct_id (not the wide rows), less those
        # listed: what is left is small (removed and merged trials, mirror-only ones) and is read in full.
        rows = self._conn.execute(
            "SELECT DISTINCT nct_id FROM source_records AS r INDEXED BY source_records_nct WHERE NOT EXISTS "
            "(SELECT 1 FROM listed_studies l WHERE l.listing = ? AND l.nct_id = r.nct_id)",
            [listing],
        )
        missing = [row[0] for row in rows]
        sql = (
            "SELECT DISTINCT r.nct_id FROM source_records r WHERE r.source = ? AND r.nct_id IN ({marks}) "
            "AND EXISTS (SELECT 1 FROM studies s WHERE s.nct_id = r.nct_id) "
            f"AND r.{_NOT_MARKED}"
        )
        return sorted(row[0] for row in select_in(self._conn, sql, missing, source))

    def live(self) -> int:
        """Trials the file holds that are not marked removed."""
        stored = self._conn.execute("SELECT count(*) FROM studies").fetchone()[0]
        return int(stored) - self.removed_count()

    def removed_count(self) -> int:
        return int(self._conn.execute(f"SELECT count(*) FROM ({_MARKED})").fetchone()[0])

    # -- marks ----------------------------------------------------------------------------------------

    def mark(self, nct_ids: Sequence[str], day: str, run_id: int | None) -> list[str]:
        """Mark trials removed since ``day``; those already marked keep their first day. Returns those marked."""
        sql = (
            f"SELECT nct_id FROM studies WHERE nct_id IN ({{marks}}) AND nct_id NOT IN (SELECT nct_id FROM ({_MARKED}))"
        )
        marked = sorted(row[0] for row in select_in(self._conn, sql, nct_ids))
        self._conn.executemany("UPDATE studies SET removed_on = ? WHERE nct_id = ?", [(day, n) for n in marked])
        self._record(marked, run_id, lambda nct: (None, json.dumps(day)))
        return marked

    def restore(self, nct_ids: Sequence[str], run_id: int | None) -> list[str]:
        """Unmark trials the registry shows again. Returns those unmarked."""
        was = dict(select_in(self._conn, f"{_MARKED} AND nct_id IN ({{marks}})", nct_ids))
        if not was:
            return []
        self._conn.executemany("UPDATE studies SET removed_on = NULL WHERE nct_id = ?", [(n,) for n in was])
        self._record(sorted(was), run_id, lambda nct: (json.dumps(was[nct]), None))
        return sorted(was)

    def _record(self, nct_ids: list[str], run_id: int | None, values: Callable[[str], OldNew]) -> None:
        """One ``changes`` row per trial, valued as JSON text like every other change."""
        now = utcnow()
        self._conn.executemany(
            "INSERT INTO changes (nct_id, run_id, field, old, new, changed_at) VALUES (?, ?, ?, ?, ?, ?)",
            [(nct, run_id, REMOVED, *values(nct), now) for nct in nct_ids],
        )

    def removed_on(self, nct_id: str) -> str | None:
        """The day a trial was first found removed; None when it is not (or the file predates the column: a file
        opened read-only is not upgraded)."""
        try:
            row = self._conn.execute("SELECT removed_on FROM studies WHERE nct_id = ?", [nct_id]).fetchone()
        except sqlite3.OperationalError:
            return None
        return row[0] if row else None
