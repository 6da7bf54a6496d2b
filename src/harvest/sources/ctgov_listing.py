"""The registry's list of NCT numbers, and what it says of one study the list no longer shows.

``GET /studies?fields=NCTId`` lists every study by its NCT number alone (the API's ``fields`` parameter: a study
is some 60 bytes where its whole record is 17 KB), in pages chained by ``nextPageToken`` like any listing, with
``totalCount`` on the first page. It is the cheap way to learn which studies the registry shows today.

A stored study the list no longer shows is asked for alone, ``GET /studies/{nctId}``:

- 404 (or 410): the registry no longer shows it (withdrawn from public view): ``removed``;
- a redirect to another NCT number (the API's 301 for an alias, followed on its host): ``merged`` into it;
- its own record: the list missed it (``live``); nothing is removed.

Anything else (a 5xx after retries, a body that does not parse) raises, as any fetch does: no verdict.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from harvest.core.errors import BadResponse, HTTPStatusError, NotFound
from harvest.core.ids import normalize_nct
from harvest.core.records import SourceRecord
from harvest.net.responses import Response
from harvest.sources.ctgov import IDENT, PAGE_SIZE, ClinicalTrialsGov
from harvest.sources.reading.jsonrows import value_at

log = logging.getLogger("harvest.ctgov")

ID_FIELDS = "NCTId"  # the field the API names protocolSection.identificationModule.nctId


@dataclass(frozen=True)
class IdPage:
    """One page of the list: its NCT numbers, the registry's count of them all, and where to go on from."""

    nct_ids: list[str]
    total: int | None  # totalCount, as the first page gave it
    cursor: dict[str, Any] | None  # the position after this page; None after the last one


@dataclass(frozen=True)
class Presence:
    """What the registry answers for one NCT number its list did not show."""

    nct_id: str
    verdict: str  # "removed", "merged" or "live"
    record: SourceRecord | None = None  # merged: the current trial's record; live: its own


def _check_ids(body: Any, response: Response) -> None:
    if not isinstance(body, dict) or not isinstance(body.get("studies", []), list):
        raise BadResponse("not a /studies page (no 'studies' list)", url=response.url)


class RegistryListing:
    """Lists the registry's NCT numbers and asks about single studies, through the CT.gov source's client."""

    def __init__(self, source: ClinicalTrialsGov) -> None:
        self.source = source
        self.client = source.client
        self.url = f"{source.base_url}/studies"

    def pages(self, cursor: dict[str, Any] | None = None) -> Iterator[IdPage]:
        """Every NCT number the registry lists, a page at a time, from ``cursor`` (a page's ``cursor``) on."""
        cursor = cursor or {}
        params = dict(cursor.get("params") or {"format": "json", "pageSize": str(PAGE_SIZE), "countTotal": "true"})
        params["fields"] = ID_FIELDS
        token: str | None = cursor.get("page_token")
        page = int(cursor.get("page", 0))
        total: int | None = cursor.get("total")
        while True:
            request = dict(params, pageToken=token) if token else params
            try:
                _, body = self.client.get_json(self.url, request, check=_check_ids)
            except HTTPStatusError as exc:
                if token and exc.status == 400 and page == int(cursor.get("page", 0)):
                    # Page tokens expire: a resumed listing whose token is gone lists again from the start (what
                    # it had seen stays seen).
                    log.warning("saved page token was rejected (%s); listing again from the start", exc.one_line())
                    token, page, cursor = None, 0, {}
                    continue
                raise
            page += 1
            if body.get("totalCount") is not None:
                total = int(body["totalCount"])
            ids = [nct for raw in body.get("studies") or [] if isinstance(nct := value_at(raw, (*IDENT, "nctId")), str)]
            token = body.get("nextPageToken") or None
            after = {"params": params, "page_token": token, "page": page, "total": total} if token else None
            yield IdPage(ids, total, after)
            if token is None:
                return

    def presence(self, nct_id: str) -> Presence:
        """Ask for one study alone; a fetch error other than 404 propagates (no verdict)."""
        nct_id = normalize_nct(nct_id)
        try:
            record = self.source.fetch_page(self.source.url_for(nct_id))
        except NotFound:
            return Presence(nct_id, "removed")
        if record.study.nct_id != nct_id:
            return Presence(nct_id, "merged", record)
        return Presence(nct_id, "live", record)
