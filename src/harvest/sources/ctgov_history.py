"""ClinicalTrials.gov's record history: every past version of a trial, from two internal JSON endpoints.

The site's "History of Changes" page reads them (so does the R package cthist):

- ``GET {int}/studies/{nct}?history=true``: an object whose ``history.changes`` lists the versions, each
  ``{version, date, status}`` (``version`` from 0, ``date`` ISO, ``status`` the overall status then);
- ``GET {int}/studies/{nct}/history/{version}``: an object whose ``study`` is that version's record, in the
  API v2 shape ``ClinicalTrialsGov.parse_object`` reads.

``{int}`` follows the configured CT.gov base URL, ``/api/v2`` becoming ``/api/int``, so one setting
(``HARVEST_CTGOV_URL``) points both at the same server. The endpoints are undocumented: unknown keys are
ignored, and a body without ``history.changes`` or ``study`` is ``LayoutChanged`` (one trial fails, not the run).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson

from harvest.core.errors import BadResponse, LayoutChanged
from harvest.core.ids import normalize_nct
from harvest.core.schema import Study
from harvest.core.vocab import STATUS_WORDS, lookup
from harvest.sources.ctgov import ClinicalTrialsGov

SOURCE_LABEL = "ctgov history"


def history_base_url(base_url: str) -> str:
    """The internal API beside the public one: ``http://h/api/v2`` → ``http://h/api/int``.

    A base URL that does not end in ``/v2`` (a proxy path of one's own) gets ``/api/int`` under its root path.
    """
    base = base_url.rstrip("/")
    head, _, last = base.rpartition("/")
    if last == "v2" and head:
        return f"{head}/int"
    return f"{base}/api/int"


@dataclass(frozen=True)
class VersionEntry:
    """One line of a trial's version list."""

    version: int
    date: str  # ISO date (YYYY-MM-DD)
    status: str | None  # the overall status at that version, in the API's words (None if unknown)
    status_shown: str | None  # as the list gave it


@dataclass(frozen=True)
class VersionList:
    nct_id: str
    url: str
    entries: list[VersionEntry]


@dataclass(frozen=True)
class FetchedVersion:
    """One past version of a trial, parsed, with the body as received."""

    nct_id: str
    version: int
    url: str
    study: Study
    raw: bytes
    fetched_at: dt.datetime


class CtgovHistory:
    """Reads the version list and the versions of trials, through the CT.gov source's polite client."""

    def __init__(self, source: ClinicalTrialsGov) -> None:
        self.source = source
        self.client = source.client
        self.base_url = history_base_url(source.base_url)

    def list_url(self, nct_id: str) -> str:
        return f"{self.base_url}/studies/{normalize_nct(nct_id)}?history=true"

    def version_url(self, nct_id: str, version: int) -> str:
        return f"{self.base_url}/studies/{normalize_nct(nct_id)}/history/{version}"

    def versions(self, nct_id: str) -> VersionList:
        """The version list of one trial (one request)."""
        url = self.list_url(nct_id)
        _, body = self.client.get_json(url)
        return VersionList(normalize_nct(nct_id), url, parse_version_list(body, url))

    def version(self, nct_id: str, version: int) -> FetchedVersion:
        """One version of one trial (one request), parsed as the API v2 record it holds."""
        url = self.version_url(nct_id, version)
        response, body = self.client.get_json(url)
        # To the second, as the file keeps it: a re-parse from the stored row gives the very same record.
        fetched_at = response.fetched_at.replace(microsecond=0)
        return self._parsed(nct_id, version, url, body, response.content, fetched_at)

    def parse_version(self, nct_id: str, version: int, url: str, raw: bytes, fetched_at: dt.datetime) -> FetchedVersion:
        """A stored version body parsed again (``harvest reparse``), as ``version`` parsed it when fetched."""
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise BadResponse(f"version body is not valid JSON ({exc})", url=url) from None
        return self._parsed(nct_id, version, url, body, raw, fetched_at)

    def _parsed(
        self, nct_id: str, version: int, url: str, body: Any, raw: bytes, fetched_at: dt.datetime
    ) -> FetchedVersion:
        study = body.get("study") if isinstance(body, dict) else None
        if not isinstance(study, dict):
            raise LayoutChanged(["study"], url=url, source=SOURCE_LABEL)
        parsed = self.source.parse_object(study, url, fetched_at)
        return FetchedVersion(normalize_nct(nct_id), version, url, parsed, raw, fetched_at)


def parse_version_list(body: Any, url: str) -> list[VersionEntry]:
    """``history.changes`` of a version-list body, sorted by version; extra keys anywhere are ignored."""
    history = body.get("history") if isinstance(body, dict) else None
    changes = history.get("changes") if isinstance(history, dict) else None
    if not isinstance(changes, list):
        raise LayoutChanged(["history.changes"], url=url, source=SOURCE_LABEL)
    entries = []
    for index, item in enumerate(changes):
        where = f"history.changes[{index}]"
        if not isinstance(item, dict):
            raise LayoutChanged([where], url=url, source=SOURCE_LABEL)
        version = item.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 0:
            raise LayoutChanged([f"{where}.version"], url=url, source=SOURCE_LABEL)
        date = _iso_day(item.get("date"))
        if date is None:
            raise LayoutChanged([f"{where}.date"], url=url, source=SOURCE_LABEL)
        shown = item.get("status")
        shown = str(shown) if shown is not None else None
        entries.append(VersionEntry(version, date, lookup(STATUS_WORDS, shown), shown))
    entries.sort(key=lambda entry: entry.version)
    numbers = [entry.version for entry in entries]
    if len(set(numbers)) != len(numbers):
        raise LayoutChanged(["history.changes (a version listed twice)"], url=url, source=SOURCE_LABEL)
    return entries


def _iso_day(value: Any) -> str | None:
    """``2019-06-12`` (or an ISO timestamp that starts with it) as ``2019-06-12``; anything else None."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return None
