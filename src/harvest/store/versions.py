"""``study_versions`` (every past version of a trial the registry keeps), ``version_changes`` (what each version
changed, field by field) and ``history_queue`` (trials a run found new or changed, whose history is still to fetch).

Versions are written with their canonical JSON, its content hash and the body as received, zlib-compressed
like ``source_records.raw``. What a version changed is the pipeline's to work out; the store writes the rows.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harvest.core.dates import utcnow
from harvest.core.schema import Study
from harvest.core.stored import load_record
from harvest.store.records import RAW_COMPRESSION

if TYPE_CHECKING:
    from harvest.store.handle import Handle


@dataclass(frozen=True)
class VersionRow:
    """One ``study_versions`` row to write (``raw`` uncompressed: the store compresses it)."""

    nct_id: str
    version: int
    version_date: str
    overall_status: str | None
    content_hash: str
    record: str
    raw: bytes
    url: str
    fetched_at: str
    run_id: int | None


# (field, old, new) of one version against the one before it, values as JSON text
FieldChange = tuple[str, str | None, str | None]


class StudyVersions:
    """Reads and writes of ``study_versions``, ``version_changes`` and ``history_queue``."""

    def __init__(self, store: Handle) -> None:
        self._store = store
        self._conn = store.conn

    # -- reading --------------------------------------------------------------------------------

    def stored(self, nct_id: str) -> dict[int, str]:
        """version -> content hash, for every version of a trial the file holds."""
        rows = self._conn.execute("SELECT version, content_hash FROM study_versions WHERE nct_id = ?", [nct_id])
        return dict(rows.fetchall())

    def study(self, nct_id: str, version: int) -> Study | None:
        """One stored version as a Study (to compare the next version with)."""
        row = self._conn.execute(
            "SELECT record FROM study_versions WHERE nct_id = ? AND version = ?", [nct_id, version]
        ).fetchone()
        return load_record(row[0]) if row else None

    def listing(self, nct_id: str) -> list[tuple[int, str, str | None]]:
        """(version, version_date, overall_status) of a trial's stored versions, oldest first."""
        return self._conn.execute(
            "SELECT version, version_date, overall_status FROM study_versions WHERE nct_id = ? ORDER BY version",
            [nct_id],
        ).fetchall()

    def changes(self, nct_id: str) -> list[tuple[int, str, str | None, str | None]]:
        """(version, field, old, new) of a trial, oldest version first."""
        return self._conn.execute(
            "SELECT version, field, old, new FROM version_changes WHERE nct_id = ? ORDER BY version, field",
            [nct_id],
        ).fetchall()

    def trials(self) -> list[str]:
        """Every trial with stored versions."""
        return [row[0] for row in self._conn.execute("SELECT DISTINCT nct_id FROM study_versions ORDER BY nct_id")]

    def rows(self, nct_id: str) -> list[dict[str, Any]]:
        """A trial's stored versions with their bodies decompressed, oldest first (for re-parsing)."""
        cursor = self._conn.execute(
            "SELECT nct_id, version, version_date, overall_status, raw, url, fetched_at, run_id "
            "FROM study_versions WHERE nct_id = ? ORDER BY version",
            [nct_id],
        )
        names = [d[0] for d in cursor.description]
        found = []
        for row in cursor:
            item = dict(zip(names, row, strict=True))
            item["raw"] = zlib.decompress(item["raw"]) if item["raw"] is not None else b""
            found.append(item)
        return found

    # -- writing (inside the caller's transaction) ----------------------------------------------

    def save(self, row: VersionRow, changes: Sequence[FieldChange]) -> None:
        """One version and what it changed (a version written again replaces its rows)."""
        self._conn.execute(
            "INSERT OR REPLACE INTO study_versions (nct_id, version, version_date, overall_status, content_hash, "
            "record, raw, url, fetched_at, run_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                row.nct_id,
                row.version,
                row.version_date,
                row.overall_status,
                row.content_hash,
                row.record,
                zlib.compress(row.raw, RAW_COMPRESSION),
                row.url,
                row.fetched_at,
                row.run_id,
            ),
        )
        self._conn.execute("DELETE FROM version_changes WHERE nct_id = ? AND version = ?", (row.nct_id, row.version))
        self._conn.executemany(
            "INSERT INTO version_changes (nct_id, version, version_date, field, old, new) VALUES (?,?,?,?,?,?)",
            [(row.nct_id, row.version, row.version_date, name, old, new) for name, old, new in changes],
        )

    # -- the queue ------------------------------------------------------------------------------

    def enqueue(self, nct_ids: Iterable[str], run_id: int | None) -> None:
        """Trials whose history a run must fetch (inside the transaction that wrote their new records)."""
        now = utcnow()
        self._conn.executemany(
            "INSERT OR IGNORE INTO history_queue (nct_id, queued_at, run_id) VALUES (?, ?, ?)",
            [(nct, now, run_id) for nct in nct_ids],
        )

    def queued(self) -> list[str]:
        return [row[0] for row in self._conn.execute("SELECT nct_id FROM history_queue ORDER BY queued_at, nct_id")]

    def dequeue(self, nct_id: str) -> None:
        self._conn.execute("DELETE FROM history_queue WHERE nct_id = ?", (nct_id,))
