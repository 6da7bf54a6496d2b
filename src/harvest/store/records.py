"""``source_records`` (what each site said about each trial) and ``nct_aliases`` (retired NCT numbers).

A record is written with its canonical JSON, its content hash and its raw payload, zlib-compressed (level 1:
a third of the CPU of level 6 for ~20% more bytes; payloads are written far more often than read).
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harvest.core.records import StoredRecord
from harvest.core.stored import load_record
from harvest.store.sql import chunks, select_in

if TYPE_CHECKING:
    from harvest.store.handle import Handle

RAW_COMPRESSION = 1


@dataclass(frozen=True)
class StoredVersion:
    """What the file knows of a record before it is written again."""

    nct_id: str
    content_hash: str
    first_fetched_at: str
    fingerprint: str | None


@dataclass
class RecordRow:
    """One ``source_records`` row to write (``raw`` uncompressed: the store compresses it)."""

    source: str
    record_key: str
    url: str
    nct_id: str
    fetched_at: str
    content_hash: str
    record: str
    raw: bytes
    content_type: str | None
    first_fetched_at: str
    changed_at: str
    run_id: int | None
    fingerprint: str | None


_UPSERT = (
    "INSERT INTO source_records (source, record_key, url, nct_id, fetched_at, content_hash, record, raw, "
    "content_type, first_fetched_at, changed_at, run_id, raw_fingerprint) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "
    "ON CONFLICT(source, record_key) DO UPDATE SET url=excluded.url, nct_id=excluded.nct_id, "
    "fetched_at=excluded.fetched_at, content_hash=excluded.content_hash, record=excluded.record, "
    "raw=excluded.raw, content_type=excluded.content_type, changed_at=excluded.changed_at, "
    "run_id=excluded.run_id, raw_fingerprint=excluded.raw_fingerprint"
)


class SourceRecords:
    """Reads and writes of ``source_records``."""

    def __init__(self, store: Handle) -> None:
        self._store = store
        self._conn = store.conn

    # -- reading --------------------------------------------------------------------------------

    def versions(self, source: str, keys: Sequence[str]) -> dict[str, StoredVersion]:
        rows = select_in(
            self._conn,
            "SELECT record_key, nct_id, content_hash, first_fetched_at, raw_fingerprint FROM source_records "
            "WHERE source = ? AND record_key IN ({marks})",
            keys,
            source,
        )
        return {key: StoredVersion(nct, digest, first, fingerprint) for key, nct, digest, first, fingerprint in rows}

    def fingerprints(self, source: str, keys: Sequence[str]) -> dict[str, str]:
        """The stored payload fingerprints of these records (see ``SourceRecord.fingerprint``)."""
        sql = (
            "SELECT record_key, raw_fingerprint FROM source_records "
            "WHERE source = ? AND record_key IN ({marks}) AND raw_fingerprint IS NOT NULL"
        )
        return dict(select_in(self._conn, sql, list(keys), source))

    def _load(self, where: str, params: Sequence[Any]) -> list[StoredRecord]:
        rows = self._conn.execute(
            f"SELECT source, record_key, url, fetched_at, record FROM source_records WHERE {where}", params
        ).fetchall()
        return [StoredRecord(s, k, u, f, load_record(r)) for s, k, u, f, r in rows]

    def of_study(self, nct_id: str) -> list[StoredRecord]:
        return self._load("nct_id = ?", [nct_id])

    def by_key(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], StoredRecord]:
        """Stored records by (source, record_key), a few queries for any number of them (not one each)."""
        by_source: dict[str, list[str]] = {}
        for source, key in keys:
            by_source.setdefault(source, []).append(key)
        found: dict[tuple[str, str], StoredRecord] = {}
        for source, source_keys in by_source.items():
            for chunk in chunks(source_keys):
                marks = ",".join("?" * len(chunk))
                for record in self._load(f"source = ? AND record_key IN ({marks})", [source, *chunk]):
                    found[(record.source, record.record_key)] = record
        return found

    def refs_of_studies(self, nct_ids: Sequence[str]) -> Iterator[tuple[str, str, str, str, str]]:
        """(nct_id, source, record_key, url, fetched_at) of every record of these trials."""
        sql = "SELECT nct_id, source, record_key, url, fetched_at FROM source_records WHERE nct_id IN ({marks})"
        yield from select_in(self._conn, sql, nct_ids)

    def multi_source_studies(self, source: str | None = None) -> list[str]:
        """Trials that two or more sources describe (with ``source`` among them, if given)."""
        sql = "SELECT nct_id FROM source_records GROUP BY nct_id HAVING count(DISTINCT source) > 1"
        params = [source] if source else []
        if source:
            sql += " AND max(source = ?)"
        return [row[0] for row in self._conn.execute(sql, params)]

    def studies_of(self, source: str | None = None) -> list[str]:
        """Every trial with a stored record (from ``source``, if given)."""
        if source:
            rows = self._conn.execute("SELECT DISTINCT nct_id FROM source_records WHERE source = ?", [source])
        else:
            rows = self._conn.execute("SELECT DISTINCT nct_id FROM source_records")
        return [row[0] for row in rows]

    def rows(self, source: str | None = None) -> Iterator[dict[str, Any]]:
        """Every stored record with its raw payload decompressed (for offline re-parsing)."""
        sql = "SELECT source, record_key, url, nct_id, fetched_at, content_hash, record, raw, content_type, "
        sql += "first_fetched_at FROM source_records"
        params: list[Any] = []
        if source:
            sql += " WHERE source = ?"
            params.append(source)
        cursor = self._conn.execute(sql + " ORDER BY source, record_key", params)
        names = [d[0] for d in cursor.description]
        for row in cursor:
            item = dict(zip(names, row, strict=True))
            item["raw"] = zlib.decompress(item["raw"]) if item["raw"] is not None else b""
            yield item

    # -- writing --------------------------------------------------------------------------------

    @contextmanager
    def saving(self, rows: list[RecordRow]) -> Iterator[None]:
        """Write ``rows`` when the block ends; their payloads are compressed in another thread meanwhile.

        zlib lets go of the GIL while it compresses, so the caller's work in the block (rebuilding the studies
        these records belong to) runs alongside.
        """
        compressed = _compressor().submit(_compress_all, [row.raw for row in rows])
        yield
        self._conn.executemany(
            _UPSERT,
            [
                (
                    row.source,
                    row.record_key,
                    row.url,
                    row.nct_id,
                    row.fetched_at,
                    row.content_hash,
                    row.record,
                    raw,
                    row.content_type,
                    row.first_fetched_at,
                    row.changed_at,
                    row.run_id,
                    row.fingerprint,
                )
                for row, raw in zip(rows, compressed.result(), strict=True)
            ],
        )

    def refresh_payloads(self, rows: Sequence[tuple[str, bytes, str, str]]) -> None:
        """(fingerprint, raw, source, record_key): a new payload that says the same; the record stays."""
        self._conn.executemany(
            "UPDATE source_records SET raw_fingerprint = ?, raw = ? WHERE source = ? AND record_key = ?",
            [(fingerprint, zlib.compress(raw, RAW_COMPRESSION), s, k) for fingerprint, raw, s, k in rows],
        )

    def forget_fingerprints(self, source: str) -> None:
        """Make the next run parse every record of a source again (after a parser change)."""
        with self._store.transaction():
            self._conn.execute("UPDATE source_records SET raw_fingerprint = NULL WHERE source = ?", (source,))

    def delete(self, source: str, record_key: str) -> None:
        self._conn.execute("DELETE FROM source_records WHERE source = ? AND record_key = ?", (source, record_key))

    def rekey(self, record: StoredRecord, nct_id: str) -> None:
        """File a stored record under another NCT number (its retired number's successor)."""
        moved = record.study.model_copy(update={"nct_id": nct_id})
        self._conn.execute(
            "UPDATE source_records SET nct_id = ?, record = ? WHERE source = ? AND record_key = ?",
            (nct_id, moved.model_dump_json(), record.source, record.record_key),
        )


class Aliases:
    """``nct_aliases``: retired NCT numbers and the trial each now points to."""

    def __init__(self, store: Handle) -> None:
        self._conn = store.conn

    def register(self, alias: str, nct_id: str) -> None:
        self._conn.execute(
            "INSERT INTO nct_aliases (alias, nct_id) VALUES (?, ?) "
            "ON CONFLICT(alias) DO UPDATE SET nct_id = excluded.nct_id",
            (alias, nct_id),
        )

    def resolve(self, nct_ids: Iterable[str]) -> dict[str, str]:
        """alias -> current NCT number, for those of ``nct_ids`` that are aliases."""
        sql = "SELECT alias, nct_id FROM nct_aliases WHERE alias IN ({marks})"
        return dict(select_in(self._conn, sql, list(set(nct_ids))))

    def current(self, nct_id: str) -> str:
        return self.resolve([nct_id]).get(nct_id, nct_id)


def _compress_all(payloads: list[bytes]) -> list[bytes]:
    return [zlib.compress(payload, RAW_COMPRESSION) for payload in payloads]


@functools.lru_cache(maxsize=1)
def _compressor() -> ThreadPoolExecutor:
    """One helper thread for the process, for work that runs outside the GIL."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="harvest-zlib")
