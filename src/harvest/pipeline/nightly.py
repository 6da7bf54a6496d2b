"""The nightly run of one source: discover → fetch → parse (site module) → merge → store, batch by batch.

It knows no site. It takes the lock, asks the source for batches, refuses a batch that looks like a broken
source (most records failing), commits each good batch with its resume cursor, and records the run. The
watermark moves only when a run completes. With ``history`` (the registry only), the trials the run found new
or changed are queued with their records and their record history is fetched after the batches
(``pipeline.history``).
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import sqlite3
from typing import Any

from harvest.core.errors import (
    EXIT_CANNOT_RUN,
    BadResponse,
    FetchError,
    HarvestError,
    InputError,
    ParseError,
    SanityCheckFailed,
)
from harvest.pipeline.history import fetch_queued
from harvest.pipeline.report import Callbacks, RunReport
from harvest.pipeline.session import Session
from harvest.sources.base import HarvestPlan, Source
from harvest.store.database import Store
from harvest.store.lock import RunLock

log = logging.getLogger("harvest.run")

# A batch of at least this many records in which more than half fail is not applied: that is a
# layout or API change, not bad luck, and applying it would replace good rows with nothing.
SANITY_MIN_BATCH = 10
SANITY_MAX_FAILED_SHARE = 0.5
# Batches between two runs of the cyclic collector (see _run_batches). A collection walks what is alive, the
# batch the source still holds included (~20 ms for a page of 1,000 studies), and finds next to nothing.
COLLECT_EVERY = 10


def run(
    session: Session,
    source_name: str,
    *,
    full: bool = False,
    since: dt.date | None = None,
    max_pages: int | None = None,
    callbacks: Callbacks | None = None,
    history: bool = False,
) -> RunReport:
    source = session.source(source_name)
    if history and not source.is_registry:
        raise InputError(f"--history reads the registry's record history; {source_name} is a mirror of it")
    if (full or since) and not source.takes_since:
        raise InputError(
            f"{source_name} is harvested by its sitemap (new and changed pages first, then the least recently "
            "seen), so --full/--since do not apply; bound the run with --max-pages"
        )
    if max_pages is not None and not source.takes_max_pages:
        raise InputError(f"{source_name} is harvested by update date; --max-pages applies to mirror sites")
    callbacks = callbacks or Callbacks()
    report = RunReport(source=source_name, stats=session.stats)
    with RunLock(session.db_path, f"harvest run --source {source_name}"):
        store = session.open_store()
        try:
            store.runs.mark_abandoned()
            state = store.runs.state(source_name)
            cursor = state["cursor"]
            if cursor and (full or since):
                log.warning("discarding the saved position of an unfinished run: --full/--since start over")
                cursor = None
            # The day the query began: the watermark of a resumed run is that of the run it completes, so
            # studies updated while it lay killed are still asked for next time.
            began = report.started.date().isoformat()
            if cursor:
                report.mode = "resume"
                since = dt.date.fromisoformat(cursor["since"]) if cursor.get("since") else None
                full = bool(cursor.get("full"))
                began = cursor.get("began") or began
            elif full or (since is None and state["watermark"] is None):
                report.mode, full = "full", True
            else:
                report.mode = "incremental"
                since = since or dt.date.fromisoformat(state["watermark"])
            report.run_id = store.runs.start(
                source_name, "run", report.mode, since.isoformat() if since and not full else None
            )
            plan = HarvestPlan(
                full=full,
                since=None if full else since,
                cursor=(cursor or {}).get("source_cursor"),
                max_pages=max_pages,
                page_history=store.pages.history(source_name),
                title_search=None if source.is_registry else getattr(session.registry, "search_titles", None),
                stored_fingerprints=lambda keys: store.records.fingerprints(source_name, keys),
            )
            resume = {"full": full, "since": since.isoformat() if since and not full else None, "began": began}
            _run_batches(session, store, source, plan, report, callbacks, resume, history)
            if report.fetched == 0 and report.failed == 0 and full:
                raise SanityCheckFailed(
                    f"{source_name} returned zero studies on a full run; nothing applied "
                    "(is the base URL right, or is the source down?)"
                )
            if history:
                fetch_queued(session, store, report, callbacks)
            report.outcome = "partial" if report.failed else "ok"
            watermark = began
            store.runs.finish(report.run_id, outcome=report.outcome, counts=report.counts(), watermark=watermark)
            store.runs.set_watermark(source_name, watermark)
        except HarvestError as exc:
            report.outcome = "failed"
            report.error = exc.one_line()
            report.error_exit = exc.exit_code if isinstance(exc, InputError) else EXIT_CANNOT_RUN
            session.record_end(store, report)
            if isinstance(exc, SanityCheckFailed | FetchError):
                return report
            raise
        except (sqlite3.Error, OSError) as exc:  # outside a transaction: still a known reason, not a killed run
            session.failed(store, report, exc)
            raise
        except KeyboardInterrupt:
            session.interrupted(store, report, "the next run resumes from the last committed page")
            raise
        finally:
            store.close()
    return report


def _run_batches(
    session: Session,
    store: Store,
    source: Source,
    plan: HarvestPlan,
    report: RunReport,
    callbacks: Callbacks,
    resume: dict[str, Any],
    history: bool = False,
) -> None:
    # Python's cyclic collector is paused while batches are fetched, parsed and written, and run every few
    # batches instead. A page of studies is a million short-lived objects (none in cycles); with the
    # collector on, each 700 allocations start a collection and the older generations, the page included,
    # are walked again and again: measured, the collector took a fifth of a full CT.gov run. What exists
    # before the run (modules, schemas: ~90,000 objects) is frozen so those collections skip it.
    collecting = gc.isenabled()
    gc.disable()
    gc.freeze()
    try:
        _apply_batches(session, store, source, plan, report, callbacks, resume, history)
    finally:
        gc.unfreeze()
        if collecting:
            gc.enable()


def _apply_batches(
    session: Session,
    store: Store,
    source: Source,
    plan: HarvestPlan,
    report: RunReport,
    callbacks: Callbacks,
    resume: dict[str, Any],
    history: bool = False,
) -> None:
    writer = session.writer(store, queue_history=history)
    for page, batch in enumerate(source.harvest(plan), start=1):
        attempted = len(batch.records) + len(batch.failures) + batch.unchanged
        broken = [f for f in batch.failures if isinstance(f.error, ParseError | BadResponse)]
        if attempted >= SANITY_MIN_BATCH and len(broken) > SANITY_MAX_FAILED_SHARE * attempted:
            sample = broken[0].error.one_line()
            raise SanityCheckFailed(
                f"batch {page}: {len(broken)} of {attempted} records failed to parse; "
                f"batch not applied, run stopped (first: {sample})"
            )
        # What resumes the run: the source's own position plus how the run was asked for.
        batch.cursor = {"source_cursor": batch.cursor, **resume} if batch.cursor is not None else None
        result = writer.apply(batch, source=source.name, run_id=report.run_id, save_cursor=batch.moves_cursor)
        report.fetched += (
            len(batch.records)
            + len(batch.failures)
            + len(batch.unresolved)
            + batch.unchanged
            + len(batch.gone)
            + len(batch.still_failing)
        )
        report.add(source.name, batch, result, callbacks)
        if callbacks.on_batch:
            callbacks.on_batch(report, batch.expected_total)
        del batch  # a written batch is ~50 MB: let it go before the source fetches the next page
        if page % COLLECT_EVERY == 0:
            gc.collect()
