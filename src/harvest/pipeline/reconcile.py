"""``harvest reconcile``: what a full run learns about removed studies, for the price of a list of NCT numbers.

It lists every NCT number the registry shows (``RegistryListing.pages``: the API's ``fields`` parameter, about
600 requests for the whole registry), then asks for each stored trial the list lacks (``pipeline.removals``). A
trial the list shows again is unmarked as it is listed. It is polite and resumable like a run: the same client
and rate limit, the lock, a ``runs`` row (command ``reconcile``), and each page committed with what it listed and
the position after it (``harvest_state``, under ``<registry>:reconcile``), so a reconcile killed at any point
resumes where it stopped, in its listing or in its looking-for.
"""

from __future__ import annotations

import logging
from typing import Any

from harvest.core.errors import EXIT_CANNOT_RUN, FetchError, HarvestError, InputError, SanityCheckFailed
from harvest.pipeline.removals import DEFAULT_MAX_SHARE, Listing, registry_listing, sweep
from harvest.pipeline.report import Callbacks, RunReport
from harvest.pipeline.session import Session
from harvest.store.database import Store
from harvest.store.lock import RunLock

log = logging.getLogger("harvest.reconcile")

LISTING = "reconcile"  # its listing in listed_studies: a full run's own listing is never disturbed


def reconcile(session: Session, *, max_share: float | None = None, callbacks: Callbacks | None = None) -> RunReport:
    """List the registry, then look for what it did not list; ``max_share`` overrides HARVEST_REMOVAL_MAX_SHARE."""
    callbacks = callbacks or Callbacks()
    share = max_share if max_share is not None else session.settings.removal_max_share(DEFAULT_MAX_SHARE)
    registry = session.registry
    state_key = f"{registry.name}:reconcile"
    report = RunReport(source=registry.name, command="reconcile", mode="full", stats=session.stats)
    with RunLock(session.db_path, "harvest reconcile"):
        store = session.open_store()
        try:
            store.runs.mark_abandoned()
            cursor = store.runs.state(state_key)["cursor"] or {}
            began = report.started.date().isoformat()
            if cursor:
                report.mode, began = "resume", cursor.get("began") or began
            else:
                with store.transaction():
                    store.removals.forget_listing(LISTING)
            listing = Listing(LISTING, state_key, began)
            report.run_id = store.runs.start(registry.name, "reconcile", report.mode)
            if cursor.get("sweep"):  # killed after its listing: only the looking-for remains
                report.registry_total = cursor.get("total")
            else:
                _list(session, store, report, listing, cursor.get("source_cursor"), callbacks)
            sweep(session, store, report, listing, share, callbacks)
            report.outcome = "partial" if report.failed else "ok"
            store.runs.finish(report.run_id, outcome=report.outcome, counts=report.counts())
        except HarvestError as exc:
            report.outcome, report.error = "failed", exc.one_line()
            report.error_exit = exc.exit_code if isinstance(exc, InputError) else EXIT_CANNOT_RUN
            session.record_end(store, report)
            if isinstance(exc, SanityCheckFailed | FetchError):
                return report
            raise
        except KeyboardInterrupt:
            session.interrupted(store, report, "the next reconcile resumes from the last committed page")
            raise
        finally:
            store.close()
    return report


def _list(
    session: Session,
    store: Store,
    report: RunReport,
    listing: Listing,
    position: dict[str, Any] | None,
    callbacks: Callbacks,
) -> None:
    """Every page of NCT numbers, each committed with what it listed, what it brought back, and where it stood."""
    for page in registry_listing(session).pages(position):
        report.registry_total = page.total
        after = {"source_cursor": page.cursor} if page.cursor else {"sweep": True, "total": page.total}
        with store.transaction():
            store.removals.note_listed(listing.name, page.nct_ids)
            report.restored += len(store.removals.restore(page.nct_ids, report.run_id))
            store.runs.set_cursor(listing.state_key, {**after, "began": listing.began}, report.run_id)
        report.listed += len(page.nct_ids)
        if callbacks.on_batch:
            callbacks.on_batch(report, page.total)
