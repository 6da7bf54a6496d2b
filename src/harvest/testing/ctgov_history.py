"""ClinicalTrials.gov's internal history endpoints, emulated beside the API v2 (``CtgovSite`` answers them).

``{int}/studies/{nct}?history=true`` gives the version list (``history.changes``), ``{int}/studies/{nct}/history/N``
gives version N (``study``), where ``{int}`` is the API's prefix with ``v2`` replaced by ``int``. Histories come
from ``fixtures/ctgov/history/<NCT>/`` (``versions.reconstructed.json`` and ``v<N>.reconstructed.json``, the
bodies as served); a study with no recorded history has one version, its current record, dated by its last
update. Tests add versions (``add_version``) or replace a body (``put_list``) to play what the registry does.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harvest.testing.server import Reply, json_reply, text_reply

_ONE = re.compile(r"^/studies/(NCT[0-9]{8})$")
_VERSION = re.compile(r"^/studies/(NCT[0-9]{8})/history/([0-9]+)$")

_BODY_FILE = re.compile(r"^v([0-9]+)\.reconstructed\.json$")

Json = dict[str, Any]


class HistoryArchive:
    """The record histories a test site serves: per trial, the version-list body and each version's body."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.lists: dict[str, Json] = {}
        self.versions: dict[str, dict[int, Json]] = {}

    @classmethod
    def from_dir(cls, folder: Path | str) -> HistoryArchive:
        """Every ``<NCT>/versions.reconstructed.json`` under ``folder`` with its ``v<N>.reconstructed.json``."""
        archive = cls()
        for listing in sorted(Path(folder).glob("NCT*/versions.reconstructed.json")):
            bodies = {
                int(match.group(1)): json.loads(path.read_text(encoding="utf-8"))
                for path in listing.parent.glob("v*.reconstructed.json")
                if (match := _BODY_FILE.match(path.name))
            }
            archive.put_list(listing.parent.name, json.loads(listing.read_text(encoding="utf-8")), bodies)
        return archive

    def put_list(self, nct: str, listing: Json, bodies: dict[int, Json] | None = None) -> None:
        """Serve ``listing`` as the version list of ``nct`` (and ``bodies`` as its versions, if given)."""
        with self._lock:
            self.lists[nct] = listing
            if bodies is not None:
                self.versions[nct] = dict(bodies)

    def has(self, nct: str) -> bool:
        return nct in self.lists

    def add_version(self, nct: str, study: Json, date: str, current: Json | None) -> int:
        """A new version of ``nct`` upstream (its number is returned); a trial with no recorded history first
        gets the one version it had (``current``, its record before this one)."""
        with self._lock:
            if nct not in self.lists and current is not None:
                self.lists[nct], self.versions[nct] = _single_version(current)
            changes = self.lists.setdefault(nct, {"history": {"changes": []}})["history"]["changes"]
            number = max((item["version"] for item in changes), default=-1) + 1
            status = study["protocolSection"].get("statusModule", {}).get("overallStatus")
            changes.append({"version": number, "date": date, "status": status})
            self.versions.setdefault(nct, {})[number] = {"study": copy.deepcopy(study)}
        return number

    def respond(self, route: str, query: dict[str, list[str]], current: Callable[[str], Json | None]) -> Reply:
        """Answer ``route`` (the path after the internal prefix); ``current`` gives a study's current record."""
        if match := _ONE.match(route):
            nct = match.group(1)
            listing, _ = self._of(nct, current)
            if listing is None:
                return text_reply(404, f"Study not found: {nct}")
            if (query.get("history") or [""])[0] != "true":
                return json_reply({"study": current(nct)})
            return json_reply(listing)
        if match := _VERSION.match(route):
            nct, number = match.group(1), int(match.group(2))
            _, bodies = self._of(nct, current)
            body = (bodies or {}).get(number)
            if body is None:
                return text_reply(404, f"Version {number} of {nct} not found")
            return json_reply(body)
        return text_reply(404, "Not Found")

    def _of(self, nct: str, current: Callable[[str], Json | None]) -> tuple[Json | None, dict[int, Json] | None]:
        with self._lock:
            if nct in self.lists:
                return self.lists[nct], self.versions.get(nct, {})
        study = current(nct)
        if study is None:
            return None, None
        return _single_version(study)


def _single_version(study: Json) -> tuple[Json, dict[int, Json]]:
    """The history of a trial the archive has no record of: its current record is its only version."""
    status = study["protocolSection"].get("statusModule", {})
    date = status.get("lastUpdateSubmitDate") or status.get("studyFirstSubmitDate") or "2000-01-01"
    listing = {"history": {"changes": [{"version": 0, "date": date, "status": status.get("overallStatus")}]}}
    return listing, {0: {"study": copy.deepcopy(study)}}
