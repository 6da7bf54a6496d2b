"""What every HTML mirror shares: sitemap discovery, a nightly page budget, and polite page fetching.

A site module subclasses ``MirrorSource`` and supplies only its quirks:
``is_study_url`` (which sitemap URLs are study pages) and ``parse``. A nightly
run fetches new and changed pages first (sitemap lastmod newer than our last
visit), then retries failures, then the longest-unseen pages, within
``--max-pages``, so a full pass over a large site spreads over several nights.
A killed run needs no cursor: every page visit is committed with its batch,
so the next run's plan simply starts with what is still unseen.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

from harvest.core.errors import (
    BadSitemap,
    FetchError,
    InvalidRecord,
    NotFound,
    ParseError,
    RobotsDisallowed,
    SanityCheckFailed,
)
from harvest.core.ids import normalize_nct
from harvest.core.records import Failure, PageHistory, PageVisit, SourceRecord, Unresolved, Validators
from harvest.core.schema import Study, build_study
from harvest.core.text import without_controls
from harvest.net.limits import host_of
from harvest.sources.base import Batch, HarvestPlan, Page, Source
from harvest.sources.reading.sitemap import SitemapEntry, parse_sitemap

log = logging.getLogger("harvest.mirror")


@dataclass
class Discovery:
    """What a sitemap gave: its study pages, the shards that failed (each a failed page), the shards read."""

    entries: list[SitemapEntry] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    read: list[str] = field(default_factory=list)


class _NotModified:
    """A page that answered 304 to a conditional request: what we hold of it stands."""

    def __repr__(self) -> str:
        return "NOT_MODIFIED"


NOT_MODIFIED = _NotModified()
Outcome = SourceRecord | Unresolved | Failure | _NotModified | None  # None: robots.txt said no

MAX_SITEMAPS = 1000  # an index pointing at more shards than this is not a sitemap we trust
GONE_REVISIT_DAYS = 30  # a gone page whose sitemap lastmod did not move is asked for again after this long
# Pages asked for conditionally: those whose last answer we hold (a stored record, a quarantined body).
CONDITIONAL_OUTCOMES = frozenset({"ok", "failed"})
_NCT = re.compile(r"^nct[0-9]{8}$", re.I)


def page_nct(from_url: str | None, shown: str | None, data: dict[str, Any], url: str) -> tuple[str | None, str]:
    """The trial a page is about, and how that was settled: the NCT number it shows ("label"), else the one
    in its URL ("url"). A page whose two disagree is rejected, not guessed; a shown value that is not an NCT
    number is kept in ``unmapped``."""
    from_label = normalize_nct(shown) if shown and _NCT.match(shown) else None
    if shown and from_label is None:
        data.setdefault("unmapped", {})["nct_id"] = shown
    if from_label and from_url and from_label != normalize_nct(from_url):
        raise InvalidRecord(f"page says {from_label} but its URL says {normalize_nct(from_url)}", url=url)
    if from_label:
        return from_label, "label"
    return (normalize_nct(from_url) if from_url else None), "url"


class MirrorSource(Source):
    """An HTML mirror discovered through its sitemap."""

    discovery = "sitemap"
    takes_since = False  # a sitemap's lastmod already says what changed; a run visits that first
    takes_max_pages = True
    sitemap_path: ClassVar[str] = "/sitemap.xml"
    # About one polite night: at 1 request/s, 20,000 pages take five and a half hours.
    default_max_pages: ClassVar[int] = 20_000
    batch_size: ClassVar[int] = 50

    def is_study_url(self, url: str) -> bool:
        """Whether a sitemap URL is a study page of this site (site modules override)."""
        return True

    def site_path(self, url: str) -> str:
        """A URL's path within the site: what follows the configured base URL's own path, without the query."""
        path = urlsplit(url).path
        base_path = urlsplit(self.base_url).path.rstrip("/")
        return path[len(base_path) :] if base_path and path.startswith(base_path) else path

    def study(self, data: dict[str, Any], page: Page, resolution: str) -> Study:
        """A page's parsed fields as a validated Study, with where and when it was read and how its NCT was;
        control characters, read from anywhere on the page, are left out (``core.text``)."""
        data = without_controls(data)
        data["provenance"] = {
            "source": self.name,
            "url": page.url,
            "fetched_at": page.fetched_at,
            "nct_resolution": resolution,
        }
        return build_study(data, url=page.url)

    # -- discovery ------------------------------------------------------------------------------

    def discover(self) -> Discovery:
        """Study page URLs from the sitemap index and its shards, robots.txt permitting.

        The index itself must be read (else the run cannot know what the site holds, and fails). A shard is a
        page like any other: one that fails (an error status, a body that is not a sitemap) or that the index
        places on another host (never requested: shards stay on the source's host) is a failed page, and the
        run goes on with the others."""
        found = Discovery()
        root = self.base_url + self.sitemap_path
        pending = [root]
        seen: set[str] = set()
        own_host = host_of(self.base_url)
        while pending and len(seen) < MAX_SITEMAPS:
            url = self._on_base(pending.pop(0))
            if url in seen:
                continue
            seen.add(url)
            if host_of(url) != own_host:
                found.failed.append(Failure(url, BadSitemap("sitemap shard on another host; not requested", url=url)))
                continue
            try:
                sitemap = parse_sitemap(self.client.get(url).content, url)
            except RobotsDisallowed:
                log.warning("robots.txt forbids sitemap %s; skipped", url)
                continue
            except FetchError as exc:
                if url == root:
                    raise
                reason = " ".join(str(exc).split())
                found.failed.append(Failure(url, BadSitemap(f"sitemap shard unreadable: {reason}", url=url)))
                continue
            if url != root:
                found.read.append(url)
            if sitemap.is_index:
                pending.extend(entry.url for entry in sitemap.entries)
                continue
            for entry in sitemap.entries:
                page_url = self._on_base(entry.url)
                if self.owns(page_url) and self.is_study_url(page_url):
                    found.entries.append(SitemapEntry(page_url, entry.lastmod))
        found.entries = list(dict.fromkeys(found.entries))
        return found

    def _on_base(self, url: str) -> str:
        """Sitemaps list absolute URLs of the real site; keep them on the configured base URL."""
        real = self.default_base_url.rstrip("/")
        if url.startswith(real) and self.base_url != real:
            return self.base_url + url[len(real) :]
        return url

    # -- planning -------------------------------------------------------------------------------

    @staticmethod
    def schedule(
        entries: list[SitemapEntry], history: dict[str, PageHistory] | None, budget: int
    ) -> list[SitemapEntry]:
        """New pages, then changed ones, then failed ones, then the longest unseen; at most ``budget``.

        A gone page (404/410 on two visits in a row) is revisited only when its sitemap lastmod changes or
        after ``GONE_REVISIT_DAYS``: a dead link costs one request a month, not one a night."""
        history = history or {}
        due = _stamp(dt.datetime.now(dt.UTC) - dt.timedelta(days=GONE_REVISIT_DAYS))
        new, changed, failed, rest = [], [], [], []
        for entry in entries:
            seen = history.get(entry.url)
            if seen is None or seen.last_fetched_at is None:
                new.append(entry)
            elif entry.lastmod and (seen.lastmod != entry.lastmod or entry.lastmod > seen.last_fetched_at):
                changed.append(entry)
            elif seen.last_outcome == "gone":
                if seen.last_fetched_at < due:
                    rest.append(entry)
            elif seen.last_outcome not in ("ok", "unresolved"):
                failed.append(entry)
            else:
                rest.append(entry)
        changed.sort(key=lambda e: e.lastmod or "", reverse=True)
        rest.sort(key=lambda e: history[e.url].last_fetched_at or "")
        return (new + changed + failed + rest)[:budget]

    # -- harvesting -----------------------------------------------------------------------------

    def harvest(self, plan: HarvestPlan) -> Iterator[Batch]:
        found = self.discover()
        entries = found.entries
        if not entries and found.failed:
            raise SanityCheckFailed(
                f"{self.name}: every sitemap shard failed (first: {found.failed[0].error.one_line()}); nothing applied"
            )
        if not entries:
            # A mirror of CT.gov lists thousands of studies; a sitemap with none is a broken or moved site.
            raise SanityCheckFailed(
                f"{self.name}: the sitemap at {self.base_url}{self.sitemap_path} lists no study pages; nothing applied"
            )
        history = dict(plan.page_history)
        budget = plan.max_pages or self.default_max_pages
        planned = self.schedule(entries, history, budget)
        log.info("%s: %d study pages in the sitemap, %d planned this run", self.name, len(entries), len(planned))
        unplanned = {e.url for e in entries} - {e.url for e in planned}
        # Remember every discovered page (and its lastmod) even when it is not fetched tonight.
        discovered = [PageVisit(e.url, e.lastmod) for e in entries if e.url in unplanned]
        if discovered or found.failed or found.read:
            # The shards that failed, each once; those read well leave quarantine if an earlier run kept them.
            yield Batch(visits=discovered, failures=found.failed, recovered=found.read, expected_total=len(planned))
        workers = self.concurrency
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=self.name) as pool:
            for start in range(0, len(planned), self.batch_size):
                chunk = planned[start : start + self.batch_size]
                batch = Batch(expected_total=len(planned))
                for entry, (outcome, validators) in zip(
                    chunk, pool.map(lambda e: self._visit(e, history.get(e.url), plan), chunk), strict=True
                ):
                    self._add(batch, entry, outcome, validators, history.get(entry.url))
                yield batch

    def _visit(self, entry: SitemapEntry, seen: PageHistory | None, plan: HarvestPlan) -> tuple[Outcome, Validators]:
        """Fetch and parse one page; a page we hold (stored, or kept in quarantine) is asked for conditionally,
        and a 304 is ``NOT_MODIFIED``: no body, nothing parsed."""
        known = seen.validators if seen and seen.last_outcome in CONDITIONAL_OUTCOMES else Validators()
        try:
            response = self.client.get(entry.url, headers=known.request_headers() if known else None)
        except RobotsDisallowed:
            return None, Validators()
        except (FetchError, ParseError) as exc:
            return Failure(entry.url, exc, exc.raw, exc.content_type), Validators()
        if response.status == 304 and known:
            return NOT_MODIFIED, known.refreshed(response.headers)
        validators = Validators.of(response.headers)
        try:
            return self.record_from_page(Page.from_response(response), plan), validators
        except (FetchError, ParseError) as exc:
            return Failure(entry.url, exc, exc.raw, exc.content_type), validators

    @staticmethod
    def _add(
        batch: Batch, entry: SitemapEntry, outcome: Outcome, validators: Validators, seen: PageHistory | None
    ) -> None:
        def visit(kind: str, nct_id: str | None = None) -> None:
            batch.visits.append(PageVisit(entry.url, entry.lastmod, kind, nct_id, validators))

        if outcome is None:
            batch.skipped += 1
            visit("robots")
        elif outcome is NOT_MODIFIED:
            # What we hold of the page is what it still says: the stored record, or the failure kept of it.
            assert seen is not None and seen.last_outcome is not None
            if seen.last_outcome == "failed":
                batch.still_failing.append(entry.url)
            else:
                batch.unchanged += 1
            visit(seen.last_outcome)
        elif isinstance(outcome, SourceRecord):
            batch.records.append(outcome)
            visit("ok", outcome.study.nct_id)
        elif isinstance(outcome, Unresolved):
            batch.unresolved.append(outcome)
            visit("unresolved")
        elif isinstance(outcome.error, NotFound):
            # Two answers 404/410 in a row: the page is gone, not failing (its records stay as they are).
            if seen is not None and seen.last_outcome in ("not-found", "gone"):
                batch.gone.append(entry.url)
                visit("gone")
            else:
                batch.failures.append(outcome)
                visit("not-found")
        else:
            batch.failures.append(outcome)
            visit("failed")


def _stamp(when: dt.datetime) -> str:
    return when.isoformat(timespec="seconds").replace("+00:00", "Z")
