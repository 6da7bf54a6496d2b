"""What one site said about one trial, and what became of a page: the records every layer passes on.

Sources make them, the pipeline decides what to do with them, the store writes them. They live here, in
core, so that the store never needs to know the site layer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from harvest.core.errors import HarvestError
from harvest.core.schema import Study


@dataclass(frozen=True)
class Prepared:
    """What a parse worker made of one record (``pipeline.parsing``), so that the process that writes need not
    parse it, nor build its rows: the record's identity, its hash, its payload compressed, and the rows of the
    trial as this record alone makes it (what merging it with nothing else gives)."""

    nct_id: str
    nct_aliases: tuple[str, ...]
    fetched_at: dt.datetime
    content_hash: str
    record_json: str | None  # None for a record kept as its payload alone (``SourceRecord.derived``)
    compressed_raw: bytes
    populated: frozenset[str]  # ``Study.populated_fields``
    row: dict[str, Any]  # the ``studies`` row (``store.studies.study_row``)
    children: dict[str, list[tuple[Any, ...]]]  # the rows of the tables keyed by (nct_id, position), NULL as NaN


class SourceRecord:
    """What one site said about one trial at one time.

    ``study`` is the record parsed; a record parsed in a worker process arrives without it, as ``prepared``, and is
    parsed again here only when something needs the study itself (a trial that changed, or that other sources
    describe too): ``parse`` does that.
    """

    __slots__ = (
        "_parse",
        "_study",
        "content_type",
        "derived",
        "fingerprint",
        "prepared",
        "raw",
        "record_key",
        "source",
        "url",
    )

    def __init__(
        self,
        source: str,
        record_key: str,  # stable name of the page within its source (URL relative to the base URL)
        url: str,
        study: Study | None,
        raw: bytes,  # exactly what ``parse`` consumed, so ``harvest reparse`` can redo it offline
        content_type: str | None = None,
        # A digest of the parts of ``raw`` that ``parse`` depends on, for sources whose payload also carries
        # volatile parts (CT.gov's data release stamp). Stored with the record; the next run skips parsing a
        # payload whose fingerprint is the stored one. None: the source does not fingerprint.
        fingerprint: str | None = None,
        *,
        # The record is what the source's parser makes of ``raw`` and of nothing else (``Source.derives_records``):
        # the file keeps the payload alone, and reads the record back by parsing the payload again.
        derived: bool = False,
        prepared: Prepared | None = None,
        parse: Callable[[], Study] | None = None,
    ) -> None:
        if study is None and (prepared is None or parse is None):
            raise ValueError("a record without its study needs what a worker prepared and a way to parse it")
        self.source, self.record_key, self.url, self.raw = source, record_key, url, raw
        self.content_type, self.fingerprint, self.derived = content_type, fingerprint, derived
        self.prepared, self._study, self._parse = prepared, study, parse

    @property
    def study(self) -> Study:
        if self._study is None:
            assert self._parse is not None
            self._study, self._parse = self._parse(), None
        return self._study

    @property
    def nct_id(self) -> str:
        return self.prepared.nct_id if self._study is None and self.prepared else self.study.nct_id

    @property
    def nct_aliases(self) -> Sequence[str]:
        return self.prepared.nct_aliases if self._study is None and self.prepared else self.study.nct_aliases

    @property
    def fetched_at(self) -> dt.datetime:
        return self.prepared.fetched_at if self._study is None and self.prepared else self.study.provenance.fetched_at

    def filed_under(self, nct_id: str) -> SourceRecord:
        """The same record filed under another NCT number (a retired number's successor): parsed here, since
        what a worker prepared names the other number in every row."""
        moved = self.study.model_copy(update={"nct_id": nct_id})
        return SourceRecord(
            self.source, self.record_key, self.url, moved, self.raw, self.content_type, self.fingerprint,
            derived=self.derived,
        )  # fmt: skip

    def __repr__(self) -> str:
        return f"SourceRecord({self.source!r}, {self.record_key!r}, {self.url!r})"


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


@dataclass(frozen=True)
class StoredPayload:
    """A record the file keeps as its payload alone (``SourceRecord.derived``): what reading it back needs."""

    source: str
    url: str
    fetched_at: str
    raw: bytes
    content_type: str | None
    nct_id: str  # the trial it is filed under (a retired number's record moves to the current one)


# Reads a stored payload back into its record: the sources' parsers, handed to the store by the pipeline.
PayloadParser = Callable[[StoredPayload], Study]


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
