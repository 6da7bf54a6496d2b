"""The contract every site module meets.

A source knows one site: its base URL, how to find study pages (an API,
a sitemap), how to address one study, and how to turn one response into a
canonical ``Study``. It knows nothing about SQLite, merging or other sites.
The run loop asks it for ``Batch``es; each batch is committed atomically
together with the cursor that resumes the run after it.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from harvest.core.config import Settings
from harvest.core.errors import (
    AmbiguousURL,
    MissingIdentity,
    NoSourceForURL,
    NotAddressable,
    ParseError,
)
from harvest.core.records import Failure, PageHistory, PageVisit, SourceRecord, Unresolved
from harvest.core.schema import Study
from harvest.net.http import HttpClient
from harvest.net.responses import Response, decode_body


@dataclass(frozen=True)
class Page:
    """A response as a parser sees it: the bytes, where they came from, when."""

    url: str
    content: bytes
    fetched_at: dt.datetime
    content_type: str | None = None

    @property
    def text(self) -> str:
        return decode_body(self.content, self.content_type)

    @classmethod
    def from_response(cls, response: Response) -> Page:
        return cls(response.url, response.content, response.fetched_at, response.headers.get("content-type"))


@dataclass
class Batch:
    records: list[SourceRecord] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)
    visits: list[PageVisit] = field(default_factory=list)
    skipped: int = 0  # robots.txt said no
    unchanged: int = 0  # fetched, and recognised (stored fingerprint, or a 304): neither parsed nor written
    gone: list[str] = field(default_factory=list)  # pages that answered 404/410 again: gone, not failing
    # pages that answered 304 where their last visit failed: the failure kept in quarantine stands
    still_failing: list[str] = field(default_factory=list)
    # pages read well again that give no record (a sitemap shard): what an earlier visit kept of them goes
    recovered: list[str] = field(default_factory=list)
    cursor: dict[str, Any] | None = None  # where to resume once this batch is committed
    expected_total: int | None = None  # for progress, when the source knows
    # False for a part of a page that is not its last: committing it leaves the resume position where it was
    # (a run killed now fetches that page again, and finds its stored studies unchanged).
    moves_cursor: bool = True
    # The registry only: every NCT number it listed in this batch, parsed or not (a trial it shows is not removed)
    listed: list[str] = field(default_factory=list)
    # The registry only: retired NCT numbers found redirected to the current one (alias -> current)
    aliases: dict[str, str] = field(default_factory=dict)


TitleSearch = Callable[[str], list[Study]]
# record keys -> the fingerprint stored with each of those records (keys without one are left out)
StoredFingerprints = Callable[[Sequence[str]], Mapping[str, str]]


@dataclass(frozen=True)
class HarvestPlan:
    """What the run loop asks of a source: read-only state from the store, and the user's options."""

    full: bool = False
    since: dt.date | None = None
    cursor: dict[str, Any] | None = None
    max_pages: int | None = None
    page_history: Mapping[str, PageHistory] = field(default_factory=dict)
    title_search: TitleSearch | None = None
    stored_fingerprints: StoredFingerprints | None = None


class Source(ABC):
    """One site. Subclasses set the class attributes and implement ``parse`` and ``harvest``."""

    name: ClassVar[str]
    label: ClassVar[str]  # human name, for --help and README
    default_base_url: ClassVar[str]
    default_rps: ClassVar[float] = 1.0
    default_concurrency: ClassVar[int] = 1
    discovery: ClassVar[str]  # "api", "sitemap", ... (documentation and the contract tests)
    # The registry itself (the source of truth), not a mirror: never outranked in a merge, the default of
    # `harvest fetch NCT…`, and what mirrors ask (``search_titles``) to identify a page that shows no NCT.
    is_registry: ClassVar[bool] = False
    # How a run can be narrowed: by update date (--since/--full; needs a source that can be asked what
    # changed) or by a page budget (--max-pages; a crawl). A run given an option its source ignores is refused.
    takes_since: ClassVar[bool] = True
    takes_max_pages: ClassVar[bool] = False

    def __init__(self, client: HttpClient, settings: Settings | None = None) -> None:
        settings = settings or Settings()
        self.client = client
        self.base_url = settings.base_url(self.name, self.default_base_url)
        self.rps = settings.rps(self.name, self.default_rps)
        self.concurrency = settings.concurrency(self.name, self.default_concurrency)
        client.set_policy(self.base_url, rps=self.rps, concurrency=self.concurrency)

    # -- addressing -----------------------------------------------------------------------------

    def owns(self, url: str) -> bool:
        base = self.base_url.rstrip("/")
        return url == base or url.startswith(base + "/") or url.startswith(base + "?")

    def is_study_url(self, url: str) -> bool:
        """Whether a URL is one of this site's study pages (by its path); sites override. Routes `harvest fetch URL`."""
        return self.owns(url)

    def record_key(self, url: str) -> str:
        """A page's name within this source: its URL relative to the base, so a moved base keeps keys."""
        base = self.base_url.rstrip("/")
        return url[len(base) :] if url.startswith(base) else url

    def url_for(self, nct_id: str) -> str:
        """The URL of one study's page, for sites that can address a study by NCT number."""
        raise NotAddressable(f"{self.name} cannot fetch a study by NCT number; give a page URL instead")

    # -- parsing --------------------------------------------------------------------------------

    @abstractmethod
    def parse(self, page: Page) -> Study:
        """Turn one response into a Study, or raise LayoutChanged / NotAStudyPage / MissingIdentity / InvalidRecord."""

    def resolve_identity(self, missing: MissingIdentity, page: Page, plan: HarvestPlan) -> Study | Unresolved:
        """Called when ``parse`` found no NCT on the page. Default: leave it unresolved."""
        return Unresolved(page.url, missing.title, "page shows no NCT number", page.content, page.content_type)

    def rebuild(self, missing: MissingIdentity, nct_id: str, resolution: str, page: Page) -> Study:
        """Rebuild a Study whose NCT was resolved earlier (``harvest reparse`` never goes to the network)."""
        raise missing

    # -- fetching -------------------------------------------------------------------------------

    def fetch_page(self, url: str, plan: HarvestPlan | None = None) -> SourceRecord | Unresolved:
        """Fetch and parse one page. Errors propagate (the caller decides whether to quarantine)."""
        response = self.client.get(url)
        return self.record_from_page(Page.from_response(response), plan or HarvestPlan())

    def record_from_page(self, page: Page, plan: HarvestPlan) -> SourceRecord | Unresolved:
        try:
            study = self.parse(page)
        except ParseError as exc:
            if not isinstance(exc, MissingIdentity):
                exc.raw, exc.content_type = page.content, page.content_type
                exc.url = exc.url or page.url
                raise
            resolved = self.resolve_identity(exc, page, plan)
            if isinstance(resolved, Unresolved):
                return resolved
            study = resolved
        return SourceRecord(self.name, self.record_key(page.url), page.url, study, page.content, page.content_type)

    def fetch_nct(self, nct_id: str) -> SourceRecord:
        record = self.fetch_page(self.url_for(nct_id))
        if isinstance(record, Unresolved):  # a page addressed by NCT cannot be unresolved in practice
            raise MissingIdentity(record.title, {}, url=record.url)
        return record

    @abstractmethod
    def harvest(self, plan: HarvestPlan) -> Iterator[Batch]:
        """Yield batches of records; each carries the cursor to resume after it."""


_REGISTRY: dict[str, type[Source]] = {}


def register(cls: type[Source]) -> type[Source]:
    """Class decorator: make a source available to the CLI, the run loop and the contract tests."""
    _REGISTRY[cls.name] = cls
    return cls


def registry_name() -> str:
    """The registered source that is the registry (``Source.is_registry``)."""
    return next(name for name, cls in _REGISTRY.items() if cls.is_registry)


def registered() -> Mapping[str, type[Source]]:
    return dict(_REGISTRY)


def source_for_url(url: str, sources: Mapping[str, Source]) -> Source:
    """The source a URL belongs to: among the sources whose base URL it is under, the one whose
    ``is_study_url`` accepts it; the longest base URL breaks a tie. Several sources may share one base URL (a
    local replay server serving every site), so the page's path decides, not the prefix alone."""
    owners = [source for source in sources.values() if source.owns(url)]
    if not owners:
        bases = ", ".join(f"{s.name}={s.base_url}" for s in sources.values())
        raise NoSourceForURL(f"no source serves {url} (configured: {bases})")
    accepting = [source for source in owners if source.is_study_url(url)]
    pool = accepting or owners  # none accepts: the site's own parser says what the page is not
    longest = max(len(source.base_url) for source in pool)
    best = [source for source in pool if len(source.base_url) == longest]
    if len(best) > 1:
        names = ", ".join(source.name for source in best)
        raise AmbiguousURL(f"{url} could be a page of several sources ({names}); pass --source to choose")
    return best[0]
