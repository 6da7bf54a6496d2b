"""What one site said about one trial, and what became of a page: the records every layer passes on.

Sources make them, the pipeline decides what to do with them, the store writes them. They live here, in
core, so that the store never needs to know the site layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harvest.core.errors import HarvestError
from harvest.core.schema import Study


@dataclass(frozen=True)
class SourceRecord:
    """What one site said about one trial at one time."""

    source: str
    record_key: str  # stable name of the page within its source (URL relative to the base URL)
    url: str
    study: Study
    raw: bytes  # exactly what ``parse`` consumed, so ``harvest reparse`` can redo it offline
    content_type: str | None = None
    # A digest of the parts of ``raw`` that ``parse`` depends on, for sources whose payload also carries
    # volatile parts (CT.gov's data release stamp). Stored with the record; the next run skips parsing a
    # payload whose fingerprint is the stored one. None: the source does not fingerprint.
    fingerprint: str | None = None


@dataclass(frozen=True)
class Failure:
    """A page or record that could not be fetched or parsed; ``raw`` is kept (quarantined) when we have it."""

    url: str
    error: HarvestError
    raw: bytes | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class Unresolved:
    """A study page whose NCT number could not be established; kept, listed, never guessed."""

    url: str
    title: str | None
    reason: str
    raw: bytes
    content_type: str | None = None
    candidates: tuple[str, ...] = ()


@dataclass(frozen=True)
class Validators:
    """What a server said to recognise its page again (``ETag``, ``Last-Modified``): sent back on the next
    visit as ``If-None-Match`` / ``If-Modified-Since``, so an unchanged page answers 304 with no body."""

    etag: str | None = None
    last_modified: str | None = None

    @classmethod
    def of(cls, headers: Mapping[str, str]) -> Validators:
        return cls(headers.get("etag"), headers.get("last-modified"))

    def __bool__(self) -> bool:
        return bool(self.etag or self.last_modified)

    def request_headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers

    def refreshed(self, headers: Mapping[str, str]) -> Validators:
        """After a 304: what it sent, else what we had (a 304 need not repeat them)."""
        return Validators(headers.get("etag") or self.etag, headers.get("last-modified") or self.last_modified)


@dataclass(frozen=True)
class PageVisit:
    """One discovered page of a mirror and what happened when we last looked at it."""

    url: str
    lastmod: str | None = None
    # ok | failed | not-found | gone | robots | unresolved; None = discovered only (what is known stays)
    outcome: str | None = None
    nct_id: str | None = None
    validators: Validators = field(default_factory=Validators)


@dataclass(frozen=True)
class PageHistory:
    lastmod: str | None
    last_fetched_at: str | None
    last_outcome: str | None
    validators: Validators = field(default_factory=Validators)
    gone_since: str | None = None  # when a page answering 404/410 again was first found gone


@dataclass(frozen=True)
class StoredRecord:
    """A source record as the file holds it (what a merge is made of)."""

    source: str
    record_key: str
    url: str
    fetched_at: str
    study: Study


@dataclass
class Merged:
    """One trial merged from its source records."""

    study: Study
    # "source|record_key" -> the fields that record supplied
    provenance: dict[str, list[str]] = field(default_factory=dict)
    # (field, source, value as JSON-able) for every source party to a disagreement
    conflicts: list[tuple[str, str, Any]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)


# What a trial that no registry record backs is marked with, wherever it is shown (search hits, `harvest show`,
# the trial page): its fields come from mirrors alone.
MIRROR_ONLY = "mirror only: ClinicalTrials.gov's record not harvested"
