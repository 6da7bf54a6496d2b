"""One-off fetches: ``harvest fetch NCT… / URL…``, now, stored like a run's records."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from harvest.core.errors import FetchError, HarvestError, NotAddressable, ParseError
from harvest.core.ids import nct_from_registry_address, normalize_nct
from harvest.core.records import Failure, SourceRecord, Unresolved
from harvest.pipeline.report import Callbacks, RunReport
from harvest.pipeline.session import Session
from harvest.sources import source_for_url
from harvest.sources.base import Batch, HarvestPlan, Source
from harvest.store.lock import RunLock


def resolve_targets(session: Session, targets: Sequence[str], source_name: str | None) -> list[tuple[Source, str, str]]:
    """Check every target before touching the network: (source, kind, value) per target."""
    resolved = []
    for target in targets:
        text = target.strip()
        # A ClinicalTrials.gov study address as copied from the browser is its NCT number: the registry's
        # record is fetched from its API, wherever its base URL points.
        from_address = nct_from_registry_address(text)
        if from_address is None and text.lower().startswith(("http://", "https://")):
            chosen = session.source(source_name) if source_name else source_for_url(text, session.sources)
            resolved.append((chosen, "url", text))
        else:
            nct = from_address or normalize_nct(text)
            source = session.source(source_name) if source_name else session.registry
            if type(source).url_for is Source.url_for:
                raise NotAddressable(f"{source.name} cannot fetch by NCT number; give a page URL")
            resolved.append((source, "nct", nct))
    return resolved


def fetch(
    session: Session,
    targets: Sequence[str],
    *,
    source_name: str | None = None,
    callbacks: Callbacks | None = None,
) -> tuple[list[SourceRecord], RunReport]:
    callbacks = callbacks or Callbacks()
    resolved = resolve_targets(session, targets, source_name)
    names = sorted({source.name for source, _, _ in resolved})
    report = RunReport(source=",".join(names), command="fetch", mode="one-off", stats=session.stats)
    fetched: list[SourceRecord] = []
    with RunLock(session.db_path, "harvest fetch"):
        store = session.open_store()
        try:
            store.runs.mark_abandoned()
            report.run_id = store.runs.start(report.source, "fetch", "one-off")
            writer = session.writer(store)
            plan = HarvestPlan(title_search=getattr(session.registry, "search_titles", None))
            for source, kind, value in resolved:
                batch = Batch()
                try:
                    item = source.fetch_nct(value) if kind == "nct" else source.fetch_page(value, plan)
                except (FetchError, ParseError) as exc:
                    raw = getattr(exc, "raw", None)
                    failure = Failure(exc.url or value, exc, raw)
                    report.failed += 1
                    if callbacks.on_failure:
                        callbacks.on_failure(source.name, failure)
                    if isinstance(exc, ParseError) and raw is not None:
                        batch.failures.append(failure)
                        writer.apply(batch, source=source.name, run_id=report.run_id)
                    continue
                report.fetched += 1
                if isinstance(item, Unresolved):
                    batch.unresolved.append(item)
                else:
                    batch.records.append(item)
                    if source.is_registry:  # the registry shows it: not removed; a redirect made it an alias
                        batch.listed = [item.study.nct_id]
                        if kind == "nct" and item.study.nct_id != value:
                            batch.aliases = {value: item.study.nct_id}
                result = writer.apply(batch, source=source.name, run_id=report.run_id)
                report.add(source.name, batch, result, callbacks)
                if isinstance(item, SourceRecord) and not result.failed:  # not refused as worse than stored
                    fetched.append(item)
            report.outcome = "partial" if report.failed or report.unresolved else "ok"
            store.runs.finish(report.run_id, outcome=report.outcome, counts=report.counts())
        except (HarvestError, sqlite3.Error, OSError) as exc:
            session.failed(store, report, exc)
            raise
        except KeyboardInterrupt:
            session.interrupted(store, report, "what was fetched before is stored")
            raise
        finally:
            store.close()
    return fetched, report
