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
import time
from contextlib import AbstractContextManager
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
from harvest.pipeline.apply import BatchWriter
from harvest.pipeline.history import fetch_queued
from harvest.pipeline.parsing import Parsing
from harvest.pipeline.removals import DEFAULT_MAX_SHARE, Listing, sweep
from harvest.pipeline.report import Callbacks, RunReport
from harvest.pipeline.session import Session
from harvest.sources.base import Batch, HarvestPlan, Source
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
LISTING = "run"  # the name of a full run's listing in listed_studies (harvest reconcile's is its own)


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
    """One source's run under the lock; an option the source does not take is refused first (exit 2)."""
    check_options(session.source(source_name), full=full, since=since, max_pages=max_pages, history=history)
    with RunLock(session.db_path, f"harvest run --source {source_name}"):
        return run_locked(
            session, source_name, full=full, since=since, max_pages=max_pages, callbacks=callbacks, history=history
        )


def run_all(
    session: Session,
    *,
    full: bool = False,
    since: dt.date | None = None,
    max_pages: int | None = None,
    callbacks: Callbacks | None = None,
    history: bool = False,
) -> list[RunReport]:
    """Every source in turn under one lock (``harvest run --all``), the registry first, each given the options
    it takes (--full, --since, --history: the registry; --max-pages: the mirrors). A source that fails is
    reported as failed and the next one runs; Ctrl-C stops them all."""
    reports = []
    with RunLock(session.db_path, "harvest run --all"):
        for name, source in session.sources.items():
            session.fresh_stats()  # each source's report counts its own requests
            options: dict[str, Any] = dict(
                full=full and source.takes_since,
                since=since if source.takes_since else None,
                max_pages=max_pages if source.takes_max_pages else None,
                history=history and source.is_registry,
            )
            try:
                reports.append(run_locked(session, name, callbacks=callbacks, **options))
            except HarvestError as exc:  # its runs row says so already; its summary line will
                failed = RunReport(source=name, outcome="failed", error=exc.one_line(), stats=session.stats)
                failed.error_exit = exc.exit_code
                reports.append(failed)
    return reports


def check_options(
    source: Source, *, full: bool = False, since: dt.date | None = None, max_pages: int | None, history: bool
) -> None:
    if history and not source.is_registry:
        raise InputError(f"--history reads the registry's record history; {source.name} is a mirror of it")
    if (full or since) and not source.takes_since:
        raise InputError(
            f"{source.name} is harvested by its sitemap (new and changed pages first, then the least recently "
            "seen), so --full/--since do not apply; bound the run with --max-pages"
        )
    if max_pages is not None and not source.takes_max_pages:
        raise InputError(f"{source.name} is harvested by update date; --max-pages applies to mirror sites")


def run_locked(
    session: Session,
    source_name: str,
    *,
    full: bool = False,
    since: dt.date | None = None,
    max_pages: int | None = None,
    callbacks: Callbacks | None = None,
    history: bool = False,
) -> RunReport:
    """One source's run, by a caller that holds the lock (``run``, or ``run --all`` for every source in turn)."""
    source = session.source(source_name)
    callbacks = callbacks or Callbacks()
    report = RunReport(source=source_name, stats=session.stats)
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
        # A full run of the registry lists every study it shows: what it does not list is looked for after it.
        # (Not after a listing resumed from a cursor saved by a harvest that did not note what it listed.)
        listing = None
        if full and source.is_registry:
            if cursor and not cursor.get("listing"):
                log.info("resuming a full run begun before listings were noted: removed studies not looked for")
            else:
                listing = Listing(LISTING, source_name, began)
        if listing and not cursor:
            with store.transaction():
                store.removals.forget_listing(listing.name)
        report.run_id = store.runs.start(
            source_name, "run", report.mode, since.isoformat() if since and not full else None
        )
        resume = {"full": full, "since": since.isoformat() if since and not full else None, "began": began}
        if listing:
            resume["listing"] = True
        _indexes_before_run(store, first_load=full and not cursor, resuming=bool(cursor and cursor.get("full")))
        if cursor and cursor.get("sweep"):  # killed after its listing: only the looking-for remains
            report.registry_total = cursor.get("total")
        else:
            plan = HarvestPlan(
                full=full,
                since=None if full else since,
                cursor=(cursor or {}).get("source_cursor"),
                max_pages=max_pages,
                page_history=store.pages.history(source_name),
                title_search=None if source.is_registry else getattr(session.registry, "search_titles", None),
                stored_fingerprints=lambda keys: store.records.fingerprints(source_name, keys),
            )
            _run_batches(session, store, source, plan, report, callbacks, resume, history, listing)
            if report.fetched == 0 and report.failed == 0 and full:
                with store.transaction():  # nothing was listed: no looking-for to resume either
                    store.runs.set_cursor(source_name, None, None)
                raise SanityCheckFailed(
                    f"{source_name} returned zero studies on a full run; nothing applied "
                    "(is the base URL right, or is the source down?)"
                )
        if store.indexes.deferred():
            _build_indexes(store)
        if listing:
            sweep(session, store, report, listing, session.settings.removal_max_share(DEFAULT_MAX_SHARE), callbacks)
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


def _indexes_before_run(store: Store, *, first_load: bool, resuming: bool) -> None:
    """A first load into an empty file sets the readers' indexes aside (``store.deferred_indexes``) until it ends;
    a run that is not the resumption of that load builds them first."""
    if store.indexes.deferred():
        if not resuming:
            _build_indexes(store)
    elif first_load and store.indexes.defer_if_empty():
        log.info("a first load into an empty file: the readers' indexes are built when it ends")


def _build_indexes(store: Store) -> None:
    started = time.monotonic()
    built = store.indexes.build()
    log.info("built the %d indexes set aside during the first load in %.1f s", built, time.monotonic() - started)


def _run_batches(
    session: Session,
    store: Store,
    source: Source,
    plan: HarvestPlan,
    report: RunReport,
    callbacks: Callbacks,
    resume: dict[str, Any],
    history: bool = False,
    listing: Listing | None = None,
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
        _apply_batches(session, store, source, plan, report, callbacks, resume, history, listing)
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
    listing: Listing | None = None,
) -> None:
    writer = session.writer(store, queue_history=history, listing=listing.name if listing else None)
    # The parts of one page are applied in one transaction, committed with the part that moves the resume
    # position: a page is committed whole, with its cursor, and SQLite writes the pages its parts share (the
    # tables' last leaves, the search index's segments) once a page, not once a part.
    open_page: AbstractContextManager[None] | None = None
    with Parsing(source, session.settings) as parsing:
        try:
            for number, batch in enumerate(parsing.batches(source.harvest(plan)), start=1):
                if open_page is None and not batch.moves_cursor:
                    open_page = store.transaction()
                    open_page.__enter__()
                _apply_batch(writer, number, batch, source, report, callbacks, resume, listing)
                if batch.moves_cursor and open_page is not None:
                    committing, open_page = open_page, None
                    committing.__exit__(None, None, None)
                del batch  # a written batch is ~50 MB: let it go before the source fetches the next page
                if number % COLLECT_EVERY == 0:
                    gc.collect()
        except BaseException as exc:
            if open_page is not None:  # the page's parts go with it; the run resumes at the page
                open_page.__exit__(type(exc), exc, exc.__traceback__)
            raise
        if open_page is not None:
            open_page.__exit__(None, None, None)


def _apply_batch(
    writer: BatchWriter,
    page: int,
    batch: Batch,
    source: Source,
    report: RunReport,
    callbacks: Callbacks,
    resume: dict[str, Any],
    listing: Listing | None,
) -> None:
    """One parsed batch: refused if it looks like a broken source, else applied with its resume position."""
    attempted = len(batch.records) + len(batch.failures) + batch.unchanged
    broken = [f for f in batch.failures if isinstance(f.error, ParseError | BadResponse)]
    if attempted >= SANITY_MIN_BATCH and len(broken) > SANITY_MAX_FAILED_SHARE * attempted:
        sample = broken[0].error.one_line()
        raise SanityCheckFailed(
            f"batch {page}: {len(broken)} of {attempted} records failed to parse; "
            f"batch not applied, run stopped (first: {sample})"
        )
    # What resumes the run: the source's own position plus how the run was asked for. After the last page
    # of a full listing, what resumes it is the looking-for of what it did not list.
    if listing and batch.expected_total is not None:
        report.registry_total = batch.expected_total
    if batch.cursor is not None:
        batch.cursor = {"source_cursor": batch.cursor, **resume}
    elif listing:
        batch.cursor = {"sweep": True, "total": report.registry_total, **resume}
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
