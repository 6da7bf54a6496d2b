"""A synthetic ClinicalTrials.gov API v2 for the benchmarks: N realistic studies, generated page by page.

The studies are the real records in ``fixtures/ctgov`` (``studies/*.json`` and the recorded list pages, the
reconstructed ones left out), pre-serialised once as templates with placeholders for what varies: the NCT
number, the dates, the enrollment count and ``derivedSection.miscInfoModule.versionHolder`` (the data
release stamp). A page is built on request by joining template bytes, so 100k studies (1.7 GB of JSON) never
exist in memory at once, and every request for the same page returns the same bytes except for the release
stamp.

Templates are weighted so the average study is near CT.gov's (~17 KB of JSON): the 777 KB record (with
results and documents) comes up once in ~25,000 studies and the 1,148-site record once in ~5,000; the rest
are the small protocol-only records and the mid-sized ones with results, mixed to hit the average.

Run it as its own process (``python bench/ctgov_server.py --count N``): it prints its base URL on stdout and
serves until it is terminated, so the harvester's CPU time and peak RSS are the harvester's alone.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import datetime as dt
import json
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harvest.testing import FIXTURES, ReplayServer, Reply, Site, json_reply, text_reply

TARGET_MEAN_BYTES = 17_000
# Rare giants, as a share of all studies (CT.gov's largest is ~3.6 MB; a few hundred exceed 500 KB).
RARE = {"NCT02513394": 1 / 25_000, "NCT04267848": 1 / 5_000}
FIRST_NCT = 10_000_000  # NCT10000000, NCT10000001, ...: valid numbers no fixture uses
RELEASE = "2026-11-20"
PLACEHOLDERS = ("@@NCT@@", "@@FIRST@@", "@@UPDATE@@", "@@START@@", '"@@COUNT@@"', "@@RELEASE@@")
_EPOCH = dt.date(2000, 1, 1)


def real_records(folder: Path = FIXTURES / "ctgov") -> dict[str, dict[str, Any]]:
    """The recorded (not reconstructed) studies, by NCT number."""
    records: dict[str, dict[str, Any]] = {}
    for path in sorted((folder / "lists").glob("*.json")):
        for study in json.loads(path.read_text(encoding="utf-8")).get("studies", []):
            records[study["protocolSection"]["identificationModule"]["nctId"]] = study
    for path in sorted((folder / "studies").glob("*.json")):
        if ".reconstructed." not in path.name:
            study = json.loads(path.read_text(encoding="utf-8"))
            records[study["protocolSection"]["identificationModule"]["nctId"]] = study
    return records


class Template:
    """One real study serialised with placeholders; ``render`` fills them in for one synthetic study."""

    def __init__(self, nct: str, study: dict[str, Any]) -> None:
        self.nct = nct
        study = json.loads(json.dumps(study))
        protocol = study["protocolSection"]
        ident = protocol["identificationModule"]
        ident["nctId"] = "@@NCT@@"
        ident.pop("nctIdAliases", None)  # an alias shared by thousands of synthetic studies would be nonsense
        status = protocol.setdefault("statusModule", {})
        status["studyFirstPostDateStruct"] = {"date": "@@FIRST@@", "type": "ACTUAL"}
        status["lastUpdatePostDateStruct"] = {"date": "@@UPDATE@@", "type": "ACTUAL"}
        start = status.setdefault("startDateStruct", {})
        start["date"] = "@@START@@"
        enrollment = protocol.setdefault("designModule", {}).setdefault("enrollmentInfo", {})
        enrollment["count"] = "@@COUNT@@"
        study.setdefault("derivedSection", {}).setdefault("miscInfoModule", {})["versionHolder"] = "@@RELEASE@@"
        text = json.dumps(study, ensure_ascii=False, separators=(",", ":"))
        self.parts: list[tuple[str, bytes]] = []  # (placeholder before the chunk, chunk)
        self._split(text)
        self.size = len(text.encode())

    def _split(self, text: str) -> None:
        pieces: list[tuple[str, bytes]] = []
        marker = ""
        while True:
            hits = [(text.find(p), p) for p in PLACEHOLDERS if p in text]
            if not hits:
                pieces.append((marker, text.encode()))
                break
            index, placeholder = min(hits)
            pieces.append((marker, text[:index].encode()))
            marker, text = placeholder, text[index + len(placeholder) :]
        self.parts = pieces

    def render(self, number: int, release: str) -> bytes:
        values = study_values(number, release)
        return b"".join(values[marker] + chunk if marker else chunk for marker, chunk in self.parts)


def study_values(number: int, release: str) -> dict[str, bytes]:
    """What varies per study, derived from its number alone (so every release serves the same study)."""
    first = _EPOCH + dt.timedelta(days=(number * 7919) % 9000)
    update = min(first + dt.timedelta(days=(number * 104_729) % 3000), dt.date(2026, 11, 1))
    start = first - dt.timedelta(days=number % 200)
    return {
        "@@NCT@@": f"NCT{FIRST_NCT + number:08d}".encode(),
        "@@FIRST@@": first.isoformat().encode(),
        "@@UPDATE@@": update.isoformat().encode(),
        "@@START@@": start.isoformat().encode(),
        '"@@COUNT@@"': str(10 + (number * 37) % 2000).encode(),
        "@@RELEASE@@": release.encode(),
    }


class Catalogue:
    """N synthetic studies: which template each one uses, by a fixed pseudo-random draw with set weights."""

    def __init__(self, count: int, release: str = RELEASE) -> None:
        self.count = count
        self.release = release
        records = real_records()
        self.templates = [Template(nct, study) for nct, study in sorted(records.items())]
        weights = _weights(self.templates)
        self.cumulative: list[float] = []
        total = 0.0
        for weight in weights:
            total += weight
            self.cumulative.append(total)

    def template_of(self, number: int) -> Template:
        draw = ((number * 2_654_435_761 + 12345) % 2**32) / 2**32 * self.cumulative[-1]
        return self.templates[min(bisect.bisect_right(self.cumulative, draw), len(self.templates) - 1)]

    def study(self, number: int) -> bytes:
        return self.template_of(number).render(number, self.release)

    def studies(self, start: int, stop: int) -> Iterator[bytes]:
        for number in range(start, min(stop, self.count)):
            yield self.study(number)

    def mean_size(self) -> float:
        return sum(self.template_of(n).size for n in range(self.count)) / max(1, self.count)


def _weights(templates: list[Template]) -> list[float]:
    """Rare giants at their fixed shares; the rest split between small (<20 KB) and mid-sized records so the
    expected size is TARGET_MEAN_BYTES."""
    rare_share = sum(RARE.get(t.nct, 0.0) for t in templates)
    rare_bytes = sum(RARE.get(t.nct, 0.0) * t.size for t in templates)
    small = [t for t in templates if t.nct not in RARE and t.size < 20_000]
    mid = [t for t in templates if t.nct not in RARE and t.size >= 20_000]
    small_mean = sum(t.size for t in small) / len(small)
    mid_mean = sum(t.size for t in mid) / len(mid)
    rest = 1.0 - rare_share
    # rest * (p * mid_mean + (1 - p) * small_mean) + rare_bytes = target
    p = ((TARGET_MEAN_BYTES - rare_bytes) / rest - small_mean) / (mid_mean - small_mean)
    p = min(max(p, 0.0), 1.0)
    weights = []
    for t in templates:
        if t.nct in RARE:
            weights.append(RARE[t.nct])
        elif t in mid:
            weights.append(rest * p / len(mid))
        else:
            weights.append(rest * (1 - p) / len(small))
    return weights


class SyntheticCtgov(Site):
    """``/api/v2/studies`` paging (pageSize, nextPageToken, countTotal) over a Catalogue, built on request."""

    def __init__(
        self, catalogue: Catalogue, prefix: str = "/api/v2", max_page_size: int = 1000, delay: float = 0.0
    ) -> None:
        self.catalogue = catalogue
        self.prefix = prefix
        self.max_page_size = max_page_size
        self.delay = delay  # seconds every /studies page waits before it is sent (a slow registry)

    def respond(self, path: str, query: dict[str, list[str]]) -> Reply:
        if path == "/robots.txt":
            return Reply(200, self.robots.encode(), {"Content-Type": "text/plain"})
        if path == f"{self.prefix}/version":
            return json_reply({"apiVersion": "2.0.5", "dataTimestamp": f"{self.catalogue.release}T09:00:05"})
        if path != f"{self.prefix}/studies":
            return text_reply(404, "Not Found")
        if self.delay:
            time.sleep(self.delay)
        size = min(int((query.get("pageSize") or ["10"])[0]), self.max_page_size)
        token = (query.get("pageToken") or [""])[0]
        offset = int(base64.urlsafe_b64decode(token + "==").decode()) if token else 0
        body = b'{"studies":[' + b",".join(self.catalogue.studies(offset, offset + size)) + b"]"
        if offset + size < self.catalogue.count:
            next_token = base64.urlsafe_b64encode(str(offset + size).encode()).decode().rstrip("=")
            body += f',"nextPageToken":"{next_token}"'.encode()
        if not token and (query.get("countTotal") or [""])[0] == "true":
            body += f',"totalCount":{self.catalogue.count}'.encode()
        return Reply(200, body + b"}", {"Content-Type": "application/json"})


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve N synthetic CT.gov studies on 127.0.0.1 until terminated.")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--release", default=RELEASE, help="the versionHolder every study carries")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds each /studies page waits before it is sent")
    args = parser.parse_args()
    server = ReplayServer(SyntheticCtgov(Catalogue(args.count, args.release), delay=args.delay)).start()
    print(server.url, flush=True)
    signal.sigwait({signal.SIGINT, signal.SIGTERM})
    server.stop()
    sys.exit(0)


if __name__ == "__main__":
    main()
