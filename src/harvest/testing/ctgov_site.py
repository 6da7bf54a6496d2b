"""The ClinicalTrials.gov API v2, emulated over a folder of study JSON files (fixtures/ctgov).

``/studies/{id}`` (301 for aliases, 400/404 with text bodies), ``/studies`` paging with ``nextPageToken``,
``filter.advanced`` date ranges, ``query.titles``, ``countTotal``, ``fields`` (``NCTId`` and a few others),
``/version``; and beside them the internal record-history endpoints (``/api/int/...``, see
``testing.ctgov_history``).

Between two nights a test can change the registry: ``remove`` a study (404 from then on), ``merge`` one into
another (301 to it, and the other names it among its aliases), or make the listing glitch: ``unlisted`` studies
are missing from the search index (neither listed nor counted in ``totalCount``) though they still answer alone,
and ``listing_ends_after`` stops a listing after that many pages (no ``nextPageToken``) whatever ``totalCount``
said.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import re
import threading
from pathlib import Path
from typing import Any

from harvest.testing.ctgov_history import HistoryArchive
from harvest.testing.server import Reply, Site, json_reply, text_reply

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"

_NCT = re.compile(r"^NCT[0-9]{8}$")
_RANGE = re.compile(r"AREA\[LastUpdatePostDate\]RANGE\[([^,\]]*),([^\]]*)\]")
_IDENT = ("protocolSection", "identificationModule")
# The ``fields`` names served (the API knows hundreds: see its /studies/metadata), and where each is.
FIELD_PATHS: dict[str, tuple[str, ...]] = {
    "NCTId": (*_IDENT, "nctId"),
    "NCTIdAlias": (*_IDENT, "nctIdAliases"),
    "BriefTitle": (*_IDENT, "briefTitle"),
    "OverallStatus": ("protocolSection", "statusModule", "overallStatus"),
    "LastUpdatePostDate": ("protocolSection", "statusModule", "lastUpdatePostDateStruct"),
}


def _norm_title(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


class CtgovSite(Site):
    """The ClinicalTrials.gov API v2, emulated over a set of study objects."""

    def __init__(
        self,
        studies: list[dict[str, Any]] | None = None,
        *,
        prefix: str = "/api/v2",
        data_timestamp: str = "2026-11-20T09:00:05",
        max_page_size: int = 1000,
    ) -> None:
        self.prefix = prefix
        # The internal API beside the public one, as the history reader derives it: /api/v2 -> /api/int.
        self.history_prefix = prefix.rstrip("/").rpartition("/")[0] + "/int"
        self.history = HistoryArchive()
        self.max_page_size = max_page_size  # the real API silently caps pageSize at 1000
        self.data_timestamp = data_timestamp
        self.version_holder: str | None = None  # set to simulate a new data release
        self.title_search_overrides: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.studies: dict[str, dict[str, Any]] = {}
        self.aliases: dict[str, str] = {}
        self.unlisted: set[str] = set()  # left out of listings and their count, yet served alone: a glitch
        self.listing_ends_after: int | None = None  # pages a listing gives before it stops short
        for study in studies or []:
            self.put(study)

    @classmethod
    def from_dir(cls, folder: Path | str = FIXTURES / "ctgov", **kwargs: Any) -> CtgovSite:
        """Every study in ``studies/*.json``, plus those inside the recorded list pages in ``lists/``, and the
        record histories in ``history/``."""
        folder = Path(folder)
        studies: dict[str, dict[str, Any]] = {}
        for path in sorted((folder / "lists").glob("*.json")):
            for study in json.loads(path.read_text(encoding="utf-8")).get("studies", []):
                studies[study["protocolSection"]["identificationModule"]["nctId"]] = study
        for path in sorted((folder / "studies").glob("*.json")):
            study = json.loads(path.read_text(encoding="utf-8"))
            studies[study["protocolSection"]["identificationModule"]["nctId"]] = study
        site = cls(list(studies.values()), **kwargs)
        site.history = HistoryArchive.from_dir(folder / "history")
        return site

    def put(self, study: dict[str, Any]) -> None:
        ident = study["protocolSection"]["identificationModule"]
        with self._lock:
            self.studies[ident["nctId"]] = study
            for alias in ident.get("nctIdAliases") or []:
                self.aliases[alias] = ident["nctId"]

    def add_version(self, study: dict[str, Any], date: str) -> int:
        """A new version of a study upstream: its current record, and the newest version of its history."""
        nct = study["protocolSection"]["identificationModule"]["nctId"]
        with self._lock:
            before = self.studies.get(nct)
        number = self.history.add_version(nct, study, date, before)
        self.put(study)
        return number

    def _current(self, nct: str) -> dict[str, Any] | None:
        with self._lock:
            return self.studies.get(nct)

    def remove(self, nct_id: str) -> None:
        """The registry withdraws a study from public view: it answers 404 and is listed no more."""
        with self._lock:
            self.studies.pop(nct_id, None)

    def merge(self, nct_id: str, into: str) -> None:
        """The registry merges a study into another: its number answers 301 to the other, which lists it among
        its aliases (``nctIdAliases``) from now on."""
        with self._lock:
            gone = self.studies.pop(nct_id)
            kept = copy.deepcopy(self.studies[into])
        ident = kept["protocolSection"]["identificationModule"]
        retired = [nct_id, *(gone["protocolSection"]["identificationModule"].get("nctIdAliases") or [])]
        ident["nctIdAliases"] = sorted({*(ident.get("nctIdAliases") or []), *retired})
        self.put(kept)

    def _served(self, study: dict[str, Any]) -> dict[str, Any]:
        if self.version_holder is None:
            return study
        served = copy.deepcopy(study)
        served.setdefault("derivedSection", {}).setdefault("miscInfoModule", {})["versionHolder"] = self.version_holder
        return served

    def respond(self, path: str, query: dict[str, list[str]]) -> Reply:
        if path == "/robots.txt":
            return Reply(200, self.robots.encode(), {"Content-Type": "text/plain"})
        if path.startswith(self.history_prefix + "/"):
            return self.history.respond(path[len(self.history_prefix) :], query, self._current)
        if not path.startswith(self.prefix):
            return text_reply(404, "Not Found")
        route = path[len(self.prefix) :]
        if route == "/version":
            return json_reply({"apiVersion": "2.0.5", "dataTimestamp": self.data_timestamp})
        if route == "/studies":
            return self._list(query)
        if route.startswith("/studies/"):
            return self._one(route[len("/studies/") :])
        return text_reply(404, "Not Found")

    def _one(self, nct: str) -> Reply:
        if not _NCT.match(nct):
            return text_reply(400, f"Invalid NCT number: {nct}")
        with self._lock:
            if nct in self.aliases and nct not in self.studies:
                return Reply(301, b"", {"Location": f"{self.prefix}/studies/{self.aliases[nct]}"})
            study = self.studies.get(nct)
        if study is None:
            return text_reply(404, f"Study not found: {nct}")
        return json_reply(self._served(study))

    def _matching(self, query: dict[str, list[str]]) -> list[str]:
        with self._lock:
            ids = sorted(self.studies)
            studies = dict(self.studies)
        advanced = (query.get("filter.advanced") or [""])[0]
        if advanced:
            match = _RANGE.search(advanced)
            if not match:
                raise ValueError(f"unsupported filter.advanced: {advanced}")
            low, high = match.group(1), match.group(2)
            low = "" if low in ("MIN", "") else low
            high = "9999" if high in ("MAX", "") else high
            ids = [
                i
                for i in ids
                if low
                <= (
                    studies[i]["protocolSection"]
                    .get("statusModule", {})
                    .get("lastUpdatePostDateStruct", {})
                    .get("date")
                    or ""
                )
                <= high
            ]
        titles = (query.get("query.titles") or [""])[0].strip().strip('"')
        if titles:
            if titles in self.title_search_overrides:
                return ["@" + titles]
            wanted = _norm_title(titles)
            ids = [
                i
                for i in ids
                if any(
                    wanted in _norm_title(studies[i]["protocolSection"]["identificationModule"].get(k) or "")
                    for k in ("briefTitle", "officialTitle", "acronym")
                )
            ]
        return ids

    def _list(self, query: dict[str, list[str]]) -> Reply:
        try:
            size = min(int((query.get("pageSize") or ["10"])[0]), self.max_page_size)
        except ValueError:
            return text_reply(400, "pageSize must be an integer")
        if size < 1:
            return text_reply(400, "pageSize must be positive")
        signature = _signature({k: v for k, v in query.items() if k != "pageToken"})
        offset = 0
        token = (query.get("pageToken") or [""])[0]
        if token:
            try:
                sig, number = base64.urlsafe_b64decode(token.encode() + b"==").decode().split(":")
                offset = int(number)
            except (ValueError, UnicodeDecodeError):
                return text_reply(400, "Invalid pageToken")
            if sig != signature:
                return text_reply(400, "pageToken does not match the query parameters")
        try:
            ids = self._matching(query)
        except ValueError as exc:
            return text_reply(400, str(exc))
        if ids and ids[0].startswith("@"):
            return json_reply(self.title_search_overrides[ids[0][1:]])
        try:
            fields = _fields(query)
        except ValueError as exc:
            return text_reply(400, str(exc))
        ids = [i for i in ids if i not in self.unlisted]
        chunk = ids[offset : offset + size]
        with self._lock:
            served = [self._served(self.studies[i]) for i in chunk if i in self.studies]
        page: dict[str, Any] = {"studies": [_project(study, fields) for study in served] if fields else served}
        cut = self.listing_ends_after is not None and offset + size >= self.listing_ends_after * size
        if offset + size < len(ids) and not cut:
            raw = f"{signature}:{offset + size}".encode()
            page["nextPageToken"] = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        if not token and (query.get("countTotal") or [""])[0] == "true":
            page["totalCount"] = len(ids)  # whatever listing_ends_after does to the pages
        return json_reply(page)


def _fields(query: dict[str, list[str]]) -> list[tuple[str, ...]]:
    """The paths ``fields`` asks for (comma- or pipe-separated names); an unknown name is a 400, as upstream."""
    given = (query.get("fields") or [""])[0]
    names = [name.strip() for name in re.split(r"[,|]", given) if name.strip()]
    unknown = [name for name in names if name not in FIELD_PATHS]
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(unknown)}")
    return [FIELD_PATHS[name] for name in names]


def _project(study: dict[str, Any], paths: list[tuple[str, ...]]) -> dict[str, Any]:
    """The study with only the values at ``paths``, nested as in the whole record."""
    kept: dict[str, Any] = {}
    for path in paths:
        value: Any = study
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            continue
        node = kept
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value
    return kept


def _signature(query: dict[str, list[str]]) -> str:
    return hashlib.sha1(json.dumps(sorted(query.items())).encode()).hexdigest()[:10]
