"""Studies the registry no longer shows: looked for after a complete listing, asked about one by one, marked.

A full listing of the registry (``harvest run --full``, ``harvest reconcile``) notes what it lists as it goes
(``store.removals``). Once it is complete, each stored trial with a registry record that it did not list is asked
for alone (``RegistryListing.presence``), and its answer is committed on its own:

- 404: the registry no longer shows it. ``studies.removed_on`` is set to the day the listing began (a trial
  already marked keeps its first day) and a ``changes`` row says so; every row of the trial stays, mirrors'
  records included.
- a redirect to another NCT number: merged. The number becomes an alias (``nct_aliases``) and what was stored
  under it moves to the current trial, as when the current record names the alias itself.
- its own record: the listing missed it; the record is stored as a run stores it, and nothing is marked.
- anything else (a 5xx after retries, a body that does not parse): a failure of the run; nothing is marked, and
  the next listing asks again.

A listing glitch must never mark anything. So nothing is asked, and the run is refused as a sanity check
(exit 3), when the listing fell short of the registry's own ``totalCount``, or when more of the file is missing
from it than a small share (``HARVEST_REMOVAL_MAX_SHARE``): a registry does not withdraw a tenth of itself
overnight, a truncated listing does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from harvest.core.errors import FetchError, InputError, ParseError, SanityCheckFailed
from harvest.core.records import Failure
from harvest.pipeline.report import Callbacks, RunReport
from harvest.pipeline.session import Session
from harvest.sources.base import Batch
from harvest.sources.ctgov import ClinicalTrialsGov
from harvest.sources.ctgov_listing import RegistryListing
from harvest.store.database import Store

log = logging.getLogger("harvest.removals")

# The registry changes while it is listed (an hour for a full run): a listing this share short of the totalCount
# its first page gave is still complete; one further short ended early.
LISTING_SLACK = 0.001
# The share of the registry's stored trials a listing may find missing before it is taken for a glitch, and the
# number of trials that is always allowed (a small file is not refused over one removal).
DEFAULT_MAX_SHARE = 0.01
REMOVAL_FLOOR = 10


@dataclass(frozen=True)
class Listing:
    """A full listing of the registry: its name in ``listed_studies``, the ``harvest_state`` key its cursor is
    saved under, and the day it began (what a trial it finds removed is marked with)."""

    name: str
    state_key: str
    began: str


def registry_listing(session: Session) -> RegistryListing:
    registry = session.registry
    if not isinstance(registry, ClinicalTrialsGov):  # pragma: no cover - the registry is CT.gov
        raise InputError(f"the registry listing is read from ClinicalTrials.gov, not {registry.name}")
    return RegistryListing(registry)


def sweep(
    session: Session,
    store: Store,
    report: RunReport,
    listing: Listing,
    max_share: float,
    callbacks: Callbacks,
) -> None:
    """After a complete listing: ask for each stored trial it did not list, mark what is gone, follow merges.

    Raises ``SanityCheckFailed`` (and forgets the listing, so the next one starts over) when the listing looks
    broken; otherwise the listing is forgotten once every missing trial has been asked for.
    """
    registry = session.registry
    total = report.registry_total
    report.listed = listed = store.removals.listed_count(listing.name)
    if not listed or total is None or listed < total - int(total * LISTING_SLACK):
        _forget(store, listing)
        counted = f"{total:,} (its totalCount)" if total is not None else "an unknown number (no totalCount)"
        raise SanityCheckFailed(
            f"the registry listed {listed:,} studies of {counted}: a listing that ends early marks nothing; "
            "nothing marked"
        )
    missing = store.removals.unlisted(listing.name, registry.name)
    live = store.removals.live()
    allowed = max(REMOVAL_FLOOR, int(live * max_share))
    if len(missing) > allowed:
        _forget(store, listing)
        raise SanityCheckFailed(
            f"{len(missing):,} of the {live:,} stored studies are not in the registry's listing, more than "
            f"{max_share:.1%} of the file (HARVEST_REMOVAL_MAX_SHARE): taken for a listing glitch; nothing marked"
        )
    if missing:
        log.info("%d stored studies are not in the registry's listing: asking for each alone", len(missing))
    reader = registry_listing(session)
    writer = session.writer(store, listing=listing.name)
    for nct in missing:
        try:
            presence = reader.presence(nct)
        except (FetchError, ParseError) as exc:
            report.failed += 1
            if callbacks.on_failure:
                callbacks.on_failure(registry.name, Failure(exc.url or registry.url_for(nct), exc))
            continue
        report.fetched += 1
        if presence.verdict == "removed":
            with store.transaction():
                report.removed += len(store.removals.mark([nct], listing.began, report.run_id))
            log.info("%s is no longer on the registry (404): marked removed on %s", nct, listing.began)
        else:
            record = presence.record
            assert record is not None  # merged and live answers carry the record served
            batch = Batch(records=[record], listed=[record.study.nct_id])
            if presence.verdict == "merged":
                batch.aliases = {nct: record.study.nct_id}
                report.merged += 1
                log.info("%s was merged into %s (the registry redirects it): now an alias", nct, record.study.nct_id)
            else:
                log.warning("%s is on the registry but was not in its listing; nothing marked", nct)
            result = writer.apply(batch, source=registry.name, run_id=report.run_id)
            report.add(registry.name, batch, result, callbacks)
        if callbacks.on_batch:
            callbacks.on_batch(report, None)
    _forget(store, listing)


def _forget(store: Store, listing: Listing) -> None:
    """The listing is done with (looked through, or refused): what it saw and where it stood go together."""
    with store.transaction():
        store.removals.forget_listing(listing.name)
        store.runs.set_cursor(listing.state_key, None, None)
