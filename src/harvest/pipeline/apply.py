"""One batch into the file, in one transaction: records, the studies they change, failures, visits, cursor.

This is where harvest decides what a batch does to the file: a record whose canonical content is what the
file holds is not rewritten; a new version that would lose most of what the stored one says is refused and
quarantined; records under a retired NCT number move to the current one; every trial whose records changed is
merged again (``pipeline.remerge``). The store only writes what it is handed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from harvest.core.dates import utcnow
from harvest.core.errors import HarvestError, NotFound
from harvest.core.records import Failure, SourceRecord, StoredRecord
from harvest.pipeline.remerge import remerge
from harvest.sources.base import Batch
from harvest.store.database import Store
from harvest.store.pages import KeptFailure
from harvest.store.records import RecordRow
from harvest.store.sql import iso

# A changed record that would lose this many populated fields (and at least half of them) is refused:
# that is a broken page or API answer, not an update.
DEGRADED_MIN_LOST = 5


@dataclass
class ApplyResult:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    failed: list[Failure] = field(default_factory=list)  # refused as worse than the stored version
    # (url, since when) of pages failing the same way as when they were quarantined: not new trouble
    still_failing: list[tuple[str, str]] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    ncts: set[str] = field(default_factory=set)  # trials with a new or changed record written
    restored: int = 0  # trials marked removed that the registry shows again


class _Degraded(HarvestError):
    """A new version of a record that is much emptier than the stored one."""


class BatchWriter:
    """Applies batches to one store, merging with one precedence."""

    def __init__(
        self,
        store: Store,
        precedence: Sequence[str],
        *,
        history: bool = True,
        queue_history: bool = False,
        listing: str | None = None,
    ) -> None:
        self.store = store
        self.precedence = list(precedence)
        self.history = history  # record field changes in ``changes`` (not when re-parsing: nothing changed upstream)
        # Queue the trials of new and changed records for their record history (``harvest run --history``), in
        # the transaction that writes them: a run killed before it fetched their history leaves them queued.
        self.queue_history = queue_history
        # A full listing of the registry under way: what each batch lists is noted with it (``store.removals``),
        # so that once the listing is complete, the stored trials it did not list can be looked for.
        self.listing = listing

    def apply(self, batch: Batch, *, source: str, run_id: int | None, save_cursor: bool = False) -> ApplyResult:
        """Write one batch in one transaction: records, merged studies, failures, page visits, cursor."""
        store = self.store
        with store.transaction():
            records, moved_to = self._follow_aliases(batch.records, batch.aliases, source)
            result = self._save_records(records, run_id)
            if moved_to - result.ncts:  # records moved from a retired number to a trial not rebuilt above
                moved = {nct: {} for nct in sorted(moved_to - result.ncts)}
                remerge(store, self.precedence, moved, {}, run_id, history=self.history)
            if batch.listed:  # what the registry lists is not removed (any more)
                result.restored = len(store.removals.restore(batch.listed, run_id))
                if self.listing:
                    store.removals.note_listed(self.listing, batch.listed)
            # A page that now gives a stored record is no longer broken or unresolved: what an earlier visit
            # kept of it would otherwise be listed as a problem and, at the next reparse, replayed over it.
            refused = {failure.url for failure in result.failed}
            store.pages.settle(source, [r.url for r in records if r.url not in refused] + batch.recovered)
            self._keep_failures(batch, result, source, run_id)
            for item in batch.unresolved:
                store.pages.save_unresolved(source, item)
            if batch.visits:
                store.pages.save_visits(source, batch.visits)
            if self.queue_history and result.ncts:
                store.versions.enqueue(sorted(result.ncts), run_id)
            if save_cursor:
                store.runs.set_cursor(source, batch.cursor, run_id)
        return result

    def _keep_failures(self, batch: Batch, result: ApplyResult, source: str, run_id: int | None) -> None:
        """Quarantine what failed, unless it fails the same way as the copy already kept (same error, same
        bytes): that page is still failing, its row (and the date it has failed since) stays as it is. A 404
        is no failure to keep: the page's visit records it (``pages``), and its records stay."""
        store = self.store
        failures = [*batch.failures, *result.failed]
        kept = store.pages.kept_failures(source, [f.url for f in failures] + batch.still_failing)
        not_found = [f.url for f in failures if isinstance(f.error, NotFound)] + batch.gone
        if not_found:
            store.pages.forget_not_found(source, not_found)
        for failure in failures:
            if isinstance(failure.error, NotFound):
                continue
            before = kept.get(failure.url)
            if before is not None and _same_way(before, failure):
                result.still_failing.append((failure.url, before.since))
                continue
            store.pages.quarantine(source, failure, run_id)
        for url in batch.still_failing:  # a 304 for a page whose last visit failed
            before = kept.get(url)
            if before is not None:
                result.still_failing.append((url, before.since))
            else:  # settled since (a reparse stored it): the page is what we hold
                result.unchanged += 1

    def _follow_aliases(
        self, records: list[SourceRecord], redirected: Mapping[str, str], source: str
    ) -> tuple[list[SourceRecord], set[str]]:
        """Register the registry's NCT aliases (those its records name, and those ``redirected`` to another
        number) and re-key anything stored under them; also the trials that other sources' records moved to."""
        store = self.store
        retired = [(a, r.study.nct_id, r.source) for r in records for a in r.study.nct_aliases if a != r.study.nct_id]
        retired += [(alias, current, source) for alias, current in redirected.items() if alias != current]
        moved_to: set[str] = set()
        for alias, current, by in retired:
            store.aliases.register(alias, current)
            for old in store.records.of_study(alias):
                if old.source == by:
                    # The same source's page for the retired number is superseded, not merged: its old
                    # values must not compete with the current registration's.
                    store.records.delete(old.source, old.record_key)
                else:
                    store.records.rekey(old, current)
                    moved_to.add(current)
            store.studies.delete([alias])
        mapping = store.aliases.resolve(r.study.nct_id for r in records)
        if not mapping:
            return records, moved_to
        rekeyed = []
        for record in records:
            current = mapping.get(record.study.nct_id)
            if current and current != record.study.nct_id:
                study = record.study.model_copy(update={"nct_id": current})
                record = SourceRecord(
                    record.source, record.record_key, record.url, study, record.raw, record.content_type
                )
            rekeyed.append(record)
        return rekeyed, moved_to

    def _save_records(self, records: list[SourceRecord], run_id: int | None) -> ApplyResult:
        result = ApplyResult()
        if not records:
            return result
        store = self.store
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
        writes: list[RecordRow] = []
        refreshed = []  # (fingerprint, raw, source, key) of records whose payload changed but not what it says
        known_hashes: dict[int, str] = {}  # id(study) -> its content hash, for study objects written as they are
        now = utcnow()
        for source, group in by_source.items():
            existing = store.records.versions(source, [r.record_key for r in group])
            serialised = {r.record_key: r.study.record_json() for r in group}
            digests = {key: digest for key, (_, digest) in serialised.items()}
            changed_keys = [
                r.record_key
                for r in group
                if r.record_key in existing and existing[r.record_key].content_hash != digests[r.record_key]
            ]
            previous = {key: old for (_, key), old in store.records.by_key([(source, k) for k in changed_keys]).items()}
            for record in group:
                digest = digests[record.record_key]
                before = existing.get(record.record_key)
                if before is not None and before.content_hash == digest:
                    result.unchanged += 1
                    if record.fingerprint is not None and record.fingerprint != before.fingerprint:
                        # The payload changed in a part the canonical record ignores (results, documents...):
                        # keep the new payload (what the source said) and its fingerprint, so the next run
                        # skips it; the record, its hash and the study row are left as they are.
                        refreshed.append((record.fingerprint, record.raw, record.source, record.record_key))
                    continue
                old = previous.get(record.record_key)
                if old is not None:
                    refusal = _degraded(old, record)
                    if refusal is not None:
                        result.failed.append(refusal)
                        continue
                    touched.setdefault(old.study.nct_id, {})[(old.source, old.record_key)] = old
                    result.changed += 1
                else:
                    result.new += 1
                touched.setdefault(record.study.nct_id, {})
                result.ncts.add(record.study.nct_id)
                known_hashes[id(record.study)] = digest
                writes.append(
                    RecordRow(
                        source=record.source,
                        record_key=record.record_key,
                        url=record.url,
                        nct_id=record.study.nct_id,
                        fetched_at=iso(record.study.provenance.fetched_at),
                        content_hash=digest,
                        record=serialised[record.record_key][0],
                        raw=record.raw,
                        content_type=record.content_type,
                        first_fetched_at=before.first_fetched_at if before else now,
                        changed_at=now,
                        run_id=run_id,
                        fingerprint=record.fingerprint,
                    )
                )
        if refreshed:
            store.records.refresh_payloads(refreshed)
        if not writes:
            return result
        # The studies are rebuilt from the records being written (handed over, not read back) while the store
        # compresses their payloads.
        fresh = {(r.source, r.record_key): r for r in records}
        written = {(row.source, row.record_key): (row.nct_id, row.url, row.fetched_at) for row in writes}
        with store.records.saving(writes):
            remerge(store, self.precedence, touched, fresh, run_id, known_hashes, written, history=self.history)
        return result


def _same_way(before: KeptFailure, failure: Failure) -> bool:
    """A failure is the kept one again: same error type and same bytes (or, with no body, same error)."""
    if before.error_type != type(failure.error).__name__ or before.raw != failure.raw:
        return False
    return failure.raw is not None or before.error == failure.error.one_line()


def _degraded(old: StoredRecord, new: SourceRecord) -> Failure | None:
    """A refusal when the new version would lose most of what the stored one says, else None."""
    had = old.study.populated_fields()
    lost = had - new.study.populated_fields()
    if len(lost) >= DEGRADED_MIN_LOST and len(lost) * 2 >= len(had):
        error = _Degraded(
            f"refused: the new version would lose {len(lost)} fields ({', '.join(sorted(lost)[:5])}...); "
            "kept the stored one",
            url=new.url,
        )
        return Failure(new.url, error, new.raw, new.content_type)
    return None
