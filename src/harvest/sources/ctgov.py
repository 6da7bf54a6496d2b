"""ClinicalTrials.gov API v2: the registry itself, and the source of truth.

One study: ``GET /studies/{nctId}`` (an alias NCT answers 301 to the current
one; 404/400 come with a text/plain reason). Many: ``GET /studies`` in pages
of up to 1000, chained by ``nextPageToken``, every later page repeating the
first page's parameters. Incremental runs filter on LastUpdatePostDate from
the last successful run's watermark minus a few days of overlap, because post
dates can be ESTIMATED and the data refresh lags.

The mapping onto the canonical Study is declared as data (field, JSON path,
conversion), in the manner of AACT, so a reader can check it against the API
spec line by line.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import orjson

from harvest import __version__
from harvest.core.errors import BadResponse, HTTPStatusError, InvalidRecord, NotFound
from harvest.core.ids import normalize_nct
from harvest.core.records import Failure, SourceRecord
from harvest.core.schema import Study, build_study
from harvest.core.text import without_controls
from harvest.core.vocab import INTERVENTION_TYPE_WORDS, PHASE_WORDS, SEX_WORDS, STATUS_WORDS, STUDY_TYPE_WORDS, lookup
from harvest.net.responses import Response, decode_json
from harvest.sources.base import Batch, HarvestPlan, Page, Source, StoredFingerprints, register
from harvest.sources.ctgov_record import contacts, identifiers, record_data
from harvest.sources.reading.jsonrows import value_at

log = logging.getLogger("harvest.ctgov")

PAGE_SIZE = 1000
PART_SIZE = 250  # studies parsed and written at a time (see _pages)
_STUDY_PATH = re.compile(r"^/studies/NCT[0-9]{8}/?$", re.I)
OVERLAP_DAYS = 3

Json = dict[str, Any]
Unmapped = dict[str, str]


def _date_struct(value: Any, unmapped: Unmapped, field: str) -> Json | None:
    if not isinstance(value, dict) or not value.get("date"):
        return None
    return {"value": value["date"], "type": _date_type(value.get("type"), unmapped, f"{field}.type")}


def _plain_date(value: Any, unmapped: Unmapped, field: str) -> Json | None:
    return {"value": value} if value else None


def _enum(table: Mapping[str, str]) -> Converter:
    """An API enum: a value the table does not know (a new enum word) is kept in ``unmapped``, not fatal.

    The API adds enum values now and then; failing the whole record over one would fail every study
    that uses it (and the run's sanity check with them).
    """

    def convert(value: Any, unmapped: Unmapped, field: str) -> str | None:
        if value is None:
            return None
        mapped = lookup(table, str(value))
        if mapped is None:
            unmapped[field] = str(value)
        return mapped

    return convert


_status = _enum(STATUS_WORDS)
_date_type = _enum({"actual": "ACTUAL", "estimated": "ESTIMATED"})


def _phases(value: Any, unmapped: Unmapped, field: str) -> list[str] | None:
    if value is None:
        return None
    shown = value if isinstance(value, list) else [value]
    known = [lookup(PHASE_WORDS, str(phase)) for phase in shown]
    if None in known:
        unmapped[field] = ", ".join(str(phase) for phase in shown)
    return [phase for phase in known if phase is not None]


def _keep(value: Any, unmapped: Unmapped, field: str) -> Any:
    return value


IDENT = ("protocolSection", "identificationModule")
STATUS = ("protocolSection", "statusModule")
SPONSOR = ("protocolSection", "sponsorCollaboratorsModule")
DESCRIPTION = ("protocolSection", "descriptionModule")
CONDITIONS = ("protocolSection", "conditionsModule")
DESIGN = ("protocolSection", "designModule")
ELIGIBILITY = ("protocolSection", "eligibilityModule")
CONTACTS = ("protocolSection", "contactsLocationsModule")
ARMS = ("protocolSection", "armsInterventionsModule")

Converter = Callable[[Any, Unmapped, str], Any]

# canonical field <- JSON path, conversion. Every module is optional: a missing path gives None.
FIELD_MAP: list[tuple[str, tuple[str, ...], Converter]] = [
    ("nct_id", (*IDENT, "nctId"), _keep),
    ("nct_aliases", (*IDENT, "nctIdAliases"), _keep),
    ("brief_title", (*IDENT, "briefTitle"), _keep),
    ("official_title", (*IDENT, "officialTitle"), _keep),
    ("acronym", (*IDENT, "acronym"), _keep),
    ("overall_status", (*STATUS, "overallStatus"), _status),
    ("last_known_status", (*STATUS, "lastKnownStatus"), _status),
    ("why_stopped", (*STATUS, "whyStopped"), _keep),
    ("status_verified_date", (*STATUS, "statusVerifiedDate"), _plain_date),
    ("start_date", (*STATUS, "startDateStruct"), _date_struct),
    ("primary_completion_date", (*STATUS, "primaryCompletionDateStruct"), _date_struct),
    ("completion_date", (*STATUS, "completionDateStruct"), _date_struct),
    ("first_posted", (*STATUS, "studyFirstPostDateStruct"), _date_struct),
    ("last_update_posted", (*STATUS, "lastUpdatePostDateStruct"), _date_struct),
    ("study_type", (*DESIGN, "studyType"), _enum(STUDY_TYPE_WORDS)),
    ("phases", (*DESIGN, "phases"), _phases),
    ("enrollment", (*DESIGN, "enrollmentInfo", "count"), _keep),
    ("enrollment_type", (*DESIGN, "enrollmentInfo", "type"), _date_type),
    ("allocation", (*DESIGN, "designInfo", "allocation"), _keep),
    ("intervention_model", (*DESIGN, "designInfo", "interventionModel"), _keep),
    ("primary_purpose", (*DESIGN, "designInfo", "primaryPurpose"), _keep),
    ("masking", (*DESIGN, "designInfo", "maskingInfo", "masking"), _keep),
    ("sex", (*ELIGIBILITY, "sex"), _enum(SEX_WORDS)),
    ("minimum_age", (*ELIGIBILITY, "minimumAge"), _keep),
    ("maximum_age", (*ELIGIBILITY, "maximumAge"), _keep),
    ("healthy_volunteers", (*ELIGIBILITY, "healthyVolunteers"), _keep),
    ("eligibility_criteria", (*ELIGIBILITY, "eligibilityCriteria"), _keep),
    ("brief_summary", (*DESCRIPTION, "briefSummary"), _keep),
    ("detailed_description", (*DESCRIPTION, "detailedDescription"), _keep),
    ("conditions", (*CONDITIONS, "conditions"), _keep),
    ("keywords", (*CONDITIONS, "keywords"), _keep),
    ("lead_sponsor", (*SPONSOR, "leadSponsor", "name"), _keep),
    ("lead_sponsor_class", (*SPONSOR, "leadSponsor", "class"), _keep),
    ("has_results", ("hasResults",), _keep),
]

# list fields: canonical field <- JSON path of a list, and the canonical keys <- keys of each element
LIST_MAP: list[tuple[str, tuple[str, ...], dict[str, str]]] = [
    ("interventions", (*ARMS, "interventions"), {"type": "type", "name": "name", "description": "description"}),
    (
        "locations",
        (*CONTACTS, "locations"),
        {
            "facility": "facility",
            "city": "city",
            "state": "state",
            "zip": "zip",
            "country": "country",
            "status": "status",
        },
    ),
]


def study_data(study: Json) -> tuple[Json, Unmapped]:
    """The canonical fields of one API study object (not yet validated)."""
    unmapped: Unmapped = {}
    data: Json = {}
    for field, path, convert in FIELD_MAP:
        value = value_at(study, path)
        if value is not None:
            value = convert(value, unmapped, field)
        if value is not None:
            data[field] = value
    for field, path, keys in LIST_MAP:
        items = value_at(study, path)
        if items:
            data[field] = [{ours: item.get(theirs) for ours, theirs in keys.items()} for item in items]
    for item in data.get("interventions", []):
        if item["type"] is not None and lookup(INTERVENTION_TYPE_WORDS, item["type"]) is None:
            unmapped["interventions.type"] = item["type"]
            item["type"] = None
    for item, given in zip(data.get("locations", []), value_at(study, (*CONTACTS, "locations")) or [], strict=False):
        if item["status"] is not None:
            item["status"] = _status(item["status"], unmapped, "locations.status")
        point = given.get("geoPoint") if isinstance(given, dict) else None
        if isinstance(point, dict):
            item["latitude"], item["longitude"] = point.get("lat"), point.get("lon")
    collaborators = [
        {"name": c["name"], "sponsor_class": c.get("class")}
        for c in value_at(study, (*SPONSOR, "collaborators")) or []
        if isinstance(c, dict) and c.get("name")
    ]
    if collaborators:
        data["collaborators"] = collaborators
    if people := contacts(study):
        data["contacts"] = people
    if ids := identifiers(study):
        data["identifiers"] = ids
    data.update(record_data(study))
    return data, unmapped


# Bumped with harvest's version, so an upgraded parser re-reads every study once (and refreshes the stored
# fingerprints) instead of trusting fingerprints taken under the old one.
_FINGERPRINT_SALT = f"harvest {__version__} ctgov\n".encode()


def fingerprint(study: Json) -> str:
    """A digest of one API study object without its version stamp, for skipping unchanged studies.

    Every data release rewrites ``derivedSection.miscInfoModule.versionHolder`` in every study, changed or not,
    and the parser never reads it. So two payloads with the same fingerprint parse to the same canonical record
    (parsing is deterministic), and a run that finds a study's stored fingerprint need not parse, hash or write
    it. The derived MeSH lists, which the parser reads (``browse_*`` tables), can come back reordered: such a
    payload is parsed, found to say the same (those rows are kept sorted), and only its payload and fingerprint
    are refreshed. ``content_hash`` of the canonical record stays the authority on whether a study changed: a
    different fingerprint only means "parse it and compare". A parser change within one version is covered by
    ``harvest reparse``, which forgets the fingerprints it can no longer vouch for.
    """
    kept = study
    derived = study.get("derivedSection")
    if isinstance(derived, dict) and isinstance(derived.get("miscInfoModule"), dict):
        misc = {k: v for k, v in derived["miscInfoModule"].items() if k != "versionHolder"}
        kept = {**study, "derivedSection": {**derived, "miscInfoModule": misc}}
    return hashlib.sha256(_FINGERPRINT_SALT + orjson.dumps(kept)).hexdigest()[:32]


# In a study serialised by orjson a control character shows as an escape (\u00XX, \b, \f) and DEL and the C1
# controls as themselves: where none of these appears, the record holds none and need not be walked. (An escaped
# backslash before a "b" can match too: harmless.) Three searches the C library does fast, not one alternation.
_JSON_CONTROL = re.compile(rb"\\(?:u00[01]|u007[fF]|u00[89]|[bf])")
_C1 = re.compile(rb"\xc2[\x80-\x9f]")


def _may_hold_controls(payload: bytes) -> bool:
    return (
        b"\x7f" in payload
        or (b"\xc2" in payload and _C1.search(payload) is not None)
        or _JSON_CONTROL.search(payload) is not None
    )


def _check_page(body: Any, response: Response) -> None:
    if not isinstance(body, dict) or not isinstance(body.get("studies", []), list):
        raise BadResponse("not a /studies page (no 'studies' list)", url=response.url)


@register
class ClinicalTrialsGov(Source):
    name = "ctgov"
    label = "ClinicalTrials.gov (API v2)"
    default_base_url = "https://clinicaltrials.gov/api/v2"
    # No published limit; 429s are reported at peak hours and ~50 requests/minute is the folklore limit.
    default_rps = 0.8
    discovery = "api"
    is_registry = True

    def url_for(self, nct_id: str) -> str:
        return f"{self.base_url}/studies/{normalize_nct(nct_id)}"

    def is_study_url(self, url: str) -> bool:
        return self.owns(url) and _STUDY_PATH.match(self.record_key(url.split("?", 1)[0])) is not None

    def parse(self, page: Page) -> Study:
        try:
            raw = orjson.loads(page.content)
        except orjson.JSONDecodeError as exc:
            raise BadResponse(f"study is not valid JSON ({exc})", url=page.url) from None
        return self.parse_object(raw, page.url, page.fetched_at)

    def parse_object(self, raw: Any, url: str, fetched_at: dt.datetime, payload: bytes | None = None) -> Study:
        """One API study object as a Study. ``payload``: the object as JSON, when the caller has it already."""
        if not isinstance(raw, dict) or not isinstance(value_at(raw, IDENT), dict):
            raise BadResponse("not a study object (no protocolSection.identificationModule)", url=url)
        if _may_hold_controls(payload if payload is not None else orjson.dumps(raw)):
            raw = without_controls(raw)  # rare: the search costs microseconds, the copy only where needed
        data, unmapped = study_data(raw)
        if "nct_id" not in data:
            raise InvalidRecord("study object has no nctId", url=url)
        if unmapped:
            data["unmapped"] = unmapped
        data["provenance"] = {"source": self.name, "url": url, "fetched_at": fetched_at, "nct_resolution": "api"}
        return build_study(data, url=url, coerce=True)

    def fetch_page(self, url: str, plan: HarvestPlan | None = None) -> SourceRecord:
        response, body = self.client.get_json(url)
        raw = orjson.dumps(body)
        study = self.parse_object(body, response.url, response.fetched_at, raw)
        canonical_url = self.url_for(study.nct_id)
        key = self.record_key(canonical_url)
        # With its fingerprint, as a run stores it: else the next nightly run parses this study again.
        return SourceRecord(self.name, key, canonical_url, study, raw, "application/json", fingerprint(body))

    def fetch_nct(self, nct_id: str) -> SourceRecord:
        nct_id = normalize_nct(nct_id)
        try:
            record = self.fetch_page(self.url_for(nct_id))
        except NotFound:
            raise NotFound(f"{nct_id} not found on ClinicalTrials.gov", url=self.url_for(nct_id)) from None
        if record.study.nct_id != nct_id:
            log.info("%s is an alias of %s (the API redirected)", nct_id, record.study.nct_id)
        return record

    # -- many studies ---------------------------------------------------------------------------

    def first_page_params(self, plan: HarvestPlan) -> dict[str, str]:
        params = {"format": "json", "pageSize": str(PAGE_SIZE), "countTotal": "true"}
        if plan.since is not None and not plan.full:
            since = plan.since - dt.timedelta(days=OVERLAP_DAYS)
            params["filter.advanced"] = f"AREA[LastUpdatePostDate]RANGE[{since.isoformat()},MAX]"
        return params

    def harvest(self, plan: HarvestPlan) -> Iterator[Batch]:
        """Page through ``/studies``; the next page is fetched while the caller parses and stores this one.

        Only the next page's bytes are fetched ahead (about 17 MB for 1,000 studies), not decoded: peak memory
        stays about one decoded page. A body that does not decode is fetched again, inside the retry loop.
        """
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ctgov-next-page") as ahead:
            yield from self._pages(plan, ahead)

    def _pages(self, plan: HarvestPlan, ahead: ThreadPoolExecutor) -> Iterator[Batch]:
        cursor = plan.cursor or {}
        params: dict[str, str] = dict(cursor.get("params") or self.first_page_params(plan))
        token: str | None = cursor.get("page_token")
        page_number = int(cursor.get("page", 0))
        total: int | None = cursor.get("total")
        url = f"{self.base_url}/studies"

        def request_of(page_token: str | None) -> dict[str, str]:
            return dict(params, pageToken=page_token) if page_token else params

        pending: Future[Response] | None = ahead.submit(self.client.get, url, request_of(token))
        while pending is not None:
            request = request_of(token)
            try:
                response, body = self._decoded(pending.result(), url, request)
            except HTTPStatusError as exc:
                if token and cursor and exc.status == 400 and page_number == int(cursor.get("page", 0)):
                    # Page tokens expire; a resumed run whose token is gone starts its query over.
                    log.warning("saved page token was rejected (%s); restarting the query", exc.one_line())
                    token, page_number, cursor = None, 0, {}
                    pending = ahead.submit(self.client.get, url, request_of(None))
                    continue
                raise
            page_number += 1
            if body.get("totalCount") is not None:
                total = int(body["totalCount"])
            token = body.get("nextPageToken") or None
            pending = ahead.submit(self.client.get, url, request_of(token)) if token else None
            studies, fetched_at = body.get("studies") or [], response.fetched_at
            # Memory: the page's bytes go before its studies are parsed, and the page is parsed and written in
            # parts of PART_SIZE studies, each raw study freed once parsed, so peak memory is about one decoded
            # page, one part's records (a results record has thousands of rows) and the next page's bytes.
            del response, body
            cursor_after = (
                {"params": params, "page_token": token, "page": page_number, "total": total} if token else None
            )
            while True:
                part = studies[:PART_SIZE]
                del studies[:PART_SIZE]
                batch = self._batch(part, fetched_at, plan.stored_fingerprints)
                del part
                batch.expected_total = total
                batch.cursor = cursor_after
                batch.moves_cursor = not studies
                yield batch
                del batch
                if not studies:
                    break

    def _decoded(self, response: Response, url: str, request: dict[str, str]) -> tuple[Response, Any]:
        """The page's JSON; a body that does not decode (truncated, an error page) is fetched again, retried."""
        try:
            body = decode_json(response)
            _check_page(body, response)
            return response, body
        except BadResponse as exc:
            log.warning("%s; fetching the page again", exc.one_line())
            del response
            self.client.stats.add(retries=1)  # what the retry loop would have counted, had it decoded the body
            return self.client.get_json(url, request, check=_check_page)

    def _batch(self, studies: list[Any], fetched_at: dt.datetime, stored: StoredFingerprints | None = None) -> Batch:
        """Parse one page's studies, except those whose stored fingerprint says they have not changed."""
        batch = Batch()
        urls = []
        for raw in studies:
            nct = value_at(raw, (*IDENT, "nctId")) if isinstance(raw, dict) else None
            if isinstance(nct, str) and nct:
                batch.listed.append(nct)
            urls.append(
                f"{self.base_url}/studies/{nct}" if isinstance(nct, str) and nct else f"{self.base_url}/studies"
            )
        keys = [self.record_key(url) for url in urls]
        known = stored(keys) if stored is not None else {}
        for index, (raw, url, key) in enumerate(zip(studies, urls, keys, strict=True)):
            studies[index] = None  # each study's objects go as soon as it is parsed: a page is not kept twice
            # Two orjson passes (this and the payload's) cost less than one pass cut apart: measured 9 vs 19 µs
            # on a 5.7 KB study; hashing, not serialising, is the cost here.
            digest = fingerprint(raw) if isinstance(raw, dict) else None
            if digest is not None and known.get(key) == digest:
                batch.unchanged += 1
                continue
            payload = orjson.dumps(raw)
            try:
                study = self.parse_object(raw, url, fetched_at, payload)
            except (BadResponse, InvalidRecord) as exc:
                batch.failures.append(Failure(url, exc, payload, "application/json"))
                continue
            batch.records.append(SourceRecord(self.name, key, url, study, payload, "application/json", digest))
        return batch

    def search_titles(self, title: str) -> list[Study]:
        """Studies whose titles match a phrase (``query.titles``); used to identify mirror pages without an NCT."""
        params = {"format": "json", "pageSize": "20", "query.titles": f'"{title}"'}
        response, body = self.client.get_json(f"{self.base_url}/studies", params, check=_check_page)
        studies = []
        for raw in body.get("studies") or []:
            nct = value_at(raw, (*IDENT, "nctId"))
            url = f"{self.base_url}/studies/{nct}" if isinstance(nct, str) and nct else response.url
            try:
                studies.append(self.parse_object(raw, url, response.fetched_at))
            except (BadResponse, InvalidRecord):
                continue
        return studies
