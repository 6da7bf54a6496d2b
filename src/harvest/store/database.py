"""The SQLite file: a thin layer over sqlite-utils with a few verbs.

The file is a user-facing interface (README documents every table). Writes
happen in ``apply_batch``, one transaction per batch, cursor included, so a
killed run never leaves half a page behind. A source record whose canonical
content did not change is not rewritten; a study row is rebuilt whole from
all its source records whenever one of them changes.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import sqlite3
import zlib
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from harvest.core.dates import utcnow
from harvest.core.errors import DatabaseUnavailable, HarvestError
from harvest.core.schema import STUDY_FIELDS, Study, content_hash
from harvest.merge.precedence import Merged, StoredRecord, jsonable, merge
from harvest.query import search
from harvest.sources.base import Batch, Failure, PageHistory, SourceRecord, Unresolved
from harvest.store import views

# 2: search index, views and indexes (harvest.store.views); child tables reference studies
# 3: source_records.raw_fingerprint
SCHEMA_VERSION = 3

# A changed record that would lose this many populated fields (and at least half of them) is refused:
# that is a broken page or API answer, not an update.
DEGRADED_MIN_LOST = 5

# zlib level 1: a third of the CPU of level 6 for ~20% more bytes; raw payloads are written far more than read.
RAW_COMPRESSION = 1

DATE_FIELDS = ("start_date", "primary_completion_date", "completion_date", "first_posted", "last_update_posted")


def refuses_writes(exc: sqlite3.Error) -> bool:
    """Whether SQLite refused a statement because the file is open read-only (user SQL that writes)."""
    text = str(exc)
    return "readonly" in text or "read-only" in text or "query_only" in text


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class ApplyResult:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: list[Failure] = field(default_factory=list)


def study_row(study: Study, merged: Merged | None = None, digest: str | None = None) -> dict[str, Any]:
    """The ``studies`` row of a study: scalar columns named after the schema (``digest``: its known content hash)."""
    row: dict[str, Any] = {
        "nct_id": study.nct_id,
        # A display title (brief, else official): what people reach for, and Datasette's label with no config.
        "title": study.brief_title or study.official_title,
        "brief_title": study.brief_title,
        "official_title": study.official_title,
        "acronym": study.acronym,
        "overall_status": study.overall_status,
        "last_known_status": study.last_known_status,
        "why_stopped": study.why_stopped,
        "status_verified_date": study.status_verified_date.value if study.status_verified_date else None,
        "study_type": study.study_type,
        "phases": json.dumps(list(study.phases)) if study.phases else None,
    }
    for name in DATE_FIELDS:
        date = getattr(study, name)
        row[name] = date.value if date else None
        row[f"{name}_type"] = date.type if date else None
    row.update(
        enrollment=study.enrollment,
        enrollment_type=study.enrollment_type,
        allocation=study.allocation,
        intervention_model=study.intervention_model,
        primary_purpose=study.primary_purpose,
        masking=study.masking,
        sex=study.sex,
        minimum_age=study.minimum_age,
        maximum_age=study.maximum_age,
        healthy_volunteers=study.healthy_volunteers,
        eligibility_criteria=study.eligibility_criteria,
        brief_summary=study.brief_summary,
        detailed_description=study.detailed_description,
        lead_sponsor=study.lead_sponsor,
        lead_sponsor_class=study.lead_sponsor_class,
        has_results=study.has_results,
        nct_aliases=json.dumps(study.nct_aliases) if study.nct_aliases else None,
        unmapped=json.dumps(study.unmapped, ensure_ascii=False, sort_keys=True) if study.unmapped else None,
        sources=json.dumps(merged.sources) if merged else json.dumps([study.provenance.source]),
        provenance=json.dumps(merged.provenance, sort_keys=True) if merged else None,
        content_hash=digest or study.content_hash(),
    )
    # What the row says plus who said it: a change of attribution alone is not a change of the study.
    row["merge_hash"] = content_hash(
        [row["content_hash"], row["sources"], row["provenance"], merged.conflicts if merged else []]
    )
    return row


def _child_rows(study: Study) -> dict[str, list[tuple[Any, ...]]]:
    nct = study.nct_id
    return {
        "conditions": [(nct, i, name) for i, name in enumerate(study.conditions)],
        "keywords": [(nct, i, word) for i, word in enumerate(study.keywords)],
        "interventions": [
            (nct, i, item.type, item.name, item.description) for i, item in enumerate(study.interventions)
        ],
        "locations": [
            (nct, i, loc.facility, loc.city, loc.state, loc.zip, loc.country, loc.status)
            for i, loc in enumerate(study.locations)
        ],
        "sponsors": (
            ([(nct, 0, "LEAD", study.lead_sponsor, study.lead_sponsor_class)] if study.lead_sponsor else [])
            + [
                (nct, i + 1, "COLLABORATOR", item.name, item.sponsor_class)
                for i, item in enumerate(study.collaborators)
            ]
        ),
        "contacts": [(nct, i, c.role, c.name, c.affiliation, c.phone, c.email) for i, c in enumerate(study.contacts)],
        "identifiers": [(nct, i, s.scheme, s.value, s.domain) for i, s in enumerate(study.identifiers)],
    }


CHILD_INSERTS = {
    "conditions": "INSERT INTO conditions (nct_id, position, name) VALUES (?, ?, ?)",
    "keywords": "INSERT INTO keywords (nct_id, position, keyword) VALUES (?, ?, ?)",
    "interventions": "INSERT INTO interventions (nct_id, position, type, name, description) VALUES (?, ?, ?, ?, ?)",
    "locations": "INSERT INTO locations (nct_id, position, facility, city, state, zip, country, status) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "sponsors": "INSERT INTO sponsors (nct_id, position, role, name, class) VALUES (?, ?, ?, ?, ?)",
    "contacts": "INSERT INTO contacts (nct_id, position, role, name, affiliation, phone, email) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)",
    "identifiers": "INSERT INTO identifiers (nct_id, position, scheme, value, domain) VALUES (?, ?, ?, ?, ?)",
}


def _json_value(value: Any) -> str | None:
    if value is None or value == [] or value == {}:
        return None
    return json.dumps(jsonable(value), ensure_ascii=False, sort_keys=True)


def diff_studies(old: Study, new: Study) -> list[tuple[str, str | None, str | None]]:
    """Field-level differences between two versions of a study, values as JSON text."""
    changes = []
    for name in STUDY_FIELDS:
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            old_json, new_json = _json_value(before), _json_value(after)
            if old_json != new_json:
                changes.append((name, old_json, new_json))
    return changes


class Store:
    """The harvest database. Open read-only for queries; read-write for runs."""

    def __init__(self, path: str | Path, *, readonly: bool = False, precedence: Sequence[str] = ("ctgov",)) -> None:
        self.path = str(path)
        self.readonly = readonly
        self.precedence = list(precedence)
        try:
            if readonly:
                if not Path(self.path).exists():
                    raise DatabaseUnavailable(
                        f"{self.path} does not exist (run `harvest run` or `harvest fetch` first)"
                    )
                # as_uri() escapes what a URI would read as a query or fragment ("trials?v=1.db", "#", "%").
                uri = Path(self.path).resolve().as_uri() + "?mode=ro"
                conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
                # Read-only means read-only: no ATTACH (which would create files) and no writes at all.
                conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
                conn.execute("PRAGMA query_only = ON")
                self.db = Database(conn)
            else:
                parent = Path(self.path).resolve().parent
                if not parent.is_dir():
                    raise DatabaseUnavailable(f"cannot create {self.path}: directory {parent} does not exist")
                self.db = Database(self.path)
                self.db.conn.execute("PRAGMA busy_timeout = 10000")
                self._create()
        except sqlite3.DatabaseError as exc:
            raise DatabaseUnavailable(f"cannot open {self.path}: {exc}") from None

    # -- schema ---------------------------------------------------------------------------------

    def _create(self) -> None:
        db = self.db
        if db.journal_mode != "wal":
            db.enable_wal()
        db.conn.execute("PRAGMA synchronous = NORMAL")
        if db.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
            return
        with db.atomic():
            db.executescript(SCHEMA_SQL)
            columns = {row[1] for row in db.execute("PRAGMA table_info(source_records)")}
            if "raw_fingerprint" not in columns:  # a file from before schema 3
                db.execute("ALTER TABLE source_records ADD COLUMN raw_fingerprint TEXT")
            views.install(db.conn)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- transactions ---------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        try:
            with self.db.atomic():
                yield
        except sqlite3.OperationalError as exc:
            raise DatabaseUnavailable(f"cannot write {self.path}: {exc}") from None

    # -- source records -------------------------------------------------------------------------

    def _existing(self, source: str, keys: Sequence[str]) -> dict[str, tuple[str, str, str, str | None]]:
        rows = _select_in(
            self.db.conn,
            "SELECT record_key, nct_id, content_hash, first_fetched_at, raw_fingerprint FROM source_records "
            "WHERE source = ? AND record_key IN ({marks})",
            keys,
            source,
        )
        return {key: (nct, digest, first, fingerprint) for key, nct, digest, first, fingerprint in rows}

    def fingerprints(self, source: str, keys: Sequence[str]) -> dict[str, str]:
        """The stored payload fingerprints of these records (see ``SourceRecord.fingerprint``)."""
        found: dict[str, str] = dict(
            _select_in(
                self.db.conn,
                "SELECT record_key, raw_fingerprint FROM source_records "
                "WHERE source = ? AND record_key IN ({marks}) AND raw_fingerprint IS NOT NULL",
                list(keys),
                source,
            )
        )
        return found

    def forget_fingerprints(self, source: str) -> None:
        """Make the next run parse every record of a source again (after a parser change)."""
        with self.transaction():
            self.db.conn.execute("UPDATE source_records SET raw_fingerprint = NULL WHERE source = ?", (source,))

    def _load_records(self, where: str, params: Sequence[Any]) -> list[StoredRecord]:
        rows = self.db.conn.execute(
            f"SELECT source, record_key, url, fetched_at, record FROM source_records WHERE {where}", params
        ).fetchall()
        return [StoredRecord(s, k, u, f, Study.model_validate_json(r)) for s, k, u, f, r in rows]

    def _records_by_key(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], StoredRecord]:
        """Stored records by (source, record_key), a few queries for any number of them (not one each)."""
        by_source: dict[str, list[str]] = {}
        for source, key in keys:
            by_source.setdefault(source, []).append(key)
        found: dict[tuple[str, str], StoredRecord] = {}
        for source, source_keys in by_source.items():
            for chunk in _chunks(source_keys, 500):
                marks = ",".join("?" * len(chunk))
                for record in self._load_records(f"source = ? AND record_key IN ({marks})", [source, *chunk]):
                    found[(record.source, record.record_key)] = record
        return found

    def resolve_aliases(self, nct_ids: Iterable[str]) -> dict[str, str]:
        sql = "SELECT alias, nct_id FROM nct_aliases WHERE alias IN ({marks})"
        return dict(_select_in(self.db.conn, sql, list(set(nct_ids))))

    def apply_batch(
        self,
        batch: Batch,
        *,
        source: str,
        run_id: int | None,
        save_cursor: bool = False,
    ) -> ApplyResult:
        """Write one batch in one transaction: records, merged studies, failures, page visits, cursor."""
        with self.transaction():
            records = self._apply_aliases(batch.records)
            result = self._save_records(records, run_id)
            # A page that now gives a stored record is no longer broken or unresolved: what an earlier visit
            # kept of it would otherwise be listed as a problem and, at the next reparse, replayed over it.
            refused = {failure.url for failure in result.failed}
            settled = [(source, r.url) for r in records if r.url not in refused]
            self.db.conn.executemany("DELETE FROM quarantine WHERE source = ? AND url = ?", settled)
            self.db.conn.executemany("DELETE FROM unresolved WHERE source = ? AND url = ?", settled)
            for failure in [*batch.failures, *result.failed]:
                self.quarantine(source, failure, run_id)
            for item in batch.unresolved:
                self.save_unresolved(source, item)
            if batch.visits:
                self.save_visits(source, batch.visits)
            if save_cursor:
                self.set_cursor(source, batch.cursor, run_id)
        return result

    def _apply_aliases(self, records: list[SourceRecord]) -> list[SourceRecord]:
        """Register the registry's NCT aliases and re-key anything stored under them."""
        conn = self.db.conn
        for record in records:
            for alias in record.study.nct_aliases:
                if alias == record.study.nct_id:
                    continue
                conn.execute(
                    "INSERT INTO nct_aliases (alias, nct_id) VALUES (?, ?) "
                    "ON CONFLICT(alias) DO UPDATE SET nct_id = excluded.nct_id",
                    (alias, record.study.nct_id),
                )
                moved = self._load_records("nct_id = ?", [alias])
                for old in moved:
                    if old.source == record.source:
                        # The same source's page for the retired number is superseded, not merged: its old
                        # values must not compete with the current registration's.
                        conn.execute(
                            "DELETE FROM source_records WHERE source = ? AND record_key = ?",
                            (old.source, old.record_key),
                        )
                        continue
                    rekeyed = old.study.model_copy(update={"nct_id": record.study.nct_id})
                    conn.execute(
                        "UPDATE source_records SET nct_id = ?, record = ? WHERE source = ? AND record_key = ?",
                        (record.study.nct_id, rekeyed.model_dump_json(), old.source, old.record_key),
                    )
                self._delete_study(alias)
        mapping = self.resolve_aliases(r.study.nct_id for r in records)
        if not mapping:
            return records
        rekeyed_records = []
        for record in records:
            current = mapping.get(record.study.nct_id)
            if current and current != record.study.nct_id:
                study = record.study.model_copy(update={"nct_id": current})
                record = SourceRecord(
                    record.source, record.record_key, record.url, study, record.raw, record.content_type
                )
            rekeyed_records.append(record)
        return rekeyed_records

    def _save_records(self, records: list[SourceRecord], run_id: int | None) -> ApplyResult:
        result = ApplyResult()
        if not records:
            return result
        conn = self.db.conn
        # One version per record key: two (a stored page and a kept one, at a reparse) would be written under
        # one key with each other's content. The latest fetch is what the source says now.
        latest: dict[tuple[str, str], SourceRecord] = {}
        for record in records:
            key = (record.source, record.record_key)
            kept = latest.get(key)
            if kept is None or record.study.provenance.fetched_at >= kept.study.provenance.fetched_at:
                latest[key] = record
        result.unchanged += len(records) - len(latest)  # superseded within the batch: not written
        records = list(latest.values())
        by_source: dict[str, list[SourceRecord]] = {}
        for record in records:
            by_source.setdefault(record.source, []).append(record)
        touched: dict[str, dict[tuple[str, str], StoredRecord]] = {}  # nct -> previous versions of changed records
        writes = []
        refreshed = []  # (fingerprint, raw, source, key) of records whose payload changed but not what it says
        known_hashes: dict[int, str] = {}  # id(study) -> its content hash, for study objects written as they are
        now = utcnow()
        for source, group in by_source.items():
            existing = self._existing(source, [r.record_key for r in group])
            serialised = {r.record_key: r.study.record_json() for r in group}
            digests = {key: digest for key, (_, digest) in serialised.items()}
            changed_keys = [
                r.record_key
                for r in group
                if r.record_key in existing and existing[r.record_key][1] != digests[r.record_key]
            ]
            previous = {key: old for (_, key), old in self._records_by_key([(source, k) for k in changed_keys]).items()}
            for record in group:
                digest = digests[record.record_key]
                before = existing.get(record.record_key)
                if before is not None and before[1] == digest:
                    result.unchanged += 1
                    if record.fingerprint is not None and record.fingerprint != before[3]:
                        # The payload changed in a part the canonical record ignores (results, documents...):
                        # keep the new payload (what the source said) and its fingerprint, so the next run
                        # skips it; the record, its hash and the study row are left as they are.
                        refreshed.append(
                            (
                                record.fingerprint,
                                zlib.compress(record.raw, RAW_COMPRESSION),
                                record.source,
                                record.record_key,
                            )
                        )
                    continue
                old = previous.get(record.record_key)
                if old is not None:
                    had = old.study.populated_fields()
                    lost = had - record.study.populated_fields()
                    if len(lost) >= DEGRADED_MIN_LOST and len(lost) * 2 >= len(had):
                        result.failed.append(
                            Failure(
                                record.url,
                                _Degraded(
                                    f"refused: the new version would lose {len(lost)} fields "
                                    f"({', '.join(sorted(lost)[:5])}...); kept the stored one",
                                    url=record.url,
                                ),
                                record.raw,
                                record.content_type,
                            )
                        )
                        continue
                    touched.setdefault(old.study.nct_id, {})[(old.source, old.record_key)] = old
                    result.changed += 1
                else:
                    result.new += 1
                touched.setdefault(record.study.nct_id, {})
                known_hashes[id(record.study)] = digest
                writes.append(
                    [
                        record.source,
                        record.record_key,
                        record.url,
                        record.study.nct_id,
                        _iso(record.study.provenance.fetched_at),
                        digest,
                        serialised[record.record_key][0],
                        record.raw,  # compressed below
                        record.content_type,
                        (before[2] if before else now),
                        now,
                        run_id,
                        record.fingerprint,
                    ]
                )
        if refreshed:
            conn.executemany(
                "UPDATE source_records SET raw_fingerprint = ?, raw = ? WHERE source = ? AND record_key = ?", refreshed
            )
        if not writes:
            return result
        # zlib lets go of the GIL while it compresses: the payloads are compressed in another thread while this
        # one rebuilds the studies (which must see the new records: they are handed over, not read back).
        compressed = _compressor().submit(_compress_all, [row[7] for row in writes])
        fresh = {(r.source, r.record_key): r for r in records}
        written = {(row[0], row[1]): (row[3], row[2], row[4]) for row in writes}
        self._remerge(touched, fresh, run_id, known_hashes, written)
        for row, raw in zip(writes, compressed.result(), strict=True):
            row[7] = raw
        conn.executemany(
            "INSERT INTO source_records (source, record_key, url, nct_id, fetched_at, content_hash, record, raw, "
            "content_type, first_fetched_at, changed_at, run_id, raw_fingerprint) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT(source, record_key) DO UPDATE SET url=excluded.url, nct_id=excluded.nct_id, "
            "fetched_at=excluded.fetched_at, content_hash=excluded.content_hash, record=excluded.record, "
            "raw=excluded.raw, content_type=excluded.content_type, changed_at=excluded.changed_at, "
            "run_id=excluded.run_id, raw_fingerprint=excluded.raw_fingerprint",
            writes,
        )
        return result

    def _remerge(
        self,
        touched: dict[str, dict[tuple[str, str], StoredRecord]],
        fresh: dict[tuple[str, str], SourceRecord],
        run_id: int | None,
        known_hashes: dict[int, str] | None = None,
        written: dict[tuple[str, str], tuple[str, str, str]] | None = None,
    ) -> int:
        """Rebuild the study rows of the given NCTs from all their source records.

        ``known_hashes`` maps ``id()`` of fresh studies to the content hash already computed for them: a trial
        with one source record merges to that very object, whose hash need not be computed again.
        """
        known_hashes = known_hashes or {}
        written = written or {}
        ncts = list(touched)
        keys_by_nct: dict[str, list[tuple[str, str, str, str]]] = {nct: [] for nct in ncts}
        sql = "SELECT nct_id, source, record_key, url, fetched_at FROM source_records WHERE nct_id IN ({marks})"
        for row in _select_in(self.db.conn, sql, ncts):
            if (row[1], row[2]) not in written:  # superseded by the version being written
                keys_by_nct[row[0]].append(row[1:])
        for (source, key), (nct, url, fetched) in written.items():
            if nct in keys_by_nct:
                keys_by_nct[nct].append((source, key, url, fetched))
        old_hashes = self._study_hashes(ncts)
        indexed = search.indexed_documents(self.db.conn, ncts)  # before any row changes: FTS5 needs the old text
        stored = self._records_by_key(
            [
                (source, key)
                for nct in ncts
                for source, key, _, _ in keys_by_nct[nct]
                if (record := fresh.get((source, key))) is None or record.study.nct_id != nct
            ]
        )
        writes = _StudyWrites()
        for nct in ncts:
            current: list[StoredRecord] = []
            for source, key, url, fetched in keys_by_nct[nct]:
                record = fresh.get((source, key))
                if record is not None and record.study.nct_id == nct:
                    current.append(StoredRecord(source, key, url, fetched, record.study))
                elif (source, key) in stored:
                    current.append(stored[(source, key)])
            if not current:
                if nct in old_hashes:  # its only records now say another NCT: no source carries this one
                    writes.removed.append(nct)
                continue
            merged = merge(current, self.precedence)
            row = study_row(merged.study, merged, known_hashes.get(id(merged.study)))
            before = old_hashes.get(nct)
            if before == (row["content_hash"], row["merge_hash"]):
                continue
            if before is not None and before[0] == row["content_hash"]:
                # Same study, different attribution (a mirror now agrees or disagrees): no history, no rewrite.
                writes.reattribute(row, merged)
                continue
            if nct in old_hashes:
                # The trial as it was: previous versions of changed records, stored ones as they are, and none
                # of the records seen for the first time (what they add is a change too).
                previous_versions = touched[nct]
                old_set = [
                    previous_versions.get(key, r)
                    for r in current
                    if (key := (r.source, r.record_key)) in previous_versions or key not in written
                ]
                if old_set:
                    old_merged = merge(old_set, self.precedence)
                    for field_name, before, after in diff_studies(old_merged.study, merged.study):
                        writes.changes.append((nct, run_id, field_name, before, after, utcnow()))
            writes.add(row, merged, nct in old_hashes)
        writes.execute(self.db.conn)
        search.update_index(self.db.conn, indexed, ncts)
        return len(writes.studies)

    def _study_hashes(self, ncts: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        sql = "SELECT nct_id, content_hash, merge_hash FROM studies WHERE nct_id IN ({marks})"
        return {nct: (digest, merge_digest) for nct, digest, merge_digest in _select_in(self.db.conn, sql, ncts)}

    def _delete_study(self, nct: str) -> None:
        search.unindex_studies(self.db.conn, [nct])
        _delete_studies(self.db.conn, [nct])

    def remerge_all(self, run_id: int | None, source: str | None = None) -> int:
        """Rebuild the study rows of every trial (a source carries) that more than one source describes.

        Only rows whose merged content or attribution differs are written, so after a precedence change the
        rows follow the new order; no ``changes`` rows are recorded, since nothing changed upstream. A trial
        with records from one source merges the same whatever the order, so it is not read at all.
        """
        sql = "SELECT nct_id FROM source_records GROUP BY nct_id HAVING count(DISTINCT source) > 1"
        params = [source] if source else []
        if source:
            sql += " AND max(source = ?)"  # ... and this source among them
        nct_ids = [row[0] for row in self.db.conn.execute(sql, params)]
        written = 0
        for chunk in _chunks(list(nct_ids), 500):
            with self.transaction():
                written += self._remerge({nct: {} for nct in chunk}, {}, run_id)
        return written

    # -- reading --------------------------------------------------------------------------------

    def merged_study(self, nct_id: str) -> tuple[Merged, dict[str, dict[str, str]]] | None:
        """The trial merged now (today's precedence), and which record gave each field: both from one merge,
        so what is shown and where it is said to come from always agree."""
        current = self.resolve_aliases([nct_id]).get(nct_id, nct_id)
        records = self._load_records("nct_id = ?", [current])
        if not records:
            return None
        merged = merge(records, self.precedence)
        by_key = {f"{r.source}|{r.record_key}": r for r in records}
        field_sources = {
            field_name: {"source": record.source, "url": record.url, "fetched_at": record.fetched_at}
            for key, fields in merged.provenance.items()
            if (record := by_key.get(key)) is not None
            for field_name in fields
        }
        return merged, dict(sorted(field_sources.items()))

    def source_record_rows(self, source: str | None = None) -> Iterator[dict[str, Any]]:
        sql = "SELECT source, record_key, url, nct_id, fetched_at, content_hash, record, raw, content_type, "
        sql += "first_fetched_at FROM source_records"
        params: list[Any] = []
        if source:
            sql += " WHERE source = ?"
            params.append(source)
        cursor = self.db.conn.execute(sql + " ORDER BY source, record_key", params)
        names = [d[0] for d in cursor.description]
        for row in cursor:
            item = dict(zip(names, row, strict=True))
            item["raw"] = zlib.decompress(item["raw"]) if item["raw"] is not None else b""
            yield item

    def stored_pages(self, table: str, source: str) -> Iterator[dict[str, Any]]:
        """Raw pages kept in ``quarantine`` or ``unresolved`` (for offline re-parsing)."""
        when = "quarantined_at" if table == "quarantine" else "seen_at"
        cursor = self.db.conn.execute(
            f"SELECT url, raw, content_type, {when} FROM [{table}] WHERE source = ? AND raw IS NOT NULL ORDER BY url",
            (source,),
        )
        for url, raw, content_type, seen in cursor.fetchall():
            yield {"url": url, "raw": zlib.decompress(raw), "content_type": content_type, "fetched_at": seen}

    def conflicts(self, nct_id: str | None = None) -> list[tuple[Any, ...]]:
        sql = "SELECT nct_id, field, source, value FROM conflicts"
        params: list[Any] = []
        if nct_id:
            sql += " WHERE nct_id = ?"
            params.append(self.resolve_aliases([nct_id]).get(nct_id, nct_id))
        return self.db.conn.execute(sql + " ORDER BY nct_id, field, source", params).fetchall()

    def changes_since(
        self, since: str, nct_id: str | None = None, field_name: str | None = None
    ) -> list[tuple[Any, ...]]:
        sql = "SELECT changed_at, nct_id, field, old, new, run_id FROM changes WHERE changed_at >= ?"
        params: list[Any] = [since]
        if nct_id:
            sql += " AND nct_id = ?"
            params.append(nct_id)
        if field_name:
            sql += " AND field = ?"
            params.append(field_name)
        return self.db.conn.execute(sql + " ORDER BY changed_at, nct_id, field", params).fetchall()

    # -- failures, unresolved pages, page visits -------------------------------------------------

    def quarantine(self, source: str, failure: Failure, run_id: int | None) -> None:
        """Keep what failed to parse (and why) so it can be re-parsed later; never touches good data."""
        self.db.conn.execute(
            "INSERT INTO quarantine (source, url, run_id, error_type, error, raw, content_type, quarantined_at) "
            "VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(source, url) DO UPDATE SET run_id=excluded.run_id, "
            "error_type=excluded.error_type, error=excluded.error, raw=COALESCE(excluded.raw, quarantine.raw), "
            "content_type=excluded.content_type, quarantined_at=excluded.quarantined_at",
            (
                source,
                failure.url,
                run_id,
                type(failure.error).__name__,
                failure.error.one_line(),
                zlib.compress(failure.raw, 6) if failure.raw is not None else None,
                failure.content_type,
                utcnow(),
            ),
        )

    def release_quarantine(self, source: str, url: str) -> None:
        self.db.conn.execute("DELETE FROM quarantine WHERE source = ? AND url = ?", (source, url))

    def save_unresolved(self, source: str, item: Unresolved) -> None:
        self.db.conn.execute(
            "INSERT INTO unresolved (source, url, title, reason, candidates, raw, content_type, seen_at) "
            "VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(source, url) DO UPDATE SET title=excluded.title, "
            "reason=excluded.reason, candidates=excluded.candidates, raw=excluded.raw, "
            "content_type=excluded.content_type, seen_at=excluded.seen_at",
            (
                source,
                item.url,
                item.title,
                item.reason,
                json.dumps(list(item.candidates)),
                zlib.compress(item.raw, 6),
                item.content_type,
                utcnow(),
            ),
        )

    def resolve_unresolved(self, source: str, url: str) -> None:
        self.db.conn.execute("DELETE FROM unresolved WHERE source = ? AND url = ?", (source, url))

    def save_visits(self, source: str, visits: Sequence[Any]) -> None:
        now = utcnow()
        rows = [(source, v.url, v.lastmod, now if v.outcome else None, v.outcome, v.nct_id, now) for v in visits]
        self.db.conn.executemany(
            "INSERT INTO pages (source, url, lastmod, last_fetched_at, last_outcome, nct_id, first_seen_at) "
            "VALUES (?,?,?,?,?,?,?) ON CONFLICT(source, url) DO UPDATE SET "
            "lastmod=COALESCE(excluded.lastmod, pages.lastmod), "
            "last_fetched_at=COALESCE(excluded.last_fetched_at, pages.last_fetched_at), "
            "last_outcome=COALESCE(excluded.last_outcome, pages.last_outcome), "
            "nct_id=COALESCE(excluded.nct_id, pages.nct_id)",
            rows,
        )

    def page_history(self, source: str) -> dict[str, PageHistory]:
        return {
            url: PageHistory(lastmod, fetched, outcome)
            for url, lastmod, fetched, outcome in self.db.conn.execute(
                "SELECT url, lastmod, last_fetched_at, last_outcome FROM pages WHERE source = ?", (source,)
            )
        }

    # -- runs, cursor and watermark --------------------------------------------------------------

    def start_run(self, source: str, command: str, mode: str, since: str | None = None) -> int:
        import os

        with self.transaction():
            cursor = self.db.conn.execute(
                "INSERT INTO runs (source, command, mode, since, started_at, outcome, pid) VALUES (?,?,?,?,?,?,?)",
                (source, command, mode, since, utcnow(), "running", os.getpid()),
            )
        return int(cursor.lastrowid or 0)

    def finish_run(
        self,
        run_id: int,
        *,
        outcome: str,
        counts: dict[str, Any],
        error: str | None = None,
        watermark: str | None = None,
    ) -> None:
        started = self.db.conn.execute("SELECT started_at FROM runs WHERE id = ?", (run_id,)).fetchone()
        finished = utcnow()
        duration = None
        if started:
            start = dt.datetime.fromisoformat(started[0].replace("Z", "+00:00"))
            duration = round((dt.datetime.now(dt.UTC) - start).total_seconds(), 3)
        values = dict(
            counts, outcome=outcome, error=error, watermark=watermark, finished_at=finished, duration_s=duration
        )
        sets = ", ".join(f"{k} = ?" for k in values)
        with self.transaction():
            self.db.conn.execute(f"UPDATE runs SET {sets} WHERE id = ?", [*values.values(), run_id])

    def mark_abandoned_runs(self) -> int:
        """Runs left 'running' by a killed process are marked 'killed' (the lock proves no one else is running)."""
        with self.transaction():
            cursor = self.db.conn.execute(
                "UPDATE runs SET outcome = 'killed', error = 'process died before the run finished' "
                "WHERE outcome = 'running'"
            )
        return cursor.rowcount

    def last_runs(self, limit: int = 20, source: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM runs"
        params: list[Any] = []
        if source:
            # A one-off fetch names every source it used ("ctgov,veeva"); a reparse of all sources says "all".
            sql += " WHERE source = 'all' OR instr(',' || source || ',', ',' || ? || ',') > 0"
            params.append(source)
        cursor = self.db.conn.execute(sql + " ORDER BY id DESC LIMIT ?", [*params, limit])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    def state(self, source: str) -> dict[str, Any]:
        row = self.db.conn.execute(
            "SELECT watermark, cursor, cursor_run_id FROM harvest_state WHERE source = ?", (source,)
        ).fetchone()
        if not row:
            return {"watermark": None, "cursor": None, "cursor_run_id": None}
        return {"watermark": row[0], "cursor": json.loads(row[1]) if row[1] else None, "cursor_run_id": row[2]}

    def set_cursor(self, source: str, cursor: dict[str, Any] | None, run_id: int | None) -> None:
        self.db.conn.execute(
            "INSERT INTO harvest_state (source, cursor, cursor_run_id, updated_at) VALUES (?,?,?,?) "
            "ON CONFLICT(source) DO UPDATE SET cursor=excluded.cursor, cursor_run_id=excluded.cursor_run_id, "
            "updated_at=excluded.updated_at",
            (source, json.dumps(cursor) if cursor else None, run_id if cursor else None, utcnow()),
        )

    def set_watermark(self, source: str, watermark: str) -> None:
        with self.transaction():
            self.db.conn.execute(
                "INSERT INTO harvest_state (source, watermark, updated_at) VALUES (?,?,?) "
                "ON CONFLICT(source) DO UPDATE SET watermark=excluded.watermark, cursor=NULL, "
                "cursor_run_id=NULL, updated_at=excluded.updated_at",
                (source, watermark, utcnow()),
            )

    def close(self) -> None:
        self.db.close()


@dataclass
class _StudyWrites:
    """The rows of a batch's rebuilt studies, written with one statement per table instead of one per study.

    Each study's rows are its own (keyed by NCT), so the order across studies does not matter; within the
    batch, replaced studies lose their old child rows before any new ones go in.
    """

    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # no record carries them any more
    reattributed: list[tuple[Any, ...]] = field(default_factory=list)  # same study, other sources/provenance
    studies: list[list[Any]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    children: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: {table: [] for table in CHILD_INSERTS})
    conflicts: list[tuple[Any, ...]] = field(default_factory=list)
    changes: list[tuple[Any, ...]] = field(default_factory=list)

    def add(self, row: dict[str, Any], merged: Merged, existed: bool) -> None:
        nct = row["nct_id"]
        now = utcnow()
        if existed:
            self.replaced.append(nct)
        self.columns = [*row, "updated_at"]
        self.studies.append([*row.values(), now, now])
        for table, rows in _child_rows(merged.study).items():
            self.children[table].extend(rows)
        self._add_conflicts(nct, merged)

    def reattribute(self, row: dict[str, Any], merged: Merged) -> None:
        """Only the attribution changed: the row keeps its content and its children, its conflicts are new."""
        self.reattributed.append((row["sources"], row["provenance"], row["merge_hash"], row["nct_id"]))
        self._add_conflicts(row["nct_id"], merged)

    def _add_conflicts(self, nct: str, merged: Merged) -> None:
        self.conflicts.extend((nct, f, s, json.dumps(v, ensure_ascii=False)) for f, s, v in merged.conflicts)

    def execute(self, conn: sqlite3.Connection) -> None:
        _delete_studies(conn, self.removed)
        for table in CHILD_INSERTS:
            conn.executemany(f"DELETE FROM {table} WHERE nct_id = ?", [(nct,) for nct in self.replaced])
        conn.executemany(
            "DELETE FROM conflicts WHERE nct_id = ?",
            [(nct,) for nct in self.replaced + [r[3] for r in self.reattributed]],
        )
        conn.executemany(
            "UPDATE studies SET sources = ?, provenance = ?, merge_hash = ? WHERE nct_id = ?", self.reattributed
        )
        if self.changes:
            conn.executemany(
                "INSERT INTO changes (nct_id, run_id, field, old, new, changed_at) VALUES (?,?,?,?,?,?)", self.changes
            )
        if self.studies:
            marks = ",".join("?" * len(self.columns))
            updates = ", ".join(f"{c}=excluded.{c}" for c in self.columns if c != "nct_id")
            conn.executemany(
                f"INSERT INTO studies ({', '.join(self.columns)}, first_seen_at) VALUES ({marks}, ?) "
                f"ON CONFLICT(nct_id) DO UPDATE SET {updates}",
                self.studies,
            )
        for table, rows in self.children.items():
            if rows:
                conn.executemany(CHILD_INSERTS[table], rows)
        if self.conflicts:
            conn.executemany(
                "INSERT OR REPLACE INTO conflicts (nct_id, field, source, value) VALUES (?,?,?,?)", self.conflicts
            )


def _compress_all(payloads: list[bytes]) -> list[bytes]:
    return [zlib.compress(payload, RAW_COMPRESSION) for payload in payloads]


@functools.lru_cache(maxsize=1)
def _compressor() -> ThreadPoolExecutor:
    """One helper thread for the process, for work that runs outside the GIL."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="harvest-zlib")


class _Degraded(HarvestError):
    """A new version of a record that is much emptier than the stored one."""


def _delete_studies(conn: sqlite3.Connection, ncts: Sequence[str]) -> None:
    """Study rows and everything hanging off them (the search index is the caller's)."""
    for table in (*CHILD_INSERTS, "conflicts", "studies"):
        conn.executemany(f"DELETE FROM {table} WHERE nct_id = ?", [(nct,) for nct in ncts])


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _select_in(conn: sqlite3.Connection, sql: str, values: Sequence[Any], *params: Any) -> Iterator[Any]:
    """The rows of ``sql`` with ``{marks}`` standing for ``values`` (after ``params``), a chunk at a time: SQLite
    caps the number of variables in one statement."""
    for chunk in _chunks(list(values), 500):
        yield from conn.execute(sql.format(marks=",".join("?" * len(chunk))), [*params, *chunk])


SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS studies (
    nct_id TEXT PRIMARY KEY,
    title TEXT, brief_title TEXT, official_title TEXT, acronym TEXT,
    overall_status TEXT, last_known_status TEXT, why_stopped TEXT, status_verified_date TEXT,
    study_type TEXT, phases TEXT,
    start_date TEXT, start_date_type TEXT,
    primary_completion_date TEXT, primary_completion_date_type TEXT,
    completion_date TEXT, completion_date_type TEXT,
    first_posted TEXT, first_posted_type TEXT,
    last_update_posted TEXT, last_update_posted_type TEXT,
    enrollment INTEGER, enrollment_type TEXT,
    allocation TEXT, intervention_model TEXT, primary_purpose TEXT, masking TEXT,
    sex TEXT, minimum_age TEXT, maximum_age TEXT, healthy_volunteers INTEGER, eligibility_criteria TEXT,
    brief_summary TEXT, detailed_description TEXT,
    lead_sponsor TEXT, lead_sponsor_class TEXT,
    has_results INTEGER,
    nct_aliases TEXT, unmapped TEXT, sources TEXT, provenance TEXT,
    content_hash TEXT, merge_hash TEXT, first_seen_at TEXT, updated_at TEXT
);
CREATE TABLE IF NOT EXISTS conditions (
    nct_id TEXT NOT NULL REFERENCES studies(nct_id),
    position INTEGER NOT NULL, name TEXT,
    PRIMARY KEY (nct_id, position));
CREATE TABLE IF NOT EXISTS keywords (
    nct_id TEXT NOT NULL REFERENCES studies(nct_id),
    position INTEGER NOT NULL, keyword TEXT,
    PRIMARY KEY (nct_id, position));
CREATE TABLE IF NOT EXISTS interventions (
    nct_id TEXT NOT NULL REFERENCES studies(nct_id),
    position INTEGER NOT NULL, type TEXT, name TEXT,
    description TEXT, PRIMARY KEY (nct_id, position));
CREATE TABLE IF NOT EXISTS locations (
    nct_id TEXT NOT NULL REFERENCES studies(nct_id),
    position INTEGER NOT NULL, facility TEXT, city TEXT,
    state TEXT, zip TEXT, country TEXT, status TEXT, PRIMARY KEY (nct_id, position));
CREATE TABLE IF NOT EXISTS sponsors (
    nct_id TEXT NOT NULL REFERENCES studies(nct_id),
    position INTEGER NOT NULL, role TEXT, name TEXT,
    class TEXT, PRIMARY KEY (nct_id, position));
CREATE TABLE IF NOT EXISTS contacts (
    nct_id TEXT NOT NULL REFERENCES studies(nct_id),
    position INTEGER NOT NULL, role TEXT, name TEXT,
    affiliation TEXT, phone TEXT, email TEXT, PRIMARY KEY (nct_id, position));
CREATE TABLE IF NOT EXISTS identifiers (
    nct_id TEXT NOT NULL REFERENCES studies(nct_id),
    position INTEGER NOT NULL, scheme TEXT,
    value TEXT, domain TEXT, PRIMARY KEY (nct_id, position));
CREATE TABLE IF NOT EXISTS nct_aliases (alias TEXT PRIMARY KEY, nct_id TEXT NOT NULL REFERENCES studies(nct_id));
CREATE TABLE IF NOT EXISTS source_records (
    source TEXT NOT NULL, record_key TEXT NOT NULL, url TEXT NOT NULL, nct_id TEXT NOT NULL,
    fetched_at TEXT NOT NULL, content_hash TEXT NOT NULL, record TEXT NOT NULL, raw BLOB,
    content_type TEXT, first_fetched_at TEXT, changed_at TEXT, run_id INTEGER, raw_fingerprint TEXT,
    PRIMARY KEY (source, record_key));
CREATE INDEX IF NOT EXISTS source_records_nct ON source_records (nct_id);
CREATE TABLE IF NOT EXISTS conflicts (
    nct_id TEXT NOT NULL REFERENCES studies(nct_id),
    field TEXT NOT NULL, source TEXT NOT NULL, value TEXT,
    PRIMARY KEY (nct_id, field, source));
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY, nct_id TEXT NOT NULL REFERENCES studies(nct_id),
    run_id INTEGER,
    field TEXT NOT NULL, old TEXT, new TEXT, changed_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS changes_nct ON changes (nct_id);
CREATE INDEX IF NOT EXISTS changes_at ON changes (changed_at);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, source TEXT, command TEXT, mode TEXT, since TEXT,
    started_at TEXT, finished_at TEXT, duration_s REAL, outcome TEXT,
    fetched INTEGER DEFAULT 0, new INTEGER DEFAULT 0, changed INTEGER DEFAULT 0, unchanged INTEGER DEFAULT 0,
    failed INTEGER DEFAULT 0, skipped_robots INTEGER DEFAULT 0, unresolved INTEGER DEFAULT 0,
    requests INTEGER DEFAULT 0, retries INTEGER DEFAULT 0, throttled INTEGER DEFAULT 0, bytes INTEGER DEFAULT 0,
    watermark TEXT, error TEXT, pid INTEGER);
CREATE TABLE IF NOT EXISTS harvest_state (source TEXT PRIMARY KEY, watermark TEXT, cursor TEXT,
    cursor_run_id INTEGER, updated_at TEXT);
CREATE TABLE IF NOT EXISTS pages (source TEXT NOT NULL, url TEXT NOT NULL, lastmod TEXT, first_seen_at TEXT,
    last_fetched_at TEXT, last_outcome TEXT, nct_id TEXT, PRIMARY KEY (source, url));
CREATE TABLE IF NOT EXISTS quarantine (source TEXT NOT NULL, url TEXT NOT NULL, run_id INTEGER, error_type TEXT,
    error TEXT, raw BLOB, content_type TEXT, quarantined_at TEXT, PRIMARY KEY (source, url));
CREATE TABLE IF NOT EXISTS unresolved (source TEXT NOT NULL, url TEXT NOT NULL, title TEXT, reason TEXT,
    candidates TEXT, raw BLOB, content_type TEXT, seen_at TEXT, PRIMARY KEY (source, url));
CREATE VIEW IF NOT EXISTS field_provenance AS
    SELECT s.nct_id, f.value AS field,
           substr(p.key, 1, instr(p.key, '|') - 1) AS source,
           r.url, r.fetched_at
    FROM studies s, json_each(s.provenance) p, json_each(p.value) f
    LEFT JOIN source_records r
      ON r.source = substr(p.key, 1, instr(p.key, '|') - 1) AND r.record_key = substr(p.key, instr(p.key, '|') + 1);
"""
