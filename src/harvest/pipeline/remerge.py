"""Rebuilding trials from their source records: read them from the store, merge them, hand the rows back.

A trial's row is rewritten only when its merged content or attribution changed; a change of content is also
recorded field by field in ``changes`` (what the trial was before against what it is now).
"""

from __future__ import annotations

from collections.abc import Sequence

from harvest.core.dates import utcnow
from harvest.core.records import SourceRecord, StoredRecord
from harvest.merge import diff_studies, merge
from harvest.store.database import Store
from harvest.store.sql import chunks
from harvest.store.studies import StudyWrites, study_row

RecordKey = tuple[str, str]  # (source, record_key)


def remerge(
    store: Store,
    precedence: Sequence[str],
    touched: dict[str, dict[RecordKey, StoredRecord]],
    fresh: dict[RecordKey, SourceRecord],
    run_id: int | None,
    known_hashes: dict[int, str] | None = None,
    written: dict[RecordKey, tuple[str, str, str]] | None = None,
    *,
    rebuild: bool = False,
    history: bool = True,
) -> int:
    """Rebuild the study rows of the trials in ``touched`` (nct -> previous versions of its changed records).

    ``fresh`` are records being written in this transaction and ``written`` their (nct, url, fetched_at): they
    are merged as handed over, not read back. ``known_hashes`` maps ``id()`` of fresh studies to the content
    hash already computed for them: a trial with one source record merges to that very object, whose hash
    need not be computed again. ``rebuild`` rewrites a row and its child tables even when its hashes are the
    stored ones (after a schema upgrade, tables the old version never filled); ``history=False`` records no
    ``changes`` (a re-parse changes what harvest reads, not what the registry says). Returns how many study rows
    were written.
    """
    known_hashes = known_hashes or {}
    written = written or {}
    ncts = list(touched)
    keys_by_nct: dict[str, list[tuple[str, str, str, str]]] = {nct: [] for nct in ncts}
    for nct, source, key, url, fetched in store.records.refs_of_studies(ncts):
        if (source, key) not in written:  # superseded by the version being written
            keys_by_nct[nct].append((source, key, url, fetched))
    for (source, key), (nct, url, fetched) in written.items():
        if nct in keys_by_nct:
            keys_by_nct[nct].append((source, key, url, fetched))
    old_hashes = store.studies.hashes(ncts)
    stored = store.records.by_key(
        [
            (source, key)
            for nct in ncts
            for source, key, _, _ in keys_by_nct[nct]
            if (record := fresh.get((source, key))) is None or record.nct_id != nct
        ]
    )
    writes = StudyWrites()
    for nct in ncts:
        if _prepared_alone(writes, nct, keys_by_nct[nct], fresh, old_hashes.get(nct), rebuild=rebuild, history=history):
            continue
        current: list[StoredRecord] = []
        for source, key, url, fetched in keys_by_nct[nct]:
            record = fresh.get((source, key))
            if record is not None and record.nct_id == nct:
                current.append(StoredRecord(source, key, url, fetched, record.study))
            elif (source, key) in stored:
                current.append(stored[(source, key)])
        if not current:
            if nct in old_hashes:  # its only records now say another NCT: no source carries this one
                writes.removed.append(nct)
            continue
        merged = merge(current, precedence)
        row = study_row(merged.study, merged, known_hashes.get(id(merged.study)))
        before = old_hashes.get(nct)
        if before == (row["content_hash"], row["merge_hash"]) and not rebuild:
            continue
        if before is not None and before[0] == row["content_hash"] and not rebuild:
            # Same study, different attribution (a mirror now agrees or disagrees): no history, no rewrite.
            writes.reattribute(row, merged.conflicts)
            continue
        if nct in old_hashes and history and before is not None and before[0] != row["content_hash"]:
            # The trial as it was: previous versions of changed records, stored ones as they are, and none
            # of the records seen for the first time (what they add is a change too).
            previous_versions = touched[nct]
            old_set = [
                previous_versions.get(key, r)
                for r in current
                if (key := (r.source, r.record_key)) in previous_versions or key not in written
            ]
            if old_set:
                old_merged = merge(old_set, precedence)
                for field_name, old_value, new_value in diff_studies(old_merged.study, merged.study):
                    writes.changes.append((nct, run_id, field_name, old_value, new_value, utcnow()))
        writes.add(row, merged, nct in old_hashes)
    return store.studies.write(writes, ncts)


def _prepared_alone(
    writes: StudyWrites,
    nct: str,
    keys: list[tuple[str, str, str, str]],
    fresh: dict[RecordKey, SourceRecord],
    before: tuple[str, str | None] | None,
    *,
    rebuild: bool,
    history: bool,
) -> bool:
    """A trial that one record makes, prepared by a parse worker: its rows are the worker's (merging one record
    gives that record), so it is written without being parsed here. Only a trial whose content changed while
    ``changes`` are recorded needs the study itself, to say what changed: False, and the caller merges it."""
    if len(keys) != 1:
        return False
    record = fresh.get(keys[0][:2])
    if record is None or record.prepared is None or record.nct_id != nct:
        return False
    row, children = record.prepared.row, record.prepared.children
    if before is None:
        writes.add_rows(row, children, [], existed=False)
    elif before == (row["content_hash"], row["merge_hash"]) and not rebuild:
        pass
    elif before[0] == row["content_hash"] and not rebuild:
        writes.reattribute(row, [])
    elif not history or before[0] == row["content_hash"]:
        writes.add_rows(row, children, [], existed=True)
    else:
        return False
    return True


def remerge_all(
    store: Store, precedence: Sequence[str], run_id: int | None, source: str | None = None, *, rebuild: bool = False
) -> int:
    """Rebuild the study rows of every trial (a source carries) that more than one source describes.

    Only rows whose merged content or attribution differs are written, so after a precedence change the
    rows follow the new order; no ``changes`` rows are recorded, since nothing changed upstream. A trial
    with records from one source merges the same whatever the order, so it is not read at all, unless
    ``rebuild``: then every trial's row and child tables are written again from its records.
    """
    written = 0
    ncts = store.records.studies_of(source) if rebuild else store.records.multi_source_studies(source)
    for chunk in chunks(ncts):
        with store.transaction():
            touched: dict[str, dict[RecordKey, StoredRecord]] = {nct: {} for nct in chunk}
            written += remerge(store, precedence, touched, {}, run_id, rebuild=rebuild, history=False)
    return written
