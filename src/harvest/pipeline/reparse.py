"""``harvest reparse``: every stored raw payload parsed again with today's parsers and merged again, offline."""

from __future__ import annotations

import datetime as dt
import sqlite3

from harvest.core.errors import FetchError, HarvestError, MissingIdentity, ParseError
from harvest.core.records import Failure, SourceRecord
from harvest.core.stored import load_record
from harvest.pipeline.history import reparse_versions
from harvest.pipeline.remerge import remerge_all
from harvest.pipeline.report import Callbacks, RunReport
from harvest.pipeline.session import Session
from harvest.sources.base import Batch, Page, Source
from harvest.store.database import Store
from harvest.store.lock import RunLock
from harvest.store.tables import REBUILD_KEY


def reparse(session: Session, source_name: str | None = None, callbacks: Callbacks | None = None) -> RunReport:
    """Re-parse every stored raw payload with today's parsers and re-merge; no network.

    Kept pages are re-tried too: a quarantined page that now parses is stored, and an
    unresolved one that now shows its NCT number is resolved. What a re-parse changes is how harvest reads
    the payloads, not what the registry said, so it records no ``changes``. The registry's stored past versions
    (``study_versions``) are parsed again too, and what each changed is worked out again.
    """
    callbacks = callbacks or Callbacks()
    names = [session.source(source_name).name] if source_name else list(session.sources)
    report = RunReport(source=source_name or "all", command="reparse", mode="offline", stats=session.stats)
    with RunLock(session.db_path, "harvest reparse"):
        store = session.open_store()
        try:
            store.runs.mark_abandoned()
            report.run_id = store.runs.start(report.source, "reparse", "offline")
            for name in names:
                _reparse_source(session, store, session.sources[name], report, callbacks)
            if session.registry.name in names:  # the registry's past versions are its payloads too
                reparse_versions(session, store, report, callbacks)
            # Rows whose records did not change still follow today's merge policy (HARVEST_PRECEDENCE), and
            # every row is written again with its child tables: tables a schema upgrade added fill here even
            # for records whose canonical hash did not change.
            remerge_all(store, session.precedence, report.run_id, source_name, rebuild=True)
            if source_name is None:
                store.runs.forget_meta(REBUILD_KEY)
            report.outcome = "partial" if report.failed else "ok"
            store.runs.finish(report.run_id, outcome=report.outcome, counts=report.counts())
        except (HarvestError, sqlite3.Error, OSError) as exc:
            session.failed(store, report, exc)
            raise
        except KeyboardInterrupt:
            session.interrupted(store, report, "batches re-parsed before are stored; run it again")
            raise
        finally:
            store.close()
    return report


def _reparse_source(session: Session, store: Store, source: Source, report: RunReport, callbacks: Callbacks) -> None:
    writer = session.writer(store, history=False)
    # A re-parse means the parser changed: stored fingerprints vouch for what the old one made of a payload.
    store.records.forget_fingerprints(source.name)
    batch = Batch()
    stored_at: dict[str, dt.datetime] = {}  # record key -> when its stored version was fetched

    def flush() -> None:
        nonlocal batch
        # A kept page that now parses is stored like any page; storing it settles its quarantine or
        # unresolved row (and a version refused as worse than the stored one stays quarantined).
        result = writer.apply(batch, source=source.name, run_id=report.run_id)
        report.add(source.name, batch, result, callbacks)
        batch = Batch()

    for row in store.records.rows(source.name):
        report.fetched += 1
        page = Page(row["url"], row["raw"], _when(row["fetched_at"]), row["content_type"])
        stored_at[row["record_key"]] = page.fetched_at
        try:
            study = source.parse(page)
        except MissingIdentity as missing:
            stored = load_record(row["record"])
            resolution = stored.provenance.nct_resolution or "title-exact"
            study = source.rebuild(missing, row["nct_id"], resolution, page)
        except (ParseError, FetchError) as exc:
            batch.failures.append(Failure(page.url, exc, page.content, page.content_type))
            continue
        batch.records.append(
            SourceRecord(source.name, row["record_key"], row["url"], study, row["raw"], row["content_type"])
        )
        if len(batch.records) >= 500:
            flush()
    superseded: list[tuple[str, str]] = []
    for table in ("quarantine", "unresolved"):
        for row in store.pages.kept(table, source.name):
            page = Page(row["url"], row["raw"], _when(row["fetched_at"]), row["content_type"])
            key = source.record_key(page.url)
            if key in stored_at and stored_at[key] >= page.fetched_at:
                superseded.append((table, page.url))  # a later visit stored this page: nothing to replay
                continue
            try:
                study = source.parse(page)
            except (ParseError, FetchError):
                continue  # still broken (or still without an NCT): it stays where it is
            report.fetched += 1
            batch.records.append(SourceRecord(source.name, key, page.url, study, page.content, page.content_type))
    flush()
    with store.transaction():
        for table, url in superseded:
            settle = store.pages.release_quarantine if table == "quarantine" else store.pages.resolve_unresolved
            settle(source.name, url)


def _when(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
