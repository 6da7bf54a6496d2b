"""Record history: the registry's past versions of trials, fetched incrementally, and what each one changed.

For each trial: one request for its version list, then one per version the file does not hold yet, oldest
first. Each version is committed on its own with what it changed against the version before it (field by
field, named and valued as in ``changes``), so a command killed at any point loses at most the version in
flight, and the next one fetches only what is still missing. A trial whose history cannot be read (a layout
change of these undocumented endpoints, a 404) fails alone, with one line; the others go on.

``harvest history NCT…`` runs this under the lock as its own command; ``harvest run --history`` runs it, after
its batches, for the trials in ``history_queue``: those the run (or an earlier, interrupted one) found new or
changed, queued in the same transaction as their records.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from collections.abc import Sequence

from harvest.core.errors import FetchError, HarvestError, InputError, ParseError
from harvest.core.ids import normalize_nct
from harvest.core.records import Failure
from harvest.core.schema import Study
from harvest.merge import diff_studies
from harvest.pipeline.report import Callbacks, RunReport
from harvest.pipeline.session import Session
from harvest.sources.ctgov import ClinicalTrialsGov
from harvest.sources.ctgov_history import SOURCE_LABEL, CtgovHistory, FetchedVersion
from harvest.store.database import Store
from harvest.store.lock import RunLock
from harvest.store.sql import iso
from harvest.store.versions import VersionRow

log = logging.getLogger("harvest.history")


def history(session: Session, nct_ids: Sequence[str], *, callbacks: Callbacks | None = None) -> RunReport:
    """``harvest history NCT…``: fetch what is missing of each trial's history, under the lock."""
    callbacks = callbacks or Callbacks()
    ncts = list(dict.fromkeys(normalize_nct(n) for n in nct_ids))  # bad input fails before anything is asked
    reader = history_reader(session)
    report = RunReport(source=reader.source.name, command="history", mode="one-off", stats=session.stats)
    with RunLock(session.db_path, "harvest history"):
        store = session.open_store()
        try:
            store.runs.mark_abandoned()
            report.run_id = store.runs.start(report.source, "history", "one-off")
            fetch_histories(reader, store, ncts, report, callbacks, count_trials=True)
            report.outcome = "partial" if report.failed else "ok"
            store.runs.finish(report.run_id, outcome=report.outcome, counts=report.counts())
        except (HarvestError, sqlite3.Error, OSError) as exc:
            session.failed(store, report, exc)
            raise
        except KeyboardInterrupt:
            session.interrupted(store, report, "the versions fetched before are stored; run it again for the rest")
            raise
        finally:
            store.close()
    return report


def history_reader(session: Session) -> CtgovHistory:
    registry = session.registry
    if not isinstance(registry, ClinicalTrialsGov):  # pragma: no cover - the registry is CT.gov
        raise InputError(f"record history is read from ClinicalTrials.gov, not {registry.name}")
    return CtgovHistory(registry)


def fetch_queued(session: Session, store: Store, report: RunReport, callbacks: Callbacks) -> None:
    """The history of every queued trial (``harvest run --history``); a trial leaves the queue once read."""
    queued = store.versions.queued()
    if queued:
        log.info("fetching the record history of %d new or changed trials", len(queued))
        fetch_histories(history_reader(session), store, queued, report, callbacks, dequeue=True)


def fetch_histories(
    reader: CtgovHistory,
    store: Store,
    ncts: Sequence[str],
    report: RunReport,
    callbacks: Callbacks,
    *,
    count_trials: bool = False,
    dequeue: bool = False,
) -> None:
    """Each trial's missing versions; a failed trial is counted and reported, and the others go on.

    ``count_trials``: the trials are what the command fetched (``harvest history``: fetched, new for a trial
    seen for the first time, changed for one that gained versions, unchanged); otherwise (a run) only
    ``versions`` and ``failed`` count. ``dequeue``: take each trial read from ``history_queue``.
    """
    for nct in ncts:
        try:
            had, added = _one_trial(reader, store, nct, report.run_id)
        except (FetchError, ParseError) as exc:
            report.failed += 1
            if callbacks.on_failure:
                callbacks.on_failure(SOURCE_LABEL, Failure(exc.url or reader.list_url(nct), exc))
            continue
        report.versions += added
        if dequeue:
            with store.transaction():
                store.versions.dequeue(nct)
        if count_trials:
            report.fetched += 1
            if added and not had:
                report.new += 1
            elif added:
                report.changed += 1
            else:
                report.unchanged += 1
        if callbacks.on_batch:
            callbacks.on_batch(report, None)


def _one_trial(reader: CtgovHistory, store: Store, nct: str, run_id: int | None) -> tuple[int, int]:
    """(versions the file held, versions added) for one trial; each version is committed as it comes."""
    nct = store.aliases.current(nct)
    listing = reader.versions(nct)
    stored = store.versions.stored(nct)
    had = len(stored)
    added = 0
    previous: tuple[int, Study] | None = None  # (version, Study) of the last version compared against
    for entry in listing.entries:
        if entry.version in stored:
            continue
        prior = max((v for v in stored if v < entry.version), default=None)
        before = None
        if prior is not None:
            before = previous[1] if previous is not None and previous[0] == prior else store.versions.study(nct, prior)
        fetched = reader.version(nct, entry.version)
        with store.transaction():
            study, digest = _save(store, fetched, entry.date, entry.status, before, run_id)
        stored[entry.version] = digest
        previous = (entry.version, study)
        added += 1
    return had, added


def _save(
    store: Store, fetched: FetchedVersion, date: str, status: str | None, before: Study | None, run_id: int | None
) -> tuple[Study, str]:
    """Write one version and what it changed against ``before`` (inside the caller's transaction)."""
    study = fetched.study
    if study.nct_id != fetched.nct_id:  # the version of a record filed under a number since retired
        study = study.model_copy(update={"nct_id": fetched.nct_id})
    record, digest = study.record_json()
    row = VersionRow(
        nct_id=fetched.nct_id,
        version=fetched.version,
        version_date=date,
        overall_status=status or study.overall_status,
        content_hash=digest,
        record=record,
        raw=fetched.raw,
        url=fetched.url,
        fetched_at=iso(fetched.fetched_at),
        run_id=run_id,
    )
    store.versions.save(row, diff_studies(before, study) if before is not None else [])
    return study, digest


def reparse_versions(session: Session, store: Store, report: RunReport, callbacks: Callbacks) -> None:
    """Every stored version parsed again from the body kept of it (``harvest reparse``), offline: records,
    hashes and what each version changed follow today's parser. A body that no longer parses keeps its rows."""
    reader = history_reader(session)
    for nct in store.versions.trials():
        before: Study | None = None
        with store.transaction():
            for row in store.versions.rows(nct):
                fetched_at = dt.datetime.fromisoformat(row["fetched_at"].replace("Z", "+00:00"))
                try:
                    fetched = reader.parse_version(nct, row["version"], row["url"], row["raw"], fetched_at)
                except (FetchError, ParseError) as exc:
                    report.failed += 1
                    if callbacks.on_failure:
                        callbacks.on_failure(SOURCE_LABEL, Failure(row["url"], exc))
                    before = store.versions.study(nct, row["version"])
                    continue
                before, _ = _save(store, fetched, row["version_date"], row["overall_status"], before, row["run_id"])
